//! Re-encoding an image as a smaller JPEG before upload, by the rule: quality `quality`; if the
//! result is over `max_bytes` and the item is not marked original, again at
//! `fallback_quality`; optionally downscaled first so its longer edge is at most `max_edge`.
//!
//! Owns: that rule and the encoding. Must not touch: the network. Runs on an upload worker,
//! one image at a time, so at most `max_concurrent` decoded images exist at once.

use image::{RgbImage, RgbaImage};

use crate::decode::{DecodeError, Decoders, Limits};
use crate::request::{Size, Variant};

/// Settings of JPEG recompression before upload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recompress {
    /// First quality, from 0.0 to 1.0. Default 0.5.
    pub quality: f32,
    /// Quality of the second attempt when the first is over `max_bytes`. Default 0.3.
    pub fallback_quality: f32,
    /// Byte budget of the first attempt. Default 400 KiB.
    pub max_bytes: u64,
    /// Downscale (aspect kept, never up) so the longer edge is at most this. A JPEG is then
    /// decoded at reduced size, as for a thumbnail. Default `None`.
    pub max_edge: Option<u32>,
}

impl Default for Recompress {
    fn default() -> Self {
        Recompress {
            quality: 0.5,
            fallback_quality: 0.3,
            max_bytes: 400 * 1024,
            max_edge: None,
        }
    }
}

/// `q` from 0.0..=1.0 to the encoder's 1..=100.
fn encoder_quality(q: f32) -> u8 {
    (q * 100.0).round().clamp(1.0, 100.0) as u8
}

/// Baseline JPEG, 4:2:0, with `jpeg-encoder`.
fn encode(image: &RgbImage, quality: f32) -> Result<Vec<u8>, String> {
    let (w, h) = (
        u16::try_from(image.width()).map_err(|_| "wider than JPEG allows")?,
        u16::try_from(image.height()).map_err(|_| "taller than JPEG allows")?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, encoder_quality(quality))
        .encode(image.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// RGB with alpha composited onto white (JPEG has no alpha), in the same buffer: each pixel's
/// three bytes are written at or before where its four were read, so no second image exists.
fn flatten(rgba: RgbaImage) -> RgbImage {
    let (w, h) = rgba.dimensions();
    let mut buf = rgba.into_raw();
    for i in 0..(w as usize * h as usize) {
        let a = buf[i * 4 + 3] as u32;
        for c in 0..3 {
            let v = buf[i * 4 + c] as u32;
            buf[i * 3 + c] = ((v * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    buf.truncate(w as usize * h as usize * 3);
    buf.shrink_to_fit();
    RgbImage::from_raw(w, h, buf).expect("buffer sized for the image")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_composites_onto_white_in_place() {
        let rgba =
            RgbaImage::from_vec(3, 1, vec![10, 20, 30, 255, 0, 0, 0, 0, 200, 100, 0, 128]).unwrap();
        let rgb = flatten(rgba);
        assert_eq!(rgb.as_raw(), &[10, 20, 30, 255, 255, 255, 227, 177, 127]);
    }
}

/// Why an item could not be recompressed.
#[derive(Debug)]
pub(crate) enum RecompressError {
    Decode(DecodeError),
    Encode(String),
}

/// Applies the rule to the image in `bytes`.
pub(crate) fn recompress(
    bytes: &[u8],
    rule: &Recompress,
    original: bool,
    limits: &Limits,
) -> Result<Vec<u8>, RecompressError> {
    // With a maximum edge this is the thumbnail path: a JPEG is decoded at reduced size in
    // the DCT domain and never holds its full-size pixels.
    let size = match rule.max_edge {
        Some(edge) => Size::Thumbnail {
            width: edge.max(1),
            height: edge.max(1),
        },
        None => Size::Original,
    };
    let rgba = Decoders::builtin()
        .decode(bytes, &Variant::of(size), limits, &|| false)
        .map_err(RecompressError::Decode)?
        .pixels
        .into_first();
    let rgb = flatten(rgba);
    let first = encode(&rgb, rule.quality).map_err(RecompressError::Encode)?;
    if first.len() as u64 <= rule.max_bytes || original {
        return Ok(first);
    }
    encode(&rgb, rule.fallback_quality).map_err(RecompressError::Encode)
}
