//! An ICO whose directory gives an entry a size its image does not have: the directory's
//! sizes set from the images themselves, in a copy, before `image`'s ICO decoder reads it.
//!
//! Owns: the walk over the icon directory and the rewrite of its width and height bytes.
//! Must not touch: the images, the decode itself (`image_rs.rs`).
//!
//! Windows and Pillow size an icon by its embedded PNG's `IHDR` or BMP's info header; the
//! directory's bytes only choose between entries. `image` 0.25 (`codecs/ico/decoder.rs`,
//! `read_image`) fails with `ImageEntryDimensionMismatch` when they differ, which icon
//! writers get wrong often enough (a 48 px image listed as 32). Upstream should trust the
//! embedded image and use the directory only to pick an entry. The walk costs 16 bytes per
//! entry, at most as many entries as the file has room for.

use std::borrow::Cow;

const DIRECTORY: usize = 6;
const ENTRY: usize = 16;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `bytes` with every entry's size set to its image's; borrowed when they all agree.
pub(crate) fn matched(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !bytes.starts_with(&[0, 0, 1, 0]) && !bytes.starts_with(&[0, 0, 2, 0]) {
        return Cow::Borrowed(bytes);
    }
    let Some(&[lo, hi]) = bytes.get(4..DIRECTORY) else {
        return Cow::Borrowed(bytes);
    };
    let count = usize::from(u16::from_le_bytes([lo, hi]));
    let mut changes = Vec::new();
    for i in 0..count {
        let at = DIRECTORY + i * ENTRY;
        let Some(entry) = bytes.get(at..at + ENTRY) else {
            break;
        };
        let offset = u32::from_le_bytes([entry[12], entry[13], entry[14], entry[15]]) as usize;
        let Some((width, height)) = image_size(bytes, offset) else {
            continue;
        };
        // The directory's byte: 0 stands for 256 (and `image` compares at most 256).
        let byte = |v: u32| if v >= 256 { 0 } else { v as u8 };
        let (w, h) = (byte(width), byte(height));
        if (entry[0], entry[1]) != (w, h) {
            changes.push((at, w, h));
        }
    }
    if changes.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut copy = bytes.to_vec();
    for (at, w, h) in changes {
        copy[at] = w;
        copy[at + 1] = h;
    }
    Cow::Owned(copy)
}

/// The size of the image at `offset`: a PNG's `IHDR`, or a BMP info header's width and half
/// its height (an icon's BMP stacks the colour image and its AND mask).
fn image_size(bytes: &[u8], offset: usize) -> Option<(u32, u32)> {
    let image = bytes.get(offset..)?;
    let be = |i: usize| Some(u32::from_be_bytes(image.get(i..i + 4)?.try_into().ok()?));
    let le = |i: usize| Some(i32::from_le_bytes(image.get(i..i + 4)?.try_into().ok()?));
    let (width, height) = if image.starts_with(PNG_SIGNATURE) {
        (be(16)?, be(20)?)
    } else {
        let (w, h) = (le(4)?, le(8)?);
        (u32::try_from(w).ok()?, h.unsigned_abs() / 2)
    };
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ico(entry: (u8, u8), image: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0, 1, 0, 1, 0, entry.0, entry.1, 0, 0, 1, 0, 32, 0];
        f.extend_from_slice(&(image.len() as u32).to_le_bytes());
        f.extend_from_slice(&22u32.to_le_bytes());
        f.extend_from_slice(image);
        f
    }

    #[test]
    fn entries_take_their_images_sizes() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R']);
        png.extend_from_slice(&48u32.to_be_bytes());
        png.extend_from_slice(&300u32.to_be_bytes());
        let listed = ico((32, 32), &png);
        let fixed = matched(&listed);
        assert_eq!((fixed[6], fixed[7]), (48, 0));
        assert!(matches!(matched(&ico((48, 0), &png)), Cow::Borrowed(_)));
        let mut bmp = 40u32.to_le_bytes().to_vec();
        bmp.extend_from_slice(&16i32.to_le_bytes());
        bmp.extend_from_slice(&32i32.to_le_bytes());
        let listed = ico((32, 32), &bmp);
        let fixed = matched(&listed);
        assert_eq!((fixed[6], fixed[7]), (16, 16));
        // An entry pointing nowhere is left for the decoder to refuse.
        let mut lost = ico((32, 32), &bmp);
        lost[18] = 0xff;
        assert!(matches!(matched(&lost), Cow::Borrowed(_)));
        assert!(matches!(matched(b"GIF89a"), Cow::Borrowed(_)));
    }
}
