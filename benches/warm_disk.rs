//! What a user sees: loading images from a warm disk cache against loading them over the
//! network (loopback), and a disk-hit load against what an app would do without webimage for
//! a file it already has (`std::fs::read` + `image::load_from_memory`). Memory cache off, so
//! every load reads and decodes.
//!
//! Run: `cargo bench --bench warm_disk`

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use webimage::{CachePolicy, Config, DiskCacheConfig, ImageLoader, Request};

const IMAGES: u32 = 50;

fn jpeg(i: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgba8(support::picture(800, 600, i)).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Memory cache off (every load reads and decodes), disk cache in `dir`.
fn config(workers: usize, dir: &std::path::Path) -> Config {
    Config {
        max_workers: workers,
        memory_cache_bytes: 0,
        disk_cache: Some(DiskCacheConfig {
            min_free_bytes: 0,
            ..DiskCacheConfig::at(dir)
        }),
        ..Config::default()
    }
}

fn load_all(loader: &ImageLoader, urls: &[String], policy: CachePolicy) {
    let done = Arc::new(AtomicUsize::new(0));
    for url in urls {
        let done = done.clone();
        let request = Request::new(url.as_str()).cache_policy(policy);
        loader.load(request, move |r| {
            r.unwrap();
            done.fetch_add(1, Ordering::Release);
        });
    }
    while done.load(Ordering::Acquire) < urls.len() {
        std::thread::yield_now();
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("webimage-bench-warm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = support::Server::start();
    let urls: Vec<String> = (0..IMAGES)
        .map(|i| {
            server.route(&format!("/{i}.jpg"), support::Route::ok(jpeg(i)));
            server.url(&format!("/{i}.jpg"))
        })
        .collect();
    let loader = ImageLoader::new(config(6, &dir)).unwrap();
    load_all(&loader, &urls, CachePolicy::UseCache);
    loader.disk_cache().unwrap().flush();
    assert_eq!(loader.disk_cache().unwrap().len().unwrap(), IMAGES as usize);

    let mut group = c.benchmark_group(format!("{IMAGES} JPEGs 800x600, 6 workers"));
    group.sample_size(20);
    group.bench_function("warm disk cache", |b| {
        b.iter(|| load_all(&loader, &urls, CachePolicy::UseCache))
    });
    group.bench_function("network (loopback)", |b| {
        b.iter(|| load_all(&loader, &urls, CachePolicy::Reload))
    });
    group.finish();

    // One image, one thread: a disk-cache load against fs::read + decode of the same bytes.
    let one = loader.disk_cache().unwrap().get(&urls[0]).unwrap().unwrap();
    let file = dir.join("one.jpg");
    std::fs::write(&file, &one).unwrap();
    let single = ImageLoader::new(config(1, &dir)).unwrap();
    let mut group = c.benchmark_group("one 800x600 JPEG");
    group.bench_function("webimage disk-cache load (read, verify, decode)", |b| {
        b.iter(|| black_box(single.load_blocking(urls[0].as_str()).unwrap()))
    });
    group.bench_function("std::fs::read + image::load_from_memory", |b| {
        b.iter(|| {
            let bytes = std::fs::read(&file).unwrap();
            black_box(image::load_from_memory(&bytes).unwrap().into_rgba8())
        })
    });
    group.finish();
    assert_eq!(single.stats().network_requests, 0);
    drop((loader, single));
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
