//! Every resize of the thumbnail path, with `fast_image_resize` (SIMD convolution).
//!
//! Owns: the filter choice, alpha handling, and reading a cover's crop (a [`Crop`] from
//! `fit`) straight from the source in the same pass: `fast_image_resize` takes fractional
//! edges and uses the pixels around the crop as the filter's support, so the result is what a
//! resize of the whole image followed by a crop gives, without either intermediate. Must not
//! touch: decoding or sizes (see `fit`).
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
use super::fit::Crop;

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
    crop: Option<Crop>,
) -> Result<Vec<u8>, DecodeError> {
    let src = ImageRef::new(width, height, src, pixel).map_err(failed)?;
    let mut dst = Image::new(to_w, to_h, pixel);
    let mut options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FILTER))
        .use_alpha(alpha);
    if let Some(c) = crop {
        options = options.crop(c.left, c.top, c.width, c.height);
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
    run(&src, size, to, PixelType::U8x3, false, None)
}

/// `crop` of packed RGB8 `width` x `height`, resized to `to`.
pub(super) fn rgb_crop(
    src: Vec<u8>,
    size: (u32, u32),
    crop: Crop,
    to: (u32, u32),
) -> Result<Vec<u8>, DecodeError> {
    run(&src, size, to, PixelType::U8x3, false, Some(crop))
}

/// Packed four-channel samples with no alpha (CMYK inks), or their `crop`, resized to `to`
/// (returned as is if there is nothing to do).
pub(super) fn inks(
    src: Vec<u8>,
    size: (u32, u32),
    crop: Option<Crop>,
    to: (u32, u32),
) -> Result<Vec<u8>, DecodeError> {
    if size == to && crop.is_none() {
        return Ok(src);
    }
    run(&src, size, to, PixelType::U8x4, false, crop)
}

/// `crop` of an RGBA8 image, resized to `to`. A crop of whole pixels already of that size is
/// a plain copy.
pub(super) fn rgba_crop(
    src: &RgbaImage,
    crop: Crop,
    to: (u32, u32),
) -> Result<RgbaImage, DecodeError> {
    let whole = |v: f64| v.fract() == 0.0 && v >= 0.0;
    if whole(crop.left)
        && whole(crop.top)
        && (crop.width, crop.height) == (f64::from(to.0), f64::from(to.1))
    {
        let (x, y) = (crop.left as u32, crop.top as u32);
        return Ok(image::imageops::crop_imm(src, x, y, to.0, to.1).to_image());
    }
    rgba_run(src, to, Some(crop))
}

/// An RGBA8 image resized to `to_w` x `to_h` (returned as is if equal).
pub(super) fn rgba(src: RgbaImage, to: (u32, u32)) -> Result<RgbaImage, DecodeError> {
    if src.dimensions() == to {
        return Ok(src);
    }
    rgba_run(&src, to, None)
}

/// Resizes (the `crop` of) an RGBA8 image to `to`, premultiplying alpha if it has any; a
/// new image even when nothing changes (see [`rgba`], which hands its input back).
pub(super) fn rgba_run(
    src: &RgbaImage,
    to: (u32, u32),
    crop: Option<Crop>,
) -> Result<RgbaImage, DecodeError> {
    let alpha = src.pixels().any(|p| p.0[3] != 255);
    let out = run(
        src.as_raw(),
        src.dimensions(),
        to,
        PixelType::U8x4,
        alpha,
        crop,
    )?;
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
    fn a_crop_is_read_from_the_source() {
        // Left third red, middle green, right third blue: the middle crop is green.
        let src = RgbaImage::from_fn(90, 30, |x, _| match x / 30 {
            0 => Rgba([255, 0, 0, 255]),
            1 => Rgba([0, 255, 0, 255]),
            _ => Rgba([0, 0, 255, 255]),
        });
        let middle = Crop {
            left: 33.0,
            top: 3.0,
            width: 24.0,
            height: 24.0,
        };
        let out = rgba_crop(&src, middle, (10, 10)).unwrap();
        assert_eq!(out.dimensions(), (10, 10));
        assert!(
            out.pixels()
                .all(|p| p.0[1] > 200 && p.0[0] < 40 && p.0[2] < 40)
        );
        // Whole pixels at the same scale: a plain copy.
        let same = Crop {
            left: 30.0,
            top: 0.0,
            width: 30.0,
            height: 30.0,
        };
        let out = rgba_crop(&src, same, (30, 30)).unwrap();
        assert_eq!(
            out,
            image::imageops::crop_imm(&src, 30, 0, 30, 30).to_image()
        );
        let rgb: Vec<u8> = (0..90 * 30).flat_map(|i| [(i % 90) as u8, 0, 0]).collect();
        let out = rgb_crop(rgb, (90, 30), same, (20, 20)).unwrap();
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
