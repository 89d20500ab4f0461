//! Progressive previews (`Request::preview`) and early-stopped thumbnails
//! (`Request::partial_download`): a real server sends a progressive JPEG up to the end of its
//! DC scans (and the marker that ends them), then holds the rest behind a gate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use image::RgbaImage;
use image::imageops::FilterType;

use crate::support::photo::{Jpeg, jpeg, mad, photo};
use crate::support::*;
use webimage::{Error, ImageLoader, LoadedImage, Request, Source};

/// What a load saw, in order.
#[derive(Debug)]
enum Event {
    Preview(thread::ThreadId, Arc<RgbaImage>),
    Done(Result<LoadedImage, Error>),
}

type Events = Log<Event>;

/// A request for `url` whose previews and completion go to a fresh log.
fn watched(request: Request) -> (Request, Events, impl FnOnce(Result<LoadedImage, Error>)) {
    let events: Events = Arc::default();
    let (a, b) = (events.clone(), events.clone());
    let request = request.preview(move |p| {
        let event = Event::Preview(thread::current().id(), p.image().clone());
        a.lock().unwrap().push(event)
    });
    (request, events, move |r| {
        b.lock().unwrap().push(Event::Done(r))
    })
}

fn previews(events: &Events) -> Vec<Arc<RgbaImage>> {
    let events = events.lock().unwrap();
    let images = events.iter().filter_map(|e| match e {
        Event::Preview(_, image) => Some(image.clone()),
        Event::Done(_) => None,
    });
    images.collect()
}

fn done(events: &Events) -> Vec<Result<LoadedImage, Error>> {
    let events = events.lock().unwrap();
    let results = events.iter().filter_map(|e| match e {
        Event::Done(r) => Some(r.clone()),
        Event::Preview(..) => None,
    });
    results.collect()
}

/// Every preview came before the completion, and there is exactly one completion, last.
fn assert_previews_then_done(events: &Events) {
    let events = events.lock().unwrap();
    let dones: Vec<usize> = (0..events.len())
        .filter(|&i| matches!(events[i], Event::Done(_)))
        .collect();
    assert_eq!(
        dones,
        vec![events.len() - 1],
        "one completion, after every preview"
    );
}

/// A progressive photo-like JPEG (jpeg-encoder: one DC scan per component, then AC scans).
fn progressive(width: u32, height: u32, seed: u32) -> Vec<u8> {
    jpeg(&photo(width, height, seed), Jpeg::PROGRESSIVE, None)
}

/// Where the first AC scan's marker starts: the DC scans are everything before it. Walks the
/// marker segments and the entropy-coded data as a decoder does.
fn dc_end(data: &[u8]) -> usize {
    let mut i = 2;
    loop {
        assert_eq!(data[i], 0xFF, "a marker at {i}");
        let code = data[i + 1];
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        if code == 0xDA && data[i + 4 + 1 + 2 * usize::from(data[i + 4])] > 0 {
            return i; // Ss > 0: an AC scan
        }
        i += 2 + len;
        if code == 0xDA {
            // Skip the entropy-coded data: 0xFF is followed by 0 (stuffing) or RSTn in it.
            while !(data[i] == 0xFF && data[i + 1] != 0 && !(0xD0..=0xD7).contains(&data[i + 1])) {
                i += 1;
            }
        }
    }
}

/// A route that sends `bytes` up to the end of the DC scans plus the marker after them, then
/// waits at `gate` before sending the rest in small pieces.
fn stalled(bytes: Vec<u8>, gate: &Gate) -> Route {
    let at = dc_end(&bytes) + 2;
    Route::ok(bytes).stall_after(at, gate).in_pieces(1024)
}

fn resized(image: &RgbaImage, size: (u32, u32)) -> RgbaImage {
    image::imageops::resize(image, size.0, size.1, FilterType::Lanczos3)
}

#[test]
fn a_preview_arrives_while_the_rest_waits_and_the_completion_after() {
    let server = Server::start();
    let gate = Gate::new();
    let bytes = progressive(800, 600, 1);
    assert!(
        dc_end(&bytes) < bytes.len() / 3,
        "the DC scans are a small part"
    );
    server.route("/p.jpg", stalled(bytes, &gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (request, events, completion) = watched(Request::new(server.url("/p.jpg")));
    loader.load(request, completion);
    wait_until("a preview", || !previews(&events).is_empty());
    assert!(
        done(&events).is_empty(),
        "no completion while the gate is closed"
    );
    let preview = previews(&events)[0].clone();
    assert_eq!(
        preview.dimensions(),
        (100, 75),
        "a full-size load previews at 1/8"
    );
    gate.open();
    wait_until("the completion", || !done(&events).is_empty());
    assert_previews_then_done(&events);
    let image = done(&events).remove(0).unwrap();
    assert_eq!((image.width(), image.height()), (800, 600));
    assert_eq!(image.source(), Source::Network);
    let d = mad(&preview, &resized(image.image(), (100, 75)));
    assert!(
        d <= 12.0,
        "preview MAD {d:.2} from the final image at its size"
    );
    assert_eq!(previews(&events).len(), 1, "one stage, one preview");
    let stats = loader.stats();
    assert_eq!((stats.previews, stats.downloads_stopped_early), (1, 0));
    assert_eq!(stats.network_requests, 1);
}

#[test]
fn a_small_thumbnail_previews_at_its_final_size() {
    // Disk cache on, no partial_download: the download runs to the end, with a preview.
    let dir = TempDir::new("preview-thumb");
    let server = Server::start();
    let gate = Gate::new();
    server.route("/t.jpg", stalled(progressive(1024, 768, 2), &gate));
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let (request, events, completion) =
        watched(Request::new(server.url("/t.jpg")).thumbnail(96, 96));
    loader.load(request, completion);
    wait_until("a preview", || !previews(&events).is_empty());
    assert!(done(&events).is_empty());
    let preview = previews(&events)[0].clone();
    assert_eq!(preview.dimensions(), (96, 72));
    gate.open();
    wait_until("the completion", || !done(&events).is_empty());
    assert_previews_then_done(&events);
    let thumb = done(&events).remove(0).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (96, 72));
    let d = mad(&preview, thumb.image());
    assert!(
        d <= 2.0,
        "a 1/8 thumbnail's preview is nearly the thumbnail: MAD {d:.2}"
    );
    assert!(server.completed().contains(&"/t.jpg".to_string()));
    assert_eq!(loader.stats().downloads_stopped_early, 0);
    loader.disk_cache().unwrap().flush();
    assert_eq!(
        loader.disk_cache().unwrap().len().unwrap(),
        1,
        "the whole body is stored"
    );
}

#[test]
fn a_thumbnail_of_an_eighth_without_disk_cache_stops_after_the_dc_scans() {
    let server = Server::start();
    let gate = Gate::new();
    let bytes = progressive(1024, 768, 3);
    let dc = dc_end(&bytes);
    server.route("/s.jpg", stalled(bytes.clone(), &gate));
    server.route("/whole.jpg", Route::ok(bytes.clone()));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (request, events, completion) =
        watched(Request::new(server.url("/s.jpg")).thumbnail(128, 128));
    loader.load(request, completion);
    // Completes with the gate still closed.
    wait_until("the completion", || !done(&events).is_empty());
    let thumb = done(&events).remove(0).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (128, 96));
    assert!(
        previews(&events).is_empty(),
        "the final image came at once: no preview"
    );
    let stats = loader.stats();
    assert_eq!(stats.downloads_stopped_early, 1);
    assert_eq!(stats.thumbnails_dc_only, 1);
    assert!(
        stats.bytes_downloaded <= dc as u64 + 2,
        "read {} bytes; the DC part is {dc} of {}",
        stats.bytes_downloaded,
        bytes.len()
    );
    // The same pixels as the thumbnail of the whole file (this encoder does not refine DC).
    let other = ImageLoader::new(config(1)).unwrap();
    let whole = other
        .load_blocking(Request::new(server.url("/whole.jpg")).thumbnail(128, 128))
        .unwrap();
    assert_eq!(whole.image().as_raw(), thumb.image().as_raw());
    // The server sees the connection closed: writing the rest fails.
    gate.open();
    wait_until("the server to notice", || {
        server.aborted().contains(&"/s.jpg".to_string())
    });
    assert!(!server.completed().contains(&"/s.jpg".to_string()));
}

#[test]
fn with_the_disk_cache_only_partial_download_stops_early_and_nothing_is_stored() {
    let dir = TempDir::new("preview-partial");
    let server = Server::start();
    let gate = Gate::new();
    let bytes = progressive(1024, 768, 4);
    server.route("/a.jpg", stalled(bytes.clone(), &gate));
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let thumb = loader
        .load_blocking(
            Request::new(server.url("/a.jpg"))
                .thumbnail(64, 64)
                .partial_download(true),
        )
        .unwrap();
    assert_eq!((thumb.width(), thumb.height()), (64, 48));
    assert_eq!(loader.stats().downloads_stopped_early, 1);
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    assert_eq!(disk.len().unwrap(), 0, "a partial body is never an entry");
    // A second loader on the same directory downloads again (and this one reads it all).
    server.route("/a.jpg", Route::ok(bytes));
    let again = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let second = again
        .load_blocking(Request::new(server.url("/a.jpg")).thumbnail(64, 64))
        .unwrap();
    assert_eq!(second.source(), Source::Network);
    assert_eq!(server.hits("/a.jpg"), 2);
    again.disk_cache().unwrap().flush();
    assert_eq!(again.disk_cache().unwrap().len().unwrap(), 1);
    // Memory only (Store::Memory) needs no opt-in.
    let gate2 = Gate::new();
    server.route("/m.jpg", stalled(progressive(640, 480, 5), &gate2));
    let m = again
        .load_blocking(
            Request::new(server.url("/m.jpg"))
                .thumbnail(80, 80)
                .store(webimage::Store::Memory),
        )
        .unwrap();
    assert_eq!((m.width(), m.height()), (80, 60));
    assert_eq!(again.stats().downloads_stopped_early, 1);
    gate.open();
    gate2.open();
}

#[test]
fn coalesced_callers_each_get_previews_and_a_late_joiner_gets_the_latest_at_once() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/c.jpg", stalled(progressive(800, 600, 6), &gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let url = server.url("/c.jpg");
    let (full, full_events, full_done) = watched(Request::new(url.as_str()));
    let (small, small_events, small_done) = watched(Request::new(url.as_str()).thumbnail(50, 50));
    let (plain_done, plain_count) = {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        (
            move |_| {
                m.fetch_add(1, Ordering::SeqCst);
            },
            n,
        )
    };
    loader.load(full, full_done);
    loader.load(small, small_done);
    loader.load(Request::new(url.as_str()).thumbnail(50, 50), plain_done);
    wait_until("previews", || {
        !previews(&full_events).is_empty() && !previews(&small_events).is_empty()
    });
    assert_eq!(previews(&full_events)[0].dimensions(), (100, 75));
    assert_eq!(previews(&small_events)[0].dimensions(), (50, 38));
    // A late joiner, with the download stalled: its preview arrives before `load` returns, on
    // this thread.
    let (late, late_events, late_done) = watched(Request::new(url.as_str()).thumbnail(400, 400));
    loader.load(late, late_done);
    {
        let events = late_events.lock().unwrap();
        assert_eq!(events.len(), 1, "the latest preview at once");
        let Event::Preview(thread, image) = &events[0] else {
            panic!("a preview first")
        };
        assert_eq!(*thread, thread::current().id());
        assert_eq!(
            image.dimensions(),
            (100, 75),
            "a box over 1/8 gets the 1/8 preview"
        );
    }
    gate.open();
    for events in [&full_events, &small_events, &late_events] {
        wait_until("completions", || !done(events).is_empty());
        assert_previews_then_done(events);
        assert_eq!(previews(events).len(), 1);
        assert!(done(events)[0].is_ok());
    }
    wait_until("the plain caller", || {
        plain_count.load(Ordering::SeqCst) == 1
    });
    let stats = loader.stats();
    assert_eq!((stats.network_requests, stats.previews), (1, 1));
}

#[test]
fn no_previews_for_baseline_jpegs_other_formats_or_cache_hits() {
    let dir = TempDir::new("preview-none");
    let server = Server::start();
    let gate = Gate::new();
    let baseline = jpeg(&photo(800, 600, 7), Jpeg::BASELINE, None);
    let half = baseline.len() / 2;
    server.route("/b.jpg", Route::ok(baseline).stall_after(half, &gate));
    server.route(
        "/p.png",
        Route::ok(png(300, 200, 1)).stall_after(2000, &gate),
    );
    server.route("/p.jpg", Route::ok(progressive(640, 480, 8)));
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let mut logs = Vec::new();
    for path in ["/b.jpg", "/p.png"] {
        let (request, events, completion) = watched(Request::new(server.url(path)));
        loader.load(request, completion);
        logs.push(events);
    }
    gate.wait_arrivals(1);
    gate.open();
    for events in &logs {
        wait_until("completions", || !done(events).is_empty());
        assert!(previews(events).is_empty());
        assert!(done(events)[0].is_ok());
    }
    // The whole body arrives at once: a preview would come just before the final image.
    let (request, events, completion) = watched(Request::new(server.url("/p.jpg")));
    loader.load(request, completion);
    wait_until("completion", || !done(&events).is_empty());
    // Written to disk before the second loader looks (the IO thread writes after delivery).
    loader.disk_cache().unwrap().flush();
    // A memory hit, then a disk hit from a second loader: complete, no preview.
    for l in [
        &loader,
        &ImageLoader::new(disk_config(1, dir.path())).unwrap(),
    ] {
        let (request, events, completion) = watched(Request::new(server.url("/p.jpg")));
        l.load(request, completion);
        wait_until("completion", || !done(&events).is_empty());
        assert!(previews(&events).is_empty());
        let source = done(&events)[0].as_ref().unwrap().source();
        assert!(
            matches!(source, Source::Memory | Source::Disk),
            "{source:?}"
        );
    }
    assert_eq!(loader.stats().previews, 0);
}

#[test]
fn a_caller_cancelled_before_the_dc_scans_gets_no_preview() {
    let server = Server::start();
    let (early, gate) = (Gate::new(), Gate::new());
    // The response waits (the download is running), then stalls after the DC scans.
    server.route(
        "/h.jpg",
        stalled(progressive(800, 600, 12), &gate).hold(&early),
    );
    let loader = ImageLoader::new(config(1)).unwrap();
    let (a, a_events, a_done) = watched(Request::new(server.url("/h.jpg")));
    let (b, b_events, b_done) = watched(Request::new(server.url("/h.jpg")).thumbnail(50, 50));
    loader.load(a, a_done);
    let token = loader.load(b, b_done);
    early.wait_arrivals(1);
    assert!(token.cancel());
    early.open();
    wait_until("a's preview", || !previews(&a_events).is_empty());
    gate.open();
    wait_until("a's completion", || !done(&a_events).is_empty());
    assert_previews_then_done(&a_events);
    assert!(previews(&b_events).is_empty());
    assert_eq!(done(&b_events).len(), 1);
    assert!(matches!(done(&b_events)[0], Err(Error::Cancelled { .. })));
    // A local file is at hand at once: no preview either.
    let dir = TempDir::new("preview-file");
    let path = dir.path().join("p.jpg");
    std::fs::write(&path, progressive(800, 600, 13)).unwrap();
    let (request, events, completion) = watched(Request::new(file_url(&path)));
    loader.load(request, completion);
    wait_until("the file", || !done(&events).is_empty());
    assert!(previews(&events).is_empty());
}

#[test]
fn cancel_during_a_preview_waits_for_it_and_completes_once() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/x.jpg", stalled(progressive(800, 600, 9), &gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let log: Log<&'static str> = Arc::default();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (l1, l2) = (log.clone(), log.clone());
    let request = Request::new(server.url("/x.jpg")).preview(move |_| {
        l1.lock().unwrap().push("preview start");
        entered_tx.send(()).unwrap();
        release_rx.lock().unwrap().recv().unwrap();
        l1.lock().unwrap().push("preview end");
    });
    let token = loader.load(request, move |r| {
        assert!(matches!(r, Err(Error::Cancelled { .. })));
        l2.lock().unwrap().push("done");
    });
    entered_rx.recv().unwrap();
    // Cancel on another thread while the preview runs on the worker: it waits.
    let canceller = thread::spawn(move || token.cancel());
    thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        *log.lock().unwrap(),
        ["preview start"],
        "no completion during a preview"
    );
    release_tx.send(()).unwrap();
    assert!(canceller.join().unwrap());
    gate.open();
    // The download stops (nobody wants it) and nothing else is called.
    wait_until("the job to end", || loader.stats().jobs_abandoned == 1);
    assert_eq!(
        *log.lock().unwrap(),
        ["preview start", "preview end", "done"]
    );
}

#[test]
fn a_preview_closure_may_cancel_its_own_load() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/y.jpg", stalled(progressive(800, 600, 10), &gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let token: Arc<Mutex<Option<webimage::Token>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let dones = Arc::new(AtomicUsize::new(0));
    let (t, c, d) = (token.clone(), calls.clone(), dones.clone());
    let request = Request::new(server.url("/y.jpg")).preview(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        if let Some(token) = t.lock().unwrap().as_ref() {
            token.cancel();
        }
    });
    // Hold the token slot while loading, so the preview sees the token.
    let mut slot = token.lock().unwrap();
    *slot = Some(loader.load(request, move |r| {
        assert!(matches!(r, Err(Error::Cancelled { .. })));
        d.fetch_add(1, Ordering::SeqCst);
    }));
    drop(slot);
    wait_until("the cancel", || dones.load(Ordering::SeqCst) == 1);
    gate.open();
    wait_until("the job to end", || loader.stats().jobs_abandoned == 1);
    assert_eq!(
        (calls.load(Ordering::SeqCst), dones.load(Ordering::SeqCst)),
        (1, 1)
    );
}

#[test]
fn shutdown_after_a_preview_completes_every_caller_once() {
    let server = Server::start();
    let gate = Gate::new();
    // After the gate, the rest drips (1 KiB per 50 ms: seconds), so the loader is closing
    // long before the body could end.
    let route = stalled(progressive(800, 600, 11), &gate);
    server.route("/z.jpg", route.paced(std::time::Duration::from_millis(50)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let (request, events, completion) = watched(Request::new(server.url("/z.jpg")));
    loader.load(request, completion);
    wait_until("a preview", || !previews(&events).is_empty());
    let dropper = thread::spawn(move || drop(loader));
    gate.open();
    dropper.join().unwrap();
    assert_previews_then_done(&events);
    assert!(matches!(done(&events)[0], Err(Error::Shutdown { .. })));
}

#[test]
fn a_cover_previews_in_its_box_shape_and_processors_wait_for_the_final_image() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/c.jpg", stalled(progressive(1600, 1200, 14), &gate));
    let loader = ImageLoader::new(config(1)).unwrap();
    let url = server.url("/c.jpg");
    // A box the 1/8 base (200x150) covers, one it does not, and a processed cover.
    let (small, small_events, small_done) = watched(Request::new(url.as_str()).cover(64, 64));
    let (big, big_events, big_done) = watched(Request::new(url.as_str()).cover(400, 200));
    let processed = Request::new(url.as_str())
        .cover(64, 64)
        .process(webimage::Grayscale);
    let (processed, gray_events, gray_done) = watched(processed);
    loader.load(small, small_done);
    loader.load(big, big_done);
    loader.load(processed, gray_done);
    for events in [&small_events, &big_events, &gray_events] {
        wait_until("a preview", || !previews(events).is_empty());
    }
    assert_eq!(previews(&small_events)[0].dimensions(), (64, 64));
    // The base's own pixels, cropped to the box's 2:1 shape: 200x100.
    assert_eq!(previews(&big_events)[0].dimensions(), (200, 100));
    // The still picture before any processor: not grey.
    let gray_preview = previews(&gray_events)[0].clone();
    assert_eq!(gray_preview.dimensions(), (64, 64));
    assert!(gray_preview.pixels().any(|p| p[0] != p[1] || p[1] != p[2]));
    gate.open();
    for events in [&small_events, &big_events, &gray_events] {
        wait_until("the completion", || !done(events).is_empty());
        assert_previews_then_done(events);
    }
    let small = done(&small_events).remove(0).unwrap();
    assert_eq!((small.width(), small.height()), (64, 64));
    let d = mad(&previews(&small_events)[0], small.image());
    assert!(d <= 12.0, "cover preview MAD {d:.2} from the final cover");
    let big = done(&big_events).remove(0).unwrap();
    assert_eq!((big.width(), big.height()), (400, 200));
    let gray = done(&gray_events).remove(0).unwrap();
    assert!(gray.image().pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
}
