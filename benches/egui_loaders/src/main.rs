//! egui's own image loaders (egui_extras with `all_loaders`: `EhttpLoader` + `ImageCrateLoader`)
//! against `webimage::egui`, on the same headless scroll: 300 distinct 1024x768 JPEGs served on
//! 127.0.0.1 with 50 ms of latency each (or as given), a 12-cell window moving 2 cells per ~16 ms pass from
//! the first cell to the last, 96x96-pixel cells, then passes until the last screen is
//! complete.
//!
//! Each contender runs in a child process of its own (this program re-runs itself), so peak
//! RSS and threads are that contender's alone; the server stays in the parent and counts the
//! requests. Measured per run: HTTP requests, time from the first pass until the last screen
//! is complete, peak RSS (VmHWM) one second later (downloads in flight have landed), the most threads alive at once and the distinct threads seen
//! (sampled every millisecond, so a lower bound on threads started).
//!
//! `cargo run --release --manifest-path benches/egui_loaders/Cargo.toml [-- RUNS [LATENCY_MS]]`

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use egui::load::{SizeHint, TexturePoll};
use egui::{Context, RawInput, TextureOptions};

const CELLS: usize = 300;
const WINDOW: usize = 12;
const STEP: usize = 2;
const CELL_PX: u32 = 96;
const CONTENDERS: [&str; 2] = ["egui_extras", "webimage"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(&args[2], &args[3]);
    }
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let latency = Duration::from_millis(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50));
    let server = Server::start(latency);
    println!(
        "{CELLS} JPEGs (1024x768, {} KiB on average), {} ms latency, {WINDOW}-cell window, \
         {STEP} cells per 16 ms pass, {CELL_PX}x{CELL_PX} px cells; {runs} runs each\n",
        server.bytes / CELLS / 1024,
        latency.as_millis()
    );
    println!(
        "| loader | HTTP requests | last screen complete | peak RSS | most threads alive | threads seen |"
    );
    println!("|---|---|---|---|---|---|");
    for run in 0..runs {
        for contender in CONTENDERS {
            let before = server.requests.load(Ordering::SeqCst);
            let out = Command::new(std::env::current_exe().expect("own path"))
                .args(["child", contender, &server.base])
                .output()
                .expect("run the child");
            let requests = server.requests.load(Ordering::SeqCst) - before;
            let text = String::from_utf8_lossy(&out.stdout);
            let Some(line) = text.lines().find(|l| l.starts_with("RESULT ")) else {
                eprintln!(
                    "{contender} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::process::exit(1);
            };
            let field = |name: &str| -> f64 {
                line.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            println!(
                "| {contender} (run {}) | {requests} | {:.2} s | {:.0} MiB | {} | {} |",
                run + 1,
                field("complete_ms") / 1000.0,
                field("peak_rss") / (1024.0 * 1024.0),
                field("peak_threads"),
                field("threads_seen"),
            );
        }
    }
}

/// One contender's scroll, in this process.
fn child(contender: &str, base: &str) {
    let sampler = Sampler::start();
    let ctx = Context::default();
    let mut webimage = None;
    match contender {
        "egui_extras" => egui_extras::install_image_loaders(&ctx),
        "webimage" => {
            let loader = webimage::ImageLoader::new(webimage::Config {
                lifo: true,
                disk_cache: None,
                ..Default::default()
            })
            .expect("loader");
            webimage = Some(webimage::egui::install(&ctx, Arc::new(loader)));
        }
        other => panic!("unknown contender {other}"),
    }
    let urls: Vec<String> = (0..CELLS).map(|i| format!("{base}/p/{i}.jpg")).collect();
    let hint = SizeHint::Size {
        width: CELL_PX,
        height: CELL_PX,
        maintain_aspect_ratio: true,
    };
    let pass = |first: usize| -> usize {
        ctx.begin_pass(RawInput::default());
        let mut ready = 0;
        for url in &urls[first..first + WINDOW] {
            match ctx.try_load_texture(url, TextureOptions::default(), hint) {
                Ok(TexturePoll::Ready { .. }) => ready += 1,
                Ok(TexturePoll::Pending { .. }) => {}
                Err(e) => panic!("{url}: {e}"),
            }
        }
        ctx.end_pass().textures_delta.clear();
        ready
    };
    let started = Instant::now();
    let mut first = 0;
    while first + WINDOW < CELLS {
        pass(first);
        thread::sleep(Duration::from_millis(16));
        first += STEP;
    }
    while pass(first) < WINDOW {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never completed"
        );
        thread::sleep(Duration::from_millis(16));
    }
    let complete = started.elapsed();
    // One more second of passes on the last screen, so downloads still in flight land (egui's
    // `has_pending_images` does not see egui_extras's HTTP requests) and peak RSS and threads
    // cover the work each loader took on.
    while started.elapsed() < complete + Duration::from_secs(1) {
        pass(first);
        thread::sleep(Duration::from_millis(16));
    }
    let (peak_threads, threads_seen) = sampler.stop();
    let extra = webimage.map_or(String::new(), |w| {
        let s = w.loader().stats();
        format!(" cancelled={} decodes={}", s.cancelled, s.decodes)
    });
    println!(
        "RESULT complete_ms={} peak_rss={} peak_threads={peak_threads} threads_seen={threads_seen}{extra}",
        complete.as_millis(),
        peak_rss()
    );
}

fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples `/proc/self/task` every millisecond: the most threads alive and every id seen
/// (not counting the sampler itself).
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(usize, usize)>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let (mut peak, mut seen) = (0, HashSet::new());
            while !flag.load(Ordering::Relaxed) {
                if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
                    let ids: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
                    peak = peak.max(ids.len() - 1);
                    seen.extend(ids);
                }
                thread::sleep(Duration::from_millis(1));
            }
            (peak, seen.len() - 1)
        });
        Sampler { stop, handle }
    }

    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("sampler")
    }
}

/// HTTP/1.1 on 127.0.0.1, a thread per connection (so the server never queues), keep-alive,
/// `latency` before each answer.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
    bytes: usize,
}

impl Server {
    fn start(latency: Duration) -> Server {
        let photos: Vec<Vec<u8>> = (0..CELLS as u32).map(|i| photo(1024, 768, i)).collect();
        let bytes = photos.iter().map(Vec::len).sum();
        let photos = Arc::new(photos);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (photos, count) = (photos.clone(), count.clone());
                thread::spawn(move || serve(stream, &photos, &count, latency));
            }
        });
        Server {
            base,
            requests,
            bytes,
        }
    }
}

fn serve(stream: TcpStream, photos: &[Vec<u8>], count: &AtomicUsize, latency: Duration) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let _ = reader.by_ref().take(length).read_to_end(&mut Vec::new());
        count.fetch_add(1, Ordering::SeqCst);
        thread::sleep(latency);
        let body = path
            .strip_prefix("/p/")
            .and_then(|p| p.strip_suffix(".jpg"))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| photos.get(i));
        let ok = match body {
            Some(body) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                writer
                    .write_all(head.as_bytes())
                    .and_then(|_| writer.write_all(body))
            }
            None => writer.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        };
        if ok.is_err() {
            return;
        }
    }
}

/// A photo-like JPEG: gradients, rings and fine stripes (the demo's generator).
fn photo(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let (cx, cy) = ((seed * 97 % width) as f32, (seed * 61 % height) as f32);
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32, y as f32);
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
            let ring = ((d / 9.0).sin() * 60.0) as i32;
            let r = (x * 255 / width) as i32 + ring;
            let g = (y * 255 / height) as i32 - ring;
            let b = ((seed * 40) % 256) as i32 + ((x / 3 + y / 3) % 2 * 30) as i32;
            rgb.extend([r, g, b].map(|c| c.clamp(0, 255) as u8));
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(
            &rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encode");
    out
}
