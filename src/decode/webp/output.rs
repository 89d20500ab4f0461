//! Full-size output: decoded YUV 4:2:0 rows to RGBA8, with libwebp's "fancy" chroma
//! upsampling and its YUV to RGB arithmetic, so a full decode matches `dwebp` and Pillow
//! bit for bit.
//!
//! Owns: the colour conversion (BT.601 limited range in 14-bit fixed point, the constants
//! libwebp uses; pixels stay in the file's colour space, no profile is applied here) and the
//! upsampling of chroma between rows that arrive in separate chunks. Must not touch:
//! decoding, alpha (the caller writes the alpha plane over the opaque result).

use super::frame::{Rows, Sink};

#[inline(always)]
fn mult_hi(v: i32, coeff: i32) -> i32 {
    (v * coeff) >> 8
}

/// libwebp's `VP8Clip8` (14-bit fixed point to 8 bits, clamped), without branches.
#[inline(always)]
fn clip8(v: i32) -> u8 {
    (v >> 6).clamp(0, 255) as u8
}

/// One pixel's RGB from Y, U, V.
#[inline(always)]
pub(super) fn rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let (y, u, v) = (i32::from(y), i32::from(u), i32::from(v));
    let luma = mult_hi(y, 19077);
    [
        clip8(luma + mult_hi(v, 26149) - 14234),
        clip8(luma - mult_hi(u, 6419) - mult_hi(v, 13320) + 8708),
        clip8(luma + mult_hi(u, 33050) - 17685),
    ]
}

/// Writes the frame as RGBA8 (alpha 255) into `out`, `width * 4` bytes a row.
pub(super) struct RgbaSink<'a> {
    out: &'a mut [u8],
    width: usize,
    height: usize,
    /// The last luma row of the previous chunk when it could not be finished yet (its lower
    /// chroma row comes with the next chunk).
    pending: Option<(usize, Vec<u8>)>,
    /// The last chroma rows of the previous chunk.
    prev_u: Vec<u8>,
    prev_v: Vec<u8>,
    /// Scratch: one row's upsampled U and V.
    up: [Vec<u8>; 2],
}

impl<'a> RgbaSink<'a> {
    pub(super) fn new(out: &'a mut [u8], width: usize, height: usize) -> RgbaSink<'a> {
        let cw = width.div_ceil(2);
        RgbaSink {
            out,
            width,
            height,
            pending: None,
            prev_u: vec![0; cw],
            prev_v: vec![0; cw],
            up: [vec![0; width], vec![0; width]],
        }
    }
}

/// Converts luma row `y` into `dst` (RGBA) with its nearer and farther chroma rows, using
/// `up` as scratch for the upsampled chroma.
fn convert(
    dst: &mut [u8],
    y: &[u8],
    near: (&[u8], &[u8]),
    far: (&[u8], &[u8]),
    up: &mut [Vec<u8>; 2],
) {
    let w = y.len();
    let [up_u, up_v] = up;
    upsample(near.0, far.0, &mut up_u[..w]);
    upsample(near.1, far.1, &mut up_v[..w]);
    for (((px, &y), &u), &v) in dst
        .chunks_exact_mut(4)
        .zip(y)
        .zip(&up_u[..w])
        .zip(&up_v[..w])
    {
        let [r, g, b] = rgb(y, u, v);
        px.copy_from_slice(&[r, g, b, 255]);
    }
}

/// One row of upsampled chroma from its nearer row `near` and farther row `far` (libwebp's
/// arithmetic: 9/16 of the nearest sample, 3/16 of each of the next two, 1/16 of the
/// diagonal, rounded in its two steps).
fn upsample(near: &[u8], far: &[u8], out: &mut [u8]) {
    let len = out.len();
    let (n0, f0) = (u32::from(near[0]), u32::from(far[0]));
    out[0] = ((3 * n0 + f0 + 2) >> 2) as u8;
    let pairs = (len - 1) >> 1;
    let (mut tl, mut l) = (n0, f0);
    for x in 1..=pairs {
        let (t, c) = (u32::from(near[x]), u32::from(far[x]));
        let avg = tl + t + l + c + 8;
        let diag_12 = (avg + 2 * (t + l)) >> 3;
        let diag_03 = (avg + 2 * (tl + c)) >> 3;
        out[2 * x - 1] = ((diag_12 + tl) >> 1) as u8;
        out[2 * x] = ((diag_03 + t) >> 1) as u8;
        tl = t;
        l = c;
    }
    if len & 1 == 0 {
        out[len - 1] = ((3 * tl + l + 2) >> 2) as u8;
    }
}

impl Sink for RgbaSink<'_> {
    fn rows(&mut self, rows: Rows<'_>) {
        let (ys, uvs, w) = (rows.y_stride, rows.uv_stride, self.width);
        let cw = w.div_ceil(2);
        let c_first = rows.first / 2;
        let c_end = (rows.first + rows.count).div_ceil(2);
        let c_last = self.height.div_ceil(2) - 1;
        let RgbaSink {
            out,
            pending,
            prev_u,
            prev_v,
            up,
            ..
        } = self;
        if let Some((r, y)) = pending.take() {
            // An odd row: its nearer chroma row (above) ended the previous chunk.
            let far = (&rows.u[..cw], &rows.v[..cw]);
            convert(row_out(out, w, r), &y, (prev_u, prev_v), far, up);
        }
        for i in 0..rows.count {
            let r = rows.first + i;
            let y = &rows.y[i * ys..i * ys + w];
            let (near, far) = if r == 0 {
                (0, 0)
            } else if r % 2 == 1 {
                ((r - 1) / 2, r.div_ceil(2).min(c_last))
            } else {
                (r / 2, r / 2 - 1)
            };
            if far >= c_end {
                // Its farther chroma row (below) comes with the next chunk.
                *pending = Some((r, y.to_vec()));
                continue;
            }
            let near = pick(near, c_first, uvs, cw, (rows.u, rows.v), (prev_u, prev_v));
            let far = pick(far, c_first, uvs, cw, (rows.u, rows.v), (prev_u, prev_v));
            convert(row_out(out, w, r), y, near, far, up);
        }
        let last = (c_end - 1 - c_first) * uvs;
        prev_u.copy_from_slice(&rows.u[last..last + cw]);
        prev_v.copy_from_slice(&rows.v[last..last + cw]);
    }
}

/// RGBA row `r` of an image `w` pixels wide.
fn row_out(out: &mut [u8], w: usize, r: usize) -> &mut [u8] {
    &mut out[r * w * 4..(r + 1) * w * 4]
}

/// Chroma row `j` of U and V: from the chunk (its rows start at `c_first`) or, for the row
/// before it, the previous chunk's last.
fn pick<'b>(
    j: usize,
    c_first: usize,
    uvs: usize,
    cw: usize,
    chunk: (&'b [u8], &'b [u8]),
    prev: (&'b [u8], &'b [u8]),
) -> (&'b [u8], &'b [u8]) {
    if j >= c_first {
        let at = (j - c_first) * uvs;
        (&chunk.0[at..at + cw], &chunk.1[at..at + cw])
    } else {
        prev
    }
}
