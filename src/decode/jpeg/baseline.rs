//! Sequential (baseline / extended, SOF0 / SOF1) Huffman scan decoding
//! straight into reduced-size planes.
//!
//! Every coefficient is Huffman-decoded (the bitstream leaves no choice),
//! but none is stored: for 1x1 output only the DC is used and the AC codes
//! are just skipped; for larger output (up to 4x4) each nonzero coefficient is
//! folded into the `n x n` block with one multiply-add as it is decoded
//! (see [`super::idct`]). Each block is transformed as soon as it is
//! decoded, so no coefficient buffer exists; interleaved and
//! single-component (non-interleaved) scans work the same way.
//!
//! Owns: sequential scans' block decoding into planes. Must not touch: MCU order and
//! restarts (`scan`), colour conversion (`color`).

use super::bits::BitReader;
use super::color::Plane;
use super::huffman::HuffTable;
use super::idct::{FoldTable, Folded, idct_1x1, idct_folded};
use super::scan::BlockSink;

/// Tables and destination of one scan component.
pub(super) struct SeqSlot<'a> {
    pub(super) dc: &'a HuffTable,
    pub(super) ac: &'a HuffTable,
    /// Output pixels per block, horizontally and vertically (1, 2 or 4).
    pub(super) nh: usize,
    pub(super) nv: usize,
    /// DC quantizer (for 1x1 output).
    pub(super) q0: u16,
    /// Fold table (for larger output).
    pub(super) fold: FoldTable,
    /// Index of the destination plane (the frame component).
    pub(super) plane: usize,
}

/// Block sink writing each block's reduced pixels into its plane.
pub(super) struct SeqSink<'a, 'p> {
    slots: Vec<SeqSlot<'a>>,
    planes: &'p mut [Plane],
    preds: [i32; 4],
}

impl<'a, 'p> SeqSink<'a, 'p> {
    /// A sink for one scan.
    pub(super) fn new(slots: Vec<SeqSlot<'a>>, planes: &'p mut [Plane]) -> Self {
        SeqSink {
            slots,
            planes,
            preds: [0; 4],
        }
    }
}

/// Decodes a DC difference and returns the new (predicted) DC value,
/// truncated to 16 bits like libjpeg's JCOEF.
#[inline(always)]
fn decode_dc(r: &mut BitReader, dc: &HuffTable, pred: &mut i32) -> i32 {
    r.ensure(32);
    let s = u32::from(dc.decode(r));
    let diff = if s == 0 { 0 } else { r.receive_extend(s) };
    *pred = pred.wrapping_add(diff);
    i32::from(*pred as i16)
}

impl BlockSink for SeqSink<'_, '_> {
    #[inline(always)]
    fn block(&mut self, r: &mut BitReader, slot: usize, bx: usize, by: usize) {
        let (Some(s), Some(pred)) = (self.slots.get(slot), self.preds.get_mut(slot)) else {
            return;
        };
        let dc = decode_dc(r, s.dc, pred);
        let Some(p) = self.planes.get_mut(s.plane) else {
            return;
        };
        let off = by * s.nv * p.stride + bx * s.nh;
        if s.nh == 1 && s.nv == 1 {
            s.ac.skip_ac_block(r);
            if let Some(px) = p.data.get_mut(off) {
                *px = idct_1x1(dc, s.q0);
            }
            return;
        }
        let mut acc: Folded = [0.0; 32];
        s.fold.add(&mut acc, 0, dc);
        s.ac.decode_ac_block(r, |k, v| s.fold.add(&mut acc, k, v));
        if let Some(out) = p.data.get_mut(off..) {
            idct_folded(&acc, s.nh, s.nv, out, p.stride);
        }
    }

    fn restart(&mut self) {
        self.preds = [0; 4];
    }
}
