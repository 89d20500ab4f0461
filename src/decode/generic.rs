//! Decoding any supported format with the `image` crate (zune-jpeg for JPEG).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbaImage};

use super::{DecodeError, Limits, check_pixels};

/// Bytes per pixel of the widest buffer a decoder may hold (RGBA, 32-bit float).
const MAX_BYTES_PER_PIXEL: u64 = 16;

/// Full-size decode to upright RGBA8.
pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, DecodeError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(DecodeError::Unsupported(describe_unknown(bytes)));
    };
    let mut decoder = reader.into_decoder().map_err(map_error)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, limits)?;
    // Backstop for decoders' own allocations: nothing bigger than the pixel limit allows.
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    decoder.set_limits(image_limits).map_err(map_error)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match map_error(e) {
        DecodeError::Corrupt(m) => DecodeError::Corrupt(format!("{format:?}: {m}")),
        other => other,
    })?;
    // Convert first (free when already RGBA8), then rotate the smaller buffer.
    let mut rgba = DynamicImage::ImageRgba8(image.into_rgba8());
    rgba.apply_orientation(orientation);
    Ok(rgba.into_rgba8())
}

fn map_error(e: ImageError) -> DecodeError {
    match e {
        ImageError::Unsupported(e) => DecodeError::Unsupported(e.to_string()),
        ImageError::Limits(e) => DecodeError::Corrupt(format!("over the decoder's limits: {e}")),
        other => DecodeError::Corrupt(other.to_string()),
    }
}

/// A short description of bytes that are not a known image format.
fn describe_unknown(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if bytes.is_empty() {
        "empty body".into()
    } else if head.starts_with(b"<") || head.iter().all(|b| b.is_ascii()) {
        let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(32)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        format!("not an image (starts with {text:?})")
    } else {
        format!("not a known image format (starts with {head:02x?})")
    }
}
