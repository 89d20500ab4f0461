//! Unit tests of the JPEG XL decoder against the files in `tests/data/corpus/jxl` (made with
//! cjxl from the EXIF test photos; see tests/data/README.md) and, when it is installed,
//! against `djxl`'s output.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use std::path::Path;
use std::process::Command;

use image::imageops;

use super::*;
use crate::decode::test_util::{corpus, mad};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus(name)).unwrap()
}

const FILES: [(&str, (u32, u32)); 5] = [
    ("jxl/Landscape_1-d2.jxl", (1800, 1200)),
    ("jxl/Landscape_6-d2.jxl", (1800, 1200)),
    ("jxl/Portrait_8-d2.jxl", (1200, 1800)),
    ("jxl/Landscape_1-quarter-lossless.jxl", (450, 300)),
    ("jxl/basn6a08-lossless.jxl", (32, 32)),
];

#[test]
fn sniffs_both_forms() {
    for (name, _) in FILES {
        assert!(sniff(&read(name)[..12]), "{name}");
    }
    assert!(sniff(&[0xFF, 0x0A, 0, 0]));
    assert!(!sniff(b"\xFF\xD8\xFF\xE0"));
    assert!(!sniff(b"\0\0\0\x0cJXL "));
    assert!(!sniff(b""));
}

#[test]
fn dimensions_are_upright_and_need_only_the_header() {
    for (name, size) in FILES {
        let bytes = read(name);
        assert_eq!(dimensions(&bytes), Ok(size), "{name}");
        // The header is within the first few hundred bytes: the rest is never looked at.
        assert_eq!(
            dimensions(&bytes[..bytes.len().min(2048)]),
            Ok(size),
            "{name}"
        );
    }
    assert!(matches!(
        dimensions(b"\xFF\x0A"),
        Err(DecodeError::Corrupt(_))
    ));
    assert!(matches!(
        dimensions(b"GIF89a"),
        Err(DecodeError::Unsupported(_))
    ));
}

#[test]
fn pixel_limit_is_checked_from_the_header() {
    let bytes = read("jxl/Landscape_6-d2.jxl");
    // A truncated file is refused for its size before the missing data matters.
    assert_eq!(
        decode(&bytes[..4096], None, 1_000_000),
        Err(DecodeError::TooLarge {
            width: 1800,
            height: 1200
        })
    );
}

#[test]
fn truncated_and_damaged_files_are_errors() {
    let bytes = read("jxl/Landscape_1-d2.jxl");
    for len in [100, 4096, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                decode(&bytes[..len], None, u64::MAX),
                Err(DecodeError::Corrupt(_))
            ),
            "{len} bytes"
        );
    }
    let mut damaged = bytes.clone();
    for (i, b) in damaged.iter_mut().enumerate().skip(2000) {
        *b ^= (i * 7919) as u8;
    }
    assert!(decode(&damaged, None, u64::MAX).is_err());
}

/// The upright original JPEG of a corpus photo (orientation 0: already upright).
fn original(kind: &str) -> RgbaImage {
    image::open(corpus(&format!("exif/{kind}_0.jpg")))
        .unwrap()
        .into_rgba8()
}

#[test]
fn orientation_is_honoured() {
    let landscape = original("Landscape");
    let portrait = original("Portrait");
    for (name, reference) in [
        ("jxl/Landscape_1-d2.jxl", &landscape),
        ("jxl/Landscape_6-d2.jxl", &landscape),
        ("jxl/Portrait_8-d2.jxl", &portrait),
    ] {
        let img = decode(&read(name), None, u64::MAX).unwrap();
        let d = mad(&img, reference);
        assert!(d < 4.0, "{name}: MAD {d} against the upright original");
        let flipped = imageops::rotate180(&img);
        let wrong = mad(&flipped, reference);
        assert!(wrong > 4.0 * d, "{name}: rotated MAD {wrong} vs {d}");
    }
}

#[test]
fn lossless_alpha_is_exact() {
    let img = decode(&read("jxl/basn6a08-lossless.jxl"), None, u64::MAX).unwrap();
    let png = image::open(corpus("pngsuite/basn6a08.png"))
        .unwrap()
        .into_rgba8();
    assert_eq!(img, png);
}

#[test]
fn thumbnails_fit_the_box_and_are_never_upscaled() {
    let cases = [
        ("jxl/Landscape_6-d2.jxl", (256, 256), (256, 171)),
        ("jxl/Portrait_8-d2.jxl", (256, 256), (171, 256)),
        ("jxl/Landscape_1-d2.jxl", (100, 400), (100, 67)),
        ("jxl/basn6a08-lossless.jxl", (256, 256), (32, 32)),
    ];
    for (name, target, size) in cases {
        let thumb = decode(&read(name), Some(target), u64::MAX).unwrap();
        assert_eq!(thumb.dimensions(), size, "{name}");
    }
    // The thumbnail is the full image resized: close to the original resized the same way.
    let thumb = decode(&read("jxl/Landscape_6-d2.jxl"), Some((256, 256)), u64::MAX).unwrap();
    let reference = resize::rgba(original("Landscape"), (256, 171)).unwrap();
    let d = mad(&thumb, &reference);
    assert!(d < 3.0, "thumbnail MAD {d}");
}

/// `djxl`'s decode of `path` as RGBA8, or `None` (with a message) when djxl is not installed.
fn djxl(path: &Path) -> Option<RgbaImage> {
    let out = std::env::temp_dir().join(format!(
        "webimage-djxl-{}-{}.png",
        std::process::id(),
        path.file_stem().unwrap().to_string_lossy()
    ));
    match Command::new("djxl").arg(path).arg(&out).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("djxl failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            eprintln!(
                "SKIPPED: djxl is not installed (Debian: apt-get install libjxl-tools); \
                 .ci/run installs it"
            );
            return None;
        }
    }
    let img = image::open(&out).unwrap().into_rgba8();
    std::fs::remove_file(&out).unwrap();
    Some(img)
}

#[test]
fn matches_djxl_within_mad_2() {
    for (name, _) in FILES {
        let Some(reference) = djxl(&corpus(name)) else {
            return;
        };
        let ours = decode(&read(name), None, u64::MAX).unwrap();
        let d = mad(&ours, &reference);
        assert!(d < 2.0, "{name}: MAD {d} against djxl");
        eprintln!("{name}: MAD {d:.3} against djxl");
    }
}
