//! Colour test material, all made here: ICC profiles built with LittleCMS from published
//! primaries (Adobe RGB (1998), ROMM/ProPhoto, Display P3) and a CMYK press-like profile
//! written byte by byte (an ICC v2 output profile whose `A2B0` is a lut16 sampled from a simple
//! ink model); LittleCMS conversions as the reference; files carrying the profiles (JPEG, PNG,
//! WebP, TIFF, GIF); and pixel helpers.
//!
//! Why the reference's sRGB is a v2 profile: LittleCMS forces black point compensation in the
//! perceptual intent whenever a v4 profile takes part (its built-in sRGB is v4). Browsers
//! (skcms, qcms) and webimage convert without it, so the reference does too; for the
//! matrix-and-curves RGB profiles it changes nothing, for the CMYK profile it would move the
//! shadows.

use std::io::Cursor;

use image::{ImageEncoder, RgbImage, RgbaImage};
use lcms2::{CIExyY, CIExyYTRIPLE, Intent, PixelFormat, Profile, ToneCurve, Transform};

fn xy(x: f64, y: f64) -> CIExyY {
    CIExyY { x, y, Y: 1.0 }
}

fn rgb_profile(white: (f64, f64), primaries: [(f64, f64); 3], curve: &ToneCurve) -> Profile {
    let [r, g, b] = primaries;
    let triple = CIExyYTRIPLE {
        Red: xy(r.0, r.1),
        Green: xy(g.0, g.1),
        Blue: xy(b.0, b.1),
    };
    Profile::new_rgb(&xy(white.0, white.1), &triple, &[curve, curve, curve]).unwrap()
}

/// sRGB's curve as an ICC parametric curve (type 4).
fn srgb_curve() -> ToneCurve {
    ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045]).unwrap()
}

/// Adobe RGB (1998): D65, its primaries, gamma 563/256.
pub fn adobe_rgb() -> Profile {
    rgb_profile(
        (0.3127, 0.3290),
        [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)],
        &ToneCurve::new(563.0 / 256.0),
    )
}

/// ROMM RGB (ProPhoto): D50, its primaries, gamma 1.8.
pub fn prophoto() -> Profile {
    rgb_profile(
        (0.3457, 0.3585),
        [(0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)],
        &ToneCurve::new(1.8),
    )
}

/// Display P3: D65, the P3 primaries, the sRGB curve.
pub fn display_p3() -> Profile {
    rgb_profile(
        (0.3127, 0.3290),
        [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)],
        &srgb_curve(),
    )
}

/// The primaries and gamma of a PNG `gAMA`/`cHRM` pair, as an ICC profile (`chrm` as PNG
/// stores it: white, red, green, blue x, y times 100,000).
pub fn from_png_chunks(gamma: u32, chrm: [u32; 8]) -> Profile {
    let c = |i: usize| (f64::from(chrm[i]) / 1e5, f64::from(chrm[i + 1]) / 1e5);
    rgb_profile(
        c(0),
        [c(2), c(4), c(6)],
        &ToneCurve::new(100_000.0 / f64::from(gamma)),
    )
}

/// The reference's sRGB (v2: see the module doc).
pub fn srgb() -> Profile {
    let mut p = Profile::new_srgb();
    p.set_version(2.1);
    p
}

/// A profile's bytes.
pub fn bytes(profile: &Profile) -> Vec<u8> {
    profile.icc().unwrap()
}

/// `pixels` (packed, `channels` per pixel) converted by LittleCMS, perceptual intent.
pub fn lcms<const I: usize, const O: usize>(
    pixels: &[u8],
    from: &Profile,
    from_format: PixelFormat,
    to: &Profile,
    to_format: PixelFormat,
) -> Vec<u8> {
    let t: Transform<[u8; I], [u8; O]> =
        Transform::new(from, from_format, to, to_format, Intent::Perceptual).unwrap();
    let src: Vec<[u8; I]> = pixels
        .chunks_exact(I)
        .map(|c| c.try_into().unwrap())
        .collect();
    let mut out = vec![[0u8; O]; src.len()];
    t.transform_pixels(&src, &mut out);
    out.concat()
}

/// An sRGB picture converted into `to` by LittleCMS: what "Convert to Profile" in an editor
/// writes.
pub fn into_space(picture: &RgbImage, to: &Profile) -> RgbImage {
    let out = lcms::<3, 3>(picture, &srgb(), PixelFormat::RGB_8, to, PixelFormat::RGB_8);
    RgbImage::from_raw(picture.width(), picture.height(), out).unwrap()
}

/// RGB pixels in `from` as sRGB RGBA by LittleCMS: the reference.
pub fn to_srgb(rgb: &RgbImage, from: &Profile) -> RgbaImage {
    let out = lcms::<3, 3>(rgb, from, PixelFormat::RGB_8, &srgb(), PixelFormat::RGB_8);
    opaque(&RgbImage::from_raw(rgb.width(), rgb.height(), out).unwrap())
}

/// 16-bit RGB pixels in `from` as sRGB RGBA8, converted at 16 bits by LittleCMS, then
/// narrowed as `image` narrows.
pub fn to_srgb16(rgb: &image::ImageBuffer<image::Rgb<u16>, Vec<u16>>, from: &Profile) -> RgbaImage {
    let t: Transform<[u16; 3], [u16; 3]> = Transform::new(
        from,
        PixelFormat::RGB_16,
        &srgb(),
        PixelFormat::RGB_16,
        Intent::Perceptual,
    )
    .unwrap();
    let src: Vec<[u16; 3]> = rgb.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let mut out = vec![[0u16; 3]; src.len()];
    t.transform_pixels(&src, &mut out);
    let deep =
        image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(rgb.width(), rgb.height(), out.concat());
    image::DynamicImage::ImageRgb16(deep.unwrap()).into_rgba8()
}

/// `rgb` with opaque alpha.
pub fn opaque(rgb: &RgbImage) -> RgbaImage {
    image::DynamicImage::ImageRgb8(rgb.clone()).into_rgba8()
}

/// Mean absolute difference per sample, and the picture Lanczos3-resized to `size`.
pub fn resized(image: &RgbaImage, (w, h): (u32, u32)) -> RgbaImage {
    image::imageops::resize(image, w, h, image::imageops::FilterType::Lanczos3)
}

// ---------------------------------------------------------------------------------------------
// The CMYK profile

/// A press-like ink model: CMYK ink (0..1) to linear sRGB reflectance, with dot gain, impure
/// inks and a slightly warm paper.
fn ink_model([c, m, y, k]: [f64; 4]) -> [f64; 3] {
    let gain = |v: f64| 1.0 - (1.0 - v).powf(1.35);
    let (c, m, y, k) = (gain(c), gain(m), gain(y), gain(k));
    let r = (1.0 - 0.95 * c) * (1.0 - 0.08 * m) * (1.0 - 0.02 * y);
    let g = (1.0 - 0.25 * c) * (1.0 - 0.9 * m) * (1.0 - 0.06 * y);
    let b = (1.0 - 0.08 * c) * (1.0 - 0.35 * m) * (1.0 - 0.92 * y);
    let kk = 1.0 - 0.93 * k;
    [r * kk * 0.93, g * kk * 0.94, b * kk * 0.90]
}

/// Linear sRGB to CIELAB (D50, the ICC connection space), through Bradford-adapted XYZ.
fn lab(rgb: [f64; 3]) -> [f64; 3] {
    const M: [[f64; 3]; 3] = [
        [0.436_074_7, 0.385_064_9, 0.143_080_4],
        [0.222_504_5, 0.716_878_6, 0.060_616_9],
        [0.013_932_2, 0.097_104_5, 0.714_173_3],
    ];
    const WHITE: [f64; 3] = [0.9642, 1.0, 0.8249];
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let v: Vec<f64> = (0..3)
        .map(|i| f((0..3).map(|j| M[i][j] * rgb[j]).sum::<f64>() / WHITE[i]))
        .collect();
    [
        116.0 * v[1] - 16.0,
        500.0 * (v[0] - v[1]),
        200.0 * (v[1] - v[2]),
    ]
}

fn s15(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

/// An ICC v2 output profile, CMYK to Lab, whose `A2B0` is a lut16 (`mft2`) with a `grid`^4
/// table sampled from [`ink_model`]: what press profiles (FOGRA, SWOP) look like, made here.
pub fn cmyk_profile(grid: usize) -> Vec<u8> {
    let mut lut = b"mft2\0\0\0\0".to_vec();
    lut.extend_from_slice(&[4, 3, grid as u8, 0]);
    for i in 0..9 {
        lut.extend_from_slice(&s15(if i % 4 == 0 { 1.0 } else { 0.0 }));
    }
    lut.extend_from_slice(&[0, 2, 0, 2]); // two entries per input and output curve
    let identity = [0u8, 0, 0xFF, 0xFF];
    for _ in 0..4 {
        lut.extend_from_slice(&identity);
    }
    let at = |i: usize| i as f64 / (grid - 1) as f64;
    for c in 0..grid {
        for m in 0..grid {
            for y in 0..grid {
                for k in 0..grid {
                    let [l, a, b] = lab(ink_model([at(c), at(m), at(y), at(k)]));
                    // Version 2 Lab encoding: L 100 = 0xFF00, a and b 0 = 0x8000.
                    for v in [l * 652.8, (a + 128.0) * 256.0, (b + 128.0) * 256.0] {
                        lut.extend_from_slice(
                            &(v.clamp(0.0, 65535.0).round() as u16).to_be_bytes(),
                        );
                    }
                }
            }
        }
    }
    for _ in 0..3 {
        lut.extend_from_slice(&identity);
    }
    let mut wtpt = b"XYZ \0\0\0\0".to_vec();
    for v in [0.9642, 1.0, 0.8249] {
        wtpt.extend_from_slice(&s15(v));
    }
    let text = b"webimage test CMYK\0";
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&(text.len() as u32).to_be_bytes());
    desc.extend_from_slice(text);
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
    let tags: [(&[u8; 4], Vec<u8>); 3] = [(b"desc", desc), (b"wtpt", wtpt), (b"A2B0", lut)];
    let mut out = vec![0u8; 128];
    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    let mut offset = 128 + 4 + 12 * tags.len();
    let mut placed = Vec::new();
    for (sig, data) in &tags {
        offset = offset.next_multiple_of(4);
        out.extend_from_slice(&sig[..]);
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        placed.push(offset);
        offset += data.len();
    }
    for ((_, data), at) in tags.iter().zip(placed) {
        out.resize(at, 0);
        out.extend_from_slice(data);
    }
    let size = out.len() as u32;
    out[0..4].copy_from_slice(&size.to_be_bytes());
    out[8..12].copy_from_slice(&[2, 0x10, 0, 0]);
    out[12..16].copy_from_slice(b"prtr");
    out[16..20].copy_from_slice(b"CMYK");
    out[20..24].copy_from_slice(b"Lab ");
    out[36..40].copy_from_slice(b"acsp");
    out[68..80].copy_from_slice(&wtpt_bytes());
    out
}

fn wtpt_bytes() -> Vec<u8> {
    [0.9642, 1.0, 0.8249].iter().flat_map(|&v| s15(v)).collect()
}

/// An sRGB picture separated into inks (ICC convention, 0 = no ink) by plain grey component
/// replacement: content for the CMYK files (the profile, not this, decides their colours).
pub fn separate(picture: &RgbImage) -> Vec<u8> {
    picture
        .pixels()
        .flat_map(|p| {
            let [r, g, b] = p.0.map(|v| f64::from(v) / 255.0);
            let k = 1.0 - r.max(g).max(b);
            let ink = |v: f64| {
                if k >= 1.0 {
                    0.0
                } else {
                    (1.0 - v - k) / (1.0 - k)
                }
            };
            [ink(r), ink(g), ink(b), k].map(|v| (v * 255.0).round() as u8)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files carrying profiles

/// A 4:2:0 JPEG of `rgb` carrying `icc`.
pub fn jpeg(rgb: &RgbImage, icc: &[u8], progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 90);
    e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    e.set_progressive(progressive);
    e.add_icc_profile(icc).unwrap();
    e.encode(
        rgb,
        rgb.width() as u16,
        rgb.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    out
}

/// A CMYK JPEG (Adobe APP14; stored inverted, as Photoshop writes it) of `inks` (ICC
/// convention), as YCCK if asked, carrying `icc`.
pub fn cmyk_jpeg(inks: &[u8], (w, h): (u32, u32), icc: &[u8], ycck: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 92);
    e.add_icc_profile(icc).unwrap();
    let kind = if ycck {
        jpeg_encoder::ColorType::CmykAsYcck
    } else {
        jpeg_encoder::ColorType::Cmyk
    };
    e.encode(inks, w as u16, h as u16, kind).unwrap();
    out
}

/// `image` encoded by `image`'s encoder for `format`, carrying `icc`.
pub fn with_icc(image: &image::DynamicImage, format: image::ImageFormat, icc: &[u8]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let (w, h, color) = (image.width(), image.height(), image.color().into());
    let icc = icc.to_vec();
    match format {
        image::ImageFormat::Png => {
            let mut e = image::codecs::png::PngEncoder::new(&mut out);
            e.set_icc_profile(icc).unwrap();
            e.write_image(image.as_bytes(), w, h, color).unwrap();
        }
        image::ImageFormat::WebP => {
            let mut e = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            e.set_icc_profile(icc).unwrap();
            e.write_image(image.as_bytes(), w, h, color).unwrap();
        }
        image::ImageFormat::Tiff => {
            let mut e = image::codecs::tiff::TiffEncoder::new(&mut out);
            e.set_icc_profile(icc).unwrap();
            e.write_image(image.as_bytes(), w, h, color).unwrap();
        }
        other => panic!("no ICC encoder for {other:?} here"),
    }
    out.into_inner()
}

/// A PNG of `rgb` with extra chunks (`cICP`, `gAMA`, `cHRM`) right after `IHDR`.
pub fn png_with_chunks(rgb: &RgbImage, chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut png = Cursor::new(Vec::new());
    rgb.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    // Signature (8) and IHDR (4 + 4 + 13 + 4).
    let mut out = png[..33].to_vec();
    for (kind, body) in chunks {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&kind[..]);
        crc.update(body);
        out.extend_from_slice(&kind[..]);
        out.extend_from_slice(body);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    out.extend_from_slice(&png[33..]);
    out
}

/// A GIF of `rgba` (quantised by the encoder) carrying `icc`.
pub fn gif_with_icc(rgba: &RgbaImage, icc: &[u8]) -> Vec<u8> {
    let mut gif = Cursor::new(Vec::new());
    rgba.write_to(&mut gif, image::ImageFormat::Gif).unwrap();
    insert_gif_icc(&gif.into_inner(), icc)
}

/// `gif` with `icc` in an `ICCRGBG1012` application extension before the first image, where
/// the GIF ICC convention puts it.
pub fn insert_gif_icc(gif: &[u8], icc: &[u8]) -> Vec<u8> {
    // Header (6), logical screen descriptor (7), then the global colour table if flagged.
    let flags = gif[10];
    let table = if flags & 0x80 != 0 {
        3 << ((flags & 7) + 1)
    } else {
        0
    };
    let at = 13 + table;
    let mut ext = vec![0x21, 0xFF, 11];
    ext.extend_from_slice(b"ICCRGBG1012");
    for block in icc.chunks(255) {
        ext.push(block.len() as u8);
        ext.extend_from_slice(block);
    }
    ext.push(0);
    [&gif[..at], &ext[..], &gif[at..]].concat()
}
