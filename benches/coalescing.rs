//! 1,000 loads of one URL (coalesced onto one download) against 1,000 loads of 1,000 URLs
//! serving the same bytes (what a loader without coalescing does), over loopback, memory
//! cache off so every iteration does the work again. Prints requests per iteration too.
//!
//! Run: `cargo bench --bench coalescing`

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use support::{Route, Server, png};
use webimage::{Config, ImageLoader};

const LOADS: usize = 1000;

fn run(loader: &ImageLoader, urls: &[String]) {
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..LOADS {
        let done = done.clone();
        loader.load(urls[i % urls.len()].as_str(), move |r| {
            r.unwrap();
            done.fetch_add(1, Ordering::Release);
        });
    }
    while done.load(Ordering::Acquire) < LOADS {
        std::thread::yield_now();
    }
}

fn bench(c: &mut Criterion) {
    let server = Server::start();
    let bytes = png(64, 64, 1);
    let same = vec![server.url("/same.png")];
    server.route("/same.png", Route::ok(bytes.clone()));
    let distinct: Vec<String> = (0..LOADS)
        .map(|i| {
            server.route(&format!("/{i}.png"), Route::ok(bytes.clone()));
            server.url(&format!("/{i}.png"))
        })
        .collect();
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        remember_failed_urls: false,
        disk_cache: None,
        ..Default::default()
    })
    .unwrap();

    let mut group = c.benchmark_group("1000 loads");
    group.sample_size(10);
    for (name, urls) in [
        ("one URL (coalesced)", &same),
        ("1000 URLs (uncoalesced)", &distinct),
    ] {
        let before = loader.stats().network_requests;
        let mut iterations = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                iterations += 1;
                run(&loader, urls)
            })
        });
        let requests = loader.stats().network_requests - before;
        println!(
            "{name}: {:.1} HTTP requests per 1000 loads",
            requests as f64 / iterations as f64
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
