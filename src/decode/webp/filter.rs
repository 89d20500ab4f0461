//! VP8's loop filter (RFC 6386 section 15): the simple filter (luma only) and the normal
//! filter, on macroblock edges and on the inner 4x4 edges, with each macroblock's strength
//! from its segment and mode (section 15.1 and 9.6).
//!
//! Owns: the per-edge arithmetic (the strengths are `strength`'s). Must not touch:
//! prediction. In VP8 the filter runs after a whole row is reconstructed, and intra
//! prediction reads the unfiltered pixels (`frame` keeps them apart), so a decode may skip
//! the filter without changing any other pixel: the thumbnail path does, since its reduction
//! makes the filter's few-pixel smoothing at block edges invisible (measured in the tests).

use super::strength::{Mb, Strength};

/// The loop filter of one macroblock (`left`, `top`: whether it has those neighbours), in
/// the RFC's order: left edge, inner vertical edges, top edge, inner horizontal edges. SSE2
/// on x86_64 (`sse2::filter`, the same pixels), this file's scalar code elsewhere.
pub(super) fn macroblock(mb: Mb<'_>, st: &Strength, simple: bool, left: bool, top: bool) {
    if st.limit == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; the function reads and writes through slices only.
    unsafe {
        super::sse2::filter::macroblock(mb, st, simple, left, top)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scalar_macroblock(mb, st, simple, left, top)
}

/// [`macroblock`] in scalar code: the definition, used where SSE2 is not there and by the
/// test that compares the two on x86_64 (so its helpers are dead code in x86_64 builds).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn scalar_macroblock(mb: Mb<'_>, st: &Strength, simple: bool, left: bool, top: bool) {
    if st.limit == 0 {
        return;
    }
    let Mb {
        y,
        u,
        v,
        y0,
        uv0,
        ys,
        uvs,
    } = mb;
    let (edge, inner) = (st.limit + 4, st.limit);
    if simple {
        if left {
            simple_edge(y, y0, 1, ys, edge);
        }
        if st.inner {
            for i in [4, 8, 12] {
                simple_edge(y, y0 + i, 1, ys, inner);
            }
        }
        if top {
            simple_edge(y, y0, ys, 1, edge);
        }
        if st.inner {
            for i in [4, 8, 12] {
                simple_edge(y, y0 + i * ys, ys, 1, inner);
            }
        }
        return;
    }
    if left {
        normal_edge(y, y0, 1, ys, 16, edge, st, true);
        normal_edge(u, uv0, 1, uvs, 8, edge, st, true);
        normal_edge(v, uv0, 1, uvs, 8, edge, st, true);
    }
    if st.inner {
        for i in [4, 8, 12] {
            normal_edge(y, y0 + i, 1, ys, 16, inner, st, false);
        }
        normal_edge(u, uv0 + 4, 1, uvs, 8, inner, st, false);
        normal_edge(v, uv0 + 4, 1, uvs, 8, inner, st, false);
    }
    if top {
        normal_edge(y, y0, ys, 1, 16, edge, st, true);
        normal_edge(u, uv0, uvs, 1, 8, edge, st, true);
        normal_edge(v, uv0, uvs, 1, 8, edge, st, true);
    }
    if st.inner {
        for i in [4, 8, 12] {
            normal_edge(y, y0 + i * ys, ys, 1, 16, inner, st, false);
        }
        normal_edge(u, uv0 + 4 * uvs, uvs, 1, 8, inner, st, false);
        normal_edge(v, uv0 + 4 * uvs, uvs, 1, 8, inner, st, false);
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn clip_s8(v: i32) -> i32 {
    v.clamp(-128, 127)
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn clip_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
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

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn taps4(p: &[u8], at: usize, step: usize) -> (i32, i32, i32, i32) {
    (
        i32::from(p[at - 2 * step]),
        i32::from(p[at - step]),
        i32::from(p[at]),
        i32::from(p[at + step]),
    )
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
/// The edge-difference test both filters start with (`2 * |p0 - q0| + |p1 - q1| / 2 <=
/// limit`, written as libwebp does).
#[inline(always)]
fn needs(p: &[u8], at: usize, step: usize, limit2: i32) -> bool {
    let (p1, p0, q0, q1) = taps4(p, at, step);
    4 * (p0 - q0).abs() + (p1 - q1).abs() <= limit2
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
/// The simple filter across one 16-pixel edge: `at` is the first q0, `across` the
/// step over the edge, `along` the step along it.
fn simple_edge(p: &mut [u8], at: usize, across: usize, along: usize, limit: i32) {
    let limit2 = 2 * limit + 1;
    for i in 0..16 {
        let q = at + i * along;
        if needs(p, q, across, limit2) {
            filter2(p, q, across);
        }
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
/// The eight taps across an edge (p3, p2, p1, p0, q0, q1, q2, q3) of up to 16 positions
/// along it, one lane per position.
type Taps = [[i16; 16]; 8];

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
/// The normal filter across one edge of `len` (16 or 8) positions: `at` is the first q0,
/// `across` the step over the edge, `along` the step along it; `edge` for macroblock edges
/// (the six-tap filter), inner edges otherwise. The arithmetic runs lane-wise over all
/// positions at once (the compiler vectorises it), each lane then keeping the result of the
/// filter its own tests choose, as the scalar definition does position by position.
#[allow(clippy::too_many_arguments)]
fn normal_edge(
    p: &mut [u8],
    at: usize,
    across: usize,
    along: usize,
    len: usize,
    limit: i32,
    st: &Strength,
    edge: bool,
) {
    let mut t: Taps = [[0; 16]; 8];
    let base = at - 4 * across;
    if along == 1 {
        // A horizontal edge: each tap is a run of pixels in one row.
        for (k, tap) in t.iter_mut().enumerate() {
            let row = &p[base + k * across..base + k * across + len];
            for (v, &b) in tap.iter_mut().zip(row) {
                *v = i16::from(b);
            }
        }
    } else {
        for i in 0..len {
            let px = &p[base + i * along..base + i * along + 8];
            for (k, tap) in t.iter_mut().enumerate() {
                tap[i] = i16::from(px[k]);
            }
        }
    }
    let changed = filter_lanes(&mut t, (2 * limit + 1) as i16, st, edge);
    if !changed {
        return;
    }
    // p2..q2 may have changed (p3 and q3 never do).
    if along == 1 {
        for (k, tap) in t.iter().enumerate().take(7).skip(1) {
            let row = &mut p[base + k * across..base + k * across + len];
            for (b, &v) in row.iter_mut().zip(tap) {
                *b = v as u8;
            }
        }
    } else {
        for i in 0..len {
            let px = &mut p[base + i * along + 1..base + i * along + 7];
            for (k, b) in px.iter_mut().enumerate() {
                *b = t[k + 1][i] as u8;
            }
        }
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn lanes(f: impl Fn(usize) -> i16) -> [i16; 16] {
    let mut out = [0i16; 16];
    for (i, v) in out.iter_mut().enumerate() {
        *v = f(i);
    }
    out
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
/// The normal filter on every lane of `t` (libwebp's arithmetic: `needs_normal`,
/// `high_variance`, `filter2`, `filter4`, `filter6` above, lane-wise). Returns whether any
/// lane is filtered.
#[inline(always)]
fn filter_lanes(t: &mut Taps, limit2: i16, st: &Strength, edge: bool) -> bool {
    let [p3, p2, p1, p0, q0, q1, q2, q3] = *t;
    let (interior, hev_t) = (st.interior as i16, st.hev as i16);
    let mask = lanes(|i| {
        let ok = 4 * (p0[i] - q0[i]).abs() + (p1[i] - q1[i]).abs() <= limit2
            && (p3[i] - p2[i]).abs() <= interior
            && (p2[i] - p1[i]).abs() <= interior
            && (p1[i] - p0[i]).abs() <= interior
            && (q3[i] - q2[i]).abs() <= interior
            && (q2[i] - q1[i]).abs() <= interior
            && (q1[i] - q0[i]).abs() <= interior;
        i16::from(ok)
    });
    if mask.iter().all(|&m| m == 0) {
        return false;
    }
    let hev = lanes(|i| i16::from((p1[i] - p0[i]).abs() > hev_t || (q1[i] - q0[i]).abs() > hev_t));
    let clip_s8 = |v: i16| v.clamp(-128, 127);
    let clip_u8 = |v: i16| v.clamp(0, 255);
    // filter2: p0, q0 with the outer taps (high edge variance).
    let outer = lanes(|i| 3 * (q0[i] - p0[i]) + clip_s8(p1[i] - q1[i]));
    let f2_p0 = lanes(|i| clip_u8(p0[i] + ((outer[i] + 3) >> 3).clamp(-16, 15)));
    let f2_q0 = lanes(|i| clip_u8(q0[i] - ((outer[i] + 4) >> 3).clamp(-16, 15)));
    let mut out = *t;
    if edge {
        // filter6 on macroblock edges.
        let w = lanes(|i| clip_s8(outer[i]));
        let a1 = lanes(|i| (27 * w[i] + 63) >> 7);
        let a2 = lanes(|i| (18 * w[i] + 63) >> 7);
        let a3 = lanes(|i| (9 * w[i] + 63) >> 7);
        for i in 0..16 {
            if mask[i] != 0 && hev[i] == 0 {
                out[1][i] = clip_u8(p2[i] + a3[i]);
                out[2][i] = clip_u8(p1[i] + a2[i]);
                out[3][i] = clip_u8(p0[i] + a1[i]);
                out[4][i] = clip_u8(q0[i] - a1[i]);
                out[5][i] = clip_u8(q1[i] - a2[i]);
                out[6][i] = clip_u8(q2[i] - a3[i]);
            }
        }
    } else {
        // filter4 on inner edges.
        let inner = lanes(|i| 3 * (q0[i] - p0[i]));
        let a1 = lanes(|i| ((inner[i] + 4) >> 3).clamp(-16, 15));
        let a2 = lanes(|i| ((inner[i] + 3) >> 3).clamp(-16, 15));
        let a3 = lanes(|i| (a1[i] + 1) >> 1);
        for i in 0..16 {
            if mask[i] != 0 && hev[i] == 0 {
                out[2][i] = clip_u8(p1[i] + a3[i]);
                out[3][i] = clip_u8(p0[i] + a2[i]);
                out[4][i] = clip_u8(q0[i] - a1[i]);
                out[5][i] = clip_u8(q1[i] - a3[i]);
            }
        }
    }
    // High edge variance: p0 and q0 only, with the outer taps, on either kind of edge.
    for i in 0..16 {
        if mask[i] != 0 && hev[i] != 0 {
            out[3][i] = f2_p0[i];
            out[4][i] = f2_q0[i];
        }
    }
    *t = out;
    true
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// The SSE2 filter changes exactly the pixels the scalar one does, to the same values:
    /// random strengths, simple and normal, with and without neighbours, on pictures from
    /// smooth (most edges filtered, every branch of the filters taken) to noise (few).
    #[test]
    fn sse2_filter_equals_the_scalar_one() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Planes three macroblocks wide, with four rows above and below the middle one.
        let (ys, uvs) = (48, 24);
        let (y0, uv0) = (4 * ys + 16, 4 * uvs + 8);
        let mut changed = 0;
        for case in 0..3000 {
            let spread = [2, 8, 40, 256][case % 4];
            let base = (next() % 256) as i32;
            let mut pixels = |n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| {
                        (base + (next() % spread) as i32 - spread as i32 / 2).clamp(0, 255) as u8
                    })
                    .collect()
            };
            let (y, u, v) = (pixels(ys * 24), pixels(uvs * 16), pixels(uvs * 16));
            let level = (next() % 64) as i32;
            let interior = (next() % 63 + 1) as i32;
            let st = Strength {
                limit: 2 * level + interior,
                interior,
                hev: (next() % 3) as i32,
                inner: next() % 4 != 0,
            };
            let (simple, left, top) = (next() % 3 == 0, next() % 4 != 0, next() % 4 != 0);
            let run = |scalar: bool| {
                let (mut y, mut u, mut v) = (y.clone(), u.clone(), v.clone());
                let mb = Mb {
                    y: &mut y,
                    u: &mut u,
                    v: &mut v,
                    y0,
                    uv0,
                    ys,
                    uvs,
                };
                if scalar {
                    scalar_macroblock(mb, &st, simple, left, top);
                } else {
                    macroblock(mb, &st, simple, left, top);
                }
                (y, u, v)
            };
            let expected = run(true);
            assert!(
                expected == run(false),
                "case {case}: {st:?} simple {simple}"
            );
            changed += usize::from(expected.0 != y);
        }
        // The cases filter something, so the comparison means something.
        assert!(changed > 1000, "{changed} cases changed pixels");
    }
}
