//! Turning downloaded bytes into upright RGBA8 pixels, on the calling worker thread.
//!
//! Owns: the [`FormatDecoder`] trait (one implementation per format family, in `formats/`),
//! the registry that picks one by sniffing the bytes ([`Decoders`]), and the steps every
//! decode goes through in the same order whatever the format: sniff (from the bytes, never the
//! URL or `Content-Type`), read the header ([`FormatDecoder::probe`]), refuse sizes over the
//! pixel limit before any pixel buffer exists, decode for the [`Target`] (the decoder may
//! produce the target directly, or something larger), resize to the exact size (`resize`,
//! sizes from `fit`), and contain a panicking decoder as an error. Must not touch: the
//! network, caches or the in-flight map.
//!
//! Formats: `formats/jpeg.rs` (full size through zune-jpeg; thumbnails through the reduced
//! decoder in `jpeg/` or the embedded Exif thumbnail read by `exif`), `formats/image_rs.rs`
//! (PNG, GIF, WebP, BMP, ICO, TIFF, QOI, PNM, TGA through the `image` crate), and with their
//! features `formats/jxl.rs`, `formats/svg.rs` and `formats/avif.rs` (rav1d). `preview.rs`
//! follows a progressive JPEG still downloading, for previews and early-stopped thumbnails.
//! Animations (every frame of a GIF, APNG or animated WebP, when the variant asks for them):
//! `animation.rs`, through the same steps with the frame count and the pixels of all frames
//! checked before any frame is decoded; an animated AVIF's frames through the same steps and
//! checks, decoded by its own format ([`FormatDecoder::frames`]).

mod animation;
mod budget;
mod exif;
mod fit;
mod formats;
mod jpeg;
pub(crate) mod preview;
mod resize;
#[cfg(test)]
mod test_util;
mod user;

#[cfg(feature = "svg")]
use formats::svg::SvgOptions;
pub use user::{Decoder, DecoderError};

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use image::RgbaImage;
use image::metadata::Orientation;

use crate::error::{Cause, Error, Limit};
use crate::loaded::Pixels;
use crate::request::{Size, Variant};

/// Limits a decode runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest width x height accepted, checked against the header; for an animation, the
    /// canvas times the number of frames.
    pub(crate) max_pixels: u64,
    /// Most frames an animation may have.
    pub(crate) max_animation_frames: u32,
}

pub(crate) use budget::{Budget, Reservation};

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

/// How a decode made its image (which path ran), for the counters in `Stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodePath {
    /// A full-size load ([`Size::Original`]).
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

/// A decoded image and the path that made it (what a format decoder returns).
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) image: RgbaImage,
    pub(crate) path: DecodePath,
}

/// What the registry returns: a still image or every frame of an animation, and the path
/// that made it.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) pixels: Pixels,
    pub(crate) path: DecodePath,
}

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
    fn finish(self, image: RgbaImage) -> Result<RgbaImage, DecodeError> {
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

/// What a decoder's header read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Width as stored (before orientation).
    pub(crate) width: u32,
    /// Height as stored.
    pub(crate) height: u32,
    /// How the stored image is turned upright.
    pub(crate) orientation: Orientation,
    /// Bytes of the decoder's own output buffer at full size (its native pixel format), and
    /// of any whole-image state it keeps while decoding.
    pub(crate) native_bytes: u64,
}

/// One image format (or family of formats).
pub(crate) trait FormatDecoder: Send + Sync {
    /// Whether `head` (the first bytes of the body, up to 1 KiB) starts an image of this
    /// format.
    fn sniff(&self, head: &[u8]) -> bool;

    /// Reads the header: the size as stored and the orientation. Allocates no pixel buffer;
    /// the registry checks the size against the pixel limit before [`decode`](Self::decode).
    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError>;

    /// The most memory a decode of `bytes` for `target` holds at once: what the loader
    /// reserves from its decode budget before [`decode`](Self::decode) runs. The default is a
    /// full-size decode followed by the registry's resize ([`full_peak`]).
    fn peak_bytes(&self, bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let _ = bytes;
        full_peak(probe, target)
    }

    /// Decodes to upright RGBA8 for `target`: exactly the target size when the format can
    /// decode small cheaply, or any larger upright image (the registry resizes it, and crops
    /// the centre of a cover).
    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError>;

    /// If `bytes` hold an animation this format decodes frame by frame (more than one
    /// frame), what its container says about it, read without decoding any frame. The
    /// default: never.
    fn animation(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Option<animation::Info>, DecodeError> {
        let _ = (bytes, limits);
        Ok(None)
    }

    /// The most memory decoding every frame of `info` for `target` holds (reserved before
    /// [`frames`](Self::frames) runs). The default: the `image` crate's frame decoders
    /// ([`animation::peak_bytes`]).
    fn frames_peak_bytes(&self, bytes: &[u8], info: &animation::Info, target: Target) -> u64 {
        let _ = bytes;
        animation::peak_bytes(info, target)
    }

    /// Decodes every frame of the animation `info` (which the registry has checked against
    /// the limits), each turned upright and passed through `finish` (the registry's resize)
    /// as it comes; `target` lets a format make each frame small itself. The default: the
    /// `image` crate's frame iterators ([`animation::decode`]), with `orientation` from the
    /// container.
    fn frames(
        &self,
        bytes: &[u8],
        info: &animation::Info,
        orientation: Orientation,
        target: Target,
        limits: &Limits,
        finish: &mut dyn FnMut(RgbaImage) -> Result<RgbaImage, DecodeError>,
    ) -> Result<Pixels, DecodeError> {
        let _ = target;
        animation::decode(bytes, info, orientation, limits, finish)
    }
}

/// How much of a body the formats see to recognise themselves (an SVG's prolog can be long).
const SNIFF_BYTES: usize = 1024;

/// The peak memory of a full-size decode to upright RGBA8 followed by a resize to `target`:
/// the largest of the decoder's buffer plus its conversion to RGBA8, an orientation copy,
/// and the resize (source, its premultiplied copy, the intermediate pass and the output),
/// plus an eighth for the decoder's own state.
pub(crate) fn full_peak(probe: &Probe, target: Target) -> u64 {
    let (w, h) = (u64::from(probe.width), u64::from(probe.height));
    let rgba = w * h * 4;
    let convert = probe.native_bytes + if probe.native_bytes == rgba { 0 } else { rgba };
    let orient = if probe.orientation == Orientation::NoTransforms {
        0
    } else {
        2 * rgba
    };
    let upright = if exif::swaps_axes(probe.orientation) {
        (probe.height, probe.width)
    } else {
        (probe.width, probe.height)
    };
    let (ow, oh) = target.size_for(upright.0, upright.1);
    let resize = if (ow, oh) == upright {
        0
    } else {
        let (ow, oh, uh) = (u64::from(ow), u64::from(oh), u64::from(upright.1));
        2 * rgba + ow * uh * 4 + ow * oh * 4
    };
    let peak = convert.max(orient).max(resize);
    peak + peak / 8 + (64 << 10)
}

/// The decoders of one loader, tried in order, and the memory budget they share.
#[derive(Clone)]
pub(crate) struct Decoders {
    formats: Vec<Arc<dyn FormatDecoder>>,
    budget: Option<Arc<Budget>>,
}

impl Decoders {
    /// The built-in formats, with no memory budget and default options.
    pub(crate) fn builtin() -> Self {
        Decoders::new(&[], false)
    }

    /// `user`'s decoders (tried first, in order), then the built-in formats: JPEG, JPEG XL,
    /// AVIF and SVG when built with their features, then everything the `image` crate reads.
    /// `svg_system_fonts` lets SVG text use the system's fonts (feature `svg-text`).
    pub(crate) fn new(user: &[Arc<dyn Decoder>], svg_system_fonts: bool) -> Self {
        let mut formats: Vec<Arc<dyn FormatDecoder>> = user
            .iter()
            .map(|d| Arc::new(user::UserFormat(d.clone())) as Arc<dyn FormatDecoder>)
            .collect();
        formats.push(Arc::new(formats::jpeg::Jpeg));
        #[cfg(feature = "jxl")]
        formats.push(Arc::new(formats::jxl::Jxl));
        // Before `image`, which recognises AVIF but is built without a decoder for it.
        #[cfg(feature = "avif")]
        formats.push(Arc::new(formats::avif::Avif));
        #[cfg(feature = "svg")]
        formats.push(Arc::new(formats::svg::Svg(SvgOptions {
            load_system_fonts: svg_system_fonts,
        })));
        #[cfg(not(feature = "svg"))]
        let _ = svg_system_fonts;
        formats.push(Arc::new(formats::image_rs::ImageRs));
        Decoders {
            formats,
            budget: None,
        }
    }

    /// The same decoders sharing a budget of `bytes` for every decode at once.
    pub(crate) fn with_budget(mut self, bytes: u64) -> Self {
        self.budget = Some(Arc::new(Budget::new(bytes)));
        self
    }

    /// Reserves `bytes` from the decode budget (nothing to reserve without one), waiting for
    /// room; `stop` is asked while waiting whether the result is still wanted. The processing
    /// stage runs inside the same budget through this.
    pub(crate) fn reserve(
        &self,
        bytes: u64,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Reservation<'_>>, DecodeError> {
        let Some(budget) = &self.budget else {
            return Ok(None);
        };
        budget
            .reserve(bytes, stop)
            .map(Some)
            .map_err(|refused| match refused {
                budget::Refused::TooLarge => DecodeError::OverBudget {
                    needed: bytes,
                    budget: budget.total(),
                },
                budget::Refused::Stopped => DecodeError::Stopped,
            })
    }

    /// Decodes `bytes` into the requested variant's size, every frame of an animation if it
    /// asks for them (its processors are not the decode's business). `stop` is asked while
    /// the decode waits for memory whether the result is still wanted.
    pub(crate) fn decode(
        &self,
        bytes: &[u8],
        variant: &Variant,
        limits: &Limits,
        stop: &dyn Fn() -> bool,
    ) -> Result<Decoded, DecodeError> {
        let run = || {
            let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
            let Some(format) = self.formats.iter().find(|f| f.sniff(head)) else {
                return Err(DecodeError::Unsupported(describe_unknown(bytes)));
            };
            let probe = format.probe(bytes)?;
            check_pixels(probe.width, probe.height, limits)?;
            let target = Target::of(variant.size);
            let original = variant.size == Size::Original;
            if variant.animated
                && let Some(info) = format.animation(bytes, limits)?
            {
                animation::check(&info, limits)?;
                let peak = format.frames_peak_bytes(bytes, &info, target);
                let _reservation = self.reserve(peak, stop)?;
                let mut finish = |f| target.finish(f);
                let pixels =
                    format.frames(bytes, &info, probe.orientation, target, limits, &mut finish)?;
                let path = if original {
                    DecodePath::Original
                } else {
                    DecodePath::FullDecode
                };
                return Ok(Decoded { pixels, path });
            }
            let _reservation = self.reserve(format.peak_bytes(bytes, &probe, target), stop)?;
            let output = format.decode(bytes, &probe, target, limits)?;
            let image = target.finish(output.image)?;
            let path = if original {
                DecodePath::Original
            } else {
                output.path
            };
            Ok(Decoded {
                pixels: Pixels::still(image),
                path,
            })
        };
        match catch_unwind(AssertUnwindSafe(run)) {
            Ok(result) => result,
            Err(_) => Err(DecodeError::Panicked),
        }
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

/// A short description of bytes that are not a known image format. It never quotes the bytes:
/// they may be a private file or a page with secrets in it.
fn describe_unknown(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "empty body".into();
    }
    let head = &bytes[..bytes.len().min(512)];
    let n = bytes.len();
    let text = std::str::from_utf8(head).is_ok_and(|t| !t.contains('\0'));
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if text && first == Some(&b'<') {
        format!("not an image: {n} bytes of markup (HTML or XML?)")
    } else if text {
        format!("not an image: {n} bytes of text")
    } else {
        format!("not an image: {n} bytes in no format this build decodes")
    }
}
