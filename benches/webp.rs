//! Issue 20: lossy WebP against libwebp as people use it (`docs/PERFORMANCE.md` has the
//! figures). Two groups, anchors alternating with webimage in the same run, on the same
//! files:
//!
//! 1. `thumb`: 256 px thumbnails (fit in 256x256) of real photos saved as lossy WebP q80:
//!    webimage (a loader with one worker, caches off, `file://`: the whole path a load takes)
//!    against Pillow (`Image.open` + `thumbnail((256, 256), LANCZOS)`: libwebp's full decode,
//!    then Pillow's reduce + Lanczos) and libvips (`pyvips.Image.thumbnail(file, 256)`:
//!    libwebp's scaled decode, "shrink-on-load"), both in one Python process that times its
//!    own loop, so interpreter start-up is not counted. libvips runs with one thread
//!    (`VIPS_CONCURRENCY=1`), like webimage's one worker.
//! 2. `full`: full-size decodes of the same files: webimage against Pillow (`Image.open` +
//!    `load()`).
//!
//! (The heap peak of a thumbnail is measured exactly, with the counting allocator, in
//! `tests/process/webp.rs`.)
//!
//! Files (made once, cached in `target/bench-data/webp/`): the corpus's 1800x1200 real
//! photos `exif/Landscape_1.jpg` and `exif/Portrait_1.jpg`, the landscape enlarged to 12 MP
//! (4240x2832) and to 5120x3413 with Lanczos3, and two generated photo-like pictures
//! (`support/photo.rs`, 4000x3000 and 2560x1707); each encoded with `cwebp -q 80`. Each
//! round goes file by file: webimage `RUNS` times (median), then each anchor on the same file,
//! so the machine's load changes little between them; the table gives the median of `ROUNDS`
//! rounds.
//!
//! Run: `cargo bench --bench webp` (or `-- thumb` / `-- full`). Needs `cwebp` (Debian `webp`)
//! to make the files, Python with Pillow and pyvips (`pip install Pillow pyvips`, Debian
//! `libvips42`) for the anchors: a missing anchor is reported and skipped.
//!
//! `WEBIMAGE_BENCH_ONE=thumb|full FILE [N]` decodes FILE once (or N times) and exits (for
//! callgrind, or a whole-process timing).

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

/// `cwebp -q 80`, as the issue made its files.
fn encode(png: &Path, webp: &Path) -> bool {
    Command::new("cwebp")
        .args(["-quiet", "-q", "80"])
        .arg(png)
        .arg("-o")
        .arg(webp)
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    anchored::run(&Bench {
        name: "webp",
        anchors: PY,
        encode,
        skipped: "cwebp not installed (apt-get install webp)",
    });
}
