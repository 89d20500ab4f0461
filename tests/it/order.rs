//! Behaviour 2: FIFO by default, LIFO on request, priorities first in both, and a queued job
//! that gains a higher-priority caller moves up. One worker; the first job is held open by the
//! server so the rest queue up, then the order the server sees them is the start order.

use std::sync::{Arc, Mutex};

use crate::support::*;
use webimage::{Config, ImageLoader, Priority, Request};

struct Bench {
    server: Server,
    loader: ImageLoader,
    gate: Gate,
    done: Arc<Mutex<Vec<String>>>,
}

fn bench(lifo: bool) -> Bench {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/first", Route::ok(png(4, 4, 0)).hold(&gate));
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        server.route(&format!("/{name}"), Route::ok(png(4, 4, i as u32 + 1)));
    }
    let loader = ImageLoader::new(Config { lifo, ..config(1) }).unwrap();
    let b = Bench {
        server,
        loader,
        gate,
        done: Arc::new(Mutex::new(Vec::new())),
    };
    b.load("first", Priority::Normal);
    b.gate.wait_arrivals(1);
    b
}

impl Bench {
    fn load(&self, name: &str, priority: Priority) -> webimage::Token {
        let done = self.done.clone();
        let name = name.to_string();
        self.loader.load(
            Request::new(self.server.url(&format!("/{name}"))).priority(priority),
            move |r| {
                r.unwrap();
                done.lock().unwrap().push(name);
            },
        )
    }

    fn finish(self, expected: &[&str]) {
        self.gate.open();
        let requests = expected.len() + 1;
        wait_until("all loads", || self.server.completed().len() == requests);
        wait_until("all callbacks", || {
            self.done.lock().unwrap().len() >= requests && self.loader.in_flight() == 0
        });
        let expected: Vec<String> = std::iter::once("/first")
            .chain(expected.iter().copied())
            .map(|s| {
                if s.starts_with('/') {
                    s.to_string()
                } else {
                    format!("/{s}")
                }
            })
            .collect();
        assert_eq!(self.server.order(), expected, "start order");
    }
}

#[test]
fn fifo_by_default() {
    let b = bench(false);
    for n in ["a", "b", "c", "d"] {
        b.load(n, Priority::Normal);
    }
    b.finish(&["a", "b", "c", "d"]);
}

#[test]
fn lifo_starts_the_newest_first() {
    let b = bench(true);
    for n in ["a", "b", "c", "d"] {
        b.load(n, Priority::Normal);
    }
    b.finish(&["d", "c", "b", "a"]);
}

#[test]
fn priorities_first_in_fifo() {
    let b = bench(false);
    b.load("a", Priority::Low);
    b.load("b", Priority::Normal);
    b.load("c", Priority::High);
    b.load("d", Priority::Normal);
    b.load("e", Priority::High);
    b.finish(&["c", "e", "b", "d", "a"]);
}

#[test]
fn priorities_first_in_lifo() {
    let b = bench(true);
    b.load("a", Priority::Low);
    b.load("b", Priority::Normal);
    b.load("c", Priority::High);
    b.load("d", Priority::Normal);
    b.load("e", Priority::High);
    b.finish(&["e", "c", "d", "b", "a"]);
}

#[test]
fn coalesced_higher_priority_caller_moves_a_queued_job_up() {
    for (lifo, expected) in [(false, ["a", "b", "c"]), (true, ["a", "c", "b"])] {
        let b = bench(lifo);
        b.load("a", Priority::Low);
        b.load("b", Priority::Normal);
        b.load("c", Priority::Normal);
        b.load("a", Priority::High);
        assert_eq!(b.loader.stats().coalesced, 1);
        let done = b.done.clone();
        b.finish(&expected);
        // One request for `a`, completing both of its callers first.
        assert_eq!(done.lock().unwrap()[1..3], ["a", "a"], "lifo = {lifo}");
    }
}

#[test]
fn lifo_re_request_moves_to_top() {
    let b = bench(true);
    b.load("a", Priority::Normal);
    b.load("b", Priority::Normal);
    b.load("c", Priority::Normal);
    b.load("a", Priority::Normal);
    b.finish(&["a", "c", "b"]);
}

#[test]
fn fifo_same_priority_re_request_keeps_its_place() {
    let b = bench(false);
    b.load("a", Priority::Normal);
    b.load("b", Priority::Normal);
    b.load("b", Priority::Normal);
    b.load("c", Priority::Normal);
    b.finish(&["a", "b", "c"]);
}
