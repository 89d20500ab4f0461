//! Behaviour 4: cancellation is prompt for the caller, leaves other callers alone, and stops
//! a download nobody wants any more.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::support::*;
use webimage::{Error, ImageLoader, LoadedImage};

type Slot = Log<(thread::ThreadId, Result<LoadedImage, Error>)>;
type Completion = Box<dyn FnOnce(Result<LoadedImage, Error>) + Send>;

fn recorder() -> (Slot, impl Fn() -> Completion) {
    let slot: Slot = Arc::default();
    let s = slot.clone();
    let make = move || {
        let s = s.clone();
        Box::new(move |r| s.lock().unwrap().push((thread::current().id(), r))) as Completion
    };
    (slot, make)
}

#[test]
fn cancelling_a_queued_job_never_sends_its_request() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/hold.png", Route::ok(png(4, 4, 1)).hold(&gate));
    server.route("/x.png", Route::ok(png(4, 4, 2)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (slot, cb) = recorder();
    loader.load(server.url("/hold.png"), cb());
    gate.wait_arrivals(1);
    let token = loader.load(server.url("/x.png"), cb());
    assert!(token.cancel());
    {
        let got = slot.lock().unwrap();
        assert_eq!(got.len(), 1, "cancel must complete the closure at once");
        assert_eq!(got[0].0, thread::current().id());
        assert!(matches!(got[0].1, Err(Error::Cancelled { .. })));
    }
    assert!(!token.cancel(), "a second cancel does nothing");
    gate.open();
    wait_until("hold to finish", || slot.lock().unwrap().len() == 2);
    // Let the worker drain the orphaned wake-up, then check the request never went out.
    loader.load_blocking(server.url("/hold.png")).unwrap();
    assert_eq!(server.hits("/x.png"), 0);
    let stats = loader.stats();
    assert_eq!((stats.cancelled, stats.jobs_abandoned), (1, 1));
}

#[test]
fn cancelling_one_caller_leaves_the_others() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/s.png", Route::ok(png(6, 6, 1)).hold(&gate));
    let loader = ImageLoader::new(config(2)).unwrap();
    let (slot, cb) = recorder();
    let a = loader.load(server.url("/s.png"), cb());
    let _b = loader.load(server.url("/s.png"), cb());
    gate.wait_arrivals(1);
    assert!(a.cancel());
    gate.open();
    wait_until("both callbacks", || slot.lock().unwrap().len() == 2);
    let got = slot.lock().unwrap();
    assert!(matches!(got[0].1, Err(Error::Cancelled { .. })));
    assert!(got[1].1.is_ok());
    assert_eq!(server.hits("/s.png"), 1);
    assert_eq!(loader.stats().decodes, 1);
}

#[test]
fn cancelling_a_running_download_closes_the_connection_and_stores_nothing() {
    let server = Server::start();
    let body_gate = Gate::new();
    // A 4 MB body: 64 KiB arrive, then the server waits; the rest goes out in small pieces so
    // a client that hung up shows up as a failed write.
    let mut body = png(512, 512, 9);
    body.resize(4 << 20, 0);
    server.route(
        "/big.png",
        Route::ok(body)
            .stall_after(64 * 1024, &body_gate)
            .in_pieces(16 * 1024),
    );
    let loader = ImageLoader::new(config(1)).unwrap();
    let (slot, cb) = recorder();
    let received = Arc::new(AtomicUsize::new(0));
    let r = received.clone();
    let token = loader.load(
        webimage::Request::new(server.url("/big.png"))
            .progress(move |n, _| r.store(n as usize, Ordering::SeqCst)),
        cb(),
    );
    body_gate.wait_arrivals(1);
    wait_until("first bytes", || received.load(Ordering::SeqCst) > 0);
    assert!(token.cancel());
    assert_eq!(
        slot.lock().unwrap().len(),
        1,
        "the closure must not wait for the download"
    );
    assert!(matches!(
        slot.lock().unwrap()[0].1,
        Err(Error::Cancelled { .. })
    ));

    body_gate.open();
    wait_until("the server to see the connection closed", || {
        server.aborted().contains(&"/big.png".to_string())
    });
    wait_until("the job to end", || loader.in_flight() == 0);
    let stats = loader.stats();
    assert_eq!(
        stats.decodes, 0,
        "an abandoned download must not be decoded"
    );
    assert_eq!(stats.jobs_abandoned, 1);
    assert!(
        stats.bytes_downloaded < 4 << 20,
        "read the whole body: {}",
        stats.bytes_downloaded
    );
    assert_eq!(loader.memory_cache_len(), 0);
    assert!(server.completed().is_empty());
    assert_eq!(slot.lock().unwrap().len(), 1);
}

#[test]
fn a_caller_that_joins_an_abandoned_download_revives_it() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/r.png", Route::ok(png(8, 8, 1)).hold(&gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (slot, cb) = recorder();
    let a = loader.load(server.url("/r.png"), cb());
    gate.wait_arrivals(1);
    assert!(a.cancel());
    loader.load(server.url("/r.png"), cb());
    gate.open();
    wait_until("two callbacks", || slot.lock().unwrap().len() == 2);
    assert!(slot.lock().unwrap()[1].1.is_ok());
    assert_eq!(server.hits("/r.png"), 1);
}

#[test]
fn cancel_after_completion_does_nothing() {
    let server = Server::start();
    server.route("/d.png", Route::ok(png(4, 4, 1)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (slot, cb) = recorder();
    let token = loader.load(server.url("/d.png"), cb());
    wait_until("completion", || slot.lock().unwrap().len() == 1);
    assert!(!token.cancel());
    assert_eq!(slot.lock().unwrap().len(), 1);
    assert!(slot.lock().unwrap()[0].1.is_ok());
    assert_eq!(loader.stats().cancelled, 0);
}

#[test]
fn cancel_racing_completion_calls_every_closure_exactly_once() {
    let server = Server::start();
    for i in 0..50 {
        server.route(&format!("/{i}.png"), Route::ok(png(4, 4, i)));
    }
    let loader = ImageLoader::new(config(4)).unwrap();
    let calls: Arc<Vec<AtomicUsize>> = Arc::new((0..400).map(|_| AtomicUsize::new(0)).collect());
    let (tx, rx) = crossbeam_channel::unbounded::<webimage::Token>();
    let canceller = thread::spawn(move || {
        let mut cancelled = 0;
        for token in rx {
            cancelled += token.cancel() as usize;
        }
        cancelled
    });
    for i in 0..400 {
        let calls = calls.clone();
        let token = loader.load(server.url(&format!("/{}.png", i % 50)), move |_| {
            calls[i].fetch_add(1, Ordering::SeqCst);
        });
        tx.send(token).unwrap();
    }
    drop(tx);
    let cancelled = canceller.join().unwrap();
    wait_until("every closure", || {
        calls.iter().all(|c| c.load(Ordering::SeqCst) >= 1) && loader.in_flight() == 0
    });
    assert!(calls.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    let stats = loader.stats();
    assert_eq!(stats.cancelled as usize, cancelled);
    assert_eq!(stats.failures, 0);
}

#[test]
fn no_progress_call_runs_after_a_cancelled_callers_completion() {
    let server = Server::start();
    let body_gate = Gate::new();
    let mut body = png(64, 64, 3);
    body.resize(2 << 20, 0);
    server.route(
        "/p.png",
        Route::ok(body)
            .stall_after(32 * 1024, &body_gate)
            .in_pieces(8 * 1024),
    );
    let loader = ImageLoader::new(config(1)).unwrap();
    let events: Log<&'static str> = Log::default();
    let (e1, e2) = (events.clone(), events.clone());
    let token = loader.load(
        webimage::Request::new(server.url("/p.png")).progress(move |_, _| {
            e1.lock().unwrap().push("progress");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }),
        move |r| {
            assert!(matches!(r, Err(Error::Cancelled { .. })));
            e2.lock().unwrap().push("done");
        },
    );
    body_gate.wait_arrivals(1);
    wait_until("a progress call", || !events.lock().unwrap().is_empty());
    // Let the rest of the body flow while cancelling, so progress calls race the cancel.
    body_gate.open();
    assert!(token.cancel());
    wait_until("the job to end", || loader.in_flight() == 0);
    let events = events.lock().unwrap();
    let done = events.iter().position(|e| *e == "done").unwrap();
    assert!(events[done..].iter().all(|e| *e == "done"), "{events:?}");
}
