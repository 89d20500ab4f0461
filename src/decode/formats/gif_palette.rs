//! A GIF without a global colour table: given the gray ramp Pillow reads such a file with,
//! in a copy, before the `gif` crate sees it.
//!
//! Owns: the check of the logical screen descriptor's colour-table flag and the inserted
//! table. Must not touch: the frames (a frame's local table still wins over the inserted
//! one), the decode itself (`image_rs.rs`), animations (`decode/animation.rs`).
//!
//! The GIF specification lets a file carry no colour table at all ("a decoder may use a
//! system default"); Pillow reads one as gray, index `i` as `(i, i, i)`, and so do giflib's
//! tools. The `gif` crate 0.14 (`reader/mod.rs`, `next_frame_info`) fails the frame with "no
//! color table available for current frame" instead. Upstream should fall back to a default
//! table. The copy costs the file's length plus 768 bytes, once per decode.

use std::borrow::Cow;

/// Signature (6) and logical screen descriptor (7).
const HEADER: usize = 13;
/// The packed byte of the logical screen descriptor.
const PACKED: usize = 10;

/// `bytes` with a 256-entry gray global table when the GIF has none; borrowed otherwise.
pub(crate) fn with_default(bytes: &[u8]) -> Cow<'_, [u8]> {
    let gif = bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a");
    if !gif || bytes.len() < HEADER || bytes[PACKED] & 0x80 != 0 {
        return Cow::Borrowed(bytes);
    }
    let mut copy = Vec::with_capacity(bytes.len() + 768);
    copy.extend_from_slice(&bytes[..HEADER]);
    // Table present, 2^(7+1) entries; the colour resolution and sort bits kept.
    copy[PACKED] |= 0x80 | 0x07;
    copy.extend((0..=255u8).flat_map(|i| [i, i, i]));
    copy.extend_from_slice(&bytes[HEADER..]);
    Cow::Owned(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gif_without_a_global_table_gets_one() {
        let bare = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,rest";
        let fixed = with_default(bare);
        assert_eq!(fixed.len(), bare.len() + 768);
        assert_eq!(fixed[PACKED], 0x87);
        assert_eq!(&fixed[HEADER + 3 * 200..HEADER + 3 * 201], &[200, 200, 200]);
        assert_eq!(&fixed[HEADER + 768..], &bare[HEADER..]);
        let with_table = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff;";
        assert!(matches!(with_default(with_table), Cow::Borrowed(_)));
        assert!(matches!(with_default(b"GIF89a\x01"), Cow::Borrowed(_)));
        assert!(matches!(with_default(b"\x89PNG...."), Cow::Borrowed(_)));
    }
}
