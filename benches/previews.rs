//! Progressive previews and early-stopped thumbnails over a slow link (`docs/PERFORMANCE.md`
//! has the figures).
//!
//! A server in this process sends progressive JPEGs from 127.0.0.1 at a fixed rate (2 MB/s by
//! default, in 16 KiB pieces); a loader with one worker loads each as a thumbnail of 1/8 of
//! its size, three ways:
//!
//! - `whole`: disk cache on, no preview: the thumbnail comes when the whole body is in (what
//!   every load did before previews);
//! - `preview`: the same with `Request::preview`: first pixels at the preview, the final
//!   thumbnail when the whole body is in;
//! - `early stop`: `Request::partial_download(true)`: the download ends after the DC scans and
//!   the thumbnail is final at once.
//!
//! It reports the bytes the client read (`Stats::bytes_downloaded`), the time to the first
//! pixels (a preview or the final image) and to the final image, medians of 3 runs.
//!
//! Run: `cargo bench --bench previews` (about 30 s; `-- --rate 500000` for another rate in
//! bytes per second). Inputs: photo-like pictures encoded with `jpeg-encoder` (4:2:0, quality
//! 85, its progression: one DC scan per component, then AC bands), cached in
//! `target/bench-data/previews/`, and the corpus's `progressive_3.jpg` (another encoder's
//! progression: DC per component, then AC bands with successive approximation). Custom main
//! rather than criterion: a table of a few slow runs.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/http.rs"]
mod http;
#[path = "support/photo.rs"]
mod photo;
use photo::{jpeg, photo};
use webimage::{CachePolicy, Config, DiskCacheConfig, ImageLoader, Request};

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args
        .iter()
        .position(|a| a == "--rate")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(2_000_000);
    let inputs = inputs();
    let base = serve(inputs.iter().map(|(_, b)| b.clone()).collect(), rate);
    let dir = std::env::temp_dir().join(format!("webimage-bench-previews-{}", std::process::id()));
    println!(
        "rate {:.1} MB/s, 1/8 thumbnails, medians of {RUNS} runs\n",
        rate as f64 / 1e6
    );
    println!("| image | file | mode | bytes read | first pixels | final image |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (i, (name, bytes)) in inputs.iter().enumerate() {
        let url = format!("{base}/{i}");
        let (w, h) = dimensions(bytes);
        let (bw, bh) = (w.div_ceil(8), h.div_ceil(8));
        for mode in ["whole", "preview", "early stop"] {
            let mut runs: Vec<(u64, Duration, Duration)> = (0..RUNS)
                .map(|_| run_once(&url, &dir, mode, (bw, bh)))
                .collect();
            let bytes_read = runs[0].0;
            runs.sort_by_key(|r| r.1);
            let first = runs[RUNS / 2].1;
            runs.sort_by_key(|r| r.2);
            let last = runs[RUNS / 2].2;
            println!(
                "| {name} | {:.2} MB | {mode} | {:.2} MB ({:.0}%) | {:.0} ms | {:.0} ms |",
                bytes.len() as f64 / 1e6,
                bytes_read as f64 / 1e6,
                bytes_read as f64 * 100.0 / bytes.len() as f64,
                first.as_secs_f64() * 1e3,
                last.as_secs_f64() * 1e3,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    later_scans(&inputs[0].1);
}

/// Would a sharper preview after later scans be worth its decode? For prefixes of the first
/// input cut after each scan, the time of a 1/4-scale decode of the prefix (what a second
/// preview stage for a large view would cost, every time) and its mean absolute difference
/// from the final image at 1/4, against the DC-only preview's (1/8, upscaled to 1/4).
fn later_scans(bytes: &[u8]) {
    let (w, h) = dimensions(bytes);
    let quarter = (w.div_ceil(4), h.div_ceil(4));
    let dir = std::env::temp_dir().join(format!("webimage-bench-scans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let loader = ImageLoader::new(Config {
        max_workers: 1,
        disk_cache: None,
        memory_cache_bytes: 0,
        ..Default::default()
    })
    .expect("loader");
    let decode = |prefix: &[u8], size: (u32, u32)| {
        let path = dir.join("prefix.jpg");
        std::fs::write(&path, prefix).expect("write");
        let mut times = Vec::new();
        let mut image = None;
        for _ in 0..3 {
            let started = Instant::now();
            let request = Request::new(path.to_str().expect("path")).thumbnail(size.0, size.1);
            image = Some(loader.load_blocking(request).expect("decode"));
            times.push(started.elapsed());
        }
        times.sort();
        (image.expect("image"), times[1])
    };
    let (whole, _) = decode(bytes, quarter);
    let mad = |a: &image::RgbaImage| {
        let b = whole.image();
        let sum: u64 = a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.len() as f64
    };
    println!(
        "\nlater scans, {w}x{h}, 1/4 = {}x{}\n",
        quarter.0, quarter.1
    );
    println!("| bytes so far | scans | preview | decode | MAD from the final 1/4 image |");
    println!("| --- | --- | --- | --- | --- |");
    let ends = scan_ends(bytes);
    let dc = ends[2];
    let (eighth, t) = decode(&bytes[..dc], (w.div_ceil(8), h.div_ceil(8)));
    let up = image::imageops::resize(
        &**eighth.image(),
        quarter.0,
        quarter.1,
        image::imageops::FilterType::Lanczos3,
    );
    println!(
        "| {:.0}% | 3 (DC) | 1/8, upscaled | {:.1} ms | {:.2} |",
        dc as f64 * 100.0 / bytes.len() as f64,
        t.as_secs_f64() * 1e3,
        mad(&up)
    );
    for (k, &end) in ends.iter().enumerate().skip(3) {
        let (image, t) = decode(&bytes[..end], quarter);
        println!(
            "| {:.0}% | {} | 1/4 | {:.1} ms | {:.2} |",
            end as f64 * 100.0 / bytes.len() as f64,
            k + 1,
            t.as_secs_f64() * 1e3,
            mad(image.image())
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where each scan's entropy-coded data ends (the marker after it).
fn scan_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut i = 2;
    while i + 4 <= data.len() {
        let code = data[i + 1];
        if code == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        i += 2 + len;
        if code == 0xDA {
            while i + 1 < data.len()
                && !(data[i] == 0xFF && data[i + 1] != 0 && !(0xD0..=0xD7).contains(&data[i + 1]))
            {
                i += 1;
            }
            ends.push(i);
        }
    }
    ends
}

/// The image size from its header.
fn dimensions(bytes: &[u8]) -> (u32, u32) {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .expect("format")
        .into_dimensions()
        .expect("dimensions")
}

/// One load: (bytes read, time to first pixels, time to the final image).
fn run_once(url: &str, dir: &Path, mode: &str, size: (u32, u32)) -> (u64, Duration, Duration) {
    let disk = (mode != "early stop").then(|| DiskCacheConfig {
        min_free_bytes: 0,
        ..DiskCacheConfig::at(dir)
    });
    let loader = ImageLoader::new(Config {
        max_workers: 1,
        disk_cache: disk,
        ..Default::default()
    })
    .expect("loader");
    let first: Arc<Mutex<Option<Duration>>> = Arc::default();
    let started = Instant::now();
    let mut request = Request::new(url)
        .thumbnail(size.0, size.1)
        .cache_policy(CachePolicy::Reload);
    match mode {
        "preview" => {
            let first = first.clone();
            request = request.preview(move |_| {
                first.lock().unwrap().get_or_insert(started.elapsed());
            });
        }
        "early stop" => request = request.partial_download(true),
        _ => {}
    }
    let thumb = loader.load_blocking(request).expect("thumbnail");
    let done = started.elapsed();
    assert_eq!((thumb.width(), thumb.height()), size);
    let first = first.lock().unwrap().unwrap_or(done);
    (loader.stats().bytes_downloaded, first, done)
}

// ---------------------------------------------------------------------------------------------
// Inputs

fn inputs() -> Vec<(String, Arc<Vec<u8>>)> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/previews");
    let _ = std::fs::create_dir_all(&data);
    let mut inputs = Vec::new();
    for (w, h, seed) in [(4000u32, 3000u32, 1u32), (2000, 1500, 2)] {
        let path = data.join(format!("{w}x{h}-{seed}.jpg"));
        let bytes = std::fs::read(&path).unwrap_or_else(|_| {
            let bytes = jpeg(&photo(w, h, seed), true);
            let _ = std::fs::write(&path, &bytes);
            bytes
        });
        inputs.push((format!("{w}x{h} (jpeg-encoder)"), Arc::new(bytes)));
    }
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/jpeg/progressive_3.jpg");
    if let Ok(bytes) = std::fs::read(corpus) {
        let (w, h) = dimensions(&bytes);
        inputs.push((format!("{w}x{h} (corpus)"), Arc::new(bytes)));
    }
    inputs
}

// ---------------------------------------------------------------------------------------------
// The rate-limited server

/// Serves `/i` as `bodies[i]` at `rate` bytes per second per connection.
fn serve(bodies: Vec<Arc<Vec<u8>>>, rate: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let bodies = bodies.clone();
            std::thread::spawn(move || {
                let _ = handle(stream, &bodies, rate);
            });
        }
    });
    format!("http://{addr}")
}

fn handle(stream: TcpStream, bodies: &[Arc<Vec<u8>>], rate: u64) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let Some(path) = http::next_path(&mut reader)? else {
            return Ok(());
        };
        let index: usize = path.trim_start_matches('/').parse().unwrap_or(usize::MAX);
        let Some(body) = bodies.get(index) else {
            out.write_all(b"HTTP/1.1 404 X\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        };
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        out.write_all(head.as_bytes())?;
        let started = Instant::now();
        let mut sent = 0u64;
        for piece in body.chunks(16 * 1024) {
            // Never ahead of the rate: wait until this piece is due.
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            out.write_all(piece)?;
            sent += piece.len() as u64;
        }
    }
}
