//! The colour engine on its own: the cache per digest and its bound, the identity test,
//! conversions of each pixel layout, PNG's colour chunks, and hostile profiles (ignored,
//! never a panic, never a lost image). Accuracy against LittleCMS on real files is in
//! `tests/it/color.rs`.
//!
//! Owns: nothing but these tests. Must not touch: anything outside `super`.

use crate::decode::test_util::Rng;
use std::sync::atomic::Ordering;

use image::{Rgba, RgbaImage};
use moxcms::ColorProfile;

use super::*;

fn icc(profile: ColorProfile) -> Vec<u8> {
    profile.encode().expect("moxcms encodes its own profiles")
}

fn rgb(bytes: Vec<u8>) -> Profile {
    Profile::Icc {
        bytes,
        model: Model::Rgb,
    }
}

/// A colourful opaque image with a few translucent pixels.
fn picture() -> RgbaImage {
    RgbaImage::from_fn(40, 30, |x, y| {
        let a = if x < 4 { 128 } else { 255 };
        Rgba([(x * 6) as u8, (y * 8) as u8, ((x + y) * 3) as u8, a])
    })
}

fn deliver(
    colors: &Colors,
    image: RgbaImage,
    profile: &Profile,
    target: &ColorTarget,
) -> (RgbaImage, Outcome) {
    colors
        .deliver(Raster::Rgba8(image), profile, target, Ok)
        .expect("never an error")
}

fn built(colors: &Colors) -> u64 {
    colors.built.load(Ordering::Relaxed)
}

#[test]
fn untagged_and_srgb_images_bound_for_srgb_are_left_alone_without_a_lookup() {
    let colors = Colors::default();
    for profile in [Profile::Unspecified, Profile::Srgb] {
        let (out, outcome) = deliver(&colors, picture(), &profile, &ColorTarget::Srgb);
        assert_eq!((worst(&out, &picture()), outcome), (0, Outcome::None));
    }
    assert_eq!(built(&colors), 0);
    assert_eq!(colors.cache.lock().len(), 0);
}

#[test]
fn an_srgb_icc_profile_is_measured_as_identity_and_not_run() {
    let colors = Colors::default();
    let (out, outcome) = deliver(
        &colors,
        picture(),
        &rgb(icc(ColorProfile::new_srgb())),
        &ColorTarget::Srgb,
    );
    assert_eq!((out, outcome), (picture(), Outcome::None));
    // Display P3 bound for Display P3 likewise.
    let p3 = rgb(icc(ColorProfile::new_display_p3()));
    let (out, outcome) = deliver(&colors, picture(), &p3, &ColorTarget::DisplayP3);
    assert_eq!((out, outcome), (picture(), Outcome::None));
}

#[test]
fn adobe_rgb_is_converted_alpha_kept_and_the_transform_cached_per_digest() {
    let colors = Colors::default();
    let adobe = rgb(icc(ColorProfile::new_adobe_rgb()));
    let (out, outcome) = deliver(&colors, picture(), &adobe, &ColorTarget::Srgb);
    assert_eq!(outcome, Outcome::Applied);
    assert_ne!(out, picture());
    // Adobe RGB's green is outside sRGB: pure green stays clipped at full green, and a
    // mid grey stays grey (the white points are both D65).
    let (g, _) = deliver(
        &colors,
        RgbaImage::from_pixel(1, 1, Rgba([0, 255, 0, 255])),
        &adobe,
        &ColorTarget::Srgb,
    );
    assert_eq!(g.get_pixel(0, 0).0[1], 255);
    assert!(g.get_pixel(0, 0).0[0] <= 1, "{:?}", g.get_pixel(0, 0));
    let (grey, _) = deliver(
        &colors,
        RgbaImage::from_pixel(1, 1, Rgba([128, 128, 128, 255])),
        &adobe,
        &ColorTarget::Srgb,
    );
    let p = grey.get_pixel(0, 0).0;
    assert!(
        p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
        "{p:?}"
    );
    for (a, b) in out.pixels().zip(picture().pixels()) {
        assert_eq!(a.0[3], b.0[3], "alpha kept");
    }
    assert_eq!(
        built(&colors),
        1,
        "one transform for three images with one profile"
    );
    // Another target is another transform; a second loader's engine has its own.
    deliver(&colors, picture(), &adobe, &ColorTarget::DisplayP3);
    assert_eq!(built(&colors), 2);
}

#[test]
fn the_cache_is_bounded_and_least_recently_used_goes_first() {
    let colors = Colors::default();
    let gammas: Vec<Profile> = (0..CACHED_TRANSFORMS as u32 + 4)
        .map(|i| Profile::Gamma {
            gamma: 30_000 + 1_000 * i,
            chrm: None,
        })
        .collect();
    for g in &gammas {
        deliver(&colors, picture(), g, &ColorTarget::Srgb);
    }
    assert_eq!(colors.cache.lock().len(), CACHED_TRANSFORMS);
    let before = built(&colors);
    deliver(
        &colors,
        picture(),
        gammas.last().unwrap(),
        &ColorTarget::Srgb,
    );
    assert_eq!(built(&colors), before, "the newest is still there");
    deliver(&colors, picture(), &gammas[0], &ColorTarget::Srgb);
    assert_eq!(built(&colors), before + 1, "the oldest was evicted");
}

#[test]
fn as_stored_converts_nothing_and_reads_nothing() {
    let colors = Colors::default();
    for profile in [
        rgb(icc(ColorProfile::new_adobe_rgb())),
        Profile::Invalid("broken"),
        Profile::Cicp([12, 13, 0, 1]),
    ] {
        let (out, outcome) = deliver(&colors, picture(), &profile, &ColorTarget::AsStored);
        assert_eq!((worst(&out, &picture()), outcome), (0, Outcome::None));
    }
    assert_eq!(built(&colors), 0);
}

#[test]
fn untagged_images_are_converted_as_srgb_to_another_target() {
    let colors = Colors::default();
    let red = RgbaImage::from_pixel(1, 1, Rgba([255, 0, 0, 255]));
    let (out, outcome) = deliver(&colors, red, &Profile::Unspecified, &ColorTarget::DisplayP3);
    assert_eq!(outcome, Outcome::None, "no declared profile was applied");
    // sRGB red inside Display P3 is about (234, 51, 35).
    let p = out.get_pixel(0, 0).0;
    assert!(
        p[0].abs_diff(234) <= 2 && p[1].abs_diff(51) <= 3 && p[2].abs_diff(35) <= 3,
        "{p:?}"
    );
}

#[test]
fn an_app_profile_as_target_gives_what_its_space_gives() {
    let colors = Colors::default();
    let p3 = crate::IccProfile::new(icc(ColorProfile::new_display_p3())).unwrap();
    let adobe = rgb(icc(ColorProfile::new_adobe_rgb()));
    let (by_app, _) = deliver(&colors, picture(), &adobe, &ColorTarget::Icc(p3));
    let (built_in, _) = deliver(&colors, picture(), &adobe, &ColorTarget::DisplayP3);
    let worst = by_app
        .as_raw()
        .iter()
        .zip(built_in.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(worst <= Some(1), "{worst:?}");
    // Not an RGB space, or not a profile at all: refused when made.
    assert!(crate::IccProfile::new(icc(ColorProfile::new_gray_with_gamma(2.2))).is_err());
    assert!(crate::IccProfile::new(vec![0; 200]).is_err());
}

#[test]
fn sixteen_bit_samples_are_converted_before_narrowing() {
    let colors = Colors::default();
    let adobe = rgb(icc(ColorProfile::new_adobe_rgb()));
    // A smooth ramp whose 16-bit values fall between 8-bit levels.
    let deep = Rgba16Image::from_fn(256, 4, |x, y| {
        let v = (x * 256 + y * 64) as u16;
        Rgba([v, v / 2, 65535 - v, 65535])
    });
    let (out, outcome) = colors
        .deliver(Raster::Rgba16(deep.clone()), &adobe, &ColorTarget::Srgb, Ok)
        .unwrap();
    assert_eq!(outcome, Outcome::Applied);
    // The same pixels narrowed first, then converted at 8 bits: a coarser result.
    let (coarse, _) = deliver(
        &colors,
        apply::narrow(deep.clone()),
        &adobe,
        &ColorTarget::Srgb,
    );
    let mut exact = deep;
    let t16 = ColorProfile::new_adobe_rgb()
        .create_transform_16bit(
            moxcms::Layout::Rgba,
            &ColorProfile::new_srgb(),
            moxcms::Layout::Rgba,
            Default::default(),
        )
        .unwrap();
    let src = exact.as_raw().clone();
    t16.transform(&src, &mut exact).unwrap();
    let exact = apply::narrow(exact);
    assert!(
        worst(&out, &exact) <= 1,
        "converted at 16 bits, then narrowed"
    );
    let off = |a: &RgbaImage| {
        a.as_raw()
            .iter()
            .zip(exact.as_raw())
            .filter(|(x, y)| x != y)
            .count()
    };
    assert!(
        off(&out) * 4 < off(&coarse),
        "{} vs {}",
        off(&out),
        off(&coarse)
    );
}

/// The largest difference of any sample.
fn worst(a: &RgbaImage, b: &RgbaImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn gray_profiles_apply_to_gray_images_only() {
    let colors = Colors::default();
    let gray = Profile::Icc {
        bytes: icc(ColorProfile::new_gray_with_gamma(1.0)),
        model: Model::Gray,
    };
    let level = RgbaImage::from_pixel(1, 1, Rgba([64, 64, 64, 255]));
    let (out, outcome) = deliver(&colors, level.clone(), &gray, &ColorTarget::Srgb);
    assert_eq!(outcome, Outcome::Applied);
    // Linear 64/255 is sRGB 137 or so: brighter, still neutral.
    let p = out.get_pixel(0, 0).0;
    assert!(p[0] > 120 && p[0] == p[1] && p[1] == p[2], "{p:?}");
    // A gray profile on a colour image, or an RGB one on a gray image: ignored, as stored.
    let misfit = Profile::Icc {
        bytes: icc(ColorProfile::new_gray_with_gamma(1.0)),
        model: Model::Rgb,
    };
    assert_eq!(
        deliver(&colors, level.clone(), &misfit, &ColorTarget::Srgb),
        (level, Outcome::Ignored)
    );
}

#[test]
fn cmyk_without_a_usable_profile_takes_the_plain_formula() {
    let colors = Colors::default();
    // Adobe-stored CMYK: 255 is no ink.
    let inks = RgbaImage::from_pixel(2, 1, Rgba([255, 0, 128, 255]));
    for (profile, expect) in [
        (Profile::Unspecified, Outcome::None),
        (Profile::Invalid("chunks"), Outcome::Ignored),
        (
            Profile::Icc {
                bytes: vec![1, 2, 3],
                model: Model::Cmyk,
            },
            Outcome::Ignored,
        ),
    ] {
        let (out, outcome) = colors
            .deliver(
                Raster::Cmyk8(inks.clone()),
                &profile,
                &ColorTarget::Srgb,
                Ok,
            )
            .unwrap();
        assert_eq!(outcome, expect);
        assert_eq!(out.get_pixel(0, 0).0, [255, 0, 128, 255]);
    }
}

/// The PNG signature, then chunks, then IDAT and IEND.
fn png_with(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut put = |kind: &[u8; 4], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&[0; 4]);
    };
    // 1x1, 8-bit RGB.
    put(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    for (kind, body) in chunks {
        put(kind, body);
    }
    put(b"IDAT", &[]);
    put(b"IEND", &[]);
    out
}

fn iccp(profile: &[u8]) -> Vec<u8> {
    let mut body = b"test\0\0".to_vec();
    body.extend_from_slice(&fdeflate::compress_to_vec(profile));
    body
}

#[test]
fn png_colour_chunks_take_the_specifications_precedence() {
    let profile = icc(ColorProfile::new_adobe_rgb());
    let gama = (b"gAMA", 100_000u32.to_be_bytes().to_vec());
    let srgb = (b"sRGB", vec![0]);
    let cicp = (b"cICP", vec![12, 13, 0, 1]);
    let iccp_chunk = (b"iCCP", iccp(&profile));
    assert_eq!(read::png(&png_with(&[])), Profile::Unspecified);
    assert_eq!(
        read::png(&png_with(std::slice::from_ref(&gama))),
        Profile::Gamma {
            gamma: 100_000,
            chrm: None
        }
    );
    assert_eq!(
        read::png(&png_with(&[gama.clone(), srgb.clone()])),
        Profile::Srgb
    );
    assert_eq!(
        read::png(&png_with(&[gama.clone(), srgb.clone(), iccp_chunk.clone()])),
        rgb(profile)
    );
    assert_eq!(
        read::png(&png_with(&[gama, srgb, iccp_chunk, cicp])),
        Profile::Cicp([12, 13, 0, 1])
    );
    // cHRM alone: those primaries with the sRGB curve.
    let chrm: Vec<u8> = [31270u32, 32900, 64000, 33000, 30000, 60000, 15000, 6000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    assert!(matches!(
        read::png(&png_with(&[(b"cHRM", chrm)])),
        Profile::Gamma {
            gamma: 45_455,
            chrm: Some(_)
        }
    ));
}

#[test]
fn broken_png_profiles_are_invalid_not_errors() {
    // Deflate output over the cap: a stream of zeros (a few KiB compressed) inflating to
    // 9 MiB is cut off at the cap, not allocated whole.
    let zeros = vec![0u8; MAX_PROFILE_BYTES + (1 << 20)];
    let mut body = b"big\0\0".to_vec();
    body.extend_from_slice(&fdeflate::compress_to_vec(&zeros));
    assert_eq!(
        read::png(&png_with(&[(b"iCCP", body)])),
        Profile::Invalid("ICC profile over 8 MiB")
    );
    let mut garbage = b"x\0\0".to_vec();
    garbage.extend_from_slice(&[1, 2, 3, 4]);
    assert_eq!(
        read::png(&png_with(&[(b"iCCP", garbage)])),
        Profile::Invalid("iCCP profile does not inflate")
    );
    assert_eq!(
        read::png(&png_with(&[(b"iCCP", b"x\0\x07abc".to_vec())])),
        Profile::Invalid("iCCP with an unknown compression method")
    );
    // Truncated in the middle of a chunk: what came before counts.
    let mut cut = png_with(&[
        (b"sRGB", vec![0]),
        (b"gAMA", 100_000u32.to_be_bytes().to_vec()),
    ]);
    cut.truncate(60);
    assert_eq!(read::png(&cut), Profile::Srgb);
    // A chunk length near u32::MAX does not overflow.
    let mut huge = png_with(&[]);
    huge[33..37].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(read::png(&huge), Profile::Unspecified);
}

#[test]
fn mutated_profiles_never_panic_and_never_lose_the_image() {
    let colors = Colors::default();
    let seeds = [
        icc(ColorProfile::new_adobe_rgb()),
        icc(ColorProfile::new_display_p3()),
        icc(ColorProfile::new_gray_with_gamma(2.2)),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut applied = 0;
    for i in 0..1500 {
        let mut bytes = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.next() % 6 {
            let at = (rng.next() as usize) % bytes.len();
            match rng.next() % 4 {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes[at] = 0xFF,
                2 => bytes[at] = 0,
                _ => bytes.truncate(at.max(1)),
            }
        }
        let (out, outcome) = deliver(&colors, picture(), &rgb(bytes), &ColorTarget::Srgb);
        assert_eq!(out.dimensions(), (40, 30));
        if outcome == Outcome::Applied {
            applied += 1;
        }
    }
    // Most mutations hit tag data that still parses; some do not.
    assert!(applied > 100, "{applied}");
}
