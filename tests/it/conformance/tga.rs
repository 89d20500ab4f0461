//! TGA (issue 22): every variant the strict sniff accepts, both origins, against the pixels
//! written and Pillow.

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
                let v = (u16::from(r >> 3) << 10) | (u16::from(g >> 3) << 5) | u16::from(b >> 3);
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
