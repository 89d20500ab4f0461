//! Full-size JPEG decode straight to RGBA8 with zune-jpeg, the decoder `image` itself uses.
//!
//! Owns: the full-size path for colour JPEGs (YCbCr or RGB), which is the common case. Going
//! through `image` costs a copy of the input, two header parses, a full-size RGB8 buffer and
//! a copy of it into the RGBA8 buffer the loader returns; asking zune-jpeg for RGBA output
//! writes the final buffer once, so a full-size load of a large photo stays level with
//! `image`'s own RGB decode. Must not touch: anything but this one decode. Any file it does not
//! take (grayscale, CMYK, headers zune rejects, a failed decode) is left to `generic`, which
//! gives the same results and errors as before, so only the fast case changes.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::{DecodeError, Limits, check_pixels};

/// Decodes a colour JPEG to upright RGBA8; `None` to leave the file to `generic`.
pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Option<Result<RgbaImage, DecodeError>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().ok()?;
    if !matches!(
        decoder.input_colorspace()?,
        ColorSpace::YCbCr | ColorSpace::RGB
    ) {
        return None;
    }
    let (width, height) = decoder.dimensions()?;
    let (width, height) = (u32::try_from(width).ok()?, u32::try_from(height).ok()?);
    if let Err(e) = check_pixels(width, height, limits) {
        return Some(Err(e));
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let mut pixels = vec![0u8; decoder.output_buffer_size()?];
    decoder.decode_into(&mut pixels).ok()?;
    let image = RgbaImage::from_raw(width, height, pixels)?;
    let mut image = DynamicImage::ImageRgba8(image);
    image.apply_orientation(orientation);
    Some(Ok(image.into_rgba8()))
}
