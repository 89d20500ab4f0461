//! Memory bounds measured with a counting allocator (one test per concern, run serially in
//! this binary so the peaks are this test's own).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::photo::{self, Jpeg};
use crate::support::*;
use webimage::{Config, Error, ImageLoader, Request};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Bytes allocated now (live heap of the whole process).
pub(crate) fn allocated() -> usize {
    CURRENT.load(Ordering::SeqCst)
}

/// Peak bytes allocated above the level when `f` started.
pub(crate) fn peak_during(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst).saturating_sub(base)
}

/// A PNG that declares `width` x `height` but carries one tiny IDAT.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32fast::hash(&c).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn an_oversized_header_is_refused_before_any_pixel_buffer() {
    let _serial = crate::serial();
    let server = Server::start();
    // 12000 x 9000 is 108 megapixels, over the default 100 MP limit; as RGBA it would be
    // 432 MB, under the `image` crate's own 512 MB default, so only our check stops it.
    server.route("/bomb.png", Route::ok(png_header_only(12_000, 9_000)));
    let loader = ImageLoader::new(config(1)).unwrap();
    let url = server.url("/bomb.png");
    let mut result = None;
    let peak = peak_during(|| result = Some(loader.load_blocking(url.as_str())));
    let err = result.unwrap().unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(peak < 2 << 20, "allocated {peak} bytes for a refused image");
}

#[test]
fn an_endless_body_keeps_memory_flat() {
    let _serial = crate::serial();
    let server = Server::start();
    server.route("/endless", Route::endless());
    let loader = ImageLoader::new(Config {
        max_download_bytes: 4 << 20,
        ..config(1)
    })
    .unwrap();
    let url = server.url("/endless");
    let mut result = None;
    let peak = peak_during(|| result = Some(loader.load_blocking(url.as_str())));
    assert!(matches!(result.unwrap(), Err(Error::TooLarge { .. })));
    // The body buffer grows to the limit (doubling), plus one read chunk and the agent's
    // buffers; nothing proportional to what the server keeps sending.
    assert!(peak < 10 << 20, "peak {peak} bytes for a 4 MiB limit");
}

/// The heap peaks of a 256 x 256 thumbnail and a 256 x 256 cover of a 12 MP JPEG, baseline
/// (DCT-scaled path) and progressive (DC-only path): each within the bound of a reduced-size
/// decode, never a full-size buffer.
#[test]
fn a_jpeg_thumbnail_or_cover_never_holds_a_full_size_buffer() {
    let _serial = crate::serial();
    let picture = photo::photo(4000, 3000, 11);
    let server = Server::start();
    let baseline = photo::jpeg(&picture, Jpeg::BASELINE, None);
    let progressive = photo::jpeg(&picture, Jpeg::PROGRESSIVE, None);
    drop(picture);
    let sizes = (baseline.len(), progressive.len());
    server.route("/baseline.jpg", Route::ok(baseline));
    server.route("/progressive.jpg", Route::ok(progressive));
    let full_rgb = 4000 * 3000 * 3;
    for (path, body, counter) in [
        ("/baseline.jpg", sizes.0, "dct_scaled"),
        ("/progressive.jpg", sizes.1, "dc_only"),
    ] {
        let mut peaks = Vec::new();
        for (kind, size) in [("thumbnail", (256, 192)), ("cover", (256, 256))] {
            // A loader per run, dropped (workers joined) before the next measurement, so
            // the worker freeing this body cannot lower the next one's peak.
            let loader = ImageLoader::new(config(1)).unwrap();
            let request = Request::new(server.url(path));
            let request = match kind {
                "thumbnail" => request.thumbnail(256, 256),
                _ => request.cover(256, 256),
            };
            let mut result = None;
            let peak = peak_during(|| result = Some(loader.load_blocking(request)));
            let image = result.unwrap().unwrap();
            assert_eq!((image.width(), image.height()), size, "{path} {kind}");
            eprintln!("{path} {kind}: {body} bytes, peak {peak} bytes");
            // The body itself is in the peak; everything else is reduced-size.
            assert!(
                peak < 8 << 20,
                "{path} {kind}: peak {peak} bytes for a {body}-byte body (full RGB is {full_rgb})"
            );
            assert!(
                peak < body + (3 << 20),
                "{path} {kind}: peak {peak}, body {body}"
            );
            let stats = loader.stats();
            let ran = match counter {
                "dct_scaled" => stats.thumbnails_dct_scaled,
                _ => stats.thumbnails_dc_only,
            };
            assert_eq!(ran, 1, "{path} {kind}: {stats:?}");
            peaks.push(peak);
        }
        // The cover reads its crop from the same reduced image: at most the thumbnail's peak
        // plus its own larger output (256 x 256 RGB and RGBA).
        assert!(
            peaks[1] <= peaks[0] + 256 * 256 * 7,
            "{path}: cover peak {} vs thumbnail peak {}",
            peaks[1],
            peaks[0]
        );
    }
}

#[test]
fn a_large_file_is_uploaded_without_being_read_into_memory() {
    let _serial = crate::serial();
    let dir = TempDir::new("alloc-upload");
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 24 << 20]).unwrap();
    let server = Server::start();
    server.discard_bodies();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let uploader = webimage::Uploader::new(webimage::UploadConfig::default()).unwrap();
    let url = server.url("/up");
    let peak = peak_during(|| {
        uploader.enqueue(
            webimage::UploadItem::put(url.as_str(), path.as_path()),
            |r| {
                r.unwrap();
            },
        );
        uploader.wait();
    });
    assert_eq!(uploader.stats().bytes_sent, 24 << 20);
    assert!(
        peak < 2 << 20,
        "uploading a 24 MiB file allocated {peak} bytes"
    );
}
