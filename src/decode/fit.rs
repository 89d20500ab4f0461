//! Output sizes: fitting an image into a thumbnail box, covering a box, or under a pixel cap.
//!
//! Owns: the rounding rules, in one place. Must not touch: pixels.
//!
//! Rules. A box fit keeps the aspect ratio and never upscales: an image that already fits is
//! returned at its own size; otherwise the limiting side becomes exactly the box's side and the
//! other is `round(other * scale)` to the nearest integer (halves round up), at least 1. A
//! cover scales (up or down) until both sides reach the box: the side that limits becomes
//! exactly the box's side, the other is rounded the same way but never below its box side;
//! then the box is cut from the centre of that scaled image at whole pixels (left and top
//! offsets rounded down), exactly what a full decode, a resize and a centre crop give. The
//! resize reads that cut straight from the source ([`Crop`], in source pixels, turned to the
//! stored orientation for the JPEG paths). A pixel cap scales both sides by
//! `sqrt(cap / (w * h))` and rounds each down, so the result never exceeds the cap (at least
//! 1 x 1).

use image::metadata::Orientation;

/// The size of a `width` x `height` image fitted into a `box_w` x `box_h` box (both non-zero).
pub(crate) fn fit_box(width: u32, height: u32, box_w: u32, box_h: u32) -> (u32, u32) {
    if width <= box_w && height <= box_h {
        return (width, height);
    }
    scale_to_box(width, height, box_w, box_h)
}

/// The size of a `width` x `height` image scaled up or down to fit a `box_w` x `box_h` box
/// (all non-zero): the limiting side becomes the box's side, the other is rounded as in
/// [`fit_box`]. For vector images, which have no pixel size to stay under.
pub(crate) fn scale_to_box(width: u32, height: u32, box_w: u32, box_h: u32) -> (u32, u32) {
    let (w, h, bw, bh) = (
        u64::from(width),
        u64::from(height),
        u64::from(box_w),
        u64::from(box_h),
    );
    if w * bh >= h * bw {
        // Width limits: scale = bw / w.
        (box_w, rounded(h * bw, w))
    } else {
        (rounded(w * bh, h), box_h)
    }
}

/// The size of a `width` x `height` image scaled (up or down, aspect kept) so that it covers a
/// `box_w` x `box_h` box (all non-zero): one side equals the box's, the other is at least its.
pub(crate) fn cover_size(width: u32, height: u32, box_w: u32, box_h: u32) -> (u32, u32) {
    let (w, h, bw, bh) = (
        u64::from(width),
        u64::from(height),
        u64::from(box_w),
        u64::from(box_h),
    );
    if w * bh >= h * bw {
        // Wider than the box: the height limits, scale = bh / h.
        (rounded(w * bh, h).max(box_w), box_h)
    } else {
        (box_w, rounded(h * bw, w).max(box_h))
    }
}

/// A rectangle of a source image in its own pixels (fractional: a cover's cut mapped back
/// from the scaled image).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Crop {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// The part of an upright `width` x `height` image that a cover of `box_w` x `box_h` shows:
/// the box cut from the centre of the image scaled to [`cover_size`], at whole pixels of the
/// scaled image, in the image's own pixels.
pub(crate) fn cover_crop(width: u32, height: u32, box_w: u32, box_h: u32) -> Crop {
    let (cw, ch) = cover_size(width, height, box_w, box_h);
    let sx = f64::from(width) / f64::from(cw);
    let sy = f64::from(height) / f64::from(ch);
    Crop {
        left: f64::from((cw - box_w) / 2) * sx,
        top: f64::from((ch - box_h) / 2) * sy,
        width: f64::from(box_w) * sx,
        height: f64::from(box_h) * sy,
    }
}

impl Crop {
    /// The same rectangle in the stored pixels of an image that `orientation` turns upright
    /// into `upright` (width, height): the inverse of each EXIF transform.
    pub(crate) fn to_stored(self, upright: (u32, u32), orientation: Orientation) -> Crop {
        let (w, h) = (f64::from(upright.0), f64::from(upright.1));
        let Crop {
            left,
            top,
            width,
            height,
        } = self;
        let (right, bottom) = (w - left - width, h - top - height);
        let (l, t, swap) = match orientation {
            Orientation::NoTransforms => (left, top, false),
            Orientation::FlipHorizontal => (right, top, false),
            Orientation::FlipVertical => (left, bottom, false),
            Orientation::Rotate180 => (right, bottom, false),
            // Stored (x, y) shows at upright (H - 1 - y, x) and the like: axes swap.
            Orientation::Rotate90 => (top, right, true),
            Orientation::Rotate270 => (bottom, left, true),
            Orientation::Rotate90FlipH => (top, left, true),
            Orientation::Rotate270FlipH => (bottom, right, true),
        };
        let (width, height) = if swap {
            (height, width)
        } else {
            (width, height)
        };
        Crop {
            left: l,
            top: t,
            width,
            height,
        }
    }

    /// The same rectangle in an image `sx` x `sy` times the size (a reduced decode).
    pub(crate) fn scaled(self, sx: f64, sy: f64) -> Crop {
        Crop {
            left: self.left * sx,
            top: self.top * sy,
            width: self.width * sx,
            height: self.height * sy,
        }
    }
}

/// `num / den` rounded to the nearest integer, at least 1 (the result is at most a box side).
fn rounded(num: u64, den: u64) -> u32 {
    ((2 * num + den) / (2 * den)).clamp(1, u64::from(u32::MAX)) as u32
}

/// The size of a `width` x `height` image scaled down to at most `max_pixels` pixels (non-zero).
pub(crate) fn fit_pixels(width: u32, height: u32, max_pixels: u64) -> (u32, u32) {
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= max_pixels {
        return (width, height);
    }
    let scale = (max_pixels as f64 / pixels as f64).sqrt();
    let mut w = ((f64::from(width) * scale) as u32).clamp(1, width);
    let mut h = ((f64::from(height) * scale) as u32).clamp(1, height);
    // Float rounding may land one over the cap: shave the longer side.
    while u64::from(w) * u64::from(h) > max_pixels && (w > 1 || h > 1) {
        if w >= h {
            w -= 1;
        } else {
            h -= 1;
        }
    }
    (w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_box(1800, 1200, 200, 200), (200, 133));
        assert_eq!(fit_box(1200, 1800, 200, 200), (133, 200));
        assert_eq!(fit_box(4000, 3000, 256, 256), (256, 192));
        assert_eq!(fit_box(100, 50, 256, 256), (100, 50));
        assert_eq!(fit_box(256, 256, 256, 256), (256, 256));
        assert_eq!(fit_box(300, 100, 100, 100), (100, 33));
        assert_eq!(fit_box(300, 150, 100, 10), (20, 10));
        // Halves round up: 3 x 1 into 2 x 2 gives 2 x 0.67 -> 1.
        assert_eq!(fit_box(3, 1, 2, 2), (2, 1));
        assert_eq!(fit_box(5, 3, 2, 2), (2, 1));
        assert_eq!(fit_box(7, 5, 2, 2), (2, 1));
        assert_eq!(fit_box(4, 3, 2, 2), (2, 2));
        // Extreme aspect: never 0.
        assert_eq!(fit_box(65535, 1, 10, 10), (10, 1));
        assert_eq!(fit_box(1, 65535, 10, 10), (1, 10));
        assert_eq!(fit_box(u32::MAX, u32::MAX, u32::MAX - 1, 1), (1, 1));
    }

    #[test]
    fn scale_to_box_also_upscales() {
        assert_eq!(scale_to_box(24, 24, 512, 512), (512, 512));
        assert_eq!(scale_to_box(24, 12, 512, 512), (512, 256));
        assert_eq!(scale_to_box(10, 30, 100, 100), (33, 100));
        assert_eq!(scale_to_box(1800, 1200, 200, 200), (200, 133));
        assert_eq!(scale_to_box(1, 1, u32::MAX, 1), (1, 1));
    }

    #[test]
    fn cover_reaches_both_sides() {
        assert_eq!(cover_size(4000, 3000, 256, 256), (341, 256));
        assert_eq!(cover_size(3000, 4000, 256, 256), (256, 341));
        assert_eq!(cover_size(1800, 1200, 200, 100), (200, 133));
        assert_eq!(cover_size(100, 50, 256, 256), (512, 256));
        assert_eq!(cover_size(256, 256, 256, 256), (256, 256));
        assert_eq!(cover_size(65535, 1, 10, 10), (655_350, 10));
        assert_eq!(cover_size(1, 65535, 10, 10), (10, 655_350));
        // Rounding never lands under the box.
        for (w, h) in [(3, 2), (999, 1000), (1000, 999), (7, 5), (1, 1)] {
            for (bw, bh) in [(1, 1), (2, 3), (256, 256), (300, 200)] {
                let (cw, ch) = cover_size(w, h, bw, bh);
                assert!(cw >= bw && ch >= bh, "{w}x{h} in {bw}x{bh}: {cw}x{ch}");
                assert!(cw == bw || ch == bh, "{w}x{h} in {bw}x{bh}: {cw}x{ch}");
            }
        }
    }

    #[test]
    fn cover_crops_at_whole_pixels_of_the_scaled_image() {
        // 1800x1200 into 37x53: scaled to 80x53, cut at x = 21.
        let c = cover_crop(1800, 1200, 37, 53);
        assert_eq!((c.left, c.top), (21.0 * 22.5, 0.0));
        assert_eq!((c.width, c.height), (37.0 * 22.5, 1200.0));
        let c = cover_crop(100, 100, 100, 100);
        assert_eq!((c.left, c.top, c.width, c.height), (0.0, 0.0, 100.0, 100.0));
    }

    #[test]
    fn crops_map_to_stored_orientation() {
        use image::{DynamicImage, Rgba, RgbaImage};
        // A stored 5x3 image whose pixels name their stored position; for each orientation,
        // a 2x1 crop of the upright image must be the stored pixels the mapped crop names.
        let stored = RgbaImage::from_fn(5, 3, |x, y| Rgba([x as u8, y as u8, 0, 255]));
        for o in [
            Orientation::NoTransforms,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate180,
            Orientation::Rotate90,
            Orientation::Rotate270,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ] {
            let mut upright = DynamicImage::ImageRgba8(stored.clone());
            upright.apply_orientation(o);
            let upright = upright.into_rgba8();
            let (uw, uh) = upright.dimensions();
            let crop = Crop {
                left: 1.0,
                top: 0.0,
                width: 2.0,
                height: 1.0,
            };
            let s = crop.to_stored((uw, uh), o);
            let (sl, st) = (s.left as u32, s.top as u32);
            let mut seen: Vec<[u8; 2]> = (0..s.height as u32)
                .flat_map(|y| (0..s.width as u32).map(move |x| (x, y)))
                .map(|(x, y)| {
                    let p = stored.get_pixel(sl + x, st + y).0;
                    [p[0], p[1]]
                })
                .collect();
            let mut want: Vec<[u8; 2]> = (1..3)
                .map(|x| {
                    let p = upright.get_pixel(x, 0).0;
                    [p[0], p[1]]
                })
                .collect();
            seen.sort();
            want.sort();
            assert_eq!(seen, want, "{o:?}");
        }
    }

    #[test]
    fn pixel_cap_stays_under_the_cap() {
        assert_eq!(fit_pixels(4000, 3000, 12_000_000), (4000, 3000));
        assert_eq!(fit_pixels(4000, 3000, 3_000_000), (2000, 1500));
        let (w, h) = fit_pixels(1800, 1200, 1_000_000);
        assert!(u64::from(w) * u64::from(h) <= 1_000_000);
        assert_eq!((w, h), (1224, 816));
        for cap in [1, 2, 3, 7, 1000, 123_457] {
            for (iw, ih) in [(4000, 3000), (1, 65535), (65535, 1), (3, 3)] {
                let (w, h) = fit_pixels(iw, ih, cap);
                assert!(w >= 1 && h >= 1 && w <= iw && h <= ih);
                assert!(
                    u64::from(w) * u64::from(h) <= cap.max(1),
                    "{iw}x{ih} cap {cap}"
                );
            }
        }
    }
}
