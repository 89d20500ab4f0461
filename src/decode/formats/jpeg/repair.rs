//! The header segments zune-jpeg refuses and libjpeg reads past: repaired in a copy before
//! zune-jpeg (directly, or through `image`) sees the file.
//!
//! Owns: one walk over the segments before the first scan, and the rewrite of an Adobe APP14
//! segment zune-jpeg 0.5 would fail the whole decode on. Must not touch: any other segment,
//! the entropy-coded data, the choice of path (`super`).
//!
//! libjpeg (`jdmarker.c`, `get_interesting_appn` / `examine_app14`) reads an Adobe segment
//! only when it holds the 12 bytes of the Adobe block, and otherwise skips it; an unknown
//! colour transform is a warning (`JWRN_ADOBE_XFORM`) and the default colour space. zune-jpeg
//! (`headers.rs`, `parse_app14`) fails both: "Too short of a length for App14 segment" and
//! "Unknown Adobe colorspace". Upstream should skip a short segment and fall back to the
//! default on an unknown transform, as libjpeg does. Until then: a short Adobe segment is
//! renamed APP15 (which every decoder skips), and an unknown transform is rewritten to the
//! colour space our own decoder chose for the file (`jpeg::read_info`), so the full-size and
//! the scaled paths agree. A file with neither problem is not copied.
//!
//! The other APPn and COM segments need nothing: zune-jpeg skips any length of them (a length
//! under 2 is a corrupt file for libjpeg too), and a segment shorter than its contents leaves
//! bytes before the next marker, which both skip.

use std::borrow::Cow;

use crate::decode::jpeg::{self, ColorSpace};

/// The Adobe block: "Adobe", version (2), flags0 (2), flags1 (2), transform (1).
const ADOBE_BLOCK: usize = 12;

/// `bytes` as zune-jpeg can read them: borrowed unless an APP14 segment needs the repair.
pub(super) fn for_zune(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut fixes = Vec::new();
    let mut at = 2;
    while let [0xFF, marker, ..] = bytes.get(at..).unwrap_or_default() {
        let marker = *marker;
        match marker {
            // Fill bytes before a marker.
            0xFF => {
                at += 1;
                continue;
            }
            // Standalone markers: TEM, RST0-7.
            0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            // The first scan or the end: nothing after is a header.
            0xDA | 0xD9 => break,
            _ => {}
        }
        let Some(&[hi, lo]) = bytes.get(at + 2..at + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len < 2 {
            break;
        }
        if marker == 0xEE {
            // zune-jpeg looks for "Adobe" whatever the length says, as here.
            let payload = bytes.get(at + 4..).unwrap_or_default();
            if payload.starts_with(b"Adobe") {
                if len - 2 < ADOBE_BLOCK {
                    fixes.push(Fix::Rename(at + 1));
                } else if payload.get(ADOBE_BLOCK - 1).is_some_and(|&t| t > 2) {
                    fixes.push(Fix::Transform(at + 4 + ADOBE_BLOCK - 1));
                }
            }
        }
        at += 2 + len;
    }
    if fixes.is_empty() {
        return Cow::Borrowed(bytes);
    }
    // The transform our decoder reads for the file (libjpeg's default for 3 components).
    let transform = match jpeg::read_info(bytes).map(|i| i.color) {
        Ok(ColorSpace::Rgb | ColorSpace::Cmyk) => 0,
        Ok(ColorSpace::Ycck) => 2,
        _ => 1,
    };
    let mut copy = bytes.to_vec();
    for fix in fixes {
        match fix {
            Fix::Rename(at) => copy[at] = 0xEF,
            Fix::Transform(at) => copy[at] = transform,
        }
    }
    Cow::Owned(copy)
}

/// One byte to change.
enum Fix {
    /// The marker byte of a short Adobe segment, to APP15.
    Rename(usize),
    /// An unknown transform byte.
    Transform(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_app14(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xEE];
        f.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        f.extend_from_slice(payload);
        f.extend_from_slice(&[0xFF, 0xD9]);
        f
    }

    #[test]
    fn only_the_segments_zune_refuses_are_changed() {
        let good = with_app14(b"Adobe\x00\x64\x00\x00\x00\x00\x01");
        assert!(matches!(for_zune(&good), Cow::Borrowed(_)));
        let short = with_app14(b"Adobe\x00\x64");
        let fixed = for_zune(&short);
        assert_eq!(fixed[3], 0xEF);
        assert_eq!(fixed[4..], short[4..]);
        let unknown = with_app14(b"Adobe\x00\x64\x00\x00\x00\x00\x07");
        let fixed = for_zune(&unknown);
        assert_eq!(fixed[4 + 2 + 11], 1, "no frame: the 3-component default");
        assert_eq!(fixed.len(), unknown.len());
        let other = with_app14(b"NotAdobe\0");
        assert!(matches!(for_zune(&other), Cow::Borrowed(_)));
        assert!(matches!(for_zune(&[0xFF, 0xD8, 0xFF]), Cow::Borrowed(_)));
    }
}
