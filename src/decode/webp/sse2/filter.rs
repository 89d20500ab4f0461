//! The loop filter in SSE2: one macroblock's edges, 16 positions of an edge in one register
//! of bytes (a luma edge, or the same edge of U and V side by side), exactly the arithmetic
//! of `filter`'s scalar version.
//!
//! Owns: the vector form of the three filters and their tests, and the transposes that let
//! the vertical edges (whose taps lie along a row) be filtered like the horizontal ones: four
//! columns of 16 rows become four registers. Must not touch: which edges are filtered with
//! which strength (`filter::macroblock` decides; this file does the same edges in the same
//! order).
//!
//! The arithmetic stays in 8-bit lanes, as the scalar filter's clamps allow: pixels are
//! moved to signed bytes (`^ 0x80`), where saturating adds and subtracts are exactly its
//! `clamp(-128, 127)` and its final clamps to 0..=255; sums the scalar code makes in `i32`
//! (`3 * (q0 - p0) + clamp(p1 - q1)`) saturate on the way, which changes nothing because
//! only their clamp to -128..=127 is ever used; the one product (`27 * w`) is made in 16 bits.
//! The edge test `4 |p0 - q0| + |p1 - q1| <= 2 limit + 1` is evaluated as
//! `2 |p0 - q0| + (|p1 - q1| >> 1) <= limit`, the same condition for integers, which fits a
//! byte (saturating).

use std::arch::x86_64::*;

use super::super::strength::{Mb, Strength};
use super::{load4, load8, load16, splat, store4, store8, store16};

/// The 16 positions of one macroblock's edges in a plane (luma), or in U and V together.
trait Lanes {
    /// Four bytes of each position from column `c` (0 is four columns left of the
    /// macroblock).
    fn cols(&self, c: usize) -> [__m128i; 16];
    fn set_cols(&mut self, c: usize, v: [__m128i; 16]);
    /// Row `r` (0 is four rows above the macroblock) of every position.
    fn row(&self, r: usize) -> __m128i;
    fn set_row(&mut self, r: usize, v: __m128i);
}

struct Luma<'a> {
    p: &'a mut [u8],
    at: usize,
    stride: usize,
}

struct Chroma<'a> {
    u: &'a mut [u8],
    v: &'a mut [u8],
    at: usize,
    stride: usize,
}

impl Lanes for Luma<'_> {
    #[inline(always)]
    fn cols(&self, c: usize) -> [__m128i; 16] {
        let base = self.at + c - 4;
        // SAFETY (for all four methods): SSE2 is part of x86_64 (see the module doc).
        std::array::from_fn(|r| unsafe { load4(self.p, base + r * self.stride) })
    }
    #[inline(always)]
    fn set_cols(&mut self, c: usize, v: [__m128i; 16]) {
        let base = self.at + c - 4;
        for (r, w) in v.into_iter().enumerate() {
            unsafe { store4(self.p, base + r * self.stride, w) };
        }
    }
    #[inline(always)]
    fn row(&self, r: usize) -> __m128i {
        unsafe { load16(self.p, self.at + r * self.stride - 4 * self.stride) }
    }
    #[inline(always)]
    fn set_row(&mut self, r: usize, v: __m128i) {
        unsafe { store16(self.p, self.at + r * self.stride - 4 * self.stride, v) }
    }
}

impl Lanes for Chroma<'_> {
    #[inline(always)]
    fn cols(&self, c: usize) -> [__m128i; 16] {
        let base = self.at + c - 4;
        std::array::from_fn(|r| {
            let plane = if r < 8 { &*self.u } else { &*self.v };
            unsafe { load4(plane, base + (r & 7) * self.stride) }
        })
    }
    #[inline(always)]
    fn set_cols(&mut self, c: usize, v: [__m128i; 16]) {
        let base = self.at + c - 4;
        for (r, w) in v.into_iter().enumerate() {
            let plane = if r < 8 { &mut *self.u } else { &mut *self.v };
            unsafe { store4(plane, base + (r & 7) * self.stride, w) };
        }
    }
    #[inline(always)]
    fn row(&self, r: usize) -> __m128i {
        let at = self.at + r * self.stride - 4 * self.stride;
        unsafe { _mm_unpacklo_epi64(load8(self.u, at), load8(self.v, at)) }
    }
    #[inline(always)]
    fn set_row(&mut self, r: usize, v: __m128i) {
        let at = self.at + r * self.stride - 4 * self.stride;
        unsafe {
            store8(self.u, at, v);
            store8(self.v, at, _mm_unpackhi_epi64(v, v));
        }
    }
}

/// Four columns of 16 positions (each position's 4 bytes in its register's lowest lane) as
/// four registers, one per column.
#[inline]
#[target_feature(enable = "sse2")]
fn transpose_in(w: [__m128i; 16]) -> [__m128i; 4] {
    // Per group of four positions: [c0 of the four][c1 ..][c2 ..][c3 ..].
    let g: [__m128i; 4] = std::array::from_fn(|i| {
        let a = _mm_unpacklo_epi8(w[4 * i], w[4 * i + 1]);
        let b = _mm_unpacklo_epi8(w[4 * i + 2], w[4 * i + 3]);
        _mm_unpacklo_epi16(a, b)
    });
    let lo01 = _mm_unpacklo_epi32(g[0], g[1]);
    let lo23 = _mm_unpacklo_epi32(g[2], g[3]);
    let hi01 = _mm_unpackhi_epi32(g[0], g[1]);
    let hi23 = _mm_unpackhi_epi32(g[2], g[3]);
    [
        _mm_unpacklo_epi64(lo01, lo23),
        _mm_unpackhi_epi64(lo01, lo23),
        _mm_unpacklo_epi64(hi01, hi23),
        _mm_unpackhi_epi64(hi01, hi23),
    ]
}

/// The inverse of [`transpose_in`].
#[inline]
#[target_feature(enable = "sse2")]
fn transpose_out(c: [__m128i; 4]) -> [__m128i; 16] {
    let a = _mm_unpacklo_epi8(c[0], c[1]);
    let b = _mm_unpacklo_epi8(c[2], c[3]);
    let e = _mm_unpackhi_epi8(c[0], c[1]);
    let f = _mm_unpackhi_epi8(c[2], c[3]);
    let quads = [
        _mm_unpacklo_epi16(a, b),
        _mm_unpackhi_epi16(a, b),
        _mm_unpacklo_epi16(e, f),
        _mm_unpackhi_epi16(e, f),
    ];
    let mut out = [_mm_setzero_si128(); 16];
    for (i, q) in quads.into_iter().enumerate() {
        out[4 * i] = q;
        out[4 * i + 1] = _mm_srli_si128::<4>(q);
        out[4 * i + 2] = _mm_srli_si128::<8>(q);
        out[4 * i + 3] = _mm_srli_si128::<12>(q);
    }
    out
}

#[inline]
#[target_feature(enable = "sse2")]
fn abs_diff(a: __m128i, b: __m128i) -> __m128i {
    _mm_or_si128(_mm_subs_epu8(a, b), _mm_subs_epu8(b, a))
}

/// Signed bytes for unsigned pixels and back (`^ 0x80`).
#[inline]
#[target_feature(enable = "sse2")]
fn flip(v: __m128i) -> __m128i {
    _mm_xor_si128(v, splat(0x80))
}

/// Each signed byte shifted right by 3, arithmetically (SSE2 shifts bytes only in pairs).
#[inline]
#[target_feature(enable = "sse2")]
fn shr3(v: __m128i) -> __m128i {
    let logical = _mm_and_si128(_mm_srli_epi16::<3>(v), splat(0x1f));
    _mm_sub_epi8(_mm_xor_si128(logical, splat(0x10)), splat(0x10))
}

/// Each signed byte shifted right by 1, arithmetically.
#[inline]
#[target_feature(enable = "sse2")]
fn shr1(v: __m128i) -> __m128i {
    let logical = _mm_and_si128(_mm_srli_epi16::<1>(v), splat(0x7f));
    _mm_sub_epi8(_mm_xor_si128(logical, splat(0x40)), splat(0x40))
}

/// All ones where `v <= limit` (unsigned bytes).
#[inline]
#[target_feature(enable = "sse2")]
fn at_most(v: __m128i, limit: __m128i) -> __m128i {
    _mm_cmpeq_epi8(_mm_subs_epu8(v, limit), _mm_setzero_si128())
}

/// `2 |p0 - q0| + (|p1 - q1| >> 1)`, saturating: the edge test's measure.
#[inline]
#[target_feature(enable = "sse2")]
fn edge_measure(p1: __m128i, p0: __m128i, q0: __m128i, q1: __m128i) -> __m128i {
    let d0 = abs_diff(p0, q0);
    let d1 = _mm_srli_epi16::<1>(_mm_and_si128(abs_diff(p1, q1), splat(0xfe)));
    _mm_adds_epu8(_mm_adds_epu8(d0, d0), d1)
}

/// The strengths as bytes in every lane.
struct Limits {
    edge: __m128i,
    inner: __m128i,
    interior: __m128i,
    hev: __m128i,
}

/// p3..q3 across one edge.
type Taps = [__m128i; 8];

/// The normal filter's test: all ones where the edge is filtered.
#[inline]
#[target_feature(enable = "sse2")]
fn normal_mask(t: &Taps, limit: __m128i, interior: __m128i) -> __m128i {
    let [p3, p2, p1, p0, q0, q1, q2, q3] = *t;
    let mut m = _mm_max_epu8(abs_diff(p3, p2), abs_diff(p2, p1));
    m = _mm_max_epu8(m, abs_diff(p1, p0));
    m = _mm_max_epu8(m, abs_diff(q1, q0));
    m = _mm_max_epu8(m, abs_diff(q2, q1));
    m = _mm_max_epu8(m, abs_diff(q3, q2));
    _mm_and_si128(
        at_most(m, interior),
        at_most(edge_measure(p1, p0, q0, q1), limit),
    )
}

/// All ones where the edge has high variance (`|p1 - p0|` or `|q1 - q0|` over `hev`).
#[inline]
#[target_feature(enable = "sse2")]
fn high_variance(t: &Taps, hev: __m128i) -> __m128i {
    let m = _mm_max_epu8(abs_diff(t[2], t[3]), abs_diff(t[5], t[4]));
    _mm_xor_si128(at_most(m, hev), _mm_set1_epi8(-1))
}

/// `clamp(outer + 3 (q0 - p0))` in signed bytes (`outer` already clamped).
#[inline]
#[target_feature(enable = "sse2")]
fn adjustment(outer: __m128i, p0: __m128i, q0: __m128i) -> __m128i {
    let d = _mm_subs_epi8(q0, p0);
    _mm_adds_epi8(_mm_adds_epi8(_mm_adds_epi8(outer, d), d), d)
}

/// p0 and q0 moved by `a` (signed, zero where nothing changes): `q0 - clamp((a + 4) >> 3)`,
/// `p0 + clamp((a + 3) >> 3)`. Returns the first of the two steps, for `filter4`.
#[inline]
#[target_feature(enable = "sse2")]
fn move_p0_q0(a: __m128i, p0: &mut __m128i, q0: &mut __m128i) -> __m128i {
    let a1 = shr3(_mm_adds_epi8(a, splat(4)));
    let a2 = shr3(_mm_adds_epi8(a, splat(3)));
    *q0 = _mm_subs_epi8(*q0, a1);
    *p0 = _mm_adds_epi8(*p0, a2);
    a1
}

/// `(m * w + 63) >> 7` of signed bytes `w`, in signed bytes (`m` at most 27: no overflow).
#[inline]
#[target_feature(enable = "sse2")]
fn tap(w_lo: __m128i, w_hi: __m128i, m: i16) -> __m128i {
    let f = |w| {
        _mm_srai_epi16::<7>(_mm_add_epi16(
            _mm_mullo_epi16(w, _mm_set1_epi16(m)),
            _mm_set1_epi16(63),
        ))
    };
    _mm_packs_epi16(f(w_lo), f(w_hi))
}

/// The normal filter across a macroblock edge (`filter6`; `filter2` where the variance is
/// high), on p2..q2.
#[inline]
#[target_feature(enable = "sse2")]
fn macroblock_edge(t: &mut Taps, l: &Limits) {
    let mask = normal_mask(t, l.edge, l.interior);
    let hev = high_variance(t, l.hev);
    let [p2, p1, p0, q0, q1, q2] = [t[1], t[2], t[3], t[4], t[5], t[6]].map(|v| flip(v));
    let a = _mm_and_si128(adjustment(_mm_subs_epi8(p1, q1), p0, q0), mask);
    let (mut p0, mut q0) = (p0, q0);
    move_p0_q0(_mm_and_si128(a, hev), &mut p0, &mut q0);
    // The six-tap filter where the variance is low, in 16 bits: w * 27, 18, 9.
    let w = _mm_andnot_si128(hev, a);
    let zero = _mm_setzero_si128();
    let w_lo = _mm_srai_epi16::<8>(_mm_unpacklo_epi8(zero, w));
    let w_hi = _mm_srai_epi16::<8>(_mm_unpackhi_epi8(zero, w));
    let (a1, a2, a3) = (tap(w_lo, w_hi, 27), tap(w_lo, w_hi, 18), tap(w_lo, w_hi, 9));
    t[1] = flip(_mm_adds_epi8(p2, a3));
    t[2] = flip(_mm_adds_epi8(p1, a2));
    t[3] = flip(_mm_adds_epi8(p0, a1));
    t[4] = flip(_mm_subs_epi8(q0, a1));
    t[5] = flip(_mm_subs_epi8(q1, a2));
    t[6] = flip(_mm_subs_epi8(q2, a3));
}

/// The normal filter across an inner edge (`filter4`; `filter2` where the variance is
/// high), on p1..q1.
#[inline]
#[target_feature(enable = "sse2")]
fn inner_edge(t: &mut Taps, l: &Limits) {
    let mask = normal_mask(t, l.inner, l.interior);
    let hev = high_variance(t, l.hev);
    let [p1, p0, q0, q1] = [t[2], t[3], t[4], t[5]].map(|v| flip(v));
    // The outer taps count only where the variance is high.
    let outer = _mm_and_si128(_mm_subs_epi8(p1, q1), hev);
    let a = _mm_and_si128(adjustment(outer, p0, q0), mask);
    let (mut p0, mut q0) = (p0, q0);
    let a1 = move_p0_q0(a, &mut p0, &mut q0);
    let a3 = _mm_andnot_si128(hev, shr1(_mm_add_epi8(a1, splat(1))));
    t[2] = flip(_mm_adds_epi8(p1, a3));
    t[3] = flip(p0);
    t[4] = flip(q0);
    t[5] = flip(_mm_subs_epi8(q1, a3));
}

/// The simple filter across one edge (`[p1, p0, q0, q1]`), on p0 and q0.
#[inline]
#[target_feature(enable = "sse2")]
fn simple_edge(t: &mut [__m128i; 4], limit: __m128i) {
    let mask = at_most(edge_measure(t[0], t[1], t[2], t[3]), limit);
    let [p1, mut p0, mut q0, q1] = t.map(|v| flip(v));
    let a = _mm_and_si128(adjustment(_mm_subs_epi8(p1, q1), p0, q0), mask);
    move_p0_q0(a, &mut p0, &mut q0);
    t[1] = flip(p0);
    t[2] = flip(q0);
}

/// One plane's (or U and V's) normal filter: the left edge, the inner vertical edges, the
/// top edge, the inner horizontal edges (`inner_at`: where the inner edges are, 4 apart;
/// `size` 16 or 8).
#[inline]
#[target_feature(enable = "sse2")]
fn normal_plane(x: &mut impl Lanes, l: &Limits, size: usize, left: bool, top: bool, inner: bool) {
    // Vertical edges: four columns at a time, each group written back once no later edge
    // of this macroblock changes it.
    if left || inner {
        let mut q = transpose_in(x.cols(4));
        if left {
            let p = transpose_in(x.cols(0));
            let mut t = [p[0], p[1], p[2], p[3], q[0], q[1], q[2], q[3]];
            macroblock_edge(&mut t, l);
            x.set_cols(0, transpose_out([t[0], t[1], t[2], t[3]]));
            q = [t[4], t[5], t[6], t[7]];
        }
        let mut c = 4;
        if inner {
            while c + 4 < 4 + size {
                let n = transpose_in(x.cols(c + 4));
                let mut t = [q[0], q[1], q[2], q[3], n[0], n[1], n[2], n[3]];
                inner_edge(&mut t, l);
                x.set_cols(c, transpose_out([t[0], t[1], t[2], t[3]]));
                q = [t[4], t[5], t[6], t[7]];
                c += 4;
            }
        }
        x.set_cols(c, transpose_out(q));
    }
    // Horizontal edges: rows are registers already.
    if top || inner {
        let mut q = [x.row(4), x.row(5), x.row(6), x.row(7)];
        if top {
            let mut t = [
                x.row(0),
                x.row(1),
                x.row(2),
                x.row(3),
                q[0],
                q[1],
                q[2],
                q[3],
            ];
            macroblock_edge(&mut t, l);
            for (r, &v) in t.iter().enumerate().take(4).skip(1) {
                x.set_row(r, v);
            }
            q = [t[4], t[5], t[6], t[7]];
        }
        let mut r = 4;
        if inner {
            while r + 4 < 4 + size {
                let mut t = [
                    q[0],
                    q[1],
                    q[2],
                    q[3],
                    x.row(r + 4),
                    x.row(r + 5),
                    x.row(r + 6),
                    x.row(r + 7),
                ];
                inner_edge(&mut t, l);
                for (i, &v) in t.iter().enumerate().take(4) {
                    x.set_row(r + i, v);
                }
                q = [t[4], t[5], t[6], t[7]];
                r += 4;
            }
        }
        for (i, &v) in q.iter().enumerate().take(3) {
            x.set_row(r + i, v);
        }
    }
}

/// The simple filter of one macroblock's luma (its edges are independent: each changes
/// only p0 and q0, and 4 pixels separate them).
#[inline]
#[target_feature(enable = "sse2")]
fn simple_luma(
    x: &mut Luma<'_>,
    edge: __m128i,
    inner: __m128i,
    left: bool,
    top: bool,
    st: &Strength,
) {
    // Edge at 0, 4, 8, 12: its p1..q1 are columns (rows) 2..6 from there in `Lanes` terms.
    let edges = [(0, left), (4, st.inner), (8, st.inner), (12, st.inner)];
    for (e, on) in edges {
        if on {
            let mut t = transpose_in(x.cols(e + 2));
            simple_edge(&mut t, if e == 0 { edge } else { inner });
            x.set_cols(e + 2, transpose_out(t));
        }
    }
    for (e, on) in [(0, top), (4, st.inner), (8, st.inner), (12, st.inner)] {
        if on {
            let mut t = std::array::from_fn(|i| x.row(e + 2 + i));
            simple_edge(&mut t, if e == 0 { edge } else { inner });
            x.set_row(e + 3, t[1]);
            x.set_row(e + 4, t[2]);
        }
    }
}

/// The loop filter of one macroblock, as `filter::macroblock` does it in scalar code.
#[target_feature(enable = "sse2")]
pub(in super::super) fn macroblock(mb: Mb<'_>, st: &Strength, simple: bool, left: bool, top: bool) {
    let edge = splat((st.limit + 4) as u8);
    let inner = splat(st.limit as u8);
    let mut luma = Luma {
        p: mb.y,
        at: mb.y0,
        stride: mb.ys,
    };
    if simple {
        simple_luma(&mut luma, edge, inner, left, top, st);
        return;
    }
    let l = Limits {
        edge,
        inner,
        interior: splat(st.interior as u8),
        hev: splat(st.hev as u8),
    };
    normal_plane(&mut luma, &l, 16, left, top, st.inner);
    let mut chroma = Chroma {
        u: mb.u,
        v: mb.v,
        at: mb.uv0,
        stride: mb.uvs,
    };
    normal_plane(&mut chroma, &l, 8, left, top, st.inner);
}
