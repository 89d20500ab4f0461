//! The built-in processors that grid and list UIs use: [`Blur`], [`Grayscale`],
//! [`RoundedCorners`] and [`Circle`].
//!
//! Owns: their pixels and their ids, which are part of memory-cache keys and so must stay
//! the same across versions for the same output (`webimage.blur(4)`,
//! `webimage.grayscale`, `webimage.rounded_corners(8)`, `webimage.circle`). Must not touch:
//! the pipeline; each is a plain [`Processor`].
//!
//! Alpha outside a mask is 0, and the edge is anti-aliased: a pixel's alpha is multiplied by
//! how much of it lies inside the shape (the distance from its centre to the edge, clamped to
//! one pixel). Sizes are in pixels of the image being processed: after the request's
//! thumbnail, cover or cap.

use std::borrow::Cow;

use image::RgbaImage;

use super::Processor;
use crate::error::Error;

/// A Gaussian blur of standard deviation `sigma` pixels (Kovesi's three box passes, as
/// `image::imageops::fast_blur`, the approximation Kingfisher's blur also uses). Colours are
/// premultiplied by alpha while blurring, so transparent neighbours do not darken edges. A
/// sigma that is not positive leaves the image as it is. Id: `webimage.blur(<sigma>)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blur(pub f32);

impl Processor for Blur {
    fn id(&self) -> Cow<'_, str> {
        format!("webimage.blur({})", self.0).into()
    }

    fn process(&self, image: RgbaImage) -> Result<RgbaImage, Error> {
        let (w, h) = image.dimensions();
        // NaN and non-positive: nothing to do. Beyond the image's size a blur is flat anyway.
        if self.0.is_nan() || self.0 <= 0.0 || w == 0 || h == 0 {
            return Ok(image);
        }
        let sigma = self.0.min(w.max(h) as f32);
        if image.pixels().all(|p| p.0[3] == 255) {
            return Ok(image::imageops::fast_blur(&image, sigma));
        }
        let mut image = image;
        premultiply(&mut image);
        let mut out = image::imageops::fast_blur(&image, sigma);
        drop(image);
        unpremultiply(&mut out);
        Ok(out)
    }
}

fn premultiply(image: &mut RgbaImage) {
    for p in image.pixels_mut() {
        let a = u32::from(p.0[3]);
        for c in &mut p.0[..3] {
            *c = ((u32::from(*c) * a + 127) / 255) as u8;
        }
    }
}

fn unpremultiply(image: &mut RgbaImage) {
    for p in image.pixels_mut() {
        let a = u32::from(p.0[3]);
        if a == 0 {
            p.0 = [0, 0, 0, 0];
            continue;
        }
        for c in &mut p.0[..3] {
            *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
        }
    }
}

/// Shades of grey by luminance (Rec. 709 weights on the sRGB values, as
/// `image::imageops::grayscale`), alpha kept. Id: `webimage.grayscale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Grayscale;

impl Processor for Grayscale {
    fn id(&self) -> Cow<'_, str> {
        "webimage.grayscale".into()
    }

    fn process(&self, mut image: RgbaImage) -> Result<RgbaImage, Error> {
        for p in image.pixels_mut() {
            let [r, g, b, a] = p.0;
            let l = (2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b) + 5000) / 10000;
            let l = l.min(255) as u8;
            p.0 = [l, l, l, a];
        }
        Ok(image)
    }
}

/// Corners rounded to `radius` pixels (at most half the shorter side), transparent outside.
/// A radius that is not positive leaves the image as it is. Id:
/// `webimage.rounded_corners(<radius>)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundedCorners(pub f32);

impl Processor for RoundedCorners {
    fn id(&self) -> Cow<'_, str> {
        format!("webimage.rounded_corners({})", self.0).into()
    }

    fn process(&self, mut image: RgbaImage) -> Result<RgbaImage, Error> {
        let (w, h) = image.dimensions();
        if self.0.is_nan() || self.0 <= 0.0 || w == 0 || h == 0 {
            return Ok(image);
        }
        let r = self.0.min(w.min(h) as f32 / 2.0);
        let span = r.ceil() as u32;
        let (wf, hf) = (w as f32, h as f32);
        // Only the four corner squares can lie outside.
        for y in (0..span).chain(h.saturating_sub(span).max(span)..h) {
            for x in (0..span).chain(w.saturating_sub(span).max(span)..w) {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                // The centre of the corner's circle nearest to this pixel.
                let cx = px.clamp(r, wf - r);
                let cy = py.clamp(r, hf - r);
                let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                scale_alpha(&mut image, x, y, r - d + 0.5);
            }
        }
        Ok(image)
    }
}

/// The largest centred circle, transparent outside, on a square: a non-square image is first
/// cropped to its centre square (as Coil's `CircleCropTransformation` and Glide's
/// `circleCrop` do), so `cover(w, w)` or any thumbnail gives a round avatar. Id:
/// `webimage.circle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Circle;

impl Processor for Circle {
    fn id(&self) -> Cow<'_, str> {
        "webimage.circle".into()
    }

    fn process(&self, image: RgbaImage) -> Result<RgbaImage, Error> {
        let (w, h) = image.dimensions();
        let side = w.min(h);
        let mut image = if w == h {
            image
        } else {
            image::imageops::crop_imm(&image, (w - side) / 2, (h - side) / 2, side, side).to_image()
        };
        let r = side as f32 / 2.0;
        for y in 0..side {
            for x in 0..side {
                let (dx, dy) = (x as f32 + 0.5 - r, y as f32 + 0.5 - r);
                let d = (dx * dx + dy * dy).sqrt();
                scale_alpha(&mut image, x, y, r - d + 0.5);
            }
        }
        Ok(image)
    }
}

/// Multiplies the alpha of pixel (x, y) by `coverage` clamped to 0..=1.
fn scale_alpha(image: &mut RgbaImage, x: u32, y: u32, coverage: f32) {
    let coverage = coverage.clamp(0.0, 1.0);
    if coverage < 1.0 {
        let p = image.get_pixel_mut(x, y);
        p.0[3] = (f32::from(p.0[3]) * coverage).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn white(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_pixel(w, h, Rgba([255, 255, 255, 255]))
    }

    #[test]
    fn ids_are_stable() {
        assert_eq!(Blur(4.0).id(), "webimage.blur(4)");
        assert_eq!(Blur(2.5).id(), "webimage.blur(2.5)");
        assert_eq!(Grayscale.id(), "webimage.grayscale");
        assert_eq!(RoundedCorners(8.0).id(), "webimage.rounded_corners(8)");
        assert_eq!(Circle.id(), "webimage.circle");
    }

    #[test]
    fn circle_is_square_and_transparent_outside() {
        let out = Circle.process(white(40, 20)).unwrap();
        assert_eq!(out.dimensions(), (20, 20));
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(19, 19).0[3], 0);
        assert_eq!(out.get_pixel(10, 10).0[3], 255);
        assert!(
            out.get_pixel(10, 0).0[3] > 240,
            "the circle touches the edge"
        );
        // Anti-aliased: some pixel on the rim is neither in nor out.
        assert!(out.pixels().any(|p| p.0[3] > 0 && p.0[3] < 255));
    }

    #[test]
    fn rounded_corners_touch_only_corners() {
        let out = RoundedCorners(6.0).process(white(30, 20)).unwrap();
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(29, 19).0[3], 0);
        assert_eq!(out.get_pixel(29, 0).0[3], 0);
        assert_eq!(out.get_pixel(0, 19).0[3], 0);
        assert_eq!(out.get_pixel(15, 0).0[3], 255);
        assert_eq!(out.get_pixel(0, 10).0[3], 255);
        assert_eq!(out.get_pixel(6, 6).0[3], 255);
        // A radius past half the shorter side is a stadium, not an error.
        let out = RoundedCorners(1000.0).process(white(30, 10)).unwrap();
        assert_eq!(out.get_pixel(15, 5).0[3], 255);
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        // Tiny images: the corner squares overlap.
        let out = RoundedCorners(3.0).process(white(3, 3)).unwrap();
        assert_eq!(out.dimensions(), (3, 3));
    }

    #[test]
    fn grayscale_keeps_alpha_and_makes_grey() {
        let image = RgbaImage::from_pixel(2, 2, Rgba([200, 100, 50, 77]));
        let out = Grayscale.process(image).unwrap();
        let p = out.get_pixel(1, 1).0;
        assert_eq!((p[0], p[0], p[3]), (p[1], p[2], 77));
        assert_eq!(p[0], 118);
    }

    #[test]
    fn blur_spreads_and_ignores_bad_sigmas() {
        let mut image = RgbaImage::from_pixel(21, 21, Rgba([0, 0, 0, 255]));
        image.put_pixel(10, 10, Rgba([255, 255, 255, 255]));
        let out = Blur(2.0).process(image.clone()).unwrap();
        assert!(out.get_pixel(10, 10).0[0] < 255);
        assert!(out.get_pixel(12, 10).0[0] > 0);
        for sigma in [0.0, -1.0, f32::NAN] {
            assert_eq!(Blur(sigma).process(image.clone()).unwrap(), image);
        }
        let flat = Blur(f32::INFINITY).process(image).unwrap();
        assert_eq!(flat.dimensions(), (21, 21));
    }

    #[test]
    fn blur_does_not_darken_next_to_transparency() {
        let image = RgbaImage::from_fn(16, 4, |x, _| {
            if x < 8 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let out = Blur(2.0).process(image).unwrap();
        for p in out.pixels().filter(|p| p.0[3] > 8) {
            assert!(p.0[0] >= 250, "dark fringe: {p:?}");
        }
    }
}
