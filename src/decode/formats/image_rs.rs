//! Every format but JPEG's fast paths, through the `image` crate: PNG (and APNG's first
//! frame), GIF, WebP, BMP, ICO, TIFF, QOI, PNM, TGA, and JPEGs the JPEG decoder hands over.
//!
//! Owns: one full-size decode to upright RGBA8 with the `image` crate's own limits set from
//! the header as a backstop, and the header probe, which for GIF and TIFF reads what the
//! decoder will really decode (a GIF's first frame, a TIFF's chunks: `gif_walk`,
//! `tiff_chunks`) so the pixel limit and the budget count that, not the header. Must not touch: resizing (the registry
//! does it), any other format's decoder, or animations (`decode/animation.rs` reads and
//! decodes the frames of GIF, APNG and WebP; this format only says where they are).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbaImage};

use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, animation, check_pixels,
    gif_walk, tiff_chunks,
};
use crate::error::Cause;

/// Bytes per pixel of the widest buffer a decoder may hold (RGBA, 32-bit float).
const MAX_BYTES_PER_PIXEL: u64 = 16;

/// The `image` crate's decoders.
pub(crate) struct ImageRs;

impl FormatDecoder for ImageRs {
    fn sniff(&self, head: &[u8]) -> bool {
        image::guess_format(head).is_ok()
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        // Before `image` opens a TIFF: `tiff` trusts the directory's declared sizes.
        let tiff = match image::guess_format(bytes) {
            Ok(ImageFormat::Tiff) => Some(tiff_chunks::preflight(bytes)?),
            _ => None,
        };
        let (format, mut decoder) = open(bytes)?;
        let (width, height) = decoder.dimensions();
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut probe = Probe::sized(width, height, orientation, decoder.total_bytes());
        if let Some(chunks) = tiff {
            // Its chunks with their padding, a copy of the image in its own samples, and
            // each JPEG chunk decoded into a buffer of its own (`tiff_chunks`).
            probe.decoded = chunks.decoded;
            probe.scratch_bytes = chunks.extra_bytes;
        }
        match format {
            ImageFormat::Gif => gif_probe(bytes, probe),
            _ => Ok(probe),
        }
    }

    fn decode(
        &self,
        bytes: &[u8],
        _probe: &Probe,
        _target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        Ok(Output {
            image: decode(bytes, limits)?,
            path: DecodePath::FullDecode,
        })
    }

    fn animation(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Option<animation::Info>, DecodeError> {
        animation::probe(bytes, limits)
    }
}

/// The `image` crate's decoder for `bytes`, format guessed from the bytes.
fn open(bytes: &[u8]) -> Result<(ImageFormat, Box<dyn ImageDecoder + '_>), DecodeError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(format!("cannot read the header: {e}")))?;
    let Some(format) = reader.format() else {
        return Err(DecodeError::Unsupported("not a known image format".into()));
    };
    let decoder = reader.into_decoder().map_err(|e| map_error(format, e))?;
    Ok((format, Box::new(decoder)))
}

/// Full-size decode to upright RGBA8.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, DecodeError> {
    let (format, mut decoder) = open(bytes)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, limits)?;
    // Backstop for decoders' own allocations: nothing bigger than the pixel limit allows.
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    decoder
        .set_limits(image_limits)
        .map_err(|e| map_error(format, e))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| map_error(format, e))?;
    // Convert first (free when already RGBA8), then rotate the smaller buffer.
    let mut rgba = DynamicImage::ImageRgba8(image.into_rgba8());
    rgba.apply_orientation(orientation);
    Ok(rgba.into_rgba8())
}

/// A GIF's still image is its first frame, decoded at the frame's own size and then clipped to
/// the screen (`gif_walk` says why): the frame is what is decoded. Unless it fills whole rows
/// of the screen, `image` decodes it into an RGBA buffer of its own before composing it, and
/// the `gif` crate keeps the frame's palette indices (a byte a pixel) either way.
fn gif_probe(bytes: &[u8], mut probe: Probe) -> Result<Probe, DecodeError> {
    let (_, first) = gif_walk::first_frame(bytes)
        .map_err(|e| DecodeError::Corrupt(format!("{:?}: {e}", ImageFormat::Gif)))?;
    if let Some(frame) = first {
        probe.decoded = (frame.width, frame.height);
        let own = if frame.spans_rows_of(probe.width, probe.height) {
            0
        } else {
            4 * frame.pixels()
        };
        probe.scratch_bytes = own + frame.pixels();
    }
    Ok(probe)
}

fn map_error(format: ImageFormat, e: ImageError) -> DecodeError {
    let unsupported = matches!(e, ImageError::Unsupported(_));
    let message = match &e {
        ImageError::Limits(l) => format!("{format:?}: over the decoder's limits: {l}"),
        other => format!("{format:?}: {other}"),
    };
    DecodeError::Library {
        unsupported,
        message,
        source: Cause::new(e),
    }
}
