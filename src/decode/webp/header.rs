//! A VP8 key frame's headers: the uncompressed frame tag (RFC 6386 section 9.1) and the
//! compressed frame header at the start of the first partition (sections 9.2 to 9.11, 19.2).
//!
//! Owns: the frame's size, segments, loop-filter settings, quantisers, token probabilities
//! and partitions, every field checked as it is read. Must not touch: macroblock data
//! (`frame` decodes it with the decoders this file sets up).

use super::Vp8Error;
use super::bools::BoolDecoder;
use super::tables::{AC_Q, COEFF_PROBS, COEFF_UPDATE_PROBS, DC_Q};

/// What the uncompressed first ten bytes of a key frame say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameInfo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Bytes of the first partition (after the ten-byte tag).
    first_partition: usize,
}

/// Reads the frame tag and key-frame start code (the frame size, nothing allocated).
pub(crate) fn frame_info(data: &[u8]) -> Result<FrameInfo, Vp8Error> {
    let Some(tag) = data.get(..10) else {
        return Err(Vp8Error::Corrupt("VP8 frame shorter than its header"));
    };
    let bits = u32::from(tag[0]) | u32::from(tag[1]) << 8 | u32::from(tag[2]) << 16;
    if bits & 1 != 0 {
        return Err(Vp8Error::Corrupt("VP8 frame is not a key frame"));
    }
    if (bits >> 1) & 7 > 3 {
        return Err(Vp8Error::Unsupported("VP8 profile above 3"));
    }
    if (bits >> 4) & 1 == 0 {
        return Err(Vp8Error::Corrupt("VP8 frame is not meant to be shown"));
    }
    if tag[3..6] != [0x9d, 0x01, 0x2a] {
        return Err(Vp8Error::Corrupt("VP8 key frame without its start code"));
    }
    // 14 bits of size, 2 of upscaling hint (ignored, as every WebP decoder does).
    let width = u32::from(u16::from_le_bytes([tag[6], tag[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([tag[8], tag[9]]) & 0x3fff);
    if width == 0 || height == 0 {
        return Err(Vp8Error::Corrupt("VP8 frame of zero size"));
    }
    let first_partition = (bits >> 5) as usize;
    if first_partition > data.len() - 10 {
        return Err(Vp8Error::Corrupt(
            "VP8 first partition longer than the frame",
        ));
    }
    // Every macroblock's modes cost at least 3.4 bits of the first partition: a key frame's
    // mode probabilities are fixed (sections 11.2, 11.4), and the cheapest path (16x16 DC,
    // chroma DC) is -log2(111/256) - log2(156/256) - log2(163/256) - log2(142/256). So a
    // first partition under 2 bits per macroblock cannot hold its frame: refused before
    // anything is allocated, so a few bytes cannot make the decoder allocate a full-size
    // image (cost follows the bytes: at most 4 macroblocks a byte).
    let macroblocks = (width as usize).div_ceil(16) * (height as usize).div_ceil(16);
    if first_partition * 4 < macroblocks {
        return Err(Vp8Error::Corrupt(
            "VP8 first partition too small for its frame",
        ));
    }
    Ok(FrameInfo {
        width,
        height,
        first_partition,
    })
}

/// Dequantisation factors of one segment: `[dc, ac]` for each block type.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Quant {
    pub(super) y: [i32; 2],
    pub(super) y2: [i32; 2],
    pub(super) uv: [i32; 2],
}

/// Loop filter settings of the frame (section 9.6) and its deltas (9.7).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FilterHeader {
    pub(super) simple: bool,
    pub(super) level: i32,
    pub(super) sharpness: i32,
    /// The delta for intra frames (`ref_lf_deltas[0]`) and for `B_PRED` macroblocks
    /// (`mode_lf_deltas[0]`), if deltas are enabled.
    pub(super) deltas: Option<(i32, i32)>,
}

/// Segmentation (section 9.3).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Segments {
    pub(super) enabled: bool,
    pub(super) update_map: bool,
    pub(super) absolute: bool,
    pub(super) quant: [i32; 4],
    pub(super) filter: [i32; 4],
    pub(super) tree_probs: [u8; 3],
}

/// Token probabilities by coefficient position rather than band, `[plane][position]
/// [context][node]` (one extra position after the last, for the loop's look-ahead), so the
/// token loop indexes them directly.
pub(super) type TokenProbs = [[[[u8; 11]; 3]; 17]; 4];

/// Which band each coefficient position is in (one extra entry for the position after 15).
const BANDS: [usize; 17] = [0, 1, 2, 3, 6, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 0];

/// The parsed frame header and the decoders of the first partition and the token
/// partitions.
pub(super) struct Header<'a> {
    pub(super) info: FrameInfo,
    pub(super) segments: Segments,
    pub(super) filter: FilterHeader,
    pub(super) quant: [Quant; 4],
    pub(super) probs: Box<TokenProbs>,
    /// Probability that a macroblock has no coefficients, if the skip flag is coded.
    pub(super) skip_prob: Option<u8>,
    /// The first partition, positioned at the first macroblock's modes.
    pub(super) modes: BoolDecoder<'a>,
    /// The token partitions (1, 2, 4 or 8); macroblock row `y` reads partition `y % n`.
    pub(super) partitions: Vec<BoolDecoder<'a>>,
}

/// Parses a key frame's headers from the `VP8 ` chunk's payload.
pub(super) fn parse(data: &[u8]) -> Result<Header<'_>, Vp8Error> {
    let info = frame_info(data)?;
    let (first, tokens) = data[10..].split_at(info.first_partition);
    let mut d = BoolDecoder::new(first);
    let _color_space = d.bit(128);
    let _clamping = d.bit(128);
    let segments = segments(&mut d);
    let filter = filter_header(&mut d);
    let count = 1usize << d.literal(2);
    let base_q = d.literal(7) as i32;
    let deltas = [
        d.optional_signed(4),
        d.optional_signed(4),
        d.optional_signed(4),
        d.optional_signed(4),
        d.optional_signed(4),
    ];
    let mut quant = [Quant::default(); 4];
    for (s, q) in quant.iter_mut().enumerate() {
        let index = if !segments.enabled {
            base_q
        } else if segments.absolute {
            segments.quant[s]
        } else {
            base_q + segments.quant[s]
        };
        *q = quantiser(index, deltas);
    }
    let _refresh_entropy = d.bit(128);
    let mut bands = COEFF_PROBS;
    for (i, plane) in bands.iter_mut().enumerate() {
        for (j, band) in plane.iter_mut().enumerate() {
            for (k, ctx) in band.iter_mut().enumerate() {
                for (l, p) in ctx.iter_mut().enumerate() {
                    if d.bit(COEFF_UPDATE_PROBS[i][j][k][l]) {
                        *p = d.literal(8) as u8;
                    }
                }
            }
        }
    }
    let mut probs = Box::new([[[[0u8; 11]; 3]; 17]; 4]);
    for (plane, by_band) in probs.iter_mut().zip(&bands) {
        for (pos, p) in plane.iter_mut().enumerate() {
            *p = by_band[BANDS[pos]];
        }
    }
    let skip_prob = d.bit(128).then(|| d.literal(8) as u8);
    if d.eof() {
        return Err(Vp8Error::Corrupt("VP8 frame header truncated"));
    }
    Ok(Header {
        info,
        segments,
        filter,
        quant,
        probs,
        skip_prob,
        modes: d,
        partitions: partitions(tokens, count)?,
    })
}

fn segments(d: &mut BoolDecoder<'_>) -> Segments {
    let mut s = Segments {
        tree_probs: [255; 3],
        ..Segments::default()
    };
    s.enabled = d.bit(128);
    if !s.enabled {
        return s;
    }
    s.update_map = d.bit(128);
    let update_data = d.bit(128);
    if update_data {
        s.absolute = d.bit(128);
        for q in &mut s.quant {
            *q = d.optional_signed(7);
        }
        for f in &mut s.filter {
            *f = d.optional_signed(6);
        }
    }
    if s.update_map {
        for p in &mut s.tree_probs {
            *p = if d.bit(128) { d.literal(8) as u8 } else { 255 };
        }
    }
    s
}

fn filter_header(d: &mut BoolDecoder<'_>) -> FilterHeader {
    let simple = d.bit(128);
    let level = d.literal(6) as i32;
    let sharpness = d.literal(3) as i32;
    let mut deltas = None;
    if d.bit(128) {
        let (mut reference, mut mode) = (0, 0);
        if d.bit(128) {
            for i in 0..4 {
                let v = d.optional_signed(6);
                if i == 0 {
                    reference = v;
                }
            }
            for i in 0..4 {
                let v = d.optional_signed(6);
                if i == 0 {
                    mode = v;
                }
            }
        }
        deltas = Some((reference, mode));
    }
    FilterHeader {
        simple,
        level,
        sharpness,
        deltas,
    }
}

/// The factors for quantiser index `q` with the frame's deltas (y1 dc, y2 dc, y2 ac, uv dc,
/// uv ac), as section 14.1 computes them.
fn quantiser(q: i32, [y1dc, y2dc, y2ac, uvdc, uvac]: [i32; 5]) -> Quant {
    let at = |table: &[u16; 128], delta: i32| i32::from(table[(q + delta).clamp(0, 127) as usize]);
    Quant {
        y: [at(&DC_Q, y1dc), at(&AC_Q, 0)],
        y2: [at(&DC_Q, y2dc) * 2, (at(&AC_Q, y2ac) * 155 / 100).max(8)],
        uv: [at(&DC_Q, uvdc).min(132), at(&AC_Q, uvac)],
    }
}

/// The token partitions: `count - 1` three-byte sizes, then the partitions, the last taking
/// the rest. Sizes past the data are cut to it (as libwebp does); the last partition must
/// have at least a byte.
fn partitions(data: &[u8], count: usize) -> Result<Vec<BoolDecoder<'_>>, Vp8Error> {
    let table = 3 * (count - 1);
    let Some((sizes, mut rest)) = data.split_at_checked(table) else {
        return Err(Vp8Error::Corrupt("VP8 partition table truncated"));
    };
    let mut out = Vec::with_capacity(count);
    for size in sizes.chunks_exact(3) {
        let n = usize::from(size[0]) | usize::from(size[1]) << 8 | usize::from(size[2]) << 16;
        let (part, after) = rest.split_at(n.min(rest.len()));
        out.push(BoolDecoder::new(part));
        rest = after;
    }
    if rest.is_empty() {
        return Err(Vp8Error::Corrupt("VP8 token partitions truncated"));
    }
    out.push(BoolDecoder::new(rest));
    Ok(out)
}
