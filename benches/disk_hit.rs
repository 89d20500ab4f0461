//! Disk-cache hits against a plain `std::fs::read` of the same files, for 100 KiB and 3 MiB
//! entries: latency on one thread and throughput on two. A disk hit is the whole path a worker
//! takes: a message to the IO thread, open + read + checksum check of the entry, the reply.
//! Both sides read from the page cache (the files are read once before measuring).
//!
//! Run: `cargo bench --bench disk_hit`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use webimage::{Config, DiskCacheConfig, ImageLoader};

const ENTRIES: usize = 16;

/// A cache directory filled through the loader with `ENTRIES` file:// images... no: file URLs
/// are not disk-cached, so entries are written over HTTP from a loopback server.
#[path = "../tests/it/support/mod.rs"]
mod support;

fn setup(size: usize, dir: &PathBuf) -> (support::Server, ImageLoader, Vec<String>, Vec<PathBuf>) {
    let server = support::Server::start();
    let mut urls = Vec::new();
    for i in 0..ENTRIES {
        // Bytes need not be an image: the disk cache stores whatever was downloaded.
        let body: Vec<u8> = (0..size).map(|j| (j * 31 + i * 7) as u8).collect();
        server.route(&format!("/{i}.bin"), support::Route::ok(body));
        urls.push(server.url(&format!("/{i}.bin")));
    }
    let loader = ImageLoader::new(Config {
        disk_cache: Some(DiskCacheConfig {
            min_free_bytes: 0,
            ..DiskCacheConfig::at(dir)
        }),
        memory_cache_bytes: 0,
        remember_failed_urls: false,
        ..Config::default()
    })
    .unwrap();
    for url in &urls {
        // Not decodable, but downloaded and written to disk all the same.
        let _ = loader.load_blocking(url.as_str());
    }
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    let mut files = Vec::new();
    for shard in std::fs::read_dir(dir.join("entries")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            files.push(f.path());
        }
    }
    assert_eq!(files.len(), ENTRIES);
    for url in &urls {
        assert_eq!(disk.get(url).unwrap().unwrap().len(), size);
    }
    (server, loader, urls, files)
}

fn on_threads(threads: usize, iters: u64, f: impl Fn(usize) + Sync) -> Duration {
    let each = iters / threads as u64;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || {
                for i in 0..each {
                    f(t * 7 + i as usize);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    for (label, size) in [("100 KiB", 100 * 1024), ("3 MiB", 3 * 1024 * 1024)] {
        let dir =
            std::env::temp_dir().join(format!("webimage-bench-disk-{}-{size}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (_server, loader, urls, files) = setup(size, &dir);
        let disk = loader.disk_cache().unwrap();
        let mut group = c.benchmark_group(format!("disk hit {label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for threads in [1, 2] {
            group.bench_function(format!("webimage disk cache, {threads} thread(s)"), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, |i| {
                        black_box(disk.get(&urls[i % ENTRIES]).unwrap().unwrap());
                    })
                })
            });
            group.bench_function(format!("std::fs::read, {threads} thread(s)"), |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, |i| {
                        black_box(std::fs::read(&files[i % ENTRIES]).unwrap());
                    })
                })
            });
        }
        group.finish();
        drop(loader);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
