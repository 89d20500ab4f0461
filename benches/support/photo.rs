//! The photo-like picture the benches encode: one generator, so the thumbnail and preview
//! benches measure the same kind of content. (The tests have their own, lighter one in
//! `tests/it/support/photo.rs`; changing either changes the figures of its users.)

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A photo-like picture: smooth gradients and soft blobs, hard edges, fine texture of varying
/// strength (what makes a camera JPEG about 3 MB at 12 MP, quality 85), and grain.
pub fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
    let s = seed as f32;
    let (w, h) = (width as f32, height as f32);
    let mut noise = seed.wrapping_mul(2_654_435_761) | 1;
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / w, y as f32 / h);
        let base = [
            90.0 + 100.0 * v + 30.0 * (6.0 * u + s).sin(),
            110.0 + 60.0 * (4.0 * v + 0.5 * s).cos() + 20.0 * (9.0 * u).sin(),
            160.0 - 90.0 * v + 25.0 * (5.0 * (u + v) + s).sin(),
        ];
        let (dx, dy) = (u - 0.3 - 0.01 * s, v - 0.55);
        let disc = if dx * dx + dy * dy < 0.02 { -60.0 } else { 0.0 };
        let bar = if (0.62..0.66).contains(&u) { 45.0 } else { 0.0 };
        // Texture at two scales, stronger towards the bottom and the right (foliage, fabric).
        let (xf, yf) = (x as f32, y as f32);
        let strength = 16.0 + 40.0 * v * (0.5 + 0.5 * (3.0 * u + s).sin());
        let texture = strength
            * (0.6 * (xf * 0.9).sin() * (yf * 0.7 + s).cos() + 0.4 * (xf * 0.23 + yf * 0.31).sin());
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let grain = (noise % 17) as f32 - 8.0;
        let px = |c: f32| (c + disc + bar + texture + grain).clamp(0.0, 255.0) as u8;
        image::Rgb([px(base[0]), px(base[1]), px(base[2])])
    })
}

/// 4:2:0, quality 85, baseline or progressive.
pub fn jpeg(picture: &RgbImage, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 85);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_progressive(progressive);
    let (w, h) = picture.dimensions();
    e.encode(picture.as_raw(), w as u16, h as u16, ColorType::Rgb)
        .expect("encode");
    out
}
