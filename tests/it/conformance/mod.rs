//! Issue 22: what the reference decoders decode, webimage decodes the same. Each class of
//! file the issue lists is built here, loaded through `ImageLoader` (full size and as a
//! thumbnail), and compared with what was written and with Pillow's decode of the same
//! bytes (skipped with a message where Pillow is missing; CI installs it): same size, same
//! orientation, MAD <= 3.

use std::sync::atomic::{AtomicUsize, Ordering};

use image::{Rgba, RgbaImage};

use crate::support::photo::mad;
use crate::support::*;
use webimage::{Error, ImageLoader, Request};

/// `bytes` written to a file of their own and loaded through a loader, full size, or as a
/// `thumb` px thumbnail.
fn load(bytes: &[u8], ext: &str, thumb: Option<u32>) -> Result<RgbaImage, Error> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = TempDir::new("conformance");
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = dir.path().join(format!("file-{n}.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let loader = ImageLoader::new(config(1)).unwrap();
    let mut request = Request::new(file_url(&path));
    if let Some(size) = thumb {
        request = request.thumbnail(size, size);
    }
    loader.load_blocking(request).map(|i| (**i.image()).clone())
}

/// Loads `bytes` full size and checks them against `want` (what was written) and Pillow's
/// decode of the same bytes; then a thumbnail of them loads.
fn conforms(what: &str, bytes: &[u8], ext: &str, want: &RgbaImage) {
    let got = load(bytes, ext, None).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(got.dimensions(), want.dimensions(), "{what}: size");
    let d = mad(&got, want);
    assert!(d <= 3.0, "{what}: MAD {d} against the pixels written");
    if let Some(reference) = pillow::still(bytes, ext) {
        assert_eq!(
            got.dimensions(),
            reference.dimensions(),
            "{what}: Pillow's size"
        );
        let d = mad(&got, &reference);
        assert!(d <= 3.0, "{what}: MAD {d} against Pillow");
    }
    let thumb = load(bytes, ext, Some(8)).unwrap_or_else(|e| panic!("{what} thumbnail: {e}"));
    assert!(
        thumb.width() <= 8 && thumb.height() <= 8,
        "{what}: thumbnail size"
    );
}

mod abort;
mod bmp;
mod tga;
mod tiff;

#[test]
fn png_one_bit_gray_keeps_its_trns_transparency() {
    // 16 x 3, alternating bits; white is the transparent value.
    let rows = [[0xAAu8, 0x55], [0xF0, 0x0F], [0xFF, 0x00]];
    let want = RgbaImage::from_fn(16, 3, |x, y| {
        let bit = rows[y as usize][(x / 8) as usize] >> (7 - x % 8) & 1;
        if bit == 1 {
            Rgba([255, 255, 255, 0])
        } else {
            Rgba([0, 0, 0, 255])
        }
    });
    let raw: Vec<u8> = rows.iter().flatten().copied().collect();
    // 1 as the specification has it; 0x00ff and 0xffff as writers scaling to 8 or 16 bits
    // store it (libpng and Pillow mask the value to the bit depth). The `png` encoder
    // writes the tRNS bytes it is given as they are.
    for trns in [1u16, 0x00ff, 0xffff] {
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 16, 3);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_trns(trns.to_be_bytes().to_vec());
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&raw).unwrap();
        writer.finish().unwrap();
        conforms(&format!("tRNS {trns:#x}"), &png, "png", &want);
    }
}

/// `jpeg` with `segment` (marker and payload; the length is written here unless `len` says
/// otherwise) inserted after SOI.
fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8], len: Option<u16>) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    let len = len.unwrap_or(payload.len() as u16 + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The reference is the file without the segment: libjpeg skips such a segment
/// (`jdmarker.c`: `get_interesting_appn` reads an Adobe block only when whole, `skip_variable`
/// for the rest, extraneous bytes before a marker a warning). Pillow is no reference here:
/// its own Python marker parser refuses the truncated Adobe segment before libjpeg runs.
#[test]
fn jpeg_with_truncated_or_odd_appn_and_com_segments_decodes_as_libjpeg_does() {
    let picture = picture(96, 64, 3);
    let jpeg = encode(&picture, image::ImageFormat::Jpeg);
    let clean = load(&jpeg, "jpg", None).unwrap();
    let clean_thumb = load(&jpeg, "jpg", Some(24)).unwrap();
    for (what, bytes) in [
        // The Adobe block cut short (libjpeg: read only with its 12 bytes, else skipped).
        (
            "APP14 'Adobe' of 6 bytes",
            with_segment(&jpeg, 0xEE, b"Adobe\0", None),
        ),
        (
            "APP14 'Adobe' of 3 bytes",
            with_segment(&jpeg, 0xEE, b"Ado", None),
        ),
        // An unknown transform (libjpeg: a warning, the default colour space).
        (
            "APP14 transform 7",
            with_segment(&jpeg, 0xEE, b"Adobe\0\x64\0\0\0\0\x07", None),
        ),
        // Segments shorter than what follows them: the rest is skipped up to the next marker.
        (
            "APP1 Exif cut short",
            with_segment(&jpeg, 0xE1, b"Exif\0\0II*\0junk", Some(8)),
        ),
        (
            "APP2 ICC cut short",
            with_segment(&jpeg, 0xE2, b"ICC_PROFILE\0\x01\x01junk", Some(6)),
        ),
        ("COM of 0 bytes", with_segment(&jpeg, 0xFE, b"", None)),
        (
            "APP15 of 60000 bytes",
            with_segment(&jpeg, 0xEF, &[7; 60000], None),
        ),
    ] {
        let full = load(&bytes, "jpg", None).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(full.dimensions(), clean.dimensions(), "{what}");
        let d = mad(&full, &clean);
        assert!(
            d <= 3.0,
            "{what}: MAD {d} against the file without the segment"
        );
        let thumb = load(&bytes, "jpg", Some(24)).unwrap_or_else(|e| panic!("{what} thumb: {e}"));
        assert!(mad(&thumb, &clean_thumb) <= 3.0, "{what}: thumbnail");
    }
}

#[test]
fn gif_without_any_colour_table_decodes_as_gray() {
    // 1 x 1, no global or local table, index 1; LZW minimum code size 2: clear, 1, end.
    let one = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x4c\x01\x00;";
    conforms(
        "1x1",
        one,
        "gif",
        &RgbaImage::from_pixel(1, 1, Rgba([1, 1, 1, 255])),
    );
    // A larger one through the `gif` crate's encoder, told no table at all.
    let (w, h) = (12u16, 5u16);
    let indices: Vec<u8> = (0..w * h).map(|i| (i * 17 % 256) as u8).collect();
    let mut gif = Vec::new();
    {
        // The encoder wants a table: one of 256 entries, cut out of the file after.
        let table = vec![9u8; 768];
        let mut encoder = gif::Encoder::new(&mut gif, w, h, &table).unwrap();
        let frame = gif::Frame {
            width: w,
            height: h,
            buffer: std::borrow::Cow::Borrowed(&indices),
            ..gif::Frame::default()
        };
        encoder.write_frame(&frame).unwrap();
    }
    assert_eq!(gif[10] & 0x87, 0x87, "a global table of 256 entries");
    gif.drain(13..13 + 768);
    gif[10] &= !0x87;
    let want = RgbaImage::from_fn(u32::from(w), u32::from(h), |x, y| {
        let v = indices[(y * u32::from(w) + x) as usize];
        Rgba([v, v, v, 255])
    });
    conforms("12x5", &gif, "gif", &want);
}

#[test]
fn ico_whose_entry_size_disagrees_with_its_image_decodes_at_the_image_size() {
    let picture = picture(48, 40, 5);
    let png = encode(&picture, image::ImageFormat::Png);
    let mut ico = vec![0, 0, 1, 0, 1, 0, 32, 32, 0, 0, 1, 0, 32, 0];
    ico.extend_from_slice(&(png.len() as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    ico.extend_from_slice(&png);
    conforms("PNG 48x40 listed as 32x32", &ico, "ico", &picture);
}

/// A QOI file of `width` x 1 with `channels` and the given chunks, padding added.
fn qoi(width: u32, channels: u8, ops: &[u8]) -> Vec<u8> {
    let mut f = b"qoif".to_vec();
    f.extend_from_slice(&width.to_be_bytes());
    f.extend_from_slice(&1u32.to_be_bytes());
    f.extend_from_slice(&[channels, 0]);
    f.extend_from_slice(ops);
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    f
}

#[test]
fn qoi_of_index_chunks_alone_decodes_as_the_reference_does() {
    // The reference decoder (qoi.h) starts with an all-zero index: OP_INDEX 0 on the first
    // pixel is (0, 0, 0, 0) in an RGBA file and black in an RGB one.
    let rgba = load(&qoi(1, 4, &[0x00]), "qoi", None).unwrap();
    assert_eq!(rgba.into_raw(), [0, 0, 0, 0]);
    let rgb = load(&qoi(1, 3, &[0x00]), "qoi", None).unwrap();
    assert_eq!(rgb.into_raw(), [0, 0, 0, 255]);
    // OP_RGBA (10, 20, 30, 40), hash (10*3 + 20*5 + 30*7 + 40*11) % 64 = 12, then OP_INDEX 12.
    let two = load(&qoi(2, 4, &[0xFF, 10, 20, 30, 40, 12]), "qoi", None).unwrap();
    assert_eq!(two.into_raw(), [10, 20, 30, 40, 10, 20, 30, 40]);
}
