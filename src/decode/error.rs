//! Why bytes did not become pixels, and the public error each reason becomes.
//!
//! Owns: [`DecodeError`] and its mapping to [`Error`] (with the limit that refused it). Must
//! not touch: decoding; every format and the registry return these.

use super::Limits;
use crate::error::{Cause, Error, Limit};

/// Why bytes did not become pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The decoder panicked (a decoder bug on hostile data; contained here).
    Panicked,
    /// The job stopped wanting the result while the decode waited for memory.
    Stopped,
    /// The decode needs more memory than the whole decode budget.
    OverBudget { needed: u64, budget: u64 },
    /// Not an image format this build decodes.
    Unsupported(String),
    /// The header declares more pixels than allowed.
    TooLarge { width: u32, height: u32 },
    /// An animation has more frames than allowed.
    TooManyFrames { frames: u64 },
    /// An animation's frames together have more pixels than allowed.
    FramesTooLarge {
        width: u32,
        height: u32,
        frames: u64,
    },
    /// A known format, but corrupt or truncated.
    Corrupt(String),
    /// A decoding library's own error, kept as the source: unsupported data if `unsupported`,
    /// corrupt data otherwise.
    Library {
        unsupported: bool,
        message: String,
        source: Cause,
    },
}

impl DecodeError {
    /// The public error for this failure while loading `url`.
    pub(crate) fn into_error(self, url: &str, limits: &Limits) -> Error {
        let url = url.to_string();
        match self {
            DecodeError::Unsupported(message) => Error::UnsupportedFormat {
                url,
                message,
                source: None,
            },
            DecodeError::TooLarge { width, height } => Error::TooLarge {
                url,
                limit: Limit::Pixels {
                    width,
                    height,
                    limit: limits.max_pixels,
                },
            },
            DecodeError::TooManyFrames { frames } => Error::TooLarge {
                url,
                limit: Limit::Frames {
                    frames,
                    limit: limits.max_animation_frames,
                },
            },
            DecodeError::FramesTooLarge {
                width,
                height,
                frames,
            } => Error::TooLarge {
                url,
                limit: Limit::AnimationPixels {
                    width,
                    height,
                    frames,
                    limit: limits.max_pixels,
                },
            },
            DecodeError::Corrupt(message) => Error::Decode {
                url,
                message,
                source: None,
            },
            DecodeError::Library {
                unsupported: true,
                message,
                source,
            } => Error::UnsupportedFormat {
                url,
                message,
                source: Some(source),
            },
            DecodeError::Library {
                message, source, ..
            } => Error::Decode {
                url,
                message,
                source: Some(source),
            },
            DecodeError::Panicked => Error::Decode {
                url,
                message: "the decoder failed on this data (it panicked)".into(),
                source: None,
            },
            DecodeError::Stopped => Error::Shutdown { url },
            DecodeError::OverBudget { needed, budget } => Error::TooLarge {
                url,
                limit: Limit::DecodeMemory { needed, budget },
            },
        }
    }
}
