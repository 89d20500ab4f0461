//! Issue 5: uploading many large JPEGs keeps memory bounded by `max_concurrent`, not by the
//! number of items. Each run is a child process (this test binary, `child` role) whose peak
//! RSS (VmHWM) is compared for 20 and 200 items.

use std::path::Path;
use std::process::Command;

use crate::support::*;
use webimage::{Recompress, UploadConfig, UploadItem, Uploader};

const W: u32 = 1600;
const H: u32 = 1200;

#[test]
#[ignore = "run by the other tests in a child process"]
fn child() {
    let dir = std::env::var("WEBIMAGE_CHILD_DIR").unwrap();
    let url = std::env::var("WEBIMAGE_CHILD_URL").unwrap();
    let n: usize = std::env::var("WEBIMAGE_CHILD_N").unwrap().parse().unwrap();
    let recompress = std::env::var("WEBIMAGE_CHILD_MODE").unwrap() == "recompress";
    let uploader = Uploader::new(UploadConfig {
        recompress: recompress.then(Recompress::default),
        ..Default::default()
    })
    .unwrap();
    for i in 0..n {
        let path = Path::new(&dir).join(format!("{i}.jpg"));
        uploader.enqueue(UploadItem::put(url.as_str(), path), |r| {
            r.unwrap();
        });
    }
    uploader.wait();
    assert_eq!(uploader.stats().succeeded as usize, n);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    println!("PEAK {}", hwm.split_whitespace().nth(1).unwrap());
}

/// Peak RSS in KiB of a child uploading the first `n` files.
fn peak(dir: &Path, url: &str, n: usize, mode: &str) -> u64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "upload_memory::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEBIMAGE_CHILD_DIR", dir)
        .env("WEBIMAGE_CHILD_URL", url)
        .env("WEBIMAGE_CHILD_N", n.to_string())
        .env("WEBIMAGE_CHILD_MODE", mode)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let at = stdout.find("PEAK ").expect("child printed its peak");
    let rest = &stdout[at + 5..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn memory_does_not_grow_with_the_number_of_uploads() {
    let dir = TempDir::new("upload-memory");
    // 200 distinct photo-like 1600x1200 JPEGs at quality 85 (about 1 MB each), so reading them
    // whole would show at once.
    let noisy = noise(W, H, 1);
    let base = image::RgbImage::from_fn(W, H, |x, y| {
        let p = noisy.get_pixel(x, y).0;
        let (gx, gy) = ((x * 191 / W) as u8, (y * 191 / H) as u8);
        image::Rgb([p[0] / 8 + gx, p[1] / 8 + gy, p[2] / 8 + 64])
    });
    let mut total = 0;
    for i in 0..200u32 {
        // Distinct bytes per file: a 64x64 block of its own.
        let mut img = base.clone();
        for y in 0..64 {
            let row = ((y * W + i * 8) * 3) as usize;
            img.as_mut()[row..row + 64 * 3].fill(i as u8);
        }
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85)
            .encode_image(&img)
            .unwrap();
        total += bytes.get_ref().len();
        std::fs::write(dir.path().join(format!("{i}.jpg")), bytes.into_inner()).unwrap();
    }
    let server = Server::start();
    server.discard_bodies();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let url = server.url("/up");

    let stream_20 = peak(dir.path(), &url, 20, "stream");
    let stream_200 = peak(dir.path(), &url, 200, "stream");
    let squeeze_20 = peak(dir.path(), &url, 20, "recompress");
    let squeeze_200 = peak(dir.path(), &url, 200, "recompress");
    eprintln!(
        "{} MB of files; peak RSS KiB: stream 20={stream_20} 200={stream_200}, \
         recompress 20={squeeze_20} 200={squeeze_200}",
        total >> 20
    );
    assert_eq!(server.requests().len(), 440);
    // Streaming: the 180 extra files (about 90 MB) add nothing.
    assert!(
        stream_200 <= stream_20 + 4 * 1024,
        "stream: {stream_20} -> {stream_200} KiB"
    );
    // Recompressing: one decoded image at a time (1600x1200 RGBA is 7.5 MiB).
    assert!(
        squeeze_200 <= squeeze_20 + 8 * 1024,
        "recompress: {squeeze_20} -> {squeeze_200} KiB"
    );
    assert!(squeeze_200 < 80 * 1024, "recompress peak {squeeze_200} KiB");
}
