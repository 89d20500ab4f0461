//! Generated photo-like images and JPEGs for the thumbnail tests: smooth gradients, hard
//! edges, fine detail and mild noise, encoded with `jpeg-encoder` (4:2:0) as baseline or
//! progressive, optionally carrying an Exif block (orientation and an embedded thumbnail).

use image::{RgbImage, RgbaImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A deterministic photo-like RGB picture.
pub fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
    let s = seed as f32;
    let (w, h) = (width as f32, height as f32);
    let mut noise = seed.wrapping_mul(2_654_435_761) | 1;
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / w, y as f32 / h);
        // Sky-to-ground gradient and soft blobs.
        let base = [
            90.0 + 100.0 * v + 30.0 * (6.0 * u + s).sin(),
            110.0 + 60.0 * (4.0 * v + 0.5 * s).cos() + 20.0 * (9.0 * u).sin(),
            160.0 - 90.0 * v + 25.0 * (5.0 * (u + v) + s).sin(),
        ];
        // A hard-edged disc and a bar (edges, as in real scenes).
        let (dx, dy) = (u - 0.3 - 0.01 * s, v - 0.55);
        let disc = if dx * dx + dy * dy < 0.02 { -60.0 } else { 0.0 };
        let bar = if (0.62..0.66).contains(&u) { 45.0 } else { 0.0 };
        // Fine texture (foliage, fabric): strongest in the lower half.
        let xf = x as f32;
        let yf = y as f32;
        let texture = 18.0 * v * ((xf * 0.9).sin() * (yf * 0.7 + s).cos());
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let grain = (noise % 9) as f32 - 4.0;
        let px = |c: f32| (c + disc + bar + texture + grain).clamp(0.0, 255.0) as u8;
        image::Rgb([px(base[0]), px(base[1]), px(base[2])])
    })
}

/// How to encode a generated JPEG.
#[derive(Clone, Copy, Debug)]
pub struct Jpeg {
    pub progressive: bool,
    pub quality: u8,
}

impl Jpeg {
    pub const BASELINE: Jpeg = Jpeg {
        progressive: false,
        quality: 85,
    };
    pub const PROGRESSIVE: Jpeg = Jpeg {
        progressive: true,
        quality: 85,
    };
}

/// `image` as a 4:2:0 JPEG, with an optional Exif TIFF block in APP1.
pub fn jpeg(image: &RgbImage, how: Jpeg, exif: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, how.quality);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_progressive(how.progressive);
    if let Some(tiff) = exif {
        e.add_exif_metadata(tiff).unwrap();
    }
    let (w, h) = image.dimensions();
    e.encode(image.as_raw(), w as u16, h as u16, ColorType::Rgb)
        .unwrap();
    out
}

/// A little-endian TIFF block with an orientation and, if given, an IFD1 JPEG thumbnail, laid
/// out as cameras write it.
pub fn exif_block(orientation: u16, thumbnail: Option<&[u8]>) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, u32::from(orientation));
    let Some(thumb) = thumbnail else {
        t.extend_from_slice(&0u32.to_le_bytes());
        return t;
    };
    let ifd1 = 8 + 2 + 12 + 4;
    t.extend_from_slice(&(ifd1 as u32).to_le_bytes());
    let data = ifd1 + 2 + 3 * 12 + 4;
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, 0x0103, 3, 6);
    entry(&mut t, 0x0201, 4, data as u32);
    entry(&mut t, 0x0202, 4, thumb.len() as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(thumb);
    t
}

/// Mean absolute difference per channel sample (0..255) between two equally sized images.
pub fn mad(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The whole image decoded by `image`, EXIF orientation applied: what references start from.
pub fn upright(bytes: &[u8]) -> RgbaImage {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let orientation = decoder.orientation().unwrap();
    let mut full = image::DynamicImage::from_decoder(decoder).unwrap();
    full.apply_orientation(orientation);
    full.into_rgba8()
}

/// The reference thumbnail: full decode with `image`, EXIF orientation, Lanczos3 to `size`.
pub fn reference(bytes: &[u8], size: (u32, u32)) -> RgbaImage {
    image::imageops::resize(
        &upright(bytes),
        size.0,
        size.1,
        image::imageops::FilterType::Lanczos3,
    )
}
