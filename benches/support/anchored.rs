//! What the format benches against Python anchors share (`webp.rs`, `avif.rs`): the six
//! photos (the corpus's 1800x1200 landscape and portrait, the landscape enlarged to 12 MP and
//! 5120x3413 with Lanczos3, two generated photo-like pictures), encoded once by the bench; a
//! loader with one worker and caches off; the `thumb`/`full` groups, file by file, webimage
//! `RUNS` times then the anchors' Python script on the same file, `ROUNDS` rounds, medians and
//! ratios; and the `WEBIMAGE_BENCH_ONE=thumb|full FILE [N]` hook for callgrind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use webimage::{Config, ImageLoader, Request};

/// The thumbnail box.
const BOX: u32 = 256;
const ROUNDS: usize = 3;
/// Runs per file and round, for webimage and (passed to the script) each anchor.
const RUNS: usize = 5;

/// One format's bench.
pub struct Bench {
    /// The format's name: the files' extension and their folder under `target/bench-data`.
    pub name: &'static str,
    /// The anchors' Python script: `argv` is the mode, `RUNS` and the files; it prints
    /// `anchor file milliseconds` (the median) per file, or `anchor - missing: why`.
    pub anchors: &'static str,
    /// Makes the bench's file (second path) from a PNG (first path); `false` if it cannot.
    pub encode: fn(&Path, &Path) -> bool,
    /// What to say when the files cannot be made.
    pub skipped: &'static str,
}

/// The bench's `main`: `WEBIMAGE_BENCH_ONE`, or the groups named on the command line (all
/// without a name).
pub fn run(bench: &Bench) {
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
    let Some(files) = inputs(bench) else {
        println!("{} SKIPPED: {}", bench.name, bench.skipped);
        return;
    };
    if run("thumb") {
        group(bench.anchors, "thumb", &files, Some(BOX));
    }
    if run("full") {
        group(bench.anchors, "full", &files, None);
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

/// The bench files, made once in `target/bench-data/<name>/` by `bench.encode` (a PNG in,
/// the bench's file out); `None` when it cannot make them.
fn inputs(bench: &Bench) -> Option<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-data").join(bench.name);
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
            Box::new(|| crate::photo::photo(4000, 3000, 3)),
        ),
        (
            "generated-2560x1707",
            Box::new(|| crate::photo::photo(2560, 1707, 5)),
        ),
    ];
    let mut out = Vec::new();
    for (name, make) in sources {
        let file = dir.join(format!("{name}.{}", bench.name));
        if !file.exists() {
            let png = dir.join(format!("{name}.png"));
            make().save(&png).unwrap();
            let ok = (bench.encode)(&png, &file);
            std::fs::remove_file(&png).ok();
            if !ok {
                std::fs::remove_file(&file).ok();
                return None;
            }
        }
        out.push(file);
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
fn time_anchors(
    py: &str,
    mode: &str,
    files: &[PathBuf],
) -> (Vec<(String, PathBuf, f64)>, Vec<String>) {
    let out = Command::new("python3")
        .args(["-c", py, mode, &RUNS.to_string()])
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

fn group(py: &str, mode: &str, files: &[PathBuf], size: Option<u32>) {
    let l = loader();
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); files.len()];
    let mut anchors: Vec<(String, PathBuf, f64)> = Vec::new();
    let mut missing = Vec::new();
    // File by file, webimage then the anchors on the same file, so a change in the machine's
    // load between the two is as short as it can be.
    for _ in 0..ROUNDS {
        for (i, f) in files.iter().enumerate() {
            ours[i].push(time_ours(&l, f, size).as_secs_f64() * 1000.0);
            let (t, m) = time_anchors(py, mode, std::slice::from_ref(f));
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
