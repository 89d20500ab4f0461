//! BMP (issue 22): RLE8 and RLE4 with runs longer than their row, deltas and early
//! end-of-lines, bottom-up and top-down, OS/2 2.x headers and plane counts other than 1, as
//! written and as Pillow decodes them.

use super::*;
use crate::support::hostile::{Bmp, Rle, rle};

/// Palette entry `i`: 0 is black (what a skip leaves), the rest all different.
fn entry(i: usize) -> [u8; 3] {
    if i == 0 {
        [0, 0, 0]
    } else {
        [(i * 16 % 256) as u8, 255 - i as u8, (i * 40 % 256) as u8]
    }
}

/// The image `indices` (stored order: bottom row first unless `top_down`) shows.
fn shown(indices: &[u8], width: u32, height: u32, top_down: bool) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let row = if top_down { y } else { height - 1 - y };
        let [r, g, b] = entry(usize::from(indices[(row * width + x) as usize]));
        Rgba([r, g, b, 255])
    })
}

/// Six rows of 20 with every kind of op: a run clipped to its row, a run after a full row
/// (empty until the end-of-line), an end-of-line leaving the row's rest, a delta into the
/// next row, an odd absolute run (padded).
fn ops() -> Vec<Rle> {
    use Rle::*;
    vec![
        Run(5, 0x12),
        Absolute(vec![2, 3, 4, 5, 6]),
        Run(10, 0x27),
        EndOfLine,
        Run(30, 0x99),
        Run(4, 0x34),
        EndOfLine,
        Run(4, 0x34),
        EndOfLine,
        Run(2, 0x3B),
        Delta(3, 1),
        Run(15, 0x44),
        EndOfLine,
        Absolute(vec![1, 2, 3, 4, 5, 6, 7]),
        Run(13, 0x58),
        EndOfBitmap,
    ]
}

#[test]
fn rle_bitmaps_decode_as_pillow_does_in_both_origins() {
    let (w, h) = (20u32, 6u32);
    for (bits, compression, colors) in [(8u16, 1u32, 256usize), (4, 2, 16)] {
        let (data, indices) = rle(&ops(), w as usize, h as usize, bits == 4);
        for top_down in [false, true] {
            for header_size in [40, 64, 124] {
                let height = if top_down { -(h as i32) } else { h as i32 };
                let mut bmp = Bmp::new(w as i32, height, bits, compression);
                bmp.header_size = header_size;
                bmp.palette = (0..colors).map(entry).collect();
                bmp.data = data.clone();
                let what = format!("RLE{bits}, top-down {top_down}, header {header_size}");
                conforms(&what, &bmp.bytes(), "bmp", &shown(&indices, w, h, top_down));
            }
        }
    }
}

#[test]
fn uncompressed_bitmaps_with_odd_planes_or_an_os2_header_decode() {
    let (w, h) = (20u32, 6u32);
    let indices: Vec<u8> = (0..w * h).map(|i| (i * 7 % 256) as u8).collect();
    for (planes, header_size) in [(0u16, 40u32), (3, 40), (1, 64), (0, 64)] {
        let mut bmp = Bmp::new(w as i32, h as i32, 8, 0);
        bmp.planes = planes;
        bmp.header_size = header_size;
        bmp.palette = (0..256).map(entry).collect();
        bmp.data = indices.clone();
        let what = format!("{planes} planes, header {header_size}");
        conforms(&what, &bmp.bytes(), "bmp", &shown(&indices, w, h, false));
    }
}

#[test]
fn rle_data_cut_before_its_end_code_is_a_decode_error() {
    let (data, _) = rle(&ops(), 20, 6, false);
    let mut bmp = Bmp::new(20, 6, 8, 1);
    bmp.palette = (0..256).map(entry).collect();
    bmp.data = data[..data.len() / 2].to_vec();
    for thumb in [None, Some(8)] {
        match load(&bmp.bytes(), "bmp", thumb) {
            Err(Error::Decode { .. }) => {}
            other => panic!("{thumb:?}: {:?}", other.map(|i| i.dimensions())),
        }
    }
    // An end-of-bitmap code early: the rest is index 0 (as `image` and Windows show it).
    bmp.data = [&data[..12], &[0, 1][..]].concat();
    let (_, head) = rle(&ops()[..3], 20, 6, false);
    let got = load(&bmp.bytes(), "bmp", None).unwrap();
    assert_eq!(got, shown(&head, 20, 6, false));
}
