//! Colour management: every decoded image converted from the colour space its file describes
//! to the one the caller asked for, in one place.
//!
//! Owns: what a file says about its colour ([`Profile`], handed over by each format's
//! `FormatDecoder::profile`, read with the helpers in `read.rs`), the pixels a decoder
//! delivers in that space ([`Raster`]), the per-loader engine ([`Colors`]: the bounded cache of
//! transforms keyed by the SHA-256 of the description, `build.rs` to make one, `apply.rs` to
//! run one) and what a conversion did ([`Outcome`], counted in `Stats`). Must not touch: how a
//! format is decoded or resized (a decoder hands over its pixels and its profile; the registry
//! calls [`Colors::deliver`] with its resize), the memory cache, the network.
//!
//! Where a conversion runs, so that it costs least: 8-bit RGB(A) after the resize (a
//! thumbnail converts its small output, never the full image); 16-bit samples before it, at
//! their precision, then narrowed to 8 bits; CMYK (with a profile) at whatever size the
//! decoder delivers (the reduced JPEG path delivers the target size). Untagged and sRGB
//! images bound for sRGB skip everything (no digest, no lookup).

mod apply;
mod build;
pub(crate) mod read;
#[cfg(test)]
mod tests;

use std::num::NonZeroUsize;
use std::sync::Arc;

use image::{ImageBuffer, Rgba, RgbaImage};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::DecodeError;
use crate::color::ColorTarget;
use apply::Conversion;

pub(crate) use crate::color::MAX_PROFILE_BYTES;

/// RGBA with 16-bit samples.
pub(crate) type Rgba16Image = ImageBuffer<Rgba<u16>, Vec<u16>>;

/// How many transforms a loader keeps (least recently used out). A CMYK transform holds a
/// 17^4 table (about 1 MiB), an RGB one a few KiB, so at most about 16 MiB.
const CACHED_TRANSFORMS: usize = 16;

/// What a file says about the colour space of its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Nothing: taken to be sRGB, as on the web.
    Unspecified,
    /// sRGB, explicitly (PNG `sRGB`, CICP 1/13, JPEG XL's sRGB encoding).
    Srgb,
    /// An embedded ICC profile, and what kind of image carries it.
    Icc { bytes: Vec<u8>, model: Model },
    /// CICP code points: colour primaries, transfer characteristics, matrix coefficients,
    /// full-range flag (PNG `cICP`; AVIF's `nclx` later).
    Cicp([u8; 4]),
    /// PNG `gAMA` (the file gamma times 100,000) and, if present, `cHRM` (white point and
    /// red, green, blue x, y, times 100,000).
    Gamma { gamma: u32, chrm: Option<[u32; 8]> },
    /// Colour information that cannot be used (malformed, over the size cap, inconsistent):
    /// the pixels are delivered as stored and the profile counted as ignored.
    Invalid(&'static str),
}

/// The kind of pixels a profile came with, as the decoder sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Model {
    /// One channel (and alpha): a gray profile applies.
    Gray,
    /// Three channels (and alpha).
    Rgb,
    /// Four inks.
    Cmyk,
}

/// Pixels as a decoder delivers them, upright, in the colour space of the file's [`Profile`].
#[derive(Debug)]
pub(crate) enum Raster {
    /// RGBA8 (gray expanded): resized first, then converted.
    Rgba8(RgbaImage),
    /// RGBA with 16-bit samples: converted at 16 bits, narrowed to 8, then resized.
    Rgba16(Rgba16Image),
    /// CMYK in an RGBA8 buffer, stored as Adobe writes it (255 = no ink): converted through
    /// the file's CMYK profile (or by the plain formula without a usable one), then resized.
    Cmyk8(RgbaImage),
}

/// What colour management did to one decode, for `Stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing to apply: no profile, an sRGB one bound for sRGB, a profile that changes no
    /// sample by more than 1, or colour management off ([`ColorTarget::AsStored`]).
    None,
    /// The file's own colour description was applied.
    Applied,
    /// The file's colour description could not be used: pixels as stored.
    Ignored,
}

/// Where a conversion's source colours come from: the cache key's first part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Source {
    Srgb,
    Icc([u8; 32], Model),
    Cicp([u8; 4]),
    Gamma(u32, Option<[u32; 8]>),
}

/// The pixel layout a conversion runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// RGBA8 to RGBA8.
    Rgb8,
    /// RGBA16 to RGBA16.
    Rgb16,
    /// Gray to RGB, as a table of 256 colours (16-bit gray is narrowed first).
    Gray8,
    /// CMYK (ICC convention: 0 = no ink) to RGBA8.
    Cmyk8,
}

type Key = (Source, Kind, ColorTarget);

/// A loader's colour engine: the transforms made so far, least recently used out.
pub(crate) struct Colors {
    cache: Mutex<lru::LruCache<Key, Result<Arc<Conversion>, &'static str>>>,
    /// Transforms built (cache misses), for the tests.
    #[cfg(test)]
    built: std::sync::atomic::AtomicU64,
}

impl Default for Colors {
    fn default() -> Self {
        Colors {
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CACHED_TRANSFORMS).expect("non-zero"),
            )),
            #[cfg(test)]
            built: Default::default(),
        }
    }
}

/// Memory a conversion may need beyond the pixels (they are converted in place): the
/// profile parsed and its tables, what the registry adds to a decode's reservation.
pub(crate) fn peak_bytes(profile: &Profile) -> u64 {
    match profile {
        Profile::Icc { bytes, .. } => 3 * bytes.len() as u64 + (2 << 20),
        Profile::Cicp(_) | Profile::Gamma { .. } => 1 << 20,
        Profile::Unspecified | Profile::Srgb | Profile::Invalid(_) => 0,
    }
}

impl Colors {
    /// `raster`, in the colour space `profile` describes, as upright RGBA8 in `target`;
    /// `finish` (the resize to the output size) runs before an 8-bit conversion and after the
    /// others. A profile that cannot be used leaves the pixels as stored: never an error.
    pub(crate) fn deliver(
        &self,
        raster: Raster,
        profile: &Profile,
        target: &ColorTarget,
        finish: impl FnOnce(RgbaImage) -> Result<RgbaImage, DecodeError>,
    ) -> Result<(RgbaImage, Outcome), DecodeError> {
        let gray = matches!(
            profile,
            Profile::Icc {
                model: Model::Gray,
                ..
            }
        );
        match raster {
            Raster::Rgba8(image) => {
                let mut image = finish(image)?;
                let kind = if gray { Kind::Gray8 } else { Kind::Rgb8 };
                let (conversion, outcome) = self.conversion(profile, kind, target);
                if let Some(c) = conversion {
                    c.rgba8(&mut image)?;
                }
                Ok((image, outcome))
            }
            Raster::Rgba16(mut image) => {
                let kind = if gray { Kind::Gray8 } else { Kind::Rgb16 };
                let (conversion, outcome) = self.conversion(profile, kind, target);
                if let Some(c) = &conversion
                    && kind == Kind::Rgb16
                {
                    c.rgba16(&mut image)?;
                }
                let mut narrow = apply::narrow(image);
                if let Some(c) = &conversion
                    && kind == Kind::Gray8
                {
                    c.rgba8(&mut narrow)?;
                }
                Ok((finish(narrow)?, outcome))
            }
            Raster::Cmyk8(mut image) => {
                let (conversion, outcome) = match profile {
                    Profile::Icc {
                        model: Model::Cmyk, ..
                    }
                    | Profile::Invalid(_) => self.conversion(profile, Kind::Cmyk8, target),
                    _ => (None, Outcome::None),
                };
                match conversion {
                    Some(c) => c.cmyk(&mut image)?,
                    None => {
                        // Without a usable profile, the plain formula's RGB is taken to be
                        // sRGB, as an untagged image's is.
                        apply::plain_cmyk(&mut image);
                        let (srgb, _) = self.conversion(&Profile::Unspecified, Kind::Rgb8, target);
                        if let Some(c) = srgb {
                            c.rgba8(&mut image)?;
                        }
                    }
                }
                Ok((finish(image)?, outcome))
            }
        }
    }

    /// Converts animation frames (RGBA8, already at the output size) one by one.
    pub(crate) fn frames(&self, profile: &Profile, target: &ColorTarget) -> Frames {
        let kind = match profile {
            Profile::Icc {
                model: Model::Gray, ..
            } => Kind::Gray8,
            _ => Kind::Rgb8,
        };
        let (conversion, outcome) = self.conversion(profile, kind, target);
        Frames {
            conversion,
            outcome,
        }
    }

    /// The conversion of `kind` pixels from `profile` to `target` (`None`: leave them), and
    /// what it means for the counters. Looked up by the description's digest; made and cached
    /// on a miss, outside the lock (two workers may both make one at the same moment; both
    /// results are equal).
    fn conversion(
        &self,
        profile: &Profile,
        kind: Kind,
        target: &ColorTarget,
    ) -> (Option<Arc<Conversion>>, Outcome) {
        if *target == ColorTarget::AsStored {
            return (None, Outcome::None);
        }
        let source = match profile {
            Profile::Invalid(_) => return (None, Outcome::Ignored),
            Profile::Unspecified | Profile::Srgb if *target == ColorTarget::Srgb => {
                return (None, Outcome::None);
            }
            Profile::Unspecified | Profile::Srgb => Source::Srgb,
            Profile::Icc { bytes, model } => Source::Icc(Sha256::digest(bytes).into(), *model),
            Profile::Cicp(c) => Source::Cicp(*c),
            Profile::Gamma { gamma, chrm } => Source::Gamma(*gamma, *chrm),
        };
        let declared = source != Source::Srgb;
        let key = (source, kind, target.clone());
        let found = self.cache.lock().get(&key).cloned();
        let entry = match found {
            Some(entry) => entry,
            None => {
                #[cfg(test)]
                self.built
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let made = build::conversion(profile, kind, target).map(Arc::new);
                self.cache.lock().put(key, made.clone());
                made
            }
        };
        match entry {
            Err(_) => (None, Outcome::Ignored),
            Ok(c) if matches!(*c, Conversion::Identity) => (None, Outcome::None),
            Ok(c) if declared => (Some(c), Outcome::Applied),
            Ok(c) => (Some(c), Outcome::None),
        }
    }
}

/// The conversion of one animation's frames.
pub(crate) struct Frames {
    conversion: Option<Arc<Conversion>>,
    outcome: Outcome,
}

impl Frames {
    /// `frame` in the target space.
    pub(crate) fn convert(&self, mut frame: RgbaImage) -> Result<RgbaImage, DecodeError> {
        if let Some(c) = &self.conversion {
            c.rgba8(&mut frame)?;
        }
        Ok(frame)
    }

    /// What colour management did to the frames.
    pub(crate) fn outcome(&self) -> Outcome {
        self.outcome
    }
}
