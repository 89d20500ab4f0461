//! `webimage::egui` driven headless (no window, no GPU): an `egui::Context` run pass by pass
//! with `begin_pass` / `try_load_texture` / `end_pass`, as `ui.image(url)` does, against the
//! test server.
//!
//! The scroll test's server answers each request five passes after it arrived (a clock the
//! test advances once per pass), so "a download takes longer than a cell stays on screen" holds
//! however fast or slow the machine is, and the request counts below are bounds, not timings.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::support::photo::{Jpeg, jpeg, photo};
use crate::support::*;
use webimage::egui::{WebImageLoader, install};
use webimage::egui_crate as egui;
use webimage::{Config, ImageLoader, Request};

use egui::load::{ImageLoader as _, ImagePoll, LoadError, SizeHint, TexturePoll};
use egui::{Context, RawInput, TextureOptions, Vec2};

const CELLS: usize = 300;
const WINDOW: usize = 12;
const STEP: usize = 2;
const CELL_PX: u32 = 96;
/// Passes between a request reaching the server and its answer (~80 ms at 16 ms per pass).
const ANSWER_PASSES: u64 = 5;

fn hint(px: u32) -> SizeHint {
    SizeHint::Size {
        width: px,
        height: px,
        maintain_aspect_ratio: true,
    }
}

/// The pass counter the server's answers wait on.
#[derive(Default)]
struct Clock {
    pass: Mutex<u64>,
    tick: Condvar,
    stopped: AtomicBool,
}

impl Clock {
    fn advance(&self) {
        *self.pass.lock().unwrap() += 1;
        self.tick.notify_all();
    }

    /// Server side: waits until `passes` passes have gone by (or the test has ended).
    fn wait(&self, passes: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut now = self.pass.lock().unwrap();
        let until = *now + passes;
        while *now < until && !self.stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
            now = self
                .tick
                .wait_timeout(now, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.tick.notify_all();
    }
}

struct Scene {
    server: Server,
    clock: Arc<Clock>,
    answered: Arc<AtomicU64>,
}

impl Drop for Scene {
    fn drop(&mut self) {
        self.clock.stop();
    }
}

/// 300 distinct JPEGs (landscape and portrait, some progressive), each answered
/// `ANSWER_PASSES` passes after its request arrived.
fn scene() -> Scene {
    let server = Server::start();
    let clock = Arc::new(Clock::default());
    let answered = Arc::new(AtomicU64::new(0));
    for i in 0..CELLS as u32 {
        let (w, h) = if i % 3 == 0 { (240, 320) } else { (320, 240) };
        let how = if i % 5 == 0 {
            Jpeg::PROGRESSIVE
        } else {
            Jpeg::BASELINE
        };
        let route = Route::ok(jpeg(&photo(w, h, i), how, None));
        let (clock, answered) = (clock.clone(), answered.clone());
        server.route_fn(&format!("/p/{i}.jpg"), move |_| {
            clock.wait(ANSWER_PASSES);
            answered.fetch_add(1, Ordering::SeqCst);
            route.clone()
        });
    }
    Scene {
        server,
        clock,
        answered,
    }
}

fn url(scene: &Scene, i: usize) -> String {
    scene.server.url(&format!("/p/{i}.jpg"))
}

fn loader(workers: usize) -> Arc<ImageLoader> {
    Arc::new(
        ImageLoader::new(Config {
            lifo: true,
            ..config(workers)
        })
        .unwrap(),
    )
}

/// One pass drawing cells `first..first + WINDOW`; returns how many were Ready, checking each
/// Ready texture fits the cell.
fn pass(ctx: &Context, scene: &Scene, first: usize) -> usize {
    ctx.begin_pass(RawInput::default());
    let mut ready = 0;
    for i in first..first + WINDOW {
        let poll = ctx
            .try_load_texture(&url(scene, i), TextureOptions::default(), hint(CELL_PX))
            .unwrap();
        if let TexturePoll::Ready { texture } = poll {
            ready += 1;
            let (w, h) = (texture.size.x as u32, texture.size.y as u32);
            assert!(
                w <= CELL_PX && h <= CELL_PX && (w == CELL_PX || h == CELL_PX),
                "cell {i}: {w}x{h} does not fit {CELL_PX}x{CELL_PX} snugly"
            );
        }
    }
    end_pass(ctx);
    scene.clock.advance();
    ready
}

/// Passes over one window until every cell is Ready; the number of passes it took.
fn settle(ctx: &Context, scene: &Scene, first: usize, bound: usize) -> usize {
    for n in 1..=bound {
        if pass(ctx, scene, first) == WINDOW {
            return n;
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    panic!("window at {first} not Ready after {bound} passes");
}

/// Ends a pass; the texture uploads it asks for are dropped (there is no GPU here).
fn end_pass(ctx: &Context) {
    ctx.end_pass().textures_delta.clear();
}

fn textures(ctx: &Context) -> usize {
    ctx.tex_manager().read().num_allocated()
}

#[test]
fn fast_scroll_loads_only_what_stays_on_screen() {
    let scene = scene();
    let webimage = loader(2);
    let ctx = Context::default();
    let web = install(&ctx, webimage.clone());
    // egui's own textures (the font atlas) exist after the first pass.
    ctx.begin_pass(RawInput::default());
    end_pass(&ctx);
    let baseline = textures(&ctx);

    // Scroll 2 cells per pass, ~16 ms per pass, from the top to the last screen.
    let mut first = 0;
    let mut passes = 0;
    while first + WINDOW < CELLS {
        pass(&ctx, &scene, first);
        std::thread::sleep(Duration::from_millis(16));
        first += STEP;
        passes += 1;
        assert!(
            textures(&ctx) <= baseline + WINDOW,
            "textures must not outlive their cells"
        );
    }
    assert_eq!(first, CELLS - WINDOW);
    // The last screen becomes complete within a bound of passes: 12 loads on 2 workers at 5
    // passes each is 30; allow ten times that.
    let settled = settle(&ctx, &scene, first, 300);
    let stats = webimage.stats();
    let requests = scene.server.requests().len();
    eprintln!(
        "egui scroll: {passes} scrolling passes + {settled} to settle; {requests} requests for \
         {CELLS} cells, {} cancelled, {} downloads abandoned, {} answered by the server",
        stats.cancelled,
        stats.jobs_abandoned,
        scene.answered.load(Ordering::SeqCst)
    );
    // Each request occupies a worker for at least ANSWER_PASSES passes: at most
    // 2 * (passes / 5 + 1) requests while scrolling (60 here), plus the last screen's 12.
    assert!(
        requests <= 2 * (passes / ANSWER_PASSES as usize + 1) + WINDOW,
        "{requests} requests"
    );
    assert!(
        requests < CELLS / 2,
        "{requests} requests for {CELLS} cells"
    );
    assert!(stats.cancelled > 0 && stats.jobs_abandoned > 0, "{stats:?}");
    assert!(textures(&ctx) <= baseline + WINDOW);

    // Scroll to the top and back: the last screen is in the memory cache, and every cell is
    // Ready in the very first pass (its texture was freed, so this is a reload from memory).
    settle(&ctx, &scene, 0, 300);
    let before = webimage.stats();
    let requests_before = scene.server.requests().len();
    assert_eq!(
        pass(&ctx, &scene, CELLS - WINDOW),
        WINDOW,
        "memory hits in the same pass"
    );
    let after = webimage.stats();
    assert_eq!(after.memory_hits - before.memory_hits, WINDOW as u64);
    assert_eq!(scene.server.requests().len(), requests_before);

    // Nothing leaks: once egui stops drawing, textures and converted images go; forgetting
    // everything cancels what is pending; dropping the context releases every closure.
    pass(&ctx, &scene, 100); // start loads nobody will wait for
    ctx.begin_pass(RawInput::default());
    end_pass(&ctx);
    assert_eq!(
        textures(&ctx),
        baseline,
        "textures of cells no longer drawn"
    );
    assert_eq!(web.byte_size(), 0);
    assert_eq!(web.pending(), 0);
    ctx.forget_all_images();
    wait_until("loads to finish", || {
        scene.clock.advance(); // downloads already sent are answered
        webimage.in_flight() == 0
    });
    drop(web);
    drop(ctx);
    assert_eq!(
        Arc::strong_count(&webimage),
        1,
        "a closure or the context still holds the loader"
    );
}

#[test]
fn size_hint_is_a_thumbnail_box_in_physical_pixels() {
    let server = Server::start();
    server.route("/big.jpg", Route::ok(encode_jpeg(1600, 1200, 1)));
    let webimage = loader(2);
    let ctx = Context::default();
    install(&ctx, webimage.clone());
    ctx.set_pixels_per_point(2.0);
    ctx.begin_pass(RawInput::default());
    end_pass(&ctx);
    let image = egui::Image::new(server.url("/big.jpg")).fit_to_exact_size(Vec2::splat(64.0));
    let mut found = None;
    for _ in 0..2000 {
        ctx.begin_pass(RawInput::default());
        let poll = image.load_for_size(&ctx, Vec2::splat(500.0)).unwrap();
        end_pass(&ctx);
        if let TexturePoll::Ready { texture } = poll {
            found = Some(texture.size);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // 64 points at 2 pixels per point: a 128x128 box, so 128x96 texels.
    assert_eq!(found, Some(Vec2::new(128.0, 96.0)));
    let stats = webimage.stats();
    assert_eq!(stats.thumbnails_dct_scaled, 1, "decoded small: {stats:?}");
}

#[test]
fn two_sizes_of_one_url_are_two_textures() {
    let server = Server::start();
    server.route("/a.jpg", Route::ok(encode_jpeg(800, 600, 2)));
    let webimage = loader(2);
    let ctx = Context::default();
    install(&ctx, webimage.clone());
    let url = server.url("/a.jpg");
    // Warm the memory cache so both are Ready in one pass.
    for px in [64, 200] {
        webimage
            .load_blocking(Request::new(&url).thumbnail(px, px))
            .unwrap();
    }
    ctx.begin_pass(RawInput::default());
    let load = |px| match ctx
        .try_load_texture(&url, TextureOptions::default(), hint(px))
        .unwrap()
    {
        TexturePoll::Ready { texture } => texture,
        TexturePoll::Pending { .. } => panic!("a memory hit must be Ready in the same pass"),
    };
    let (small, large) = (load(64), load(200));
    end_pass(&ctx);
    assert_ne!(small.id, large.id);
    assert_eq!(small.size, Vec2::new(64.0, 48.0));
    assert_eq!(large.size, Vec2::new(200.0, 150.0));
    assert_eq!(
        webimage.stats().loads,
        4,
        "two warm-ups, then one memory hit per size"
    );
}

#[test]
fn other_uris_are_left_to_other_loaders_and_errors_carry_the_message() {
    let server = Server::start();
    server.route("/gone.jpg", Route::status(404));
    let web = WebImageLoader::new(loader(1));
    let ctx = Context::default();
    for uri in [
        "bytes://logo.png",
        "ftp://example.com/a.png",
        "https://example.com/icon.svg",
        "data:image/svg+xml,<svg/>",
    ] {
        assert_eq!(
            web.load(&ctx, uri, hint(32)).err(),
            Some(LoadError::NotSupported),
            "{uri}"
        );
    }
    let url = server.url("/gone.jpg");
    let mut error = None;
    for _ in 0..2000 {
        match web.load(&ctx, &url, hint(32)) {
            Ok(ImagePoll::Pending { .. }) => std::thread::sleep(Duration::from_millis(5)),
            Ok(ImagePoll::Ready { .. }) => panic!("a 404 is not an image"),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    match error {
        Some(LoadError::Loading(message)) => assert!(message.contains("404"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn forgetting_a_pending_image_cancels_its_download() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/slow.jpg", Route::ok(encode_jpeg(64, 64, 3)).hold(&gate));
    server.route("/queued.jpg", Route::ok(encode_jpeg(64, 64, 4)));
    let webimage = loader(1);
    let ctx = Context::default();
    let web = install(&ctx, webimage.clone());
    ctx.begin_pass(RawInput::default());
    let poll = ctx.try_load_image(&server.url("/slow.jpg"), hint(32));
    assert!(matches!(poll, Ok(ImagePoll::Pending { .. })));
    gate.wait_arrivals(1); // the only worker is busy with it
    let poll = ctx.try_load_image(&server.url("/queued.jpg"), hint(32));
    assert!(matches!(poll, Ok(ImagePoll::Pending { .. })));
    assert!(ctx.has_pending_images());
    ctx.forget_image(&server.url("/queued.jpg"));
    ctx.forget_image(&server.url("/slow.jpg"));
    assert_eq!(web.pending(), 0);
    assert!(!ctx.has_pending_images());
    end_pass(&ctx);
    gate.open();
    wait_until("the worker to let go", || webimage.in_flight() == 0);
    assert_eq!(
        server.hits("/queued.jpg"),
        0,
        "a cancelled queued load is never sent"
    );
    let stats = webimage.stats();
    assert_eq!((stats.cancelled, stats.decodes), (2, 0));
}

fn encode_jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    jpeg(&photo(width, height, seed), Jpeg::BASELINE, None)
}
