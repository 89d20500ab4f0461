//! The decoder's hot loops in x86_64 SSE2: the loop filter (`filter`), the largest
//! stage of a full-size decode, the inverse DCT (`transform`), two blocks at a time, and
//! the 4x4 intra predictions (`predict`), and the thumbnail's column sums (`reduce`).
//!
//! Owns: these loops' vector forms and the loads and stores they share (below). Must not
//! touch: anything the scalar versions do not (each function here computes exactly what its
//! scalar counterpart in `filter`, `transform` or `predict` computes, on every input: each
//! file's test compares the two on random input, and the decoder's tests compare whole files
//! with `dwebp`).
//!
//! Why SSE2 and nothing newer: it is part of x86_64 itself, so no runtime detection is needed
//! and every x86_64 machine takes these paths; 16 pixels a register is what libwebp's own
//! decoder uses too. Other targets use the scalar code.
//!
//! Safety: every function here is `#[target_feature(enable = "sse2")]` and takes slices, not
//! pointers: memory is only read and written through bounds-checked slice indexing, and the
//! vectors are made from and turned into byte arrays with `bytemuck` (no pointer casts). The
//! only `unsafe` is at the entry points (`filter::macroblock`, `transform::add_idct`,
//! `add_idct2`, `add_dc` and `add_dc2`, `frame::sub_block`, `reduce::add_row`), calling a
//! function that needs SSE2 on a target that always has it, and in `filter`'s `Lanes`
//! methods, which call this file's loads and stores for the same reason.

pub(super) mod filter;
pub(super) mod predict;
pub(super) mod reduce;
pub(super) mod transform;

use std::arch::x86_64::*;

/// 16 bytes at `b[at..]`.
#[inline]
#[target_feature(enable = "sse2")]
fn load16(b: &[u8], at: usize) -> __m128i {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    bytemuck::cast(a)
}

/// 8 bytes at `b[at..]`, in the low half.
#[inline]
#[target_feature(enable = "sse2")]
fn load8(b: &[u8], at: usize) -> __m128i {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    _mm_cvtsi64_si128(i64::from_le_bytes(a))
}

/// 4 bytes at `b[at..]`, in the lowest lane.
#[inline]
#[target_feature(enable = "sse2")]
fn load4(b: &[u8], at: usize) -> __m128i {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    _mm_cvtsi32_si128(i32::from_le_bytes(a))
}

#[inline]
#[target_feature(enable = "sse2")]
fn store16(b: &mut [u8], at: usize, v: __m128i) {
    b[at..at + 16].copy_from_slice(&bytemuck::cast::<__m128i, [u8; 16]>(v));
}

/// The low 8 bytes of `v` at `b[at..]`.
#[inline]
#[target_feature(enable = "sse2")]
fn store8(b: &mut [u8], at: usize, v: __m128i) {
    b[at..at + 8].copy_from_slice(&_mm_cvtsi128_si64(v).to_le_bytes());
}

/// The low 4 bytes of `v` at `b[at..]`.
#[inline]
#[target_feature(enable = "sse2")]
fn store4(b: &mut [u8], at: usize, v: __m128i) {
    b[at..at + 4].copy_from_slice(&_mm_cvtsi128_si32(v).to_le_bytes());
}

/// Every byte `v`.
#[inline]
#[target_feature(enable = "sse2")]
fn splat(v: u8) -> __m128i {
    _mm_set1_epi8(v as i8)
}
