//! What colour management costs (`docs/PERFORMANCE.md` has the figures): the same photo as a
//! JPEG with and without an embedded Adobe RGB (1998) profile, and as a CMYK JPEG with and
//! without the tests' press-like CMYK profile, loaded through a one-worker loader (memory
//! cache off, `file://`), the two files alternating run by run so that both see the same
//! machine:
//!
//! 1. `thumbnail`: a 256 px thumbnail of a 12-megapixel photo, baseline (DCT-scaled decode)
//!    and progressive (DC scans only). The conversion runs on the 256 px output, so the
//!    profile should cost at most a few percent.
//! 2. `full`: the full-size 12-megapixel decode: the conversion runs over every pixel, and
//!    the difference is its cost.
//!
//! Run: `cargo bench --bench color` (both groups) or `cargo bench --bench color -- thumbnail`.
//! For instruction counts, `N` loads of one file in one process: `valgrind --tool=callgrind
//! target/release/deps/color-* --once <file> thumbnail|full N` (the files are in
//! `target/bench-data/color/`); the count for 11 loads less the count for 1, divided by 10,
//! is one load with the transform already cached. Custom main rather than criterion: the
//! table needs both files measured alternately in one run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The tests' colour material: the CMYK profile and the separation into inks.
#[allow(dead_code)]
#[path = "../tests/it/support/color.rs"]
mod cms;
#[path = "support/photo.rs"]
mod photo;
use webimage::{Config, ImageLoader, Request};

/// The thumbnail box.
const BOX: u32 = 256;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, file, what, n] = &args[..]
        && flag == "--once"
    {
        let loader = loader();
        for _ in 0..n.parse().expect("a number of loads") {
            load(&loader, Path::new(file), what == "thumbnail");
        }
        return;
    }
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let run = |g: &str| wanted.is_empty() || wanted.iter().any(|w| *w == g);
    let files = inputs();
    if run("thumbnail") {
        println!("thumbnail ({BOX} px box), median of 41 alternating runs each");
        for (name, plain, tagged) in &files {
            compare(name, plain, tagged, true, 41);
        }
    }
    if run("full") {
        println!("full size, median of 15 alternating runs each");
        for (name, plain, tagged) in &files {
            compare(name, plain, tagged, false, 15);
        }
    }
}

/// (name, file without a profile, the same file with one)
fn inputs() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/color");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let icc = moxcms::ColorProfile::new_adobe_rgb()
        .encode()
        .expect("an Adobe RGB profile");
    let picture = photo::photo(4000, 3000, 3);
    let mut files = Vec::new();
    for (name, progressive) in [("baseline", false), ("progressive", true)] {
        let plain = dir.join(format!("plain-{progressive}.jpg"));
        let tagged = dir.join(format!("adobe-rgb-{progressive}.jpg"));
        if !plain.exists() || !tagged.exists() {
            let bytes = photo::jpeg(&picture, progressive);
            std::fs::write(&tagged, with_profile(&bytes, &icc)).expect("write");
            std::fs::write(&plain, bytes).expect("write");
        }
        files.push((format!("4000x3000 {name}"), plain, tagged));
    }
    // CMYK: the plain formula without a profile, the 17-point profile with one (its 501 KiB
    // take eight APP2 chunks).
    let plain = dir.join("cmyk-plain.jpg");
    let tagged = dir.join("cmyk-profile.jpg");
    if !plain.exists() || !tagged.exists() {
        let inks = cms::separate(&picture);
        let encode = |icc: Option<&[u8]>| {
            let mut out = Vec::new();
            let mut e = jpeg_encoder::Encoder::new(&mut out, 85);
            if let Some(icc) = icc {
                e.add_icc_profile(icc).expect("profile");
            }
            e.encode(&inks, 4000, 3000, jpeg_encoder::ColorType::Cmyk)
                .expect("encode");
            out
        };
        std::fs::write(&tagged, encode(Some(&cms::cmyk_profile(17)))).expect("write");
        std::fs::write(&plain, encode(None)).expect("write");
    }
    files.push(("4000x3000 CMYK".into(), plain, tagged));
    files
}

/// `jpeg` with `icc` in one APP2 segment right after SOI.
fn with_profile(jpeg: &[u8], icc: &[u8]) -> Vec<u8> {
    let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
    payload.extend_from_slice(icc);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE2]);
    out.extend_from_slice(
        &u16::try_from(payload.len() + 2)
            .expect("one chunk")
            .to_be_bytes(),
    );
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn loader() -> ImageLoader {
    ImageLoader::new(Config {
        max_workers: 1,
        memory_cache_bytes: 0,
        disk_cache: None,
        ..Config::default()
    })
    .expect("loader")
}

fn load(loader: &ImageLoader, path: &Path, thumbnail: bool) -> Duration {
    let url = url::Url::from_file_path(path.canonicalize().expect("path")).expect("file URL");
    let request = Request::new(url.as_str());
    let request = if thumbnail {
        request.thumbnail(BOX, BOX)
    } else {
        request
    };
    let start = Instant::now();
    let image = loader.load_blocking(request).expect("load");
    std::hint::black_box(image);
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Loads `plain` and `tagged` alternately `runs` times each (after one warm-up each, which
/// also builds the transform) and prints the medians and their ratio.
fn compare(name: &str, plain: &Path, tagged: &Path, thumbnail: bool, runs: usize) {
    let loader = loader();
    load(&loader, plain, thumbnail);
    load(&loader, tagged, thumbnail);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(load(&loader, plain, thumbnail));
        b.push(load(&loader, tagged, thumbnail));
    }
    let (a, b) = (median(a), median(b));
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    let delta = b.as_secs_f64() - a.as_secs_f64();
    println!(
        "  {name:24} no profile {:8.2} ms   profile {:8.2} ms   ratio {ratio:.3}   difference {:+.2} ms",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        delta * 1e3
    );
}
