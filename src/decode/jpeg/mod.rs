//! Reduced-size JPEG decoding for thumbnails.
//!
//! Owns: the reduced decoder's entry points (`read_info`, `scale_for`, `decode_reduced`) and
//! how its files fit together. This file is over 500 lines because the frame set-up and the
//! two decode drivers (sequential, progressive) share one set of private structures.
//! Must not touch: anything outside `decode/jpeg`; callers choose when to use it.
//!
//! Decodes a JPEG straight to 1/2, 1/4 or 1/8 of its size per dimension,
//! doing far less work and using far less memory than a full decode:
//!
//! * sequential files (SOF0/SOF1) are Huffman-decoded block by block; each
//!   block's coefficients are folded into a 1x1, 2x2 or 4x4 scaled IDCT
//!   (the exact box average of the full 8x8 IDCT, see `idct`) whose pixels
//!   go into reduced-size component planes; no full-size buffer exists;
//! * progressive files (SOF2) at 1/8 decode only their DC scans and skip
//!   every AC scan by searching for the next marker; at 1/4 and 1/2 they are
//!   decoded fully into a per-block store of folded coefficients plus
//!   nonzero/sign masks (32 or 80 bytes per block instead of 128);
//! * subsampled chroma gets a larger scaled IDCT instead of upsampling where
//!   possible (up to 4 pixels per block side); the rest (chroma at 1/2, and
//!   all chroma in DC-only decoding) is upsampled at the reduced size with
//!   libjpeg's fancy filters; YCbCr -> RGB uses libjpeg's arithmetic.
//!
//! Anything else (arithmetic coding, lossless, hierarchical, 12-bit, CMYK,
//! unusual sampling factors, DNL) is [`JpegError::Unsupported`]: the caller
//! falls back to a full decoder. Only `std` is used, no `unsafe`, no
//! threads; malformed input never panics, and allocations are bounded by the
//! frame size declared in SOF (which [`read_info`] reports cheaply first).
//!
//! Files: `markers` (segment syntax), `huffman` (tables, block-level AC
//! decoding), `bits` (bit reader), `scan` (MCU order, restarts, leniency),
//! `baseline` and `progressive` (scan decoders), `idct` (scaled IDCTs),
//! `color` (upsampling, RGB), `tests`. [`read_info`] also reports where the
//! APP1 Exif block is; `super::exif` parses it.

mod baseline;
mod bits;
mod color;
mod huffman;
mod idct;
mod markers;
mod progressive;
mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

use baseline::{SeqSink, SeqSlot};
use color::{Plane, Transform};
use huffman::HuffTable;
use markers::{Frame, Parser, ScanHeader, find_marker};
use progressive::{CoefStore, Pass, ProgSink, ProgSlot};
use scan::{ScanGeom, run_scan};

/// Why a JPEG could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JpegError {
    /// A valid JPEG this decoder does not handle (arithmetic coding,
    /// lossless, hierarchical, 12-bit, CMYK/YCCK, unusual sampling, DNL):
    /// decode it with a full decoder instead.
    Unsupported(String),
    /// Malformed data.
    Corrupt(String),
}

impl fmt::Display for JpegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JpegError::Unsupported(m) => write!(f, "unsupported JPEG: {m}"),
            JpegError::Corrupt(m) => write!(f, "corrupt JPEG: {m}"),
        }
    }
}

impl std::error::Error for JpegError {}

fn corrupt(msg: &str) -> JpegError {
    JpegError::Corrupt(msg.to_string())
}

/// Colour space of the components, as the markers tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorSpace {
    /// One component.
    Gray,
    /// Three components, YCbCr (JFIF, or the default guess).
    YCbCr,
    /// Three components stored as RGB (Adobe transform 0, or ids 'R','G','B').
    Rgb,
    /// Four components, CMYK (Adobe transform 0 or no Adobe marker).
    Cmyk,
    /// Four components, YCCK (Adobe transform 2).
    Ycck,
    /// Any other component count.
    Unknown,
}

/// Header information, from the markers up to and including SOF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JpegInfo {
    /// Image width in pixels.
    pub(crate) width: u32,
    /// Image height in pixels (0 if defined later by a DNL marker).
    pub(crate) height: u32,
    /// Number of components (1 = gray, 3 = colour, 4 = CMYK/YCCK).
    pub(crate) components: u8,
    /// True for progressive Huffman (SOF2).
    pub(crate) progressive: bool,
    /// Sample precision in bits (8 for almost every file).
    pub(crate) precision: u8,
    /// The SOF marker code (0xC0 baseline, 0xC1 extended, 0xC2 progressive,
    /// others lossless / hierarchical / arithmetic).
    pub(crate) sof_marker: u8,
    /// (horizontal, vertical) sampling factors per component, as written;
    /// unused entries are (0, 0).
    pub(crate) sampling: [(u8, u8); 4],
    /// Colour space from the component count, JFIF / Adobe markers and ids.
    pub(crate) color: ColorSpace,
    /// `Some(reason)` if [`decode_reduced`] will return
    /// [`JpegError::Unsupported`] for this frame.
    pub(crate) unsupported: Option<&'static str>,
    /// Where in `data` the TIFF block of the first APP1 Exif segment before
    /// SOF lies (the bytes after `Exif\0\0`), if there is one.
    pub(crate) exif: Option<std::ops::Range<usize>>,
}

/// A decoded reduced-size image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reduced {
    /// `ceil(width / denom)`.
    pub(crate) width: u32,
    /// `ceil(height / denom)`.
    pub(crate) height: u32,
    /// Packed RGB8, `width * height * 3` bytes (grayscale expanded).
    pub(crate) rgb: Vec<u8>,
}

/// Markers seen outside the frame header that decide the colour space.
#[derive(Default, Clone, Copy)]
struct ColorMarkers {
    jfif: bool,
    adobe: Option<u8>,
}

fn color_space(frame: &Frame, m: ColorMarkers) -> ColorSpace {
    match frame.comps.len() {
        1 => ColorSpace::Gray,
        3 => {
            let ids: Vec<u8> = frame.comps.iter().map(|c| c.id).collect();
            if m.jfif {
                ColorSpace::YCbCr
            } else if let Some(t) = m.adobe {
                if t == 0 {
                    ColorSpace::Rgb
                } else {
                    ColorSpace::YCbCr
                }
            } else if ids == b"RGB" {
                ColorSpace::Rgb
            } else {
                ColorSpace::YCbCr
            }
        }
        4 => {
            if m.adobe == Some(2) {
                ColorSpace::Ycck
            } else {
                ColorSpace::Cmyk
            }
        }
        _ => ColorSpace::Unknown,
    }
}

/// True for the marker codes that start a frame (SOF0-3, 5-7, 9-11, 13-15).
fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, markers::DHT | 0xC8 | markers::DAC)
}

/// Reads the header up to the frame (SOF) marker. Cheap: no allocation
/// beyond the result, no entropy decoding.
pub(crate) fn read_info(data: &[u8]) -> Result<JpegInfo, JpegError> {
    let mut p = Parser::new(data)?;
    let mut cm = ColorMarkers::default();
    let mut exif = None;
    loop {
        let m = p.next_marker().ok_or_else(|| corrupt("no frame header"))?;
        match m {
            _ if is_sof(m) => {
                let f = markers::parse_sof(m, p.segment()?)?;
                return Ok(JpegInfo {
                    width: f.width as u32,
                    height: f.height as u32,
                    components: f.comps.len() as u8,
                    progressive: f.progressive(),
                    precision: f.precision,
                    sof_marker: m,
                    sampling: f.raw_sampling,
                    color: color_space(&f, cm),
                    unsupported: f.unsupported_reason(),
                    exif,
                });
            }
            markers::SOS | markers::EOI => return Err(corrupt("no frame header before scan")),
            markers::SOI | 0xD0..=0xD7 | 0x01 => {}
            0xE0 => cm.jfif |= markers::is_jfif(p.segment()?),
            0xE1 => {
                let payload = p.segment()?;
                // The payload ends where the parser now is.
                let start = p.pos - payload.len();
                // The last Exif segment wins, as in zune-jpeg (the full-size path), so both
                // paths agree on which way is up.
                if payload.starts_with(markers::EXIF_HEADER) {
                    exif = Some(start + markers::EXIF_HEADER.len()..p.pos);
                }
            }
            0xEE => {
                if let Some(t) = markers::adobe_transform(p.segment()?) {
                    cm.adobe = Some(t);
                }
            }
            _ => {
                p.segment()?;
            }
        }
    }
}

/// The largest denominator `d` in {8, 4, 2} such that the reduced image,
/// `ceil(width / d) x ceil(height / d)`, is at least `min_w x min_h`;
/// `None` if even 1/2 is too small (decode at full size instead).
pub(crate) fn scale_for(info: &JpegInfo, min_w: u32, min_h: u32) -> Option<u8> {
    [8u8, 4, 2].into_iter().find(|&d| {
        info.width.div_ceil(u32::from(d)) >= min_w && info.height.div_ceil(u32::from(d)) >= min_h
    })
}

/// Decodes `data` at `1/denom` of its size per dimension (`denom` in
/// {2, 4, 8}) to RGB8. Truncated or partly corrupt entropy data decodes
/// leniently (missing blocks are gray), like libjpeg.
pub(crate) fn decode_reduced(data: &[u8], denom: u8) -> Result<Reduced, JpegError> {
    decode_with_stats(data, denom).map(|(r, _)| r)
}

/// What a decode did with the scans, for tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeStats {
    /// Sequential scans decoded.
    pub(crate) sequential_scans: u32,
    /// Progressive DC scans decoded.
    pub(crate) dc_scans: u32,
    /// Progressive AC scans entropy-decoded.
    pub(crate) ac_scans_decoded: u32,
    /// Progressive AC scans skipped without entropy decoding.
    pub(crate) ac_scans_skipped: u32,
}

/// [`decode_reduced`] that also reports what it did with the scans.
pub(crate) fn decode_with_stats(
    data: &[u8],
    denom: u8,
) -> Result<(Reduced, DecodeStats), JpegError> {
    let bs = match denom {
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return Err(JpegError::Unsupported(format!("scale 1/{denom}"))),
    };
    let mut d = Decoder {
        data,
        bs,
        frame: None,
        dc: Default::default(),
        ac: Default::default(),
        q: [None; 4],
        restart: 0,
        cm: ColorMarkers::default(),
        planes: Vec::new(),
        store: None,
        scans: 0,
        stats: DecodeStats::default(),
    };
    d.run()?;
    let r = d.finish()?;
    Ok((r, d.stats))
}

/// Upper bound on scans per file (real progressive files have about 10;
/// the limit bounds the work a hostile file can cause).
const MAX_SCANS: u32 = 1000;

/// State of one reduced decode.
struct Decoder<'a> {
    data: &'a [u8],
    /// Output pixels per block side: 8 / denom.
    bs: usize,
    frame: Option<Frame>,
    dc: [Option<HuffTable>; 4],
    ac: [Option<HuffTable>; 4],
    q: [Option<[u16; 64]>; 4],
    restart: usize,
    cm: ColorMarkers,
    /// Sequential: the reduced planes, allocated at the first scan.
    planes: Vec<Plane>,
    /// Progressive: the coefficient store, allocated at the first scan.
    store: Option<CoefStore>,
    scans: u32,
    stats: DecodeStats,
}

impl Decoder<'_> {
    /// Walks the markers, decoding scans, until EOI or the end of data.
    fn run(&mut self) -> Result<(), JpegError> {
        let mut p = Parser::new(self.data)?;
        while let Some(m) = p.next_marker() {
            match m {
                _ if is_sof(m) => {
                    if self.frame.is_some() {
                        return Err(corrupt("more than one frame"));
                    }
                    let f = markers::parse_sof(m, p.segment()?)?;
                    if let Some(reason) = f.unsupported_reason() {
                        return Err(JpegError::Unsupported(reason.into()));
                    }
                    self.frame = Some(f);
                }
                markers::DHT => huffman::parse_dht(p.segment()?, &mut self.dc, &mut self.ac)?,
                markers::DQT => markers::parse_dqt(p.segment()?, &mut self.q)?,
                markers::DRI => self.restart = markers::parse_dri(p.segment()?)?,
                markers::DNL => return Err(JpegError::Unsupported("DNL marker".into())),
                markers::DAC => return Err(JpegError::Unsupported("arithmetic coding".into())),
                markers::SOS => {
                    let payload = p.segment()?;
                    let end = self.scan(payload, p.pos)?;
                    p.pos = find_marker(self.data, end);
                }
                markers::EOI => break,
                markers::SOI | 0xD0..=0xD7 | 0x01 => {}
                0xE0 => self.cm.jfif |= markers::is_jfif(p.segment()?),
                0xEE => {
                    if let Some(t) = markers::adobe_transform(p.segment()?) {
                        self.cm.adobe = Some(t);
                    }
                }
                _ => {
                    p.segment()?;
                }
            }
        }
        Ok(())
    }

    /// Decodes (or skips) one scan whose data starts at `start`; returns
    /// where reading stopped.
    fn scan(&mut self, payload: &[u8], start: usize) -> Result<usize, JpegError> {
        let frame = self
            .frame
            .as_ref()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let scan = markers::parse_sos(payload, frame)?;
        self.scans += 1;
        if self.scans > MAX_SCANS {
            // Each scan may cost a pass over all MCUs, even without data.
            return Err(corrupt("too many scans"));
        }
        if frame.progressive() {
            self.progressive_scan(&scan, start)
        } else {
            self.sequential_scan(&scan, start)
        }
    }

    fn sequential_scan(&mut self, scan: &ScanHeader, start: usize) -> Result<usize, JpegError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(corrupt("scan before frame header"));
        };
        let layout = layout(frame, self.bs, false);
        if self.planes.is_empty() {
            for (c, l) in frame.comps.iter().zip(&layout) {
                self.planes.push(plane_for(c, l)?);
            }
        }
        for sc in scan.comps() {
            load_default(&mut self.dc, sc.td, true)?;
            load_default(&mut self.ac, sc.ta, false)?;
        }
        let mut slots = Vec::with_capacity(scan.ns);
        for sc in scan.comps() {
            let tq = frame.comps[sc.index].tq;
            let q = self.q[tq].ok_or_else(|| corrupt("missing quantization table"))?;
            let l = &layout[sc.index];
            slots.push(SeqSlot {
                dc: self.dc[sc.td]
                    .as_ref()
                    .ok_or_else(|| corrupt("missing Huffman table"))?,
                ac: self.ac[sc.ta]
                    .as_ref()
                    .ok_or_else(|| corrupt("missing Huffman table"))?,
                nh: l.nh,
                nv: l.nv,
                q0: q[0],
                fold: idct::FoldTable::new(&q, l.nh, l.nv),
                plane: sc.index,
            });
        }
        let geom = ScanGeom::new(frame, scan);
        let mut sink = SeqSink::new(slots, &mut self.planes);
        let end = run_scan(self.data, start, &geom, self.restart, &mut sink);
        self.stats.sequential_scans += 1;
        Ok(end)
    }

    fn progressive_scan(&mut self, scan: &ScanHeader, start: usize) -> Result<usize, JpegError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(corrupt("scan before frame header"));
        };
        if self.store.is_none() {
            let layout = layout(frame, self.bs, self.bs == 1);
            let dims: Vec<_> = frame
                .comps
                .iter()
                .zip(&layout)
                .map(|(c, l)| (c.bw, c.bh, l.nh, l.nv))
                .collect();
            self.store = Some(CoefStore::new(&dims)?);
        }
        let Some(store) = self.store.as_mut() else {
            return Err(corrupt("no coefficient store"));
        };
        let is_dc = scan.ss == 0;
        for sc in scan.comps() {
            let tq = frame.comps[sc.index].tq;
            store.comps[sc.index].latch(self.q[tq])?;
        }
        // AC scans have one component; its band may not affect the output
        // (at 1/8 no AC band does).
        if !is_dc
            && !scan
                .comps()
                .iter()
                .any(|sc| store.comps[sc.index].band_matters(scan.ss, scan.se))
        {
            self.stats.ac_scans_skipped += 1;
            return Ok(start);
        }
        let pass = match (is_dc, scan.ah == 0) {
            (true, true) => Pass::DcFirst,
            (true, false) => Pass::DcRefine,
            (false, true) => Pass::AcFirst,
            (false, false) => Pass::AcRefine,
        };
        for sc in scan.comps() {
            match pass {
                Pass::DcFirst => load_default(&mut self.dc, sc.td, true)?,
                Pass::AcFirst | Pass::AcRefine => load_default(&mut self.ac, sc.ta, false)?,
                Pass::DcRefine => {}
            }
        }
        let mut slots = Vec::with_capacity(scan.ns);
        for sc in scan.comps() {
            let table = match pass {
                Pass::DcFirst => self.dc[sc.td].as_ref(),
                Pass::AcFirst | Pass::AcRefine => self.ac[sc.ta].as_ref(),
                Pass::DcRefine => None,
            };
            if table.is_none() && pass != Pass::DcRefine {
                return Err(corrupt("missing Huffman table"));
            }
            slots.push(ProgSlot {
                comp: sc.index,
                table,
            });
        }
        if is_dc {
            self.stats.dc_scans += 1;
        } else {
            self.stats.ac_scans_decoded += 1;
        }
        let geom = ScanGeom::new(frame, scan);
        let mut sink = ProgSink::new(pass, (scan.ss, scan.se, scan.al), slots, store);
        Ok(run_scan(self.data, start, &geom, self.restart, &mut sink))
    }

    /// Converts what was decoded into the RGB output.
    fn finish(&mut self) -> Result<Reduced, JpegError> {
        let frame = self
            .frame
            .as_ref()
            .ok_or_else(|| corrupt("no frame header"))?;
        if self.scans == 0 {
            return Err(corrupt("no image data"));
        }
        let denom = 8 / self.bs;
        let out_w = frame.width.div_ceil(denom);
        let out_h = frame.height.div_ceil(denom);
        if let Some(store) = self.store.take() {
            let layout = layout(frame, self.bs, self.bs == 1);
            for (i, (c, l)) in frame.comps.iter().zip(&layout).enumerate() {
                let mut plane = plane_for(c, l)?;
                store.to_plane(i, &mut plane);
                self.planes.push(plane);
            }
        }
        let transform = match color_space(frame, self.cm) {
            ColorSpace::Gray => Transform::Gray,
            ColorSpace::Rgb => Transform::Rgb,
            _ => Transform::YCbCr,
        };
        let rgb = color::to_rgb(&self.planes, transform, out_w, out_h)?;
        Ok(Reduced {
            width: out_w as u32,
            height: out_h as u32,
            rgb,
        })
    }
}

/// How one component is reconstructed at the reduced size.
struct CompLayout {
    /// Output pixels per block, horizontally and vertically (1, 2 or 4).
    nh: usize,
    nv: usize,
    /// Upsampling from the plane to the output grid (1 or 2 each).
    fh: usize,
    fv: usize,
}

/// Chooses each component's output pixels per block. A subsampled
/// component gets a larger scaled IDCT instead of being upsampled (like
/// libjpeg's scaled decoding, but per direction), up to 4 pixels; only the
/// rest of the ratio (chroma at 1/2) is upsampled. `dc_only` (progressive
/// 1/8) forces 1x1 blocks and upsamples all of the ratio.
fn layout(frame: &Frame, bs: usize, dc_only: bool) -> Vec<CompLayout> {
    frame
        .comps
        .iter()
        .map(|c| {
            let (f_h, f_v) = (frame.hmax / c.h, frame.vmax / c.v);
            let (nh, nv) = if dc_only {
                (1, 1)
            } else {
                ((bs * f_h).min(4), (bs * f_v).min(4))
            };
            CompLayout {
                nh,
                nv,
                fh: f_h * bs / nh,
                fv: f_v * bs / nv,
            }
        })
        .collect()
}

/// A gray plane sized for component `c` under layout `l`.
fn plane_for(c: &markers::Component, l: &CompLayout) -> Result<Plane, JpegError> {
    Plane::new(
        c.bw.checked_mul(l.nh).ok_or_else(too_large)?,
        c.bh.checked_mul(l.nv).ok_or_else(too_large)?,
        l.fh,
        l.fv,
    )
}

fn too_large() -> JpegError {
    JpegError::Unsupported("image too large".into())
}

/// Installs the Annex K table for selector `id` if the file defined none.
fn load_default(
    tables: &mut [Option<HuffTable>; 4],
    id: usize,
    is_dc: bool,
) -> Result<(), JpegError> {
    let slot = tables
        .get_mut(id)
        .ok_or_else(|| corrupt("bad Huffman table selector"))?;
    if slot.is_none() {
        *slot = huffman::default_table(is_dc, id);
    }
    if slot.is_none() {
        return Err(corrupt("missing Huffman table"));
    }
    Ok(())
}
