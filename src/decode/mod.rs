//! Turning downloaded bytes into upright RGBA8 pixels, on the calling worker thread.
//!
//! Owns: format sniffing (from the bytes, never the URL or `Content-Type`), the pixel limit
//! checked against the header before any pixel buffer exists, EXIF orientation, and conversion
//! to RGBA8. Must not touch: the network, caches or the in-flight map. A decoder that panics on
//! hostile input is contained here and reported as a decode error.

mod generic;
// Wired into the thumbnail path in a later commit.
#[allow(dead_code)]
mod jpeg;

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

/// Decodes `bytes` into the requested variant.
pub(crate) fn decode(
    bytes: &[u8],
    variant: Variant,
    limits: &Limits,
) -> Result<RgbaImage, DecodeError> {
    let run = || match variant {
        Variant::Original => generic::decode(bytes, limits),
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(_) => Err(DecodeError::Panicked),
    }
}

/// Refuses dimensions over the pixel limit.
pub(crate) fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), DecodeError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        Err(DecodeError::TooLarge { width, height })
    } else {
        Ok(())
    }
}
