//! The thumbnail's box reduction in SSE2: a decoded row added to the column sums 16 columns
//! at a time (bytes widened to 16-bit lanes against zero, as libwebp's rescaler loads them).
//!
//! Owns: the vector form of `reduce::add_row_scalar` (adding, or setting a band's first row). Must not touch: anything else of the
//! reduction (bands, averages, edges stay in `reduce`). Every lane computes exactly the
//! scalar `sums[x] += row[x]` (16-bit, which the bands never overflow: at most 256 rows of
//! 255); the test in `reduce` compares the two on random rows of every length to 40.

use std::arch::x86_64::*;

/// Adds `row[x]` to `sums[x]` for every `x` below `sums.len()` (`row` is at least as long),
/// or, when `first`, sets `sums[x]` to it.
#[target_feature(enable = "sse2")]
pub(in super::super) fn add_row(sums: &mut [u16], row: &[u8], first: bool) {
    let row = &row[..sums.len()];
    let zero = _mm_setzero_si128();
    let mut s = sums.chunks_exact_mut(16);
    let mut r = row.chunks_exact(16);
    for (s, r) in (&mut s).zip(&mut r) {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(r);
        let v: __m128i = bytemuck::cast(bytes);
        let mut old = [0u16; 16];
        if !first {
            old.copy_from_slice(s);
        }
        let [lo, hi]: [__m128i; 2] = bytemuck::cast(old);
        let new = [
            _mm_add_epi16(lo, _mm_unpacklo_epi8(v, zero)),
            _mm_add_epi16(hi, _mm_unpackhi_epi8(v, zero)),
        ];
        s.copy_from_slice(&bytemuck::cast::<[__m128i; 2], [u16; 16]>(new));
    }
    for (s, &v) in s.into_remainder().iter_mut().zip(r.remainder()) {
        *s = if first { 0 } else { *s }.wrapping_add(u16::from(v));
    }
}
