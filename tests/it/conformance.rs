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

mod tga {
    use super::*;

    /// How a test TGA stores its pixels.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        /// Type 2/10: BGR(A) at 24 or 32 bits, or 16-bit 5-5-5 (attribute bit 0, no alpha
        /// bits: Pillow reads a set attribute bit as transparent, `image` ignores it).
        True(u8),
        /// Type 1/9: 8-bit indices into a 24-bit map.
        Mapped,
        /// Type 3/11: gray, or gray and alpha (16 bits).
        Gray(u8),
    }

    /// A 37 x 23 picture with runs (for RLE), few colours (for a map) and, for the kinds
    /// with alpha, an alpha ramp; as the kind can store it.
    fn source(kind: Kind) -> RgbaImage {
        let palette: Vec<[u8; 3]> = (0..16u8)
            .map(|i| [i * 16, 255 - i * 13, (u16::from(i) * 71 % 255) as u8])
            .collect();
        RgbaImage::from_fn(37, 23, |x, y| {
            let [r, g, b] = palette[((x / 4 + y / 3) % 16) as usize];
            let a = (x * 7) as u8;
            match kind {
                Kind::True(32) => Rgba([r, g, b, a]),
                Kind::True(16) => {
                    let q = |v: u8| ((v >> 3) << 3) | (v >> 5);
                    Rgba([q(r), q(g), q(b), 255])
                }
                Kind::Gray(16) => Rgba([r, r, r, a]),
                Kind::Gray(_) => Rgba([r, r, r, 255]),
                _ => Rgba([r, g, b, 255]),
            }
        })
    }

    /// `image` as a TGA of `kind`, RLE or raw, rows from `top` or the bottom, pixels
    /// right to left when `right`.
    fn write(image: &RgbaImage, kind: Kind, rle: bool, top: bool, right: bool) -> Vec<u8> {
        let (w, h) = image.dimensions();
        let mut palette: Vec<[u8; 3]> = Vec::new();
        let pixel = |p: &Rgba<u8>, palette: &mut Vec<[u8; 3]>| -> Vec<u8> {
            let [r, g, b, a] = p.0;
            match kind {
                Kind::True(24) => vec![b, g, r],
                Kind::True(32) => vec![b, g, r, a],
                Kind::True(_) => {
                    let v =
                        (u16::from(r >> 3) << 10) | (u16::from(g >> 3) << 5) | u16::from(b >> 3);
                    v.to_le_bytes().to_vec()
                }
                Kind::Mapped => {
                    let i = palette
                        .iter()
                        .position(|c| *c == [r, g, b])
                        .unwrap_or_else(|| {
                            palette.push([r, g, b]);
                            palette.len() - 1
                        });
                    vec![i as u8]
                }
                Kind::Gray(16) => vec![r, a],
                Kind::Gray(_) => vec![r],
            }
        };
        let mut rows: Vec<Vec<Vec<u8>>> = Vec::new();
        for row in 0..h {
            let y = if top { row } else { h - 1 - row };
            let xs: Vec<u32> = if right {
                (0..w).rev().collect()
            } else {
                (0..w).collect()
            };
            rows.push(
                xs.iter()
                    .map(|&x| pixel(image.get_pixel(x, y), &mut palette))
                    .collect(),
            );
        }
        let (ty, depth, alpha) = match kind {
            Kind::True(32) => (2, 32, 8),
            Kind::True(24) => (2, 24, 0),
            Kind::True(_) => (2, 16, 0),
            Kind::Mapped => (1, 8, 0),
            Kind::Gray(16) => (3, 16, 8),
            Kind::Gray(_) => (3, 8, 0),
        };
        let mut out = vec![0u8; 18];
        out[0] = 3; // an image id, skipped
        out[2] = ty | if rle { 8 } else { 0 };
        if matches!(kind, Kind::Mapped) {
            out[1] = 1;
            out[5..7].copy_from_slice(&(palette.len() as u16).to_le_bytes());
            out[7] = 24;
        }
        out[12..14].copy_from_slice(&(w as u16).to_le_bytes());
        out[14..16].copy_from_slice(&(h as u16).to_le_bytes());
        out[16] = depth;
        out[17] = alpha | if top { 0x20 } else { 0 } | if right { 0x10 } else { 0 };
        out.extend_from_slice(b"id!");
        for c in &palette {
            out.extend_from_slice(&[c[2], c[1], c[0]]);
        }
        for row in rows {
            if rle {
                packets(&row, &mut out);
            } else {
                out.extend(row.concat());
            }
        }
        // A TGA 2.0 footer (no extension or developer area).
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(b"TRUEVISION-XFILE.\0");
        out
    }

    /// One row as RLE packets: runs of 2 or more as run packets, the rest as raw packets.
    fn packets(row: &[Vec<u8>], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < row.len() {
            let run = row[i..]
                .iter()
                .take(128)
                .take_while(|p| **p == row[i])
                .count();
            if run >= 2 {
                out.push(0x80 | (run - 1) as u8);
                out.extend_from_slice(&row[i]);
                i += run;
            } else {
                let mut n = 1;
                while i + n < row.len() && n < 128 && row[i + n] != row[i + n - 1] {
                    n += 1;
                }
                out.push((n - 1) as u8);
                out.extend(row[i..i + n].concat());
                i += n;
            }
        }
    }

    #[test]
    fn every_variant_and_origin_decodes_as_written() {
        for kind in [
            Kind::True(24),
            Kind::True(32),
            Kind::True(16),
            Kind::Mapped,
            Kind::Gray(8),
            Kind::Gray(16),
        ] {
            let image = source(kind);
            for rle in [false, true] {
                for (top, right) in [(false, false), (true, false), (true, true), (false, true)] {
                    let what = format!("{kind:?} rle {rle} top {top} right {right}");
                    conforms(&what, &write(&image, kind, rle, top, right), "tga", &image);
                }
            }
        }
    }

    #[test]
    fn a_tga_declaring_more_than_its_bytes_is_a_decode_error() {
        let mut bytes = write(&source(Kind::True(24)), Kind::True(24), false, true, false);
        bytes[12..16].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            load(&bytes, "tga", None),
            Err(Error::Decode { .. })
        ));
        let mut rle = write(&source(Kind::True(24)), Kind::True(24), true, true, false);
        rle[12..16].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            load(&rle, "tga", Some(8)),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn text_and_unknown_bytes_are_still_not_images() {
        for body in [
            &b"hello, this is text"[..],
            b"<html></html>",
            &[0u8; 64],
            &[0xAB; 64],
        ] {
            assert!(
                matches!(
                    load(body, "tga", None),
                    Err(Error::UnsupportedFormat { .. })
                ),
                "{body:?}"
            );
        }
    }
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32fast::hash(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

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
    let mut raw = Vec::new();
    for row in rows {
        raw.push(0);
        raw.extend_from_slice(&row);
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&3u32.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    // 1 as the specification has it; 0x00ff and 0xffff as writers scaling to 8 or 16 bits
    // store it (libpng and Pillow mask the value to the bit depth).
    for trns in [1u16, 0x00ff, 0xffff] {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"tRNS", &trns.to_be_bytes()));
        png.extend(chunk(b"IDAT", &fdeflate::compress_to_vec(&raw)));
        png.extend(chunk(b"IEND", &[]));
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
        let mut frame = gif::Frame::default();
        frame.width = w;
        frame.height = h;
        frame.buffer = std::borrow::Cow::Borrowed(&indices);
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
