//! The per-load record (`Metrics`), on real paths: the real server on 127.0.0.1 with held
//! responses and paced bodies, a real disk cache, coalesced callers, a `304` revalidation, a
//! DC-only thumbnail cut short, a decode waiting for the decode budget, and the errors.
//!
//! Durations are asserted from below only (the server held the response at least this long),
//! never from above: a busy machine makes everything slower, never faster.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use image::{Rgba, RgbaImage};

use crate::support::photo::{Jpeg, exif_block, jpeg, photo};
use crate::support::*;
use webimage::{
    CachePolicy, Config, DecodeKind, Decoder, DecoderError, DiskOutcome, Error, ImageLoader,
    LoadedImage, MemoryLookup, Metrics, Request, Source,
};

const HELD: Duration = Duration::from_millis(150);
const PACE: Duration = Duration::from_millis(40);

#[test]
fn a_download_records_where_its_time_went() {
    let server = Server::start();
    let gate = Gate::new();
    let body = png(64, 48, 1);
    let pieces = body.len().div_ceil(4);
    server.route(
        "/slow.png",
        Route::ok(body.clone())
            .hold(&gate)
            .in_pieces(pieces)
            .paced(PACE),
    );
    server.route("/moved", Route::redirect("/slow.png"));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (tx, rx) = mpsc::channel();
    let _token = loader.load_with_metrics(server.url("/moved"), move |result, metrics| {
        let _ = tx.send((result, metrics.clone()));
    });
    // Held from the moment the request for the image reached the server.
    gate.wait_arrivals(1);
    thread::sleep(HELD);
    gate.open();
    let (result, m) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let image = result.unwrap();
    assert_eq!(image.metrics(), &m, "the image carries the same record");
    assert_eq!((image.source(), image.width()), (Source::Network, 64));

    assert!(m.task.is_some());
    assert!(!m.joined);
    assert_eq!(m.memory, MemoryLookup::Miss);
    assert_eq!(m.disk, DiskOutcome::NotUsed, "no disk cache");
    let net = m.network.expect("network figures");
    assert_eq!(net.status, Some(200));
    assert_eq!(net.redirects, 1);
    assert_eq!(net.requests, 2, "the redirect and the image");
    assert_eq!(net.bytes, body.len() as u64);
    assert!(!net.cut_short);
    assert!(net.dns.is_some(), "the host was looked up");
    assert!(net.connect.is_some(), "a first connection was made");
    assert_eq!(net.tls, None, "http: has no TLS handshake");
    assert!(
        net.first_byte >= HELD,
        "headers were held {HELD:?}: {net:?}"
    );
    assert!(net.body >= PACE * 3, "four pieces {PACE:?} apart: {net:?}");
    let decode = m.decode.expect("a decode");
    assert_eq!(decode.kind, DecodeKind::Original);
    assert_eq!(decode.size, (64, 48));
    assert_eq!(decode.budget_wait, Duration::ZERO);
    assert_eq!(m.process, None);
    assert_eq!(m.previews, 0);
    let total = m.total.expect("a total");
    assert!(total >= net.first_byte + net.body, "{m:?}");
    assert!(total >= m.queue_wait.unwrap() + decode.time, "{m:?}");

    // Again, from the memory cache: the constant record, nothing timed.
    let (again, hit) = measured(&loader, server.url("/moved"));
    assert_eq!(again.unwrap().source(), Source::Memory);
    assert_eq!(hit, Metrics::MEMORY_HIT);
    assert_eq!(hit.total, None);

    // A second image from the same server reuses the kept-alive connection: no connect
    // (ureq resolves the name before it looks for a pooled connection, so `dns` is there).
    server.route("/other.png", Route::ok(png(8, 8, 2)));
    let (_, reused) = measured(&loader, server.url("/other.png"));
    let net = reused.network.unwrap();
    assert!(net.dns.is_some(), "{net:?}");
    assert_eq!(net.connect, None, "{net:?}");
    assert_ne!(reused.task, m.task);
}

#[test]
fn a_queued_load_records_its_wait() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/busy.png", Route::ok(png(8, 8, 1)).hold(&gate));
    server.route("/next.png", Route::ok(png(8, 8, 2)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (tx, rx) = mpsc::channel();
    let busy = tx.clone();
    let _a = loader.load_with_metrics(server.url("/busy.png"), move |_, m| {
        let _ = busy.send(("busy", m.clone()));
    });
    gate.wait_arrivals(1); // the only worker is held
    let _b = loader.load_with_metrics(server.url("/next.png"), move |_, m| {
        let _ = tx.send(("next", m.clone()));
    });
    thread::sleep(HELD);
    gate.open();
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let second = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!((first.0, second.0), ("busy", "next"));
    let waited = second.1.queue_wait.unwrap();
    assert!(
        waited >= HELD,
        "queued behind a response held {HELD:?}: {waited:?}"
    );
    assert!(first.1.queue_wait.unwrap() < waited);
}

#[test]
fn a_coalesced_joiner_names_the_task_it_joined() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/shared.png", Route::ok(png(32, 32, 3)).hold(&gate));
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/shared.png");
    let (tx, rx) = mpsc::channel();
    let first = tx.clone();
    let _a = loader.load_with_metrics(url.as_str(), move |r, m| {
        let _ = first.send((0, r.is_ok(), m.clone()));
    });
    gate.wait_arrivals(1);
    let _b = loader.load_with_metrics(url.as_str(), move |r, m| {
        let _ = tx.send((1, r.is_ok(), m.clone()));
    });
    gate.open();
    let mut records = [
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
    ];
    records.sort_by_key(|r| r.0);
    let [(_, ok_a, a), (_, ok_b, b)] = records;
    assert!(ok_a && ok_b);
    assert_eq!(server.hits("/shared.png"), 1);
    assert!(a.task.is_some());
    assert_eq!(a.task, b.task, "both name the one task");
    assert!(!a.joined, "the first caller started it");
    assert!(b.joined, "the second joined it");
    assert_eq!(
        b.queue_wait,
        Some(Duration::ZERO),
        "it joined a running task"
    );
    assert_eq!(a.network, b.network, "one download, shared");
    assert_eq!(a.decode, b.decode, "one decode, shared");
    assert_eq!(loader.stats().coalesced, 1);
}

#[test]
fn disk_hits_and_revalidations_say_what_the_disk_cache_did() {
    let dir = TempDir::new("metrics-disk");
    let server = Server::start();
    let tag = Arc::new(Mutex::new("\"v1\"".to_string()));
    let bodies = [png(10, 10, 1), png(12, 12, 2)];
    let state = tag.clone();
    server.route_fn("/e.png", move |req| {
        let tag = state.lock().unwrap().clone();
        let route = if req.header("if-none-match") == Some(tag.as_str()) {
            Route::not_modified()
        } else if tag == "\"v1\"" {
            Route::ok(bodies[0].clone())
        } else {
            Route::ok(bodies[1].clone())
        };
        route.header("ETag", &tag)
    });
    let url = server.url("/e.png");
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let (_, first) = measured(&loader, url.as_str());
    assert_eq!(first.disk, DiskOutcome::Miss);
    assert_eq!(first.network.unwrap().status, Some(200));
    loader.disk_cache().unwrap().flush();

    // The memory cache cleared: the bytes come from disk, decoded again, no request.
    loader.clear_memory();
    let (image, hit) = measured(&loader, url.as_str());
    assert_eq!(image.unwrap().source(), Source::Disk);
    assert_eq!(hit.disk, DiskOutcome::Hit);
    assert_eq!(hit.network, None, "no request");
    assert_eq!(hit.decode.unwrap().size, (10, 10));
    assert_eq!(server.hits("/e.png"), 1);

    // Revalidated: a conditional request, answered 304, the cached bytes served.
    let revalidate = || Request::new(url.as_str()).cache_policy(CachePolicy::Revalidate);
    let (image, checked) = measured(&loader, revalidate());
    assert_eq!(image.unwrap().source(), Source::Disk);
    assert_eq!(checked.disk, DiskOutcome::Revalidated);
    let net = checked.network.unwrap();
    assert_eq!((net.status, net.bytes), (Some(304), 0));
    assert_eq!(
        checked.memory,
        MemoryLookup::Skipped,
        "Revalidate skips memory"
    );

    // The image changed: the conditional request gets a new body.
    *tag.lock().unwrap() = "\"v2\"".into();
    let (image, replaced) = measured(&loader, revalidate());
    assert_eq!(image.unwrap().width(), 12);
    assert_eq!(replaced.disk, DiskOutcome::Replaced);
    assert_eq!(replaced.network.unwrap().status, Some(200));
}

#[test]
fn a_dc_only_thumbnail_cut_short_says_so() {
    let server = Server::start();
    let bytes = jpeg(&photo(1024, 768, 3), Jpeg::PROGRESSIVE, None);
    server.route("/p.jpg", Route::ok(bytes.clone()).in_pieces(4096));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (result, m) = measured(
        &loader,
        Request::new(server.url("/p.jpg")).thumbnail(128, 128),
    );
    assert_eq!(result.unwrap().width(), 128);
    let decode = m.decode.unwrap();
    assert_eq!(decode.kind, DecodeKind::DcOnly);
    assert_eq!(decode.size, (128, 96));
    let net = m.network.unwrap();
    assert!(net.cut_short, "stopped after the DC scans: {net:?}");
    assert!(net.bytes < bytes.len() as u64, "{net:?}");

    // A baseline file at 1/4: the DCT-scaled path.
    let baseline = jpeg(&photo(1024, 768, 4), Jpeg::BASELINE, None);
    server.route("/b.jpg", Route::ok(baseline));
    let request = Request::new(server.url("/b.jpg")).thumbnail(256, 256);
    let (_, m) = measured(&loader, request);
    assert_eq!(m.decode.unwrap().kind, DecodeKind::DctScaled);
    assert!(!m.network.unwrap().cut_short);

    // A photo carrying an embedded thumbnail that fits: the Exif path.
    let picture = photo(1600, 1200, 7);
    let small = image::imageops::resize(&picture, 320, 240, image::imageops::FilterType::Lanczos3);
    let embedded = jpeg(&small, Jpeg::BASELINE, None);
    let exif = exif_block(1, Some(&embedded));
    server.route(
        "/e.jpg",
        Route::ok(jpeg(&picture, Jpeg::BASELINE, Some(&exif))),
    );
    let request = Request::new(server.url("/e.jpg")).thumbnail(160, 160);
    let (_, m) = measured(&loader, request);
    let decode = m.decode.unwrap();
    assert_eq!(
        (decode.kind, decode.size),
        (DecodeKind::ExifThumbnail, (160, 120))
    );
}

/// A decoder of `HOLD` files that holds its decode until the test lets it go.
struct Holding {
    entered: Gate,
    release: Arc<AtomicBool>,
}

impl Decoder for Holding {
    fn name(&self) -> &str {
        "HOLD"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"HOLD")
    }
    fn dimensions(&self, _bytes: &[u8]) -> Result<(u32, u32), DecoderError> {
        Ok((100, 100))
    }
    fn peak_bytes(&self, _dimensions: (u32, u32), _size: (u32, u32)) -> u64 {
        BUDGET // the whole budget: anything else waits
    }
    fn decode(&self, _bytes: &[u8], _size: (u32, u32)) -> Result<RgbaImage, DecoderError> {
        self.entered.pass(); // open: only counts the arrival
        while !self.release.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(2));
        }
        Ok(RgbaImage::from_pixel(100, 100, Rgba([1, 2, 3, 255])))
    }
}

const BUDGET: u64 = 4 << 20;

#[test]
fn a_decode_that_waited_for_the_budget_records_the_wait() {
    let dir = TempDir::new("metrics-budget");
    let held = dir.path().join("a.hold");
    std::fs::write(&held, b"HOLD").unwrap();
    let png_path = dir.path().join("b.png");
    std::fs::write(&png_path, png(64, 64, 1)).unwrap();
    let (entered, release) = (Gate::new(), Arc::new(AtomicBool::new(false)));
    entered.open(); // `pass` only counts the arrival
    let loader = ImageLoader::new(Config {
        decoders: vec![Arc::new(Holding {
            entered: entered.clone(),
            release: release.clone(),
        })],
        decode_memory_bytes: BUDGET,
        ..config(2)
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let first = tx.clone();
    let _a = loader.load_with_metrics(file_url(&held), move |r, m| {
        let _ = first.send(("hold", r.is_ok(), m.clone()));
    });
    entered.wait_arrivals(1); // the budget is all reserved now
    let _b = loader.load_with_metrics(file_url(&png_path), move |r, m| {
        let _ = tx.send(("png", r.is_ok(), m.clone()));
    });
    thread::sleep(HELD);
    release.store(true, Ordering::SeqCst);
    let mut both = [
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
    ];
    both.sort_by_key(|r| r.0);
    let [one, two] = both;
    assert_eq!((one.0, two.0), ("hold", "png"));
    assert!(one.1 && two.1);
    let waited = two.2.decode.unwrap();
    // It found the budget full and waited (a reservation that fits at once reads no clock
    // and records exactly zero); how long depends on when its worker got there.
    assert!(waited.budget_wait > Duration::ZERO, "{waited:?}");
    assert_eq!(one.2.decode.unwrap().budget_wait, Duration::ZERO);
    // A file:// read: body time and bytes, no HTTP status.
    let net = two.2.network.unwrap();
    assert_eq!(net.status, None);
    assert_eq!(net.bytes, std::fs::metadata(&png_path).unwrap().len());
}

#[test]
fn errors_carry_their_record_too() {
    let server = Server::start();
    server.route("/gone.png", Route::status(404));
    server.route("/junk.png", Route::ok(b"not an image at all".to_vec()));
    let loader = ImageLoader::new(config(1)).unwrap();

    let (result, m) = measured(&loader, server.url("/gone.png"));
    assert!(matches!(result, Err(Error::Http { status: 404, .. })));
    assert!(m.task.is_some());
    assert_eq!(m.network.unwrap().status, Some(404));
    assert_eq!(m.decode, None);
    assert!(m.total.is_some());

    let (result, m) = measured(&loader, server.url("/junk.png"));
    assert!(matches!(result, Err(Error::UnsupportedFormat { .. })));
    assert_eq!(m.network.unwrap().bytes, 19);

    // Remembered as failed: answered at admission, no task.
    let (result, m) = measured(&loader, server.url("/gone.png"));
    assert!(matches!(result, Err(Error::FailedBefore { .. })));
    assert_eq!((m.task, m.network), (None, None));

    let (result, m) = measured(&loader, "ftp://example.com/a.png");
    assert!(matches!(result, Err(Error::InvalidUrl { .. })));
    assert_eq!(m, Metrics::EMPTY);
}

#[test]
fn a_cancelled_load_gets_its_record_with_the_error() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/held.png", Route::ok(png(8, 8, 1)).hold(&gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (tx, rx) = mpsc::channel();
    let token = loader.load_with_metrics(server.url("/held.png"), move |r, m| {
        let _ = tx.send((r, m.clone()));
    });
    gate.wait_arrivals(1);
    assert!(token.cancel());
    let (result, m) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    gate.open();
    assert!(matches!(result, Err(Error::Cancelled { .. })));
    assert_eq!(m.memory, MemoryLookup::Miss);
    assert!(m.total.is_some());
}

/// Records every event with the thread it ran on.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, thread::ThreadId)>>,
    panic_on_finish: AtomicBool,
}

impl webimage::EventListener for Recorder {
    fn task_started(&self, task: u64, url: &str) {
        let event = format!("started {task} {}", url.rsplit('/').next().unwrap());
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
    }
    fn fetched(&self, task: u64, disk: DiskOutcome, network: Option<&webimage::NetworkMetrics>) {
        let status = network.and_then(|n| n.status);
        let event = format!("fetched {task} {disk:?} {status:?}");
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
    }
    fn decoded(&self, task: u64, decode: &webimage::DecodeMetrics) {
        let event = format!("decoded {task} {:?}", decode.size);
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
    }
    fn finished(&self, _url: &str, m: &Metrics, result: Result<&LoadedImage, &Error>) {
        let event = format!("finished {:?} {:?} {}", m.task, m.memory, result.is_ok());
        self.events
            .lock()
            .unwrap()
            .push((event, thread::current().id()));
        if self.panic_on_finish.load(Ordering::SeqCst) {
            panic!("a listener's bug");
        }
    }
}

#[test]
fn the_event_listener_sees_each_stage_on_the_thread_doing_it() {
    let server = Server::start();
    server.route("/e.png", Route::ok(png(20, 10, 1)));
    let recorder = Arc::new(Recorder::default());
    let loader = ImageLoader::new(Config {
        event_listener: Some(recorder.clone()),
        ..config(1)
    })
    .unwrap();
    let (result, m) = measured(&loader, server.url("/e.png"));
    result.unwrap();
    let task = m.task.unwrap();
    let seen = std::mem::take(&mut *recorder.events.lock().unwrap());
    let names: Vec<&str> = seen.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("started {task} e.png"),
            format!("fetched {task} NotUsed Some(200)"),
            format!("decoded {task} (20, 10)"),
            format!("finished Some({task}) Miss true"),
        ]
    );
    let me = thread::current().id();
    assert!(seen.iter().all(|(_, t)| *t != me), "all on the worker");
    assert!(seen.iter().all(|(_, t)| *t == seen[0].1), "one worker");

    // A memory hit is answered on the caller's thread, and told there.
    let (result, _) = measured(&loader, server.url("/e.png"));
    assert_eq!(result.unwrap().source(), Source::Memory);
    let seen = std::mem::take(&mut *recorder.events.lock().unwrap());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "finished None Hit true");
    assert_eq!(seen[0].1, me);

    // A panicking listener is counted; the completion still runs, once.
    recorder.panic_on_finish.store(true, Ordering::SeqCst);
    let before = loader.stats().callback_panics;
    let (result, _) = measured(&loader, server.url("/e.png"));
    assert!(result.is_ok());
    assert_eq!(loader.stats().callback_panics, before + 1);
}

#[test]
fn previews_and_processors_are_counted_and_timed() {
    let server = Server::start();
    let gate = Gate::new();
    let bytes = jpeg(&photo(800, 600, 5), Jpeg::PROGRESSIVE, None);
    // Held halfway: past the DC scans (a small part of a progressive file), so the worker
    // makes its preview while the rest waits.
    let half = bytes.len() / 2;
    server.route(
        "/p.jpg",
        Route::ok(bytes).stall_after(half, &gate).in_pieces(1024),
    );
    let loader = ImageLoader::new(config(1)).unwrap();
    let previews = Arc::new(Mutex::new(0));
    let seen = previews.clone();
    let request = Request::new(server.url("/p.jpg"))
        .process(webimage::Grayscale)
        .preview(move |_| *seen.lock().unwrap() += 1);
    let (tx, rx) = mpsc::channel();
    let _token = loader.load_with_metrics(request, move |result, metrics| {
        let _ = tx.send((result.is_ok(), metrics.clone()));
    });
    wait_until("a preview", || *previews.lock().unwrap() > 0);
    gate.open();
    let (ok, m) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(ok);
    assert_eq!(m.previews, 1, "one preview, as the caller saw: {m:?}");
    assert_eq!(*previews.lock().unwrap(), 1);
    assert!(m.preview_time > Duration::ZERO, "{m:?}");
    assert!(
        m.process.is_some(),
        "the processor ran and was timed: {m:?}"
    );
    assert_eq!(m.decode.unwrap().kind, DecodeKind::Original);
}
