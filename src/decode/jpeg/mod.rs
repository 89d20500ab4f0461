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
//! * subsampled components get a larger scaled IDCT instead of upsampling
//!   where possible (up to 4 pixels per block side); the rest of the ratio
//!   is upsampled at the reduced size (libjpeg's fancy filters for 2x, the
//!   same centred triangle filter for any other ratio). Any sampling factors
//!   1..=4 work, including 4:1:1, 4:4:0, 3x and fractional ratios, and
//!   components sampled more finely than luma;
//! * colour: grayscale, YCbCr, RGB (Adobe transform 0 / ids 'R','G','B'),
//!   CMYK and YCCK (4 components, Adobe APP14; Adobe CMYK is stored
//!   inverted), all to packed RGB8.
//!
//! Valid JPEG features that stay unsupported, all recognised from the header
//! alone ([`unsupported_feature`], [`JpegInfo::unsupported`]): arithmetic
//! coding, lossless, hierarchical (SOF5-7/13-15 or a DHP marker), 12-bit
//! precision, height defined by DNL, 2-component files. They are
//! [`JpegError::Unsupported`] with a message naming the feature; everything
//! malformed is [`JpegError::Corrupt`].
//!
//! Bounds (see `limits`), so cost follows the bytes present, not the header:
//!
//! * **Data size.** Every block of every component costs at least one
//!   entropy-coded bit in a Huffman-coded file (its DC code; a sequential
//!   block also its EOB), so a file whose bytes after the first SOS marker
//!   are fewer than `blocks / 8` cannot hold its declared frame: it is
//!   `Corrupt` in [`read_info`], [`preflight`] and before the decoder
//!   allocates anything. Real files carry 20 to 200 bits per block, so only
//!   files truncated to a few percent of their data (which would decode as
//!   a gray image with a strip on top) or made up are refused.
//! * **Work.** A scan ends at the first marker that is not its expected
//!   `RSTn`; the rest of a restart interval whose data ran out is skipped in
//!   one step; an EOB run of a first AC scan is skipped in one step. Every
//!   block decoded or skip costs a unit, and a frame may spend at most
//!   `32 * padded blocks + 65,536` units over all its scans (libjpeg's
//!   progressive script spends about 5 per block), beyond which the file is
//!   `Corrupt`. With the data-size rule, CPU is linear in the file size.
//! * **Memory.** Planes and the coefficient store are allocated at the first
//!   scan (after the data-size check) and [`estimate_peak`] predicts the
//!   whole decode's peak from the header.
//!
//! Only `std` is used, no `unsafe`, no threads; malformed input never panics.
//!
//! Files: `markers` (segment syntax), `huffman` (tables, block-level AC
//! decoding), `bits` (bit reader), `scan` (MCU order, restarts, leniency,
//! work units), `baseline` and `progressive` (scan decoders), `decoder` (the
//! decode's state and output layout), `limits` (data-size rule, work budget,
//! [`preflight`], [`estimate_peak`]), `idct` (scaled IDCTs), `color`
//! (upsampling, RGB); tests in `tests` (accuracy, robustness), `tests_color`
//! (CMYK, sampling), `tests_bounds` (scan bombs), `tests_fuzz` (memory
//! estimate, preflight, mutation fuzz), with `test_encoder`; `partial` follows a file
//! still downloading (where its DC scans end, for previews). [`read_info`]
//! also reports where the APP1 Exif block is (`super::exif` parses it) and
//! where the APP2 ICC profile's chunks are ([`icc_profile`] assembles them).

mod baseline;
mod bits;
mod color;
mod decoder;
mod huffman;
mod icc;
mod idct;
mod layout;
mod limits;
mod markers;
mod partial;
mod progressive;
mod scan;
#[cfg(test)]
mod test_encoder;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bounds;
#[cfg(test)]
mod tests_color;
#[cfg(test)]
mod tests_fuzz;

use std::fmt;

use decoder::Decoder;
use markers::{Frame, Parser};

pub(crate) use color::ycck_to_cmyk;
pub(crate) use limits::{estimate_peak, preflight};
pub(crate) use partial::{Reach, ScanTracker};

/// Why a JPEG could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JpegError {
    /// A valid JPEG this decoder does not handle (arithmetic coding,
    /// lossless, hierarchical, 12-bit, DNL, 2 components); the message names
    /// the feature. zune-jpeg, the full decoder, handles none of them either.
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
    /// Four components, CMYK (Adobe transform 0, 1 or no Adobe marker).
    Cmyk,
    /// Four components, YCCK (Adobe transform 2).
    Ycck,
    /// Two components (unsupported).
    Unknown,
}

/// Header information, from the markers up to the first scan.
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
    /// Where in `data` the TIFF block of the last APP1 Exif segment before
    /// the first scan lies (the bytes after `Exif\0\0`), if there is one.
    pub(crate) exif: Option<std::ops::Range<usize>>,
    /// The APP2 `ICC_PROFILE` segments before the first scan, in file order.
    pub(crate) icc: Vec<icc::IccChunk>,
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

/// What the markers before the first scan say.
struct Header {
    info: JpegInfo,
    frame: Frame,
    /// Where the first scan's entropy-coded data starts, if there is a scan.
    first_scan: Option<usize>,
}

/// Walks the markers up to the first SOS (or the end of the data). Cheap:
/// segments are hopped over, nothing is decoded.
fn read_header(data: &[u8]) -> Result<Header, JpegError> {
    let mut p = Parser::new(data)?;
    let mut cm = ColorMarkers::default();
    let mut exif = None;
    let mut icc_chunks = Vec::new();
    let mut frame: Option<(Frame, u8)> = None;
    let mut hierarchical = false;
    let mut first_scan = None;
    while let Some(m) = p.next_marker() {
        match m {
            _ if markers::is_sof(m) => {
                if frame.is_some() {
                    return Err(corrupt("more than one frame"));
                }
                frame = Some((markers::parse_sof(m, p.segment()?)?, m));
            }
            markers::SOS => {
                if frame.is_none() {
                    return Err(corrupt("no frame header before scan"));
                }
                p.segment()?;
                first_scan = Some(p.pos);
                break;
            }
            markers::EOI => break,
            markers::SOI | 0xD0..=0xD7 | 0x01 => {}
            markers::DHP | markers::EXP => {
                hierarchical = true;
                p.segment()?;
            }
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
            0xE2 => {
                let payload = p.segment()?;
                icc_chunks.extend(icc::icc_chunk(payload, p.pos - payload.len()));
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
    let (f, m) = frame.ok_or_else(|| corrupt("no frame header"))?;
    let unsupported = if hierarchical {
        Some("hierarchical JPEG")
    } else {
        f.unsupported_reason()
    };
    let info = JpegInfo {
        width: f.width as u32,
        height: f.height as u32,
        components: f.comps.len() as u8,
        progressive: f.progressive(),
        precision: f.precision,
        sof_marker: m,
        sampling: f.raw_sampling,
        color: color_space(&f, cm),
        unsupported,
        exif,
        icc: icc_chunks,
    };
    Ok(Header {
        info,
        frame: f,
        first_scan,
    })
}

/// Reads the header up to the first scan. Cheap: no allocation beyond the
/// result, no entropy decoding. For a frame this decoder supports it also
/// applies the data-size rule (see the module doc): a file whose bytes
/// after the first SOS cannot hold one bit per block, or that has no scan,
/// is `Corrupt`. Unsupported frames are reported in
/// [`JpegInfo::unsupported`], without the data-size rule.
pub(crate) fn read_info(data: &[u8]) -> Result<JpegInfo, JpegError> {
    let h = read_header(data)?;
    if h.info.unsupported.is_none() {
        let present = h.first_scan.map_or(0, |pos| data.len() - pos);
        limits::check_data(&h.frame, present)?;
    }
    Ok(h.info)
}

/// The valid JPEG feature that makes `data` undecodable here (and by
/// zune-jpeg), named for an error message: "arithmetic coding", "lossless
/// JPEG", "hierarchical JPEG", "12-bit sample precision", "height defined by
/// a DNL marker", "2-component JPEG". `None` for a supported frame and for
/// data whose header is malformed before the frame header (that is
/// `Corrupt`, see [`read_info`]). Reads the markers up to SOF only, so a
/// file cut right after its frame header is enough.
#[cfg(test)]
pub(crate) fn unsupported_feature(data: &[u8]) -> Option<&'static str> {
    let mut p = Parser::new(data).ok()?;
    while let Some(m) = p.next_marker() {
        match m {
            _ if markers::is_sof(m) => {
                return markers::parse_sof(m, p.segment().ok()?)
                    .ok()?
                    .unsupported_reason();
            }
            markers::DHP | markers::EXP => return Some("hierarchical JPEG"),
            markers::DAC => return Some("arithmetic coding"),
            markers::SOS | markers::EOI => return None,
            markers::SOI | 0xD0..=0xD7 | 0x01 => {}
            _ => {
                p.segment().ok()?;
            }
        }
    }
    None
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
/// leniently (missing blocks are gray), like libjpeg, within the bounds of
/// the module doc.
pub(crate) fn decode_reduced(data: &[u8], denom: u8) -> Result<Reduced, JpegError> {
    decode_with_stats(data, denom).map(|(r, _)| r)
}

/// [`decode_reduced`] of a CMYK or YCCK frame to its inks instead of RGB:
/// [`Reduced::rgb`] holds packed CMYK8 as Adobe stores it (255 = no ink),
/// for the file's colour profile to convert. A 1- or 3-component frame is
/// [`JpegError::Unsupported`].
pub(crate) fn decode_reduced_cmyk(data: &[u8], denom: u8) -> Result<Reduced, JpegError> {
    let bs = block_size(denom)?;
    let mut d = Decoder::new(data, bs);
    d.run().and_then(|()| d.finish(true))
}

/// The assembled APP2 ICC profile (`None`: the file has none); an error if
/// its chunks are inconsistent (counts that differ, a sequence number
/// missing, repeated or out of range) or add up to more than `max` bytes.
pub(crate) fn icc_profile(
    data: &[u8],
    info: &JpegInfo,
    max: usize,
) -> Result<Option<Vec<u8>>, &'static str> {
    icc::assemble_icc(data, &info.icc, max)
}

/// Output pixels per block side for `1/denom`.
fn block_size(denom: u8) -> Result<usize, JpegError> {
    match denom {
        2 => Ok(4),
        4 => Ok(2),
        8 => Ok(1),
        _ => Err(JpegError::Unsupported(format!("scale 1/{denom}"))),
    }
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
    /// Work units spent: blocks decoded plus skips (see the module doc).
    pub(crate) work: u64,
}

/// [`decode_reduced`] that also reports what it did with the scans.
pub(crate) fn decode_with_stats(
    data: &[u8],
    denom: u8,
) -> Result<(Reduced, DecodeStats), JpegError> {
    let (r, stats) = decode_counted(data, denom);
    r.map(|r| (r, stats))
}

/// [`decode_reduced`] that reports what it did even when it fails, e.g. the
/// work units spent before a file was refused.
pub(crate) fn decode_counted(data: &[u8], denom: u8) -> (Result<Reduced, JpegError>, DecodeStats) {
    let bs = match block_size(denom) {
        Ok(bs) => bs,
        Err(e) => return (Err(e), DecodeStats::default()),
    };
    let mut d = Decoder::new(data, bs);
    let r = d.run().and_then(|()| d.finish(false));
    (r, d.stats)
}
