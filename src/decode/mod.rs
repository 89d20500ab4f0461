//! Turning downloaded bytes into upright RGBA8 pixels, on the calling worker thread.
//!
//! Owns: format sniffing (from the bytes, never the URL or `Content-Type`), the pixel limit
//! checked against the header before any pixel buffer exists, EXIF orientation, conversion
//! to RGBA8, and the decode variants: full size (`full_jpeg`, zune-jpeg straight to RGBA8 for
//! colour JPEGs; `generic`, the `image` crate, for the rest), and scaled
//! (`scaled`: thumbnails and scale-down caps, through the reduced JPEG decoder in `jpeg`, the
//! embedded Exif thumbnail (`exif`), or a full decode, resized in `resize` to the size `fit`
//! computes). Must not touch: the network, caches or the in-flight map. A decoder that panics
//! on hostile input is contained here and reported as a decode error.

mod exif;
mod fit;
mod full_jpeg;
mod generic;
mod jpeg;
#[cfg(feature = "jxl")]
pub(crate) mod jxl;
mod resize;
mod scaled;
#[cfg(feature = "svg")]
pub(crate) mod svg;

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbaImage;

use crate::Error;
use crate::error::Limit;
use crate::request::Variant;

/// Limits a decode runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest width x height accepted, checked against the header.
    pub(crate) max_pixels: u64,
}

/// Why bytes did not become pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The decoder panicked (a decoder bug on hostile data; contained here).
    Panicked,
    /// Not an image format this build decodes.
    Unsupported(String),
    /// The header declares more pixels than allowed.
    TooLarge { width: u32, height: u32 },
    /// A known format, but corrupt or truncated.
    Corrupt(String),
}

impl DecodeError {
    /// The public error for this failure while loading `url`.
    pub(crate) fn into_error(self, url: &str, limits: &Limits) -> Error {
        let url = url.to_string();
        match self {
            DecodeError::Unsupported(message) => Error::UnsupportedFormat { url, message },
            DecodeError::TooLarge { width, height } => Error::TooLarge {
                url,
                limit: Limit::Pixels {
                    width,
                    height,
                    limit: limits.max_pixels,
                },
            },
            DecodeError::Corrupt(message) => Error::Decode { url, message },
            DecodeError::Panicked => Error::Decode {
                url,
                message: "the decoder failed on this data (it panicked)".into(),
            },
        }
    }
}

/// How a decode made its image (which path ran), for the counters in `Stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodePath {
    /// A full-size load ([`Variant::Original`]).
    Original,
    /// Scaled: a full decode, resized if larger than the target.
    FullDecode,
    /// Scaled: a JPEG decoded at 1/2, 1/4 or 1/8 in the DCT domain, then resized.
    DctScaled,
    /// Scaled: a progressive JPEG's DC scans alone (1/8), then resized.
    DcOnly,
    /// Scaled: the JPEG's embedded Exif thumbnail, resized.
    ExifThumbnail,
}

/// A decoded image and the path that made it.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) image: RgbaImage,
    pub(crate) path: DecodePath,
}

/// Decodes `bytes` into the requested variant.
pub(crate) fn decode(
    bytes: &[u8],
    variant: Variant,
    limits: &Limits,
) -> Result<Output, DecodeError> {
    let run = || match variant {
        Variant::Original => full(bytes, limits).map(|image| Output {
            image,
            path: DecodePath::Original,
        }),
        Variant::ScaledDown { max_pixels } => {
            scaled::decode(bytes, scaled::Target::Pixels(max_pixels), limits)
        }
        Variant::Thumbnail { width, height } => {
            scaled::decode(bytes, scaled::Target::Box(width, height), limits)
        }
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(_) => Err(DecodeError::Panicked),
    }
}

/// Full-size decode: colour JPEGs straight to RGBA8, everything else through `image`.
fn full(bytes: &[u8], limits: &Limits) -> Result<RgbaImage, DecodeError> {
    full_jpeg::decode(bytes, limits).unwrap_or_else(|| generic::decode(bytes, limits))
}

/// Refuses dimensions over the pixel limit.
pub(crate) fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), DecodeError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        Err(DecodeError::TooLarge { width, height })
    } else {
        Ok(())
    }
}
