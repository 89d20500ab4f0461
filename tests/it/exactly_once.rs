//! Behaviour 5: every closure runs exactly once on every path, panics are contained, and
//! dropping the loader completes what is left with `Shutdown`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::support::*;
use webimage::{Error, ImageLoader, Request};

#[test]
fn dropping_the_loader_completes_queued_work_with_shutdown() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/hold.png", Route::ok(png(4, 4, 0)).hold(&gate));
    for i in 0..20 {
        server.route(&format!("/{i}.png"), Route::ok(png(4, 4, i)));
    }
    let loader = ImageLoader::new(config(1)).unwrap();
    let results: Arc<Mutex<Vec<Result<(), Error>>>> = Arc::default();
    let record = |results: &Arc<Mutex<Vec<Result<(), Error>>>>| {
        let results = results.clone();
        move |r: Result<webimage::LoadedImage, Error>| results.lock().unwrap().push(r.map(|_| ()))
    };
    loader.load(server.url("/hold.png"), record(&results));
    gate.wait_arrivals(1);
    for i in 0..20 {
        loader.load(server.url(&format!("/{i}.png")), record(&results));
    }
    // The worker is inside a request the server holds; drop from another thread, then let
    // the server answer so the worker can notice the shutdown.
    let dropper = thread::spawn(move || drop(loader));
    wait_until("queued loads to be failed", || {
        results.lock().unwrap().len() >= 20
    });
    gate.open();
    dropper.join().unwrap();

    let results = results.lock().unwrap();
    assert_eq!(results.len(), 21);
    let shutdowns = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Shutdown { .. })))
        .count();
    assert!(shutdowns >= 20, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Shutdown { .. }))),
        "{results:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "queued jobs must not run after drop"
    );
}

#[test]
fn a_panicking_closure_does_not_kill_the_worker_or_other_callbacks() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/p.png", Route::ok(png(4, 4, 1)).hold(&gate));
    server.route("/q.png", Route::ok(png(4, 4, 2)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..5 {
        let calls = calls.clone();
        loader.load(server.url("/p.png"), move |r| {
            r.unwrap();
            calls.fetch_add(1, Ordering::SeqCst);
            if i == 0 {
                panic!("a caller's bug");
            }
        });
    }
    gate.wait_arrivals(1);
    gate.open();
    wait_until("five callbacks", || calls.load(Ordering::SeqCst) == 5);
    // The single worker is still alive and serving.
    loader.load_blocking(server.url("/q.png")).unwrap();
    assert_eq!(loader.stats().callback_panics, 1);
}

#[test]
fn a_panicking_progress_closure_is_contained() {
    let server = Server::start();
    server.route("/p.png", Route::ok(png(64, 64, 1)).in_pieces(1000));
    let loader = ImageLoader::new(config(1)).unwrap();
    let result = loader
        .load_blocking(Request::new(server.url("/p.png")).progress(|_, _| panic!("progress bug")));
    assert!(result.is_ok());
    assert_eq!(
        loader.stats().callback_panics,
        1,
        "a panicking listener is not called again"
    );
}

#[test]
fn dropping_the_last_loader_handle_inside_a_completion_closure() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/a.png", Route::ok(png(4, 4, 1)).hold(&gate));
    server.route("/b.png", Route::ok(png(4, 4, 2)));
    let loader = Arc::new(ImageLoader::new(config(1)).unwrap());
    let results: Arc<Mutex<Vec<Result<(), Error>>>> = Arc::default();
    {
        let keep = loader.clone();
        let results = results.clone();
        loader.load(server.url("/a.png"), move |r| {
            results.lock().unwrap().push(r.map(|_| ()));
            drop(keep); // the last handle goes away on the worker thread
        });
    }
    {
        let results = results.clone();
        loader.load(server.url("/b.png"), move |r| {
            results.lock().unwrap().push(r.map(|_| ()))
        });
    }
    drop(loader);
    gate.wait_arrivals(1);
    gate.open();
    wait_until("both callbacks", || results.lock().unwrap().len() == 2);
    let results = results.lock().unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::Shutdown { .. })));
}

#[test]
fn every_path_calls_each_closure_once() {
    // Success, HTTP error, decode error, invalid URL, failed-before and cancel in one run.
    let server = Server::start();
    server.route("/ok.png", Route::ok(png(4, 4, 1)));
    server.route("/bad.png", Route::ok(b"not an image".to_vec()));
    let loader = ImageLoader::new(config(2)).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let urls = [
        server.url("/ok.png"),
        server.url("/missing.png"),
        server.url("/bad.png"),
        "not a url".to_string(),
        server.url("/missing.png"),
        server.url("/ok.png"),
    ];
    let mut tokens = Vec::new();
    for _ in 0..3 {
        for url in &urls {
            let count = count.clone();
            tokens.push(loader.load(url.as_str(), move |_| {
                count.fetch_add(1, Ordering::SeqCst);
            }));
        }
        tokens.iter().for_each(|t| {
            t.cancel();
        });
    }
    wait_until("all callbacks", || {
        count.load(Ordering::SeqCst) >= 18 && loader.in_flight() == 0
    });
    assert_eq!(count.load(Ordering::SeqCst), 18);
    let s = loader.stats();
    assert_eq!(s.loads, 18);
}
