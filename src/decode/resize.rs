//! Every resize of the thumbnail path, with `fast_image_resize` (SIMD convolution).
//!
//! Owns: the filter choice, alpha handling, and the centre crop of a cover (the largest
//! centred rectangle of the target's aspect, resized in one pass: `fast_image_resize` reads
//! the crop straight from the source, fractional edges included, so no cropped copy is made).
//! Must not touch: decoding or sizes (see `fit`).
//!
//! Filter: Lanczos3, the quality reference of the thumbnail tests. Alpha: an RGBA image with
//! any transparent pixel is premultiplied before the convolution and divided after (the
//! resizer's `mul_div_alpha`), so transparent neighbours do not darken edges; opaque images
//! skip both passes. `fast_image_resize` is built without its `rayon` feature: it runs on the
//! calling worker thread and starts none of its own.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbaImage;

use super::DecodeError;

/// The filter every thumbnail is resized with.
const FILTER: FilterType = FilterType::Lanczos3;

fn failed(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("resize failed: {e}"))
}

fn run(
    src: &[u8],
    (width, height): (u32, u32),
    (to_w, to_h): (u32, u32),
    pixel: PixelType,
    alpha: bool,
    cover: bool,
) -> Result<Vec<u8>, DecodeError> {
    let src = ImageRef::new(width, height, src, pixel).map_err(failed)?;
    let mut dst = Image::new(to_w, to_h, pixel);
    let mut options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FILTER))
        .use_alpha(alpha);
    if cover {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(failed)?;
    Ok(dst.into_vec())
}

/// Packed RGB8 `width` x `height` resized to `to_w` x `to_h` (returned as is if equal).
pub(super) fn rgb(src: Vec<u8>, size: (u32, u32), to: (u32, u32)) -> Result<Vec<u8>, DecodeError> {
    if size == to {
        return Ok(src);
    }
    run(&src, size, to, PixelType::U8x3, false, false)
}

/// Packed RGB8 `width` x `height`, its centre cropped to the aspect of `to` and resized to
/// `to` (returned as is if equal).
pub(super) fn rgb_cover(
    src: Vec<u8>,
    size: (u32, u32),
    to: (u32, u32),
) -> Result<Vec<u8>, DecodeError> {
    if size == to {
        return Ok(src);
    }
    run(&src, size, to, PixelType::U8x3, false, true)
}

/// An RGBA8 image, its centre cropped to the aspect of `to` and resized to `to` (returned as
/// is if equal). A crop at the same scale is a plain copy of the centre (whole pixels, so no
/// half-pixel blur).
pub(super) fn rgba_cover(src: RgbaImage, to: (u32, u32)) -> Result<RgbaImage, DecodeError> {
    let (w, h) = src.dimensions();
    if (w, h) == to {
        return Ok(src);
    }
    if (w == to.0 && h >= to.1) || (h == to.1 && w >= to.0) {
        let (x, y) = ((w - to.0) / 2, (h - to.1) / 2);
        return Ok(image::imageops::crop_imm(&src, x, y, to.0, to.1).to_image());
    }
    let alpha = src.pixels().any(|p| p.0[3] != 255);
    let out = run(src.as_raw(), (w, h), to, PixelType::U8x4, alpha, true)?;
    RgbaImage::from_raw(to.0, to.1, out).ok_or_else(|| failed("buffer size"))
}

/// An RGBA8 image resized to `to_w` x `to_h` (returned as is if equal).
pub(super) fn rgba(src: RgbaImage, to: (u32, u32)) -> Result<RgbaImage, DecodeError> {
    if src.dimensions() == to {
        return Ok(src);
    }
    let alpha = src.pixels().any(|p| p.0[3] != 255);
    let out = run(src.as_raw(), src.dimensions(), to, PixelType::U8x4, alpha, false)?;
    RgbaImage::from_raw(to.0, to.1, out).ok_or_else(|| failed("buffer size"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn transparent_neighbours_do_not_darken_edges() {
        // Left half opaque white, right half fully transparent black.
        let src = RgbaImage::from_fn(64, 8, |x, _| {
            if x < 32 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let out = rgba(src, (16, 2)).unwrap();
        for p in out.pixels() {
            if p.0[3] > 8 {
                assert!(p.0[0] >= 250, "dark fringe: {p:?}");
            }
        }
    }

    #[test]
    fn cover_crops_the_centre() {
        // Left third red, middle green, right third blue: a square cover keeps the middle.
        let src = RgbaImage::from_fn(90, 30, |x, _| match x / 30 {
            0 => Rgba([255, 0, 0, 255]),
            1 => Rgba([0, 255, 0, 255]),
            _ => Rgba([0, 0, 255, 255]),
        });
        let out = rgba_cover(src.clone(), (10, 10)).unwrap();
        assert_eq!(out.dimensions(), (10, 10));
        assert!(out.pixels().all(|p| p.0[1] > 200 && p.0[0] < 40 && p.0[2] < 40));
        // Same scale: a plain crop.
        let out = rgba_cover(src.clone(), (30, 30)).unwrap();
        assert_eq!(out, image::imageops::crop_imm(&src, 30, 0, 30, 30).to_image());
        // Scaled up to fill.
        let out = rgba_cover(src, (300, 200)).unwrap();
        assert_eq!(out.dimensions(), (300, 200));
        let rgb: Vec<u8> = (0..90 * 30).flat_map(|i| [(i % 90) as u8, 0, 0]).collect();
        let out = rgb_cover(rgb, (90, 30), (20, 20)).unwrap();
        assert_eq!(out.len(), 20 * 20 * 3);
        // The middle third of a 0..90 ramp.
        assert!((30..60).contains(&out[0]) && (30..60).contains(&out[19 * 3]));
    }

    #[test]
    fn flat_images_stay_flat() {
        let src = vec![77u8; 30 * 20 * 3];
        let out = rgb(src, (30, 20), (7, 5)).unwrap();
        assert_eq!(out.len(), 7 * 5 * 3);
        assert!(out.iter().all(|&v| v == 77));
        let same = rgb(vec![1, 2, 3], (1, 1), (1, 1)).unwrap();
        assert_eq!(same, vec![1, 2, 3]);
    }
}
