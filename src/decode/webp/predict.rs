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

fn fill(buf: &mut [u8], at: usize, size: usize, v: u8) {
    for r in 0..size {
        buf[at + r * BPS..at + r * BPS + size].fill(v);
    }
}

/// A whole block of `size` (16 luma, 8 chroma) at `at` in mode `mode`; `top` and `left` say
/// whether those neighbours are inside the frame (for DC; the other modes read the border).
pub(super) fn block(buf: &mut [u8], at: usize, size: usize, mode: u8, top: bool, left: bool) {
    match mode {
        DC => {
            let shift = size.trailing_zeros();
            let sum_top = || -> u32 {
                buf[at - BPS..at - BPS + size]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum()
            };
            let sum_left = || -> u32 { (0..size).map(|r| u32::from(buf[at + r * BPS - 1])).sum() };
            let v = match (top, left) {
                (true, true) => (sum_top() + sum_left() + size as u32) >> (shift + 1),
                (true, false) => (sum_top() + (size as u32 >> 1)) >> shift,
                (false, true) => (sum_left() + (size as u32 >> 1)) >> shift,
                (false, false) => 128,
            };
            fill(buf, at, size, v as u8);
        }
        V => {
            let (above, rest) = buf.split_at_mut(at);
            let top_row = &above[at - BPS..at - BPS + size];
            for r in 0..size {
                rest[r * BPS..r * BPS + size].copy_from_slice(top_row);
            }
        }
        H => {
            for r in 0..size {
                let v = buf[at + r * BPS - 1];
                buf[at + r * BPS..at + r * BPS + size].fill(v);
            }
        }
        _ => true_motion(buf, at, size),
    }
}

/// TM_PRED: left + above - above-left, clamped.
fn true_motion(buf: &mut [u8], at: usize, size: usize) {
    let corner = i16::from(buf[at - BPS - 1]);
    let mut top = [0i16; 16];
    for (t, &v) in top.iter_mut().zip(&buf[at - BPS..at - BPS + size]) {
        *t = i16::from(v) - corner;
    }
    for r in 0..size {
        let left = i16::from(buf[at + r * BPS - 1]);
        let row = &mut buf[at + r * BPS..at + r * BPS + size];
        for (p, &t) in row.iter_mut().zip(&top) {
            *p = (left + t).clamp(0, 255) as u8;
        }
    }
}

/// A 4x4 sub-block at `at` in sub-block mode `mode`. Reads the 8 pixels above (the last
/// four are "above right"), the 4 to the left and the one above-left.
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
