//! VP8's loop filter (RFC 6386 section 15): the simple filter (luma only) and the normal
//! filter, on macroblock edges and on the inner 4x4 edges, with each macroblock's strength
//! from its segment and mode (section 15.1 and 9.6).
//!
//! Owns: the per-edge arithmetic and the strengths. Must not touch: prediction. In VP8 the
//! filter runs after a whole row is reconstructed, and intra prediction reads the unfiltered
//! pixels (`frame` keeps them apart), so a decode may skip the filter without changing any
//! other pixel: the thumbnail path does, since its reduction makes the filter's few-pixel
//! smoothing at block edges invisible (measured in the tests).

use super::header::{FilterHeader, Segments};

/// One macroblock's filter strength; `limit == 0` means no filtering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Strength {
    /// Edge limit of the inner edges (`2 * level + interior`); macroblock edges use `+ 4`.
    pub(super) limit: i32,
    pub(super) interior: i32,
    pub(super) hev: i32,
    /// Whether the inner edges are filtered (a `B_PRED` macroblock or one with coefficients).
    pub(super) inner: bool,
}

/// The strengths of each segment, `[segment][is B_PRED]` (section 15.1 and libwebp's
/// reading of it).
pub(super) fn strengths(f: &FilterHeader, s: &Segments) -> [[Strength; 2]; 4] {
    let mut out = [[Strength::default(); 2]; 4];
    for (seg, row) in out.iter_mut().enumerate() {
        let base = if !s.enabled {
            f.level
        } else if s.absolute {
            s.filter[seg]
        } else {
            f.level + s.filter[seg]
        };
        for (i4x4, st) in row.iter_mut().enumerate() {
            let mut level = base;
            if let Some((reference, mode)) = f.deltas {
                level += reference;
                if i4x4 == 1 {
                    level += mode;
                }
            }
            let level = level.clamp(0, 63);
            if level == 0 {
                continue;
            }
            let mut interior = level;
            if f.sharpness > 0 {
                interior >>= if f.sharpness > 4 { 2 } else { 1 };
                interior = interior.min(9 - f.sharpness);
            }
            let interior = interior.max(1);
            *st = Strength {
                limit: 2 * level + interior,
                interior,
                hev: if level >= 40 {
                    2
                } else if level >= 15 {
                    1
                } else {
                    0
                },
                inner: i4x4 == 1,
            };
        }
    }
    out
}

#[inline(always)]
fn clip_s8(v: i32) -> i32 {
    v.clamp(-128, 127)
}

#[inline(always)]
fn clip_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Changes p0 and q0 (the common adjustment with the outer taps).
#[inline(always)]
fn filter2(p: &mut [u8], at: usize, step: usize) {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    let a = 3 * (q0 - p0) + clip_s8(p1 - q1);
    let a1 = ((a + 4) >> 3).clamp(-16, 15);
    let a2 = ((a + 3) >> 3).clamp(-16, 15);
    p[at - step] = clip_u8(p0 + a2);
    p[at] = clip_u8(q0 - a1);
}

/// Changes p1, p0, q0, q1 (inner edges without high edge variance).
#[inline(always)]
fn filter4(p: &mut [u8], at: usize, step: usize) {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    let a = 3 * (q0 - p0);
    let a1 = ((a + 4) >> 3).clamp(-16, 15);
    let a2 = ((a + 3) >> 3).clamp(-16, 15);
    let a3 = (a1 + 1) >> 1;
    p[at - 2 * step] = clip_u8(p1 + a3);
    p[at - step] = clip_u8(p0 + a2);
    p[at] = clip_u8(q0 - a1);
    p[at + step] = clip_u8(q1 - a3);
}

/// Changes p2..q2 (macroblock edges without high edge variance).
#[inline(always)]
fn filter6(p: &mut [u8], at: usize, step: usize) {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    let p2 = i32::from(p[at - 3 * step]);
    let q2 = i32::from(p[at + 2 * step]);
    let a = clip_s8(3 * (q0 - p0) + clip_s8(p1 - q1));
    let a1 = (27 * a + 63) >> 7;
    let a2 = (18 * a + 63) >> 7;
    let a3 = (9 * a + 63) >> 7;
    p[at - 3 * step] = clip_u8(p2 + a3);
    p[at - 2 * step] = clip_u8(p1 + a2);
    p[at - step] = clip_u8(p0 + a1);
    p[at] = clip_u8(q0 - a1);
    p[at + step] = clip_u8(q1 - a2);
    p[at + 2 * step] = clip_u8(q2 - a3);
}

#[inline(always)]
fn taps4(p: &[u8], at: usize, step: usize) -> (i32, i32, i32, i32) {
    (
        i32::from(p[at - 2 * step]),
        i32::from(p[at - step]),
        i32::from(p[at]),
        i32::from(p[at + step]),
    )
}

/// The edge-difference test both filters start with (`2 * |p0 - q0| + |p1 - q1| / 2 <=
/// limit`, written as libwebp does).
#[inline(always)]
fn needs(p: &[u8], at: usize, step: usize, limit2: i32) -> bool {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    4 * (p0 - q0).abs() + (p1 - q1).abs() <= limit2
}

#[inline(always)]
fn needs_normal(p: &[u8], at: usize, step: usize, limit2: i32, interior: i32) -> bool {
    if !needs(p, at, step, limit2) {
        return false;
    }
    let v = |k: isize| i32::from(p[(at as isize + k * step as isize) as usize]);
    let (p3, p2, p1, p0, q0, q1, q2, q3) = (v(-4), v(-3), v(-2), v(-1), v(0), v(1), v(2), v(3));
    (p3 - p2).abs() <= interior
        && (p2 - p1).abs() <= interior
        && (p1 - p0).abs() <= interior
        && (q3 - q2).abs() <= interior
        && (q2 - q1).abs() <= interior
        && (q1 - q0).abs() <= interior
}

#[inline(always)]
fn high_variance(p: &[u8], at: usize, step: usize, hev: i32) -> bool {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    (p1 - p0).abs() > hev || (q1 - q0).abs() > hev
}

/// The simple filter across one 16-pixel edge: `at` is the first q0, `across` the
/// step over the edge, `along` the step along it.
pub(super) fn simple_edge(p: &mut [u8], at: usize, across: usize, along: usize, limit: i32) {
    let limit2 = 2 * limit + 1;
    for i in 0..16 {
        let q = at + i * along;
        if needs(p, q, across, limit2) {
            filter2(p, q, across);
        }
    }
}

/// The normal filter across one edge of `len` pixels; `edge` for macroblock edges (the
/// six-tap filter), inner edges otherwise.
#[allow(clippy::too_many_arguments)]
pub(super) fn normal_edge(
    p: &mut [u8],
    at: usize,
    across: usize,
    along: usize,
    len: usize,
    limit: i32,
    st: &Strength,
    edge: bool,
) {
    let limit2 = 2 * limit + 1;
    for i in 0..len {
        let q = at + i * along;
        if !needs_normal(p, q, across, limit2, st.interior) {
            continue;
        }
        if high_variance(p, q, across, st.hev) {
            filter2(p, q, across);
        } else if edge {
            filter6(p, q, across);
        } else {
            filter4(p, q, across);
        }
    }
}
