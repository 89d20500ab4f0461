//! TGA (Truevision Targa): told from the bytes by a strict header plausibility check, decoded
//! by the `image` crate's TGA decoder.
//!
//! Owns: the TGA sniff (TGA has no magic bytes: `image::guess_format` never names it), the
//! checks that run before `image`'s decoder sees the bytes (footer offsets, the data the
//! header's size needs, the attribute bits `image` reads differently from libtga and Pillow),
//! and the TGA probe. Must not touch: the decode itself (`formats/image_rs.rs`), any other
//! format, resizing or colours (the registry's).
//!
//! The sniff is tried after every other format (`Decoders::new` pushes it last), so a file
//! another format claims is never read as TGA; and it is strict, so that the text, markup and
//! unknown bytes that reach it are still "not an image": colour-map type 0 or 1, an image type
//! with pixels (1, 2, 3, 9, 10, 11), colour-map fields that agree with the type, a pixel depth
//! the type allows, attribute bits that fit in it, no interleaving bits, a non-zero size. The
//! TGA 2.0 footer, when present, must point inside the file.
//!
//! Variants: uncompressed and RLE, colour-mapped (8/16-bit indices into 15/16/24/32-bit
//! entries), true colour 15/16/24/32-bit, gray 8-bit and gray+alpha 16-bit, all four origins.
//! Not decoded: types 32 and 33 (Huffman/quadtree, never seen outside the 1989 spec) and
//! 1-bit gray. The 15/16-bit attribute bit is not read as alpha (as `image` does: writers
//! leave it 0 in opaque images).

use std::borrow::Cow;

use image::ImageFormat;

use crate::decode::formats::image_rs;
use crate::decode::{DecodeError, FormatDecoder, Limits, Output, Probe, Target};

/// The header's length: id length, colour-map type, image type, colour-map spec (5 bytes),
/// x/y origin, width, height, pixel depth, descriptor.
const HEADER: usize = 18;
/// The TGA 2.0 footer: extension offset, developer offset, signature.
const FOOTER: usize = 26;
const SIGNATURE: &[u8] = b"TRUEVISION-XFILE.\0";

/// The built-in TGA decoder.
pub(crate) struct Tga;

/// The header fields the checks read.
#[derive(Debug, Clone, Copy)]
struct Header {
    id_length: usize,
    map_type: u8,
    image_type: u8,
    map_origin: usize,
    map_length: usize,
    map_entry_bits: u8,
    width: u32,
    height: u32,
    depth: u8,
    descriptor: u8,
}

impl Header {
    fn read(b: &[u8]) -> Option<Header> {
        let b = b.get(..HEADER)?;
        let le = |i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
        Some(Header {
            id_length: usize::from(b[0]),
            map_type: b[1],
            image_type: b[2],
            map_origin: le(3),
            map_length: le(5),
            map_entry_bits: b[7],
            width: le(12) as u32,
            height: le(14) as u32,
            depth: b[16],
            descriptor: b[17],
        })
    }

    fn mapped(&self) -> bool {
        self.image_type & !8 == 1
    }

    fn gray(&self) -> bool {
        self.image_type & !8 == 3
    }

    fn rle(&self) -> bool {
        self.image_type & 8 != 0
    }

    fn alpha_bits(&self) -> u8 {
        self.descriptor & 0x0f
    }

    /// Bytes of the colour map that follows the id.
    fn map_bytes(&self) -> usize {
        if self.map_type == 1 {
            self.map_length * usize::from(self.map_entry_bits).div_ceil(8)
        } else {
            0
        }
    }

    /// Bytes per stored pixel (or index).
    fn pixel_bytes(&self) -> usize {
        usize::from(self.depth).div_ceil(8)
    }

    /// Whether the fields agree with each other as the TGA specification has them.
    fn plausible(&self) -> bool {
        if !matches!(self.image_type, 1 | 2 | 3 | 9 | 10 | 11)
            || self.width == 0
            || self.height == 0
        {
            return false;
        }
        // Bits 6-7: the interleaving of TGA 1.0, never written since; a set bit is not TGA.
        if self.descriptor & 0xc0 != 0 {
            return false;
        }
        let map_ok = match self.map_type {
            // No colour map: its fields are all zero (every writer leaves them so); the
            // entry size alone is sometimes left set.
            0 => {
                !self.mapped()
                    && self.map_origin == 0
                    && self.map_length == 0
                    && matches!(self.map_entry_bits, 0 | 15 | 16 | 24 | 32)
            }
            1 => {
                matches!(self.map_entry_bits, 15 | 16 | 24 | 32)
                    && self.map_length > 0
                    && self.map_origin + self.map_length <= 1 << 16
            }
            _ => false,
        };
        let depth_ok = if self.mapped() {
            matches!(self.depth, 8 | 16) && self.alpha_bits() <= 8
        } else if self.gray() {
            matches!((self.depth, self.alpha_bits()), (8, 0) | (16, 0 | 8))
        } else {
            matches!(
                (self.depth, self.alpha_bits()),
                (15 | 16, 0 | 1) | (24, 0 | 8) | (32, 0 | 8)
            )
        };
        map_ok && depth_ok
    }
}

impl Tga {
    /// `bytes` checked against what the header claims, with the attribute bits normalised to
    /// what `image`'s decoder expects where Pillow and libtga read the file regardless: gray
    /// 16-bit is gray+alpha whatever the descriptor says, 24-bit has no alpha bits. A copy is
    /// made only for such a file.
    fn checked(bytes: &[u8]) -> Result<(Header, Cow<'_, [u8]>), DecodeError> {
        let corrupt = |m: &str| DecodeError::Corrupt(format!("TGA: {m}"));
        let header = Header::read(bytes)
            .filter(Header::plausible)
            .ok_or_else(|| corrupt("not a plausible header"))?;
        let mut end = bytes.len();
        if let Some(footer) = bytes.len().checked_sub(FOOTER).map(|at| &bytes[at..])
            && footer.ends_with(SIGNATURE)
        {
            end -= FOOTER;
            for at in [0, 4] {
                let offset = u32::from_le_bytes([
                    footer[at],
                    footer[at + 1],
                    footer[at + 2],
                    footer[at + 3],
                ]) as usize;
                if offset != 0 && !(HEADER..end).contains(&offset) {
                    return Err(corrupt("the footer points outside the file"));
                }
            }
        }
        let start = HEADER + header.id_length + header.map_bytes();
        let data = end
            .checked_sub(start)
            .filter(|&n| n > 0)
            .ok_or_else(|| corrupt("no pixel data after the header"))?;
        // Cost follows the bytes received: a raw image needs all its bytes, and an RLE
        // packet (a count and at least one pixel) stands for at most 128 pixels. So a tiny
        // file declaring 65535 x 65535 is refused before a buffer of that size exists.
        let pixels = u64::from(header.width) * u64::from(header.height);
        let per = header.pixel_bytes() as u64;
        let enough = if header.rle() {
            (data as u64).div_ceil(1 + per) * 128 >= pixels
        } else {
            data as u64 >= pixels * per
        };
        if !enough {
            return Err(corrupt(
                "truncated: fewer bytes than the header's size needs",
            ));
        }
        let descriptor = match (header.gray(), header.depth) {
            (true, 16) => header.descriptor | 8,
            (false, 24) if !header.mapped() => header.descriptor & !0x0f,
            _ => header.descriptor,
        };
        if descriptor == header.descriptor {
            return Ok((header, Cow::Borrowed(bytes)));
        }
        let mut copy = bytes.to_vec();
        copy[17] = descriptor;
        Ok((header, Cow::Owned(copy)))
    }
}

impl FormatDecoder for Tga {
    fn sniff(&self, head: &[u8]) -> bool {
        Header::read(head).is_some_and(|h| h.plausible())
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let (header, bytes) = Tga::checked(bytes)?;
        // `image`'s header read: refuses what its decoder cannot decode (1-bit, indices
        // wider than their entries) before any pixel buffer.
        let (_, decoder) = image_rs::open_as(&bytes, Some(ImageFormat::Tga))?;
        let mut probe = Probe::sized(
            header.width,
            header.height,
            image::metadata::Orientation::NoTransforms,
            decoder.total_bytes(),
        );
        // `image` copies the stored indices or 16-bit pixels before expanding them.
        if header.mapped() || matches!(header.depth, 15 | 16) && !header.gray() {
            probe.scratch_bytes =
                u64::from(header.width) * u64::from(header.height) * header.pixel_bytes() as u64;
        }
        Ok(probe)
    }

    /// Checked again (the probe's repaired copy is not kept), then `image`'s TGA decoder.
    fn decode(
        &self,
        file: &[u8],
        _: &Probe,
        _: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let (_, bytes) = Tga::checked(file)?;
        image_rs::full_output(&bytes, limits, Some(ImageFormat::Tga))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(map_type: u8, image_type: u8, depth: u8, descriptor: u8) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[1] = map_type;
        h[2] = image_type;
        if map_type == 1 {
            h[5] = 2; // two entries
            h[7] = 24;
        }
        h[12] = 2; // 2 x 1
        h[14] = 1;
        h[16] = depth;
        h[17] = descriptor;
        h
    }

    #[test]
    fn the_variants_sniff_and_their_neighbours_do_not() {
        for (map, ty, depth, desc) in [
            (0, 2, 24, 0),
            (0, 10, 32, 8 | 0x20),
            (0, 2, 16, 1 | 0x10),
            (1, 1, 8, 0),
            (1, 9, 8, 0x30),
            (0, 3, 8, 0),
            (0, 11, 16, 8),
        ] {
            assert!(
                Tga.sniff(&header(map, ty, depth, desc)),
                "{map} {ty} {depth}"
            );
        }
        for (map, ty, depth, desc) in [
            (2, 2, 24, 0),    // colour-map type out of range
            (0, 0, 24, 0),    // no image data
            (0, 4, 24, 0),    // unknown type
            (0, 1, 8, 0),     // colour-mapped without a map
            (0, 2, 12, 0),    // depth
            (0, 2, 24, 0x40), // interleaving
            (0, 3, 24, 0),    // gray depth
            (0, 2, 32, 4),    // attribute bits
        ] {
            assert!(
                !Tga.sniff(&header(map, ty, depth, desc)),
                "{map} {ty} {depth}"
            );
        }
        assert!(!Tga.sniff(&header(0, 2, 24, 0)[..17]), "short header");
        assert!(!Tga.sniff(b"<html><body>not an image</body></html>"));
        assert!(
            !Tga.sniff(b"\0\0\x02\0\x01\0\x10\x10"),
            "a CUR icon directory"
        );
    }

    /// Every file under `dir`, recursively.
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_other_test_file_sniffs_as_tga() {
        let mut all = Vec::new();
        files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
            &mut all,
        );
        assert!(all.len() > 500, "tests/data not found: {} files", all.len());
        for path in all {
            let bytes = std::fs::read(&path).unwrap();
            let head = &bytes[..bytes.len().min(1024)];
            assert!(!Tga.sniff(head), "{} sniffs as TGA", path.display());
        }
    }

    #[test]
    fn a_tiny_file_declaring_a_huge_image_is_refused_from_its_length() {
        let mut raw = header(0, 2, 24, 0);
        raw[12..16].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        raw.extend_from_slice(&[0; 64]);
        assert!(matches!(Tga.probe(&raw), Err(DecodeError::Corrupt(_))));
        let mut rle = raw.clone();
        rle[2] = 10;
        assert!(matches!(Tga.probe(&rle), Err(DecodeError::Corrupt(_))));
        // The same header over enough RLE packets for its pixels probes.
        let mut ok = header(0, 10, 24, 0);
        ok.extend_from_slice(&[0x81, 1, 2, 3]);
        assert_eq!(
            Tga.probe(&ok).ok().map(|p| (p.width, p.height)),
            Some((2, 1))
        );
    }

    #[test]
    fn a_footer_pointing_outside_the_file_is_refused() {
        let mut file = header(0, 2, 24, 0);
        file.extend_from_slice(&[0; 6]);
        let mut footer = 1_000_000u32.to_le_bytes().to_vec();
        footer.extend_from_slice(&[0; 4]);
        footer.extend_from_slice(SIGNATURE);
        let mut bad = file.clone();
        bad.extend_from_slice(&footer);
        assert!(matches!(Tga.probe(&bad), Err(DecodeError::Corrupt(_))));
        footer[..4].copy_from_slice(&0u32.to_le_bytes());
        file.extend_from_slice(&footer);
        assert!(Tga.probe(&file).is_ok());
    }
}
