//! Every format but JPEG's fast paths, through the `image` crate: PNG (and APNG's first
//! frame), GIF, WebP, BMP, ICO, TIFF, QOI, PNM, TGA, and JPEGs the JPEG decoder hands over.
//!
//! Owns: one full-size decode to upright RGBA8 (RGBA16 for 16-bit samples, so that a profile
//! applies at their precision) with the `image` crate's own limits set from the header as a
//! backstop, the header probe, which for GIF and TIFF reads what the decoder will really
//! decode (a GIF's first frame, a TIFF's chunks: `gif_walk`, `tiff_chunks`) so the pixel limit
//! and the budget count that, not the header, and the colour information: PNG's colour chunks
//! through `color::read`, every other format's ICC profile through the `image` crate's decoder
//! (WebP `ICCP`, TIFF, GIF's ICC application extension). Must not touch: resizing or
//! converting colours (the registry does both), any other format's decoder, or animations
//! (`decode/animation.rs` reads and decodes the frames of GIF, APNG and WebP; this format only
//! says where they are).
//!
//! TIFF palette, 2/4-bit gray and YCbCr images, which `image` refuses, go to
//! `tiff_colors` from the probe and the decode.
//!
//! Orientation: the `image` crate's (the EXIF of TIFF and the others), except PNG's, read
//! here from the `eXIf` chunk wherever it is: the PNG specification (third edition) allows it
//! after the image data, where the `png` crate has not read it when the header is probed.

use std::borrow::Cow;
use std::io::Cursor;

use image::metadata::Orientation;
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageError, ImageFormat, ImageReader,
};

use super::{bmp, gif_palette, ico_entries, png_trns, tiff_colors};
use crate::decode::color::{Model, Profile, Raster, read};
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, animation, check_pixels,
    full_peak, gif_walk,
};
use crate::error::Cause;

/// Bytes per pixel of the widest buffer a decoder may hold (RGBA, 32-bit float).
const MAX_BYTES_PER_PIXEL: u64 = 16;

/// The `image` crate's decoders.
pub(crate) struct ImageRs;

impl FormatDecoder for ImageRs {
    fn sniff(&self, head: &[u8]) -> bool {
        format_of(head).is_some()
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        // Before `image` opens a TIFF: `tiff` trusts the directory's declared sizes.
        let tiff = match format_of(bytes) {
            Some(ImageFormat::Tiff) => Some(tiff_colors::preflight(bytes)?),
            _ => None,
        };
        if let Some(chunks) = tiff
            && tiff_colors::model(bytes).is_some()
        {
            // Palette, low-depth gray, YCbCr: samples `image` refuses (`tiff_colors`).
            return tiff_colors::probe(bytes, chunks);
        }
        // The repaired copy (`repaired`), so that the probe accepts what the decode will.
        let fixed = repaired(bytes, None);
        let (format, mut decoder) = open(&fixed)?;
        let (width, height) = decoder.dimensions();
        let orientation = orientation(&fixed, decoder.as_mut());
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

    /// The full-size decode and resize, plus for 16-bit samples their RGBA16 form and its
    /// orientation copy (16 bytes per pixel), which exist before the narrowing to RGBA8.
    fn peak_bytes(&self, _bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let pixels = u64::from(probe.width) * u64::from(probe.height);
        let deep = if probe.native_bytes >= pixels * 6 {
            pixels * 16
        } else {
            0
        };
        full_peak(probe, target) + deep
    }

    fn decode(
        &self,
        bytes: &[u8],
        _probe: &Probe,
        _target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        full_output(bytes, limits, None)
    }

    fn profile(&self, bytes: &[u8]) -> Profile {
        match format_of(bytes) {
            Some(ImageFormat::Png) => return read::png(bytes),
            // The formats here that carry ICC profiles; BMP, ICO, QOI, PNM and TGA: none read.
            Some(ImageFormat::WebP | ImageFormat::Tiff | ImageFormat::Gif | ImageFormat::Jpeg) => {}
            _ => return Profile::Unspecified,
        }
        let fixed = repaired(bytes, None);
        let Ok((_, mut decoder)) = open(&fixed) else {
            return Profile::Unspecified;
        };
        let model = if matches!(
            decoder.original_color_type(),
            ExtendedColorType::Cmyk8 | ExtendedColorType::Cmyk16
        ) {
            // `image` turns CMYK into RGB itself: such a profile cannot apply to the result.
            Model::Cmyk
        } else if decoder.color_type().has_color() {
            Model::Rgb
        } else {
            Model::Gray
        };
        match decoder.icc_profile() {
            Ok(icc) => read::icc(icc, model),
            Err(_) => Profile::Invalid("unreadable ICC profile"),
        }
    }

    fn animation(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Option<animation::Info>, DecodeError> {
        animation::probe(bytes, limits)
    }
}

/// The `image` crate's decoder for `bytes`, format told from the bytes ([`format_of`]).
fn open(bytes: &[u8]) -> Result<(ImageFormat, Box<dyn ImageDecoder + '_>), DecodeError> {
    open_as(bytes, format_of(bytes))
}

/// The format of `bytes` as `image` names it, BigTIFF included: `image` 0.25 guesses only
/// classic TIFF's magic bytes, but its TIFF decoder (through `tiff`) reads BigTIFF, and so
/// do `tiff_chunks` and `tiff_colors`.
fn format_of(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"II+\0") || bytes.starts_with(b"MM\0+") {
        return Some(ImageFormat::Tiff);
    }
    image::guess_format(bytes).ok()
}

/// The `image` crate's decoder for `bytes` in `format`, or the format guessed from the bytes
/// (`None`): TGA has no magic bytes for `image` to guess from (`formats/tga.rs` tells it).
pub(crate) fn open_as(
    bytes: &[u8],
    format: Option<ImageFormat>,
) -> Result<(ImageFormat, Box<dyn ImageDecoder + '_>), DecodeError> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    match format {
        Some(format) => reader.set_format(format),
        None => {
            reader = reader
                .with_guessed_format()
                .map_err(|e| DecodeError::Corrupt(format!("cannot read the header: {e}")))?;
        }
    }
    let Some(format) = reader.format() else {
        return Err(DecodeError::Unsupported("not a known image format".into()));
    };
    let decoder = reader.into_decoder().map_err(|e| map_error(format, e))?;
    Ok((format, Box::new(decoder)))
}

/// [`decode_as`] as a decoder's [`Output`]: the full-size decode, no reduced path.
pub(crate) fn full_output(
    bytes: &[u8],
    limits: &Limits,
    format: Option<ImageFormat>,
) -> Result<Output, DecodeError> {
    Ok(Output {
        image: decode_as(bytes, limits, format)?,
        path: DecodePath::FullDecode,
    })
}

/// Full-size decode to upright RGBA8, or RGBA16 when the samples have 16 bits.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Raster, DecodeError> {
    decode_as(bytes, limits, None)
}

/// [`decode`] in `format` (`None`: guessed from the bytes).
pub(crate) fn decode_as(
    bytes: &[u8],
    limits: &Limits,
    format: Option<ImageFormat>,
) -> Result<Raster, DecodeError> {
    let repaired = repaired(bytes, format);
    let bytes = &*repaired;
    if format.is_none() && format_of(bytes) == Some(ImageFormat::Tiff) {
        // The probe ran `tiff_chunks::preflight` on these bytes before the decode.
        if let Some(model) = tiff_colors::model(bytes) {
            return tiff_colors::decode(bytes, model, limits);
        }
    }
    let (format, mut decoder) = open_as(bytes, format.or_else(|| format_of(bytes)))?;
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
    let orientation = orientation(bytes, decoder.as_mut());
    let image = DynamicImage::from_decoder(decoder).map_err(|e| map_error(format, e))?;
    if matches!(
        image.color(),
        ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16
    ) {
        let mut deep = DynamicImage::ImageRgba16(image.into_rgba16());
        deep.apply_orientation(orientation);
        return Ok(Raster::Rgba16(deep.into_rgba16()));
    }
    // Convert first (free when already RGBA8), then rotate the smaller buffer.
    let mut rgba = DynamicImage::ImageRgba8(image.into_rgba8());
    rgba.apply_orientation(orientation);
    Ok(Raster::Rgba8(rgba.into_rgba8()))
}

/// `bytes` as the `image` crate can read what the reference decoders read and its format
/// crates refuse: a GIF without a colour table (`gif_palette.rs`), a low-depth gray PNG's
/// tRNS value out of range (`png_trns.rs`), an icon directory wrong about its images' sizes
/// (`ico_entries.rs`), a BMP header with a plane count other than 1 or of OS/2 2.x
/// (`bmp.rs`). Each copies the file only when it applies. The probe, the profile and
/// the decode all read this copy, so that none refuses what another accepts.
fn repaired(bytes: &[u8], format: Option<ImageFormat>) -> Cow<'_, [u8]> {
    match format.or_else(|| format_of(bytes)) {
        Some(ImageFormat::Gif) => gif_palette::with_default(bytes),
        Some(ImageFormat::Png) => png_trns::masked(bytes),
        Some(ImageFormat::Ico) => ico_entries::matched(bytes),
        Some(ImageFormat::Bmp) => bmp::repaired(bytes),
        _ => Cow::Borrowed(bytes),
    }
}

/// How `bytes` are turned upright: a PNG's `eXIf` chunk, or what the decoder reads.
fn orientation(bytes: &[u8], decoder: &mut dyn ImageDecoder) -> Orientation {
    if bytes.starts_with(PNG_SIGNATURE) {
        return png_exif(bytes)
            .and_then(Orientation::from_exif_chunk)
            .unwrap_or(Orientation::NoTransforms);
    }
    decoder.orientation().unwrap_or(Orientation::NoTransforms)
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The payload of a PNG's first `eXIf` chunk, anywhere before `IEND`: a walk over the
/// chunk headers (cost in proportion to the number of chunks, never past the bytes).
pub(crate) fn png_exif(bytes: &[u8]) -> Option<&[u8]> {
    let mut at = PNG_SIGNATURE.len();
    loop {
        let head = bytes.get(at..at.checked_add(8)?)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let start = at + 8;
        let end = start.checked_add(len)?;
        match &head[4..8] {
            b"eXIf" => return bytes.get(start..end),
            b"IEND" => return None,
            _ => at = end.checked_add(4)?,
        }
    }
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
