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

use std::path::Path;
use std::process::Command;

#[path = "support/anchored.rs"]
mod anchored;
// The JPEG half of the photo helpers is for the other benches.
#[allow(dead_code)]
#[path = "support/photo.rs"]
mod photo;
use anchored::Bench;

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

/// AVIF q60 with Pillow ([`ENCODE`]).
fn encode(png: &Path, avif: &Path) -> bool {
    Command::new("python3")
        .args(["-c", ENCODE])
        .arg(png)
        .arg(avif)
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    anchored::run(&Bench {
        name: "avif",
        anchors: PY,
        encode,
        skipped: "cannot make the files (Python with Pillow's AVIF needed)",
    });
}
