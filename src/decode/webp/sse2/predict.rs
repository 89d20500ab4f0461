//! The ten 4x4 sub-block predictions in SSE2: the 13 neighbours in one register, every
//! two- and three-tap average of them in two vector operations each (libwebp's `VE4`,
//! `LD4`, `VR4`, `VL4` and `RD4` do the same), and each mode's rows read out of those
//! averages as 32-bit words.
//!
//! Owns: the vector form of `predict::sub_block`. Must not touch: any value the
//! scalar version does not compute: `_mm_avg_epu8` rounds up, and
//! `avg(avg(a, c) - ((a ^ c) & 1), b)` is exactly `(a + 2 b + c + 2) >> 2` (the first average
//! minus the carry is `(a + c) >> 1`; halving again cannot reach the next integer); the test
//! below compares the two on random neighbours in every mode.

use std::arch::x86_64::*;

use super::super::predict::{B_HD, B_HU, B_LD, B_RD, B_VL, B_VR, BPS, DC, H, TM, V};

/// The word of the four bytes from `a[k]` (the first in the low byte).
#[inline(always)]
fn word(a: &[u8; 16], k: usize) -> u32 {
    u32::from_le_bytes([a[k], a[k + 1], a[k + 2], a[k + 3]])
}

/// The 4x4 sub-block at `at` in sub-block mode `mode` (the modes of `predict`), from the 8
/// pixels above it, the 4 to its left and the one above-left, which sit in `buf`.
#[target_feature(enable = "sse2")]
pub(in super::super) fn sub_block(buf: &mut [u8], at: usize, mode: u8) {
    // From the above-left pixel to the end of the block's last row: one bounds check, then
    // fixed offsets. Row r of the block starts at (r + 1) BPS + 1, its left pixel before it.
    let w = &mut buf[at - BPS - 1..at + 3 * BPS + 4];
    let mut top = [0u8; 8];
    top.copy_from_slice(&w[1..9]);
    let t = u64::from_le_bytes(top);
    let x = w[0];
    let [i, j, k, l] = [w[BPS], w[2 * BPS], w[3 * BPS], w[4 * BPS]];
    let rows: [u32; 4] = match mode {
        DC => {
            let left = [i, j, k, l];
            let sum: u32 = top[..4].iter().chain(&left).map(|&v| u32::from(v)).sum();
            [((sum + 4) >> 3) * 0x0101_0101; 4]
        }
        TM => {
            // left + above - above-left in 16-bit lanes, clamped by the unsigned pack.
            let zero = _mm_setzero_si128();
            let above = _mm_unpacklo_epi8(_mm_cvtsi32_si128(t as i32), zero);
            let above = _mm_sub_epi16(above, _mm_set1_epi16(i16::from(x)));
            [i, j, k, l].map(|left| {
                let row = _mm_add_epi16(above, _mm_set1_epi16(i16::from(left)));
                _mm_cvtsi128_si32(_mm_packus_epi16(row, row)) as u32
            })
        }
        _ => {
            // The edge in the order the diagonal modes walk it, left column upwards, then
            // the corner and the row above: L L K J I X A B C D E F G H H H (the first and
            // the last repeated, as the modes' `avg3(k, l, l)` and `avg3(g, h, h)` want).
            let low = u64::from(l)
                | u64::from(l) << 8
                | u64::from(k) << 16
                | u64::from(j) << 24
                | u64::from(i) << 32
                | u64::from(x) << 40
                | t << 48;
            let h = t >> 56;
            let high = t >> 16 | h << 48 | h << 56;
            let e = _mm_set_epi64x(high as i64, low as i64);
            let prev = _mm_slli_si128::<1>(e);
            let next = _mm_srli_si128::<1>(e);
            // a2[n] = avg2(e[n], e[n + 1]); a3[n] = avg3(e[n - 1], e[n], e[n + 1]).
            let a2v = _mm_avg_epu8(e, next);
            let carry = _mm_and_si128(_mm_xor_si128(prev, next), _mm_set1_epi8(1));
            let a3v = _mm_avg_epu8(_mm_subs_epu8(_mm_avg_epu8(prev, next), carry), e);
            let (a2, a3): ([u8; 16], [u8; 16]) = (bytemuck::cast(a2v), bytemuck::cast(a3v));
            // Positions: L 1, K 2, J 3, I 4, X 5, A 6 ... H 13.
            diagonal(mode, &a2, &a3, a2v, a3v, l)
        }
    };
    for (r, row) in rows.into_iter().enumerate() {
        let at = (r + 1) * BPS + 1;
        w[at..at + 4].copy_from_slice(&row.to_le_bytes());
    }
}

/// The rows of the modes made of averages (all but `DC` and `TM`), from the edge's
/// averages `a2` and `a3` (as arrays and as the registers they came from) and the lowest
/// left pixel `l`. Each row is the scalar version's, position by position.
#[inline]
#[target_feature(enable = "sse2")]
fn diagonal(mode: u8, a2: &[u8; 16], a3: &[u8; 16], a2v: __m128i, a3v: __m128i, l: u8) -> [u32; 4] {
    let b = |v: u8| u32::from(v);
    match mode {
        // avg3(x, a, b) ... avg3(c, d, e), every row.
        V => [word(a3, 6); 4],
        // Row y: avg3 around I, J, K, L, each repeated.
        H => [4, 3, 2, 1].map(|n| b(a3[n]) * 0x0101_0101),
        // Pixel (x, y) is avg3 around the top pixel x + y + 1.
        B_LD => [7, 8, 9, 10].map(|n| word(a3, n)),
        // Pixel (x, y) is avg3 around the edge's position 5 + x - y.
        B_RD => [5, 4, 3, 2].map(|n| word(a3, n)),
        B_VR => [
            word(a2, 5),
            word(a3, 5),
            (word(a2, 4) & !0xFF) | b(a3[4]),
            (word(a3, 4) & !0xFF) | b(a3[3]),
        ],
        B_VL => [
            word(a2, 6),
            word(a3, 7),
            (word(a2, 7) & 0xFF_FFFF) | b(a3[11]) << 24,
            (word(a3, 8) & 0xFF_FFFF) | b(a3[12]) << 24,
        ],
        B_HD => {
            // a2[n], a3[n + 1] side by side: rows 3 to 1 are pairs of such pairs.
            let pairs: [u8; 16] = bytemuck::cast(_mm_unpacklo_epi8(a2v, _mm_srli_si128::<1>(a3v)));
            [
                (word(&pairs, 8) & 0xFFFF) | word(a3, 6) << 16,
                word(&pairs, 6),
                word(&pairs, 4),
                word(&pairs, 2),
            ]
        }
        _ => {
            debug_assert_eq!(mode, B_HU);
            let q = |n: usize| b(a2[n]) | b(a3[n]) << 8;
            [
                q(3) | q(2) << 16,
                q(2) | q(1) << 16,
                q(1) | (b(l) * 0x0101_0000),
                b(l) * 0x0101_0101,
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::predict::sub_block as scalar_sub_block;
    use super::*;

    #[test]
    fn sse2_sub_blocks_equal_the_scalar_ones() {
        let mut seed = 99u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        for round in 0..3000 {
            // Extremes often (the averages' carries), any byte otherwise.
            let mut buf: Vec<u8> = (0..BPS * 6)
                .map(|_| match (round % 3, next()) {
                    (0, v) => [0, 1, 254, 255][usize::from(v % 4)],
                    (_, v) => v,
                })
                .collect();
            let at = BPS + 1 + 4 * usize::from(next() % 4);
            let mode = next() % 10;
            let mut want = buf.clone();
            scalar_sub_block(&mut want, at, mode);
            // SAFETY: SSE2 is part of x86_64; the function accesses memory through slices.
            unsafe { sub_block(&mut buf, at, mode) };
            assert_eq!(buf, want, "mode {mode} at {at}");
        }
    }
}
