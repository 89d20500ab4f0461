//! Behaviour 1: a bounded pool of workers, one shared HTTP agent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::*;
use webimage::{Config, Error, ImageLoader};

#[test]
fn never_more_connections_than_workers() {
    let server = Server::start();
    let gate = Gate::new();
    for i in 0..30 {
        server.route(&format!("/{i}.png"), Route::ok(png(8, 8, i)).hold(&gate));
    }
    let loader = ImageLoader::new(config(3)).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..30 {
        let done = done.clone();
        loader.load(server.url(&format!("/{i}.png")), move |r| {
            r.unwrap();
            done.fetch_add(1, Ordering::SeqCst);
        });
    }
    // All three workers are now held by the server; give a (hypothetical) fourth a moment to
    // show up before letting them go. This can only hide a bug, never fail a correct build.
    gate.wait_arrivals(3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        gate.arrivals(),
        3,
        "a fourth request started while three were held"
    );
    gate.open();
    wait_until("all loads", || done.load(Ordering::SeqCst) == 30);
    assert_eq!(server.max_active(), 3);
    assert!(
        server.max_open() <= 3,
        "open connections: {}",
        server.max_open()
    );
    assert_eq!(loader.stats().network_requests, 30);
}

#[test]
fn zero_workers_is_a_clear_error() {
    let err = ImageLoader::new(Config {
        max_workers: 0,
        ..Default::default()
    })
    .expect_err("max_workers 0 must be refused");
    assert!(matches!(err, Error::Config(_)));
    assert!(err.to_string().contains("max_workers"), "{err}");
}

#[test]
fn one_agent_reuses_one_connection() {
    let server = Server::start();
    for i in 0..20 {
        server.route(&format!("/{i}.png"), Route::ok(png(8, 8, i)));
    }
    let loader = ImageLoader::new(config(1)).unwrap();
    for i in 0..20 {
        loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
    }
    assert_eq!(server.requests().len(), 20);
    assert_eq!(server.connections(), 1, "a new connection per request");
}

#[test]
fn loader_and_handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ImageLoader>();
    check::<webimage::Token>();
    check::<webimage::LoadedImage>();
    check::<webimage::Error>();
    check::<Config>();
    fn send<T: Send>() {}
    send::<webimage::Request>();
}
