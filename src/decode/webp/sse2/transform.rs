//! The inverse DCT in SSE2: two horizontally adjacent 4x4 blocks at once in eight 16-bit
//! lanes (libwebp's `TransformSSE2` layout), added to the prediction with an unsigned
//! saturating pack.
//!
//! Owns: the vector form of `transform`'s inverse DCT and the transposes between its two
//! passes. Must not touch: which blocks are transformed (`frame` decides), or any arithmetic
//! the scalar version does not do: every lane computes exactly `transform::scalar_add_idct`
//! (16-bit wrapping sums, `mulhi` products, `>> 3`, a clamp to 0..=255), which the tests in
//! `transform` check on random and extreme coefficients.

use std::arch::x86_64::*;

use super::super::predict::BPS;
use super::{load4, load8, store4, store8};

/// 20091 / 65536: `x * 85627 >> 16` is `x + mulhi(x, K1)`.
const K1: i16 = 20091;
/// 35468 - 65536: `x * 35468 >> 16` is `x + mulhi(x, K2)` (35468 does not fit an `i16`).
const K2: i16 = -30068;

/// Adds the inverse DCTs of `a` and `b` (natural order) to the 4x4 blocks at `at` and
/// `at + 4`.
#[target_feature(enable = "sse2")]
pub(in super::super) fn add_idct2(a: &[i16; 16], b: &[i16; 16], buf: &mut [u8], at: usize) {
    add_rows(idct(a, b), buf, at, true);
}

/// Adds the inverse DCT of `a` to the 4x4 block at `at`.
#[target_feature(enable = "sse2")]
pub(in super::super) fn add_idct(a: &[i16; 16], buf: &mut [u8], at: usize) {
    add_rows(idct(a, a), buf, at, false);
}

/// Adds two DC-only blocks' inverse DCTs, `(dc + 4) >> 3` each, to the 4x4 blocks at `at`
/// (`a`) and `at + 4` (`b`): `transform::add_dc` twice, in one register a row.
#[target_feature(enable = "sse2")]
pub(in super::super) fn add_dc2(a: i16, b: i16, buf: &mut [u8], at: usize) {
    let (va, vb) = (a.wrapping_add(4) >> 3, b.wrapping_add(4) >> 3);
    let v = _mm_set_epi16(vb, vb, vb, vb, va, va, va, va);
    add_rows([v; 4], buf, at, true);
}

/// Adds one DC-only block's inverse DCT to the 4x4 block at `at`: `transform::add_dc`.
#[target_feature(enable = "sse2")]
pub(in super::super) fn add_dc(dc: i16, buf: &mut [u8], at: usize) {
    let v = _mm_set1_epi16(dc.wrapping_add(4) >> 3);
    add_rows([v; 4], buf, at, false);
}

/// Adds the residual rows to the prediction at `at`, 8 pixels a row when `both` (two
/// blocks), else 4, saturating to 0..=255.
#[inline]
#[target_feature(enable = "sse2")]
fn add_rows(rows: [__m128i; 4], buf: &mut [u8], at: usize, both: bool) {
    let zero = _mm_setzero_si128();
    for (r, v) in rows.into_iter().enumerate() {
        let at = at + r * BPS;
        let p = if both { load8(buf, at) } else { load4(buf, at) };
        let sum = _mm_add_epi16(_mm_unpacklo_epi8(p, zero), v);
        let px = _mm_packus_epi16(sum, sum);
        if both {
            store8(buf, at, px);
        } else {
            store4(buf, at, px);
        }
    }
}

/// The residual rows of `a` (lanes 0-3) and `b` (lanes 4-7), already shifted by 3.
#[inline]
#[target_feature(enable = "sse2")]
fn idct(a: &[i16; 16], b: &[i16; 16]) -> [__m128i; 4] {
    // Rows 0-1 and 2-3 of each block in one register each; then row r of both blocks.
    let [a01, a23]: [__m128i; 2] = bytemuck::cast(*a);
    let [b01, b23]: [__m128i; 2] = bytemuck::cast(*b);
    let in0 = _mm_unpacklo_epi64(a01, b01);
    let in1 = _mm_unpackhi_epi64(a01, b01);
    let in2 = _mm_unpacklo_epi64(a23, b23);
    let in3 = _mm_unpackhi_epi64(a23, b23);
    // Vertical pass: lane i works on column i; out[k] lane i is the scalar `tmp[4 i + k]`.
    let t = transpose(pass([in0, in1, in2, in3]));
    // Horizontal pass: after the transpose, t[k] lane r is `tmp[4 k + r]`; the rounding
    // constant joins the DC term.
    let [o0, o1, o2, o3] = pass([_mm_add_epi16(t[0], _mm_set1_epi16(4)), t[1], t[2], t[3]]);
    let shifted = [
        _mm_srai_epi16(o0, 3),
        _mm_srai_epi16(o1, 3),
        _mm_srai_epi16(o2, 3),
        _mm_srai_epi16(o3, 3),
    ];
    // out[k] lane r is pixel (r, k); transposed, register r is row r.
    transpose(shifted)
}

/// One 1-D pass over four lanes of 16-bit values: `a ± d`, `b ± c`.
#[inline]
#[target_feature(enable = "sse2")]
fn pass([i0, i1, i2, i3]: [__m128i; 4]) -> [__m128i; 4] {
    let (k1, k2) = (_mm_set1_epi16(K1), _mm_set1_epi16(K2));
    let a = _mm_add_epi16(i0, i2);
    let b = _mm_sub_epi16(i0, i2);
    // c = mul2(i1) - mul1(i3) = (i1 - i3) + (mulhi(i1, K2) - mulhi(i3, K1)), modulo 2^16.
    let c = _mm_add_epi16(
        _mm_sub_epi16(i1, i3),
        _mm_sub_epi16(_mm_mulhi_epi16(i1, k2), _mm_mulhi_epi16(i3, k1)),
    );
    // d = mul1(i1) + mul2(i3) = (i1 + i3) + (mulhi(i1, K1) + mulhi(i3, K2)).
    let d = _mm_add_epi16(
        _mm_add_epi16(i1, i3),
        _mm_add_epi16(_mm_mulhi_epi16(i1, k1), _mm_mulhi_epi16(i3, k2)),
    );
    [
        _mm_add_epi16(a, d),
        _mm_add_epi16(b, c),
        _mm_sub_epi16(b, c),
        _mm_sub_epi16(a, d),
    ]
}

/// Transposes the two 4x4 matrices held side by side in four registers (lanes 0-3 and
/// 4-7): lane j of row i becomes lane i of row j, in each half.
#[inline]
#[target_feature(enable = "sse2")]
fn transpose([r0, r1, r2, r3]: [__m128i; 4]) -> [__m128i; 4] {
    // a00 a10 a01 a11 a02 a12 a03 a13, and the same for rows 2-3 and for b.
    let a01 = _mm_unpacklo_epi16(r0, r1);
    let a23 = _mm_unpacklo_epi16(r2, r3);
    let b01 = _mm_unpackhi_epi16(r0, r1);
    let b23 = _mm_unpackhi_epi16(r2, r3);
    // a00 a10 a20 a30 a01 a11 a21 a31 (columns 0-1 of a), and so on.
    let a_lo = _mm_unpacklo_epi32(a01, a23);
    let b_lo = _mm_unpacklo_epi32(b01, b23);
    let a_hi = _mm_unpackhi_epi32(a01, a23);
    let b_hi = _mm_unpackhi_epi32(b01, b23);
    [
        _mm_unpacklo_epi64(a_lo, b_lo),
        _mm_unpackhi_epi64(a_lo, b_lo),
        _mm_unpacklo_epi64(a_hi, b_hi),
        _mm_unpackhi_epi64(a_hi, b_hi),
    ]
}
