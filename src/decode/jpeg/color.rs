//! Reduced-size component planes, chroma upsampling and colour conversion.
//!
//! Owns [`Plane`] (one component's pixels at the reduced scale, MCU-padded)
//! and the final pass that upsamples each plane to the output size and
//! converts to RGB8:
//!
//! * upsampling by 2 (and 1) in each direction uses libjpeg's "fancy"
//!   (centred triangle / bilinear) filters with libjpeg-turbo's rounding;
//!   any other ratio (3x, 4x, or fractional ones such as 3:2 from sampling
//!   factors 3 and 2) uses the same centred triangle filter in general
//!   integer form ([`Ratio`]), and a ratio below 1 (a plane finer than the
//!   output, from an IDCT size rounded up to 2 or 4) an exact area average;
//! * YCbCr -> RGB uses libjpeg's fixed-point arithmetic; grayscale is
//!   expanded, RGB passed through;
//! * CMYK (Adobe, stored inverted: 255 = no ink) -> RGB multiplies each
//!   channel by K, and YCCK is first converted YCbCr -> "RGB" = inverted
//!   CMY and then the same way, both with zune-jpeg's rounding
//!   (`x * k / 255`), so thumbnails match the full-size decode;
//! * or, for a file whose ICC profile will convert them, CMYK and YCCK to
//!   their inks as Adobe stores them (`to_pixels` with `inks`).
//!
//! Must not touch: entropy decoding, IDCTs, colour profiles.

use super::JpegError;

/// An upsampling ratio: `num / den` output samples per plane sample
/// (`>= 1`), in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ratio {
    pub(super) num: usize,
    pub(super) den: usize,
}

impl Ratio {
    /// `num / den`, reduced.
    pub(super) fn new(num: usize, den: usize) -> Ratio {
        let (mut a, mut b) = (num.max(1), den.max(1));
        while b != 0 {
            (a, b) = (b, a % b);
        }
        Ratio {
            num: num.max(1) / a,
            den: den.max(1) / a,
        }
    }

    /// The ratio as an integer factor 1 or 2, if it is one.
    fn small_int(self) -> Option<usize> {
        (self.den == 1 && self.num <= 2).then_some(self.num)
    }
}

/// One component's samples at the reduced scale.
pub(super) struct Plane {
    pub(super) data: Vec<u8>,
    /// Samples per row (MCU-padded).
    pub(super) stride: usize,
    /// Rows (MCU-padded).
    pub(super) rows: usize,
    /// Upsampling to the output grid, horizontally.
    pub(super) h: Ratio,
    /// Upsampling to the output grid, vertically.
    pub(super) v: Ratio,
}

impl Plane {
    /// A plane of `stride x rows` mid-gray samples (what all-zero
    /// coefficients decode to).
    pub(super) fn new(stride: usize, rows: usize, h: Ratio, v: Ratio) -> Result<Self, JpegError> {
        let n = stride
            .checked_mul(rows)
            .ok_or_else(|| JpegError::Unsupported("image too large".into()))?;
        Ok(Plane {
            data: vec![128; n],
            stride,
            rows,
            h,
            v,
        })
    }

    fn row(&self, y: usize) -> &[u8] {
        let y = y.min(self.rows.saturating_sub(1));
        self.data
            .get(y * self.stride..(y + 1) * self.stride)
            .unwrap_or(&[])
    }

    /// Plane samples that map inside an output of `out` samples along a
    /// direction with ratio `r` (libjpeg's downsampled size), at least 1.
    fn valid(out: usize, r: Ratio, have: usize) -> usize {
        (out * r.den).div_ceil(r.num).min(have).max(1)
    }
}

/// How the decoded components map to RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transform {
    /// One component.
    Gray,
    /// Three components, YCbCr (JFIF).
    YCbCr,
    /// Three components already RGB (Adobe transform 0, or ids 'R','G','B').
    Rgb,
    /// Four components, Adobe CMYK (inverted).
    Cmyk,
    /// Four components, Adobe YCCK.
    Ycck,
}

/// Where output sample `i` of a direction with ratio `r >= 1` takes its
/// value: the lower source index and the weight of the upper one, out of
/// `2 * r.num` (centred sampling: source position `(i + 0.5) / r - 0.5`).
#[inline]
fn tap(i: usize, r: Ratio) -> (usize, usize) {
    let t = (2 * i + 1) * r.den;
    if t <= r.num {
        return (0, 0);
    }
    let t = t - r.num;
    (t / (2 * r.num), t % (2 * r.num))
}

/// The plane samples one output sample blends along one direction, and
/// their weights out of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Taps {
    first: usize,
    w: [u32; 3],
    total: u32,
}

impl Taps {
    /// Taps of output sample `i` for ratio `r`: a centred triangle between
    /// the two nearest samples when upsampling (`r >= 1`); the exact overlap
    /// of the output sample with each plane sample when reducing (`1/2 < r <
    /// 1`, where an output sample spans at most 3 plane samples).
    fn new(i: usize, r: Ratio) -> Taps {
        if r.num >= r.den {
            let (first, f) = tap(i, r);
            let total = 2 * r.num;
            return Taps {
                first,
                w: [(total - f) as u32, f as u32, 0],
                total: total as u32,
            };
        }
        // Output i covers [i * den, (i + 1) * den) in units of 1 / num plane
        // samples; plane sample k covers [k * num, (k + 1) * num).
        let (lo, hi) = (i * r.den, (i + 1) * r.den);
        let first = lo / r.num;
        let mut w = [0u32; 3];
        for (k, wk) in w.iter_mut().enumerate() {
            let (a, b) = ((first + k) * r.num, (first + k + 1) * r.num);
            *wk = b.min(hi).saturating_sub(a.max(lo)) as u32;
        }
        Taps {
            first,
            w,
            total: r.den as u32,
        }
    }
}

/// Generic resampling of output row `y` by any ratios, with the horizontal
/// taps `hx` (one per output sample) computed once per plane.
fn resample_row_generic(
    p: &Plane,
    y: usize,
    out_h: usize,
    hx: &[Taps],
    out: &mut [u8],
    colsum: &mut Vec<u16>,
) {
    let out_w = out.len();
    let vw = Plane::valid(out_w, p.h, p.stride);
    let vh = Plane::valid(out_h, p.v, p.rows);
    let tv = Taps::new(y, p.v);
    colsum.clear();
    colsum.resize(vw, 0);
    for (k, &w) in tv.w.iter().enumerate() {
        if w == 0 {
            continue;
        }
        let row = p.row((tv.first + k).min(vh - 1));
        for (c, &s) in colsum.iter_mut().zip(row) {
            *c += (w * u32::from(s)) as u16;
        }
    }
    for (o, th) in out.iter_mut().zip(hx) {
        let mut v = 0u32;
        for (k, &w) in th.w.iter().enumerate() {
            if w != 0 {
                let c = colsum.get((th.first + k).min(vw - 1)).copied().unwrap_or(0);
                v += w * u32::from(c);
            }
        }
        let scale = th.total * tv.total;
        *o = ((v + scale / 2) / scale) as u8;
    }
}

/// Horizontal taps of a plane that needs generic resampling (any ratio
/// other than 1 or 2 in either direction), else `None`.
fn generic_taps(p: &Plane, out_w: usize) -> Option<Vec<Taps>> {
    if p.h.small_int().is_some() && p.v.small_int().is_some() {
        return None;
    }
    Some((0..out_w).map(|x| Taps::new(x, p.h)).collect())
}

/// Produces `out` (`out_w` samples) for output row `y` of a plane,
/// upsampling by (fh, fv) with libjpeg-turbo's fancy filters.
/// `colsum` is scratch space.
fn upsample_row(p: &Plane, y: usize, out_h: usize, out: &mut [u8], colsum: &mut Vec<u16>) {
    let (Some(fh), Some(fv)) = (p.h.small_int(), p.v.small_int()) else {
        let hx: Vec<Taps> = (0..out.len()).map(|x| Taps::new(x, p.h)).collect();
        resample_row_generic(p, y, out_h, &hx, out, colsum);
        return;
    };
    let out_w = out.len();
    // Valid samples in this plane: ceil(out / f), libjpeg's downsampled size.
    let vw = Plane::valid(out_w, p.h, p.stride);
    let vh = Plane::valid(out_h, p.v, p.rows);
    if fv == 1 {
        let row = p.row(y);
        if fh == 1 {
            let n = out_w.min(row.len());
            out[..n].copy_from_slice(&row[..n]);
            return;
        }
        colsum.clear();
        colsum.extend(row.iter().take(vw).map(|&s| u16::from(s) * 4));
    } else {
        let near = y / 2;
        let far = if y.is_multiple_of(2) {
            near.saturating_sub(1)
        } else {
            near + 1
        };
        let (near, far) = (near.min(vh - 1), far.min(vh - 1));
        let (a, b) = (p.row(near), p.row(far));
        colsum.clear();
        colsum.extend(
            a.iter()
                .zip(b)
                .take(vw)
                .map(|(&a, &b)| u16::from(a) * 3 + u16::from(b)),
        );
        if fh == 1 {
            let bias = if y.is_multiple_of(2) { 1 } else { 2 };
            for (o, &c) in out.iter_mut().zip(colsum.iter()) {
                *o = ((c + bias) >> 2) as u8;
            }
            return;
        }
    }
    // Horizontal 2x with colsums scaled by 4 (h2v1 passes 4*s so that the
    // same >> 4 arithmetic as h2v2 gives libjpeg's h2v1 rounding). Edge
    // columns are replicated.
    let (Some(&first), Some(&last)) = (colsum.first(), colsum.last()) else {
        return;
    };
    colsum.insert(0, first);
    colsum.push(last);
    let (b_even, b_odd) = if fv == 2 { (8, 7) } else { (4, 8) };
    for (pair, w) in out.chunks_mut(2).zip(colsum.windows(3)) {
        let this = u32::from(w[1]) * 3;
        pair[0] = ((this + u32::from(w[0]) + b_even) >> 4) as u8;
        if let Some(o) = pair.get_mut(1) {
            *o = ((this + u32::from(w[2]) + b_odd) >> 4) as u8;
        }
    }
}

/// Upsamples and converts the planes to packed RGB8 of `out_w x out_h`; with `inks`, a CMYK
/// or YCCK frame to packed CMYK8 as Adobe stores CMYK (255 = no ink) instead, for a colour
/// profile to convert (a YCCK frame's YCbCr decodes to its CMY inks).
pub(super) fn to_pixels(
    planes: &[Plane],
    transform: Transform,
    (out_w, out_h): (usize, usize),
    inks: bool,
) -> Result<Vec<u8>, JpegError> {
    let channels = if inks { 4 } else { 3 };
    let n = out_w
        .checked_mul(out_h)
        .and_then(|n| n.checked_mul(channels))
        .ok_or_else(|| JpegError::Unsupported("image too large".into()))?;
    let needed = match transform {
        Transform::Gray => 1,
        Transform::YCbCr | Transform::Rgb => 3,
        Transform::Cmyk | Transform::Ycck => 4,
    };
    if planes.len() < needed {
        return Err(JpegError::Corrupt("missing component".into()));
    }
    let mut out = vec![0u8; n];
    let mut colsum = Vec::new();
    let mut rows = vec![vec![0u8; out_w]; needed];
    let mut ycc = vec![0u8; out_w * 3];
    let taps: Vec<Option<Vec<Taps>>> = planes.iter().map(|p| generic_taps(p, out_w)).collect();
    for (y, dst) in out.chunks_exact_mut(out_w * channels).enumerate() {
        for ((p, row), hx) in planes.iter().zip(rows.iter_mut()).zip(&taps) {
            match hx {
                Some(hx) => resample_row_generic(p, y, out_h, hx, row, &mut colsum),
                None => upsample_row(p, y, out_h, row, &mut colsum),
            }
        }
        match (inks, transform, &rows[..]) {
            (false, Transform::Gray, [g, ..]) => {
                for (d, &g) in dst.chunks_exact_mut(3).zip(g) {
                    d.copy_from_slice(&[g, g, g]);
                }
            }
            (false, Transform::Rgb, [r, g, b, ..]) => {
                for (((d, &r), &g), &b) in dst.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
                    d.copy_from_slice(&[r, g, b]);
                }
            }
            (false, Transform::YCbCr, [y, cb, cr, ..]) => ycc_row(y, cb, cr, dst),
            (false, Transform::Cmyk, [c, m, y, k]) => {
                each4(dst, 3, [c, m, y, k], |d, [c, m, y, k]| {
                    d.copy_from_slice(&[mul_k(c, k), mul_k(m, k), mul_k(y, k)]);
                })
            }
            (false, Transform::Ycck, [y, cb, cr, k]) => {
                ycc_row(y, cb, cr, dst);
                for (d, &k) in dst.chunks_exact_mut(3).zip(k) {
                    for v in d.iter_mut() {
                        *v = mul_k(255 - *v, k);
                    }
                }
            }
            (true, Transform::Cmyk, [c, m, y, k]) => {
                each4(dst, 4, [c, m, y, k], |d, inks| d.copy_from_slice(&inks));
            }
            (true, Transform::Ycck, [y, cb, cr, k]) => {
                ycc_row(y, cb, cr, &mut ycc);
                for ((d, v), &k) in dst.chunks_exact_mut(4).zip(ycc.chunks_exact(3)).zip(k) {
                    d.copy_from_slice(&[255 - v[0], 255 - v[1], 255 - v[2], k]);
                }
            }
            (true, _, _) => {
                return Err(JpegError::Unsupported(
                    "CMYK output of a 1- or 3-component JPEG".into(),
                ));
            }
            _ => return Err(JpegError::Corrupt("missing component".into())),
        }
    }
    Ok(out)
}

/// Calls `f` with each output pixel of `dst` (`channels` samples) and the four component
/// samples it is made from.
fn each4(
    dst: &mut [u8],
    channels: usize,
    [a, b, c, d]: [&Vec<u8>; 4],
    f: impl Fn(&mut [u8], [u8; 4]),
) {
    for ((((p, &a), &b), &c), &d) in dst.chunks_exact_mut(channels).zip(a).zip(b).zip(c).zip(d) {
        f(p, [a, b, c, d]);
    }
}

/// Packed YCCK (as a full-size decoder hands over the components) to packed CMYK as Adobe
/// stores it, in place: the YCbCr of the CMY inks through libjpeg's YCbCr -> RGB, K as is.
pub(crate) fn ycck_to_cmyk(pixels: &mut [u8]) {
    let mut rgb = [0u8; 3];
    for p in pixels.chunks_exact_mut(4) {
        ycc_row(&[p[0]], &[p[1]], &[p[2]], &mut rgb);
        p[..3].copy_from_slice(&[255 - rgb[0], 255 - rgb[1], 255 - rgb[2]]);
    }
}

/// `x * k / 255`, rounded as zune-jpeg does (Blinn's 8-bit multiply).
#[inline(always)]
fn mul_k(x: u8, k: u8) -> u8 {
    let t = u32::from(x) * u32::from(k) + 128;
    ((t + (t >> 8)) >> 8) as u8
}

/// libjpeg's YCbCr -> RGB (jdcolor.c, SCALEBITS = 16).
#[inline]
fn ycc_row(y: &[u8], cb: &[u8], cr: &[u8], dst: &mut [u8]) {
    const ONE_HALF: i32 = 1 << 15;
    for (((d, &y), &cb), &cr) in dst.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let y = i32::from(y);
        let cb = i32::from(cb) - 128;
        let cr = i32::from(cr) - 128;
        let r = y + ((91881 * cr + ONE_HALF) >> 16);
        let g = y + ((-22554 * cb - 46802 * cr + ONE_HALF) >> 16);
        let b = y + ((116130 * cb + ONE_HALF) >> 16);
        d[0] = r.clamp(0, 255) as u8;
        d[1] = g.clamp(0, 255) as u8;
        d[2] = b.clamp(0, 255) as u8;
    }
}

#[cfg(test)]
mod tests;
