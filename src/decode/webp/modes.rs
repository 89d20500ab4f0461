//! A key frame macroblock's header in the first partition (RFC 6386 sections 10, 11, 19.3):
//! segment, skip flag, luma and chroma prediction modes.
//!
//! Owns: the mode trees and the sub-block mode contexts (the modes above and to the left).
//! Must not touch: coefficients or pixels.

use super::bools::BoolDecoder;
use super::header::Segments;
use super::predict::{B_HD, B_HU, B_LD, B_RD, B_VL, B_VR, DC, H, TM, V};
use super::tables::BMODE_PROBS;

/// One macroblock's modes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Modes {
    pub(super) segment: usize,
    pub(super) skip: bool,
    /// The 16x16 luma mode, or `None` for `B_PRED` (then `sub` holds the 16 sub-block modes).
    pub(super) luma: Option<u8>,
    pub(super) sub: [u8; 16],
    pub(super) chroma: u8,
}

/// Reads one macroblock's modes; `top` and `left` are the sub-block modes along its upper
/// and left edges (updated for the next macroblocks).
// Inlined into the frame decoder's row loop, which is compiled twice (`frame::Decoder::row`).
#[inline(always)]
pub(super) fn read(
    partition: &mut BoolDecoder<'_>,
    segments: &Segments,
    skip_prob: Option<u8>,
    top: &mut [u8; 4],
    left: &mut [u8; 4],
) -> Modes {
    // A local copy, written back at the end, so the decoder stays in registers (`bools`).
    let mut br = partition.clone();
    let d = &mut br;
    let mut m = Modes::default();
    if segments.update_map {
        let p = &segments.tree_probs;
        m.segment = if !d.bit(p[0]) {
            usize::from(d.bit(p[1]))
        } else {
            2 + usize::from(d.bit(p[2]))
        };
    }
    m.skip = skip_prob.is_some_and(|p| d.bit(p));
    if d.bit(145) {
        let mode = if d.bit(156) {
            if d.bit(128) { TM } else { H }
        } else if d.bit(163) {
            V
        } else {
            DC
        };
        m.luma = Some(mode);
        *top = [mode; 4];
        *left = [mode; 4];
    } else {
        for (y, row_left) in left.iter_mut().enumerate() {
            let mut l = *row_left;
            for (x, above) in top.iter_mut().enumerate() {
                let mode = sub_mode(d, &BMODE_PROBS[usize::from(*above)][usize::from(l)]);
                *above = mode;
                l = mode;
                m.sub[4 * y + x] = mode;
            }
            *row_left = l;
        }
    }
    m.chroma = if !d.bit(142) {
        DC
    } else if !d.bit(114) {
        V
    } else if d.bit(183) {
        TM
    } else {
        H
    };
    *partition = br;
    m
}

/// The sub-block mode tree (section 11.2).
#[inline(always)]
fn sub_mode(d: &mut BoolDecoder<'_>, p: &[u8; 9]) -> u8 {
    if !d.bit(p[0]) {
        return DC;
    }
    if !d.bit(p[1]) {
        return TM;
    }
    if !d.bit(p[2]) {
        return V;
    }
    if !d.bit(p[3]) {
        if !d.bit(p[4]) {
            return H;
        }
        return if d.bit(p[5]) { B_VR } else { B_RD };
    }
    if !d.bit(p[6]) {
        return B_LD;
    }
    if !d.bit(p[7]) {
        return B_VL;
    }
    if d.bit(p[8]) { B_HU } else { B_HD }
}
