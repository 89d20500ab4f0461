//! The two things the thumbnail path needs from a JPEG's Exif block: the orientation and where
//! the embedded thumbnail (IFD1 `JPEGInterchangeFormat`) lies.
//!
//! Owns: reading the TIFF structure of an APP1 Exif payload, every read bounds-checked (hostile
//! offsets give "no thumbnail", never a panic). Must not touch: decoding; it only finds bytes.
//! The orientation is read with the `image` crate's own parser, so the fast path and the full
//! decode always agree on which way is up.

use std::ops::Range;

use image::metadata::Orientation;

/// TIFF tag: compression (6 = old-style JPEG, what thumbnails use).
const COMPRESSION: u16 = 0x0103;
/// TIFF tag: offset of the JPEG thumbnail, from the start of the TIFF block.
const JPEG_OFFSET: u16 = 0x0201;
/// TIFF tag: length of the JPEG thumbnail in bytes.
const JPEG_LENGTH: u16 = 0x0202;

/// What the thumbnail path reads from an Exif block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Exif {
    /// How to turn the stored pixels upright (`NoTransforms` if absent or invalid).
    pub(super) orientation: Orientation,
    /// The embedded JPEG thumbnail, as a range of the TIFF block, if there is one.
    pub(super) thumbnail: Option<Range<usize>>,
}

impl Default for Exif {
    fn default() -> Self {
        Exif {
            orientation: Orientation::NoTransforms,
            thumbnail: None,
        }
    }
}

/// Parses a TIFF block (the APP1 payload after `Exif\0\0`).
pub(super) fn parse(tiff: &[u8]) -> Exif {
    Exif {
        orientation: Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms),
        thumbnail: thumbnail(tiff),
    }
}

/// Whether `orientation` swaps width and height.
pub(super) fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Byte order of a TIFF block.
#[derive(Clone, Copy)]
struct Tiff<'a> {
    data: &'a [u8],
    little: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The value of a SHORT or LONG entry with one value at entry offset `at`.
    fn scalar(&self, at: usize) -> Option<u32> {
        let (kind, count) = (self.u16(at + 2)?, self.u32(at + 4)?);
        match (kind, count) {
            (3, 1) => self.u16(at + 8).map(u32::from),
            (4, 1) => self.u32(at + 8),
            _ => None,
        }
    }
}

/// The IFD1 JPEG thumbnail's byte range, checked to lie inside the block.
fn thumbnail(data: &[u8]) -> Option<Range<usize>> {
    let little = match data.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let tiff = Tiff { data, little };
    let ifd0 = tiff.u32(4)? as usize;
    let entries0 = usize::from(tiff.u16(ifd0)?);
    let ifd1 = tiff.u32(ifd0.checked_add(2 + 12 * entries0)?)? as usize;
    if ifd1 == 0 || ifd1 == ifd0 {
        return None;
    }
    let entries1 = usize::from(tiff.u16(ifd1)?);
    let (mut offset, mut length, mut compression) = (None, None, None);
    for i in 0..entries1 {
        let at = ifd1 + 2 + 12 * i;
        match tiff.u16(at)? {
            JPEG_OFFSET => offset = tiff.scalar(at),
            JPEG_LENGTH => length = tiff.scalar(at),
            COMPRESSION => compression = tiff.scalar(at),
            _ => {}
        }
    }
    if compression.is_some_and(|c| c != 6) {
        return None;
    }
    let start = offset? as usize;
    let end = start.checked_add(length? as usize)?;
    let bytes = data.get(start..end)?;
    // A JPEG starts with SOI.
    bytes.starts_with(&[0xFF, 0xD8]).then_some(start..end)
}

/// A TIFF block with an orientation and an IFD1 JPEG thumbnail, written the way cameras do
/// (little-endian). Used by tests to build JPEGs that carry a thumbnail.
#[cfg(test)]
pub(crate) fn build(orientation: u16, thumbnail: &[u8]) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    // IFD0 at 8: one entry (orientation), then the offset of IFD1.
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, u32::from(orientation));
    let ifd1 = 8 + 2 + 12 + 4;
    t.extend_from_slice(&(ifd1 as u32).to_le_bytes());
    // IFD1: compression, offset, length; no next IFD; then the thumbnail.
    let data = ifd1 + 2 + 3 * 12 + 4;
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, COMPRESSION, 3, 6);
    entry(&mut t, JPEG_OFFSET, 4, data as u32);
    entry(&mut t, JPEG_LENGTH, 4, thumbnail.len() as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(thumbnail);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_orientation_and_thumbnail() {
        let thumb = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
        let tiff = build(6, &thumb);
        let exif = parse(&tiff);
        assert_eq!(exif.orientation, Orientation::Rotate90);
        let range = exif.thumbnail.unwrap();
        assert_eq!(&tiff[range], &thumb);
        assert!(swaps_axes(exif.orientation));
    }

    #[test]
    fn hostile_blocks_give_no_thumbnail_and_never_panic() {
        let tiff = build(3, &[0xFF, 0xD8, 0, 0]);
        for cut in 0..tiff.len() {
            let _ = parse(&tiff[..cut]);
        }
        for i in 0..tiff.len() {
            for v in [0x00, 0xFF, 0x7F] {
                let mut t = tiff.clone();
                t[i] = v;
                if let Some(r) = parse(&t).thumbnail {
                    assert!(r.end <= t.len());
                }
            }
        }
        // Not a JPEG at the offset.
        assert_eq!(parse(&build(1, b"abcd")).thumbnail, None);
        assert_eq!(parse(b"MM\0*\xff\xff\xff\xff"), Exif::default());
    }
}
