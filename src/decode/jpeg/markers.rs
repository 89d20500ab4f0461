//! Marker segment parsing.
//!
//! Owns the JPEG syntax outside entropy-coded data: walking marker segments,
//! skipping entropy-coded segments to the next marker, and parsing SOF, SOS,
//! DQT, DRI, APP0 (JFIF) and APP14 (Adobe) payloads into plain structures,
//! and recognising APP1 Exif payloads (whose TIFF contents `super::super::exif`
//! parses; APP2 ICC chunks are `super::icc`'s).
//! DHT payloads are handed to [`super::huffman`].
//!
//! Must not touch: entropy-coded data beyond finding where it ends.

use super::JpegError;

/// Start of image.
pub(super) const SOI: u8 = 0xD8;
/// End of image.
pub(super) const EOI: u8 = 0xD9;
/// Start of scan.
pub(super) const SOS: u8 = 0xDA;
/// Define quantization tables.
pub(super) const DQT: u8 = 0xDB;
/// Define number of lines.
pub(super) const DNL: u8 = 0xDC;
/// Define restart interval.
pub(super) const DRI: u8 = 0xDD;
/// Define Huffman tables.
pub(super) const DHT: u8 = 0xC4;
/// Define arithmetic coding conditioning.
pub(super) const DAC: u8 = 0xCC;
/// Define hierarchical progression.
pub(super) const DHP: u8 = 0xDE;
/// Expand reference components (hierarchical).
pub(super) const EXP: u8 = 0xDF;

/// True for the marker codes that start a frame (SOF0-3, 5-7, 9-11, 13-15).
pub(super) fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, DHT | 0xC8 | DAC)
}

/// How an APP1 payload that holds Exif data starts; the TIFF block follows.
pub(super) const EXIF_HEADER: &[u8] = b"Exif\0\0";

fn corrupt(msg: &str) -> JpegError {
    JpegError::Corrupt(msg.to_string())
}

/// Position of the next marker at or after `from`: the index of the `0xFF`
/// byte directly before a marker code that is not `0x00` (stuffing), not
/// RST0-7 and not `0xFF` (fill). Returns `data.len()` if there is none.
pub(super) fn find_marker(data: &[u8], from: usize) -> usize {
    find_marker_impl(data, from, true)
}

/// Like [`find_marker`] but also stops at RST0-7.
pub(super) fn find_marker_or_rst(data: &[u8], from: usize) -> usize {
    find_marker_impl(data, from, false)
}

#[inline]
fn find_marker_impl(data: &[u8], from: usize, skip_rst: bool) -> usize {
    let mut i = from;
    loop {
        let Some(ff) = find_ff(data, i) else {
            return data.len();
        };
        match data.get(ff + 1) {
            None => return data.len(),
            Some(0x00) => i = ff + 2,
            Some(0xD0..=0xD7) if skip_rst => i = ff + 2,
            Some(0xFF) => i = ff + 1,
            Some(_) => return ff,
        }
    }
}

/// Index of the first 0xFF byte at or after `from` (SIMD where the CPU has it).
#[inline]
fn find_ff(data: &[u8], from: usize) -> Option<usize> {
    let tail = data.get(from..)?;
    memchr::memchr(0xFF, tail).map(|p| from + p)
}

/// Walks the marker segments of a JPEG file.
pub(super) struct Parser<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Parser<'a> {
    /// Checks the SOI marker and positions after it.
    pub(super) fn new(data: &'a [u8]) -> Result<Self, JpegError> {
        if data.len() < 2 || data[0] != 0xFF || data[1] != SOI {
            return Err(corrupt("not a JPEG file (no SOI marker)"));
        }
        Ok(Parser { data, pos: 2 })
    }

    /// The next marker code, skipping fill bytes and (leniently) any garbage
    /// before it. `None` at the end of the data.
    pub(super) fn next_marker(&mut self) -> Option<u8> {
        let m = find_marker(self.data, self.pos);
        let code = *self.data.get(m + 1)?;
        self.pos = m + 2;
        Some(code)
    }

    /// Reads the length-prefixed payload of the current marker segment.
    pub(super) fn segment(&mut self) -> Result<&'a [u8], JpegError> {
        let hdr = self
            .data
            .get(self.pos..self.pos + 2)
            .ok_or_else(|| corrupt("truncated marker segment"))?;
        let len = usize::from(u16::from_be_bytes([hdr[0], hdr[1]]));
        if len < 2 {
            return Err(corrupt("bad marker segment length"));
        }
        let payload = self
            .data
            .get(self.pos + 2..self.pos + len)
            .ok_or_else(|| corrupt("truncated marker segment"))?;
        self.pos += len;
        Ok(payload)
    }
}

/// A frame component (from SOF) with its derived block geometry.
#[derive(Clone, Debug)]
pub(super) struct Component {
    pub(super) id: u8,
    /// Horizontal sampling factor (normalised to 1 for 1-component frames).
    pub(super) h: usize,
    /// Vertical sampling factor (normalised to 1 for 1-component frames).
    pub(super) v: usize,
    /// Quantization table selector.
    pub(super) tq: usize,
    /// Blocks per row including MCU padding (the storage width).
    pub(super) bw: usize,
    /// Block rows including MCU padding.
    pub(super) bh: usize,
    /// Blocks per row covered by a non-interleaved scan.
    pub(super) bw_scan: usize,
    /// Block rows covered by a non-interleaved scan.
    pub(super) bh_scan: usize,
}

/// Parsed SOF segment.
#[derive(Clone, Debug)]
pub(super) struct Frame {
    /// SOF marker code (0xC0..=0xCF).
    pub(super) sof: u8,
    pub(super) precision: u8,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) comps: Vec<Component>,
    /// Sampling factors as written in the file (before normalisation).
    pub(super) raw_sampling: [(u8, u8); 4],
    pub(super) hmax: usize,
    pub(super) vmax: usize,
    /// MCUs per row / column of an interleaved scan.
    pub(super) mcux: usize,
    pub(super) mcuy: usize,
}

impl Frame {
    /// A frame of `width x height` with components `(id, h, v, tq)` (sampling
    /// factors as written; normalised to 1x1 for a single component, as in
    /// libjpeg), with every derived block count.
    pub(super) fn new(
        sof: u8,
        precision: u8,
        width: usize,
        height: usize,
        comps: &[(u8, u8, u8, u8)],
    ) -> Frame {
        let mut raw_sampling = [(0u8, 0u8); 4];
        let single = comps.len() == 1;
        let mut out: Vec<Component> = Vec::with_capacity(comps.len());
        for (i, &(id, h, v, tq)) in comps.iter().enumerate() {
            if let Some(r) = raw_sampling.get_mut(i) {
                *r = (h, v);
            }
            let (h, v) = if single {
                (1, 1)
            } else {
                (usize::from(h.max(1)), usize::from(v.max(1)))
            };
            out.push(Component {
                id,
                h,
                v,
                tq: usize::from(tq),
                bw: 0,
                bh: 0,
                bw_scan: 0,
                bh_scan: 0,
            });
        }
        let hmax = out.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = out.iter().map(|c| c.v).max().unwrap_or(1);
        let mcux = div_ceil(width, 8 * hmax);
        let mcuy = div_ceil(height, 8 * vmax);
        for c in &mut out {
            c.bw = mcux * c.h;
            c.bh = mcuy * c.v;
            c.bw_scan = div_ceil(div_ceil(width * c.h, hmax), 8);
            c.bh_scan = div_ceil(div_ceil(height * c.v, vmax), 8);
        }
        Frame {
            sof,
            precision,
            width,
            height,
            comps: out,
            raw_sampling,
            hmax,
            vmax,
            mcux,
            mcuy,
        }
    }

    /// True for SOF2 (progressive Huffman).
    pub(super) fn progressive(&self) -> bool {
        self.sof == 0xC2
    }

    /// True for the Huffman-coded DCT frames (SOF0, SOF1, SOF2), the ones
    /// whose blocks need at least one bit each.
    pub(super) fn huffman_dct(&self) -> bool {
        matches!(self.sof, 0xC0..=0xC2)
    }

    /// Blocks of all components inside the image (what non-interleaved
    /// scans cover; no MCU padding).
    pub(super) fn blocks(&self) -> u64 {
        self.comps
            .iter()
            .map(|c| c.bw_scan as u64 * c.bh_scan as u64)
            .sum()
    }

    /// Blocks of all components including MCU padding (what interleaved
    /// scans cover and what the decoder stores).
    pub(super) fn padded_blocks(&self) -> u64 {
        self.comps.iter().map(|c| c.bw as u64 * c.bh as u64).sum()
    }

    /// Why this decoder cannot decode the frame, if it cannot: valid JPEG
    /// features it does not implement. Decided from the SOF alone.
    pub(super) fn unsupported_reason(&self) -> Option<&'static str> {
        match self.sof {
            0xC0..=0xC2 => {}
            0xC3 => return Some("lossless JPEG"),
            0xC5..=0xC7 => return Some("hierarchical JPEG"),
            0xC9..=0xCB | 0xCD..=0xCF => return Some("arithmetic coding"),
            _ => return Some("unknown frame type"),
        }
        if self.precision == 12 {
            return Some("12-bit sample precision");
        }
        if self.height == 0 {
            return Some("height defined by a DNL marker");
        }
        if self.comps.len() == 2 {
            return Some("2-component JPEG");
        }
        None
    }
}

fn div_ceil(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

/// Parses a SOF payload. Structural errors are `Corrupt`; whether the frame
/// is decodable is decided later by [`Frame::unsupported_reason`].
pub(super) fn parse_sof(sof: u8, p: &[u8]) -> Result<Frame, JpegError> {
    if p.len() < 6 {
        return Err(corrupt("truncated SOF"));
    }
    let precision = p[0];
    let height = usize::from(u16::from_be_bytes([p[1], p[2]]));
    let width = usize::from(u16::from_be_bytes([p[3], p[4]]));
    let n = usize::from(p[5]);
    if width == 0 {
        return Err(corrupt("zero image width"));
    }
    if n == 0 || n > 4 {
        return Err(corrupt("bad component count"));
    }
    // DCT frames: 8 or 12 bits (lossless frames, unsupported, allow 2..=16).
    if sof != 0xC3 && sof != 0xC7 && sof != 0xCB && sof != 0xCF && !matches!(precision, 8 | 12) {
        return Err(corrupt("bad sample precision"));
    }
    let body = p
        .get(6..6 + 3 * n)
        .ok_or_else(|| corrupt("truncated SOF"))?;
    let mut comps: Vec<(u8, u8, u8, u8)> = Vec::with_capacity(n);
    for c in body.chunks_exact(3) {
        let (h, v) = (c[1] >> 4, c[1] & 15);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(corrupt("bad sampling factors"));
        }
        if c[2] > 3 {
            return Err(corrupt("bad quantization table selector"));
        }
        if comps.iter().any(|o| o.0 == c[0]) {
            return Err(corrupt("duplicate component id"));
        }
        comps.push((c[0], h, v, c[2]));
    }
    Ok(Frame::new(sof, precision, width, height, &comps))
}

/// One component of a scan.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ScanComp {
    /// Index into [`Frame::comps`].
    pub(super) index: usize,
    /// DC Huffman table selector.
    pub(super) td: usize,
    /// AC Huffman table selector.
    pub(super) ta: usize,
}

/// Parsed SOS header.
#[derive(Clone, Debug)]
pub(super) struct ScanHeader {
    pub(super) comps: [ScanComp; 4],
    pub(super) ns: usize,
    /// Spectral selection start / end (zig-zag indices).
    pub(super) ss: usize,
    pub(super) se: usize,
    /// Successive approximation high / low bit positions.
    pub(super) ah: u32,
    pub(super) al: u32,
}

impl ScanHeader {
    /// The scan's components.
    pub(super) fn comps(&self) -> &[ScanComp] {
        &self.comps[..self.ns]
    }
}

/// Parses an SOS payload against the frame.
pub(super) fn parse_sos(p: &[u8], frame: &Frame) -> Result<ScanHeader, JpegError> {
    let ns = usize::from(*p.first().ok_or_else(|| corrupt("truncated SOS"))?);
    if ns == 0 || ns > 4 || ns > frame.comps.len() {
        return Err(corrupt("bad scan component count"));
    }
    let body = p
        .get(1..1 + 2 * ns + 3)
        .ok_or_else(|| corrupt("truncated SOS"))?;
    let mut comps = [ScanComp::default(); 4];
    for (i, c) in body[..2 * ns].chunks_exact(2).enumerate() {
        let index = frame
            .comps
            .iter()
            .position(|fc| fc.id == c[0])
            .ok_or_else(|| corrupt("scan references unknown component"))?;
        if comps[..i].iter().any(|o| o.index == index) {
            return Err(corrupt("component repeated in scan"));
        }
        let (td, ta) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
        if td > 3 || ta > 3 {
            return Err(corrupt("bad Huffman table selector"));
        }
        comps[i] = ScanComp { index, td, ta };
    }
    let t = &body[2 * ns..];
    let (ss, se) = (usize::from(t[0]), usize::from(t[1]));
    let (ah, al) = (u32::from(t[2] >> 4), u32::from(t[2] & 15));
    if frame.progressive() {
        let ok = if ss == 0 {
            se == 0
        } else {
            ss <= se && se <= 63 && ns == 1
        };
        if !ok || ah > 13 || al > 13 {
            return Err(corrupt("bad progressive scan parameters"));
        }
    }
    // Sequential scans: libjpeg ignores Ss/Se/Ah/Al, so do we.
    Ok(ScanHeader {
        comps,
        ns,
        ss,
        se,
        ah,
        al,
    })
}

/// Parses a DQT payload into `tables` (zig-zag order, u16 entries).
pub(super) fn parse_dqt(
    mut p: &[u8],
    tables: &mut [Option<[u16; 64]>; 4],
) -> Result<(), JpegError> {
    while let Some((&pq_tq, rest)) = p.split_first() {
        let (pq, tq) = (pq_tq >> 4, usize::from(pq_tq & 15));
        if pq > 1 || tq > 3 {
            return Err(corrupt("bad DQT"));
        }
        let n = if pq == 0 { 64 } else { 128 };
        let vals = rest.get(..n).ok_or_else(|| corrupt("truncated DQT"))?;
        let mut t = [0u16; 64];
        for (i, q) in t.iter_mut().enumerate() {
            *q = if pq == 0 {
                u16::from(vals[i])
            } else {
                u16::from_be_bytes([vals[2 * i], vals[2 * i + 1]])
            };
        }
        tables[tq] = Some(t);
        p = &rest[n..];
    }
    Ok(())
}

/// Parses a DRI payload: the restart interval in MCUs (0 = none).
pub(super) fn parse_dri(p: &[u8]) -> Result<usize, JpegError> {
    match p {
        [a, b, ..] => Ok(usize::from(u16::from_be_bytes([*a, *b]))),
        _ => Err(corrupt("truncated DRI")),
    }
}

/// True if an APP0 payload is a JFIF header.
pub(super) fn is_jfif(p: &[u8]) -> bool {
    p.starts_with(b"JFIF\0")
}

/// The colour transform byte of an Adobe APP14 payload, if it is one.
pub(super) fn adobe_transform(p: &[u8]) -> Option<u8> {
    if p.starts_with(b"Adobe") && p.len() >= 12 {
        Some(p[11])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_marker_skips_stuffing_rst_and_fill() {
        let d = [
            1, 2, 0xFF, 0, 3, 0xFF, 0xD3, 4, 5, 6, 7, 8, 9, 0xFF, 0xFF, 0xD9,
        ];
        assert_eq!(find_marker(&d, 0), 14);
        assert_eq!(find_marker(&d[..15], 0), 15);
        assert_eq!(find_marker(&[], 0), 0);
        assert_eq!(find_marker(&d, 100), 16);
        assert_eq!(find_marker_or_rst(&d, 0), 5);
    }
}
