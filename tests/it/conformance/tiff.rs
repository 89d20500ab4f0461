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
