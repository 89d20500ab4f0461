//! A PNG gray image of 1, 2 or 4 bits whose `tRNS` value is out of its bit depth's range:
//! masked to the range in a copy before the `png` crate reads it, as libpng does.
//!
//! Owns: one walk over the chunks before the image data, and the rewrite of that one
//! `tRNS` chunk (value and CRC). Must not touch: any other chunk, the decode itself
//! (`image_rs.rs`).
//!
//! libpng (`pngrtran.c`, `png_do_expand`) compares a low-depth gray sample with the `tRNS`
//! value masked to the depth (`gray & 0x01` for 1 bit, `& 0x03`, `& 0x0f`), and so do Pillow
//! and the browsers; writers that store the value scaled to 8 or 16 bits (`0x00ff`, `0xffff`
//! for white in a 1-bit image) rely on that. The `png` crate 0.18 (`parse_trns` keeps the low
//! byte, `expand_gray_u8_with_trns` compares it unmasked) finds no pixel equal to `0xff` and
//! returns the image opaque. Upstream should mask the value in `parse_trns` to the bit depth.

use std::borrow::Cow;

const SIGNATURE: usize = 8;

/// `bytes` with an out-of-range low-depth gray `tRNS` value masked; borrowed when none is.
pub(crate) fn masked(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some(at) = trns_to_mask(bytes) else {
        return Cow::Borrowed(bytes);
    };
    let mut copy = bytes.to_vec();
    let (depth, start) = at;
    let value = u16::from_be_bytes([copy[start], copy[start + 1]]) & ((1 << depth) - 1);
    copy[start..start + 2].copy_from_slice(&value.to_be_bytes());
    // The chunk's CRC covers its type and data: the two value bytes.
    let crc = crc32fast::hash(&copy[start - 4..start + 2]);
    copy[start + 2..start + 6].copy_from_slice(&crc.to_be_bytes());
    Cow::Owned(copy)
}

/// The bit depth and the offset of the `tRNS` value to mask, if there is one.
fn trns_to_mask(bytes: &[u8]) -> Option<(u8, usize)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut at = SIGNATURE;
    let mut depth = None;
    loop {
        let head = bytes.get(at..at.checked_add(8)?)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let start = at + 8;
        let data = bytes.get(start..start.checked_add(len)?)?;
        match &head[4..8] {
            // Gray (colour type 0) of 1, 2 or 4 bits, or nothing to do.
            b"IHDR" => match data.get(8..10)? {
                &[d @ (1 | 2 | 4), 0] => depth = Some(d),
                _ => return None,
            },
            b"tRNS" if len == 2 && bytes.len() >= start + 6 => {
                let depth = depth?;
                let value = u16::from_be_bytes([data[0], data[1]]);
                return (value >= 1 << depth).then_some((depth, start));
            }
            b"IDAT" | b"IEND" => return None,
            _ => {}
        }
        at = start + len + 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32fast::hash(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }

    fn gray(depth: u8, trns: u16) -> Vec<u8> {
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = [0u8; 13];
        ihdr[3] = 8;
        ihdr[7] = 1;
        ihdr[8] = depth;
        f.extend(chunk(b"IHDR", &ihdr));
        f.extend(chunk(b"tRNS", &trns.to_be_bytes()));
        f.extend(chunk(b"IEND", &[]));
        f
    }

    #[test]
    fn the_value_is_masked_to_the_depth_with_a_valid_crc() {
        for (depth, value, want) in [(1, 0xffff, 1), (1, 0x00ff, 1), (2, 0x00ff, 3), (4, 0x12, 2)] {
            let file = gray(depth, value);
            let fixed = masked(&file);
            assert_eq!(*fixed, *gray(depth, want), "depth {depth} value {value:#x}");
        }
        for (depth, value) in [(1, 1), (4, 15), (8, 0xffff)] {
            assert!(matches!(masked(&gray(depth, value)), Cow::Borrowed(_)));
        }
        assert!(matches!(masked(b"\x89PNG\r\n\x1a\n\0\0"), Cow::Borrowed(_)));
    }
}
