//! The full-size decodes of a JPEG through zune-jpeg: a colour file straight to RGBA8, and a
//! CMYK or YCCK file that carries an ICC profile to its inks, for the profile to convert.
//!
//! Owns: those two decodes, upright. Must not touch: the scaled paths or the choice between
//! paths (`super`), files zune-jpeg does not take (`image_rs`, the plain CMYK formula).

use image::RgbaImage;
use image::metadata::Orientation;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::{inks, read_exif, turn_upright};
use crate::decode::{DecodeError, Limits, check_pixels, jpeg};

/// Decodes a colour JPEG to upright RGBA8 with zune-jpeg; `None` to leave the file to `image_rs`.
pub(super) fn rgba(bytes: &[u8], limits: &Limits) -> Option<Result<RgbaImage, DecodeError>> {
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
    Some(Ok(turn_upright(image, orientation)))
}

/// Decodes a CMYK or YCCK JPEG that carries an ICC profile to its inks with zune-jpeg (its
/// own components, unconverted), upright, as Adobe stores CMYK (255 = no ink); `None` to
/// leave the file to `image_rs` (the plain formula).
pub(super) fn cmyk(bytes: &[u8], limits: &Limits) -> Option<Result<RgbaImage, DecodeError>> {
    let info = jpeg::read_info(bytes).ok()?;
    if !inks(&info) {
        return None;
    }
    if let Err(e) = check_pixels(info.width, info.height, limits) {
        return Some(Err(e));
    }
    let space = match info.color {
        jpeg::ColorSpace::Ycck => ColorSpace::YCCK,
        _ => ColorSpace::CMYK,
    };
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX)
        .jpeg_set_out_colorspace(space);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().ok()?;
    if decoder.input_colorspace()? != space
        || decoder.dimensions()? != (info.width as usize, info.height as usize)
    {
        return None;
    }
    let mut pixels = vec![0u8; decoder.output_buffer_size()?];
    decoder.decode_into(&mut pixels).ok()?;
    if space == ColorSpace::YCCK {
        jpeg::ycck_to_cmyk(&mut pixels);
    }
    let image = RgbaImage::from_raw(info.width, info.height, pixels)?;
    Some(Ok(turn_upright(image, read_exif(bytes, &info).orientation)))
}
