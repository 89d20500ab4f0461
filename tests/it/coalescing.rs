//! Behaviour 3: one download and one decode per URL however many callers; the window between
//! download and cache store is closed; memory hits complete on the caller's thread.

use std::sync::{Arc, Mutex};
use std::thread;

use crate::support::*;
use webimage::{Config, ImageLoader, KeyFilter, LoadedImage, Request, Source};

#[test]
fn hundred_concurrent_loads_make_one_request_and_one_decode() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/one.png", Route::ok(png(64, 48, 7)).hold(&gate));
    let loader = Arc::new(ImageLoader::new(config(4)).unwrap());
    let results: Arc<Mutex<Vec<LoadedImage>>> = Arc::default();
    let url = server.url("/one.png");
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let (loader, results, url) = (loader.clone(), results.clone(), url.clone());
            thread::spawn(move || {
                for _ in 0..10 {
                    let results = results.clone();
                    loader.load(url.as_str(), move |r| {
                        results.lock().unwrap().push(r.unwrap())
                    });
                }
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
    gate.wait_arrivals(1);
    gate.open();
    wait_until("100 callbacks", || results.lock().unwrap().len() == 100);

    let results = results.lock().unwrap();
    let first = results[0].image().clone();
    assert!(
        results.iter().all(|r| Arc::ptr_eq(r.image(), &first)),
        "pixels were copied"
    );
    assert!(results.iter().all(|r| r.source() == Source::Network));
    let stats = loader.stats();
    assert_eq!(server.hits("/one.png"), 1);
    assert_eq!(stats.network_requests, 1);
    assert_eq!(stats.decodes, 1);
    assert_eq!(stats.coalesced, 99);
    assert_eq!(stats.loads, 100);
}

#[test]
fn caller_arriving_while_decoding_joins_the_job() {
    // Hold a task between its download and its last decode, deterministically: completions
    // run on the worker between variant decodes, so a first caller whose completion waits at a
    // gate keeps the task in the map with another variant still to decode. A caller of that
    // variant arriving now is in the window where SDWebImage starts a second download.
    let server = Server::start();
    server.route("/photo.png", Route::ok(noisy_png(400, 300, 1)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let url = server.url("/photo.png");
    let gate = Gate::new();
    let g = gate.clone();
    loader.load(Request::new(url.as_str()).thumbnail(100, 100), move |r| {
        r.unwrap();
        g.pass(); // on the worker, after the first variant, before the next
    });
    let got: Log<LoadedImage> = Log::default();
    let record = |got: &Log<LoadedImage>| {
        let got = got.clone();
        move |r: Result<LoadedImage, webimage::Error>| got.lock().unwrap().push(r.unwrap())
    };
    loader.load(Request::new(url.as_str()).thumbnail(50, 50), record(&got));
    gate.wait_arrivals(1);
    // The download is done and the 50 px variant not yet decoded: this caller must join.
    loader.load(Request::new(url.as_str()).thumbnail(50, 50), record(&got));
    assert_eq!(
        loader.stats().coalesced,
        2,
        "the late caller must join the decoding job"
    );
    gate.open();
    wait_until("both 50 px callers", || got.lock().unwrap().len() == 2);

    assert_eq!(
        server.hits("/photo.png"),
        1,
        "a second request in the decode window"
    );
    assert_eq!(loader.stats().decodes, 2, "each size decoded once");
    let got = got.lock().unwrap();
    assert!(got.iter().all(|i| i.source() == Source::Network));
    assert!(Arc::ptr_eq(got[0].image(), got[1].image()));
}

#[test]
fn after_completion_a_load_is_a_memory_hit_on_the_callers_thread() {
    let server = Server::start();
    server.route("/m.png", Route::ok(png(10, 10, 3)));
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/m.png");
    let loaded = loader.load_blocking(url.as_str()).unwrap();

    let seen: Arc<Mutex<Option<(thread::ThreadId, LoadedImage)>>> = Arc::default();
    let s = seen.clone();
    loader.load(url.as_str(), move |r| {
        *s.lock().unwrap() = Some((thread::current().id(), r.unwrap()));
    });
    // No waiting: the closure has already run, here.
    let (thread_id, hit) = seen
        .lock()
        .unwrap()
        .take()
        .expect("closure ran before load returned");
    assert_eq!(thread_id, thread::current().id());
    assert_eq!(hit.source(), Source::Memory);
    assert!(Arc::ptr_eq(hit.image(), loaded.image()));
    assert_eq!(server.hits("/m.png"), 1);
    assert_eq!(loader.stats().memory_hits, 1);
    assert!(loader.cached(url.as_str()).is_some());
}

#[test]
fn cache_key_filter_shares_downloads_across_signed_urls() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/s.png?sig=1", Route::ok(png(5, 5, 1)).hold(&gate));
    server.route("/s.png?sig=2", Route::ok(png(5, 5, 1)));
    let loader = ImageLoader::new(Config {
        cache_key: Some(KeyFilter::strip_query(&["sig"])),
        ..config(2)
    })
    .unwrap();
    let done: Arc<Mutex<Vec<String>>> = Arc::default();
    for sig in [1, 2] {
        let done = done.clone();
        loader.load(server.url(&format!("/s.png?sig={sig}")), move |r| {
            done.lock().unwrap().push(r.unwrap().url().to_string());
        });
    }
    gate.wait_arrivals(1);
    gate.open();
    wait_until("both callbacks", || done.lock().unwrap().len() == 2);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(loader.stats().coalesced, 1);
    // Each caller sees the URL it asked for.
    let mut urls = done.lock().unwrap().clone();
    urls.sort();
    assert!(
        urls[0].ends_with("sig=1") && urls[1].ends_with("sig=2"),
        "{urls:?}"
    );
    // A third signature is a memory hit.
    let hit = loader.load_blocking(server.url("/s.png?sig=3")).unwrap();
    assert_eq!(hit.source(), Source::Memory);
}
