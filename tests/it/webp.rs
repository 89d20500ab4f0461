//! Issue 20: WebP through the public API. EXIF orientation 1-8 from WebP's `EXIF` chunk
//! (lossy files made with `cwebp -metadata exif`, lossless ones made here) and PNG's `eXIf`
//! chunk (before and after the image data), on full loads, thumbnails and covers; lossy
//! thumbnails take the reduced path and stay within the thumbnail tests' MAD of a full
//! decode + Lanczos3.

use crate::support::photo;
use crate::support::*;
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, RgbaImage};
use webimage::{Config, ImageLoader, Request};

fn loader() -> ImageLoader {
    ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap()
}

fn webp_file(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/webp")
        .join(name)
}

/// EXIF orientation `n` (1..=8) as the `image` crate names it.
fn orientation(n: u8) -> Orientation {
    Orientation::from_exif(n).unwrap()
}

/// What a camera stores for an upright `picture` it tags with orientation `n`: the inverse
/// transform (90 and 270 swap; the others undo themselves).
fn stored_for(picture: &RgbaImage, n: u8) -> RgbaImage {
    let inverse = match n {
        6 => 8,
        8 => 6,
        other => other,
    };
    let mut d = DynamicImage::ImageRgba8(picture.clone());
    d.apply_orientation(orientation(inverse));
    d.into_rgba8()
}

/// A TIFF block holding only the orientation tag.
fn exif(n: u8) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x0112u16.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&u32::from(n).to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

fn riff_chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    c.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// A lossless WebP of `stored` (the `image` crate's encoder) in an extended container with
/// an `EXIF` chunk of orientation `n`.
fn lossless_webp(stored: &RgbaImage, n: u8) -> Vec<u8> {
    let simple = encode(stored, ImageFormat::WebP);
    assert_eq!(&simple[12..16], b"VP8L");
    let vp8l = &simple[20..];
    let (w, h) = (stored.width() - 1, stored.height() - 1);
    let mut vp8x = vec![0x10 | 0x08, 0, 0, 0];
    vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
    let body = [
        riff_chunk(b"VP8X", &vp8x),
        riff_chunk(b"VP8L", vp8l),
        riff_chunk(b"EXIF", &exif(n)),
    ]
    .concat();
    let mut f = b"RIFF".to_vec();
    f.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
    f.extend_from_slice(b"WEBP");
    f.extend_from_slice(&body);
    f
}

/// A PNG of `stored` with an `eXIf` chunk of orientation `n`, before the image data or
/// after it (which the PNG specification also allows).
fn png_with_exif(stored: &RgbaImage, n: u8, after_data: bool) -> Vec<u8> {
    let png = encode(stored, ImageFormat::Png);
    let payload = exif(n);
    let mut chunk = (payload.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"eXIf");
    chunk.extend_from_slice(&payload);
    chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());
    // After IHDR (8 + 25 bytes), or before IEND (the last 12 bytes).
    let at = if after_data { png.len() - 12 } else { 8 + 25 };
    [&png[..at], &chunk, &png[at..]].concat()
}

#[test]
fn lossy_webp_exif_orientations_all_decode_upright() {
    let loader = loader();
    let reference = loader
        .load_blocking(file_url(&webp_file("landscape-1.webp")))
        .unwrap();
    assert_eq!((reference.width(), reference.height()), (120, 80));
    let small_ref = image::imageops::resize(
        &**reference.image(),
        30,
        20,
        image::imageops::FilterType::Lanczos3,
    );
    for n in 1..=8 {
        let url = file_url(&webp_file(&format!("landscape-{n}.webp")));
        let full = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!((full.width(), full.height()), (120, 80), "landscape-{n}");
        let d = photo::mad(full.image(), reference.image());
        assert!(d < 3.0, "landscape-{n} differs from upright by {d:.2}/255");
        // The thumbnail path (reduced in YUV, then turned upright) and the cover.
        let before = loader.stats();
        let thumb = loader
            .load_blocking(Request::new(url.as_str()).thumbnail(30, 30))
            .unwrap();
        let after = loader.stats();
        assert_eq!(
            after.thumbnails_webp_reduced - before.thumbnails_webp_reduced,
            1,
            "landscape-{n}: the reduced path"
        );
        assert_eq!((thumb.width(), thumb.height()), (30, 20), "landscape-{n}");
        let d = photo::mad(thumb.image(), &small_ref);
        assert!(
            d < 4.0,
            "landscape-{n} thumbnail differs from upright by {d:.2}/255"
        );
        let cover = loader
            .load_blocking(Request::new(url.as_str()).cover(20, 20))
            .unwrap();
        assert_eq!((cover.width(), cover.height()), (20, 20), "landscape-{n}");
        let centre = image::imageops::crop_imm(&small_ref, 5, 0, 20, 20).to_image();
        let d = photo::mad(cover.image(), &centre);
        assert!(
            d < 6.0,
            "landscape-{n} cover differs from upright by {d:.2}/255"
        );
    }
}

#[test]
fn lossless_webp_and_png_orientations_are_exact() {
    let loader = loader();
    let upright = picture(24, 16, 3);
    for n in 1..=8u8 {
        let stored = stored_for(&upright, n);
        let files = [
            ("webp", lossless_webp(&stored, n)),
            ("png eXIf before IDAT", png_with_exif(&stored, n, false)),
            ("png eXIf after IDAT", png_with_exif(&stored, n, true)),
        ];
        for (what, bytes) in files {
            let url = format!("data:image/x;base64,{}", base64(&bytes));
            let full = loader.load_blocking(url.as_str()).unwrap();
            assert_eq!(**full.image(), upright, "{what}, orientation {n}");
            let thumb = loader
                .load_blocking(Request::new(url.as_str()).thumbnail(12, 12))
                .unwrap();
            assert_eq!(
                (thumb.width(), thumb.height()),
                (12, 8),
                "{what}, orientation {n}"
            );
            let cover = loader
                .load_blocking(Request::new(url.as_str()).cover(16, 16))
                .unwrap();
            let centre = image::imageops::crop_imm(&upright, 4, 0, 16, 16).to_image();
            assert_eq!(**cover.image(), centre, "{what} cover, orientation {n}");
        }
    }
}

/// Standard base64 (for data: URLs).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn lossy_thumbnails_match_a_full_decode_and_lanczos3() {
    let loader = loader();
    // Committed files: 600x400 into 150 (factor 2), 250x375 into 60 (factor 2), and, where
    // cwebp is installed, a generated 2400x1600 photo into 256 (factor 4) and 100 (factor 8).
    let mut cases: Vec<(String, Vec<u8>, u32)> = vec![
        (
            "photo-600x400-q80".into(),
            std::fs::read(webp_file("photo-600x400-q80.webp")).unwrap(),
            150,
        ),
        (
            "photo-250x375-q95".into(),
            std::fs::read(webp_file("photo-250x375-q95.webp")).unwrap(),
            60,
        ),
    ];
    match cwebp(&photo::photo(2400, 1600, 7)) {
        Some(bytes) => {
            cases.push(("generated 2400x1600 in 256".into(), bytes.clone(), 256));
            cases.push(("generated 2400x1600 in 100".into(), bytes, 100));
        }
        None => eprintln!("skipped the generated photo: cwebp (Debian webp) is not installed"),
    }
    for (name, bytes, b) in cases {
        let url = format!("data:image/webp;base64,{}", base64(&bytes));
        let before = loader.stats();
        let thumb = loader
            .load_blocking(Request::new(url.as_str()).thumbnail(b, b))
            .unwrap();
        assert_eq!(
            loader.stats().thumbnails_webp_reduced - before.thumbnails_webp_reduced,
            1,
            "{name}"
        );
        let reference = photo::reference(&bytes, thumb.image().dimensions());
        let d = photo::mad(thumb.image(), &reference);
        eprintln!("{name}: {}x{} mad {d:.3}", thumb.width(), thumb.height());
        assert!(d <= 2.0, "{name}: mad {d:.3}");
    }
}

/// `cwebp -q 80` of a picture, or `None` where cwebp is missing.
fn cwebp(picture: &image::RgbImage) -> Option<Vec<u8>> {
    let dir = TempDir::new("cwebp");
    let png = dir.path().join("in.png");
    let out = dir.path().join("out.webp");
    picture.save(&png).unwrap();
    let status = std::process::Command::new("cwebp")
        .args(["-quiet", "-q", "80"])
        .arg(&png)
        .arg("-o")
        .arg(&out)
        .status()
        .ok()?;
    assert!(status.success(), "cwebp failed");
    Some(std::fs::read(out).unwrap())
}
