//! The per-load record (`Metrics`) where a load went wrong, on real paths: a connection
//! refused by a real closed port, a real server that holds its answer past the timeout or
//! stalls mid-body, bytes that do not decode, a cancelled load, and prefetches (told through
//! `EventListener::prefetched`).
//!
//! Durations are asserted from below only, never from above (see `metrics.rs`).

use std::net::TcpListener;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::support::photo::{Jpeg, jpeg, photo};
use crate::support::*;
use webimage::{
    CachePolicy, Config, DiskOutcome, Error, EventListener, ImageLoader, MemoryLookup, Metrics,
    PrefetchOptions, Request, Source,
};

const TIMEOUT: Duration = Duration::from_millis(300);

#[test]
fn a_refused_connection_records_what_was_tried() {
    // A port that was just free: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let loader = ImageLoader::new(config(1)).unwrap();
    let (result, m) = measured(&loader, format!("http://127.0.0.1:{port}/a.png"));
    assert!(matches!(result, Err(Error::Network { .. })), "{result:?}");
    assert!(m.task.is_some());
    let net = m.network.expect("the failed fetch has its figures");
    assert!(net.failed_after.is_some(), "{net:?}");
    assert_eq!(net.status, None, "no answer came");
    assert_eq!((net.requests, net.redirects, net.bytes), (1, 0, 0));
    assert!(net.dns.is_some(), "the name was looked up: {net:?}");
    assert!(net.connect.is_some(), "a connection was tried: {net:?}");
    assert_eq!(net.first_byte, Duration::ZERO);
    assert_eq!(m.decode, None);
    assert_eq!(m.decode_failed, None);
}

#[test]
fn a_timeout_records_the_time_until_it_gave_up() {
    let server = Server::start();
    let held = Gate::new();
    server.route("/held.png", Route::ok(png(8, 8, 1)).hold(&held));
    let body = png(64, 64, 2);
    let stalled = Gate::new();
    server.route(
        "/stalls.png",
        Route::ok(body.clone())
            .in_pieces(100)
            .stall_after(100, &stalled),
    );
    let loader = ImageLoader::new(Config {
        timeout: TIMEOUT,
        ..config(1)
    })
    .unwrap();

    // No headers within the timeout: connected, no answer.
    let (result, m) = measured(&loader, server.url("/held.png"));
    held.open();
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    let net = m.network.unwrap();
    assert!(net.failed_after.unwrap() >= TIMEOUT, "{net:?}");
    assert_eq!(net.status, None);
    assert!(net.connect.is_some(), "{net:?}");
    assert_eq!(net.bytes, 0);

    // The headers came, then the body stopped: the status and the bytes so far.
    let (result, m) = measured(&loader, server.url("/stalls.png"));
    stalled.open();
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    let net = m.network.unwrap();
    assert_eq!(net.status, Some(200));
    assert_eq!(net.bytes, 100, "the first piece arrived: {net:?}");
    assert!(net.body >= TIMEOUT, "{net:?}");
    assert!(net.failed_after.unwrap() >= net.body, "{net:?}");
}

#[test]
fn a_failed_decode_records_its_time_and_what_it_tried() {
    let server = Server::start();
    let mut truncated = jpeg(&photo(640, 480, 5), Jpeg::BASELINE, None);
    truncated.truncate(600); // the headers and a little entropy data
    server.route("/cut.jpg", Route::ok(truncated.clone()));
    server.route("/text.png", Route::ok(b"plain text, no image".to_vec()));
    let loader = ImageLoader::new(config(1)).unwrap();

    let (result, m) = measured(&loader, server.url("/text.png"));
    assert!(matches!(result, Err(Error::UnsupportedFormat { .. })));
    let failed = m.decode_failed.expect("the decode that failed");
    assert!(!failed.scaled, "a full-size load");
    assert_eq!(m.decode, None);
    let net = m.network.unwrap();
    assert_eq!(
        (net.status, net.failed_after),
        (Some(200), None),
        "fetched fine"
    );

    let request = Request::new(server.url("/cut.jpg")).thumbnail(100, 100);
    let (result, m) = measured(&loader, request);
    assert!(result.is_err(), "a truncated JPEG: {result:?}");
    let failed = m.decode_failed.expect("the decode that failed");
    assert!(failed.scaled, "a thumbnail: the reduced paths were open");
    assert_eq!(m.network.unwrap().bytes, truncated.len() as u64);

    // A processor chain over that decode names the same failure.
    let request = Request::new(server.url("/cut.jpg"))
        .retry_failed(true)
        .thumbnail(100, 100)
        .process(webimage::Grayscale);
    let (result, m) = measured(&loader, request);
    assert!(result.is_err());
    assert!(m.decode_failed.unwrap().scaled);
    assert_eq!(m.process, None, "its processors never ran");
}

/// One prefetch as the listener was told it: the URL's last segment, its record, its result.
type Prefetched = (String, Metrics, Result<Source, String>);

/// Keeps the task ids the listener saw start, and every prefetch told.
#[derive(Default)]
struct Told {
    started: Mutex<Vec<u64>>,
    prefetched: Mutex<Vec<Prefetched>>,
}

impl EventListener for Told {
    fn task_started(&self, task: u64, _url: &str) {
        self.started.lock().unwrap().push(task);
    }
    fn prefetched(&self, url: &str, metrics: &Metrics, result: Result<Source, &Error>) {
        let name = url.rsplit('/').next().unwrap().to_string();
        let result = result.map_err(|e| e.to_string());
        let told = (name, metrics.clone(), result);
        self.prefetched.lock().unwrap().push(told);
    }
}

#[test]
fn a_cancelled_load_names_its_task_and_its_real_lookup() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/held.png", Route::ok(png(8, 8, 1)).hold(&gate));
    let told = Arc::new(Told::default());
    let loader = ImageLoader::new(Config {
        event_listener: Some(told.clone()),
        ..config(1)
    })
    .unwrap();
    for (policy, lookup) in [
        (CachePolicy::UseCache, MemoryLookup::Miss),
        (CachePolicy::Reload, MemoryLookup::Skipped),
    ] {
        let (tx, rx) = mpsc::channel();
        let request = Request::new(server.url("/held.png")).cache_policy(policy);
        let token = loader.load_with_metrics(request, move |r, m| {
            let _ = tx.send((r, m.clone()));
        });
        gate.wait_arrivals(if lookup == MemoryLookup::Miss { 1 } else { 2 });
        assert!(token.cancel());
        let (result, m) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(matches!(result, Err(Error::Cancelled { .. })));
        assert_eq!(m.memory, lookup, "{policy:?}: the lookup it made");
        let started = *told.started.lock().unwrap().last().unwrap();
        assert_eq!(m.task, Some(started), "it names the task it left");
        assert!(m.total.is_some());
        assert_eq!(m.network, None, "the task's figures are not its own");
    }
    gate.open();
}

#[test]
fn prefetches_are_told_with_their_records() {
    let dir = TempDir::new("metrics-prefetch");
    let server = Server::start();
    let body = png(16, 16, 1);
    server.route("/a.png", Route::ok(body.clone()));
    server.route("/gone.png", Route::status(404));
    let told = Arc::new(Told::default());
    let loader = ImageLoader::new(Config {
        event_listener: Some(told.clone()),
        ..disk_config(2, dir.path())
    })
    .unwrap();
    let urls = [server.url("/a.png"), server.url("/gone.png")];
    let run = loader.prefetch(urls.clone(), PrefetchOptions::default(), |_| {});
    assert_eq!(run.wait().finished, 1);
    let mut seen = std::mem::take(&mut *told.prefetched.lock().unwrap());
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen.len(), 2, "once per URL: {seen:?}");
    let (name, m, result) = &seen[0];
    assert_eq!((name.as_str(), result), ("a.png", &Ok(Source::Network)));
    assert_eq!(m.memory, MemoryLookup::Skipped, "a prefetch never looks");
    assert_eq!(m.disk, DiskOutcome::Miss);
    let net = m.network.unwrap();
    assert_eq!((net.status, net.bytes), (Some(200), body.len() as u64));
    assert_eq!(m.decode, None);
    assert!(m.task.is_some() && m.total.is_some());
    let (name, m, result) = &seen[1];
    assert_eq!(name, "gone.png");
    assert!(result.as_ref().unwrap_err().contains("404"), "{result:?}");
    assert_eq!(m.network.unwrap().status, Some(404));

    // Again: the stored one is skipped (no load, not told); the 404 is answered from the
    // failed-URL list at admission, told with a record that has no task.
    loader.disk_cache().unwrap().flush();
    let run = loader.prefetch(urls, PrefetchOptions::default(), |_| {});
    let progress = run.wait();
    assert_eq!((progress.skipped, progress.failed), (1, 1));
    let seen = std::mem::take(&mut *told.prefetched.lock().unwrap());
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "gone.png");
    assert_eq!((seen[0].1.task, seen[0].1.network), (None, None));
    assert!(seen[0].2.as_ref().unwrap_err().contains("failed before"));
}
