//! The bounds a hostile JPEG meets: the data-size rule, the work budget,
//! [`preflight`] (a cheap structural check before handing a file to a full
//! decoder) and [`estimate_peak`] (the reduced decode's memory).
//!
//! Owns the constants and formulas of those bounds. Must not touch:
//! decoding itself; the decoder (`super::decoder`, `super::scan`) applies
//! the rule and charges the budget defined here, and [`estimate_peak`]
//! mirrors the decoder's allocations (keep them in step).

use super::layout::layout;
use super::markers::{self, Frame, Parser, find_marker};
use super::scan::ScanGeom;
use super::{JpegError, JpegInfo, corrupt, read_info};

/// Upper bound on scans per file (real progressive files have about 10).
/// The work budget bounds the cost of scans; this bounds their count, so
/// the per-scan setup cost stays small too.
pub(super) const MAX_SCANS: u32 = 1000;

/// Work units a frame may spend per (MCU-padded) block, summed over all its
/// scans. A unit is one block decoded or one skip (an exhausted restart
/// interval, an EOB run of a first AC scan). libjpeg's default progressive
/// script visits a luma block 6 times and a chroma block 4 times, EOB runs
/// included; mozjpeg's and jpegtran's scripts stay near 10 scans in all;
/// sequential files visit each block once. 32 leaves room for unusual
/// valid scripts (zune-jpeg itself refuses more than 100 progressive scans)
/// and makes a scan bomb cost about 32 block decodes per block of a frame
/// the data-size rule already tied to the file size.
pub(super) const WORK_PER_BLOCK: u64 = 32;

/// Work any frame may spend, so tiny images with many scans still decode.
pub(super) const WORK_FLOOR: u64 = 1 << 16;

/// The most work units a decode of `frame` may spend over all its scans.
pub(super) fn work_limit(frame: &Frame) -> u64 {
    frame
        .padded_blocks()
        .saturating_mul(WORK_PER_BLOCK)
        .saturating_add(WORK_FLOOR)
}

/// The data-size rule: a Huffman-coded frame needs at least one bit per
/// block of each component (its first DC code), so `present` bytes of scan
/// data (counted from the first scan's data to the end of the file) must
/// be at least `blocks / 8`. Frames of other kinds (arithmetic coding can
/// code a block in less than a bit) are not checked.
pub(super) fn check_data(frame: &Frame, present: usize) -> Result<(), JpegError> {
    if !frame.huffman_dct() {
        return Ok(());
    }
    if present == 0 {
        return Err(corrupt("no image data"));
    }
    if (present as u64).saturating_mul(8) < frame.blocks() {
        return Err(JpegError::Corrupt(format!(
            "{} bytes of scan data cannot hold {}x{} pixels ({} blocks need at least {} bytes)",
            present,
            frame.width,
            frame.height,
            frame.blocks(),
            frame.blocks().div_ceil(8)
        )));
    }
    Ok(())
}

/// Checks the whole marker structure of `data` without decoding anything,
/// so a caller can refuse a file before a full decoder allocates its
/// declared size or loops over empty scans. Linear in `data.len()` (it
/// searches the entropy-coded data for markers), allocates nothing but the
/// result.
///
/// `Ok(info)` when the file has a frame this module supports, at least one
/// scan, at least one bit of entropy-coded data per block (counting only
/// bytes inside scans, stricter than [`read_info`]), at most `MAX_SCANS`
/// (1000) scans, and scans whose blocks, added up as if each ran to the
/// end, stay within the work budget (`32` per padded block plus 65,536):
/// the same budget the reduced decoder enforces on the work it really does,
/// and a bound on what a full decoder that visits every block of every scan
/// (zune-jpeg does) would do. `Unsupported` for the valid features named by
/// [`super::unsupported_feature`]; `Corrupt` otherwise.
pub(crate) fn preflight(data: &[u8]) -> Result<JpegInfo, JpegError> {
    let info = read_info(data)?;
    if let Some(reason) = info.unsupported {
        return Err(JpegError::Unsupported(reason.into()));
    }
    let mut p = Parser::new(data)?;
    let mut frame: Option<Frame> = None;
    let mut scans = 0u32;
    let mut covered = 0u64;
    let mut entropy = 0usize;
    while let Some(m) = p.next_marker() {
        match m {
            _ if markers::is_sof(m) => {
                if frame.is_some() {
                    return Err(corrupt("more than one frame"));
                }
                frame = Some(markers::parse_sof(m, p.segment()?)?);
            }
            markers::SOS => {
                let f = frame
                    .as_ref()
                    .ok_or_else(|| corrupt("scan before frame header"))?;
                let scan = markers::parse_sos(p.segment()?, f)?;
                scans += 1;
                if scans > MAX_SCANS {
                    return Err(corrupt("too many scans"));
                }
                covered = covered.saturating_add(ScanGeom::new(f, &scan).blocks());
                if covered > work_limit(f) {
                    return Err(corrupt("too many scans for the frame size"));
                }
                let end = find_marker(data, p.pos);
                entropy += end - p.pos;
                p.pos = end;
            }
            markers::DNL => {
                return Err(JpegError::Unsupported(
                    "height defined by a DNL marker".into(),
                ));
            }
            markers::DAC => return Err(JpegError::Unsupported("arithmetic coding".into())),
            markers::EOI => break,
            markers::SOI | 0xD0..=0xD7 | 0x01 => {}
            _ => {
                p.segment()?;
            }
        }
    }
    let f = frame.ok_or_else(|| corrupt("no frame header"))?;
    check_data(&f, entropy)?;
    Ok(info)
}

/// Heap bytes of one Huffman table (four 1024-entry lookups, 12 KiB, plus
/// up to 256 symbols).
const TABLE_BYTES: u64 = 2 * 1024 + 4 * 1024 + 2 * 1024 + 4 * 1024 + 256;

/// Tables and small buffers: at most 8 Huffman tables live, plus one being
/// built to replace another, plus per-scan slots and layouts.
pub(super) const FIXED_BYTES: u64 = 9 * TABLE_BYTES + 8 * 1024;

/// Upper bound on the bytes a [`super::decode_reduced`] of a file with
/// header `info` at scale `1/denom` allocates at its peak, the returned
/// RGB8 image included: the reduced planes (1 byte per output sample,
/// MCU-padded), for progressive files the coefficient store (2 bytes per
/// block at 1/8, `4 n + 16` bytes per block with `n` output samples per
/// block otherwise, alive together with the planes while they are built),
/// the `width * height * 3` output with its row buffers, and the Huffman
/// tables. Computed from the header alone; `u64::MAX` for a `denom` other
/// than 2, 4 or 8 (which the decoder refuses).
pub(crate) fn estimate_peak(info: &JpegInfo, denom: u8) -> u64 {
    let bs: usize = match denom {
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return u64::MAX,
    };
    let n = usize::from(info.components.clamp(1, 4));
    let comps: Vec<(u8, u8, u8, u8)> = info.sampling[..n]
        .iter()
        .enumerate()
        .map(|(i, &(h, v))| (i as u8, h.max(1), v.max(1), 0))
        .collect();
    let frame = Frame::new(
        info.sof_marker,
        info.precision,
        info.width as usize,
        info.height as usize,
        &comps,
    );
    let out_w = info.width.div_ceil(u32::from(denom)) as u64;
    let out_h = info.height.div_ceil(u32::from(denom)) as u64;
    let dc_only = info.progressive && bs == 1;
    let lay = layout(&frame, bs, dc_only);
    let mut planes = 0u64;
    let mut store = 0u64;
    let mut widest = 0u64;
    for (c, l) in frame.comps.iter().zip(&lay) {
        let stride = (c.bw * l.nh) as u64;
        widest = widest.max(stride);
        planes = planes.saturating_add(stride.saturating_mul((c.bh * l.nv) as u64));
        let blocks = c.bw as u64 * c.bh as u64;
        let per_block = match l.nh * l.nv {
            1 => 2,
            k => 4 * k as u64 + 16,
        };
        store = store.saturating_add(blocks.saturating_mul(per_block));
    }
    let rgb = out_w.saturating_mul(out_h).saturating_mul(3);
    // Row buffers (one per component) and the upsampler's column sums
    // (u16, grown by a Vec, so up to twice their length).
    let scratch = (n as u64).saturating_mul(out_w) + 4 * (widest + 2);
    let finish = planes.saturating_add(rgb).saturating_add(scratch);
    let peak = if info.progressive {
        finish.max(store.saturating_add(planes))
    } else {
        finish
    };
    peak.saturating_add(FIXED_BYTES)
}
