//! BMP (issue 22): RLE8 and RLE4 decoded here as Pillow and Windows read them; the header
//! repairs that let the `image` crate's decoder read the other BMPs the reference decoders
//! read.
//!
//! Owns: the RLE sniff (a `BM` file whose info header says RLE8 or RLE4), its probe and its
//! decode to RGBA8, and [`repaired`], the copy of an uncompressed BMP's header `image` would
//! refuse. Must not touch: uncompressed and bit-field BMPs (`formats/image_rs.rs` decodes
//! them through `image`), any other format, resizing or colours (the registry's).
//!
//! Why RLE is decoded here: `image` 0.25 refuses what Pillow, Windows and browsers show, a
//! top-down RLE bitmap (`ImageTypeInvalidForTopDown`), an RLE4 run or an absolute run longer
//! than what is left of its row, a delta past the row's end (all `CorruptRleData`). The
//! decoder here follows Pillow's `BmpRleDecoder`: runs are clipped to their row (and a run
//! after a full row, before its end-of-line, is empty, as in `image`), absolute runs go on
//! into the next row, a delta moves right and up, what a delta or an early end-of-line
//! skips is palette index 0; bottom-up and top-down both read. It differs where Pillow
//! fails the file: data that ends with an end-of-bitmap code before the bitmap is full is
//! index 0 to the end (as `image` and Windows show it); a stream cut off with no end code is
//! `Decode` (as both refuse it).
//!
//! Cost: one index per pixel and the RGBA8 result, both counted in the probe (width times
//! height from the header, within `max_pixels` and the budget before anything is allocated).
//! RLE rightly lets a few bytes cover the whole bitmap (a single end-of-bitmap code), so the
//! size is the header's, bounded by the limits, as for every format.
//!
//! Repairs for `image` (the bytes copied only when one applies): a plane count other than 1
//! is read as 1 (Pillow and Windows ignore it; `image` refuses `MoreThanOnePlane`); the OS/2
//! 2.x header of 64 bytes, whose first 40 are the Windows info header, is cut to those 40 and
//! the pixel offset moved with it (`image` knows no header of 64 bytes), except with OS/2
//! compression 3 and 4 (Huffman 1D, RLE24), which nothing here decodes.

use std::borrow::Cow;

use image::metadata::Orientation;
use image::{Rgba, RgbaImage};

use crate::decode::color::Raster;
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, check_pixels,
};

/// File header (14 bytes) and the info header fields read here (to the colour count).
const HEADERS: usize = 14 + 40;
/// The Windows info header sizes (v1 to v5) and OS/2 2.x's, all starting the same way.
const INFO_SIZES: [u32; 6] = [40, 52, 56, 64, 108, 124];
/// OS/2 2.x's header size.
const OS2_V2: u32 = 64;

/// The built-in RLE BMP decoder.
pub(crate) struct BmpRle;

/// What an RLE BMP's headers say.
#[derive(Debug, Clone, Copy)]
struct Header {
    width: u32,
    height: u32,
    top_down: bool,
    rle4: bool,
    /// Where the palette starts and how many entries it has.
    palette: (usize, usize),
    /// Where the RLE data starts.
    data: usize,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The info header size and compression of a `BM` file with an info header, if it is one.
fn info(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < HEADERS || !b.starts_with(b"BM") {
        return None;
    }
    let size = le32(b, 14);
    INFO_SIZES.contains(&size).then(|| (size, le32(b, 30)))
}

impl Header {
    /// The headers of an RLE8 or RLE4 BMP; `None` for any other file.
    fn read(b: &[u8]) -> Option<Result<Header, DecodeError>> {
        let (size, compression) = info(b)?;
        let rle4 = match compression {
            1 => false,
            2 => true,
            _ => return None,
        };
        let corrupt = |m: &str| Some(Err(DecodeError::Corrupt(format!("BMP: {m}"))));
        let (width, height) = (le32(b, 18) as i32, le32(b, 22) as i32);
        if width <= 0 || height == 0 || height == i32::MIN {
            return corrupt("the size is not positive");
        }
        let bits = le16(b, 28);
        if bits != if rle4 { 4 } else { 8 } {
            return corrupt("the bit depth does not match the RLE compression");
        }
        let colors = match le32(b, 46) as usize {
            0 => 1 << bits,
            n if n <= 1 << bits => n,
            _ => return corrupt("more colours than the bit depth has"),
        };
        let start = 14 + size as usize;
        let data = le32(b, 10) as usize;
        if start + 4 * colors > b.len() || data > b.len() {
            return corrupt("the palette or the pixel data is outside the file");
        }
        Some(Ok(Header {
            width: width as u32,
            height: height.unsigned_abs(),
            top_down: height < 0,
            rle4,
            palette: (start, colors),
            data,
        }))
    }

    fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl FormatDecoder for BmpRle {
    fn sniff(&self, head: &[u8]) -> bool {
        Header::read(head).is_some()
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let header = Header::read(bytes).unwrap_or_else(|| Err(not_rle()))?;
        // One index per pixel (`native_bytes`), expanded to the RGBA8 result.
        Ok(Probe::sized(
            header.width,
            header.height,
            Orientation::NoTransforms,
            header.pixels(),
        ))
    }

    fn decode(
        &self,
        bytes: &[u8],
        _: &Probe,
        _: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let header = Header::read(bytes).unwrap_or_else(|| Err(not_rle()))?;
        check_pixels(header.width, header.height, limits)?;
        let indices = expand(&bytes[header.data..], &header)?;
        let (at, count) = header.palette;
        let palette: Vec<Rgba<u8>> = (0..256)
            .map(|i| match bytes.get(at + 4 * i..at + 4 * i + 3) {
                Some(&[b, g, r]) if i < count => Rgba([r, g, b, 255]),
                _ => Rgba([0, 0, 0, 255]),
            })
            .collect();
        let width = header.width as usize;
        let image = RgbaImage::from_fn(header.width, header.height, |x, y| {
            // Bottom-up files store the bottom row first.
            let row = if header.top_down {
                y
            } else {
                header.height - 1 - y
            } as usize;
            palette[usize::from(indices[row * width + x as usize])]
        });
        Ok(Output {
            image: Raster::Rgba8(image),
            path: DecodePath::FullDecode,
        })
    }
}

fn not_rle() -> DecodeError {
    DecodeError::Unsupported("not an RLE BMP".into())
}

/// The palette indices `data` codes for, in the order stored (row 0 first), Pillow's way
/// (the module doc says where it differs).
fn expand(data: &[u8], header: &Header) -> Result<Vec<u8>, DecodeError> {
    let width = header.width as usize;
    let total = header.pixels() as usize;
    let mut out: Vec<u8> = Vec::with_capacity(total);
    let mut at = 0;
    // The column, as Pillow counts it: only an end-of-line or a delta brings it back into
    // the row, so a run after a full row is empty.
    let mut x = 0;
    let cut = || DecodeError::Corrupt("BMP: the RLE data ends before its end code".into());
    while out.len() < total {
        let (&count, &code) = (
            data.get(at).ok_or_else(cut)?,
            data.get(at + 1).ok_or_else(cut)?,
        );
        at += 2;
        if count > 0 {
            // An encoded run, clipped to its row; RLE4 alternates the code's two nibbles.
            let n = usize::from(count)
                .min(width.saturating_sub(x))
                .min(total - out.len());
            let pair = if header.rle4 {
                [code >> 4, code & 15]
            } else {
                [code, code]
            };
            out.extend((0..n).map(|i| pair[i % 2]));
            x += n;
            continue;
        }
        match code {
            0 => {
                // End of line: the rest of the row is index 0 (none after a full row).
                out.resize(out.len().next_multiple_of(width).min(total), 0);
                x = 0;
            }
            1 => break,
            2 => {
                let delta = data.get(at..at + 2).ok_or_else(cut)?;
                at += 2;
                let skip = usize::from(delta[0]) + usize::from(delta[1]) * width;
                out.resize((out.len() + skip).min(total), 0);
                x = out.len() % width;
            }
            n => {
                // Absolute: `n` indices (two per byte in RLE4), padded to a 16-bit boundary.
                let n = usize::from(n);
                let kept = n.min(total - out.len());
                let stored = if header.rle4 { n.div_ceil(2) } else { n };
                let run = data.get(at..at + stored).ok_or_else(cut)?;
                at += stored + stored % 2;
                if header.rle4 {
                    out.extend(run.iter().flat_map(|b| [b >> 4, b & 15]).take(kept));
                } else {
                    out.extend_from_slice(&run[..kept]);
                }
                x += n;
            }
        }
    }
    out.resize(total, 0);
    Ok(out)
}

/// `bytes` with the header fields `image` refuses repaired (the module doc lists them); the
/// bytes themselves where none applies.
pub(crate) fn repaired(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some((size, compression)) = info(bytes) else {
        return Cow::Borrowed(bytes);
    };
    let os2 = size == OS2_V2 && compression <= 2 && bytes.len() >= 14 + 64;
    if le16(bytes, 26) == 1 && !os2 {
        return Cow::Borrowed(bytes);
    }
    let mut out = bytes.to_vec();
    out[26..28].copy_from_slice(&1u16.to_le_bytes());
    if os2 {
        out.drain(14 + 40..14 + 64);
        out[14..18].copy_from_slice(&40u32.to_le_bytes());
        let offset = le32(bytes, 10).saturating_sub(24);
        out[10..14].copy_from_slice(&offset.to_le_bytes());
        let file_size = le32(bytes, 2).saturating_sub(24);
        out[2..6].copy_from_slice(&file_size.to_le_bytes());
    }
    Cow::Owned(out)
}
