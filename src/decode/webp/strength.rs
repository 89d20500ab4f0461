//! What VP8's loop filter works with (RFC 6386 section 15.1 and 9.6): each macroblock's
//! strength from its segment and mode, and the window of plane rows one macroblock's edges
//! reach.
//!
//! Owns: the strengths and that window. Must not touch: the per-edge arithmetic (`filter`
//! in scalar code, `sse2::filter` on x86_64, both reading these types from here).

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

/// One macroblock's place in the plane rows the filter works on: its first luma pixel
/// `y[y0]` and chroma pixels `u[uv0]`, `v[uv0]`, with the rows above and to the left that
/// its edges reach.
pub(super) struct Mb<'a> {
    pub(super) y: &'a mut [u8],
    pub(super) u: &'a mut [u8],
    pub(super) v: &'a mut [u8],
    pub(super) y0: usize,
    pub(super) uv0: usize,
    pub(super) ys: usize,
    pub(super) uvs: usize,
}
