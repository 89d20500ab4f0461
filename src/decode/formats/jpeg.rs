//! JPEG: full size straight to RGBA8 with zune-jpeg, and the cheapest way to a smaller upright
//! image for thumbnails and scale-down caps.
//!
//! Owns: choosing the path for one JPEG decode. Must not touch: the cache, the network, or the
//! reduced decoder's internals (`decode/jpeg/`). Full size: a colour JPEG (YCbCr or RGB) goes
//! straight to RGBA8 through zune-jpeg, the decoder `image` itself uses; going through `image`
//! would cost a copy of the input, two header parses, a full-size RGB8 buffer and a copy of it
//! into RGBA8, while asking zune-jpeg for RGBA writes the final buffer once. Any file it does
//! not take (grayscale, CMYK, headers zune rejects, a failed decode) goes to `image_rs`, which
//! gives the same results and errors as `image`. Scaled, which path runs, in order:
//!
//! 1. **JPEG with an embedded Exif thumbnail** (IFD1) at least as large as the target, with the
//!    main image's aspect ratio within 1% (cameras that pad 160x120 thumbnails with black bars
//!    fail this), and at most half the main image's size per side: decode the thumbnail, resize,
//!    and apply the main image's orientation. [`DecodePath::ExifThumbnail`].
//! 2. **JPEG the reduced decoder handles**, when 1/2, 1/4 or 1/8 scale is still at least the
//!    target: decode at the smallest such scale in the DCT domain (for a progressive file at
//!    1/8, the DC scans alone, [`DecodePath::DcOnly`]; otherwise [`DecodePath::DctScaled`]),
//!    then resize to the exact size. No full-size buffer exists on this path.
//! 3. **Everything else** (other formats, JPEGs the reduced decoder calls unsupported or
//!    corrupt, targets over half size, images that already fit): the full-size decode,
//!    then a resize. [`DecodePath::FullDecode`].
//!
//! Sizes are computed after EXIF orientation (a rotated portrait fits the box as displayed);
//! the JPEG paths resize in stored orientation and rotate the small result.
//!
//! Fallback decision: any error of the reduced decoder, `Unsupported` or `Corrupt`, falls back
//! to the full decoder, which gives the final verdict. zune-jpeg (the full decoder) is lenient
//! with some damaged files; a file that loads at full size must also load as a thumbnail, and
//! the extra decode happens only for files that are already broken.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::image_rs::{self, ImageRs};
use crate::decode::exif::{self, Exif};
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, check_pixels, jpeg,
    resize,
};

/// JPEG files.
pub(crate) struct Jpeg;

impl FormatDecoder for Jpeg {
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0xFF, 0xD8])
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        // The reduced decoder's header reader is strict; a file it refuses may still be one
        // zune-jpeg (through `image`) reads, as the full decode does.
        let Ok(info) = jpeg::read_info(bytes) else {
            return ImageRs.probe(bytes);
        };
        let exif = read_exif(bytes, &info);
        Ok(Probe {
            width: info.width,
            height: info.height,
            orientation: exif.orientation,
        })
    }

    fn decode(
        &self,
        bytes: &[u8],
        _probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        if target != Target::Full
            && let Some(output) = jpeg_scaled(bytes, target, limits)?
        {
            return Ok(output);
        }
        let image = match full_rgba(bytes, limits) {
            Some(result) => result?,
            None => image_rs::decode(bytes, limits)?,
        };
        Ok(Output {
            image,
            path: DecodePath::FullDecode,
        })
    }
}

/// The Exif block's orientation and thumbnail position (defaults when absent or unreadable).
fn read_exif(bytes: &[u8], info: &jpeg::JpegInfo) -> Exif {
    info.exif
        .clone()
        .and_then(|r| bytes.get(r))
        .map(exif::parse)
        .unwrap_or_default()
}

/// The JPEG paths; `None` means "use the full decoder".
fn jpeg_scaled(
    bytes: &[u8],
    target: Target,
    limits: &Limits,
) -> Result<Option<Output>, DecodeError> {
    let Ok(info) = jpeg::read_info(bytes) else {
        return Ok(None);
    };
    if info.unsupported.is_some() {
        return Ok(None);
    }
    check_pixels(info.width, info.height, limits)?;
    let exif = read_exif(bytes, &info);
    let swap = exif::swaps_axes(exif.orientation);
    let (stored_w, stored_h) = (info.width, info.height);
    let upright = if swap {
        (stored_h, stored_w)
    } else {
        (stored_w, stored_h)
    };
    let (to_w, to_h) = target.size_for(upright.0, upright.1);
    if (to_w, to_h) == upright {
        return Ok(None); // nothing to scale: a plain full decode
    }
    // The target in stored orientation.
    let stored_to = if swap { (to_h, to_w) } else { (to_w, to_h) };

    if let Some(rgb) = embedded_thumbnail(bytes, &info, &exif, stored_to) {
        return finish(rgb, stored_to, exif.orientation, DecodePath::ExifThumbnail).map(Some);
    }
    let Some(denom) = jpeg::scale_for(&info, stored_to.0, stored_to.1) else {
        return Ok(None);
    };
    let Ok(reduced) = jpeg::decode_reduced(bytes, denom) else {
        return Ok(None); // see the fallback decision above
    };
    let path = if info.progressive && denom == 8 {
        DecodePath::DcOnly
    } else {
        DecodePath::DctScaled
    };
    let rgb = Rgb {
        size: (reduced.width, reduced.height),
        pixels: reduced.rgb,
    };
    finish(rgb, stored_to, exif.orientation, path).map(Some)
}

/// Packed RGB8 pixels in stored orientation.
struct Rgb {
    size: (u32, u32),
    pixels: Vec<u8>,
}

/// The embedded Exif thumbnail decoded to at least `stored_to`, if it qualifies.
fn embedded_thumbnail(
    bytes: &[u8],
    info: &jpeg::JpegInfo,
    exif: &Exif,
    stored_to: (u32, u32),
) -> Option<Rgb> {
    let tiff = bytes.get(info.exif.clone()?)?;
    let thumb = tiff.get(exif.thumbnail.clone()?)?;
    let t = jpeg::read_info(thumb).ok()?;
    if t.unsupported.is_some() || t.width < stored_to.0 || t.height < stored_to.1 {
        return None;
    }
    // At most half the main image per side: decoding it never costs more than the main
    // image's 1/2 scale would, and a hostile thumbnail cannot be huge.
    if t.width > info.width / 2 || t.height > info.height / 2 {
        return None;
    }
    // Same aspect ratio within 1%: |tw/th - w/h| <= 0.01 * w/h.
    let (tw, th, w, h) = (
        u64::from(t.width),
        u64::from(t.height),
        u64::from(info.width),
        u64::from(info.height),
    );
    if (tw * h).abs_diff(th * w) * 100 > th * w {
        return None;
    }
    match jpeg::scale_for(&t, stored_to.0, stored_to.1) {
        Some(denom) => {
            let r = jpeg::decode_reduced(thumb, denom).ok()?;
            Some(Rgb {
                size: (r.width, r.height),
                pixels: r.rgb,
            })
        }
        None => {
            // Less than twice the target: decode it whole (it is small).
            let img = image::load_from_memory_with_format(thumb, image::ImageFormat::Jpeg)
                .ok()?
                .into_rgb8();
            Some(Rgb {
                size: img.dimensions(),
                pixels: img.into_raw(),
            })
        }
    }
}

/// Resizes stored-orientation RGB to `stored_to`, then makes it upright RGBA.
fn finish(
    rgb: Rgb,
    stored_to: (u32, u32),
    orientation: Orientation,
    path: DecodePath,
) -> Result<Output, DecodeError> {
    let pixels = resize::rgb(rgb.pixels, rgb.size, stored_to)?;
    let mut rgba = Vec::with_capacity(pixels.len() / 3 * 4);
    for p in pixels.chunks_exact(3) {
        rgba.extend_from_slice(&[p[0], p[1], p[2], 255]);
    }
    let image = RgbaImage::from_raw(stored_to.0, stored_to.1, rgba)
        .ok_or_else(|| DecodeError::Corrupt("reduced image has the wrong size".into()))?;
    let mut image = DynamicImage::ImageRgba8(image);
    image.apply_orientation(orientation);
    Ok(Output {
        image: image.into_rgba8(),
        path,
    })
}

/// Decodes a colour JPEG to upright RGBA8 with zune-jpeg; `None` to leave the file to `image_rs`.
fn full_rgba(bytes: &[u8], limits: &Limits) -> Option<Result<RgbaImage, DecodeError>> {
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
