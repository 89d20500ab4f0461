//! Pillow (libwebp's animation decoder, `WebPAnimDecoder`) as the reference for animated
//! WebP: what browsers and image services show. CI installs Pillow (`.ci/run`); where it is
//! missing, [`webp_frames`] says so and returns `None`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use image::RgbaImage;

use super::TempDir;

const SCRIPT: &str = r#"
import sys
from PIL import Image, ImageSequence
im = Image.open(sys.argv[1])
print(im.size[0], im.size[1], im.info.get("loop", 0), getattr(im, "n_frames", 1))
# Each frame converted while the iterator is on it: the iterator seeks one image object.
for i, f in enumerate(ImageSequence.Iterator(im)):
    open("%s/%d.rgba" % (sys.argv[2], i), "wb").write(f.convert("RGBA").tobytes())
    print(f.info.get("duration", 0))
"#;

/// Every composed frame of an animated WebP as Pillow gives it (RGBA, duration), and the
/// loop count (0: for ever); `None` where Pillow is not installed.
pub fn webp_frames(bytes: &[u8]) -> Option<(Vec<(RgbaImage, Duration)>, u32)> {
    let dir = TempDir::new("pillow");
    let file = dir.path().join("in.webp");
    std::fs::write(&file, bytes).unwrap();
    let text = python(SCRIPT, &file, dir.path())?;
    let mut lines = text.lines();
    let head: Vec<u32> = lines
        .next()?
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let (w, h, loops, n) = (head[0], head[1], head[2], head[3]);
    let frames = (0..n)
        .zip(lines)
        .map(|(i, d)| {
            let raw = std::fs::read(dir.path().join(format!("{i}.rgba"))).unwrap();
            let image = RgbaImage::from_raw(w, h, raw).unwrap();
            (image, Duration::from_millis(d.trim().parse().unwrap()))
        })
        .collect();
    Some((frames, loops))
}

/// What `script` prints, run by python3 with `input` and `output` as its arguments; `None`
/// (with a message) where python3 or Pillow is missing. Panics when Pillow fails otherwise.
fn python(script: &str, input: &Path, output: &Path) -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(input)
        .arg(output)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("No module named"), "Pillow failed: {err}");
        eprintln!("skipped: Pillow is not installed (pip install Pillow)");
        return None;
    }
    Some(String::from_utf8(out.stdout).unwrap())
}

const STILL: &str = r#"
import sys
from PIL import Image
im = Image.open(sys.argv[1])
im.load()
print(im.size[0], im.size[1])
open(sys.argv[2], "wb").write(im.convert("RGBA").tobytes())
"#;

/// A still image as Pillow decodes it, as RGBA (Pillow's TGA, BMP, GIF, ICO, PNG readers:
/// the reference for the conformance tests); `None` where Pillow is not installed. Panics
/// when Pillow is there and refuses the file: the tests only give it files it reads.
pub fn still(bytes: &[u8], ext: &str) -> Option<RgbaImage> {
    let dir = TempDir::new("pillow-still");
    let file = dir.path().join(format!("in.{ext}"));
    let raw = dir.path().join("out.rgba");
    std::fs::write(&file, bytes).unwrap();
    let text = python(STILL, &file, &raw)?;
    let size: Vec<u32> = text
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    RgbaImage::from_raw(size[0], size[1], std::fs::read(raw).unwrap())
}
