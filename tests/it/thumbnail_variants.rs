//! Thumbnails and scale-down caps are separate cache entries: cached under (key, size), never
//! under the full-size key; concurrent callers of one URL asking for different sizes share one
//! download and each size is decoded once; same-size callers share one `Arc`.

use std::sync::{Arc, Mutex};

use crate::support::photo::{self, Jpeg};
use crate::support::*;
use webimage::{Config, ImageLoader, LoadedImage, Request, Source};

fn photo_jpeg(w: u32, h: u32) -> Vec<u8> {
    photo::jpeg(&photo::photo(w, h, 1), Jpeg::BASELINE, None)
}

#[test]
fn thumbnail_and_full_size_are_separate_cache_entries() {
    let server = Server::start();
    server.route("/p.jpg", Route::ok(photo_jpeg(640, 480)));
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/p.jpg");

    let thumb = loader
        .load_blocking(Request::new(url.as_str()).thumbnail(100, 100))
        .unwrap();
    assert_eq!((thumb.width(), thumb.height()), (100, 75));
    assert!(
        loader.cached(url.as_str()).is_none(),
        "a thumbnail is never cached under the full-size key"
    );

    // A full-size load after the thumbnail: full size, a new decode, and (the task having
    // finished, bytes are not kept) a new download.
    let full = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!((full.width(), full.height()), (640, 480));
    assert_eq!(full.source(), Source::Network);
    let stats = loader.stats();
    assert_eq!((stats.decodes, stats.network_requests), (2, 2));

    // Both are now memory hits, each its own size.
    let hit = loader
        .load_blocking(Request::new(url.as_str()).thumbnail(100, 100))
        .unwrap();
    assert_eq!(hit.source(), Source::Memory);
    assert!(Arc::ptr_eq(hit.image(), thumb.image()));
    let hit = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(hit.source(), Source::Memory);
    assert!(Arc::ptr_eq(hit.image(), full.image()));
    let cached = loader
        .cached(Request::new(url.as_str()).thumbnail(100, 100))
        .unwrap();
    assert!(Arc::ptr_eq(cached.image(), thumb.image()));

    // Another size is another entry: one more decode.
    let other = loader
        .load_blocking(Request::new(url.as_str()).thumbnail(50, 200))
        .unwrap();
    assert_eq!((other.width(), other.height()), (50, 38));
    assert_eq!(loader.stats().decodes, 3);
    assert_eq!(loader.memory_cache_len(), 3);
    assert_eq!(loader.stats().memory_hits, 2);
}

#[test]
fn concurrent_sizes_of_one_url_share_one_download_and_decode_each_size_once() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/c.jpg", Route::ok(photo_jpeg(800, 600)).hold(&gate));
    let loader = ImageLoader::new(config(3)).unwrap();
    let url = server.url("/c.jpg");
    let results: Arc<Mutex<Vec<(&'static str, LoadedImage)>>> = Arc::default();
    let requests: [(&'static str, Request); 5] = [
        ("full", Request::new(url.as_str())),
        ("64", Request::new(url.as_str()).thumbnail(64, 64)),
        ("128", Request::new(url.as_str()).thumbnail(128, 128)),
        ("300", Request::new(url.as_str()).thumbnail(300, 300)),
        ("64", Request::new(url.as_str()).thumbnail(64, 64)),
    ];
    for (name, request) in requests {
        let results = results.clone();
        loader.load(request, move |r| {
            results.lock().unwrap().push((name, r.unwrap()))
        });
    }
    gate.wait_arrivals(1);
    gate.open();
    wait_until("five callbacks", || results.lock().unwrap().len() == 5);

    assert_eq!(server.hits("/c.jpg"), 1, "one download for every size");
    let stats = loader.stats();
    assert_eq!(stats.network_requests, 1);
    assert_eq!(stats.decodes, 4, "full + three distinct sizes");
    assert_eq!(stats.coalesced, 4);
    let results = results.lock().unwrap();
    let size = |name: &str| -> Vec<(u32, u32)> {
        results
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, i)| (i.width(), i.height()))
            .collect()
    };
    assert_eq!(size("full"), vec![(800, 600)]);
    assert_eq!(size("64"), vec![(64, 48), (64, 48)]);
    assert_eq!(size("128"), vec![(128, 96)]);
    assert_eq!(size("300"), vec![(300, 225)]);
    let same: Vec<_> = results.iter().filter(|(n, _)| *n == "64").collect();
    assert!(
        Arc::ptr_eq(same[0].1.image(), same[1].1.image()),
        "same size, same pixels"
    );
    // Each size went into the cache under its own entry.
    assert_eq!(loader.memory_cache_len(), 4);
}

#[test]
fn a_full_size_caller_arriving_while_a_thumbnail_decodes_needs_no_second_download() {
    // The first caller's completion waits at a gate on the worker, after its thumbnail and
    // before the next variant: the task is held between download and its last decode.
    let server = Server::start();
    server.route("/big.png", Route::ok(noisy_png(600, 400, 4)));
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 1 << 30,
        ..config(1)
    })
    .unwrap();
    let url = server.url("/big.png");
    let gate = Gate::new();
    let g = gate.clone();
    loader.load(Request::new(url.as_str()).thumbnail(64, 64), move |r| {
        assert_eq!(r.unwrap().width(), 64);
        g.pass();
    });
    let small: Arc<Mutex<Option<LoadedImage>>> = Arc::default();
    let s = small.clone();
    loader.load(Request::new(url.as_str()).thumbnail(32, 32), move |r| {
        *s.lock().unwrap() = Some(r.unwrap())
    });
    gate.wait_arrivals(1);
    let full: Arc<Mutex<Option<LoadedImage>>> = Arc::default();
    let f = full.clone();
    loader.load(url.as_str(), move |r| *f.lock().unwrap() = Some(r.unwrap()));
    gate.open();
    wait_until("both", || {
        small.lock().unwrap().is_some() && full.lock().unwrap().is_some()
    });
    let full = full.lock().unwrap().take().unwrap();
    assert_eq!((full.width(), full.height()), (600, 400));
    assert_eq!(small.lock().unwrap().as_ref().unwrap().width(), 32);
    assert_eq!(server.hits("/big.png"), 1, "served from the same bytes");
    assert_eq!(loader.stats().decodes, 3);
    assert_eq!(loader.stats().coalesced, 2);
}

#[test]
fn the_scale_down_cap_shrinks_full_size_loads_and_each_cap_is_its_own_entry() {
    let server = Server::start();
    server.route("/big.jpg", Route::ok(photo_jpeg(1600, 1200)));
    server.route("/small.png", Route::ok(png(300, 200, 1)));
    let loader = ImageLoader::new(Config {
        scale_down_pixels: Some(300_000),
        ..config(2)
    })
    .unwrap();
    let url = server.url("/big.jpg");

    // Over the cap: scaled down, aspect kept, within the cap; DCT-scaled (1/2 is enough).
    let capped = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!((capped.width(), capped.height()), (632, 474));
    assert!(capped.width() * capped.height() <= 300_000);
    assert_eq!(loader.stats().thumbnails_dct_scaled, 1);

    // A request's own cap is another entry; so is "no cap".
    let other = loader
        .load_blocking(Request::new(url.as_str()).scale_down_pixels(Some(100_000)))
        .unwrap();
    assert_eq!((other.width(), other.height()), (365, 273));
    let full = loader
        .load_blocking(Request::new(url.as_str()).scale_down_pixels(None))
        .unwrap();
    assert_eq!((full.width(), full.height()), (1600, 1200));
    assert_eq!(loader.stats().decodes, 3);
    assert_eq!(loader.memory_cache_len(), 3);

    // The configured cap again: a memory hit on its own entry.
    let hit = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(hit.source(), Source::Memory);
    assert!(Arc::ptr_eq(hit.image(), capped.image()));

    // Under the cap: its own size.
    let small = loader.load_blocking(server.url("/small.png")).unwrap();
    assert_eq!((small.width(), small.height()), (300, 200));
}
