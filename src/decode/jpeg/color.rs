//! Reduced-size component planes, chroma upsampling and colour conversion.
//!
//! Owns [`Plane`] (one component's pixels at the reduced scale, MCU-padded)
//! and the final pass that upsamples each plane to the output size with
//! libjpeg's "fancy" (centred triangle / bilinear) filters and converts
//! YCbCr -> RGB with libjpeg's fixed-point arithmetic, or expands grayscale,
//! or passes RGB through.
//!
//! Must not touch: entropy decoding or the IDCT; it sees only reduced-size pixels.

use super::JpegError;

/// One component's samples at the reduced scale.
pub(super) struct Plane {
    pub(super) data: Vec<u8>,
    /// Samples per row (MCU-padded).
    pub(super) stride: usize,
    /// Rows (MCU-padded).
    pub(super) rows: usize,
    /// Upsampling factor to the output grid, horizontally (1 or 2).
    pub(super) fh: usize,
    /// Upsampling factor to the output grid, vertically (1 or 2).
    pub(super) fv: usize,
}

impl Plane {
    /// A plane of `stride x rows` mid-gray samples (what all-zero
    /// coefficients decode to).
    pub(super) fn new(stride: usize, rows: usize, fh: usize, fv: usize) -> Result<Self, JpegError> {
        let n = stride
            .checked_mul(rows)
            .ok_or_else(|| JpegError::Unsupported("image too large".into()))?;
        Ok(Plane {
            data: vec![128; n],
            stride,
            rows,
            fh,
            fv,
        })
    }

    fn row(&self, y: usize) -> &[u8] {
        let y = y.min(self.rows.saturating_sub(1));
        self.data
            .get(y * self.stride..(y + 1) * self.stride)
            .unwrap_or(&[])
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
}

/// Produces `out` (`out_w` samples) for output row `y` of a plane,
/// upsampling by (fh, fv) with libjpeg-turbo's fancy filters.
/// `colsum` is scratch space.
fn upsample_row(p: &Plane, y: usize, out_h: usize, out: &mut [u8], colsum: &mut Vec<u16>) {
    let out_w = out.len();
    // Valid samples in this plane: ceil(out / f), libjpeg's downsampled size.
    let vw = out_w.div_ceil(p.fh).min(p.stride).max(1);
    let vh = out_h.div_ceil(p.fv).min(p.rows).max(1);
    if p.fv == 1 {
        let row = p.row(y);
        if p.fh == 1 {
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
        if p.fh == 1 {
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
    let (b_even, b_odd) = if p.fv == 2 { (8, 7) } else { (4, 8) };
    for (pair, w) in out.chunks_mut(2).zip(colsum.windows(3)) {
        let this = u32::from(w[1]) * 3;
        pair[0] = ((this + u32::from(w[0]) + b_even) >> 4) as u8;
        if let Some(o) = pair.get_mut(1) {
            *o = ((this + u32::from(w[2]) + b_odd) >> 4) as u8;
        }
    }
}

/// Upsamples and converts the planes to packed RGB8 of `out_w x out_h`.
pub(super) fn to_rgb(
    planes: &[Plane],
    transform: Transform,
    out_w: usize,
    out_h: usize,
) -> Result<Vec<u8>, JpegError> {
    let n = out_w
        .checked_mul(out_h)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| JpegError::Unsupported("image too large".into()))?;
    let mut rgb = vec![0u8; n];
    let mut colsum = Vec::new();
    let mut rows = [vec![0u8; out_w], vec![0u8; out_w], vec![0u8; out_w]];
    for (y, dst) in rgb.chunks_exact_mut(out_w * 3).enumerate() {
        for (p, row) in planes.iter().zip(rows.iter_mut()) {
            upsample_row(p, y, out_h, row, &mut colsum);
        }
        match transform {
            Transform::Gray => {
                for (d, &g) in dst.chunks_exact_mut(3).zip(&rows[0]) {
                    d.copy_from_slice(&[g, g, g]);
                }
            }
            Transform::Rgb => {
                for (((d, &r), &g), &b) in dst
                    .chunks_exact_mut(3)
                    .zip(&rows[0])
                    .zip(&rows[1])
                    .zip(&rows[2])
                {
                    d.copy_from_slice(&[r, g, b]);
                }
            }
            Transform::YCbCr => ycc_row(&rows[0], &rows[1], &rows[2], dst),
        }
    }
    Ok(rgb)
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
mod tests {
    use super::*;

    #[test]
    fn h2v1_matches_libjpeg() {
        let p = Plane {
            data: vec![10, 50, 90],
            stride: 3,
            rows: 1,
            fh: 2,
            fv: 1,
        };
        let mut out = vec![0u8; 6];
        upsample_row(&p, 0, 1, &mut out, &mut Vec::new());
        // libjpeg: 10, (30+50+2)>>2=20, (150+10+1)>>2=40, (150+90+2)>>2=60,
        // (270+50+1)>>2=80, 90
        assert_eq!(out, [10, 20, 40, 60, 80, 90]);
    }

    #[test]
    fn h2v2_flat_stays_flat() {
        let p = Plane {
            data: vec![77; 4],
            stride: 2,
            rows: 2,
            fh: 2,
            fv: 2,
        };
        let mut out = vec![0u8; 3];
        for y in 0..3 {
            upsample_row(&p, y, 3, &mut out, &mut Vec::new());
            assert_eq!(out, [77, 77, 77]);
        }
    }

    #[test]
    fn ycc_gray_and_red() {
        let mut d = [0u8; 6];
        ycc_row(&[128, 76], &[128, 85], &[128, 255], &mut d);
        assert_eq!(&d[..3], &[128, 128, 128]);
        assert!(d[3] > 250 && d[4] < 5 && d[5] < 5, "{d:?}");
    }
}
