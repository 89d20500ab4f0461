//! MCU iteration for one scan, shared by the sequential and progressive
//! decoders.
//!
//! Owns the order in which blocks appear in an entropy-coded segment
//! (interleaved MCUs or the raster of a single component), restart-interval
//! handling, and libjpeg-style leniency: once the data of a restart interval
//! is exhausted, the remaining MCUs of that interval are not decoded (their
//! blocks keep their previous / zero coefficients, i.e. mid-gray).
//!
//! Must not touch: what a block decode does (the sinks) or the bit-level reading (`bits`).

use super::bits::BitReader;
use super::markers::{Frame, ScanHeader};

/// Receives the blocks of a scan in bitstream order.
pub(super) trait BlockSink {
    /// Decodes the next block, belonging to scan component `slot`, at block
    /// coordinates (`bx`, `by`) of that component.
    fn block(&mut self, r: &mut BitReader, slot: usize, bx: usize, by: usize);
    /// Resets DC predictions and EOB runs after a restart marker.
    fn restart(&mut self);
}

/// Block layout of a scan.
pub(super) struct ScanGeom {
    ns: usize,
    /// Blocks per MCU (h, v) of each scan component.
    hv: [(usize, usize); 4],
    mcux: usize,
    mcuy: usize,
}

impl ScanGeom {
    /// Layout of `scan` in `frame`: interleaved MCUs for several components,
    /// one block per MCU over the component's own extent for one.
    pub(super) fn new(frame: &Frame, scan: &ScanHeader) -> Self {
        let mut hv = [(1, 1); 4];
        let comps = scan.comps();
        if let [one] = comps {
            let c = &frame.comps[one.index];
            return ScanGeom {
                ns: 1,
                hv,
                mcux: c.bw_scan,
                mcuy: c.bh_scan,
            };
        }
        for (d, sc) in hv.iter_mut().zip(comps) {
            let c = &frame.comps[sc.index];
            *d = (c.h, c.v);
        }
        ScanGeom {
            ns: comps.len(),
            hv,
            mcux: frame.mcux,
            mcuy: frame.mcuy,
        }
    }
}

/// Decodes the entropy-coded segment starting at `data[start..]` into
/// `sink`. Returns the byte position where reading stopped (the next
/// marker is at or after it).
pub(super) fn run_scan<S: BlockSink>(
    data: &[u8],
    start: usize,
    geom: &ScanGeom,
    restart_interval: usize,
    sink: &mut S,
) -> usize {
    let mut r = BitReader::new(data, start);
    let mut todo = restart_interval;
    let mut skipping = false;
    for my in 0..geom.mcuy {
        for mx in 0..geom.mcux {
            if restart_interval != 0 {
                if todo == 0 {
                    r.restart();
                    sink.restart();
                    skipping = r.overrun();
                    todo = restart_interval;
                }
                todo -= 1;
            } else if skipping {
                // No restart markers: nothing more can be decoded.
                return r.position();
            }
            if skipping {
                continue;
            }
            for (slot, &(h, v)) in geom.hv[..geom.ns].iter().enumerate() {
                for y in 0..v {
                    for x in 0..h {
                        sink.block(&mut r, slot, mx * h + x, my * v + y);
                    }
                }
            }
            skipping = r.overrun();
        }
    }
    r.position()
}
