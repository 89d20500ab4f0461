//! Issue 21: AVIF against Pillow and libvips as people use them (`docs/PERFORMANCE.md` has
//! the figures). Two groups, anchors alternating with webimage in the same run, on the same
//! files:
//!
//! 1. `thumb`: 256 px thumbnails (fit in 256x256) of real photos saved as AVIF q60 by Pillow:
//!    webimage (a loader with one worker, caches off, `file://`: the whole path a load takes)
//!    against Pillow (`Image.open` + `thumbnail((256, 256), LANCZOS)`: libavif with dav1d,
//!    a full decode, then Pillow's reduce + Lanczos) and libvips (`pyvips.Image.thumbnail(file,
//!    256)`: libheif's full decode, then libvips's shrink), both in one Python process that
//!    times its own loop, so interpreter start-up is not counted. libvips runs with
//!    `VIPS_CONCURRENCY=1` and Pillow's libavif with `AvifImagePlugin.DEFAULT_MAX_THREADS = 1`
//!    (its default is one dav1d thread per CPU), like webimage's one worker.
//! 2. `full`: full-size decodes of the same files: webimage against Pillow (`Image.open` +
//!    `load()`).
//!
//! Files (made once, cached in `target/bench-data/avif/`): the corpus's 1800x1200 real
//! photos `exif/Landscape_1.jpg` and `exif/Portrait_1.jpg`, the landscape enlarged to 12 MP
//! (4240x2832) and to 5120x3413 with Lanczos3, and two generated photo-like pictures
//! (`support/photo.rs`, 4000x3000 and 2560x1707); each saved by Pillow as
//! `im.save(p, "AVIF", quality=60)` (libaom, 4:2:0, 8-bit). Each round goes file by file:
//! webimage `RUNS` times (median), then each anchor on the same file, so the machine's load
//! changes little between them; the table gives the median of `ROUNDS` rounds.
//!
//! Run: `cargo bench --bench avif --features avif` (or `-- thumb` / `-- full`); with dav1d's
//! assembly, `--features avif,re_rav1d/asm` (needs nasm). Needs Python with Pillow >= 11.3
//! built with AVIF (to make the files, and as an anchor) and pyvips with a libvips that reads
//! AVIF through libheif (`pip install Pillow pyvips`, Debian `libvips42`): a missing anchor
//! is reported and skipped.
//!
//! `WEBIMAGE_BENCH_ONE=thumb|full FILE [N]` decodes FILE once (or N times) and exits (for
//! callgrind, or a whole-process timing), e.g.
//! `WEBIMAGE_BENCH_ONE=thumb valgrind --tool=callgrind target/release/deps/avif-* FILE`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// The JPEG half of the photo helpers is for the other benches.
#[allow(dead_code)]
#[path = "support/photo.rs"]
mod photo;
use webimage::{Config, ImageLoader, Request};

const BOX: u32 = 256;
const ROUNDS: usize = 3;
const RUNS: usize = 5;

/// The Python side: times Pillow and pyvips over the files it is given, `RUNS` times each,
/// and prints `anchor file milliseconds` (the median), or `anchor - missing: why`.
const PY: &str = r#"
import sys, time, os
mode, runs, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def med(f, path):
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(path); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts) // 2] * 1000
try:
    from PIL import Image
    try:
        from PIL import AvifImagePlugin
        # One dav1d thread (Pillow's default is one per CPU), like webimage's one worker.
        AvifImagePlugin.DEFAULT_MAX_THREADS = 1
    except ImportError:
        pass
    def pil_thumb(p):
        im = Image.open(p); im.thumbnail((256, 256), Image.LANCZOS)
    def pil_full(p):
        im = Image.open(p); im.load()
    f = pil_thumb if mode == "thumb" else pil_full
    for p in files: print("pillow", p, med(f, p), flush=True)
except ImportError as e:
    print("pillow - missing:", e, flush=True)
if mode == "thumb":
    try:
        import pyvips
        pyvips.cache_set_max(0)
        def vips_thumb(p):
            pyvips.Image.thumbnail(p, 256).write_to_memory()
        for p in files: print("libvips", p, med(vips_thumb, p), flush=True)
    except Exception as e:
        print("libvips - missing:", str(e).splitlines()[0], flush=True)
"#;

/// Encodes the PNG `argv[1]` as AVIF q60 at `argv[2]`, as the issue made its files.
const ENCODE: &str = r#"
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").save(sys.argv[2], "AVIF", quality=60)
"#;

fn main() {
    if let Ok(mode) = std::env::var("WEBIMAGE_BENCH_ONE") {
        let file = std::env::args().nth(1).expect("a file");
        // A file:// URL needs an absolute path: a relative one would be read as a host name.
        let file = std::fs::canonicalize(&file)
            .unwrap_or_else(|e| panic!("WEBIMAGE_BENCH_ONE: cannot open {file}: {e}"));
        let times = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let l = loader();
        let size = (mode == "thumb").then_some(BOX);
        for _ in 0..times {
            std::hint::black_box(load(&l, &file, size));
        }
        return;
    }
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |g: &str| wanted.is_empty() || wanted.iter().any(|w| w == g);
    let Some(files) = inputs() else {
        println!("avif SKIPPED: cannot make the files (Python with Pillow's AVIF needed)");
        return;
    };
    if run("thumb") {
        group("thumb", &files, Some(BOX));
    }
    if run("full") {
        group("full", &files, None);
    }
}

fn loader() -> ImageLoader {
    ImageLoader::new(Config {
        max_workers: 1,
        memory_cache_bytes: 0,
        disk_cache: None,
        ..Default::default()
    })
    .unwrap()
}

fn load(l: &ImageLoader, path: &Path, size: Option<u32>) -> (u32, u32) {
    let url = format!("file://{}", path.display());
    let request = match size {
        Some(s) => Request::new(url).thumbnail(s, s),
        None => Request::new(url),
    };
    let image = l.load_blocking(request).unwrap();
    (image.width(), image.height())
}

/// The bench files, made once with Pillow; `None` without Pillow's AVIF encoder.
fn inputs() -> Option<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-data/avif");
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = |n: &str| image::open(root.join("tests/data/corpus/exif").join(n)).unwrap();
    let landscape = corpus("Landscape_1.jpg");
    let lanczos = image::imageops::FilterType::Lanczos3;
    type Make<'a> = Box<dyn Fn() -> image::RgbImage + 'a>;
    let sources: Vec<(&str, Make<'_>)> = vec![
        ("landscape-1800x1200", Box::new(|| landscape.to_rgb8())),
        (
            "portrait-1200x1800",
            Box::new(|| corpus("Portrait_1.jpg").to_rgb8()),
        ),
        (
            "landscape-4240x2832",
            Box::new(|| landscape.resize_exact(4240, 2832, lanczos).to_rgb8()),
        ),
        (
            "landscape-5120x3413",
            Box::new(|| landscape.resize_exact(5120, 3413, lanczos).to_rgb8()),
        ),
        (
            "generated-4000x3000",
            Box::new(|| photo::photo(4000, 3000, 3)),
        ),
        (
            "generated-2560x1707",
            Box::new(|| photo::photo(2560, 1707, 5)),
        ),
    ];
    let mut out = Vec::new();
    for (name, make) in sources {
        let avif = dir.join(format!("{name}.avif"));
        if !avif.exists() {
            let png = dir.join(format!("{name}.png"));
            make().save(&png).unwrap();
            let ok = Command::new("python3")
                .args(["-c", ENCODE])
                .arg(&png)
                .arg(&avif)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            std::fs::remove_file(&png).ok();
            if !ok {
                std::fs::remove_file(&avif).ok();
                return None;
            }
        }
        out.push(avif);
    }
    Some(out)
}

/// Median of `RUNS` loads.
fn time_ours(l: &ImageLoader, path: &Path, size: Option<u32>) -> Duration {
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(load(l, path, size));
            start.elapsed()
        })
        .collect();
    t.sort();
    t[RUNS / 2]
}

/// The anchors' medians, `(anchor, file) -> ms`, and the anchors reported missing.
fn time_anchors(mode: &str, files: &[PathBuf]) -> (Vec<(String, PathBuf, f64)>, Vec<String>) {
    let out = Command::new("python3")
        .args(["-c", PY, mode, &RUNS.to_string()])
        .args(files)
        .env("VIPS_CONCURRENCY", "1")
        .output();
    let Ok(out) = out else {
        return (Vec::new(), vec!["python3 not found".into()]);
    };
    let (mut times, mut missing) = (Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(anchor), Some(file), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if file == "-" {
            missing.push(format!("{anchor} {rest}"));
        } else if let Ok(ms) = rest.trim().parse() {
            times.push((anchor.to_string(), PathBuf::from(file), ms));
        }
    }
    (times, missing)
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn group(mode: &str, files: &[PathBuf], size: Option<u32>) {
    let l = loader();
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); files.len()];
    let mut anchors: Vec<(String, PathBuf, f64)> = Vec::new();
    let mut missing = Vec::new();
    // File by file, webimage then the anchors on the same file, so a change in the machine's
    // load between the two is as short as it can be.
    for _ in 0..ROUNDS {
        for (i, f) in files.iter().enumerate() {
            ours[i].push(time_ours(&l, f, size).as_secs_f64() * 1000.0);
            let (t, m) = time_anchors(mode, std::slice::from_ref(f));
            anchors.extend(t);
            missing = m;
        }
    }
    for m in &missing {
        println!("{mode}: anchor SKIPPED: {m}");
    }
    let names: Vec<String> = {
        let mut n: Vec<String> = anchors.iter().map(|a| a.0.clone()).collect();
        n.sort();
        n.dedup();
        n
    };
    print!("{mode:<6} {:<22} {:>9}", "file", "webimage");
    for n in &names {
        print!(" {n:>9} {:>6}", "ratio");
    }
    println!();
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for (i, f) in files.iter().enumerate() {
        let name = f.file_stem().unwrap().to_string_lossy();
        let ours = median_f(ours[i].clone());
        print!("{mode:<6} {name:<22} {ours:>7.1}ms");
        for (j, n) in names.iter().enumerate() {
            let t = median_f(
                anchors
                    .iter()
                    .filter(|a| &a.0 == n && &a.1 == f)
                    .map(|a| a.2)
                    .collect(),
            );
            ratios[j].push(ours / t);
            print!(" {t:>7.1}ms {:>5.2}x", ours / t);
        }
        println!();
    }
    for (j, n) in names.iter().enumerate() {
        println!(
            "{mode}: webimage / {n}, median over the files: {:.2}x",
            median_f(ratios[j].clone())
        );
    }
}
