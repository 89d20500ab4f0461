//! TIFF (issue 22): layouts the `tiff` crate panics on are refused with a typed error before
//! it runs; the neighbouring layouts it reads decode as written and as Pillow decodes them.

use super::*;
use crate::support::hostile::{Chunks, Tiff};

/// An RGB test picture, `width` x `height`, every pixel different.
fn picture(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        Rgba([
            (x * 7 % 256) as u8,
            (y * 9 % 256) as u8,
            ((x * y) % 256) as u8,
            255,
        ])
    })
}

fn rgb(image: &RgbaImage) -> Vec<u8> {
    image.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect()
}

#[test]
fn separate_planes_in_tiles_cut_by_the_bottom_edge_are_refused_not_panicked_on() {
    // 29 rows in 16-row tiles: `tiff` 0.11 expands the second and third planes' bottom
    // tiles at full height and its `assert!` fires (tiff_chunks.rs says where).
    let want = picture(37, 29);
    let bytes = Tiff::raw(37, 29, 3, Chunks::Tiles(16, 16), true, &rgb(&want)).bytes();
    for thumb in [None, Some(8)] {
        match load(&bytes, "tif", thumb) {
            Err(Error::UnsupportedFormat { .. }) => {}
            other => panic!("{thumb:?}: {:?}", other.map(|i| i.dimensions())),
        }
    }
    // Pillow reads it: what is refused is the `tiff` crate's limit, not a corrupt file.
    if let Some(reference) = pillow::still(&bytes, "tif") {
        assert!(mad(&reference, &want) <= 3.0);
    }
}

#[test]
fn the_tiled_and_planar_layouts_tiff_reads_decode_as_written() {
    let cases = [
        (
            "planar tiles, height a multiple of the tile",
            37,
            32,
            Chunks::Tiles(16, 16),
            true,
        ),
        (
            "planar strips cut by the bottom edge",
            37,
            29,
            Chunks::Strips(8),
            true,
        ),
        (
            "chunky tiles cut by both edges",
            37,
            29,
            Chunks::Tiles(16, 16),
            false,
        ),
    ];
    for (what, w, h, chunks, planar) in cases {
        let want = picture(w, h);
        let bytes = Tiff::raw(w, h, 3, chunks, planar, &rgb(&want)).bytes();
        conforms(what, &bytes, "tif", &want);
    }
    // One sample in separate planes is one plane: nothing to refuse.
    let gray = RgbaImage::from_fn(37, 29, |x, y| {
        let v = ((x * 5 + y * 3) % 256) as u8;
        Rgba([v, v, v, 255])
    });
    let samples: Vec<u8> = gray.pixels().map(|p| p[0]).collect();
    let bytes = Tiff::raw(37, 29, 1, Chunks::Tiles(16, 16), true, &samples).bytes();
    conforms("one planar sample in cut tiles", &bytes, "tif", &gray);
}

/// Rows of `bits`-bit samples `value(x, y)`, packed most significant bits first, each row
/// starting on a byte (TIFF's layout).
fn pack(width: u32, height: u32, bits: u32, value: impl Fn(u32, u32) -> u32) -> Vec<u8> {
    let stride = (width * bits).div_ceil(8) as usize;
    let mut rows = vec![0u8; stride * height as usize];
    for y in 0..height {
        for x in 0..width {
            let bit = (x * bits) as usize;
            let shift = 8 - bits as usize - bit % 8;
            rows[y as usize * stride + bit / 8] |= (value(x, y) << shift) as u8;
        }
    }
    rows
}

#[test]
fn palette_tiffs_of_1_2_4_and_8_bit_indices_decode_as_pillow_does() {
    // 37 columns: rows end inside a byte at every depth.
    let (w, h) = (37, 29);
    for bits in [1u32, 2, 4, 8] {
        let entries = 1u32 << bits;
        let colour = |i: u32| {
            [
                (i * 53 + 7) % 256,
                (i * 97 + 31) % 256,
                (255 - i * 11 % 256),
            ]
        };
        let index = |x: u32, y: u32| (x + 3 * y) % entries;
        // The map's 16-bit values: red for every entry, then green, then blue.
        let map: Vec<u32> = (0..3)
            .flat_map(|c| (0..entries).map(move |i| colour(i)[c] * 257))
            .collect();
        let mut tiff = Tiff::packed(w, h, bits, 3, pack(w, h, bits, index));
        tiff.tags.push((320, 3, map));
        let want = RgbaImage::from_fn(w, h, |x, y| {
            let [r, g, b] = colour(index(x, y));
            Rgba([r as u8, g as u8, b as u8, 255])
        });
        conforms(&format!("{bits}-bit palette"), &tiff.bytes(), "tif", &want);
    }
}

#[test]
fn gray_tiffs_of_2_and_4_bits_decode_as_pillow_does_black_or_white_is_zero() {
    let (w, h) = (37, 29);
    for bits in [2u32, 4] {
        let max = (1u32 << bits) - 1;
        let level = |x: u32, y: u32| (x * 5 + y) % (max + 1);
        for (photometric, what) in [(1, "black is zero"), (0, "white is zero")] {
            let bytes = Tiff::packed(w, h, bits, photometric, pack(w, h, bits, level)).bytes();
            let want = RgbaImage::from_fn(w, h, |x, y| {
                let v = level(x, y) * 255 / max;
                let v = if photometric == 0 { 255 - v } else { v } as u8;
                Rgba([v, v, v, 255])
            });
            conforms(&format!("{bits}-bit gray, {what}"), &bytes, "tif", &want);
        }
    }
}

/// `rgb` as 8-bit YCbCr with the JFIF equations, Y scaled into `y_range` and the chroma
/// around 128 into `c_range` (full range: (0, 255) and (128, 255) as TIFF writes the
/// reference black and white).
fn ycbcr(image: &RgbaImage, y_range: (f32, f32), c_range: (f32, f32)) -> Vec<u8> {
    let mut out = Vec::new();
    for p in image.pixels() {
        let [r, g, b] = [p[0], p[1], p[2]].map(f32::from);
        let y = 0.299 * r + 0.587 * g + 0.114 * b;
        let cb = (b - y) / 1.772;
        let cr = (r - y) / 1.402;
        let y = y_range.0 + y * (y_range.1 - y_range.0) / 255.0;
        let c = |v: f32| c_range.0 + v * (c_range.1 - c_range.0) / 127.0;
        out.extend([y, c(cb), c(cr)].map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
    out
}

#[test]
fn uncompressed_ycbcr_tiffs_decode_with_their_reference_black_and_white() {
    let want = RgbaImage::from_fn(37, 29, |x, y| {
        Rgba([(x * 6) as u8, (y * 8) as u8, (128 + x * 2 - y) as u8, 255])
    });
    let strips = Chunks::Strips(8);
    // Full range, the tags' defaults, written out or left to the decoder.
    let full = ycbcr(&want, (0.0, 255.0), (128.0, 255.0));
    let mut tiff = Tiff::raw(37, 29, 3, strips, false, &full);
    tiff.tags = vec![(262, 3, vec![6]), (530, 3, vec![1, 1])];
    conforms("YCbCr, default reference", &tiff.bytes(), "tif", &want);
    // Studio range (Y 16-235, chroma 128 +- 112), as video-derived files are written.
    let studio = ycbcr(&want, (16.0, 235.0), (128.0, 240.0));
    let mut tiff = Tiff::raw(37, 29, 3, strips, false, &studio);
    let reference = [16, 1, 235, 1, 128, 1, 240, 1, 128, 1, 240, 1].to_vec();
    tiff.tags = vec![(262, 3, vec![6]), (530, 3, vec![1, 1]), (532, 5, reference)];
    let got = load(&tiff.bytes(), "tif", None).unwrap();
    let d = mad(&got, &want);
    assert!(d <= 3.0, "studio range: MAD {d}");
    // Read as full range, the same samples come out visibly wrong: the tag is what is read.
    tiff.tags.pop();
    let ignored = load(&tiff.bytes(), "tif", None).unwrap();
    let wrong = mad(&ignored, &want);
    assert!(
        wrong > 3.0 && wrong > 2.0 * d,
        "{wrong} read as full range, {d} as written"
    );
}

#[test]
fn jpeg_tiffs_written_as_ycbcr_decode_as_pillow_does() {
    // vips's default for JPEG TIFFs (YCbCr, 2x2 chroma), beside the same picture written
    // with `--rgbjpeg` (photometric RGB, which `image` reads).
    let dir = crate::support::corpus("tiff");
    let ycbcr = std::fs::read(dir.join("jpeg-tiled-ycbcr.tif")).unwrap();
    let rgb = std::fs::read(dir.join("jpeg-tiled-rgb.tif")).unwrap();
    let got = load(&ycbcr, "tif", None).unwrap();
    let other = load(&rgb, "tif", None).unwrap();
    assert_eq!(got.dimensions(), other.dimensions());
    let d = mad(&got, &other);
    assert!(
        d <= 4.0,
        "MAD {d} against the RGB JPEG TIFF of the same picture"
    );
    if let Some(reference) = pillow::still(&ycbcr, "tif") {
        assert_eq!(got.dimensions(), reference.dimensions());
        let d = mad(&got, &reference);
        assert!(d <= 3.0, "MAD {d} against Pillow");
    }
    let thumb = load(&ycbcr, "tif", Some(16)).unwrap();
    assert!(thumb.width() <= 16 && thumb.height() <= 16);
}

#[test]
fn a_palette_tiff_whose_map_is_short_or_missing_is_a_decode_error() {
    let rows = pack(8, 4, 4, |x, _| x);
    let mut short = Tiff::packed(8, 4, 4, 3, rows.clone());
    short.tags.push((320, 3, vec![0; 3 * 15]));
    let missing = Tiff::packed(8, 4, 4, 3, rows);
    for (what, bytes) in [("short map", short.bytes()), ("no map", missing.bytes())] {
        for thumb in [None, Some(4)] {
            match load(&bytes, "tif", thumb) {
                Err(Error::Decode { .. }) => {}
                other => panic!("{what}: {:?}", other.map(|i| i.dimensions())),
            }
        }
    }
}

#[test]
fn bigtiffs_in_either_byte_order_decode_as_written() {
    // `tiffcp -8` (and `-B` for big-endian) of a picture written by Pillow: 37x29 RGB,
    // the pixels of `picture` (tests/data/README.md).
    let want = picture(37, 29);
    let dir = crate::support::corpus("tiff");
    let bytes = std::fs::read(dir.join("bigtiff-lzw-le.tif")).unwrap();
    conforms("little-endian BigTIFF", &bytes, "tif", &want);
    // Pillow 13 does not open a big-endian BigTIFF (libtiff does: `tiffinfo`), so this one
    // is compared with the pixels written only.
    let bytes = std::fs::read(dir.join("bigtiff-be.tif")).unwrap();
    let got = load(&bytes, "tif", None).unwrap();
    assert_eq!(got.dimensions(), want.dimensions());
    assert!(mad(&got, &want) <= 3.0, "MAD {}", mad(&got, &want));
}
