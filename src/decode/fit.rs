//! Output sizes: fitting an image into a thumbnail box, covering a box, or under a pixel cap.
//!
//! Owns: the rounding rules, in one place. Must not touch: pixels.
//!
//! Rules. A box fit keeps the aspect ratio and never upscales: an image that already fits is
//! returned at its own size; otherwise the limiting side becomes exactly the box's side and the
//! other is `round(other * scale)` to the nearest integer (halves round up), at least 1. A
//! cover scales (up or down) until both sides reach the box: the side that limits becomes
//! exactly the box's side, the other is rounded the same way but never below its box side;
//! the centre crop to the box is `resize`'s. A pixel cap scales both sides by
//! `sqrt(cap / (w * h))` and rounds each down, so the result never exceeds the cap (at least
//! 1 x 1).

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
