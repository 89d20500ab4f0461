//! Issue 18 point 6 through the loader: growth that no limit saw. Memory is the live heap of
//! this process (the counting allocator in `alloc.rs`), measured after the loads have
//! finished: what the memory cache, the failed-URL list and the pending loads really hold,
//! against their bounds and against what the loader reports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::alloc::allocated;
use crate::support::*;
use webimage::{Config, Error, ImageLoader, Request};

/// The heap freed by `f` (what it released, from the counting allocator).
fn freed_by(f: impl FnOnce()) -> usize {
    let before = allocated();
    f();
    before.saturating_sub(allocated())
}

/// The heap grown by `f`, kept after it returns.
fn kept_by(f: impl FnOnce()) -> usize {
    let before = allocated();
    f();
    allocated().saturating_sub(before)
}

#[test]
fn the_memory_cache_counts_what_tiny_images_and_long_urls_really_hold() {
    let _serial = crate::serial();
    const LIMIT: u64 = 4 << 20;
    let dir = TempDir::new("growth-tiny");
    let path = dir.path().join("one.png");
    std::fs::write(&path, png(1, 1, 1)).unwrap();
    let base = file_url(&path);
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: LIMIT,
        ..config(2)
    })
    .unwrap();
    // (images, query padding): 30,000 one-pixel images under ~70-byte URLs (by their pixels
    // alone 120 KB: they all fitted, and held 8 MB), then 2,000 under 10 KB URLs (8 KB of
    // pixels; they held 20 MB).
    for (images, pad) in [(30_000, 0), (2_000, 10_000)] {
        let padding = "x".repeat(pad);
        let kept = kept_by(|| {
            for i in 0..images {
                let image = loader
                    .load_blocking(format!("{base}?{i}-{pad}{padding}"))
                    .unwrap();
                assert_eq!(image.width(), 1);
            }
        });
        let usage = loader.memory_cache_usage();
        let cached = loader.memory_cache_len();
        let held = freed_by(|| loader.clear_memory());
        eprintln!(
            "{images} images, URLs padded by {pad}: {cached} cached, usage {usage}, heap held \
             {held} (kept {kept})"
        );
        assert!(
            cached < images,
            "{cached} of {images} cached: nothing was evicted"
        );
        assert!(usage <= LIMIT, "usage {usage}");
        // The limit bounds what the cache holds, and the usage it reports is what it holds:
        // the heap it frees when cleared, plus the allocator's own headers and rounding that
        // a counting allocator does not see (within a third).
        assert!(held as u64 <= usage, "held {held}, reported {usage}");
        assert!(usage < held as u64 * 4 / 3, "held {held}, reported {usage}");
        assert!(
            kept as u64 <= LIMIT + (1 << 20),
            "kept {kept} for a {LIMIT} limit"
        );
    }
}

/// Returns once `loader`'s one worker has dropped its last job. A load answers its caller
/// before the worker drops the job (its URL, its bytes), so on a busy machine the heap
/// measured right after the last answer could still hold them (5 MB of one 1 MiB `data:`
/// URL's copies was seen); a load of a new one-pixel image runs on the same worker after
/// that job is gone.
fn settle(loader: &ImageLoader) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let seed = N.fetch_add(1, Ordering::Relaxed) as u32;
    let url = format!("data:image/png;base64,{}", base64(png(1, 1, seed)));
    loader.load_blocking(url).unwrap();
}

#[test]
fn failed_data_urls_are_remembered_within_the_byte_bound() {
    let _serial = crate::serial();
    let loader = ImageLoader::new(config(1)).unwrap();
    // Undecodable data: URLs are permanent failures. A hundred of 1 MiB each are each over a
    // tenth of the list's 4 MiB, so none is remembered (all 100 were: 100 MiB).
    let kept = kept_by(|| {
        for i in 0..100 {
            let url = format!("data:image/png;base64,{}{i:03}", "A".repeat(1 << 20));
            let err = loader.load_blocking(url).unwrap_err();
            assert!(err.is_permanent(), "{err:?}");
        }
        settle(&loader);
    });
    assert_eq!(loader.failed_len(), 0);
    assert!(kept < 256 << 10, "kept {kept}");
    // 1,000 of 20 KB: by count they all fit (20 MB); by bytes about 200 of them.
    let kept = kept_by(|| {
        for i in 0..1000 {
            let url = format!("data:image/png;base64,{}{i:04}", "A".repeat(20_000));
            assert!(loader.load_blocking(url).is_err());
        }
        settle(&loader);
    });
    let remembered = loader.failed_len();
    eprintln!("1,000 failed 20 KB data: URLs: {remembered} remembered, heap kept {kept}");
    assert!((190..=210).contains(&remembered), "{remembered}");
    assert!(kept < (4 << 20) + (256 << 10), "kept {kept}");
    // The newest is the one remembered.
    let newest = format!("data:image/png;base64,{}0999", "A".repeat(20_000));
    assert!(matches!(
        loader.load_blocking(newest),
        Err(Error::FailedBefore { .. })
    ));
}

/// A loader whose only worker is held by a request the test releases, with `max_pending`.
fn held_loader(server: &Server, gate: &Gate, max_pending: usize) -> ImageLoader {
    server.route("/hold.png", Route::ok(png(2, 2, 1)).hold(gate));
    let loader = ImageLoader::new(Config {
        max_pending,
        ..config(1)
    })
    .unwrap();
    // Its own result (an image, or Shutdown if the test drops the loader first) is not the
    // test's concern.
    loader.load(server.url("/hold.png"), |_| {});
    gate.wait_arrivals(1);
    loader
}

#[test]
fn pending_loads_past_the_bound_are_answered_at_once_and_every_closure_runs_once() {
    let _serial = crate::serial();
    let server = Server::start();
    for i in 0..1200 {
        server.route(&format!("/{i}.png"), Route::ok(png(3, 3, i)));
    }
    let gate = Gate::new();
    let loader = held_loader(&server, &gate, 1000);
    let calls = Arc::new(Mutex::new(vec![0u32; 1500]));
    let (refused, loaded) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tokens = Vec::new();
    // 1,200 new downloads and 300 callers joining the first ten of them; the held load is
    // the first pending one.
    for n in 0..1500usize {
        let url = if n < 1200 { n } else { n % 10 };
        let (calls, refused, loaded) = (calls.clone(), refused.clone(), loaded.clone());
        let here = std::thread::current().id();
        tokens.push(
            loader.load(server.url(&format!("/{url}.png")), move |result| {
                calls.lock().unwrap()[n] += 1;
                match &result {
                    // Answered on the caller's own thread, before `load` returned.
                    Err(Error::TooManyPending { limit: 1000, url })
                        if std::thread::current().id() == here && url.ends_with(".png") =>
                    {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(image) if image.width() == 3 => {
                        loaded.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {}
                }
            }),
        );
        assert!(loader.pending() <= 1000);
    }
    assert_eq!(loader.pending(), 1000);
    // 999 room after the held load: loads 0..999 took it, every later one was refused,
    // joins included (they hold memory too).
    assert_eq!(refused.load(Ordering::SeqCst), 501);
    let answered: u32 = calls.lock().unwrap().iter().sum();
    assert_eq!(answered, 501);
    // Not remembered as failed: once there is room, the same URL loads.
    gate.open();
    wait_until("every pending load to finish", || loader.pending() == 0);
    let calls = calls.lock().unwrap().clone();
    assert!(calls.iter().all(|&c| c == 1), "every closure exactly once");
    assert_eq!(loaded.load(Ordering::SeqCst), 999);
    assert_eq!(loader.stats().callback_panics, 0);
    assert_eq!(loader.failed_len(), 0);
    assert!(loader.load_blocking(server.url("/1100.png")).is_ok());
    assert_eq!(server.hits("/1100.png"), 1);
    drop(tokens);
}

#[test]
fn a_flood_of_pending_loads_holds_what_the_bound_allows() {
    let _serial = crate::serial();
    const BOUND: usize = 20_000;
    const FLOOD: usize = 60_000;
    let server = Server::start();
    let gate = Gate::new();
    let loader = held_loader(&server, &gate, BOUND);
    let done = Arc::new(AtomicUsize::new(0));
    let mut tokens = Vec::with_capacity(FLOOD);
    let base = server.url("/p");
    let kept = kept_by(|| {
        for i in 0..FLOOD {
            let done = done.clone();
            tokens.push(
                loader.load(Request::new(format!("{base}/{i}.png")), move |_| {
                    done.fetch_add(1, Ordering::SeqCst);
                }),
            );
        }
    });
    let tokens_bytes = tokens.capacity() * std::mem::size_of_val(&tokens[0]);
    let held = kept - tokens_bytes;
    let per_load = held / (BOUND - 1);
    eprintln!(
        "{FLOOD} loads, {} pending: heap held {held} ({per_load} per pending load)",
        loader.pending()
    );
    assert_eq!(loader.pending(), BOUND);
    assert_eq!(done.load(Ordering::SeqCst), FLOOD - (BOUND - 1));
    // A pending load that starts a task of a 35-byte URL holds about 800 bytes; the refused
    // ones hold nothing.
    assert!(per_load < 1200, "{per_load} bytes per pending load");
    gate.open();
    drop(loader);
    assert_eq!(done.load(Ordering::SeqCst), FLOOD);
    drop(tokens);
}
