//! Colour management against LittleCMS: files made here carrying Adobe RGB (1998), ProPhoto,
//! Display P3 and CMYK profiles (JPEG, progressive JPEG, PNG 8 and 16 bits, WebP, TIFF, GIF),
//! PNG `gAMA`/`cHRM` and `cICP`: webimage's full decode and its thumbnail are each within MAD
//! 1.5 of LittleCMS's conversion of the same file's pixels (the thumbnail against that
//! conversion resized with Lanczos3), while the unconverted pixels are far off (so the test
//! would fail without the conversion). Also: the colour target is part of the cache key, an app
//! profile as target, and profiles that cannot be used (ignored and counted, the image
//! delivered as stored).

use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};
use lcms2::PixelFormat;

use crate::support::color::{self as cms, opaque, resized};
use crate::support::photo::{self, mad};
use crate::support::*;
use webimage::{
    ColorTarget, Config, Decoder, DecoderError, IccProfile, ImageLoader, Request, Stats,
};

/// Largest mean absolute difference per sample (0..255) from LittleCMS.
const MAX_MAD: f64 = 1.5;
/// Smallest difference the conversion must make (the pixels as stored against the reference),
/// so that a file whose profile changed nothing could not pass.
const MIN_EFFECT: f64 = 2.0;

const SIZE: (u32, u32) = (640, 480);

fn loader() -> ImageLoader {
    ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap()
}

/// The photo the files are made from (sRGB).
fn picture() -> RgbImage {
    photo::photo(SIZE.0, SIZE.1, 7)
}

/// Loads `bytes` from the test server as `request` asks.
fn load(
    loader: &ImageLoader,
    server: &Server,
    name: &str,
    bytes: &[u8],
    request: impl Fn(Request) -> Request,
) -> RgbaImage {
    let route = format!("/{name}");
    server.route(&route, Route::ok(bytes.to_vec()));
    let image = loader
        .load_blocking(request(Request::new(server.url(&route))))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (**image.image()).clone()
}

/// Full size and a 160 px thumbnail within [`MAX_MAD`] of `reference`; the pixels as stored
/// at least [`MIN_EFFECT`] from it; one profile applied per load, none ignored.
fn check(name: &str, bytes: &[u8], reference: &RgbaImage) {
    let (loader, server) = (loader(), Server::start());
    let before = loader.stats();
    let full = load(&loader, &server, name, bytes, |r| r);
    let thumb = load(&loader, &server, name, bytes, |r| r.thumbnail(160, 160));
    let stored = load(&loader, &server, name, bytes, |r| {
        r.color(ColorTarget::AsStored)
    });
    let after = loader.stats();
    let (d_full, d_thumb) = (
        mad(&full, reference),
        mad(&thumb, &resized(reference, thumb.dimensions())),
    );
    let d_stored = mad(&stored, reference);
    eprintln!("{name:28} full {d_full:.3}  thumbnail {d_thumb:.3}  as stored {d_stored:.3}");
    assert!(d_full <= MAX_MAD, "{name}: full size MAD {d_full:.3}");
    assert!(d_thumb <= MAX_MAD, "{name}: thumbnail MAD {d_thumb:.3}");
    assert!(
        d_stored >= MIN_EFFECT,
        "{name}: the profile changes little ({d_stored:.3})"
    );
    assert_eq!(counted(&before, &after), (2, 0), "{name}: applied, ignored");
}

fn counted(before: &Stats, after: &Stats) -> (u64, u64) {
    (
        after.color_profiles_applied - before.color_profiles_applied,
        after.color_profiles_ignored - before.color_profiles_ignored,
    )
}

/// [`check`] against LittleCMS's conversion of the file's stored RGB from `profile`.
fn check_rgb(name: &str, file: &[u8], profile: &lcms2::Profile) {
    check(name, file, &cms::to_srgb(&stored_rgb(file), profile));
}

/// The file's own pixels, decoded without colour management by `image`.
fn stored_rgb(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).unwrap().into_rgb8()
}

/// The photo converted to Adobe RGB (1998) by LittleCMS, as a JPEG carrying that profile.
fn adobe_rgb_jpeg_file() -> (lcms2::Profile, Vec<u8>) {
    let profile = cms::adobe_rgb();
    let rgb = cms::into_space(&picture(), &profile);
    let file = cms::jpeg(&rgb, &cms::bytes(&profile), false);
    (profile, file)
}

#[test]
fn adobe_rgb_jpeg() {
    let (profile, file) = adobe_rgb_jpeg_file();
    check_rgb("adobe-rgb.jpg", &file, &profile);
}

#[test]
fn prophoto_progressive_jpeg_with_colours_outside_srgb() {
    // The photo's values taken as ProPhoto: far more saturated than sRGB can show, so the
    // conversion clips, as LittleCMS's does.
    let profile = cms::prophoto();
    let file = cms::jpeg(&picture(), &cms::bytes(&profile), true);
    check_rgb("prophoto.jpg", &file, &profile);
}

#[test]
fn display_p3_webp_tiff_and_gif() {
    let profile = cms::display_p3();
    let icc = cms::bytes(&profile);
    let p3 = DynamicImage::ImageRgb8(picture());
    for format in [ImageFormat::WebP, ImageFormat::Tiff] {
        let file = cms::with_icc(&p3, format, &icc);
        check(
            &format!("p3.{}", format.extensions_str()[0]),
            &file,
            &cms::to_srgb(&stored_rgb(&file), &profile),
        );
    }
    // GIF: the profile in its ICCRGBG1012 application extension.
    let file = cms::gif_with_icc(&opaque(&picture()), &icc);
    check_rgb("p3.gif", &file, &profile);
}

#[test]
fn every_frame_of_an_animation_is_converted() {
    use image::AnimationDecoder;
    let profile = cms::display_p3();
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for seed in 0..3 {
            let frame = opaque(&photo::photo(120, 90, seed));
            let delay = image::Delay::from_numer_denom_ms(100, 1);
            encoder
                .encode_frame(image::Frame::from_parts(frame, 0, 0, delay))
                .unwrap();
        }
    }
    let file = cms::insert_gif_icc(&gif, &cms::bytes(&profile));
    let (loader, server) = (loader(), Server::start());
    server.route("/p3-anim.gif", Route::ok(file.clone()));
    let loaded = loader
        .load_blocking(Request::new(server.url("/p3-anim.gif")).animated(true))
        .unwrap();
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&file)).unwrap();
    let stored: Vec<RgbaImage> = decoder
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect();
    let frames = loaded.frames().expect("an animation");
    assert_eq!(frames.len(), 3);
    for (frame, stored) in frames.iter().zip(&stored) {
        let reference = cms::to_srgb(
            &DynamicImage::ImageRgba8(stored.clone()).into_rgb8(),
            &profile,
        );
        let (d, raw) = (mad(&frame.image, &reference), mad(&frame.image, stored));
        assert!(
            d <= MAX_MAD && raw >= MIN_EFFECT,
            "frame: {d:.3} (as stored {raw:.3})"
        );
    }
    assert_eq!(counted(&Stats::default(), &loader.stats()), (1, 0));
}

#[test]
fn sixteen_bit_prophoto_png_is_converted_at_sixteen_bits() {
    let profile = cms::prophoto();
    let deep = DynamicImage::ImageRgb8(picture()).into_rgb16();
    // Smooth 16-bit values between the 8-bit levels.
    let deep = image::ImageBuffer::from_fn(deep.width(), deep.height(), |x, y| {
        let p = deep.get_pixel(x, y).0;
        image::Rgb(p.map(|v| v.saturating_add(((x * 7 + y * 3) % 257) as u16)))
    });
    let file = cms::with_icc(
        &DynamicImage::ImageRgb16(deep.clone()),
        ImageFormat::Png,
        &cms::bytes(&profile),
    );
    let reference = cms::to_srgb16(&deep, &profile);
    check("prophoto-16.png", &file, &reference);
    // Closer to LittleCMS at 16 bits than LittleCMS itself at 8 bits after narrowing.
    let full = load(&loader(), &Server::start(), "p16.png", &file, |r| r);
    let at_8 = cms::to_srgb(&DynamicImage::ImageRgb16(deep).into_rgb8(), &profile);
    let (ours, eight) = (mad(&full, &reference), mad(&at_8, &reference));
    eprintln!("16-bit: webimage {ours:.3}, LittleCMS at 8 bits {eight:.3}");
    assert!(ours < eight, "{ours:.3} vs {eight:.3}");
}

#[test]
fn cmyk_and_ycck_jpegs_through_their_profile() {
    let icc = cms::cmyk_profile(17);
    let profile = lcms2::Profile::new_icc(&icc).unwrap();
    let inks = cms::separate(&picture());
    for ycck in [false, true] {
        let file = cms::cmyk_jpeg(&inks, SIZE, &icc, ycck);
        // jpeg-decoder hands over the inks in ICC convention (0 = no ink).
        let mut d = jpeg_decoder::Decoder::new(&file[..]);
        let stored = d.decode().unwrap();
        assert_eq!(
            d.info().unwrap().pixel_format,
            jpeg_decoder::PixelFormat::CMYK32
        );
        let rgb = cms::lcms::<4, 3>(
            &stored,
            &profile,
            PixelFormat::CMYK_8,
            &cms::srgb(),
            PixelFormat::RGB_8,
        );
        let reference = opaque(&RgbImage::from_raw(SIZE.0, SIZE.1, rgb).unwrap());
        check(
            if ycck { "ycck.jpg" } else { "cmyk.jpg" },
            &file,
            &reference,
        );
    }
}

#[test]
fn png_gamma_with_chromaticities_and_cicp() {
    // gAMA 1/1.8 with the Adobe RGB primaries on a D65 white.
    let chrm = [31270u32, 32900, 64000, 33000, 21000, 71000, 15000, 6000];
    let gama = 55_556u32;
    let file = cms::png_with_chunks(
        &picture(),
        &[
            (b"gAMA", gama.to_be_bytes().to_vec()),
            (b"cHRM", chrm.iter().flat_map(|v| v.to_be_bytes()).collect()),
        ],
    );
    check(
        "gama-chrm.png",
        &file,
        &cms::to_srgb(&picture(), &cms::from_png_chunks(gama, chrm)),
    );
    // cICP: Display P3 primaries (12), sRGB transfer (13), RGB (0), full range.
    let file = cms::png_with_chunks(&picture(), &[(b"cICP", vec![12, 13, 0, 1])]);
    check(
        "cicp-p3.png",
        &file,
        &cms::to_srgb(&picture(), &cms::display_p3()),
    );
}

#[test]
fn the_target_is_part_of_the_cache_key_and_an_app_profile_can_be_it() {
    let (profile, file) = adobe_rgb_jpeg_file();
    let stored = stored_rgb(&file);
    let loader = ImageLoader::new(config(2)).unwrap();
    let server = Server::start();
    let srgb = load(&loader, &server, "a.jpg", &file, |r| r);
    let p3 = load(&loader, &server, "a.jpg", &file, |r| {
        r.color(ColorTarget::DisplayP3)
    });
    let app = IccProfile::new(cms::bytes(&cms::display_p3())).unwrap();
    let by_app = load(&loader, &server, "a.jpg", &file, |r| {
        r.color(ColorTarget::Icc(app.clone()))
    });
    let stats = loader.stats();
    assert_eq!(stats.network_requests, 3);
    assert_eq!(stats.memory_hits, 0, "three spaces, three entries");
    let lc = |to: &lcms2::Profile| {
        let out = cms::lcms::<3, 3>(
            &stored,
            &profile,
            PixelFormat::RGB_8,
            to,
            PixelFormat::RGB_8,
        );
        opaque(&RgbImage::from_raw(SIZE.0, SIZE.1, out).unwrap())
    };
    let p3_ref = lc(&cms::display_p3());
    assert!(mad(&srgb, &lc(&cms::srgb())) <= MAX_MAD);
    assert!(mad(&p3, &p3_ref) <= MAX_MAD, "{}", mad(&p3, &p3_ref));
    assert!(
        mad(&by_app, &p3_ref) <= MAX_MAD,
        "{}",
        mad(&by_app, &p3_ref)
    );
    assert!(mad(&srgb, &p3) >= MIN_EFFECT);
    // Each is served from memory afterwards, in its own space.
    let again = load(&loader, &server, "a.jpg", &file, |r| {
        r.color(ColorTarget::DisplayP3)
    });
    assert_eq!(mad(&again, &p3), 0.0);
    assert_eq!(loader.stats().memory_hits, 1);
    // The loader's own setting does the same as the request's.
    let wide = ImageLoader::new(Config {
        color: ColorTarget::DisplayP3,
        memory_cache_bytes: 0,
        ..config(1)
    })
    .unwrap();
    assert_eq!(mad(&load(&wide, &server, "a.jpg", &file, |r| r), &p3), 0.0);
}

#[test]
fn an_srgb_profile_changes_nothing_and_counts_nothing() {
    let file = cms::jpeg(&picture(), &cms::bytes(&cms::srgb()), false);
    let (loader, server) = (loader(), Server::start());
    let full = load(&loader, &server, "srgb.jpg", &file, |r| r);
    let stored = load(&loader, &server, "srgb.jpg", &file, |r| {
        r.color(ColorTarget::AsStored)
    });
    assert_eq!(mad(&full, &stored), 0.0);
    assert_eq!(counted(&Stats::default(), &loader.stats()), (0, 0));
}

#[test]
fn unusable_profiles_are_ignored_and_counted_and_the_image_still_loads() {
    let (loader, server) = (loader(), Server::start());
    let rgb = picture();
    let mut truncated = cms::bytes(&cms::adobe_rgb());
    truncated.truncate(100);
    let mut lying = cms::bytes(&cms::adobe_rgb());
    lying[0..4].copy_from_slice(&u32::MAX.to_be_bytes()); // declares 4 GiB
    lying[128..132].copy_from_slice(&u32::MAX.to_be_bytes()); // and 4 billion tags
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", vec![0x55; 3000]),
        ("truncated", truncated),
        ("lying", lying),
        // An RGB file with a CMYK profile, and a profile bigger than the 8 MiB cap (129
        // APP2 chunks of 64 KiB).
        ("cmyk-on-rgb", cms::cmyk_profile(5)),
        (
            "huge",
            [cms::bytes(&cms::adobe_rgb()), vec![0; 8 << 20]].concat(),
        ),
    ];
    for (name, icc) in cases {
        let file = cms::jpeg(&rgb, &icc, false);
        let before = loader.stats();
        let full = load(&loader, &server, name, &file, |r| r);
        let thumb = load(&loader, &server, name, &file, |r| r.thumbnail(100, 100));
        assert_eq!(counted(&before, &loader.stats()), (0, 2), "{name}");
        // As stored: what `image` decodes, and a thumbnail of it.
        assert_eq!(mad(&full, &opaque(&stored_rgb(&file))), 0.0, "{name}");
        assert_eq!(thumb.width(), 100, "{name}");
    }
    // JPEG ICC chunks that do not add up (two of a declared three): ignored.
    let mut file = cms::jpeg(&rgb, &cms::bytes(&cms::adobe_rgb()), false);
    let at = file
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .unwrap();
    file[at + 13] = 3;
    let before = loader.stats();
    load(&loader, &server, "chunks", &file, |r| r);
    assert_eq!(counted(&before, &loader.stats()), (0, 1));
}

/// An app's format: "P3RAW", then the photo's pixels in Display P3; its ICC profile handed
/// over through `Decoder::icc_profile`.
struct P3Raw;

impl Decoder for P3Raw {
    fn name(&self) -> &str {
        "P3RAW"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"P3RAW")
    }
    fn dimensions(&self, _bytes: &[u8]) -> Result<(u32, u32), DecoderError> {
        Ok(SIZE)
    }
    fn decode(&self, bytes: &[u8], _size: (u32, u32)) -> Result<RgbaImage, DecoderError> {
        let rgb = RgbImage::from_raw(SIZE.0, SIZE.1, bytes[5..].to_vec());
        Ok(opaque(&rgb.ok_or(DecoderError::Corrupt("size".into()))?))
    }
    fn icc_profile(&self, _bytes: &[u8]) -> Option<Vec<u8>> {
        Some(cms::bytes(&cms::display_p3()))
    }
}

#[test]
fn an_apps_own_decoder_hands_over_its_profile() {
    let loader = ImageLoader::new(Config {
        decoders: vec![std::sync::Arc::new(P3Raw)],
        ..config(1)
    })
    .unwrap();
    let file = [&b"P3RAW"[..], &picture()].concat();
    let full = load(&loader, &Server::start(), "x.p3raw", &file, |r| r);
    let reference = cms::to_srgb(&picture(), &cms::display_p3());
    assert!(
        mad(&full, &reference) <= MAX_MAD,
        "{}",
        mad(&full, &reference)
    );
    assert!(mad(&opaque(&picture()), &reference) >= MIN_EFFECT);
    assert_eq!(counted(&Stats::default(), &loader.stats()), (1, 0));
}

/// An AVIF with two `colr` boxes, a Display P3 ICC profile and an `nclx` saying sRGB, as
/// Pillow writes them: the profile wins (as in libavif), so the full decode and the thumbnail
/// match LittleCMS's P3 to sRGB conversion of the pixels as stored.
#[cfg(feature = "avif")]
#[test]
fn an_avif_icc_profile_wins_over_its_nclx() {
    let file = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/avif/p3-icc.avif"),
    )
    .unwrap();
    let (loader, server) = (loader(), Server::start());
    let stored = load(&loader, &server, "p3-icc.avif", &file, |r| {
        r.color(ColorTarget::AsStored)
    });
    let rgb = DynamicImage::ImageRgba8(stored).into_rgb8();
    check(
        "p3-icc.avif",
        &file,
        &cms::to_srgb(&rgb, &cms::display_p3()),
    );
}
