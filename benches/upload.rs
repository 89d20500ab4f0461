//! Uploading 200 large JPEGs: webimage (serial, and 3 at once) against the naive way (read
//! every file into memory and send them all at once, one thread each). Each run is a child
//! process (this binary, re-executed) so its time and peak RSS (VmHWM) are its own; the
//! server runs in the parent, on 127.0.0.1, and reads and drops what it receives.
//!
//! Run: `cargo bench --bench upload`. Inputs are generated photo-like 2400x1600 JPEGs
//! (quality 90), cached in `target/bench-data/upload/`. Custom main rather than criterion:
//! every figure comes from a child process, and the table needs them from one run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use webimage::{Recompress, UploadConfig, UploadItem, Uploader};

const FILES: usize = 200;
const CHILD: &str = "WEBIMAGE_BENCH_CHILD";

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        return child(&mode);
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let dir = inputs();
    let total: u64 = files(&dir)
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    let url = serve();
    println!(
        "uploading {FILES} JPEGs, 2400x1600, {:.0} MB in all, to {url} (PUT, raw body)\n",
        total as f64 / 1e6
    );
    println!(
        "{:<44} {:>9} {:>10} {:>14}",
        "program", "time s", "files/s", "peak RSS MiB"
    );
    let mut rows = Vec::new();
    for mode in ["naive", "serial", "concurrent3", "serial-recompress"] {
        let (secs, peak_kib) = run_child(mode, &dir, &url);
        let label = match mode {
            "naive" => "naive: read all, one thread per file",
            "serial" => "webimage, max_concurrent 1 (default)",
            "concurrent3" => "webimage, max_concurrent 3",
            _ => "webimage, serial, recompressed (q 0.5)",
        };
        println!(
            "{label:<44} {secs:>9.2} {:>10.1} {:>14.1}",
            FILES as f64 / secs,
            peak_kib as f64 / 1024.0
        );
        rows.push((mode, secs, peak_kib));
    }
    let naive = rows[0];
    for (mode, secs, peak) in &rows[1..] {
        println!(
            "{mode}: {:.2}x the naive time, {:.1}x less peak memory",
            secs / naive.1,
            naive.2 as f64 / *peak as f64
        );
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    (0..FILES).map(|i| dir.join(format!("{i}.jpg"))).collect()
}

/// Generates the inputs once: distinct photo-like JPEGs about 1 MB each.
fn inputs() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/upload");
    std::fs::create_dir_all(&dir).unwrap();
    if files(&dir).iter().all(|f| f.exists()) {
        return dir;
    }
    let (w, h) = (2400u32, 1600u32);
    let mut seed = 0x2545_f491u32;
    let base = image::RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed % 24) as u8;
        image::Rgb([
            (x * 200 / w) as u8 + n,
            (y * 200 / h) as u8 + n,
            ((x + y) * 100 / (w + h)) as u8 + 60 + n,
        ])
    });
    for (i, path) in files(&dir).iter().enumerate() {
        let mut img = base.clone();
        for y in 0..64 {
            let row = ((y * w + i as u32 * 11) * 3) as usize;
            img.as_mut()[row..row + 192].fill(i as u8);
        }
        let mut out = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        std::fs::write(path, out.into_inner()).unwrap();
    }
    dir
}

/// A minimal HTTP/1.1 sink on 127.0.0.1: reads each request's body and answers 200.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/upload", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || sink(stream));
        }
    });
    url
}

fn sink(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = [0u8; 64 * 1024];
        while len > 0 {
            let want = len.min(buf.len());
            let n = reader.read(&mut buf[..want]).unwrap_or(0);
            if n == 0 {
                return;
            }
            len -= n;
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

fn run_child(mode: &str, dir: &Path, url: &str) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, mode)
        .env("WEBIMAGE_BENCH_DIR", dir)
        .env("WEBIMAGE_BENCH_URL", url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn child(mode: &str) {
    let dir = PathBuf::from(std::env::var("WEBIMAGE_BENCH_DIR").unwrap());
    let url = std::env::var("WEBIMAGE_BENCH_URL").unwrap();
    let paths = files(&dir);
    // Timed from the start, file reading included, for every program.
    let started = Instant::now();
    if mode == "naive" {
        // The pattern that crashes apps: every file read into memory, then every upload at
        // once, one thread (and one default agent) each.
        let all: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let threads: Vec<_> = all
            .into_iter()
            .map(|bytes| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut response = ureq::put(url.as_str()).send(&bytes[..]).unwrap();
                    response.body_mut().read_to_vec().unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    } else {
        let uploader = Uploader::new(UploadConfig {
            max_concurrent: if mode == "concurrent3" { 3 } else { 1 },
            recompress: (mode == "serial-recompress").then(Recompress::default),
            ..Default::default()
        })
        .unwrap();
        for path in paths {
            uploader.enqueue(UploadItem::put(url.as_str(), path), |r| {
                r.unwrap();
            });
        }
        uploader.wait();
        assert_eq!(uploader.stats().succeeded as usize, FILES);
    }
    println!("{} {}", started.elapsed().as_secs_f64(), peak_kib());
}
