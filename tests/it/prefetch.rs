//! Issue 5, prefetcher: fills the disk cache without decoding, skips what is cached, keeps to
//! its own concurrency cap at low priority, shares downloads with real loads, and reports once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::*;
use webimage::{
    Error, ImageLoader, Prefetch, PrefetchOptions, PrefetchProgress, Priority, Request, Source,
};

fn serve(n: u32, gate: Option<&Gate>) -> (Server, Vec<String>) {
    let server = Server::start();
    let urls = (0..n)
        .map(|i| {
            let route = Route::ok(png(16, 16, i));
            let route = match gate {
                Some(g) => route.hold(g),
                None => route,
            };
            server.route(&format!("/{i}.png"), route);
            server.url(&format!("/{i}.png"))
        })
        .collect();
    (server, urls)
}

/// Runs a prefetch and counts calls of its completion closure.
fn run(
    loader: &ImageLoader,
    urls: &[String],
    options: PrefetchOptions,
) -> (Prefetch, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let p = loader.prefetch(urls.iter().cloned(), options, move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    (p, calls)
}

#[test]
fn fills_the_disk_cache_without_decoding_and_skips_what_is_cached() {
    let dir = TempDir::new("prefetch");
    let (server, urls) = serve(10, None);
    let loader = ImageLoader::new(disk_config(4, dir.path())).unwrap();
    let (p, calls) = run(&loader, &urls, PrefetchOptions::default());
    let progress = p.wait();
    assert_eq!(
        progress,
        PrefetchProgress {
            total: 10,
            finished: 10,
            ..Default::default()
        }
    );
    assert!(p.is_done());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let stats = loader.stats();
    assert_eq!(stats.decodes, 0, "a prefetch spends no pixel memory");
    assert_eq!(loader.memory_cache_len(), 0);
    assert_eq!(stats.loads, 0, "prefetches are not counted as loads");
    let disk = loader.disk_cache().unwrap();
    assert!(urls.iter().all(|u| disk.contains(u).unwrap()));

    // A later load comes from disk; a second prefetch skips everything without a request.
    assert_eq!(
        loader.load_blocking(urls[3].as_str()).unwrap().source(),
        Source::Disk
    );
    let (again, _) = run(&loader, &urls, PrefetchOptions::default());
    assert_eq!(again.wait().skipped, 10);
    assert_eq!(server.requests().len(), 10);
}

#[test]
fn keeps_to_its_own_cap_at_low_priority() {
    let dir = TempDir::new("prefetch-cap");
    let gate = Gate::new();
    let (server, urls) = serve(12, Some(&gate));
    server.route("/visible.png", Route::ok(png(8, 8, 99)));
    let loader = ImageLoader::new(disk_config(6, dir.path())).unwrap();
    let (p, _) = run(&loader, &urls, PrefetchOptions::default());
    gate.wait_arrivals(3);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        gate.arrivals(),
        3,
        "a prefetch must leave workers for visible loads"
    );
    // A visible load gets a free worker at once.
    let img = loader.load_blocking(server.url("/visible.png")).unwrap();
    assert_eq!(img.source(), Source::Network);
    gate.open();
    assert_eq!(p.wait().finished, 12);
}

#[test]
fn a_real_load_joins_a_queued_prefetch_and_raises_its_priority() {
    let dir = TempDir::new("prefetch-join");
    let gate = Gate::new();
    let (server, urls) = serve(5, None);
    server.route("/busy.png", Route::ok(png(8, 8, 50)).hold(&gate));
    server.route("/other.png", Route::ok(png(8, 8, 51)));
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    loader.load(server.url("/busy.png"), move |r| {
        r.unwrap();
        d.fetch_add(1, Ordering::SeqCst);
    });
    gate.wait_arrivals(1); // the only worker is busy; everything else queues
    let (p, _) = run(&loader, &urls, PrefetchOptions::default()); // 3 of 5 queued (Low)
    let d = done.clone();
    loader.load(server.url("/other.png"), move |r| {
        r.unwrap();
        d.fetch_add(1, Ordering::SeqCst);
    });
    let d = done.clone();
    loader.load(
        Request::new(urls[2].as_str()).priority(Priority::High),
        move |r| {
            assert_eq!(r.unwrap().source(), Source::Network);
            d.fetch_add(1, Ordering::SeqCst);
        },
    );
    assert_eq!(
        loader.stats().coalesced,
        1,
        "the load joins the prefetch's download"
    );
    gate.open();
    assert_eq!(p.wait().finished, 5);
    wait_until("loads", || done.load(Ordering::SeqCst) == 3);
    let order = server.order();
    assert_eq!(
        order[1], "/2.png",
        "raised to High, it starts first: {order:?}"
    );
    assert_eq!(
        order[2], "/other.png",
        "a visible Normal load beats Low prefetches: {order:?}"
    );
    assert_eq!(server.hits("/2.png"), 1);
    assert_eq!(
        loader.stats().decodes,
        3,
        "only the three real loads are decoded"
    );
}

#[test]
fn cancel_stops_the_run_and_reports_once() {
    let dir = TempDir::new("prefetch-cancel");
    let gate = Gate::new();
    let (server, urls) = serve(10, Some(&gate));
    let loader = ImageLoader::new(disk_config(4, dir.path())).unwrap();
    let seen = Log::<PrefetchProgress>::default();
    let s = seen.clone();
    let p = loader.prefetch(
        urls.iter().cloned(),
        PrefetchOptions::default(),
        move |progress| s.lock().unwrap().push(progress),
    );
    gate.wait_arrivals(3);
    p.cancel();
    let final_progress = p.wait();
    gate.open();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap()[0], final_progress);
    assert_eq!(final_progress.cancelled, 10);
    assert!(final_progress.is_complete());
    wait_until("server threads", || {
        server.aborted().len() + server.completed().len() == 3
    });
    assert_eq!(
        server.requests().len(),
        3,
        "nothing new starts after cancel"
    );
    p.cancel(); // again: nothing happens
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn decode_mode_fills_the_memory_cache() {
    let dir = TempDir::new("prefetch-decode");
    let (_server, urls) = serve(4, None);
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let options = PrefetchOptions {
        decode: true,
        thumbnail: Some((8, 8)),
        ..Default::default()
    };
    let (p, _) = run(&loader, &urls, options);
    assert_eq!(p.wait().finished, 4);
    assert_eq!(loader.stats().decodes, 4);
    let hit = loader
        .load_blocking(Request::new(urls[0].as_str()).thumbnail(8, 8))
        .unwrap();
    assert_eq!(hit.source(), Source::Memory);
    assert_eq!((hit.width(), hit.height()), (8, 8));
}

#[test]
fn without_a_disk_cache_a_prefetch_decodes_and_bad_urls_count_as_failed() {
    let (_server, mut urls) = serve(3, None);
    urls.push("not a url".into());
    urls.push(urls[0].replace("/0.png", "/missing.png"));
    let loader = ImageLoader::new(config(2)).unwrap();
    let (p, calls) = run(&loader, &urls, PrefetchOptions::default());
    let progress = p.wait();
    assert_eq!(
        (progress.finished, progress.failed, progress.total),
        (3, 2, 5)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(loader.cached(urls[1].as_str()).is_some());
}

#[test]
fn an_empty_run_completes_at_once() {
    let loader = ImageLoader::new(config(1)).unwrap();
    let (p, calls) = run(&loader, &[], PrefetchOptions::default());
    assert!(p.is_done());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn many_runs_with_a_cap_of_one_always_finish() {
    // Completions race the submitting loop; a lost "go round again" would leave a run stuck.
    let dir = TempDir::new("prefetch-race");
    let (_server, urls) = serve(20, None);
    let loader = Arc::new(ImageLoader::new(disk_config(3, dir.path())).unwrap());
    for round in 0..30 {
        loader.disk_cache().unwrap().clear().unwrap();
        let options = PrefetchOptions {
            max_concurrent: 1,
            ..Default::default()
        };
        let (p, calls) = run(&loader, &urls, options);
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || tx.send(p.wait()).unwrap());
        let progress = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("round {round}: the run never finished"));
        assert!(progress.is_complete());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_zero_thumbnail_box_fails_every_url() {
    let (_server, urls) = serve(3, None);
    let loader = ImageLoader::new(config(1)).unwrap();
    let options = PrefetchOptions {
        decode: true,
        thumbnail: Some((0, 10)),
        ..Default::default()
    };
    let (p, _) = run(&loader, &urls, options);
    assert_eq!(p.wait().failed, 3);
    let failures = p.failures();
    let failed: Vec<&String> = failures.iter().map(|(url, _)| url).collect();
    assert_eq!(failed, urls.iter().collect::<Vec<_>>());
    assert!(failures.iter().all(
        |(_, e)| matches!(e, Error::InvalidRequest { reason, .. } if reason.contains("0x10"))
    ));
}

#[test]
fn each_failed_url_is_reported_with_its_error() {
    let dir = TempDir::new("prefetch-failures");
    let (server, mut urls) = serve(4, None);
    server.route("/gone.png", Route::status(404));
    server.route("/down.png", Route::status(503));
    server.route("/text.png", Route::ok(b"not an image".to_vec()));
    let bad = [
        server.url("/gone.png"),
        server.url("/down.png"),
        "not a url".to_string(),
    ];
    urls.extend(bad.iter().cloned());
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let (p, _) = run(&loader, &urls, PrefetchOptions::default());
    let progress = p.wait();
    assert_eq!((progress.finished, progress.failed), (4, 3));
    let mut failures = p.failures();
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = bad.to_vec();
    expected.sort();
    assert_eq!(
        failures.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(),
        expected
    );
    let error_of = |url: &str| &failures.iter().find(|(u, _)| u == url).unwrap().1;
    assert!(matches!(error_of(&bad[0]), Error::Http { status: 404, url } if *url == bad[0]));
    assert!(matches!(error_of(&bad[1]), Error::Http { status: 503, .. }));
    assert!(matches!(error_of("not a url"), Error::InvalidUrl { .. }));
    // A decoding run reports a decode failure too.
    let text = server.url("/text.png");
    let decoding = PrefetchOptions {
        decode: true,
        ..Default::default()
    };
    let (p, _) = run(&loader, std::slice::from_ref(&text), decoding);
    p.wait();
    let failures = p.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, text);
    assert!(
        matches!(
            failures[0].1,
            Error::UnsupportedFormat { .. } | Error::Decode { .. }
        ),
        "{:?}",
        failures[0].1
    );
}

#[test]
fn failures_kept_are_bounded_and_counted_in_full() {
    let loader = ImageLoader::new(config(1)).unwrap();
    let n = Prefetch::MAX_KEPT_FAILURES + 25;
    let urls: Vec<String> = (0..n)
        .map(|i| format!("http://127.0.0.1:9/{i}.png"))
        .collect();
    let options = PrefetchOptions {
        decode: true,
        thumbnail: Some((10, 0)),
        ..Default::default()
    };
    let (p, _) = run(&loader, &urls, options);
    assert_eq!(p.wait().failed, n);
    let failures = p.failures();
    assert_eq!(failures.len(), Prefetch::MAX_KEPT_FAILURES);
    assert_eq!(failures[0].0, urls[0], "the first ones are kept, in order");
    assert_eq!(failures[999].0, urls[999]);
}

#[test]
fn cancelled_urls_are_not_failures() {
    let dir = TempDir::new("prefetch-cancel-failures");
    let gate = Gate::new();
    let (_server, urls) = serve(6, Some(&gate));
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let options = PrefetchOptions {
        max_concurrent: 2,
        ..Default::default()
    };
    let (p, _) = run(&loader, &urls, options);
    gate.wait_arrivals(2);
    p.cancel();
    gate.open();
    let progress = p.wait();
    assert_eq!(progress.failed, 0);
    assert!(p.failures().is_empty());
    assert!(progress.cancelled >= 4, "{progress:?}");
}
