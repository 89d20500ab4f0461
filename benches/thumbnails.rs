//! Thumbnails against the peers a user would pick instead (`docs/PERFORMANCE.md` has the
//! figures). Three groups, all in one run:
//!
//! 1. `decode`: one image to a 256x256 box, one thread: webimage (a loader with one worker,
//!    memory cache off, `file://`) against the naive way (`image::open` +
//!    `imageops::thumbnail`) and, for JPEGs, jpeg-decoder's own scaled decode
//!    (`Decoder::scale`). Time is the median of repeated runs in this process; peak RSS is
//!    measured in a child process per decoder and image (VmHWM above the child's VmRSS before
//!    decoding), so peaks never mix.
//! 2. `pipeline`: 200 distinct large JPEGs served from 127.0.0.1 by this process, loaded as
//!    256 px thumbnails in a child: webimage (`max_workers` 6) against the naive
//!    thread-per-URL program (ureq + `image` decode + `imageops::thumbnail`, one thread per
//!    image). Also webimage with 50 images, to show its peak RSS does not grow with the count.
//! 3. `full`: full-size decode of the same images: webimage (full-size load) against
//!    `image::load_from_memory`.
//! 4. `cover`: `Request::cover(256, 256)` against `Request::thumbnail(256, 256)` on the same
//!    images plus an EXIF-rotated corpus photo, one thread, time and peak RSS as in group 1:
//!    a cover takes the same reduced-size paths, so it should cost the same.
//!
//! Run: `cargo bench --bench thumbnails` (all groups) or `cargo bench --bench thumbnails --
//! decode pipeline full cover` (any subset). Inputs are generated photo-like JPEGs (4:2:0, quality
//! 85), cached in `target/bench-data/thumbnails/`. Custom main rather than criterion: the
//! groups need child processes, and the table needs every figure from one run.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/http.rs"]
mod http;
#[path = "support/photo.rs"]
mod photo;
use photo::{jpeg, photo};
use webimage::{Config, ImageLoader, Request};

/// The thumbnail box of every group.
const BOX: u32 = 256;
/// Environment variable that makes the bench binary a child doing one measurement.
const CHILD: &str = "WEBIMAGE_BENCH_CHILD";

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return child(&mode, &args);
    }
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |g: &str| wanted.is_empty() || wanted.iter().any(|w| w == g);
    let inputs = Inputs::load_or_generate();
    if run("decode") {
        decode_group(&inputs);
    }
    if run("full") {
        full_group(&inputs);
    }
    if run("pipeline") {
        pipeline_group(&inputs);
    }
    if run("cover") {
        cover_group(&inputs);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// The generated images, as files (group 1 and 3 read them via `file://` or from disk).
struct Inputs {
    /// (name, path, bytes)
    files: Vec<(String, PathBuf, Arc<Vec<u8>>)>,
}

/// Image sizes and kinds of groups 1 and 3; the first two are the pipeline's base images.
const SPECS: [(&str, u32, u32, bool, u32); 4] = [
    ("4000x3000 baseline", 4000, 3000, false, 1),
    ("4000x3000 progressive", 4000, 3000, true, 2),
    ("2000x1500 baseline", 2000, 1500, false, 3),
    ("2000x1500 progressive", 2000, 1500, true, 4),
];

/// Distinct 4000x3000 base images for the pipeline (baseline and progressive alternate).
const PIPELINE_BASES: u32 = 8;

fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/thumbnails");
    std::fs::create_dir_all(&dir).expect("create target/bench-data/thumbnails");
    dir
}

impl Inputs {
    fn load_or_generate() -> Inputs {
        let dir = data_dir();
        let mut files = Vec::new();
        for (name, w, h, progressive, seed) in SPECS {
            let path = dir.join(format!("{}.jpg", name.replace(' ', "-")));
            let bytes = cached(&path, || jpeg(&photo(w, h, seed), progressive));
            files.push((name.to_string(), path, Arc::new(bytes)));
        }
        Inputs { files }
    }

    fn pipeline_bases(&self) -> Vec<Arc<Vec<u8>>> {
        let dir = data_dir();
        (0..PIPELINE_BASES)
            .map(|i| {
                let path = dir.join(format!("pipeline-{i}.jpg"));
                Arc::new(cached(&path, || {
                    jpeg(&photo(4000, 3000, 100 + i), i % 2 == 1)
                }))
            })
            .collect()
    }
}

fn cached(path: &Path, make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    if let Ok(bytes) = std::fs::read(path) {
        return bytes;
    }
    eprintln!("generating {}", path.display());
    let bytes = make();
    std::fs::write(path, &bytes).expect("write bench input");
    bytes
}

// ---------------------------------------------------------------------------------------------
// Decoders of groups 1 and 3 (also run in children)

/// The 256-box size of a `w` x `h` image.
fn fit(w: u32, h: u32) -> (u32, u32) {
    if w >= h {
        (BOX, ((h * BOX + w / 2) / w).max(1))
    } else {
        (((w * BOX + h / 2) / h).max(1), BOX)
    }
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path.canonicalize().unwrap())
        .unwrap()
        .to_string()
}

fn one_worker_loader() -> ImageLoader {
    ImageLoader::new(Config {
        max_workers: 1,
        memory_cache_bytes: 0,
        ..Default::default()
    })
    .expect("loader")
}

/// One decode by `decoder` of the file at `path`; returns the output size.
fn decode_once(decoder: &str, path: &Path, loader: Option<&ImageLoader>) -> (u32, u32) {
    match decoder {
        "webimage" => {
            let loader = loader.expect("loader");
            let request = Request::new(file_url(path)).thumbnail(BOX, BOX);
            let image = loader.load_blocking(request).expect("webimage thumbnail");
            (image.width(), image.height())
        }
        "webimage-cover" => {
            let loader = loader.expect("loader");
            let request = Request::new(file_url(path)).cover(BOX, BOX);
            let image = loader.load_blocking(request).expect("webimage cover");
            (image.width(), image.height())
        }
        "naive" => {
            let full = image::open(path).expect("image::open");
            let (w, h) = fit(full.width(), full.height());
            let thumb = image::imageops::thumbnail(&full, w, h);
            thumb.dimensions()
        }
        "jpeg-decoder" => {
            let bytes = std::fs::read(path).expect("read");
            let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
            d.read_info().expect("jpeg-decoder info");
            let info = d.info().expect("info");
            let (w, h) = fit(u32::from(info.width), u32::from(info.height));
            d.scale(w as u16, h as u16).expect("scale");
            let pixels = d.decode().expect("jpeg-decoder decode");
            let info = d.info().expect("info");
            assert!(!pixels.is_empty());
            (u32::from(info.width), u32::from(info.height))
        }
        "webimage-full" => {
            let loader = loader.expect("loader");
            let image = loader.load_blocking(file_url(path)).expect("webimage full");
            (image.width(), image.height())
        }
        "image-full" => {
            let bytes = std::fs::read(path).expect("read");
            let image = image::load_from_memory(&bytes).expect("image decode");
            (image.width(), image.height())
        }
        other => panic!("unknown decoder {other}"),
    }
}

/// Median wall time of `decode_once` over enough runs (at least 5, about 1.5 s).
fn time_decoder(decoder: &str, path: &Path) -> Duration {
    let loader = decoder.starts_with("webimage").then(one_worker_loader);
    decode_once(decoder, path, loader.as_ref()); // warm up
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < Duration::from_millis(1500) && times.len() < 50) {
        let t = Instant::now();
        std::hint::black_box(decode_once(decoder, path, loader.as_ref()));
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Runs one decode in a child process; returns its peak RSS above its baseline, in KiB.
fn child_peak(decoder: &str, path: &Path) -> u64 {
    let out = run_child("decode", &[decoder, &path.display().to_string()]);
    field(&out, "peak_kib")
}

// ---------------------------------------------------------------------------------------------
// Children

fn run_child(mode: &str, args: &[&str]) -> String {
    let out = Command::new(std::env::current_exe().expect("current_exe"))
        .env(CHILD, mode)
        .args(args)
        .output()
        .expect("start child");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child {mode} {args:?} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn field(out: &str, name: &str) -> u64 {
    out.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in child output {out:?}"))
}

/// A `/proc/self/status` value in KiB.
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn child(mode: &str, args: &[String]) {
    match mode {
        "decode" => {
            let (decoder, path) = (&args[0], Path::new(&args[1]));
            let loader = decoder.starts_with("webimage").then(one_worker_loader);
            let base = status_kib("VmRSS:");
            let size = decode_once(decoder, path, loader.as_ref());
            let peak = status_kib("VmHWM:");
            println!(
                "size={}x{} base_kib={base} peak_kib={}",
                size.0,
                size.1,
                peak.saturating_sub(base)
            );
        }
        "webimage-pipeline" | "naive-pipeline" => {
            let (base_url, n): (&str, usize) = (&args[0], args[1].parse().expect("count"));
            let urls: Vec<String> = (0..n).map(|i| format!("{base_url}/img/{i}.jpg")).collect();
            let base = status_kib("VmRSS:");
            let start = Instant::now();
            let ok = if mode == "webimage-pipeline" {
                webimage_pipeline(&urls, args.get(2).is_some_and(|a| a == "cache"))
            } else {
                naive_pipeline(&urls)
            };
            let secs = start.elapsed().as_secs_f64();
            let peak = status_kib("VmHWM:");
            println!(
                "ok={ok} millis={} base_kib={base} peak_kib={}",
                (secs * 1000.0) as u64,
                peak.saturating_sub(base)
            );
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn webimage_pipeline(urls: &[String], memory_cache: bool) -> usize {
    let loader = ImageLoader::new(Config {
        max_workers: 6,
        memory_cache_bytes: if memory_cache { 256 << 20 } else { 0 },
        ..Default::default()
    })
    .expect("loader");
    let (tx, rx) = crossbeam_channel::unbounded();
    for url in urls {
        let tx = tx.clone();
        loader.load(Request::new(url.as_str()).thumbnail(BOX, BOX), move |r| {
            let _ = tx.send(r.map(|i| (i.width(), i.height())));
        });
    }
    (0..urls.len())
        .filter(|_| matches!(rx.recv(), Ok(Ok((w, h))) if w == BOX && h == 192))
        .count()
}

/// The pattern that crashes apps: a thread per image, each downloading and decoding at full
/// size, then making a thumbnail.
fn naive_pipeline(urls: &[String]) -> usize {
    let threads: Vec<_> = urls
        .iter()
        .cloned()
        .map(|url| {
            std::thread::spawn(move || {
                let bytes = ureq::get(&url).call().ok()?.body_mut().read_to_vec().ok()?;
                let full = image::load_from_memory(&bytes).ok()?;
                let (w, h) = fit(full.width(), full.height());
                let thumb = image::imageops::thumbnail(&full, w, h);
                Some(thumb.dimensions())
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|t| t.join().ok().flatten())
        .filter(|&(w, h)| w == BOX && h == 192)
        .count()
}

// ---------------------------------------------------------------------------------------------
// Groups

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn decode_group(inputs: &Inputs) {
    println!("\n## 1. Decode to a {BOX}x{BOX} box, one thread\n");
    println!(
        "| image | size | webimage | naive (image + thumbnail) | jpeg-decoder scaled | webimage vs naive | webimage vs jpeg-decoder | peak RSS webimage / naive / jpeg-decoder |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, path, bytes) in &inputs.files {
        let ours = time_decoder("webimage", path);
        let naive = time_decoder("naive", path);
        let jd = time_decoder("jpeg-decoder", path);
        let peaks: Vec<f64> = ["webimage", "naive", "jpeg-decoder"]
            .iter()
            .map(|d| mib(child_peak(d, path)))
            .collect();
        println!(
            "| {name} | {:.1} MB | {:.1} ms | {:.1} ms | {:.1} ms | {:.1}x | {:.1}x | {:.1} / {:.1} / {:.1} MiB |",
            bytes.len() as f64 / 1e6,
            ms(ours),
            ms(naive),
            ms(jd),
            ms(naive) / ms(ours),
            ms(jd) / ms(ours),
            peaks[0],
            peaks[1],
            peaks[2],
        );
    }
}

fn full_group(inputs: &Inputs) {
    println!("\n## 3. Full-size decode\n");
    println!("| image | webimage (RGBA8, upright) | image::load_from_memory | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, path, _) in &inputs.files {
        let ours = time_decoder("webimage-full", path);
        let theirs = time_decoder("image-full", path);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2}x |",
            ms(ours),
            ms(theirs),
            ms(ours) / ms(theirs)
        );
    }
}

fn cover_group(inputs: &Inputs) {
    println!("\n## 4. Cover against thumbnail, {BOX}x{BOX} box, one thread\n");
    println!("| image | thumbnail | cover | cover / thumbnail | peak RSS thumbnail / cover |");
    println!("| --- | --- | --- | --- | --- |");
    let rotated =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/exif/Portrait_6.jpg");
    let mut files: Vec<(String, PathBuf)> = inputs
        .files
        .iter()
        .map(|(name, path, _)| (name.clone(), path.clone()))
        .collect();
    files.push(("corpus Portrait_6.jpg (EXIF-rotated)".into(), rotated));
    for (name, path) in &files {
        let thumb = time_decoder("webimage", path);
        let cover = time_decoder("webimage-cover", path);
        let peaks = ["webimage", "webimage-cover"].map(|d| mib(child_peak(d, path)));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2}x | {:.1} / {:.1} MiB |",
            ms(thumb),
            ms(cover),
            ms(cover) / ms(thumb),
            peaks[0],
            peaks[1],
        );
    }
}

/// Serves `/img/{i}.jpg`: base image `i % bases` with a comment segment naming `i` inserted
/// after SOI, so every URL serves distinct bytes while the decoders do the same work.
fn serve(bases: Vec<Arc<Vec<u8>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let bases = bases.clone();
            std::thread::spawn(move || {
                let _ = handle(stream, &bases);
            });
        }
    });
    format!("http://{addr}")
}

fn handle(stream: TcpStream, bases: &[Arc<Vec<u8>>]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let Some(path) = http::next_path(&mut reader)? else {
            return Ok(());
        };
        let index: usize = path
            .strip_prefix("/img/")
            .and_then(|p| p.strip_suffix(".jpg"))
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let base = &bases[index % bases.len()];
        let comment = format!("webimage bench image {index}");
        let mut segment = vec![0xFF, 0xFE];
        segment.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(comment.as_bytes());
        let len = base.len() + segment.len();
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {len}\r\n\r\n"
        )?;
        out.write_all(&base[..2])?;
        out.write_all(&segment)?;
        out.write_all(&base[2..])?;
        out.flush()?;
        // Keep-alive: the next request on this connection.
    }
}

fn pipeline_group(inputs: &Inputs) {
    let bases = inputs.pipeline_bases();
    let mean = bases.iter().map(|b| b.len()).sum::<usize>() as f64 / bases.len() as f64;
    let url = serve(bases);
    println!(
        "\n## 2. Pipeline over loopback: {BOX} px thumbnails of distinct 4000x3000 JPEGs \
         ({PIPELINE_BASES} base images, mean {:.1} MB, each URL distinct bytes)\n",
        mean / 1e6
    );
    println!("| program | images | time | throughput | peak RSS above baseline |");
    println!("| --- | --- | --- | --- | --- |");
    let mut rows = Vec::new();
    for (mode, n, cache) in [
        ("webimage-pipeline", 50, "cache"),
        ("webimage-pipeline", 200, "cache"),
        ("webimage-pipeline", 50, "no-cache"),
        ("webimage-pipeline", 200, "no-cache"),
        ("naive-pipeline", 200, ""),
    ] {
        let out = run_child(mode, &[&url, &n.to_string(), cache]);
        let (ok, millis, peak) = (
            field(&out, "ok"),
            field(&out, "millis"),
            field(&out, "peak_kib"),
        );
        assert_eq!(ok as usize, n, "{mode}: only {ok} of {n} thumbnails");
        let rate = n as f64 / (millis as f64 / 1000.0);
        let program = match cache {
            "cache" => "webimage (memory cache on, the default)",
            "no-cache" => "webimage (memory cache off)",
            _ => "naive thread-per-URL",
        };
        println!(
            "| {program} | {n} | {:.2} s | {rate:.1} images/s | {:.0} MiB |",
            millis as f64 / 1000.0,
            mib(peak)
        );
        rows.push((mode, n, rate, peak));
    }
    let (ours, naive) = (rows[1], rows[4]);
    let thumb_mib = f64::from(BOX * 192 * 4) / f64::from(1 << 20);
    println!(
        "\nwebimage vs naive (200 images, cache on): {:.1}x the throughput, {:.1}x less peak \
         RSS. webimage peak RSS, 50 vs 200 images: {:.0} vs {:.0} MiB with the memory cache \
         (which keeps every {thumb_mib:.2} MiB thumbnail: 150 more is {:.0} MiB), {:.0} vs \
         {:.0} MiB without it.",
        ours.2 / naive.2,
        naive.3 as f64 / ours.3.max(1) as f64,
        mib(rows[0].3),
        mib(ours.3),
        150.0 * thumb_mib,
        mib(rows[2].3),
        mib(rows[3].3),
    );
}
