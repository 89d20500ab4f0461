//! MCU iteration for one scan, shared by the sequential and progressive
//! decoders, and the work it costs.
//!
//! Owns the order in which blocks appear in an entropy-coded segment
//! (interleaved MCUs or the raster of a single component), restart-interval
//! handling, libjpeg-style leniency and the bounds on work:
//!
//! * once the data of a restart interval is exhausted, the rest of that
//!   interval is skipped in one step (its blocks keep their previous / zero
//!   coefficients, i.e. mid-gray); without restart markers the scan ends;
//! * at each interval boundary the next marker must be the expected
//!   `RSTn` (n counting 0..7 from the start of the scan): a wrong or missing
//!   one ends the scan, there is no resynchronisation by walking MCUs;
//! * blocks a progressive sink can pass over without reading bits (an AC
//!   band inside an EOB run) are skipped in one step;
//! * every block decoded costs one unit of [`Work`], every skip one unit,
//!   and a scan that would exceed the budget fails with `Corrupt`.
//!
//! Must not touch: what a block means (the sinks), marker segments.

use super::JpegError;
use super::bits::BitReader;
use super::markers::{Frame, ScanHeader};

/// Receives the blocks of a scan in bitstream order.
pub(super) trait BlockSink {
    /// Decodes the next block, belonging to scan component `slot`, at block
    /// coordinates (`bx`, `by`) of that component.
    fn block(&mut self, r: &mut BitReader, slot: usize, bx: usize, by: usize);
    /// Resets DC predictions and EOB runs after a restart marker.
    fn restart(&mut self);
    /// How many of the next blocks (of a single-component scan) would read
    /// no bits and change nothing: an EOB run of a first AC scan.
    fn skippable(&self) -> usize {
        0
    }
    /// Passes over `n <= skippable()` blocks.
    fn skip(&mut self, _n: usize) {}
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

    /// Blocks the scan covers if it runs to the end.
    pub(super) fn blocks(&self) -> u64 {
        let per_mcu: usize = self.hv[..self.ns].iter().map(|&(h, v)| h * v).sum();
        self.mcux as u64 * self.mcuy as u64 * per_mcu as u64
    }
}

/// Block-decode units spent so far and the most a frame may spend.
#[derive(Debug, Clone, Copy)]
pub(super) struct Work {
    pub(super) spent: u64,
    pub(super) limit: u64,
}

impl Work {
    /// Adds `n` units; `Corrupt` once the limit is passed.
    #[inline]
    pub(super) fn charge(&mut self, n: u64) -> Result<(), JpegError> {
        self.spent += n;
        if self.spent > self.limit {
            return Err(JpegError::Corrupt(
                "too much entropy-decoding work for the frame size".into(),
            ));
        }
        Ok(())
    }
}

/// Decodes the entropy-coded segment starting at `data[start..]` into
/// `sink`, charging `work`. Returns the byte position where reading stopped
/// (the next marker is at or after it).
pub(super) fn run_scan<S: BlockSink>(
    data: &[u8],
    start: usize,
    geom: &ScanGeom,
    restart_interval: usize,
    sink: &mut S,
    work: &mut Work,
) -> Result<usize, JpegError> {
    let mut r = BitReader::new(data, start);
    let total = geom.mcux * geom.mcuy;
    let interval = if restart_interval == 0 {
        total.max(1)
    } else {
        restart_interval
    };
    let per_mcu: usize = geom.hv[..geom.ns].iter().map(|&(h, v)| h * v).sum();
    let mut next_rst = 0u8;
    let mut m = 0usize;
    while m < total {
        if m > 0 {
            // Start of a new restart interval: its marker must come next.
            if !r.restart(next_rst) {
                return Ok(r.position());
            }
            next_rst = (next_rst + 1) & 7;
            sink.restart();
        }
        let end = m.saturating_add(interval).min(total);
        while m < end {
            if geom.ns == 1 {
                let n = sink.skippable().min(end - m);
                if n > 0 {
                    work.charge(1)?;
                    sink.skip(n);
                    m += n;
                    continue;
                }
            }
            work.charge(per_mcu as u64)?;
            let (mx, my) = (m % geom.mcux, m / geom.mcux);
            for (slot, &(h, v)) in geom.hv[..geom.ns].iter().enumerate() {
                for y in 0..v {
                    for x in 0..h {
                        sink.block(&mut r, slot, mx * h + x, my * v + y);
                    }
                }
            }
            m += 1;
            if r.overrun() {
                // The interval's data is exhausted: skip the rest of it.
                if restart_interval == 0 {
                    return Ok(r.position());
                }
                m = end;
            }
        }
    }
    Ok(r.position())
}
