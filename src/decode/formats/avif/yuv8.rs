//! The common case of [`super::yuv::rows`]: a whole 8-bit Y'CbCr picture to RGBA8, with the
//! chroma upsampled here and the matrix applied by the `yuv` crate (AVX2, SSE4.1 or NEON
//! chosen at run time).
//!
//! Owns: deciding whether this path applies, upsampling 4:2:0 and 4:2:2 chroma to full size a
//! strip of rows at a time, and calling `yuv`'s 4:4:4 conversion on each strip. Must not touch:
//! alpha (the caller writes it over the result), crops, 10/12-bit samples, Identity and
//! Y'CgCo, luma only: those keep `yuv.rs`'s scalar rows, which this matches to within rounding.
//!
//! Why not `yuv`'s own bilinear 4:2:0 conversion: it weights luma column `2c` by 3/4 of chroma
//! `c` and 1/4 of `c + 1`, which sites chroma half a sample (one luma pixel) left of where AV1
//! and libyuv put it (the centre of its luma pair, so `2c` takes 1/4 of `c - 1`); its output
//! differed from this crate's and libavif's by up to 12 levels on a gradient. The upsampling
//! here is libyuv's bilinear one (weights 9, 3, 3, 1 over 16, edges repeated), rounded to 8
//! bits like libyuv's; the conversion is 13-bit fixed point.

use image::RgbaImage;
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use super::av1::Layout;
use super::yuv::{Matrix, Model, Planes, Samples, View};

/// Rows upsampled and converted at a time: the two full-width chroma strips are
/// `2 x STRIP x width` bytes, whatever the picture's height.
const STRIP: usize = 16;

/// The whole of `planes` as opaque RGBA8, or `None` when this path does not apply (the caller
/// then converts row by row).
pub(crate) fn convert(planes: &Planes<'_>, matrix: &Matrix) -> Option<RgbaImage> {
    let (Model::YCbCr { kr, kb }, full_range) = matrix.eight_bit? else {
        return None;
    };
    let (Samples::U8(y), Some((u, v))) = (planes.y.samples, planes.uv) else {
        return None;
    };
    let shifts = match planes.layout {
        Layout::I400 => return None,
        layout => layout.shifts(),
    };
    let (width, height) = (planes.y.width, planes.y.height);
    let (w, h) = (width as usize, height as usize);
    // Chroma planes that cover the picture (rav1d's always do; this keeps the indexing below
    // from ever going past them).
    let need = (
        (width + shifts.0) >> shifts.0,
        (height + shifts.1) >> shifts.1,
    );
    let covers = |p: &View<'_>| {
        let Samples::U8(s) = p.samples else {
            return false;
        };
        (p.width, p.height) == need
            && p.stride >= p.width as usize
            && p.height > 0
            && s.len() >= p.stride * (p.height as usize - 1) + p.width as usize
    };
    if w == 0 || h == 0 || !covers(&u) || !covers(&v) {
        return None;
    }
    let range = if full_range {
        YuvRange::Full
    } else {
        YuvRange::Limited
    };
    // The weights are the table's (1 - kr - kb is never 0 there).
    let m = YuvStandardMatrix::Custom(kr as f32 / 1e6, kb as f32 / 1e6);
    let y_stride = planes.y.stride;
    let stride = width.checked_mul(4)?;
    let mut out = vec![0u8; w.checked_mul(h)?.checked_mul(4)?];
    let rows = STRIP.min(h);
    let (mut us, mut vs) = (vec![0u8; w * rows], vec![0u8; w * rows]);
    let mut pad = Vec::new();
    for (strip, rgba) in out.chunks_mut(w * 4 * STRIP).enumerate() {
        let y0 = strip * STRIP;
        let n = rgba.len() / (w * 4);
        for r in 0..n {
            let ly = (y0 + r) as u32;
            upsample(&u, shifts, ly, &mut pad, &mut us[r * w..(r + 1) * w]);
            upsample(&v, shifts, ly, &mut pad, &mut vs[r * w..(r + 1) * w]);
        }
        let image = YuvPlanarImage {
            y_plane: y.get(y0 * y_stride..)?,
            y_stride: u32::try_from(y_stride).ok()?,
            u_plane: &us,
            u_stride: width,
            v_plane: &vs,
            v_stride: width,
            width,
            height: n as u32,
        };
        yuv::yuv444_to_rgba(&image, rgba, stride, range, m).ok()?;
    }
    RgbaImage::from_raw(width, height, out)
}

/// Chroma of luma row `luma_row` at full width (`out.len()` luma columns), 8-bit: the two
/// nearest chroma rows weighted 3/4 and 1/4, then the two nearest columns likewise, rounded
/// once. `pad` holds the vertically interpolated row with its edge samples repeated.
fn upsample(
    plane: &View<'_>,
    (sx, sy): (u32, u32),
    luma_row: u32,
    pad: &mut Vec<u16>,
    out: &mut [u8],
) {
    let Samples::U8(s) = plane.samples else {
        return;
    };
    let cw = plane.width as usize;
    let last_row = plane.height - 1;
    let row = |r: u32| &s[r as usize * plane.stride..][..cw];
    pad.resize(cw + 2, 0);
    let inner = &mut pad[1..=cw];
    if sy == 1 {
        let near = (luma_row >> 1).min(last_row);
        let other = if luma_row & 1 == 0 {
            near.saturating_sub(1)
        } else {
            (near + 1).min(last_row)
        };
        for ((p, &a), &b) in inner.iter_mut().zip(row(near)).zip(row(other)) {
            *p = 3 * u16::from(a) + u16::from(b);
        }
    } else {
        for (p, &a) in inner.iter_mut().zip(row(luma_row.min(last_row))) {
            *p = 4 * u16::from(a);
        }
    }
    pad[0] = pad[1];
    pad[cw + 1] = pad[cw];
    if sx == 1 {
        let (pairs, tail) = out.split_at_mut(out.len() / 2 * 2);
        for (o, p) in pairs.chunks_exact_mut(2).zip(pad.windows(3)) {
            let mid = 3 * p[1] + 8;
            o[0] = ((mid + p[0]) >> 4) as u8;
            o[1] = ((mid + p[2]) >> 4) as u8;
        }
        if let Some(o) = tail.first_mut() {
            // The last luma column, 2c with c the last chroma column: its left neighbour.
            let c = pairs.len() / 2;
            *o = ((3 * pad[c + 1] + pad[c] + 8) >> 4) as u8;
        }
    } else {
        for (o, &p) in out.iter_mut().zip(&pad[1..=cw]) {
            *o = ((p + 2) >> 2) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yuv::View;
    use super::*;

    /// A photo-like 8-bit picture: smooth gradients with an edge, chroma varying both ways.
    fn picture(w: u32, h: u32, layout: Layout) -> (Vec<u8>, Vec<u8>, Vec<u8>, u32, u32) {
        let (sx, sy) = layout.shifts();
        let (cw, ch) = ((w + sx) >> sx, (h + sy) >> sy);
        let y = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (20 + x * 3 + y * 2 + if x > w / 2 { 60 } else { 0 }).min(250) as u8
            })
            .collect();
        let u = (0..cw * ch)
            .map(|i| (40 + (i % cw) * 7 + (i / cw) * 3).min(230) as u8)
            .collect();
        let v = (0..cw * ch)
            .map(|i| 220u32.saturating_sub((i % cw) * 2 + (i / cw) * 6).max(20) as u8)
            .collect();
        (y, u, v, cw, ch)
    }

    fn view(s: &[u8], width: u32, height: u32) -> View<'_> {
        View {
            samples: Samples::U8(s),
            stride: width as usize,
            width,
            height,
        }
    }

    #[test]
    fn the_simd_conversion_matches_the_scalar_rows() {
        // Odd sizes too: the last chroma column and row stand alone.
        for layout in [Layout::I420, Layout::I422, Layout::I444] {
            for (w, h) in [(37u32, 23u32), (64, 48), (5, 3)] {
                let (y, u, v, cw, ch) = picture(w, h, layout);
                let planes = Planes {
                    y: view(&y, w, h),
                    uv: Some((view(&u, cw, ch), view(&v, cw, ch))),
                    layout,
                    depth: 8,
                };
                for (mc, full_range) in [(1u16, false), (6, true), (9, false)] {
                    let m = Matrix::new(Model::of(mc).unwrap(), 8, full_range, false);
                    let fast = convert(&planes, &m).expect("the yuv crate's path applies");
                    let mut scalar = m;
                    scalar.eight_bit = None;
                    let rows = super::super::yuv::rows(&planes, &scalar, (0, 0, w, h));
                    let worst = fast
                        .as_raw()
                        .iter()
                        .zip(rows.as_raw())
                        .map(|(a, b)| a.abs_diff(*b))
                        .max();
                    assert_eq!(fast.dimensions(), (w, h));
                    assert!(
                        worst <= Some(2),
                        "{layout:?} {w}x{h} mc {mc}: worst difference {worst:?}"
                    );
                    assert!(fast.pixels().all(|p| p.0[3] == 255));
                }
            }
        }
    }

    #[test]
    fn other_depths_and_models_keep_the_scalar_rows() {
        let (y, u, v, cw, ch) = picture(8, 8, Layout::I420);
        let planes = Planes {
            y: view(&y, 8, 8),
            uv: Some((view(&u, cw, ch), view(&v, cw, ch))),
            layout: Layout::I420,
            depth: 8,
        };
        assert!(convert(&planes, &Matrix::new(Model::Identity, 8, true, false)).is_none());
        assert!(convert(&planes, &Matrix::new(Model::YCgCo, 8, true, false)).is_none());
        assert!(
            convert(
                &planes,
                &Matrix::new(Model::of(1).unwrap(), 10, true, false)
            )
            .is_none()
        );
        let gray = Planes {
            uv: None,
            layout: Layout::I400,
            ..planes
        };
        assert!(convert(&gray, &Matrix::new(Model::of(1).unwrap(), 8, true, true)).is_none());
    }
}
