//! Issue 14 formats against the direct ways (`docs/PERFORMANCE.md` takes the figures):
//!
//! 1. `svg`: a 24x24 icon rendered at 128x128 through a webimage loader (one worker, no
//!    caches, `file://`: the whole path a load takes, with the SVG decoder's budget checks,
//!    safe resolver and straight alpha) against resvg called directly (usvg default options,
//!    render, demultiply). Median of 300 runs each.
//! 2. `jxl`: a 12-megapixel JPEG XL (4240x2832, `cjxl -d 1`, made once from the test photo
//!    and cached in `target/bench-data/formats/`) to a 256 px thumbnail: webimage (jxl-oxide
//!    on the loader's worker, full decode + Lanczos3 resize) against `djxl` + resize. libjxl has no
//!    Rust binding in the tree, so djxl runs as a process (its time includes process start
//!    and writing a PPM, which is small next to the decode): with one thread (`--num_threads=1`,
//!    like webimage's worker) and with its default threads; the PPM is then read and resized
//!    with `image` (`imageops::thumbnail`). Also webimage's full-size decode, and the peak
//!    memory growth of webimage's thumbnail decode (VmHWM after resetting it).
//!
//! Run: `cargo bench --features svg,jxl --bench formats` (or `-- svg` / `-- jxl`). Needs
//! `cjxl` and `djxl` (Debian `libjxl-tools`) for the JPEG XL group; skipped without them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use resvg::{tiny_skia, usvg};
use webimage::{Config, ImageLoader, Request};

/// Loads through a loader with one worker, no caches: each call decodes.
struct Through(ImageLoader, PathBuf);

impl Through {
    fn new(name: &str, bytes: &[u8]) -> Through {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/formats");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let loader = ImageLoader::new(Config {
            max_workers: 1,
            memory_cache_bytes: 0,
            disk_cache: None,
            ..Default::default()
        })
        .unwrap();
        Through(loader, path)
    }

    /// The image fitted into a `size` x `size` box (full size if `None`).
    fn load(&self, size: Option<u32>) -> image::RgbaImage {
        let url = format!("file://{}", self.1.display());
        let request = match size {
            Some(s) => Request::new(url).thumbnail(s, s),
            None => Request::new(url),
        };
        let image = self.0.load_blocking(request).unwrap();
        (**image.image()).clone()
    }
}

const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">
  <circle cx="12" cy="12" r="10" fill="none" stroke="#1a73e8" stroke-width="2"/>
  <path d="M7 12l3 3 7-7" fill="none" stroke="#d93025" stroke-width="2" stroke-linecap="round"/>
  <rect x="3" y="18" width="6" height="3" fill="#188038" opacity="0.5"/>
</svg>"##;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |g: &str| wanted.is_empty() || wanted.iter().any(|w| w == g);
    if run("svg") {
        svg_group();
    }
    if run("jxl") {
        jxl_group();
    }
}

/// Median wall time of `n` runs of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

fn resvg_direct(svg: &[u8], size: u32) -> image::RgbaImage {
    let tree = usvg::Tree::from_data(svg, &usvg::Options::default()).unwrap();
    let doc = tree.size();
    let mut pixmap = tiny_skia::Pixmap::new(size, size).unwrap();
    let ts =
        tiny_skia::Transform::from_scale(size as f32 / doc.width(), size as f32 / doc.height());
    resvg::render(&tree, ts, &mut pixmap.as_mut());
    let mut out = Vec::with_capacity(pixmap.data().len());
    for p in pixmap.pixels() {
        let c = p.demultiply();
        out.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    image::RgbaImage::from_raw(size, size, out).unwrap()
}

fn svg_group() {
    let bytes = ICON.as_bytes();
    let through = Through::new("icon.svg", bytes);
    assert_eq!(through.load(Some(128)).dimensions(), (128, 128));
    let ours = median(300, || {
        std::hint::black_box(through.load(Some(128)));
    });
    let direct = median(300, || {
        std::hint::black_box(resvg_direct(bytes, 128));
    });
    println!("svg  icon 24x24 -> 128x128   webimage {ours:>10.1?}   resvg direct {direct:>10.1?}");
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The 12 MP JPEG XL, made once with cjxl; `None` if cjxl is missing.
fn jxl_input(dir: &Path) -> Option<PathBuf> {
    let jxl = dir.join("photo-12mp.jxl");
    if jxl.exists() {
        return Some(jxl);
    }
    std::fs::create_dir_all(dir).unwrap();
    let photo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/exif/Landscape_0.jpg");
    let big = image::open(photo)
        .unwrap()
        .resize_exact(4240, 2832, image::imageops::FilterType::CatmullRom)
        .into_rgb8();
    let ppm = dir.join("photo-12mp.ppm");
    big.save(&ppm).unwrap();
    let ok = Command::new("cjxl")
        .arg(&ppm)
        .arg(&jxl)
        .args(["-d", "1"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    std::fs::remove_file(&ppm).unwrap();
    ok.then_some(jxl)
}

/// djxl to a PPM with `threads` (0: its default), then read and thumbnail with `image`.
fn djxl_thumbnail(jxl: &Path, out: &Path, threads: u32) -> (Duration, Duration) {
    let start = Instant::now();
    let status = Command::new("djxl")
        .arg(jxl)
        .arg(out)
        .arg(format!("--num_threads={threads}"))
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let decoded = start.elapsed();
    let img = image::open(out).unwrap().into_rgba8();
    std::hint::black_box(image::imageops::thumbnail(&img, 256, 171));
    (decoded, start.elapsed())
}

fn jxl_group() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/formats");
    let Some(path) = jxl_input(&dir) else {
        println!("jxl  SKIPPED: cjxl/djxl not installed (apt-get install libjxl-tools)");
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let through = Through::new("photo-12mp-copy.jxl", &bytes);
    // Peak memory growth of one thumbnail decode.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let base = status_kib("VmRSS:");
    let thumb = through.load(Some(256));
    let growth_mib = status_kib("VmHWM:").saturating_sub(base) / 1024;
    assert_eq!(thumb.dimensions(), (256, 171));
    let ours = median(5, || {
        std::hint::black_box(through.load(Some(256)));
    });
    let full = median(3, || {
        std::hint::black_box(through.load(None));
    });
    let ppm = dir.join("djxl-out.ppm");
    let mut one = Vec::new();
    let mut default = Vec::new();
    for _ in 0..5 {
        one.push(djxl_thumbnail(&path, &ppm, 1));
        default.push(djxl_thumbnail(&path, &ppm, 0));
    }
    one.sort();
    default.sort();
    std::fs::remove_file(&ppm).ok();
    println!(
        "jxl  12 MP ({} KiB) -> 256 px  webimage (1 thread) {ours:>8.1?} (peak +{growth_mib} MiB)   \
         webimage full size {full:>8.1?}",
        bytes.len() / 1024
    );
    println!(
        "     djxl 1 thread {:>8.1?} + read/resize = {:>8.1?}   djxl default threads {:>8.1?} + read/resize = {:>8.1?}",
        one[2].0, one[2].1, default[2].0, default[2].1
    );
}
