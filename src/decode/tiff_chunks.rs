//! A TIFF's chunks (strips or tiles) read before the `tiff` crate decodes them: what it will
//! really decompress and allocate, and every JPEG-compressed chunk checked like a JPEG file.
//!
//! Owns: [`preflight`], the directory check before it, and the rules below. Must not touch: pixels, the JPEG rules themselves
//! (`jpeg::preflight`: structure, scan count and work, the data-size rule), or the budget (the
//! format's probe turns what this reports into its reservation).
//!
//! What `tiff` 0.11 does, read in its source (`decoder/image.rs`, `expand_chunk` and
//! `create_reader`): it allocates the whole image once (the `image` crate then copies it into
//! its own buffer), and decodes one chunk at a time into it. A tile may reach past the image's
//! right and bottom edges (the padding is decompressed and dropped), and a tile's size is not
//! bounded by the image's: a 1x1 image may have one 16384x16384 tile. A JPEG chunk is worse:
//! its bytes (after the `JPEGTables`, copied in front of every chunk) go to zune-jpeg, which
//! decodes the JPEG's own frame, whatever its size, into a buffer of its own; the TIFF's
//! dimensions never constrain it. And nothing stops every chunk from pointing at the same
//! bytes, so one JPEG can be decoded once per tile.
//!
//! The directory first. `tiff` reads a tag by reserving room for all the values its entry
//! declares (32 bytes each, up to 256 MiB) before reading any: an 800-byte file whose width
//! tag declares 4 million values allocated 134 MB. So before `tiff` (or `image`) opens a file,
//! [`check_directory`] reads the first directory's entries itself: every tag in [`READ_TAGS`]
//! must have its values inside the file and at most [`MAX_TAG_BYTES`] of them (the limit
//! `tiff` documents as `ifd_value_size` but does not enforce). Other tags are never read.
//!
//! Rules, checked before `tiff` reads a chunk:
//! - The area decoded is the chunks with their padding (tiles: the tile grid; JPEG strips:
//!   every strip at its full rows); the registry checks it against the pixel limit.
//! - A JPEG chunk must lie inside the file, pass `jpeg::preflight` (so a tile cannot be a scan
//!   bomb or declare more blocks than its data holds), and its frame may not be larger than
//!   its chunk (libtiff requires them equal; the last strip may be shorter).
//! - JPEG chunks may not share bytes: their byte counts add up to at most the file's length.
//!   With the data-size rule (one bit per block at least) the blocks decoded in all chunks are
//!   then at most 8 per byte of the file, so the work follows the bytes received.
//! - The tables copied in front of each chunk count too: the JPEG streams the decoder reads
//!   add up to at most [`STREAM_FACTOR`] times the file plus [`STREAM_SLACK`].
//!
//! One layout `tiff` panics on is refused ([`check_planar_tiles`]: separate planes in tiles
//! cut by the bottom edge).
//!
//! Other compressions (none, LZW, deflate, PackBits, fax) decompress into the image buffer
//! row by row; their work is bounded by the decoded area like any other format's.

use std::io::Cursor;

use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;

use super::DecodeError;
use super::jpeg::{self, JpegError, JpegInfo};

/// TIFF's compression code for JPEG ("new-style", TIFF 6.0 technote 2).
const JPEG: u16 = 7;
/// How many times the file's length the JPEG streams (tables plus chunk) may add up to.
const STREAM_FACTOR: u64 = 4;
/// What the JPEG streams may add up to on top of that (a small file with many strips).
const STREAM_SLACK: u64 = 1 << 20;
/// Headroom for zune-jpeg's tables and row buffers per chunk.
const CHUNK_SLACK: u64 = 64 << 10;
/// Headroom for the decoder's own state whatever the compression: the directory's entries,
/// an inflate state with its window (about 80 KB measured for a deflate file), LZW tables.
const DECODER_SLACK: u64 = 128 << 10;
/// Most bytes of values a tag that is read may have (262,144 chunk offsets in a classic TIFF).
const MAX_TAG_BYTES: u64 = 1 << 20;
/// The tags `tiff` and `image` read when they open a file's first image: the image's layout,
/// its samples, its chunks, `JPEGTables` and the orientation. A change that reads another tag
/// (an ICC profile, XMP) must add it here, or a hostile entry of it allocates unchecked.
/// `ColorMap` (320), `YCbCrCoefficients` (529) and `ReferenceBlackWhite` (532) are read by
/// `formats/tiff_colors.rs`.
pub(crate) const READ_TAGS: [u16; 23] = [
    256, 257, 258, 259, 262, 273, 274, 277, 278, 279, 284, 317, 320, 322, 323, 324, 325, 338, 339,
    347, 529, 530, 532,
];

/// What a decode of a TIFF's first image really decodes and holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunks {
    /// The area decompressed, padding included (at most `u32::MAX` on each side).
    pub(crate) decoded: (u32, u32),
    /// Bytes held beside the `image` crate's own output buffer while `tiff` decodes (gone
    /// before the conversion to RGBA8): `tiff`'s copy of the image (in its samples, which may
    /// be wider than the output, as CMYK is), and the largest chunk's JPEG decode (its data
    /// and its pixels).
    pub(crate) extra_bytes: u64,
}

fn corrupt(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("TIFF: {what}"))
}

/// Checks the first directory (see the module doc), then reads the first image's layout and
/// checks its chunks. Allocates the chunk tables and, with `JPEGTables`, one chunk's JPEG
/// stream at a time. Call it before anything else opens the file with `tiff`.
pub(crate) fn preflight(bytes: &[u8]) -> Result<Chunks, DecodeError> {
    check_directory(bytes)?;
    let mut d = Decoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let (width, height) = d.dimensions().map_err(corrupt)?;
    let color = d.colortype().map_err(corrupt)?;
    let compression = d
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(corrupt)?
        .unwrap_or(1);
    let tiles = d.get_chunk_type() == ChunkType::Tile;
    let (cw, ch) = d.chunk_dimensions();
    if tiles {
        check_planar_tiles(&mut d, height, ch)?;
    }
    // A strip's rows are capped by the image's (RowsPerStrip 2^32-1 means one strip).
    let ch = if tiles { ch } else { ch.min(height) };
    let padded = |n: u32, c: u32| u64::from(n).div_ceil(u64::from(c.max(1))) * u64::from(c);
    let side = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let decoded = match (tiles, compression == JPEG) {
        (true, true) => (side(padded(width, cw)), side(padded(height, ch))),
        // Padding rows of a tile are never read, padding columns are decompressed.
        (true, false) => (side(padded(width, cw)), height),
        (false, true) => (width, side(padded(height, ch))),
        (false, false) => (width, height),
    };
    let sample_bytes = u64::from(color.bit_depth().div_ceil(8).max(1));
    let image_bytes = u64::from(width)
        .saturating_mul(u64::from(height))
        .saturating_mul(u64::from(color.num_samples()))
        .saturating_mul(sample_bytes);
    let chunk_bytes = if compression == JPEG {
        jpeg_chunks(&mut d, bytes, tiles, (cw, ch))?
    } else {
        0
    };
    Ok(Chunks {
        decoded,
        extra_bytes: image_bytes
            .saturating_add(chunk_bytes)
            .saturating_add(DECODER_SLACK),
    })
}

/// Refuses the tiled layout `tiff` 0.11 panics on: separate planes (PlanarConfiguration 2)
/// of more than one sample, in tiles whose last row is cut by the image's bottom edge.
///
/// `tiff` 0.11.3 (`decoder/image.rs`, `TileAttributes::get_padding`) finds a tile's row as
/// its index divided by the tiles across, over all planes: a tile of the second plane on
/// is never in "the last row", so its bottom padding is not dropped and it is expanded at
/// the full tile height, past the end of the output buffer for the last plane, where an
/// `assert!` in `expand_chunk` fires (and into the next plane's rows for the others). The
/// index should be taken modulo the chunks of one plane. When the height is a multiple of
/// the tile height there is no padding and the decode is right (checked against Pillow in
/// `tests/it/conformance/tiff.rs`); so only the panicking layout is refused, as a format
/// variant not supported, before `tiff` decodes a chunk.
fn check_planar_tiles(
    d: &mut Decoder<Cursor<&[u8]>>,
    height: u32,
    tile_height: u32,
) -> Result<(), DecodeError> {
    let planar = d
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(corrupt)?
        == Some(2);
    let samples = d
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .map_err(corrupt)?
        .unwrap_or(1);
    if planar && samples > 1 && !height.is_multiple_of(tile_height.max(1)) {
        return Err(DecodeError::Unsupported(format!(
            "TIFF: {samples} separate planes in tiles cut by the bottom edge ({height} rows in \
             tiles of {tile_height}; the tiff crate cannot decode them)"
        )));
    }
    Ok(())
}

/// Bytes of one value of TIFF field type `kind`; `None` for a type `tiff` skips.
fn type_bytes(kind: u16) -> Option<u64> {
    Some(match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16..=18 => 8,
        _ => return None,
    })
}

/// One entry of the first directory, as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) tag: u16,
    pub(crate) kind: u16,
    pub(crate) count: u64,
    /// The value field: the values themselves when they fit in it, else their offset.
    pub(crate) value: u64,
    /// Where the value field is in the file, and its size (4 bytes, 8 in a BigTIFF).
    pub(crate) value_at: usize,
    pub(crate) field_bytes: u64,
    /// The file's byte order is big-endian (`MM`).
    pub(crate) big_endian: bool,
}

impl Entry {
    /// The entry's one value when it is a single SHORT or LONG (stored in its value field).
    pub(crate) fn single_uint(&self) -> Option<u64> {
        let size = match (self.kind, self.count) {
            (3, 1) => 2,
            (4, 1) => 4,
            _ => return None,
        };
        // The value sits at the start of the field: in a big-endian file, the high bytes.
        let shift = if self.big_endian {
            8 * (self.field_bytes - size)
        } else {
            0
        };
        Some((self.value >> shift) & ((1 << (8 * size)) - 1))
    }
}

/// Calls `visit` with each entry of the first directory, in place (allocates nothing),
/// until it returns an error. A header or directory it cannot find, or an entry cut off by
/// the end of the file, ends the walk quietly: `tiff` reports those.
pub(crate) fn each_entry(
    bytes: &[u8],
    mut visit: impl FnMut(Entry) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let big_endian = match bytes.get(..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return Ok(()),
    };
    let uint = |at: usize, n: usize| -> Option<u64> {
        let b = bytes.get(at..at.checked_add(n)?)?;
        Some(b.iter().enumerate().fold(0u64, |v, (i, &x)| {
            let shift = if big_endian { 8 * (n - 1 - i) } else { 8 * i };
            v | u64::from(x) << shift
        }))
    };
    let Some(version) = uint(2, 2) else {
        return Ok(());
    };
    // Classic TIFF: 2-byte entry count, 12-byte entries with a 4-byte count and value.
    // BigTIFF: 8-byte entry count, 20-byte entries with 8-byte count and value.
    let (ifd, count_bytes, field) = match version {
        42 => (uint(4, 4), 2, 4),
        43 => (uint(8, 8), 8, 8),
        _ => return Ok(()),
    };
    let Some(ifd) = ifd.and_then(|v| usize::try_from(v).ok()) else {
        return Ok(());
    };
    let Some(entries) = uint(ifd, count_bytes) else {
        return Ok(());
    };
    let entry_bytes = 4 + 2 * field;
    let first = ifd + count_bytes;
    for i in 0..entries {
        let Some(at) = usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(entry_bytes))
            .and_then(|o| o.checked_add(first))
        else {
            break;
        };
        // An entry cut off by the end of the file: `tiff` stops there too.
        let (Some(tag), Some(kind), Some(count), Some(value)) = (
            uint(at, 2),
            uint(at + 2, 2),
            uint(at + 4, field),
            uint(at + 4 + field, field),
        ) else {
            break;
        };
        visit(Entry {
            tag: tag as u16,
            kind: kind as u16,
            count,
            value,
            value_at: at + 4 + field,
            field_bytes: field as u64,
            big_endian,
        })?;
    }
    Ok(())
}

/// Every entry of the first directory whose tag is in [`READ_TAGS`] has its values inside
/// the file and at most [`MAX_TAG_BYTES`] of them ([`each_entry`]: nothing allocated).
fn check_directory(bytes: &[u8]) -> Result<(), DecodeError> {
    let file = bytes.len() as u64;
    each_entry(bytes, |e| {
        if !READ_TAGS.contains(&e.tag) {
            return Ok(());
        }
        let Some(size) = type_bytes(e.kind) else {
            return Ok(());
        };
        let values = e.count.saturating_mul(size);
        if values > MAX_TAG_BYTES {
            return Err(corrupt(format!(
                "tag {} declares {values} bytes of values (at most {MAX_TAG_BYTES} are read)",
                e.tag
            )));
        }
        if values > e.field_bytes && e.value.saturating_add(values) > file {
            return Err(corrupt(format!(
                "the values of tag {} lie outside the file",
                e.tag
            )));
        }
        Ok(())
    })
}

/// Checks every JPEG chunk of a `chunk`-sized grid; the most one chunk's decode holds.
fn jpeg_chunks(
    d: &mut Decoder<Cursor<&[u8]>>,
    bytes: &[u8],
    tiles: bool,
    chunk: (u32, u32),
) -> Result<u64, DecodeError> {
    let (kind, offsets, counts) = if tiles {
        ("tile", Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        ("strip", Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = d.get_tag_u64_vec(offsets).map_err(corrupt)?;
    let counts = d.get_tag_u64_vec(counts).map_err(corrupt)?;
    let tables = match d.find_tag(Tag::JPEGTables).map_err(corrupt)? {
        Some(value) => Some(value.into_u8_vec().map_err(corrupt)?),
        None => None,
    };
    if offsets.len() != counts.len() {
        return Err(corrupt("chunk offsets and byte counts differ in number"));
    }
    let file = bytes.len() as u64;
    let total = counts.iter().fold(0u64, |a, &b| a.saturating_add(b));
    if total > file {
        return Err(corrupt(format!(
            "its JPEG {kind}s share bytes ({total} bytes of {kind}s in a {file}-byte file)"
        )));
    }
    // `tiff` drops the tables' EOI and each chunk's SOI when it joins them.
    let prefix = tables
        .as_ref()
        .map_or(&[][..], |t| &t[..t.len().saturating_sub(2)]);
    let streams = (prefix.len() as u64)
        .saturating_mul(counts.len() as u64)
        .saturating_add(total);
    if streams
        > STREAM_FACTOR
            .saturating_mul(file)
            .saturating_add(STREAM_SLACK)
    {
        return Err(corrupt(format!(
            "its JPEG tables, repeated before each of its {} {kind}s, come to {streams} bytes",
            counts.len()
        )));
    }
    let mut joined = Vec::new();
    let mut most = 0u64;
    for (&offset, &count) in offsets.iter().zip(&counts) {
        let data = offset
            .checked_add(count)
            .filter(|&end| end <= file)
            .and_then(|end| bytes.get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?))
            .ok_or_else(|| corrupt(format!("a JPEG {kind} reaches past the end of the file")))?;
        let stream = if tables.is_some() {
            let rest = data
                .get(2..)
                .ok_or_else(|| corrupt(format!("a JPEG {kind} of {count} bytes")))?;
            joined.clear();
            joined.extend_from_slice(prefix);
            joined.extend_from_slice(rest);
            &joined[..]
        } else {
            data
        };
        let info = jpeg::preflight(stream).map_err(|e| match e {
            JpegError::Unsupported(m) => {
                DecodeError::Unsupported(format!("TIFF: a JPEG {kind} with {m} (not supported)"))
            }
            JpegError::Corrupt(m) => corrupt(format!("a {kind}'s JPEG: {m}")),
        })?;
        if info.width > chunk.0 || info.height > chunk.1 {
            return Err(corrupt(format!(
                "a {kind}'s JPEG is {}x{}, larger than its {kind} ({}x{})",
                info.width, info.height, chunk.0, chunk.1
            )));
        }
        most = most.max(chunk_peak(&info, stream.len()));
    }
    Ok(most)
}

/// What zune-jpeg holds decoding one chunk's JPEG for `tiff`: the stream (copied once by
/// `tiff`), the output in the JPEG's own components (no colour conversion is asked for), a
/// progressive file's coefficients (two bytes a sample), and its tables and row buffers.
fn chunk_peak(info: &JpegInfo, stream: usize) -> u64 {
    let samples =
        u64::from(info.width) * u64::from(info.height) * u64::from(info.components.max(1));
    let per_sample = if info.progressive { 3 } else { 1 };
    (stream as u64)
        .saturating_add(samples.saturating_mul(per_sample))
        .saturating_add(CHUNK_SLACK)
}
