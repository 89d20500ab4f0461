//! Unit tests of the AVIF decoder on the files in `tests/data/corpus/avif` (made with
//! avifenc; the `ref-*.webp` files are libavif's own decodes of them, see
//! tests/data/README.md): pixels against libavif's, orientation and crop, thumbnails,
//! animation, refusals from the headers, and the memory estimate against the real peak.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use super::*;
use crate::decode::test_util::{corpus, counting, mad};
use crate::decode::{Decoded, Decoders, resize};
use crate::request::Size;
use crate::variant::Variant;

pub(super) fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus(&format!("avif/{name}"))).unwrap()
}

fn reference(name: &str) -> RgbaImage {
    image::open(corpus(&format!("avif/ref-{name}.webp")))
        .unwrap()
        .into_rgba8()
}

pub(super) const LIMITS: Limits = Limits {
    max_pixels: 100_000_000,
    max_animation_frames: 1000,
};

/// Decodes through the registry (probe, limits, target, resize), like a load does.
pub(super) fn load(bytes: &[u8], size: Size, animated: bool) -> Result<Decoded, DecodeError> {
    let mut variant = Variant::of(size);
    variant.animated = animated;
    Decoders::builtin().decode(bytes, &variant, &LIMITS, &|| false)
}

fn full(name: &str) -> RgbaImage {
    let d = load(&read(name), Size::Original, false).unwrap();
    assert_eq!(d.path, DecodePath::Original);
    d.pixels.into_first()
}

/// Mean difference of colour weighted by alpha, and of alpha (pixels under alpha 0 have no
/// colour to compare).
fn mad_alpha(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut sum = 0.0;
    for (p, q) in a.pixels().zip(b.pixels()) {
        let (pa, qa) = (f64::from(p.0[3]), f64::from(q.0[3]));
        for c in 0..3 {
            sum += (f64::from(p.0[c]) * pa - f64::from(q.0[c]) * qa).abs() / 255.0;
        }
        sum += (pa - qa).abs();
    }
    sum / (f64::from(a.width() * a.height()) * 4.0)
}

const STILLS: [&str; 9] = [
    "photo-8bit",
    "photo-10bit",
    "photo-12bit-444",
    "gray",
    "bt709-limited-422",
    "alpha",
    "alpha-premultiplied",
    "grid-2x2",
    "grid-alpha",
];

#[test]
fn sniffs_avif_brands_only() {
    for name in STILLS.iter().chain(&["animated"]) {
        let bytes = read(&format!("{name}.avif"));
        assert!(sniff(&bytes[..64.min(bytes.len())]), "{name}");
    }
    let mut heic = read("photo-8bit.avif")[..32].to_vec();
    heic[8..12].copy_from_slice(b"heic");
    heic[16..32].copy_from_slice(b"mif1heicmiafMA1B");
    assert!(!sniff(&heic));
    assert!(!sniff(b"\0\0\0\x0cJXL \r\n\x87\n"));
    assert!(!sniff(b"\0\0\0\x18ftyp"));
    assert!(!sniff(b""));
}

#[test]
fn stills_match_libavif() {
    for name in STILLS {
        let ours = full(&format!("{name}.avif"));
        let want = reference(name);
        assert_eq!(ours.dimensions(), want.dimensions(), "{name}");
        let diff = if name.contains("alpha") {
            mad_alpha(&ours, &want)
        } else {
            mad(&ours, &want)
        };
        assert!(diff < 1.0, "{name}: MAD {diff:.3} against libavif");
    }
}

#[test]
fn film_grain_is_applied_at_full_size_only() {
    let bytes = read("film-grain.avif");
    let ours = full("film-grain.avif");
    let want = reference("film-grain");
    let diff = mad(&ours, &want);
    assert!(diff < 1.0, "MAD {diff:.3} against libavif (with grain)");
    // The thumbnail skips the grain: it is close to libavif's image resized, but not equal
    // to a resize of the grainy full decode.
    let thumb = load(
        &bytes,
        Size::Thumbnail {
            width: 60,
            height: 60,
        },
        false,
    )
    .unwrap()
    .pixels
    .into_first();
    let resized = resize::rgba(want, thumb.dimensions()).unwrap();
    let diff = mad(&thumb, &resized);
    assert!(diff < 3.0, "thumbnail MAD {diff:.3}");
}

#[test]
fn orientation_follows_irot_then_imir() {
    // The same AV1 data as photo-8bit, with properties that Pillow reports as these EXIF
    // orientations.
    let base = reference("photo-8bit");
    for (name, exif) in [
        ("rotated-mirrored", 7u8),
        ("rotated-270", 6),
        ("mirrored-vertical", 4),
    ] {
        let bytes = read(&format!("{name}.avif"));
        let probe = Avif.probe(&bytes).unwrap();
        let want_orientation = Orientation::from_exif(exif).unwrap();
        assert_eq!(probe.orientation, want_orientation, "{name}");
        let mut want = image::DynamicImage::ImageRgba8(base.clone());
        want.apply_orientation(want_orientation);
        let ours = full(&format!("{name}.avif"));
        assert_eq!(ours.dimensions(), want.to_rgba8().dimensions(), "{name}");
        let diff = mad(&ours, &want.to_rgba8());
        assert!(diff < 1.0, "{name}: MAD {diff:.3}");
    }
}

#[test]
fn orientation_table_agrees_with_the_operations() {
    // irot turns anticlockwise; imir 0 swaps top and bottom, 1 left and right.
    let img = RgbaImage::from_fn(3, 2, |x, y| image::Rgba([x as u8, y as u8, 0, 255]));
    for rotation in 0..4u8 {
        for mirror in [None, Some(0), Some(1)] {
            let mut want = image::DynamicImage::ImageRgba8(img.clone());
            for _ in 0..rotation {
                want = want.rotate270();
            }
            match mirror {
                Some(0) => want = want.flipv(),
                Some(_) => want = want.fliph(),
                None => {}
            }
            let got = orient_image(img.clone(), orientation(rotation, mirror));
            assert_eq!(got, want.to_rgba8(), "irot {rotation} imir {mirror:?}");
        }
    }
}

#[test]
fn clean_aperture_crops_before_anything_else() {
    let bytes = read("cropped.avif");
    let probe = Avif.probe(&bytes).unwrap();
    assert_eq!((probe.width, probe.height), (150, 100));
    let ours = full("cropped.avif");
    let want = image::imageops::crop_imm(&reference("photo-8bit"), 30, 20, 150, 100).to_image();
    let diff = mad(&ours, &want);
    assert!(diff < 1.0, "MAD {diff:.3}");
}

#[test]
fn thumbnails_match_libavif_resized() {
    let names = STILLS
        .iter()
        .map(|n| (format!("{n}.avif"), reference(n)))
        .chain(std::iter::once((
            "cropped.avif".to_string(),
            image::imageops::crop_imm(&reference("photo-8bit"), 30, 20, 150, 100).to_image(),
        )));
    for (name, want) in names {
        let bytes = read(&name);
        for size in [
            Size::Thumbnail {
                width: 64,
                height: 64,
            },
            // 7 times smaller: decoded without the in-loop filters (`skips_filters`).
            Size::Thumbnail {
                width: 32,
                height: 32,
            },
            Size::Cover {
                width: 50,
                height: 50,
            },
        ] {
            let thumb = load(&bytes, size, false).unwrap().pixels.into_first();
            let target = Target::of(size);
            let (w, h) = want.dimensions();
            let want = target.finish(resize::rgba(want.clone(), target.decode_size(w, h)).unwrap());
            let want = want.unwrap();
            assert_eq!(thumb.dimensions(), want.dimensions(), "{name} {size:?}");
            let diff = if name.contains("alpha") {
                mad_alpha(&thumb, &want)
            } else {
                mad(&thumb, &want)
            };
            assert!(diff < 1.5, "{name} {size:?}: MAD {diff:.3}");
        }
    }
}

#[test]
fn animation_decodes_every_frame_with_its_delay() {
    let bytes = read("animated.avif");
    let strip = reference("animated");
    let d = load(&bytes, Size::Original, true).unwrap();
    let frames = d.pixels.frames().unwrap();
    assert_eq!(frames.len(), 5);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.delay, std::time::Duration::from_millis(100), "frame {i}");
        let want = image::imageops::crop_imm(&strip, 160 * i as u32, 0, 160, 120).to_image();
        let diff = mad(&f.image, &want);
        assert!(diff < 1.0, "frame {i}: MAD {diff:.3}");
    }
    // No edit list: it loops for ever, as browsers play it.
    let crate::loaded::Pixels::Animated(a) = &d.pixels else {
        panic!("not animated")
    };
    assert_eq!(a.loop_count(), crate::loaded::LoopCount::Infinite);
    // Thumbnails of every frame; a still request shows the primary item.
    let small = load(
        &bytes,
        Size::Thumbnail {
            width: 40,
            height: 40,
        },
        true,
    )
    .unwrap();
    let small = small.pixels.frames().unwrap().to_vec();
    assert_eq!(small.len(), 5);
    assert!(small.iter().all(|f| f.image.dimensions() == (40, 30)));
    let still = load(&bytes, Size::Original, false).unwrap().pixels;
    assert!(still.frames().is_none());
    assert!(
        mad(
            still.first(),
            &image::imageops::crop_imm(&strip, 0, 0, 160, 120).to_image()
        ) < 1.0
    );
}

#[test]
fn frame_limits_refuse_before_decoding() {
    let bytes = read("animated.avif");
    let mut variant = Variant::of(Size::Original);
    variant.animated = true;
    let few = Limits {
        max_animation_frames: 4,
        ..LIMITS
    };
    let r = Decoders::builtin().decode(&bytes, &variant, &few, &|| false);
    assert_eq!(r.unwrap_err(), DecodeError::TooManyFrames { frames: 5 });
    let small = Limits {
        max_pixels: 160 * 120 * 4,
        ..LIMITS
    };
    let r = Decoders::builtin().decode(&bytes, &variant, &small, &|| false);
    assert!(
        matches!(r, Err(DecodeError::FramesTooLarge { frames: 5, .. })),
        "{r:?}"
    );
}

#[test]
fn a_header_that_lies_is_refused_from_the_headers() {
    // ispe says 8000x8000; the AV1 sequence header 240x160.
    let bytes = read("lying-size.avif");
    let (r, peak) = counting::peak_during(|| load(&bytes, Size::Original, false));
    match r {
        Err(DecodeError::Corrupt(m)) => assert!(m.contains("8000x8000"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(peak < 256 << 10, "peak {peak}");
    // ispe smaller than the frame: the decoder's frame limit refuses the frame.
    let mut small = read("photo-8bit.avif");
    let i = small.windows(4).position(|w| w == b"ispe").unwrap();
    small[i + 8..i + 16].copy_from_slice(&[0, 0, 0, 120, 0, 0, 0, 80]);
    let r = load(&small, Size::Original, false);
    assert!(matches!(r, Err(DecodeError::Corrupt(_))), "{r:?}");
    // Over the pixel limit: refused before anything is decoded.
    let tight = Limits {
        max_pixels: 1000,
        ..LIMITS
    };
    let r = Decoders::builtin().decode(
        &read("photo-8bit.avif"),
        &Variant::of(Size::Original),
        &tight,
        &|| false,
    );
    assert_eq!(
        r.unwrap_err(),
        DecodeError::TooLarge {
            width: 240,
            height: 160
        }
    );
}

#[test]
fn truncated_files_are_refused_before_decoding() {
    let bytes = read("truncated.avif");
    let (r, peak) = counting::peak_during(|| load(&bytes, Size::Original, false));
    match r {
        Err(DecodeError::Corrupt(m)) => assert!(m.contains("truncated"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(peak < 256 << 10, "peak {peak}");
    let whole = read("photo-8bit.avif");
    for len in [0, 20, 100, 400, whole.len() - 1] {
        let r = load(&whole[..len], Size::Original, false);
        assert!(
            matches!(
                r,
                Err(DecodeError::Corrupt(_) | DecodeError::Unsupported(_))
            ),
            "{len}: {r:?}"
        );
    }
}

#[test]
fn the_reservation_covers_the_real_peak() {
    let mut files: Vec<String> = STILLS.iter().map(|n| format!("{n}.avif")).collect();
    files.extend(
        [
            "cropped.avif",
            "rotated-mirrored.avif",
            "film-grain.avif",
            "flat-4096.avif",
        ]
        .map(String::from),
    );
    for name in files {
        let bytes = read(&name);
        let probe = Avif.probe(&bytes).unwrap();
        for size in [
            Size::Original,
            Size::Thumbnail {
                width: 256,
                height: 256,
            },
            Size::Cover {
                width: 100,
                height: 60,
            },
        ] {
            let target = Target::of(size);
            let estimate = Avif.peak_bytes(&bytes, &probe, target);
            let (r, peak) = counting::peak_during(|| load(&bytes, size, false));
            r.unwrap();
            assert!(
                peak <= estimate,
                "{name} {size:?}: peak {peak} over the estimate {estimate}"
            );
        }
    }
    let bytes = read("animated.avif");
    let Some(info) = Avif.animation(&bytes, &LIMITS).unwrap() else {
        panic!("not an animation")
    };
    for size in [
        Size::Original,
        Size::Thumbnail {
            width: 50,
            height: 50,
        },
    ] {
        let estimate = Avif.frames_peak_bytes(&bytes, &info, Target::of(size));
        let (r, peak) = counting::peak_during(|| load(&bytes, size, true));
        r.unwrap();
        assert!(peak <= estimate, "animation {size:?}: {peak} > {estimate}");
    }
}

#[test]
fn only_reductions_by_four_or_more_skip_the_in_loop_filters() {
    assert!(skips_filters((4240, 2832), (256, 171)));
    assert!(skips_filters((1024, 1024), (256, 256)));
    assert!(!skips_filters((1023, 1024), (256, 256)));
    assert!(!skips_filters((240, 160), (64, 43)));
    // A cover's decode size keeps the short side: the smaller reduction decides.
    assert!(!skips_filters((4000, 600), (1707, 256)));
    assert!(!skips_filters((1, 1), (0, 0)));
}
