//! `webimage demo`: the embedded default. Everything runs against a server in this process on
//! 127.0.0.1, so it works offline, and against a throwaway cache directory.
//!
//! Owns: the demo's script and its report. Must not touch: the library's internals (public
//! API only) or the server's routes (`serve.rs`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use image::RgbaImage;
use webimage::{
    Config, DiskCacheConfig, Error, ImageLoader, LoadedImage, Priority, Recompress, Request,
    Source, UploadConfig, UploadItem, UploadSource, Uploader,
};

use crate::serve::{DRIP_RATE, ImageServer, jpeg, picture, progressive_jpeg};

/// Options of `webimage demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of distinct generated photos.
    #[arg(long, default_value_t = 24)]
    images: u32,
    /// How many callers ask for each image at the same time.
    #[arg(long, default_value_t = 3)]
    duplicates: u32,
    /// Worker threads of the loader.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Where to write the contact sheet of the thumbnails.
    #[arg(long, value_name = "PNG")]
    sheet: Option<PathBuf>,
}

type Results = Arc<Mutex<Vec<Result<LoadedImage, Error>>>>;

fn wait_for(results: &Results, n: usize) {
    while results.lock().unwrap().len() < n {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn record(results: &Results) -> impl FnOnce(Result<LoadedImage, Error>) + Send + 'static {
    let results = results.clone();
    move |r| results.lock().unwrap().push(r)
}

/// A grid of thumbnails, 160x120 cells on a dark background.
fn contact_sheet(thumbs: &[LoadedImage]) -> RgbaImage {
    let (cell_w, cell_h, cols) = (168, 128, 6u32);
    let rows = (thumbs.len() as u32).div_ceil(cols).max(1);
    let mut sheet =
        RgbaImage::from_pixel(cols * cell_w, rows * cell_h, image::Rgba([24, 24, 28, 255]));
    for (i, t) in thumbs.iter().enumerate() {
        let (col, row) = (i as u32 % cols, i as u32 / cols);
        let x = col * cell_w + (cell_w - t.width()) / 2;
        let y = row * cell_h + (cell_h - t.height()) / 2;
        image::imageops::overlay(&mut sheet, &**t.image(), x as i64, y as i64);
    }
    sheet
}

/// A 48x48 logo: rendered at each size asked for, never scaled from a small raster.
#[cfg(feature = "svg")]
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48">
<rect x="2" y="2" width="44" height="44" rx="9" fill="#1a73e8"/>
<path d="M10 16l6 18 8-14 8 14 6-18" fill="none" stroke="#fff" stroke-width="4"
 stroke-linejoin="round" stroke-linecap="round"/></svg>"##;

/// A 480x320 generated photo encoded by `cjxl -d 1.5` (2.7 KB).
#[cfg(feature = "jxl")]
const DEMO_JXL: &[u8] = include_bytes!("demo.jxl");

/// SVG at two sizes and a JPEG XL photo, when the tool is built with `svg` / `jxl`.
#[cfg(any(feature = "svg", feature = "jxl"))]
fn other_formats(loader: &ImageLoader, server: &ImageServer) -> crate::Result<()> {
    #[cfg(feature = "svg")]
    for side in [32, 512] {
        let started = Instant::now();
        let image = loader
            .load_blocking(Request::new(server.url("/logo.svg")).thumbnail(side, side))
            .map_err(|e| e.to_string())?;
        println!(
            "  SVG logo asked at {side} px: rendered at {}x{} in {:.1?} (vector, so never blurry)",
            image.width(),
            image.height(),
            started.elapsed()
        );
    }
    #[cfg(feature = "jxl")]
    {
        let started = Instant::now();
        let image = loader
            .load_blocking(Request::new(server.url("/photo.jxl")).thumbnail(160, 120))
            .map_err(|e| e.to_string())?;
        println!(
            "  JPEG XL photo ({} bytes) as a thumbnail: {}x{} in {:.1?}",
            DEMO_JXL.len(),
            image.width(),
            image.height(),
            started.elapsed()
        );
    }
    Ok(())
}

pub fn run(args: Args) -> crate::Result<bool> {
    let started = Instant::now();
    let n = args.images.max(1);
    let mut files = HashMap::new();
    let mut photos = Vec::new();
    for i in 0..n {
        let bytes = jpeg(&picture(1200, 900, i));
        photos.push(bytes.clone());
        files.insert(format!("/img/{i}.jpg"), bytes);
    }
    for i in 0..4 {
        files.insert(format!("/slow/{i}.jpg"), jpeg(&picture(400, 300, 100 + i)));
    }
    #[cfg(feature = "svg")]
    files.insert("/logo.svg".into(), LOGO.as_bytes().to_vec());
    #[cfg(feature = "jxl")]
    files.insert("/photo.jxl".into(), DEMO_JXL.to_vec());
    let drip_sizes: Vec<usize> = (0..2)
        .map(|i| {
            let bytes = progressive_jpeg(&picture(1600, 1200, 200 + i));
            let len = bytes.len();
            files.insert(format!("/drip/{i}.jpg"), bytes);
            len
        })
        .collect();
    let server = ImageServer::start(files, Duration::from_millis(400))?;
    println!(
        "webimage demo: serving {n} generated 1200x900 photos on {}",
        server.url("/")
    );

    let cache_dir = std::env::temp_dir().join(format!("webimage-demo-{}", std::process::id()));
    let config = Config {
        max_workers: args.workers,
        disk_cache: Some(DiskCacheConfig::at(&cache_dir)),
        ..Default::default()
    };
    let loader = ImageLoader::new(config.clone()).map_err(|e| e.to_string())?;
    let url = |i: u32| server.url(&format!("/img/{i}.jpg"));

    // 1. Every photo asked for as a thumbnail by several callers at once, and one at full size.
    let thumbs: Results = Arc::default();
    for _ in 0..args.duplicates {
        for i in 0..n {
            loader.load(Request::new(url(i)).thumbnail(160, 120), record(&thumbs));
        }
    }
    let full: Results = Arc::default();
    loader.load(url(0), record(&full));
    wait_for(&thumbs, (n * args.duplicates) as usize);
    wait_for(&full, 1);
    let s = loader.stats();
    println!(
        "  {} thumbnail loads + 1 full-size load of {n} photos: {} HTTP requests, {} callers joined \
         a download under way, {} decodes ({} scaled in the DCT domain)",
        n * args.duplicates,
        s.network_requests,
        s.coalesced,
        s.decodes,
        s.thumbnails_dct_scaled + s.thumbnails_dc_only
    );

    // 2. Slow images: the visible one at high priority, the rest cancelled right away.
    let slow: Results = Arc::default();
    let before = loader.stats().network_requests;
    let mut cancelled = 0;
    for i in 0..4 {
        let priority = if i == 0 {
            Priority::High
        } else {
            Priority::Low
        };
        let request = Request::new(server.url(&format!("/slow/{i}.jpg"))).priority(priority);
        let token = loader.load(request, record(&slow));
        if i > 0 && token.cancel() {
            cancelled += 1;
        }
    }
    wait_for(&slow, 4);
    let requested = loader.stats().network_requests - before;
    println!(
        "  4 slow images, 3 cancelled right after being asked for: {cancelled} closures got \
         Cancelled at once; {requested} of the 4 sent a request ({} cancelled before their \
         request went out)",
        4 - requested
    );

    // 3. Everything again: memory hits, answered on this thread before `load` returns.
    let before = loader.stats();
    let again: Results = Arc::default();
    for i in 0..n {
        loader.load(Request::new(url(i)).thumbnail(160, 120), record(&again));
    }
    let hits = loader.stats().memory_hits - before.memory_hits;
    println!(
        "  {n} thumbnails again: {hits} memory hits (delivered before load returned), {} new requests",
        loader.stats().network_requests - before.network_requests
    );

    #[cfg(any(feature = "svg", feature = "jxl"))]
    other_formats(&loader, &server)?;

    // 4. A missing image, twice: the second fails at once without a request.
    let missing = server.url("/img/missing.jpg");
    let first = loader
        .load_blocking(missing.as_str())
        .err()
        .map(|e| e.to_string());
    let second = loader
        .load_blocking(missing.as_str())
        .err()
        .map(|e| e.to_string());
    println!(
        "  missing image: {}; then: {}",
        first.unwrap_or_default(),
        second.unwrap_or_default()
    );

    // 5. Progressive previews over a slow link.
    previews(&loader, &server, &drip_sizes);

    // 6. A second run of the app: a new loader on the same disk cache.
    if let Some(disk) = loader.disk_cache() {
        disk.flush();
    }
    let stats = loader.stats();
    let (cached_images, cached_bytes) = (loader.memory_cache_len(), loader.memory_cache_usage());
    drop(loader);
    let second = ImageLoader::new(config).map_err(|e| e.to_string())?;
    let mut from_disk = 0;
    for i in 0..n {
        let image = second
            .load_blocking(Request::new(url(i)).thumbnail(160, 120))
            .map_err(|e| e.to_string())?;
        from_disk += (image.source() == Source::Disk) as u32;
    }
    println!(
        "  a second loader on the same disk cache: {from_disk} of {n} thumbnails from disk, {} requests",
        second.stats().network_requests
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&cache_dir);

    // 7. Upload a few photos back, recompressed, two at a time.
    let rule = Recompress::default();
    let uploader = Uploader::new(UploadConfig {
        max_concurrent: 2,
        recompress: Some(rule),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let uploads = 6.min(n as usize);
    let original_bytes: usize = photos.iter().take(uploads).map(Vec::len).sum();
    for (i, bytes) in photos.into_iter().take(uploads).enumerate() {
        let source = UploadSource::Bytes {
            name: format!("{i}.jpg"),
            bytes: Arc::from(bytes),
        };
        let item = UploadItem::form(server.url(&format!("/upload/{i}")), "photo", source);
        uploader.enqueue(item, |r| {
            if let Err(e) = r {
                eprintln!("webimage: {e}");
            }
        });
    }
    uploader.wait();
    let (received, received_bytes) = server.uploads();
    let up = uploader.stats();
    println!(
        "  uploaded {} of {uploads} photos, {} recompressed at quality {}: {} of originals became {} on the wire",
        up.succeeded,
        up.recompressed,
        rule.quality,
        crate::human(original_bytes as u64),
        crate::human(received_bytes),
    );

    // 8. The contact sheet.
    let thumbs: Vec<LoadedImage> = again
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| r.clone().ok())
        .collect();
    let sheet_path = args
        .sheet
        .unwrap_or_else(|| std::env::temp_dir().join("webimage-demo-contact-sheet.png"));
    contact_sheet(&thumbs)
        .save(&sheet_path)
        .map_err(|e| format!("cannot write {}: {e}", sheet_path.display()))?;

    println!("\nsummary");
    println!("  loads asked           {}", stats.loads);
    println!(
        "  HTTP requests made    {} (the server saw {} including uploads)",
        stats.network_requests,
        server.requests()
    );
    println!("  coalesced callers     {}", stats.coalesced);
    println!("  memory-cache hits     {}", stats.memory_hits);
    println!("  decodes               {}", stats.decodes);
    println!("  cancelled             {}", stats.cancelled);
    println!(
        "  failures              {} ({} refused from the failed-URL list)",
        stats.failures, stats.failed_before
    );
    println!("  disk writes           {}", stats.disk_writes);
    println!(
        "  bytes downloaded      {}",
        crate::human(stats.bytes_downloaded)
    );
    println!("  uploads received      {received}");
    println!(
        "  memory cache          {cached_images} images, {}",
        crate::human(cached_bytes)
    );
    if let Some(rss) = crate::peak_rss() {
        println!("  peak RSS              {}", crate::human(rss));
    }
    println!("  elapsed               {:.2?}", started.elapsed());
    println!("  contact sheet         {}", sheet_path.display());
    let saved = stats.loads.saturating_sub(stats.network_requests);
    println!(
        "\n{saved} of {} loads needed no request of their own.",
        stats.loads
    );
    Ok(received == uploads)
}

/// Two progressive 1600x1200 photos over a 256 KiB/s link: a full-size load with a preview,
/// and a 1/8 thumbnail that stops its download after the DC scans.
fn previews(loader: &ImageLoader, server: &ImageServer, sizes: &[usize]) {
    let started = Instant::now();
    let first_preview: Arc<Mutex<Option<(Duration, u32, u32)>>> = Arc::default();
    let seen = first_preview.clone();
    let request = Request::new(server.url("/drip/0.jpg")).preview(move |p| {
        let mut seen = seen.lock().unwrap();
        seen.get_or_insert((started.elapsed(), p.width(), p.height()));
    });
    let full = loader.load_blocking(request);
    let full_at = started.elapsed();
    let rate = DRIP_RATE / 1024;
    match (full, *first_preview.lock().unwrap()) {
        (Ok(image), Some((at, w, h))) => println!(
            "  a {} progressive {}x{} photo at {rate} KiB/s: a {w}x{h} preview after {at:.2?}, \
             the full image after {full_at:.2?}",
            crate::human(sizes[0] as u64),
            image.width(),
            image.height(),
        ),
        (Ok(_), None) => println!("  progressive photo: loaded in {full_at:.2?}, no preview"),
        (Err(e), _) => eprintln!("webimage: {e}"),
    }
    let before = loader.stats().bytes_downloaded;
    let started = Instant::now();
    let request = Request::new(server.url("/drip/1.jpg"))
        .thumbnail(200, 150)
        .partial_download(true);
    match loader.load_blocking(request) {
        Ok(thumb) => println!(
            "  a {}x{} thumbnail (1/8) of another, partial_download: {:.2?}, {} of {} read \
             (stopped after the DC scans; the whole file takes {:.2?} at this rate)",
            thumb.width(),
            thumb.height(),
            started.elapsed(),
            crate::human(loader.stats().bytes_downloaded - before),
            crate::human(sizes[1] as u64),
            Duration::from_millis(sizes[1] as u64 * 1000 / DRIP_RATE),
        ),
        Err(e) => eprintln!("webimage: {e}"),
    }
}
