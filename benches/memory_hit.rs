//! Cost of a memory-cache hit through `ImageLoader::load` (URL parse, key, LRU lookup, Arc
//! clone, closure call on this thread), on 1 and 2 threads, against the floor: a
//! `Mutex<HashMap>` lookup and `Arc` clone of the same key type.
//!
//! Run: `cargo bench --bench memory_hit`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use webimage::{Config, ImageLoader};

const IMAGES: usize = 256;

fn warm_loader() -> (ImageLoader, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("webimage-bench-hit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let loader = ImageLoader::new(Config {
        max_workers: 2,
        disk_cache: None,
        ..Default::default()
    })
    .unwrap();
    let mut urls = Vec::new();
    for i in 0..IMAGES {
        let path = dir.join(format!("{i}.png"));
        image::RgbaImage::from_pixel(32, 32, image::Rgba([i as u8, 0, 0, 255]))
            .save(&path)
            .unwrap();
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        loader.load_blocking(url.as_str()).unwrap();
        urls.push(url);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    (loader, urls)
}

/// Runs `per_thread(i)` on `threads` threads, `iters` calls in all; wall time.
fn timed_on_threads(threads: usize, iters: u64, per_thread: impl Fn(u64) + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    let each = iters / threads as u64;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (barrier, per_thread) = (&barrier, &per_thread);
            s.spawn(move || {
                barrier.wait();
                for i in 0..each {
                    per_thread(i + t as u64 * 7919);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let (loader, urls) = warm_loader();
    let map: Mutex<HashMap<String, Arc<image::RgbaImage>>> = Mutex::new(
        urls.iter()
            .map(|u| (u.clone(), Arc::new(image::RgbaImage::new(32, 32))))
            .collect(),
    );
    let mut group = c.benchmark_group("memory_hit");
    for threads in [1, 2] {
        group.bench_function(format!("webimage load, {threads} thread(s)"), |b| {
            b.iter_custom(|iters| {
                timed_on_threads(threads, iters, |i| {
                    let url = &urls[i as usize % IMAGES];
                    loader.load(url.as_str(), |r| {
                        black_box(r.unwrap());
                    });
                })
            })
        });
        group.bench_function(
            format!("floor: Mutex<HashMap> get, {threads} thread(s)"),
            |b| {
                b.iter_custom(|iters| {
                    timed_on_threads(threads, iters, |i| {
                        let url = &urls[i as usize % IMAGES];
                        black_box(map.lock().unwrap().get(url.as_str()).cloned());
                    })
                })
            },
        );
    }
    group.finish();
    assert_eq!(loader.stats().network_requests, 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
