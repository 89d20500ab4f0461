//! Y'CbCr (and the other AV1 colour layouts) to RGBA8: row by row at full size, or after
//! resizing each plane for a thumbnail.
//!
//! Owns: the conversion matrix from CICP matrix coefficients and range ([`Matrix`]), bilinear
//! chroma upsampling, alpha (full or limited range, premultiplied or straight), and resizing
//! planes with `fast_image_resize` before converting ([`small`]). Must not touch: decoding,
//! orientation, or colour primaries and transfer (the pixels stay in the file's colour space,
//! like every other format's; converting between spaces is the colour-management step's job).
//!
//! This file is over 500 lines because the full-size and the thumbnail paths share the
//! matrix, the range handling and the alpha rules, and must stay pixel-for-pixel consistent.
//!
//! Full size ([`full`]): one output row at a time, from the luma row and two chroma rows
//! interpolated with the bilinear weights 3/4, 1/4 in each direction (chroma sited at the
//! centre of its luma samples, as libavif and libyuv take it), so no upsampled chroma plane
//! exists; 10- and 12-bit samples go straight to 8 bits in the same step.
//!
//! Thumbnails ([`small`]): the conversion is affine per pixel and a resize is a weighted
//! average, so resizing the planes first and converting the small result gives the same
//! pixels (up to rounding and clamping) as converting at full size and resizing. Each plane
//! is resized straight to the output size, chroma from its own (subsampled) size, so the
//! full-size RGBA image never exists and the conversion runs on the thumbnail's pixels only.
//! Images with alpha do not take this path: their colour must be averaged weighted by alpha,
//! which the RGBA resize does.
//!
//! Fixed point: every coefficient is scaled by 2^18 (chroma values carry 4 extra bits from
//! the interpolation), which keeps 12-bit sums well inside `i32`.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbaImage;

use super::av1::Layout;

/// Fractional bits of the coefficients.
const SHIFT: u32 = 18;

/// Samples of one plane: 8-bit, or 10/12-bit in `u16`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Samples<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// One plane: `height` rows of `width` samples, `stride` samples apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) samples: Samples<'a>,
    pub(crate) stride: usize,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl View<'_> {
    /// Row `y` from column `x`, `n` samples, as `i32` times `scale`, into `out`.
    fn load(&self, y: u32, x: u32, n: usize, scale: i32, out: &mut [i32]) {
        let start = y as usize * self.stride + x as usize;
        match self.samples {
            Samples::U8(s) => {
                for (o, &v) in out[..n].iter_mut().zip(&s[start..start + n]) {
                    *o = i32::from(v) * scale;
                }
            }
            Samples::U16(s) => {
                for (o, &v) in out[..n].iter_mut().zip(&s[start..start + n]) {
                    *o = i32::from(v) * scale;
                }
            }
        }
    }
}

/// The planes of one picture and how to read them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planes<'a> {
    pub(crate) y: View<'a>,
    /// Cb and Cr; `None` for monochrome.
    pub(crate) uv: Option<(View<'a>, View<'a>)>,
    pub(crate) layout: Layout,
    pub(crate) depth: u8,
}

/// A rectangle of the luma plane, in pixels (the clean aperture, or the whole picture).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// How Y', Cb, Cr become R', G', B'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    /// Y'CbCr with these luma weights of red and blue (times 10^6).
    YCbCr { kr: u32, kb: u32 },
    /// Matrix coefficients 0: the planes are G, B, R.
    Identity,
    /// Matrix coefficients 8: Y'CgCo.
    YCgCo,
}

impl Model {
    /// The model for CICP matrix coefficients `mc`; `None` for the ones AVIF decoders do not
    /// implement (BT.2020 constant luminance, chromaticity-derived, ICtCp).
    pub(crate) fn of(mc: u16) -> Option<Model> {
        let (kr, kb) = match mc {
            0 => return Some(Model::Identity),
            8 => return Some(Model::YCgCo),
            1 => (212_600, 72_200),
            4 => (300_000, 110_000),
            // 2 (unspecified) and 3 (reserved) as BT.601, like libavif.
            2 | 3 | 5 | 6 => (299_000, 114_000),
            7 => (212_000, 87_000),
            9 => (262_700, 59_300),
            _ => return None,
        };
        Some(Model::YCbCr { kr, kb })
    }
}

/// Fixed-point conversion of one image: `out = (coef . (y - y_off, u - uv_off, v - uv_off)) >> 18`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Matrix {
    /// Rows R, G, B; columns Y (in samples), U and V (in sixteenths of samples).
    coef: [[i32; 3]; 3],
    y_off: i32,
    /// Chroma offset, in sixteenths.
    uv_off: i32,
    /// What the matrix was made from, for [`super::yuv8`]: model, range, and `None` for luma
    /// only or a depth other than 8.
    pub(crate) eight_bit: Option<(Model, bool)>,
}

impl Matrix {
    /// The matrix for `model` at `depth` bits, full or limited (`full_range`) range, for a
    /// picture with chroma (`gray`: luma only).
    pub(crate) fn new(model: Model, depth: u8, full_range: bool, gray: bool) -> Matrix {
        let max = f64::from((1u32 << depth) - 1);
        let scale = f64::from(1u32 << (depth - 8));
        let (y_off, y_range, uv_range) = if full_range {
            (0.0, max, max)
        } else {
            (16.0 * scale, 219.0 * scale, 224.0 * scale)
        };
        let center = f64::from(1u32 << (depth - 1));
        let one = f64::from(1u32 << SHIFT);
        let cy = 255.0 / y_range * one;
        // Chroma carries 4 more bits.
        let c = 255.0 / uv_range * one / 16.0;
        let (rows, uv_off) = match (gray, model) {
            (true, _) => ([[cy, 0.0, 0.0]; 3], center),
            (false, Model::Identity) => {
                // G, B, R, each with the luma range.
                let c = cy / 16.0;
                ([[0.0, 0.0, c], [cy, 0.0, 0.0], [0.0, c, 0.0]], y_off)
            }
            (false, Model::YCgCo) => ([[cy, -c, c], [cy, c, 0.0], [cy, -c, -c]], center),
            (false, Model::YCbCr { kr, kb }) => {
                let (kr, kb) = (f64::from(kr) / 1e6, f64::from(kb) / 1e6);
                let kg = 1.0 - kr - kb;
                let rv = 2.0 * (1.0 - kr);
                let bu = 2.0 * (1.0 - kb);
                let gu = bu * kb / kg;
                let gv = rv * kr / kg;
                (
                    [[cy, 0.0, rv * c], [cy, -gu * c, -gv * c], [cy, bu * c, 0.0]],
                    center,
                )
            }
        };
        Matrix {
            coef: rows.map(|r| r.map(|v| v.round() as i32)),
            y_off: y_off.round() as i32,
            uv_off: (uv_off * 16.0).round() as i32,
            eight_bit: (depth == 8 && !gray).then_some((model, full_range)),
        }
    }

    /// Converts one row: luma in samples, chroma in sixteenths; writes R, G, B of `rgba`.
    fn row(&self, y: &[i32], u: &[i32], v: &[i32], rgba: &mut [u8]) {
        let [r, g, b] = self.coef;
        let round = 1 << (SHIFT - 1);
        for (((px, &y), &u), &v) in rgba.chunks_exact_mut(4).zip(y).zip(u).zip(v) {
            let (y, u, v) = (y - self.y_off, u - self.uv_off, v - self.uv_off);
            let ch = |k: [i32; 3]| {
                ((k[0] * y + k[1] * u + k[2] * v + round) >> SHIFT).clamp(0, 255) as u8
            };
            px[0] = ch(r);
            px[1] = ch(g);
            px[2] = ch(b);
        }
    }

    /// A luma-only row (gray): R = G = B.
    fn gray_row(&self, y: &[i32], rgba: &mut [u8]) {
        let k = self.coef[0][0];
        let round = 1 << (SHIFT - 1);
        for (px, &y) in rgba.chunks_exact_mut(4).zip(y) {
            let v = ((k * (y - self.y_off) + round) >> SHIFT).clamp(0, 255) as u8;
            px[..3].fill(v);
        }
    }
}

/// Alpha from its own picture's luma: depth and range, and whether the colour was
/// premultiplied by it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alpha<'a> {
    pub(crate) plane: View<'a>,
    pub(crate) depth: u8,
    pub(crate) full_range: bool,
    pub(crate) premultiplied: bool,
}

impl Alpha<'_> {
    /// Writes alpha into row `y` of `rgba` (from column `x`), undoing premultiplication.
    fn row(&self, y: u32, x: u32, buf: &mut [i32], rgba: &mut [u8]) {
        let n = rgba.len() / 4;
        self.plane.load(y, x, n, 1, buf);
        let max = (1i32 << self.depth) - 1;
        let (off, range) = if self.full_range {
            (0, max)
        } else {
            (16 << (self.depth - 8), 219 << (self.depth - 8))
        };
        for (px, &a) in rgba.chunks_exact_mut(4).zip(buf.iter()) {
            let a = (((a - off).max(0) * 255 + range / 2) / range).min(255);
            px[3] = a as u8;
            if self.premultiplied {
                for c in &mut px[..3] {
                    *c = if a == 0 {
                        0
                    } else {
                        ((i32::from(*c) * 255 + a / 2) / a).min(255) as u8
                    };
                }
            }
        }
    }
}

/// Row `row` of a chroma plane, interpolated vertically to luma row `luma_row` (weights
/// 3/4 near, 1/4 far) and horizontally to `n` luma columns from `x` (again 3/4, 1/4): in
/// sixteenths. `tmp` holds the vertically interpolated chroma row.
#[allow(clippy::too_many_arguments)]
fn chroma_row(
    plane: &View<'_>,
    (sx, sy): (u32, u32),
    luma_row: u32,
    x: u32,
    n: usize,
    tmp: &mut Vec<i32>,
    far: &mut Vec<i32>,
    out: &mut [i32],
) {
    let cw = plane.width as usize;
    let last_row = plane.height - 1;
    tmp.resize(cw, 0);
    far.resize(cw, 0);
    if sy == 1 {
        let near = (luma_row >> 1).min(last_row);
        let other = if luma_row & 1 == 0 {
            near.saturating_sub(1)
        } else {
            (near + 1).min(last_row)
        };
        plane.load(near, 0, cw, 3, tmp);
        plane.load(other, 0, cw, 1, far);
        for (t, f) in tmp.iter_mut().zip(far.iter()) {
            *t += *f;
        }
    } else {
        plane.load(luma_row.min(last_row), 0, cw, 4, tmp);
    }
    if sx == 1 {
        let last = cw - 1;
        for (i, o) in out[..n].iter_mut().enumerate() {
            let lx = x as usize + i;
            let near = (lx >> 1).min(last);
            let other = if lx & 1 == 0 {
                near.saturating_sub(1)
            } else {
                (near + 1).min(last)
            };
            *o = 3 * tmp[near] + tmp[other];
        }
    } else {
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = tmp[(x as usize + i).min(cw - 1)] * 4;
        }
    }
}

/// The whole-pixel `window` of `planes` as opaque RGBA8, converted row by row (the general
/// path: every depth, model, layout and crop).
pub(crate) fn rows(
    planes: &Planes<'_>,
    matrix: &Matrix,
    (x0, y0, w, h): (u32, u32, u32, u32),
) -> RgbaImage {
    let n = w as usize;
    let mut out = RgbaImage::from_pixel(w, h, image::Rgba([0, 0, 0, 255]));
    if n == 0 {
        return out;
    }
    let (mut yrow, mut urow, mut vrow) = (vec![0; n], vec![0; n], vec![0; n]);
    let (mut tmp, mut far) = (Vec::new(), Vec::new());
    let shifts = planes.layout.shifts();
    for (i, rgba) in out.chunks_exact_mut(n * 4).enumerate() {
        let ly = y0 + i as u32;
        planes.y.load(ly, x0, n, 1, &mut yrow);
        match &planes.uv {
            Some((u, v)) => {
                chroma_row(u, shifts, ly, x0, n, &mut tmp, &mut far, &mut urow);
                chroma_row(v, shifts, ly, x0, n, &mut tmp, &mut far, &mut vrow);
                matrix.row(&yrow, &urow, &vrow, rgba);
            }
            None => matrix.gray_row(&yrow, rgba),
        }
    }
    out
}

/// Writes `alpha`'s samples for the pixel `window` (`x0`, `y0` and `out`'s size) into `out`,
/// premultiplying or not as the alpha image says.
pub(crate) fn put_alpha(out: &mut RgbaImage, alpha: &Alpha<'_>, (x0, y0): (u32, u32)) {
    let n = out.width() as usize;
    if n == 0 {
        return;
    }
    let mut buf = vec![0; n];
    for (i, rgba) in out.chunks_exact_mut(n * 4).enumerate() {
        alpha.row(y0 + i as u32, x0, &mut buf, rgba);
    }
}

fn resize_failed(e: impl std::fmt::Display) -> String {
    format!("AVIF plane resize failed: {e}")
}

/// `window` (in the plane's own samples) of `plane` resized to `to`, as `i32` times `scale`.
fn resize_plane(
    plane: &View<'_>,
    window: Window,
    to: (u32, u32),
    scale: i32,
) -> Result<Vec<i32>, String> {
    let (bytes, pixel): (&[u8], PixelType) = match plane.samples {
        Samples::U8(s) => (s, PixelType::U8),
        Samples::U16(s) => (bytemuck::cast_slice(s), PixelType::U16),
    };
    // The stride as the width, the real width as the crop: no copy of the plane.
    let stride = u32::try_from(plane.stride).map_err(resize_failed)?;
    let src = ImageRef::new(stride, plane.height, bytes, pixel).map_err(resize_failed)?;
    let mut dst = Image::new(to.0, to.1, pixel);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(window.x, window.y, window.width, window.height);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(resize_failed)?;
    let buf = dst.into_vec();
    Ok(match plane.samples {
        Samples::U8(_) => buf.iter().map(|&v| i32::from(v) * scale).collect(),
        Samples::U16(_) => buf
            .chunks_exact(2)
            .map(|b| i32::from(u16::from_ne_bytes([b[0], b[1]])) * scale)
            .collect(),
    })
}

/// The `window` (in luma pixels, fractional edges allowed) of opaque `planes`, resized to
/// `to` plane by plane and then converted: the full-size RGBA image is never made.
pub(crate) fn small(
    planes: &Planes<'_>,
    matrix: &Matrix,
    window: Window,
    to: (u32, u32),
) -> Result<RgbaImage, String> {
    let y = resize_plane(&planes.y, window, to, 1)?;
    let mut out = RgbaImage::from_pixel(to.0, to.1, image::Rgba([0, 0, 0, 255]));
    let n = to.0 as usize;
    match &planes.uv {
        Some((u, v)) => {
            let (sx, sy) = planes.layout.shifts();
            let (fx, fy) = (f64::from(1u32 << sx), f64::from(1u32 << sy));
            let cw = Window {
                x: window.x / fx,
                y: window.y / fy,
                width: window.width / fx,
                height: window.height / fy,
            };
            let u = resize_plane(u, cw, to, 16)?;
            let v = resize_plane(v, cw, to, 16)?;
            for (i, rgba) in out.chunks_exact_mut(n * 4).enumerate() {
                let r = i * n..(i + 1) * n;
                matrix.row(&y[r.clone()], &u[r.clone()], &v[r], rgba);
            }
        }
        None => {
            for (i, rgba) in out.chunks_exact_mut(n * 4).enumerate() {
                matrix.gray_row(&y[i * n..(i + 1) * n], rgba);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(samples: Samples<'_>, width: u32, height: u32) -> View<'_> {
        View {
            samples,
            stride: width as usize,
            width,
            height,
        }
    }

    #[test]
    fn bt601_full_range_matches_the_reference_formula() {
        // Pillow's default AVIF: BT.601 matrix, full range.
        let m = Matrix::new(Model::of(6).unwrap(), 8, true, false);
        let cases = [(128, 128, 128), (16, 200, 60), (235, 30, 220), (0, 0, 0)];
        for (y, u, v) in cases {
            let (fy, fu, fv) = (f64::from(y), f64::from(u) - 128.0, f64::from(v) - 128.0);
            let want = [
                fy + 1.402 * fv,
                fy - 0.344_136 * fu - 0.714_136 * fv,
                fy + 1.772 * fu,
            ]
            .map(|c| c.round().clamp(0.0, 255.0) as u8);
            let mut px = [0u8; 4];
            m.row(&[y], &[u * 16], &[v * 16], &mut px);
            for c in 0..3 {
                assert!(
                    px[c].abs_diff(want[c]) <= 1,
                    "{:?} for {y},{u},{v}, want {want:?}",
                    &px[..3]
                );
            }
        }
    }

    #[test]
    fn limited_range_and_high_bit_depths_reach_black_and_white() {
        for depth in [8u8, 10, 12] {
            let s = 1 << (depth - 8);
            let m = Matrix::new(Model::of(1).unwrap(), depth, false, false);
            let mut px = [0u8; 8];
            let c = 128 * s * 16;
            m.row(&[16 * s, 235 * s], &[c, c], &[c, c], &mut px);
            assert_eq!(
                (&px[..3], &px[4..7]),
                (&[0, 0, 0][..], &[255, 255, 255][..])
            );
        }
        // Identity (GBR) puts the planes in their places.
        let m = Matrix::new(Model::Identity, 8, true, false);
        let mut px = [0u8; 4];
        m.row(&[10], &[20 * 16], &[30 * 16], &mut px);
        assert_eq!(&px[..3], &[30, 10, 20]);
    }

    #[test]
    fn chroma_is_interpolated_bilinearly() {
        // 4:2:0, 4x2 luma, chroma 2x1: left 0, right 160.
        let luma = [100u8; 8];
        let (cb, cr) = ([0u8, 160], [128u8, 128]);
        let planes = Planes {
            y: view(Samples::U8(&luma), 4, 2),
            uv: Some((view(Samples::U8(&cb), 2, 1), view(Samples::U8(&cr), 2, 1))),
            layout: Layout::I420,
            depth: 8,
        };
        let m = Matrix::new(Model::Identity, 8, true, false);
        let out = rows(&planes, &m, (0, 0, 4, 2));
        // Identity: blue is Cb. Columns 0..4 sit at chroma 0, 40, 120, 160.
        let blue: Vec<u8> = (0..4).map(|x| out.get_pixel(x, 0).0[2]).collect();
        assert_eq!(blue, vec![0, 40, 120, 160]);
        assert_eq!(out.get_pixel(3, 1).0, [128, 100, 160, 255]);
    }

    #[test]
    fn straight_alpha_from_premultiplied_colour() {
        let luma = [128u8; 2];
        let a = [255u8, 128];
        let planes = Planes {
            y: view(Samples::U8(&luma), 2, 1),
            uv: None,
            layout: Layout::I400,
            depth: 8,
        };
        let m = Matrix::new(Model::of(1).unwrap(), 8, true, true);
        let alpha = Alpha {
            plane: view(Samples::U8(&a), 2, 1),
            depth: 8,
            full_range: true,
            premultiplied: true,
        };
        let mut out = rows(&planes, &m, (0, 0, 2, 1));
        put_alpha(&mut out, &alpha, (0, 0));
        assert_eq!(out.get_pixel(0, 0).0, [128, 128, 128, 255]);
        assert_eq!(out.get_pixel(1, 0).0, [255, 255, 255, 128]);
    }

    #[test]
    fn a_small_conversion_matches_a_full_one_resized() {
        // A smooth 10-bit gradient, 4:2:0.
        let (w, h) = (64u32, 48u32);
        let y: Vec<u16> = (0..w * h)
            .map(|i| (64 + (i % w) * 12 + (i / w) * 3) as u16)
            .collect();
        let u: Vec<u16> = (0..w * h / 4)
            .map(|i| (300 + (i % 32) * 10) as u16)
            .collect();
        let v: Vec<u16> = (0..w * h / 4)
            .map(|i| (700 - (i / 32) * 8) as u16)
            .collect();
        let planes = Planes {
            y: view(Samples::U16(&y), w, h),
            uv: Some((
                view(Samples::U16(&u), w / 2, h / 2),
                view(Samples::U16(&v), w / 2, h / 2),
            )),
            layout: Layout::I420,
            depth: 10,
        };
        let m = Matrix::new(Model::of(1).unwrap(), 10, false, false);
        let whole = Window {
            x: 0.0,
            y: 0.0,
            width: f64::from(w),
            height: f64::from(h),
        };
        let small = small(&planes, &m, whole, (16, 12)).unwrap();
        let big = rows(&planes, &m, (0, 0, w, h));
        let resized = crate::decode::resize::rgba(big, (16, 12)).unwrap();
        let worst = small
            .as_raw()
            .iter()
            .zip(resized.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 3, "worst difference {worst}");
    }
}
