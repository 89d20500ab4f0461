//! Thumbnails and scale-down-capped loads: the cheapest way to a smaller upright image.
//!
//! Owns: choosing the path for one scaled decode. Must not touch: the cache, the network, or
//! the decoders' internals. Which path runs, in order:
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

use super::exif::{self, Exif};
use super::{DecodeError, DecodePath, Limits, Output, check_pixels, fit, jpeg, resize};

/// The size a scaled decode produces, given the image's upright size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Fit inside this box (width, height), never upscaled.
    Box(u32, u32),
    /// At most this many pixels.
    Pixels(u64),
}

impl Target {
    /// Output size for an upright `width` x `height` image.
    fn size_for(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Target::Box(w, h) => fit::fit_box(width, height, w, h),
            Target::Pixels(max) => fit::fit_pixels(width, height, max),
        }
    }
}

/// Decodes `bytes` to an upright image of the size `target` asks for.
pub(super) fn decode(bytes: &[u8], target: Target, limits: &Limits) -> Result<Output, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xD8])
        && let Some(output) = jpeg_scaled(bytes, target, limits)?
    {
        return Ok(output);
    }
    let full = super::full(bytes, limits)?;
    let size = target.size_for(full.width(), full.height());
    Ok(Output {
        image: resize::rgba(full, size)?,
        path: DecodePath::FullDecode,
    })
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
    let exif = info
        .exif
        .clone()
        .and_then(|r| bytes.get(r))
        .map(exif::parse)
        .unwrap_or_default();
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
