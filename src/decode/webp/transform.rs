//! VP8's inverse transforms (RFC 6386 section 14): the 4x4 inverse DCT added to a predicted
//! block, and the inverse Walsh-Hadamard transform that gives a 16x16-predicted macroblock's
//! luma blocks their DC.
//!
//! Owns: the integer arithmetic, exactly the RFC's (so pixels match libvpx and libwebp bit
//! for bit). Must not touch: where the blocks lie (the caller passes the work buffer).

use super::predict::BPS;

#[inline(always)]
fn mul1(a: i32) -> i32 {
    ((a * 20091) >> 16) + a
}

#[inline(always)]
fn mul2(a: i32) -> i32 {
    (a * 35468) >> 16
}

/// Adds the inverse DCT of `coeffs` (natural order) to the 4x4 block at `at`.
#[inline]
pub(super) fn add_idct(coeffs: &[i16; 16], buf: &mut [u8], at: usize) {
    let mut tmp = [0i32; 16];
    // Vertical pass, one column at a time.
    for i in 0..4 {
        let (c0, c1, c2, c3) = (
            i32::from(coeffs[i]),
            i32::from(coeffs[4 + i]),
            i32::from(coeffs[8 + i]),
            i32::from(coeffs[12 + i]),
        );
        let a = c0 + c2;
        let b = c0 - c2;
        let c = mul2(c1) - mul1(c3);
        let d = mul1(c1) + mul2(c3);
        tmp[4 * i] = a + d;
        tmp[4 * i + 1] = b + c;
        tmp[4 * i + 2] = b - c;
        tmp[4 * i + 3] = a - d;
    }
    // Horizontal pass, one output row at a time.
    for r in 0..4 {
        let dc = tmp[r] + 4;
        let a = dc + tmp[8 + r];
        let b = dc - tmp[8 + r];
        let c = mul2(tmp[4 + r]) - mul1(tmp[12 + r]);
        let d = mul1(tmp[4 + r]) + mul2(tmp[12 + r]);
        let row = &mut buf[at + r * BPS..at + r * BPS + 4];
        for (p, v) in row.iter_mut().zip([a + d, b + c, b - c, a - d]) {
            *p = (i32::from(*p) + (v >> 3)).clamp(0, 255) as u8;
        }
    }
}

/// Adds a DC-only block's inverse DCT (one value) to the 4x4 block at `at`.
#[inline]
pub(super) fn add_dc(dc: i16, buf: &mut [u8], at: usize) {
    let v = (i32::from(dc) + 4) >> 3;
    for r in 0..4 {
        for p in &mut buf[at + r * BPS..at + r * BPS + 4] {
            *p = (i32::from(*p) + v).clamp(0, 255) as u8;
        }
    }
}

/// The inverse Walsh-Hadamard transform of the Y2 block: the DC of each of the 16 luma
/// blocks, in raster order.
pub(super) fn inverse_wht(input: &[i16; 16]) -> [i16; 16] {
    let mut tmp = [0i32; 16];
    for i in 0..4 {
        let a0 = i32::from(input[i]) + i32::from(input[12 + i]);
        let a1 = i32::from(input[4 + i]) + i32::from(input[8 + i]);
        let a2 = i32::from(input[4 + i]) - i32::from(input[8 + i]);
        let a3 = i32::from(input[i]) - i32::from(input[12 + i]);
        tmp[i] = a0 + a1;
        tmp[8 + i] = a0 - a1;
        tmp[4 + i] = a3 + a2;
        tmp[12 + i] = a3 - a2;
    }
    let mut out = [0i16; 16];
    for i in 0..4 {
        let dc = tmp[4 * i] + 3;
        let a0 = dc + tmp[4 * i + 3];
        let a1 = tmp[4 * i + 1] + tmp[4 * i + 2];
        let a2 = tmp[4 * i + 1] - tmp[4 * i + 2];
        let a3 = dc - tmp[4 * i + 3];
        out[4 * i] = ((a0 + a1) >> 3) as i16;
        out[4 * i + 1] = ((a3 + a2) >> 3) as i16;
        out[4 * i + 2] = ((a0 - a1) >> 3) as i16;
        out[4 * i + 3] = ((a3 - a2) >> 3) as i16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC's floating-point definition of the inverse DCT, to check the integer one
    /// against (they agree within one step of rounding).
    fn float_idct(c: &[i16; 16]) -> [f64; 16] {
        let mut out = [0f64; 16];
        for y in 0..4 {
            for x in 0..4 {
                let mut s = 0.0;
                for v in 0..4 {
                    for u in 0..4 {
                        let cu = if u == 0 { 0.5f64.sqrt() } else { 1.0 };
                        let cv = if v == 0 { 0.5f64.sqrt() } else { 1.0 };
                        let ang = |p: usize, f: usize| {
                            ((2 * p + 1) as f64 * f as f64 * std::f64::consts::PI / 8.0).cos()
                        };
                        s += cu * cv * f64::from(c[v * 4 + u]) * ang(x, u) * ang(y, v);
                    }
                }
                // Orthonormal is half of `s`; VP8 scales it by another half.
                out[y * 4 + x] = s / 4.0;
            }
        }
        out
    }

    #[test]
    fn inverse_dct_matches_its_definition() {
        let mut seed = 7u32;
        for _ in 0..200 {
            let mut c = [0i16; 16];
            for v in &mut c {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *v = ((seed >> 16) % 201) as i16 - 100;
            }
            let mut buf = vec![128u8; BPS * 4];
            add_idct(&c, &mut buf, 0);
            let want = float_idct(&c);
            for y in 0..4 {
                for x in 0..4 {
                    let got = f64::from(buf[y * BPS + x]) - 128.0;
                    let w = want[y * 4 + x].clamp(-128.0, 127.0);
                    assert!((got - w).abs() <= 1.5, "{c:?}: {got} vs {w}");
                }
            }
        }
    }

    #[test]
    fn dc_only_blocks_are_flat_and_the_wht_spreads_its_dc() {
        let mut c = [0i16; 16];
        c[0] = 80;
        let mut a = vec![100u8; BPS * 4];
        let mut b = a.clone();
        add_idct(&c, &mut a, 0);
        add_dc(80, &mut b, 0);
        assert_eq!(a, b);
        assert!(a[..4].iter().all(|&v| v == 110));
        let mut y2 = [0i16; 16];
        y2[0] = 80;
        assert_eq!(inverse_wht(&y2), [10; 16]);
    }
}
