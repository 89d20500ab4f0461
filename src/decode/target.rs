//! The size a decode produces: [`Target`], from a variant's size, and making any image a
//! decoder returns exactly that size.
//!
//! Owns: the output size for an upright image (box fitting, pixel caps, covers, through
//! `fit`), the size a raster decoder should aim for, and the last resize or centre crop
//! (`resize`). Must not touch: decoding, colours.

use image::RgbaImage;

use super::{DecodeError, fit, resize};
use crate::request::Size;

/// The size a decode produces, given the image's upright size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The image's own size.
    Full,
    /// Fit inside this box (width, height), never upscaled.
    Box(u32, u32),
    /// At most this many pixels.
    Pixels(u64),
    /// Exactly this box (width, height): scaled to cover it, the centre cropped.
    Cover(u32, u32),
}

impl Target {
    /// The target of a decode size.
    pub(crate) fn of(size: Size) -> Target {
        match size {
            Size::Original => Target::Full,
            Size::ScaledDown { max_pixels } => Target::Pixels(max_pixels),
            Size::Thumbnail { width, height } => Target::Box(width, height),
            Size::Cover { width, height } => Target::Cover(width, height),
        }
    }

    /// Output size for an upright `width` x `height` image.
    pub(crate) fn size_for(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Target::Full => (width, height),
            Target::Box(w, h) => fit::fit_box(width, height, w, h),
            Target::Pixels(max) => fit::fit_pixels(width, height, max),
            Target::Cover(w, h) => (w, h),
        }
    }

    /// The size a raster decoder should make the whole upright `width` x `height` image:
    /// the output size, except for a cover, where it is the image scaled to cover the box
    /// (aspect kept; the registry crops the centre), or its own size if covering the box
    /// would scale it up (the registry scales it up after the decode).
    pub(crate) fn decode_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Target::Cover(w, h) => {
                let (cw, ch) = fit::cover_size(width, height, w, h);
                if cw > width || ch > height {
                    (width, height)
                } else {
                    (cw, ch)
                }
            }
            _ => self.size_for(width, height),
        }
    }

    /// `image` made exactly the size of this target (from whatever larger or differently
    /// shaped image a decoder returned): resized, or for a cover, centre-cropped and resized.
    pub(super) fn finish(self, image: RgbaImage) -> Result<RgbaImage, DecodeError> {
        let (width, height) = image.dimensions();
        let size = self.size_for(width, height);
        if size == (width, height) {
            return Ok(image);
        }
        match self {
            Target::Cover(w, h) => {
                resize::rgba_crop(&image, fit::cover_crop(width, height, w, h), size)
            }
            _ => resize::rgba(image, size),
        }
    }
}
