//! A macroblock's residual coefficients from its token partition (RFC 6386 section 13).
//!
//! Owns: the token tree, the zero/one/large-value contexts between blocks, dequantisation,
//! and the above/left "has coefficients" context of each block. Must not touch: pixels
//! (`frame` adds the inverse transforms of what this returns).

use super::bools::BoolDecoder;
use super::header::{Quant, TokenProbs};
use super::transform::inverse_wht;

/// Coefficient positions in the order they are coded.
const ZIGZAG: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];
/// The extra bits' probabilities of the categories 3 to 6 and their base values.
const CAT3: &[u8] = &[173, 148, 140];
const CAT4: &[u8] = &[176, 155, 140, 135];
const CAT5: &[u8] = &[180, 157, 141, 134, 130];
const CAT6: &[u8] = &[254, 254, 243, 230, 196, 177, 153, 140, 133, 130, 129];

/// Plane types: the index into the token probabilities.
const Y_AFTER_Y2: usize = 0;
const Y2: usize = 1;
const CHROMA: usize = 2;
const Y_WITH_DC: usize = 3;

/// "Has coefficients" flags along one edge of a macroblock: 4 luma, 2 + 2 chroma, Y2.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Context {
    pub(super) y: [bool; 4],
    pub(super) u: [bool; 2],
    pub(super) v: [bool; 2],
    pub(super) y2: bool,
}

/// What the inverse transform of a block needs: nothing, its DC alone, or the full IDCT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Kind {
    #[default]
    Zero,
    Dc,
    Full,
}

/// One macroblock's coefficients: 16 luma blocks, then 4 U and 4 V, natural order.
pub(super) struct Coeffs {
    pub(super) blocks: [[i16; 16]; 24],
    pub(super) kinds: [Kind; 24],
}

impl Coeffs {
    pub(super) fn new() -> Coeffs {
        Coeffs {
            blocks: [[0; 16]; 24],
            kinds: [Kind::Zero; 24],
        }
    }

    /// Whether any block has something to add (libwebp's "not skipped", for the filter).
    pub(super) fn any(&self) -> bool {
        self.kinds.iter().any(|&k| k != Kind::Zero)
    }
}

/// Reads one macroblock's coefficients into `out` (cleared first), updating the above and
/// left contexts. `i16x16`: the macroblock has a Y2 block (any mode but `B_PRED`).
// Each block reads the context above it (`x`) and left of it (`y`): two arrays, one index each.
#[allow(clippy::needless_range_loop)]
// Inlined into the frame decoder's row loop, which is compiled twice (`frame::Decoder::row`).
#[inline(always)]
pub(super) fn read(
    partition: &mut BoolDecoder<'_>,
    probs: &TokenProbs,
    q: &Quant,
    i16x16: bool,
    (top, left): (&mut Context, &mut Context),
    out: &mut Coeffs,
) {
    // A local copy of the decoder, written back at the end: with `block` and `large`
    // inlined its state stays in registers (see `bools`).
    let mut br = partition.clone();
    let d = &mut br;
    out.blocks = [[0; 16]; 24];
    let first = if i16x16 {
        let mut y2 = [0i16; 16];
        let ctx = usize::from(top.y2) + usize::from(left.y2);
        let n = block(d, &probs[Y2], ctx, 0, q.y2, &mut y2);
        top.y2 = n > 0;
        left.y2 = n > 0;
        let dcs = if n > 1 {
            inverse_wht(&y2)
        } else {
            [((i32::from(y2[0]) + 3) >> 3) as i16; 16]
        };
        for (b, dc) in out.blocks[..16].iter_mut().zip(dcs) {
            b[0] = dc;
        }
        1
    } else {
        0
    };
    let plane = if i16x16 { Y_AFTER_Y2 } else { Y_WITH_DC };
    for y in 0..4 {
        for x in 0..4 {
            let i = 4 * y + x;
            let ctx = usize::from(top.y[x]) + usize::from(left.y[y]);
            let n = block(d, &probs[plane], ctx, first, q.y, &mut out.blocks[i]);
            let nz = n > first;
            top.y[x] = nz;
            left.y[y] = nz;
            out.kinds[i] = kind(n, out.blocks[i][0]);
        }
    }
    for (c, (t, l)) in [(&mut top.u, &mut left.u), (&mut top.v, &mut left.v)]
        .into_iter()
        .enumerate()
    {
        for y in 0..2 {
            for x in 0..2 {
                let i = 16 + 4 * c + 2 * y + x;
                let ctx = usize::from(t[x]) + usize::from(l[y]);
                let n = block(d, &probs[CHROMA], ctx, 0, q.uv, &mut out.blocks[i]);
                t[x] = n > 0;
                l[y] = n > 0;
                out.kinds[i] = kind(n, out.blocks[i][0]);
            }
        }
    }
    *partition = br;
}

fn kind(n: usize, dc: i16) -> Kind {
    if n > 1 {
        Kind::Full
    } else if dc != 0 {
        Kind::Dc
    } else {
        Kind::Zero
    }
}

/// One block's tokens from position `first`, dequantised (`dq`: DC then AC factor) into
/// `out`. Returns the position after the last token read before the end of block (16 if
/// the block ran to its end), as libwebp counts it for the contexts.
#[inline(always)]
fn block(
    d: &mut BoolDecoder<'_>,
    probs: &[[[u8; 11]; 3]; 17],
    ctx: usize,
    first: usize,
    dq: [i32; 2],
    out: &mut [i16; 16],
) -> usize {
    let mut n = first;
    let mut p = &probs[n][ctx];
    while n < 16 {
        if !d.bit(p[0]) {
            return n; // end of block
        }
        while !d.bit(p[1]) {
            n += 1;
            if n == 16 {
                return 16;
            }
            p = &probs[n][0];
        }
        let (v, next) = if !d.bit(p[2]) {
            (1, 1)
        } else {
            (large(d, p), 2)
        };
        // `dq[n > 0]` and `& 15` as libwebp: no branch, no bounds check (the positions
        // are all below 16).
        let factor = dq[usize::from(n > 0)];
        // Wrapping as libwebp's 16-bit store does (only made-up data gets there).
        out[ZIGZAG[n] & 15] = d.signed(v).wrapping_mul(factor) as i16;
        n += 1;
        p = &probs[n][next];
    }
    16
}

/// A token larger than one: its value from the rest of the tree and any extra bits.
#[inline(always)]
fn large(d: &mut BoolDecoder<'_>, p: &[u8; 11]) -> i32 {
    if !d.bit(p[3]) {
        if !d.bit(p[4]) {
            2
        } else {
            3 + i32::from(d.bit(p[5]))
        }
    } else if !d.bit(p[6]) {
        if !d.bit(p[7]) {
            5 + i32::from(d.bit(159))
        } else {
            7 + 2 * i32::from(d.bit(165)) + i32::from(d.bit(145))
        }
    } else {
        let high = d.bit(p[8]);
        let (extra, base) = match (high, d.bit(p[9 + usize::from(high)])) {
            (false, false) => (CAT3, 11),
            (false, true) => (CAT4, 19),
            (true, false) => (CAT5, 35),
            (true, true) => (CAT6, 67),
        };
        let mut v = 0;
        for &prob in extra {
            v = 2 * v + i32::from(d.bit(prob));
        }
        base + v
    }
}
