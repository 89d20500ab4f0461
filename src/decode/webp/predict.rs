//! VP8 intra prediction (RFC 6386 section 12): the whole-macroblock modes of luma (16x16) and
//! chroma (8x8), and the ten 4x4 sub-block modes.
//!
//! Owns: filling a block of a macroblock's work buffer from its neighbours, which sit in the
//! same buffer (the row above at `-BPS`, the column to the left at `-1`; `frame` puts the
//! unfiltered neighbours there, with 127 above the frame and 129 left of it). Must not touch:
//! residuals or the loop filter.

/// Stride of the work buffers.
pub(super) const BPS: usize = 32;

/// Whole-block modes (sub-block modes share the first four numbers: `B_DC` = `DC` and so on).
pub(super) const DC: u8 = 0;
pub(super) const TM: u8 = 1;
pub(super) const V: u8 = 2;
pub(super) const H: u8 = 3;

/// Sub-block modes after the four shared ones.
pub(super) const B_LD: u8 = 4;
pub(super) const B_RD: u8 = 5;
pub(super) const B_VR: u8 = 6;
pub(super) const B_VL: u8 = 7;
pub(super) const B_HD: u8 = 8;
pub(super) const B_HU: u8 = 9;

#[inline(always)]
fn avg3(a: u8, b: u8, c: u8) -> u8 {
    ((u16::from(a) + 2 * u16::from(b) + u16::from(c) + 2) >> 2) as u8
}

#[inline(always)]
fn avg2(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// A whole block of `N` x `N` (16 luma, 8 chroma) at `at` in mode `mode`; `top` and `left`
/// say whether those neighbours are inside the frame (for DC; the other modes read the
/// border). `N` is a constant so every row is a fixed-size copy or fill, unrolled, instead
/// of a call to `memset` (a quarter of this function's cost when it was a parameter).
pub(super) fn block<const N: usize>(buf: &mut [u8], at: usize, mode: u8, top: bool, left: bool) {
    // From the above-left pixel to the end of the last row: one bounds check, then fixed
    // offsets. Row r starts at (r + 1) BPS + 1, its left neighbour just before it.
    let w = &mut buf[at - BPS - 1..at + (N - 1) * BPS + N];
    let mut above = [0u8; N];
    above.copy_from_slice(&w[1..=N]);
    let left_of = |w: &[u8], r: usize| w[(r + 1) * BPS];
    let row = |r: usize| (r + 1) * BPS + 1..(r + 1) * BPS + 1 + N;
    match mode {
        DC => {
            let shift = N.trailing_zeros();
            let sum_top = || -> u32 { above.iter().map(|&v| u32::from(v)).sum() };
            let sum_left = |w: &[u8]| -> u32 { (0..N).map(|r| u32::from(left_of(w, r))).sum() };
            let n = N as u32;
            let v = match (top, left) {
                (true, true) => (sum_top() + sum_left(w) + n) >> (shift + 1),
                (true, false) => (sum_top() + (n >> 1)) >> shift,
                (false, true) => (sum_left(w) + (n >> 1)) >> shift,
                (false, false) => 128,
            };
            for r in 0..N {
                w[row(r)].copy_from_slice(&[v as u8; N]);
            }
        }
        V => {
            for r in 0..N {
                w[row(r)].copy_from_slice(&above);
            }
        }
        H => {
            for r in 0..N {
                let v = left_of(w, r);
                w[row(r)].copy_from_slice(&[v; N]);
            }
        }
        _ => {
            // TM_PRED: left + above - above-left, clamped.
            let corner = i16::from(w[0]);
            let above = above.map(|v| i16::from(v) - corner);
            for r in 0..N {
                let left = i16::from(left_of(w, r));
                for (p, &t) in w[row(r)].iter_mut().zip(&above) {
                    *p = (left + t).clamp(0, 255) as u8;
                }
            }
        }
    }
}

/// A 4x4 sub-block at `at` in sub-block mode `mode`, in scalar code: the definition (RFC
/// 6386 section 12.3). Reads the 8 pixels above (the last four are "above right"), the 4 to
/// the left and the one above-left. On x86_64 the decoder runs `sse2::predict`'s version
/// instead (the same pixels; `frame` picks, since `sse2::predict` takes the mode numbers
/// from here and the layout test allows no import cycle).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn sub_block(buf: &mut [u8], at: usize, mode: u8) {
    let t = at - BPS;
    let top: [u8; 8] = buf[t..t + 8].try_into().unwrap_or([0; 8]);
    let x = buf[t - 1];
    let l = [
        buf[at - 1],
        buf[at + BPS - 1],
        buf[at + 2 * BPS - 1],
        buf[at + 3 * BPS - 1],
    ];
    let [a, b, c, d, e, f, g, h] = top;
    let [i, j, k, ll] = l;
    let mut out = [[0u8; 4]; 4]; // out[y][x]
    match mode {
        DC => {
            let sum: u32 = top[..4].iter().chain(&l).map(|&v| u32::from(v)).sum();
            out = [[((sum + 4) >> 3) as u8; 4]; 4];
        }
        TM => {
            for (y, row) in out.iter_mut().enumerate() {
                for (xx, p) in row.iter_mut().enumerate() {
                    *p = (i16::from(l[y]) + i16::from(top[xx]) - i16::from(x)).clamp(0, 255) as u8;
                }
            }
        }
        V => {
            let row = [avg3(x, a, b), avg3(a, b, c), avg3(b, c, d), avg3(c, d, e)];
            out = [row; 4];
        }
        H => {
            let col = [
                avg3(x, i, j),
                avg3(i, j, k),
                avg3(j, k, ll),
                avg3(k, ll, ll),
            ];
            for (row, v) in out.iter_mut().zip(col) {
                *row = [v; 4];
            }
        }
        B_LD => {
            let s = [
                avg3(a, b, c),
                avg3(b, c, d),
                avg3(c, d, e),
                avg3(d, e, f),
                avg3(e, f, g),
                avg3(f, g, h),
                avg3(g, h, h),
            ];
            for (y, row) in out.iter_mut().enumerate() {
                for (xx, p) in row.iter_mut().enumerate() {
                    *p = s[xx + y];
                }
            }
        }
        B_RD => {
            // Along the diagonal from bottom-left (L) to top-right (D).
            let s = [
                avg3(ll, k, j),
                avg3(k, j, i),
                avg3(j, i, x),
                avg3(i, x, a),
                avg3(x, a, b),
                avg3(a, b, c),
                avg3(b, c, d),
            ];
            for (y, row) in out.iter_mut().enumerate() {
                for (xx, p) in row.iter_mut().enumerate() {
                    *p = s[3 + xx - y];
                }
            }
        }
        B_VR => {
            out[0] = [avg2(x, a), avg2(a, b), avg2(b, c), avg2(c, d)];
            out[1] = [avg3(i, x, a), avg3(x, a, b), avg3(a, b, c), avg3(b, c, d)];
            out[2] = [avg3(j, i, x), out[0][0], out[0][1], out[0][2]];
            out[3] = [avg3(k, j, i), out[1][0], out[1][1], out[1][2]];
        }
        B_VL => {
            out[0] = [avg2(a, b), avg2(b, c), avg2(c, d), avg2(d, e)];
            out[1] = [avg3(a, b, c), avg3(b, c, d), avg3(c, d, e), avg3(d, e, f)];
            out[2] = [out[0][1], out[0][2], out[0][3], avg3(e, f, g)];
            out[3] = [out[1][1], out[1][2], out[1][3], avg3(f, g, h)];
        }
        B_HD => {
            out[0] = [avg2(i, x), avg3(i, x, a), avg3(x, a, b), avg3(a, b, c)];
            out[1] = [avg2(j, i), avg3(j, i, x), out[0][0], out[0][1]];
            out[2] = [avg2(k, j), avg3(k, j, i), out[1][0], out[1][1]];
            out[3] = [avg2(ll, k), avg3(ll, k, j), out[2][0], out[2][1]];
        }
        _ => {
            // B_HU
            out[0] = [avg2(i, j), avg3(i, j, k), avg2(j, k), avg3(j, k, ll)];
            out[1] = [out[0][2], out[0][3], avg2(k, ll), avg3(k, ll, ll)];
            out[2] = [out[1][2], out[1][3], ll, ll];
            out[3] = [ll; 4];
        }
    }
    for (y, row) in out.iter().enumerate() {
        buf[at + y * BPS..at + y * BPS + 4].copy_from_slice(row);
    }
}
