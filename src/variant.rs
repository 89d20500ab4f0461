//! Which decoded form of an image a caller wants: the key, beside the URL, of the memory
//! cache and of the decodes a task makes.
//!
//! Owns: [`Variant`] (the decode [`Size`], whether animation frames are wanted, the colour
//! space, and the processor chain) and what it is made from. Must not touch: requests
//! (`request.rs` maps one to a variant), decoding or caches.

use crate::color::ColorTarget;
use crate::process::Chain;

/// Which decoded form of an image a caller wants. Each variant is a separate memory-cache
/// entry; callers asking for different variants of one URL share one download, and variants
/// that differ only in their processors share one decode. A full-size load never receives a
/// thumbnail or a capped image, nor the other way round, and an image converted to one colour
/// space is never handed out for another. Cheap to clone (at most two reference counts: an
/// app's ICC profile, the chain), compare and hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Variant {
    /// The size decoded.
    pub(crate) size: Size,
    /// Every frame of an animation, or only the first.
    pub(crate) animated: bool,
    /// The colour space the pixels are converted to.
    pub(crate) color: ColorTarget,
    /// Processors run on the decoded image, in order; `None` for the decoded image itself.
    pub(crate) chain: Option<Chain>,
}

impl Variant {
    /// The still, unprocessed sRGB image at `size`.
    pub(crate) fn of(size: Size) -> Variant {
        Variant {
            size,
            animated: false,
            color: ColorTarget::Srgb,
            chain: None,
        }
    }

    /// The decode this variant is made from: the same size, frames and colour space, no
    /// processors.
    pub(crate) fn decoded(&self) -> Variant {
        Variant {
            size: self.size,
            animated: self.animated,
            color: self.color.clone(),
            chain: None,
        }
    }
}

/// The size a variant is decoded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Size {
    /// The whole image at its own size.
    Original,
    /// The whole image, scaled down (aspect kept) if it has more than `max_pixels` pixels.
    /// Each cap is its own variant.
    ScaledDown {
        /// The cap, at least 1.
        max_pixels: u64,
    },
    /// Scaled down to fit inside a `width` x `height` box as displayed (after EXIF
    /// orientation), aspect kept, never upscaled.
    Thumbnail {
        /// Box width, at least 1.
        width: u32,
        /// Box height, at least 1.
        height: u32,
    },
    /// Scaled (aspect kept) so that it covers a `width` x `height` box as displayed, then
    /// cropped to the box around its centre: exactly the box's size.
    Cover {
        /// Box width, at least 1.
        width: u32,
        /// Box height, at least 1.
        height: u32,
    },
}
