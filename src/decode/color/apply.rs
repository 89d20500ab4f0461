//! Running a conversion over pixels, in place: no second image-sized buffer, whatever the
//! image's size, so a full-size conversion needs nothing beyond the decode's reservation.
//!
//! Owns: [`Conversion`] (a made transform, or the knowledge that none is needed), running it
//! over RGBA8, RGBA16 and CMYK rows through a small scratch buffer, narrowing 16-bit samples,
//! and the plain CMYK formula used without a profile. Must not touch: making transforms
//! (`build.rs`), the cache.

use std::sync::Arc;

use image::{DynamicImage, RgbaImage};
use moxcms::{Transform8BitExecutor, Transform16BitExecutor};

use super::Rgba16Image;
use crate::decode::DecodeError;

/// Pixels converted per call of a transform (64 KiB of RGBA8 scratch).
const CHUNK_PIXELS: usize = 16 << 10;

/// A ready conversion for one pixel layout.
pub(crate) enum Conversion {
    /// The conversion changes nothing worth a pass (no sample moves by more than 1).
    Identity,
    /// RGBA8 to RGBA8 (alpha kept).
    Rgb8(Arc<Transform8BitExecutor>),
    /// RGBA16 to RGBA16 (alpha kept).
    Rgb16(Arc<Transform16BitExecutor>),
    /// A gray level to its RGB colour (the red channel of expanded gray is the level).
    Gray8(Box<[[u8; 3]; 256]>),
    /// CMYK (ICC convention, 0 = no ink) in RGBA layout to RGBA8.
    Cmyk8(Arc<Transform8BitExecutor>),
}

fn failed(_: moxcms::CmsError) -> DecodeError {
    DecodeError::Corrupt("colour conversion failed".into())
}

impl Conversion {
    /// Converts an RGBA8 image in place (gray tables read the red channel).
    pub(crate) fn rgba8(&self, image: &mut RgbaImage) -> Result<(), DecodeError> {
        match self {
            Conversion::Rgb8(t) => in_place(image, t.as_ref(), |_| {}),
            Conversion::Gray8(table) => {
                for p in image.pixels_mut() {
                    let [r, g, b] = table[usize::from(p.0[0])];
                    p.0[..3].copy_from_slice(&[r, g, b]);
                }
                Ok(())
            }
            // A layout this conversion was not made for: leave the pixels.
            Conversion::Identity | Conversion::Rgb16(_) | Conversion::Cmyk8(_) => Ok(()),
        }
    }

    /// Converts an RGBA16 image in place.
    pub(crate) fn rgba16(&self, image: &mut Rgba16Image) -> Result<(), DecodeError> {
        match self {
            Conversion::Rgb16(t) => in_place(image, t.as_ref(), |_| {}),
            _ => Ok(()),
        }
    }

    /// Turns CMYK stored as Adobe writes it (255 = no ink) into RGBA8, in place.
    pub(crate) fn cmyk(&self, image: &mut RgbaImage) -> Result<(), DecodeError> {
        match self {
            Conversion::Cmyk8(t) => in_place(image, t.as_ref(), |inks| {
                for v in inks {
                    *v = 255 - *v;
                }
            }),
            _ => {
                plain_cmyk(image);
                Ok(())
            }
        }
    }
}

/// Runs `t` over `samples` (4 per pixel, same layout in and out) a chunk at a time: each
/// chunk is copied to a scratch buffer (where `prepare` may adjust it) and converted back into
/// place.
fn in_place<T: Copy + Default>(
    samples: &mut [T],
    t: &(dyn moxcms::TransformExecutor<T> + Send + Sync),
    prepare: impl Fn(&mut [T]),
) -> Result<(), DecodeError> {
    let mut scratch = vec![T::default(); samples.len().min(CHUNK_PIXELS * 4)];
    for chunk in samples.chunks_mut(CHUNK_PIXELS * 4) {
        let src = &mut scratch[..chunk.len()];
        src.copy_from_slice(chunk);
        prepare(src);
        t.transform(src, chunk).map_err(failed)?;
    }
    Ok(())
}

/// 16-bit samples to 8, rounded as `image` narrows them.
pub(crate) fn narrow(image: Rgba16Image) -> RgbaImage {
    DynamicImage::ImageRgba16(image).into_rgba8()
}

/// CMYK stored as Adobe writes it to RGB by the plain formula (`channel x K / 255`, with
/// zune-jpeg's rounding), opaque: what webimage did before colour management, and still does
/// without a usable profile.
pub(crate) fn plain_cmyk(image: &mut RgbaImage) {
    let mul = |x: u8, k: u8| {
        let t = u32::from(x) * u32::from(k) + 128;
        ((t + (t >> 8)) >> 8) as u8
    };
    for p in image.pixels_mut() {
        let [c, m, y, k] = p.0;
        p.0 = [mul(c, k), mul(m, k), mul(y, k), 255];
    }
}
