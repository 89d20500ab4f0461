//! The processing stage: `Request::cover` (exact box, centre crop, through the reduced JPEG
//! paths, within 3/255 of a full decode + Lanczos3 + centre crop), processors (one download
//! and one decode for several chains, results cached apart under every id in order, the same
//! chain run once for concurrent callers, a panicking or failing processor failing only its
//! own callers), and the disk cache keeping the original bytes.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::photo::{self, Jpeg};
use crate::support::*;
use image::{ImageFormat, RgbaImage};
use webimage::{
    Blur, Circle, Config, Error, Grayscale, ImageLoader, LoadedImage, Processor, Request,
    RoundedCorners, Source,
};

/// Largest mean absolute difference per channel (0..255) from the cover reference.
const MAX_MAD: f64 = 3.0;

/// The reference cover: full decode with `image`, EXIF orientation, Lanczos3 to the size
/// that covers the box (aspect kept, rounded to nearest, at least the box), centre crop.
fn cover_reference(bytes: &[u8], (bw, bh): (u32, u32)) -> RgbaImage {
    let full = photo::upright(bytes);
    let (w, h) = (f64::from(full.width()), f64::from(full.height()));
    let scale = (f64::from(bw) / w).max(f64::from(bh) / h);
    let cw = ((w * scale).round() as u32).max(bw);
    let ch = ((h * scale).round() as u32).max(bh);
    let scaled = image::imageops::resize(&full, cw, ch, image::imageops::FilterType::Lanczos3);
    image::imageops::crop_imm(&scaled, (cw - bw) / 2, (ch - bh) / 2, bw, bh).to_image()
}

/// Starts every request on `loader` at once and waits for all their results, in order.
fn load_all(loader: &ImageLoader, requests: Vec<Request>) -> Vec<Result<LoadedImage, Error>> {
    let results: Log<(usize, Result<LoadedImage, Error>)> = Arc::default();
    let n = requests.len();
    for (i, request) in requests.into_iter().enumerate() {
        let results = results.clone();
        loader.load(request, move |r| results.lock().unwrap().push((i, r)));
    }
    wait_until("every load", || results.lock().unwrap().len() == n);
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn cover_fills_the_box_exactly_for_landscape_portrait_and_rotated_photos() {
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap();
    let boxes = [(256, 256), (300, 100), (100, 300), (37, 53)];
    for name in [
        "Landscape_1.jpg",
        "Landscape_6.jpg",
        "Landscape_8.jpg",
        "Portrait_1.jpg",
        "Portrait_5.jpg",
        "Portrait_8.jpg",
    ] {
        let path = corpus(&format!("exif/{name}"));
        let bytes = std::fs::read(&path).unwrap();
        let url = file_url(&path);
        for size in boxes {
            let before = loader.stats();
            let image = loader
                .load_blocking(Request::new(url.as_str()).cover(size.0, size.1))
                .unwrap();
            assert_eq!(image.image().dimensions(), size, "{name} in {size:?}");
            let mad = photo::mad(image.image(), &cover_reference(&bytes, size));
            assert!(mad <= MAX_MAD, "{name} in {size:?}: MAD {mad:.2}");
            let after = loader.stats();
            // Reduced-size decodes only: never the full-size path.
            assert_eq!(
                after.thumbnails_full_decode, before.thumbnails_full_decode,
                "{name} in {size:?} took the full-size path"
            );
            assert_eq!(
                after.thumbnails_dct_scaled - before.thumbnails_dct_scaled + after.thumbnails_exif
                    - before.thumbnails_exif,
                1,
                "{name} in {size:?}"
            );
        }
    }
}

#[test]
fn cover_of_a_12_megapixel_photo_takes_the_reduced_paths() {
    let server = Server::start();
    let picture = photo::photo(4000, 3000, 3);
    let baseline = photo::jpeg(&picture, Jpeg::BASELINE, None);
    let progressive = photo::jpeg(&picture, Jpeg::PROGRESSIVE, None);
    drop(picture);
    let loader = ImageLoader::new(config(2)).unwrap();
    for (path, bytes, dc_only) in [("/b.jpg", baseline, false), ("/p.jpg", progressive, true)] {
        server.route(path, Route::ok(bytes.clone()));
        let before = loader.stats();
        let cover = loader
            .load_blocking(Request::new(server.url(path)).cover(256, 256))
            .unwrap();
        assert_eq!(cover.image().dimensions(), (256, 256));
        let mad = photo::mad(cover.image(), &cover_reference(&bytes, (256, 256)));
        assert!(mad <= MAX_MAD, "{path}: MAD {mad:.2}");
        let after = loader.stats();
        let ran = if dc_only {
            after.thumbnails_dc_only - before.thumbnails_dc_only
        } else {
            after.thumbnails_dct_scaled - before.thumbnails_dct_scaled
        };
        assert_eq!(ran, 1, "{path}: {after:?}");
        assert_eq!(after.thumbnails_full_decode, 0);
        // A thumbnail of the same box is another entry, still "fit inside".
        let thumb = loader
            .load_blocking(Request::new(server.url(path)).thumbnail(256, 256))
            .unwrap();
        assert_eq!(thumb.image().dimensions(), (256, 192));
    }
}

#[test]
fn cover_of_other_formats_and_small_images() {
    let server = Server::start();
    let loader = ImageLoader::new(config(2)).unwrap();
    // PNG: full decode, then the centre crop and resize.
    let png_bytes = encode(&photo_rgba(640, 480), ImageFormat::Png);
    server.route("/a.png", Route::ok(png_bytes.clone()));
    let cover = loader
        .load_blocking(Request::new(server.url("/a.png")).cover(120, 200))
        .unwrap();
    assert_eq!(cover.image().dimensions(), (120, 200));
    let mad = photo::mad(cover.image(), &cover_reference(&png_bytes, (120, 200)));
    assert!(mad <= MAX_MAD, "PNG: MAD {mad:.2}");
    // Smaller than the box: scaled up to fill it (a JPEG too: no reduced path applies).
    for (path, bytes) in [
        ("/small.png", png(40, 30, 2)),
        (
            "/small.jpg",
            photo::jpeg(&photo::photo(40, 30, 2), Jpeg::BASELINE, None),
        ),
    ] {
        server.route(path, Route::ok(bytes.clone()));
        let cover = loader
            .load_blocking(Request::new(server.url(path)).cover(100, 100))
            .unwrap();
        assert_eq!(cover.image().dimensions(), (100, 100), "{path}");
        let mad = photo::mad(cover.image(), &cover_reference(&bytes, (100, 100)));
        assert!(mad <= MAX_MAD, "{path}: MAD {mad:.2}");
    }
    // A zero side is the caller's bug.
    let err = loader
        .load_blocking(Request::new(server.url("/a.png")).cover(0, 10))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    // The last of thumbnail and cover wins.
    let fit = loader
        .load_blocking(
            Request::new(server.url("/a.png"))
                .cover(50, 50)
                .thumbnail(64, 64),
        )
        .unwrap();
    assert_eq!(fit.image().dimensions(), (64, 48));
}

fn photo_rgba(w: u32, h: u32) -> RgbaImage {
    image::DynamicImage::ImageRgb8(photo::photo(w, h, 9)).into_rgba8()
}

#[test]
fn two_processors_share_one_download_and_one_decode() {
    let server = Server::start();
    let gate = Gate::new();
    let bytes = photo::jpeg(&photo::photo(800, 600, 4), Jpeg::BASELINE, None);
    server.route("/p.jpg", Route::ok(bytes).hold(&gate));
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/p.jpg");
    let base = || Request::new(url.as_str()).cover(96, 96);
    let requests = vec![base().process(Blur(3.0)), base().process(Grayscale), base()];
    let results = std::thread::scope(|s| {
        let h = s.spawn(|| load_all(&loader, requests));
        gate.wait_arrivals(1);
        gate.open();
        h.join().unwrap()
    });
    let [blurred, grey, plain] = [&results[0], &results[1], &results[2]].map(|r| {
        let image = r.as_ref().unwrap();
        assert_eq!(image.source(), Source::Network);
        assert_eq!(image.image().dimensions(), (96, 96));
        image.clone()
    });
    assert_eq!(server.hits("/p.jpg"), 1);
    let stats = loader.stats();
    assert_eq!(stats.network_requests, 1);
    assert_eq!(stats.decodes, 1, "decode once, process twice");
    assert_eq!(stats.processed, 2);
    // Each processed image is its processor applied to the one decoded image.
    let expect = Grayscale.process((**plain.image()).clone()).unwrap();
    assert_eq!(**grey.image(), expect);
    let expect = Blur(3.0).process((**plain.image()).clone()).unwrap();
    assert_eq!(**blurred.image(), expect);
    assert_ne!(blurred.image(), grey.image());

    // The memory cache holds all three apart, each under its own key.
    assert_eq!(loader.memory_cache_len(), 3);
    for (request, loaded) in [
        (base().process(Blur(3.0)), &blurred),
        (base().process(Grayscale), &grey),
        (base(), &plain),
    ] {
        let hit = loader.load_blocking(request).unwrap();
        assert_eq!(hit.source(), Source::Memory);
        assert!(Arc::ptr_eq(hit.image(), loaded.image()));
    }
    // A chain is keyed by every id in order: another order is another entry.
    let both = loader
        .load_blocking(base().process(Grayscale).process(Blur(3.0)))
        .unwrap();
    let other = loader
        .load_blocking(base().process(Blur(3.0)).process(Grayscale))
        .unwrap();
    assert_ne!(both.image(), other.image());
    assert_eq!(loader.memory_cache_len(), 5);
    assert!(
        loader
            .cached(base().process(Grayscale).process(Blur(3.0)))
            .is_some_and(|c| Arc::ptr_eq(c.image(), both.image()))
    );
    assert!(loader.cached(base().process(Circle)).is_none());
}

/// Counts its runs; the output is the input with one pixel marked.
struct Counted(Arc<AtomicUsize>);

impl Processor for Counted {
    fn id(&self) -> Cow<'_, str> {
        "test.counted".into()
    }
    fn process(&self, mut image: RgbaImage) -> Result<RgbaImage, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        image.put_pixel(0, 0, image::Rgba([1, 2, 3, 4]));
        Ok(image)
    }
}

#[test]
fn the_same_processors_share_one_run() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/s.png", Route::ok(png(300, 200, 5)).hold(&gate));
    let loader = ImageLoader::new(config(3)).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let url = server.url("/s.png");
    let requests: Vec<Request> = (0..20)
        .map(|_| {
            Request::new(url.as_str())
                .thumbnail(100, 100)
                .process(Counted(runs.clone()))
                .process(RoundedCorners(10.0))
        })
        .collect();
    let results = std::thread::scope(|s| {
        let h = s.spawn(|| load_all(&loader, requests));
        gate.wait_arrivals(1);
        gate.open();
        h.join().unwrap()
    });
    let first = results[0].as_ref().unwrap().image().clone();
    assert_eq!(first.dimensions(), (100, 67));
    assert_eq!(first.get_pixel(0, 0).0[3], 0, "rounded corner");
    assert_eq!(first.get_pixel(50, 30).0[3], 255);
    for r in &results {
        assert!(Arc::ptr_eq(r.as_ref().unwrap().image(), &first));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let stats = loader.stats();
    assert_eq!((stats.processed, stats.decodes), (1, 1));
    assert_eq!(stats.coalesced, 19);
    // Later: a memory hit, no run.
    let hit = loader
        .load_blocking(
            Request::new(url.as_str())
                .thumbnail(100, 100)
                .process(Counted(runs.clone()))
                .process(RoundedCorners(10.0)),
        )
        .unwrap();
    assert_eq!(hit.source(), Source::Memory);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

struct Panics;

impl Processor for Panics {
    fn id(&self) -> Cow<'_, str> {
        "test.panics".into()
    }
    fn process(&self, _: RgbaImage) -> Result<RgbaImage, Error> {
        panic!("a processor bug")
    }
}

struct Refuses;

impl Processor for Refuses {
    fn id(&self) -> Cow<'_, str> {
        "test.refuses".into()
    }
    fn process(&self, _: RgbaImage) -> Result<RgbaImage, Error> {
        Err(Error::Process {
            url: String::new(),
            processor: "test.refuses".into(),
            message: "not today".into(),
        })
    }
}

#[test]
fn a_failing_processor_fails_only_its_own_callers() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/f.png", Route::ok(png(64, 64, 6)).hold(&gate));
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/f.png");
    let requests = vec![
        Request::new(url.as_str()).process(Panics),
        Request::new(url.as_str()).process(Grayscale),
        Request::new(url.as_str()),
        Request::new(url.as_str()).process(Refuses),
        Request::new(url.as_str())
            .process(Grayscale)
            .process(Panics),
    ];
    let results = std::thread::scope(|s| {
        let h = s.spawn(|| load_all(&loader, requests));
        gate.wait_arrivals(1);
        gate.open();
        h.join().unwrap()
    });
    for i in [0, 4] {
        match &results[i] {
            Err(Error::Process {
                url: u, processor, ..
            }) => {
                assert_eq!(u, &url, "the caller's URL is in the error");
                assert_eq!(processor, "test.panics");
            }
            other => panic!("{i}: {other:?}"),
        }
    }
    assert!(matches!(
        &results[3],
        Err(Error::Process { message, url: u, .. }) if message == "not today" && u == &url
    ));
    assert!(results[1].is_ok() && results[2].is_ok());
    let stats = loader.stats();
    assert_eq!(stats.processor_panics, 2);
    assert_eq!(stats.decoder_panics, 0);
    assert_eq!((stats.decodes, stats.network_requests), (1, 1));
    assert_eq!(stats.failures, 3);
    // Not remembered: the URL is fine, the processor was not.
    assert_eq!(loader.failed_len(), 0);
    let again = loader
        .load_blocking(Request::new(url.as_str()).process(Panics))
        .unwrap_err();
    assert!(matches!(again, Error::Process { .. }), "{again:?}");
    assert!(loader.load_blocking(url.as_str()).is_ok());
    // Nothing was cached for the failing chains.
    assert_eq!(loader.memory_cache_len(), 2);
}

#[test]
fn the_disk_cache_keeps_the_original_bytes() {
    let dir = TempDir::new("processing-disk");
    let server = Server::start();
    let body = photo::jpeg(&photo::photo(640, 480, 8), Jpeg::PROGRESSIVE, None);
    server.route("/d.jpg", Route::ok(body.clone()));
    let url = server.url("/d.jpg");
    {
        let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
        let avatar = loader
            .load_blocking(Request::new(url.as_str()).cover(64, 64).process(Circle))
            .unwrap();
        assert_eq!(avatar.image().dimensions(), (64, 64));
        assert_eq!(avatar.image().get_pixel(0, 0).0[3], 0);
        let disk = loader.disk_cache().unwrap();
        disk.flush();
        assert_eq!(disk.get(url.as_str()).unwrap().as_deref(), Some(&body[..]));
        assert_eq!(disk.len().unwrap(), 1);
    }
    // Another loader on the same directory decodes the original from disk.
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let full = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(full.source(), Source::Disk);
    assert_eq!(full.image().dimensions(), (640, 480));
    assert_eq!(server.hits("/d.jpg"), 1);
}

#[test]
fn processing_runs_inside_the_decode_budget() {
    // A 1000x1000 PNG: its decode reserves about 4.6 MB, a processor run three times its
    // 4 MB, 12 MB. With a 10 MB budget the decode fits and the run does not.
    let server = Server::start();
    server.route("/big.png", Route::ok(png(1000, 1000, 1)));
    let loader = ImageLoader::new(Config {
        decode_memory_bytes: 10_000_000,
        ..config(2)
    })
    .unwrap();
    let url = server.url("/big.png");
    let runs = Arc::new(AtomicUsize::new(0));
    let results = load_all(
        &loader,
        vec![
            Request::new(url.as_str()).process(Counted(runs.clone())),
            Request::new(url.as_str()),
        ],
    );
    match &results[0] {
        Err(Error::TooLarge {
            limit: webimage::Limit::DecodeMemory { needed, budget },
            ..
        }) => {
            assert_eq!(*needed, 12_000_000);
            assert_eq!(*budget, 10_000_000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0, "refused before running");
    assert!(results[1].is_ok(), "the decode itself fits");
}
