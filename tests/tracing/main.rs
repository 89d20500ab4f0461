//! The `tracing` feature (issue 23): what a service's subscriber sees of real loads against
//! the real test server. A binary of its own because a subscriber the workers' threads see
//! must be the process's global default, and no other test binary should run under it (the
//! allocation counts of `tests/process` would count its records).
//!
//! Every test here filters what the collector saw by its own server's URLs: the tests of this
//! binary run at once and share the one subscriber.
#![cfg(feature = "tracing")]

#[path = "../it/support/mod.rs"]
mod support;

mod collector;

use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use collector::{Collector, EventRec, SpanRec};
use support::*;
use tracing::Dispatch;
use webimage::{Error, ImageLoader};

/// The collector, installed as the global default the first time.
fn collector() -> &'static Collector {
    static DISPATCH: OnceLock<Dispatch> = OnceLock::new();
    let dispatch = DISPATCH.get_or_init(|| {
        let dispatch = Dispatch::new(Collector::new());
        tracing::dispatcher::set_global_default(dispatch.clone())
            .expect("no other subscriber in this binary");
        dispatch
    });
    dispatch.downcast_ref::<Collector>().expect("our collector")
}

/// The `webimage.load` spans of `url`, in the order they were opened.
fn loads_of(url: &str) -> Vec<SpanRec> {
    let spans = collector().spans();
    spans
        .into_iter()
        .filter(|s| {
            s.name == "webimage.load" && s.fields.get("url").map(String::as_str) == Some(url)
        })
        .collect()
}

/// The `webimage.task` spans whose parent is `load`.
fn tasks_under(load: &SpanRec) -> Vec<SpanRec> {
    let spans = collector().spans();
    spans
        .into_iter()
        .filter(|s| s.name == "webimage.task" && s.parent == Some(load.id))
        .collect()
}

/// The events inside `span`, in order.
fn events_in(span: &SpanRec) -> Vec<EventRec> {
    let events = collector().events();
    events
        .into_iter()
        .filter(|e| e.span == Some(span.id))
        .collect()
}

fn field<'a>(span: &'a SpanRec, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

#[test]
fn a_load_is_one_span_under_the_callers_with_its_record_and_an_event_per_stage() {
    let collector = collector();
    let server = Server::start();
    let body = png(40, 30, 1);
    server.route("/t.png", Route::ok(body.clone()));
    let url = server.url("/t.png");
    let loader = ImageLoader::new(config(1)).unwrap();

    let (tx, rx) = mpsc::channel();
    let app = tracing::info_span!("app.request", test = "one-load");
    let token = app.in_scope(|| {
        loader.load_with_metrics(url.as_str(), move |result, metrics| {
            tracing::info!("in the completion");
            let _ = tx.send((result.is_ok(), metrics.clone()));
        })
    });
    let (ok, m) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    drop(token);
    assert!(ok);
    let task = m.task.expect("a task ran").to_string();

    let [load] = &loads_of(&url)[..] else {
        panic!("one load span: {:?}", loads_of(&url));
    };
    let parent = collector
        .spans()
        .into_iter()
        .find(|s| Some(s.id) == load.parent);
    let parent = parent.expect("the load span sits under the caller's span");
    assert_eq!(
        (parent.name, field(&parent, "test")),
        ("app.request", Some("one-load"))
    );
    for (name, value) in [
        ("task", task.as_str()),
        ("joined", "false"),
        ("memory", "Miss"),
        ("disk", "NotUsed"),
        ("source", "Network"),
        ("status", "200"),
        ("bytes", &body.len().to_string()),
        ("redirects", "0"),
        ("decode", "full size"),
    ] {
        assert_eq!(field(load, name), Some(value), "{name}: {load:?}");
    }
    for timed in [
        "first_byte_ms",
        "body_ms",
        "decode_ms",
        "queue_ms",
        "total_ms",
    ] {
        let ms: f64 = field(load, timed).expect(timed).parse().unwrap();
        assert!(ms >= 0.0, "{timed}: {ms}");
    }
    assert_eq!(field(load, "error"), None);

    let [task_span] = &tasks_under(load)[..] else {
        panic!("one task span under the load");
    };
    assert_eq!(field(task_span, "task"), Some(task.as_str()));
    let stages = events_in(task_span);
    let messages: Vec<&str> = stages.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["fetched", "decoded"], "{stages:?}");
    let fetched = &stages[0].fields;
    assert_eq!(fetched.get("status").map(String::as_str), Some("200"));
    assert_eq!(fetched.get("bytes"), Some(&body.len().to_string()));
    let decoded = &stages[1].fields;
    assert_eq!(decoded.get("path").map(String::as_str), Some("full size"));
    assert_eq!(
        (decoded.get("width"), decoded.get("height")),
        (Some(&"40".to_string()), Some(&"30".to_string()))
    );
    let in_completion = events_in(load);
    assert_eq!(
        in_completion
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["in the completion"],
        "the completion runs inside the load's span"
    );

    // A memory hit: a span of its own, answered on this thread, no task.
    let (hit, _) = measured(&loader, url.as_str());
    assert!(hit.is_ok());
    let spans = loads_of(&url);
    assert_eq!(spans.len(), 2);
    let hit = &spans[1];
    assert_eq!(
        (
            field(hit, "memory"),
            field(hit, "source"),
            field(hit, "task")
        ),
        (Some("Hit"), Some("Memory"), None)
    );
    assert!(tasks_under(hit).is_empty());
}

#[test]
fn a_failed_fetch_records_its_error_and_an_event() {
    collector();
    let server = Server::start();
    server.route("/gone.png", Route::status(404));
    let url = server.url("/gone.png");
    let loader = ImageLoader::new(config(1)).unwrap();
    let (result, _) = measured(&loader, url.as_str());
    assert!(matches!(result, Err(Error::Http { status: 404, .. })));
    let [load] = &loads_of(&url)[..] else {
        panic!("one load span");
    };
    assert_eq!(field(load, "error"), Some("HTTP status 404"));
    assert_eq!(field(load, "source"), None);
    let [task] = &tasks_under(load)[..] else {
        panic!("one task span");
    };
    let events = events_in(task);
    let [failed] = &events[..] else {
        panic!("one event: {events:?}");
    };
    assert_eq!(failed.message, "fetch failed");
    assert_eq!(
        failed.fields.get("error").map(String::as_str),
        Some("HTTP status 404")
    );
}

#[test]
fn a_joiner_has_its_own_span_naming_the_task_it_joined() {
    collector();
    let server = Server::start();
    let gate = Gate::new();
    server.route("/shared.png", Route::ok(png(32, 32, 3)).hold(&gate));
    let url = server.url("/shared.png");
    let loader = ImageLoader::new(config(2)).unwrap();
    let (tx, rx) = mpsc::channel();
    let first = tx.clone();
    let _a = loader.load_with_metrics(url.as_str(), move |r, _| {
        let _ = first.send(r.is_ok());
    });
    gate.wait_arrivals(1);
    let _b = loader.load_with_metrics(url.as_str(), move |r, _| {
        let _ = tx.send(r.is_ok());
    });
    gate.open();
    for _ in 0..2 {
        assert!(rx.recv_timeout(Duration::from_secs(30)).unwrap());
    }
    let spans = loads_of(&url);
    let [a, b] = &spans[..] else {
        panic!("two load spans: {spans:?}");
    };
    assert_eq!(
        (field(a, "joined"), field(b, "joined")),
        (Some("false"), Some("true"))
    );
    assert!(field(a, "task").is_some());
    assert_eq!(field(a, "task"), field(b, "task"), "both name the one task");
    assert_eq!(
        tasks_under(a).len(),
        1,
        "the task is a child of the load that started it"
    );
    assert!(tasks_under(b).is_empty(), "the joiner started none");
    assert_eq!(server.hits("/shared.png"), 1);
}

#[test]
fn a_disk_hit_says_so_in_the_span_and_the_fetched_event() {
    collector();
    let dir = TempDir::new("tracing-disk");
    let server = Server::start();
    server.route(
        "/d.png",
        Route::ok(png(16, 16, 4)).header("Cache-Control", "max-age=3600"),
    );
    let url = server.url("/d.png");
    {
        let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
        assert!(measured(&loader, url.as_str()).0.is_ok());
        loader.disk_cache().unwrap().flush();
    }
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    assert!(measured(&loader, url.as_str()).0.is_ok());
    let spans = loads_of(&url);
    let [first, second] = &spans[..] else {
        panic!("two load spans: {spans:?}");
    };
    assert_eq!(
        (field(first, "disk"), field(first, "status")),
        (Some("Miss"), Some("200"))
    );
    assert_eq!(
        (
            field(second, "disk"),
            field(second, "source"),
            field(second, "status")
        ),
        (Some("Hit"), Some("Disk"), None)
    );
    let [task] = &tasks_under(second)[..] else {
        panic!("one task span");
    };
    let fetched = events_in(task);
    assert_eq!(fetched[0].message, "fetched");
    assert_eq!(
        fetched[0].fields.get("disk").map(String::as_str),
        Some("Hit")
    );
    assert_eq!(fetched[0].fields.get("status"), None, "no request was made");
    assert_eq!(server.hits("/d.png"), 1);
}

#[test]
fn traces_carry_no_userinfo_no_query_and_no_fragment() {
    let collector = collector();
    let server = Server::start();
    server.route("/p.png?token=T0KEN", Route::ok(png(8, 8, 5)));
    server.route("/q.png?token=T0KEN", Route::status(403));
    let secret = |path: &str| {
        server
            .url(path)
            .replacen("http://", "http://alice:s3cret@", 1)
            + "?token=T0KEN#fr4g"
    };
    let loader = ImageLoader::new(config(1)).unwrap();
    assert!(measured(&loader, secret("/p.png").as_str()).0.is_ok());
    assert!(
        measured(&loader, secret("/p.png").as_str()).0.is_ok(),
        "a memory hit"
    );
    assert!(measured(&loader, secret("/q.png").as_str()).0.is_err());
    assert_eq!(
        loads_of(&server.url("/p.png")).len(),
        2,
        "scheme, host, port and path"
    );
    assert_eq!(loads_of(&server.url("/q.png")).len(), 1);
    for span in collector.spans() {
        for (name, value) in &span.fields {
            for leak in ["alice", "s3cret", "T0KEN", "fr4g"] {
                assert!(
                    !value.contains(leak),
                    "span {}: {name} = {value}",
                    span.name
                );
            }
        }
    }
    for event in collector.events() {
        let text = format!("{} {:?}", event.message, event.fields);
        for leak in ["alice", "s3cret", "T0KEN", "fr4g"] {
            assert!(!text.contains(leak), "event: {text}");
        }
    }
    // The server saw the credentials and the query: the load itself was not changed.
    let requests = server.requests();
    assert!(requests.iter().any(|r| r.path == "/p.png?token=T0KEN"));
    assert!(requests.iter().all(|r| r.header("authorization").is_some()));
}
