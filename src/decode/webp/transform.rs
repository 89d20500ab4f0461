//! VP8's inverse transforms (RFC 6386 section 14): the 4x4 inverse DCT added to a predicted
//! block, and the inverse Walsh-Hadamard transform that gives a 16x16-predicted macroblock's
//! luma blocks their DC.
//!
//! Owns: the integer arithmetic, exactly the RFC's (so pixels match libvpx and libwebp bit
//! for bit). Must not touch: where the blocks lie (the caller passes the work buffer).

use super::predict::BPS;

/// `(a * k) >> 16` in 32 bits, back to 16: SSE2's `mulhi`.
#[inline(always)]
fn mulhi(a: i16, k: i16) -> i16 {
    ((i32::from(a) * i32::from(k)) >> 16) as i16
}

/// `a * 85627 >> 16` (the RFC's `a + (a * 20091 >> 16)`), modulo 2^16.
#[inline(always)]
fn mul1(a: i16) -> i16 {
    a.wrapping_add(mulhi(a, 20091))
}

/// `a * 35468 >> 16`, modulo 2^16 (35468 - 65536 fits an `i16`).
#[inline(always)]
fn mul2(a: i16) -> i16 {
    a.wrapping_add(mulhi(a, -30068))
}

/// Adds the inverse DCT of `coeffs` (natural order) to the 4x4 block at `at`: SSE2 on
/// x86_64 (`sse2::transform`, the same pixels), [`scalar_add_idct`] elsewhere.
#[inline]
pub(super) fn add_idct(coeffs: &[i16; 16], buf: &mut [u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; the function reads and writes through slices only.
    unsafe {
        super::sse2::transform::add_idct(coeffs, buf, at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scalar_add_idct(coeffs, buf, at)
}

/// Adds the inverse DCTs of two horizontally adjacent blocks, `a` at `at` and `b` at
/// `at + 4`, in one go where SSE2 is there (its eight 16-bit lanes hold both).
#[inline]
pub(super) fn add_idct2(a: &[i16; 16], b: &[i16; 16], buf: &mut [u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `add_idct`.
    unsafe {
        super::sse2::transform::add_idct2(a, b, buf, at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scalar_add_idct(a, buf, at);
        scalar_add_idct(b, buf, at + 4);
    }
}

/// [`add_idct`] in scalar code, the definition: the RFC's integer transform in 16-bit
/// wrapping arithmetic, as libwebp's SSE2 transform (what `dwebp` runs on x86_64) computes
/// it. For every coefficient an encoder makes no intermediate leaves the `i16` range
/// (libwebp documents its bounds as under 8,000), so this is the RFC's 32-bit result; on
/// made-up coefficients the two wrap alike, and the SSE2 version stays equal to this one.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn scalar_add_idct(coeffs: &[i16; 16], buf: &mut [u8], at: usize) {
    let mut tmp = [0i16; 16];
    // Vertical pass, one column at a time.
    for i in 0..4 {
        let (c0, c1, c2, c3) = (coeffs[i], coeffs[4 + i], coeffs[8 + i], coeffs[12 + i]);
        let a = c0.wrapping_add(c2);
        let b = c0.wrapping_sub(c2);
        let c = mul2(c1).wrapping_sub(mul1(c3));
        let d = mul1(c1).wrapping_add(mul2(c3));
        tmp[4 * i] = a.wrapping_add(d);
        tmp[4 * i + 1] = b.wrapping_add(c);
        tmp[4 * i + 2] = b.wrapping_sub(c);
        tmp[4 * i + 3] = a.wrapping_sub(d);
    }
    // Horizontal pass, one output row at a time.
    for r in 0..4 {
        let dc = tmp[r].wrapping_add(4);
        let a = dc.wrapping_add(tmp[8 + r]);
        let b = dc.wrapping_sub(tmp[8 + r]);
        let c = mul2(tmp[4 + r]).wrapping_sub(mul1(tmp[12 + r]));
        let d = mul1(tmp[4 + r]).wrapping_add(mul2(tmp[12 + r]));
        let row = &mut buf[at + r * BPS..at + r * BPS + 4];
        let vals = [
            a.wrapping_add(d),
            b.wrapping_add(c),
            b.wrapping_sub(c),
            a.wrapping_sub(d),
        ];
        for (p, v) in row.iter_mut().zip(vals) {
            *p = i16::from(*p).wrapping_add(v >> 3).clamp(0, 255) as u8;
        }
    }
}

/// Adds a DC-only block's inverse DCT (one value) to the 4x4 block at `at`: SSE2 on x86_64
/// (`sse2::transform::add_dc`, the same pixels), [`scalar_add_dc`] elsewhere.
#[inline]
pub(super) fn add_dc(dc: i16, buf: &mut [u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `add_idct`.
    unsafe {
        super::sse2::transform::add_dc(dc, buf, at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scalar_add_dc(dc, buf, at)
}

/// Adds two DC-only blocks, `a` at `at` and `b` at `at + 4` (a block with no coefficients
/// has a DC of 0, which adds nothing): one register a row where SSE2 is there. Most blocks of
/// smooth pictures are DC-only.
#[inline]
pub(super) fn add_dc2(a: i16, b: i16, buf: &mut [u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `add_idct`.
    unsafe {
        super::sse2::transform::add_dc2(a, b, buf, at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scalar_add_dc(a, buf, at);
        scalar_add_dc(b, buf, at + 4);
    }
}

/// [`add_dc`] in scalar code, the definition: the same 16-bit arithmetic as
/// [`scalar_add_idct`], so a DC-only block gets the same pixels either way (`frame` sends
/// some through the two-block transform).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn scalar_add_dc(dc: i16, buf: &mut [u8], at: usize) {
    let v = dc.wrapping_add(4) >> 3;
    for r in 0..4 {
        for p in &mut buf[at + r * BPS..at + r * BPS + 4] {
            *p = i16::from(*p).wrapping_add(v).clamp(0, 255) as u8;
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

    /// Random coefficients: small ones like an encoder's, and any `i16` (made-up data, where
    /// the 16-bit sums wrap), over random pixels.
    fn random_block(seed: &mut u32, wide: bool) -> [i16; 16] {
        std::array::from_fn(|_| {
            *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let r = (*seed >> 8) as i32;
            if wide {
                r as i16
            } else {
                (r % 4096 - 2048) as i16
            }
        })
    }

    #[test]
    fn the_vector_transforms_equal_the_scalar_one_on_every_input() {
        let mut seed = 11u32;
        for round in 0..4000 {
            let wide = round % 2 == 1;
            let (mut a, mut b) = (random_block(&mut seed, wide), random_block(&mut seed, wide));
            if round % 7 == 0 {
                // DC-only blocks, the one value through the whole transform.
                a[1..].fill(0);
                b = [0; 16];
                b[0] = [32_767, -32_768, 32_764, 32_763][round % 4];
            }
            let pixels: Vec<u8> = (0..BPS * 4)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 24) as u8
                })
                .collect();
            let mut want = pixels.clone();
            scalar_add_idct(&a, &mut want, 0);
            scalar_add_idct(&b, &mut want, 4);
            let mut two = pixels.clone();
            add_idct2(&a, &b, &mut two, 0);
            assert_eq!(two, want, "{a:?} {b:?}");
            let mut one = pixels.clone();
            add_idct(&a, &mut one, 0);
            add_idct(&b, &mut one, 4);
            assert_eq!(one, want, "{a:?} {b:?}");
            if b[1..].iter().all(|&v| v == 0) {
                let mut dc = pixels.clone();
                scalar_add_idct(&a, &mut dc, 0);
                add_dc(b[0], &mut dc, 4);
                assert_eq!(dc, want, "DC {}", b[0]);
                let mut dc = pixels.clone();
                scalar_add_idct(&a, &mut dc, 0);
                scalar_add_dc(b[0], &mut dc, 4);
                assert_eq!(dc, want, "scalar DC {}", b[0]);
                if a[1..].iter().all(|&v| v == 0) {
                    let mut two = pixels.clone();
                    add_dc2(a[0], b[0], &mut two, 0);
                    assert_eq!(two, want, "DC {} {}", a[0], b[0]);
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
