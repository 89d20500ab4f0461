//! `webimage demo`: the embedded default. Everything runs against a server in this process on
//! 127.0.0.1, so it works offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webimage::{Config, DiskCacheConfig, Error, ImageLoader, Priority, Request, Source};

use crate::serve::{ImageServer, jpeg, picture};

/// Options of `webimage demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of distinct generated images.
    #[arg(long, default_value_t = 24)]
    images: u32,
    /// How many callers ask for each image at the same time.
    #[arg(long, default_value_t = 3)]
    duplicates: u32,
    /// Worker threads of the loader.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

pub fn run(args: Args) -> Result<(), String> {
    let started = Instant::now();
    let mut images = HashMap::new();
    for i in 0..args.images {
        images.insert(format!("/img/{i}.jpg"), jpeg(&picture(800, 600, i)));
    }
    for i in 0..4 {
        images.insert(format!("/slow/{i}.jpg"), jpeg(&picture(400, 300, 100 + i)));
    }
    let server = ImageServer::start(images, Duration::from_millis(400))?;
    println!(
        "webimage demo: serving {} generated images on {}",
        args.images,
        server.url("/")
    );

    // A throwaway disk cache, so the demo never touches the user's real one.
    let cache_dir = std::env::temp_dir().join(format!("webimage-demo-{}", std::process::id()));
    let config = Config {
        max_workers: args.workers,
        disk_cache: Some(DiskCacheConfig::at(&cache_dir)),
        ..Default::default()
    };
    let loader = ImageLoader::new(config.clone()).map_err(|e| e.to_string())?;
    let outcomes: Arc<Mutex<Vec<Result<Source, Error>>>> = Arc::default();
    let record = |outcomes: &Arc<Mutex<Vec<Result<Source, Error>>>>| {
        let outcomes = outcomes.clone();
        move |r: Result<webimage::LoadedImage, Error>| {
            outcomes.lock().unwrap().push(r.map(|img| img.source()))
        }
    };

    // 1. Every image asked for by several callers at once: one download each.
    let asked = args.images * args.duplicates;
    for _ in 0..args.duplicates {
        for i in 0..args.images {
            loader.load(server.url(&format!("/img/{i}.jpg")), record(&outcomes));
        }
    }
    // 2. Slow images: the visible one at high priority, the rest cancelled while queued.
    let mut cancelled = 0;
    for i in 0..4 {
        let priority = if i == 0 {
            Priority::High
        } else {
            Priority::Low
        };
        let token = loader.load(
            Request::new(server.url(&format!("/slow/{i}.jpg"))).priority(priority),
            record(&outcomes),
        );
        if i > 0 && token.cancel() {
            cancelled += 1;
        }
    }
    wait_for(&outcomes, (asked + 4) as usize);
    let phase = loader.stats();
    println!(
        "  {asked} loads of {} images ({} callers each) + 4 slow ones: {} HTTP requests, \
         {} callers joined a download already under way, {} decodes",
        args.images, args.duplicates, phase.network_requests, phase.coalesced, phase.decodes,
    );
    println!(
        "  3 slow low-priority loads cancelled while queued: {cancelled} closures got Cancelled, none of them was requested"
    );

    // 3. Everything again: memory hits, answered on this thread.
    let before = loader.stats();
    for i in 0..args.images {
        loader.load(server.url(&format!("/img/{i}.jpg")), record(&outcomes));
    }
    let hits = loader.stats().memory_hits - before.memory_hits;
    println!(
        "  {} loads again: {hits} memory hits, {} new requests",
        args.images,
        loader.stats().network_requests - before.network_requests
    );

    // 4. A missing image, twice: the second fails at once without a request.
    let missing = server.url("/img/missing.jpg");
    let first = loader.load_blocking(missing.as_str()).err();
    let second = loader.load_blocking(missing.as_str()).err();
    println!(
        "  missing image: {}; then {}",
        first.map_or("loaded?".into(), |e| e.to_string()),
        second.map_or("loaded?".into(), |e| e.to_string())
    );

    // 5. A second run of the app: a new loader on the same disk cache.
    if let Some(disk) = loader.disk_cache() {
        disk.flush();
    }
    let stats = loader.stats();
    let (cached_images, cached_bytes) = (loader.memory_cache_len(), loader.memory_cache_bytes());
    drop(loader);
    let second = ImageLoader::new(config).map_err(|e| e.to_string())?;
    let mut from_disk = 0;
    for i in 0..args.images {
        let image = second
            .load_blocking(server.url(&format!("/img/{i}.jpg")))
            .map_err(|e| e.to_string())?;
        from_disk += (image.source() == Source::Disk) as u32;
    }
    println!(
        "  a second loader on the same disk cache: {from_disk} of {} images from disk, {} requests",
        args.images,
        second.stats().network_requests
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&cache_dir);

    let loads = stats.loads;
    println!("\nsummary");
    println!("  loads asked           {loads}");
    println!(
        "  HTTP requests made    {} (server saw {})",
        stats.network_requests,
        server.requests()
    );
    println!("  coalesced callers     {}", stats.coalesced);
    println!("  memory-cache hits     {}", stats.memory_hits);
    println!("  disk writes           {}", stats.disk_writes);
    println!("  decodes               {}", stats.decodes);
    println!("  cancelled             {}", stats.cancelled);
    println!(
        "  failures              {} ({} refused from the failed-URL list)",
        stats.failures, stats.failed_before
    );
    println!("  bytes downloaded      {}", stats.bytes_downloaded);
    println!(
        "  memory cache          {} images, {:.1} MiB",
        cached_images,
        cached_bytes as f64 / (1 << 20) as f64
    );
    if let Some(rss) = crate::peak_rss() {
        println!(
            "  peak RSS              {:.1} MiB",
            rss as f64 / (1 << 20) as f64
        );
    }
    println!("  elapsed               {:.2?}", started.elapsed());
    let saved = loads.saturating_sub(stats.network_requests);
    println!("\n{saved} of {loads} loads needed no request of their own.");
    Ok(())
}

fn wait_for(outcomes: &Mutex<Vec<Result<Source, Error>>>, n: usize) {
    while outcomes.lock().unwrap().len() < n {
        std::thread::sleep(Duration::from_millis(5));
    }
}
