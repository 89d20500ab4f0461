//! Progressive (SOF2) Huffman decoding into a lean per-block store.
//!
//! At 1/8 (`n = 1`) only DC scans are decoded into one `i16` per block, and
//! every AC scan is skipped by searching for the next marker, without
//! entropy decoding.
//!
//! At 1/4 and 1/2 (`n` = 2 or 4 pixels per block side, possibly different
//! per direction) every scan that can contribute is fully decoded, but no
//! coefficient is stored: each decoded value (and each later refinement of
//! it) is folded straight into the block's `n x n` folded coefficients
//! (see [`super::idct`]), which is
//! linear, so successive approximation simply adds. Refinement decoding
//! still needs to know, for all 64 positions, which coefficients are
//! already nonzero and their signs: two `u64` masks per block. That is
//! `4 n^2 + 16` bytes per block (32 at 1/4, 80 at 1/2) instead of 128, and
//! the result is the exact box average of the full decode.
//!
//! Owns: the progressive scans and the per-block store. Must not touch: MCU order
//! (`scan`) or colour (`color`).

use super::JpegError;
use super::bits::BitReader;
use super::color::Plane;
use super::huffman::HuffTable;
use super::idct::{DROP, FoldTable, Folded, idct_1x1, idct_folded};
use super::scan::BlockSink;

/// Decoded data of one component.
pub(super) struct CompCoefs {
    /// Output pixels per block, horizontally and vertically (1, 2 or 4).
    nh: usize,
    nv: usize,
    /// Blocks per row (MCU-padded).
    bw: usize,
    /// 1x1 output: the DC coefficient of each block.
    dc: Vec<i16>,
    /// Larger output: `nh * nv` folded coefficients per block.
    folded: Vec<f32>,
    /// Larger output: per block, bit k set if zig-zag coefficient k is
    /// nonzero.
    nonzero: Vec<u64>,
    /// Larger output: per block, bit k set if coefficient k is negative.
    negative: Vec<u64>,
    /// Quantization table latched at the component's first scan.
    q: Option<[u16; 64]>,
    /// Fold table for `q` and the output size, built when `q` is latched.
    fold: Option<FoldTable>,
}

impl CompCoefs {
    /// Latches quantization table `q` unless one already is.
    pub(super) fn latch(&mut self, q: Option<[u16; 64]>) -> Result<(), JpegError> {
        if self.q.is_none() {
            let q = q.ok_or_else(|| JpegError::Corrupt("missing quantization table".into()))?;
            self.fold = Some(FoldTable::new(&q, self.nh, self.nv));
            self.q = Some(q);
        }
        Ok(())
    }

    /// True if some zig-zag coefficient in `ss..=se` affects the output.
    pub(super) fn band_matters(&self, ss: usize, se: usize) -> bool {
        let Some(fold) = &self.fold else { return true };
        (ss..=se.min(63)).any(|k| fold.target[k] != DROP)
    }
}

/// All components' data.
pub(super) struct CoefStore {
    pub(super) comps: Vec<CompCoefs>,
}

fn too_large() -> JpegError {
    JpegError::Unsupported("image too large".into())
}

impl CoefStore {
    /// Zeroed storage for `(bw, bh, nh, nv)` = blocks per row, block rows
    /// and output pixels per block of each component.
    pub(super) fn new(dims: &[(usize, usize, usize, usize)]) -> Result<Self, JpegError> {
        let mut comps = Vec::with_capacity(dims.len());
        for &(bw, bh, nh, nv) in dims {
            let blocks = bw.checked_mul(bh).ok_or_else(too_large)?;
            let mut c = CompCoefs {
                nh,
                nv,
                bw,
                dc: Vec::new(),
                folded: Vec::new(),
                nonzero: Vec::new(),
                negative: Vec::new(),
                q: None,
                fold: None,
            };
            if nh * nv == 1 {
                c.dc = vec![0; blocks];
            } else {
                c.folded = vec![0.0; blocks.checked_mul(nh * nv).ok_or_else(too_large)?];
                c.nonzero = vec![0; blocks];
                c.negative = vec![0; blocks];
            }
            comps.push(c);
        }
        Ok(CoefStore { comps })
    }

    /// Runs the reduced IDCT of every block of component `c` into `plane`.
    /// Components never scanned stay gray.
    pub(super) fn to_plane(&self, c: usize, plane: &mut Plane) {
        let Some(cc) = self.comps.get(c) else { return };
        let Some(q) = cc.q else { return };
        let (nh, nv) = (cc.nh, cc.nv);
        if nh * nv == 1 {
            // One pixel per block: block rows are plane rows.
            for (src, dst) in cc
                .dc
                .chunks_exact(cc.bw)
                .zip(plane.data.chunks_exact_mut(plane.stride))
            {
                for (px, &dc) in dst.iter_mut().zip(src) {
                    *px = idct_1x1(i32::from(dc), q[0]);
                }
            }
            return;
        }
        let mut acc: Folded = [0.0; 32];
        let row_blocks = cc.folded.chunks_exact(nh * nv * cc.bw);
        for (by, row) in row_blocks.enumerate() {
            for (bx, g) in row.chunks_exact(nh * nv).enumerate() {
                let off = by * nv * plane.stride + bx * nh;
                acc[..nh * nv].copy_from_slice(g);
                if let Some(out) = plane.data.get_mut(off..) {
                    idct_folded(&acc, nh, nv, out, plane.stride);
                }
            }
        }
    }
}

/// Which kind of progressive scan is being decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pass {
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

/// Tables and destination of one scan component.
pub(super) struct ProgSlot<'a> {
    /// Index of the frame component.
    pub(super) comp: usize,
    /// DC table (DC first scans) or AC table (AC scans); unused otherwise.
    pub(super) table: Option<&'a HuffTable>,
}

/// Block sink for one progressive scan.
pub(super) struct ProgSink<'a, 's> {
    pass: Pass,
    ss: usize,
    se: usize,
    al: u32,
    slots: Vec<ProgSlot<'a>>,
    store: &'s mut CoefStore,
    preds: [i32; 4],
    eobrun: u32,
}

impl<'a, 's> ProgSink<'a, 's> {
    /// A sink for a scan with the given spectral band and low bit.
    pub(super) fn new(
        pass: Pass,
        (ss, se, al): (usize, usize, u32),
        slots: Vec<ProgSlot<'a>>,
        store: &'s mut CoefStore,
    ) -> Self {
        ProgSink {
            pass,
            ss,
            se,
            al,
            slots,
            store,
            preds: [0; 4],
            eobrun: 0,
        }
    }
}

/// One block's state while decoding: its folded coefficients and masks.
struct BlockRef<'b> {
    fold: &'b FoldTable,
    g: &'b mut [f32],
    nonzero: &'b mut u64,
    negative: &'b mut u64,
}

impl BlockRef<'_> {
    /// Records a newly nonzero coefficient.
    #[inline(always)]
    fn set(&mut self, k: usize, v: i16) {
        *self.nonzero |= 1u64 << k;
        if v < 0 {
            *self.negative |= 1u64 << k;
        }
        self.fold.add_to(self.g, k, i32::from(v));
    }

    /// Applies a correction bit to nonzero coefficient `k`: its magnitude
    /// grows by `p1`.
    #[inline(always)]
    fn refine(&mut self, k: usize, p1: i32) {
        let v = if *self.negative & (1u64 << k) != 0 {
            -p1
        } else {
            p1
        };
        self.fold.add_to(self.g, k, v);
    }
}

impl BlockSink for ProgSink<'_, '_> {
    #[inline]
    fn block(&mut self, r: &mut BitReader, slot: usize, bx: usize, by: usize) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        let Some(cc) = self.store.comps.get_mut(s.comp) else {
            return;
        };
        let (Some(fold), Some(q)) = (cc.fold.as_ref(), cc.q.as_ref()) else {
            return;
        };
        let idx = by * cc.bw + bx;
        let n2 = cc.nh * cc.nv;
        let dc_value = match self.pass {
            Pass::DcFirst => {
                let Some(t) = s.table else { return };
                let pred = &mut self.preds[slot & 3];
                r.ensure(32);
                let sz = u32::from(t.decode(r));
                let diff = if sz == 0 { 0 } else { r.receive_extend(sz) };
                *pred = pred.wrapping_add(diff);
                pred.wrapping_shl(self.al) as i16
            }
            Pass::DcRefine => {
                if !r.get_bit() {
                    return;
                }
                (1i32 << self.al) as i16
            }
            Pass::AcFirst | Pass::AcRefine => {
                let (Some(t), Some(g), Some(nonzero), Some(negative)) = (
                    s.table,
                    cc.folded.get_mut(idx * n2..idx * n2 + n2),
                    cc.nonzero.get_mut(idx),
                    cc.negative.get_mut(idx),
                ) else {
                    return;
                };
                let mut b = BlockRef {
                    fold,
                    g,
                    nonzero,
                    negative,
                };
                let band = (self.ss, self.se, self.al);
                if self.pass == Pass::AcFirst {
                    ac_first(r, t, band, &mut self.eobrun, &mut b);
                } else {
                    ac_refine(r, t, band, &mut self.eobrun, &mut b);
                }
                return;
            }
        };
        if n2 == 1 {
            if let Some(d) = cc.dc.get_mut(idx) {
                if self.pass == Pass::DcFirst {
                    *d = dc_value;
                } else {
                    *d |= dc_value;
                }
            }
        } else if let Some(g) = cc.folded.get_mut(idx * n2) {
            // Both DC passes add (a refinement bit is never already set).
            *g += f32::from(dc_value) * f32::from(q[0]);
        }
    }

    fn restart(&mut self) {
        self.preds = [0; 4];
        self.eobrun = 0;
    }

    fn skippable(&self) -> usize {
        if self.pass == Pass::AcFirst {
            self.eobrun as usize
        } else {
            0
        }
    }

    fn skip(&mut self, n: usize) {
        self.eobrun = self.eobrun.saturating_sub(n as u32);
    }
}

/// First scan of an AC band (G.1.2.2): coefficients `<< al`, EOB runs.
#[inline]
fn ac_first(
    r: &mut BitReader,
    t: &HuffTable,
    (ss, se, al): (usize, usize, u32),
    eobrun: &mut u32,
    b: &mut BlockRef,
) {
    if *eobrun > 0 {
        *eobrun -= 1;
        return;
    }
    let mut k = ss;
    while k <= se {
        r.ensure(32);
        let (sym, v) = t.decode_ac(r);
        let run = (sym >> 4) as usize;
        if sym & 15 == 0 {
            if run < 15 {
                *eobrun = (1u32 << run) - 1 + r.get_bits(run as u32);
                return;
            }
            k += 16;
            continue;
        }
        k += run;
        if k > se {
            return;
        }
        b.set(k, v.wrapping_shl(al) as i16);
        k += 1;
    }
}

/// Refinement scan of an AC band (G.1.2.3): one correction bit per
/// already-nonzero coefficient, new coefficients of magnitude `1 << al`.
#[inline]
fn ac_refine(
    r: &mut BitReader,
    t: &HuffTable,
    (ss, se, al): (usize, usize, u32),
    eobrun: &mut u32,
    b: &mut BlockRef,
) {
    let p1 = 1i32 << al;
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            r.ensure(32);
            let sym = u32::from(t.decode(r));
            let mut run = sym >> 4;
            let mut val = 0i32;
            if sym & 15 != 0 {
                val = if r.get_bit() { p1 } else { -p1 };
            } else if run != 15 {
                *eobrun = (1u32 << run) + r.get_bits(run);
                break;
            }
            // Skip `run` still-zero coefficients, refining nonzero ones.
            while k <= se {
                if *b.nonzero & (1u64 << k) != 0 {
                    if r.get_bit() {
                        b.refine(k, p1);
                    }
                } else {
                    if run == 0 {
                        break;
                    }
                    run -= 1;
                }
                k += 1;
            }
            if val != 0 && k <= se {
                b.set(k, val as i16);
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        // Rest of the band in an EOB run: only correction bits remain.
        let mut pending = *b.nonzero & band_mask(k, se);
        while pending != 0 {
            let k = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            if r.get_bit() {
                b.refine(k, p1);
            }
        }
        *eobrun -= 1;
    }
}

/// Bits `from..=to` (to <= 63) set; empty if `from > to`.
#[inline(always)]
fn band_mask(from: usize, to: usize) -> u64 {
    if from > to || from > 63 {
        return 0;
    }
    let hi = if to >= 63 {
        u64::MAX
    } else {
        (1u64 << (to + 1)) - 1
    };
    hi & !((1u64 << from) - 1)
}

#[cfg(test)]
mod tests {
    use super::band_mask;

    #[test]
    fn band_masks() {
        assert_eq!(band_mask(0, 63), u64::MAX);
        assert_eq!(band_mask(1, 1), 2);
        assert_eq!(band_mask(5, 4), 0);
        assert_eq!(band_mask(64, 63), 0);
        assert_eq!(band_mask(62, 63), 3 << 62);
    }
}
