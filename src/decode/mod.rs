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
//! (PNG, GIF, BMP, ICO, TIFF, QOI, PNM through the `image` crate), `formats/tga.rs` (TGA,
//! told by a plausible header and tried last, decoded by `image`), and with their features
//! `formats/jxl.rs`, `formats/svg.rs` and `formats/avif.rs` (re_rav1d). Where a decoder
//! allocates more than the stored size says, its container is read first, cost in proportion
//! to the bytes: `gif_walk` (a GIF's frames, which may be larger than its screen) and
//! `tiff_chunks` (a TIFF's chunks, whose JPEGs are checked like JPEG files). `preview.rs`
//! follows a progressive JPEG still downloading, for previews and early-stopped thumbnails.
//! Animations (every frame of a GIF, APNG or animated WebP, when the variant asks for them):
//! `animation.rs`, through the same steps with the frame count and the pixels of all frames
//! checked before any frame is decoded; an animated AVIF's frames through the same steps and
//! checks, decoded by its own format ([`FormatDecoder::frames`]).

mod animation;
mod budget;
pub(crate) mod color;
mod error;
mod exif;
mod fit;
mod formats;
mod gif_walk;
mod jpeg;
pub(crate) mod preview;
mod resize;
mod target;
#[cfg(test)]
mod test_util;
mod tiff_chunks;
mod user;
mod webp;

#[cfg(feature = "svg")]
use formats::svg::SvgOptions;
pub use user::{Decoder, DecoderError};

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use image::RgbaImage;
use image::metadata::Orientation;

use crate::color::ColorTarget;
use crate::loaded::Pixels;
use crate::request::{Size, Variant};
use color::{Colors, Outcome, Profile, Raster};
pub(crate) use target::Target;

/// Limits a decode runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest width x height accepted, checked against the header and what the decoder
    /// really decodes; for an animation, against its frames together.
    pub(crate) max_pixels: u64,
    /// Most frames an animation may have.
    pub(crate) max_animation_frames: u32,
}

pub(crate) use budget::{Budget, Reservation};
pub(crate) use error::DecodeError;

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
    /// Scaled: a lossy WebP averaged down in YUV as it was decoded, then resized.
    YuvReduced,
}

/// A decoded image and the path that made it (what a format decoder returns): upright pixels
/// in the colour space of the file's [`Profile`], which the registry converts.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) image: Raster,
    pub(crate) path: DecodePath,
}

impl Output {
    /// RGBA8 pixels (gray expanded) made by `path`.
    pub(crate) fn new(image: RgbaImage, path: DecodePath) -> Output {
        Output {
            image: Raster::Rgba8(image),
            path,
        }
    }
}

/// What the registry returns: a still image or every frame of an animation, the path that
/// made it, and what colour management did.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) pixels: Pixels,
    pub(crate) path: DecodePath,
    pub(crate) color: Outcome,
    /// How long the decode waited for the budget.
    pub(crate) budget_wait: Duration,
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
    /// Bytes the decoder holds beside its output only while it decodes, gone before the
    /// conversion to RGBA8: a GIF frame's own buffers, `tiff`'s copy of the image and its
    /// largest JPEG chunk. 0 for most formats.
    pub(crate) scratch_bytes: u64,
    /// The size of what the decoder really decodes when that is not the stored size: a GIF's
    /// first frame (which may be larger than its screen), a TIFF's chunks with their padding.
    /// The registry checks it against the pixel limit as well. `(width, height)` otherwise.
    pub(crate) decoded: (u32, u32),
}

impl Probe {
    /// A probe whose decoder decodes exactly the stored size.
    pub(crate) fn sized(
        width: u32,
        height: u32,
        orientation: Orientation,
        native_bytes: u64,
    ) -> Probe {
        Probe {
            width,
            height,
            orientation,
            native_bytes,
            scratch_bytes: 0,
            decoded: (width, height),
        }
    }
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

    /// What `bytes` say about the colour space of the pixels [`decode`](Self::decode)
    /// returns (an ICC profile, CICP code points, PNG gamma and chromaticities), read from the
    /// headers; the registry converts the pixels from it. Never an error: colour information
    /// that cannot be used is [`Profile::Invalid`]. The default: nothing (sRGB).
    fn profile(&self, bytes: &[u8]) -> Profile {
        let _ = bytes;
        Profile::Unspecified
    }
}

/// How much of a body the formats see to recognise themselves (an SVG's prolog can be long).
const SNIFF_BYTES: usize = 1024;

/// The peak memory of a full-size decode to upright RGBA8 followed by a resize to `target`:
/// the largest of the decoder's buffer with its scratch while it decodes, the buffer plus its
/// conversion to RGBA8, an orientation copy, and the resize (source, its premultiplied copy,
/// the intermediate pass and the output), plus an eighth for the decoder's own state.
pub(crate) fn full_peak(probe: &Probe, target: Target) -> u64 {
    let (w, h) = (u64::from(probe.width), u64::from(probe.height));
    let rgba = w * h * 4;
    let convert = probe.native_bytes + if probe.native_bytes == rgba { 0 } else { rgba };
    let decode = probe.native_bytes.saturating_add(probe.scratch_bytes);
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
    let peak = convert.max(decode).max(orient).max(resize);
    peak + peak / 8 + (64 << 10)
}

/// The decoders of one loader, tried in order, and the memory budget they share.
#[derive(Clone)]
pub(crate) struct Decoders {
    formats: Vec<Arc<dyn FormatDecoder>>,
    budget: Option<Arc<Budget>>,
    colors: Arc<Colors>,
}

impl Decoders {
    /// The built-in formats, with no memory budget and default options.
    pub(crate) fn builtin() -> Self {
        Decoders::new(&[], false)
    }

    /// `user`'s decoders (tried first, in order), then the built-in formats: JPEG, JPEG XL,
    /// AVIF and SVG when built with their features, then everything the `image` crate reads,
    /// and TGA last (told by a plausible header, not magic bytes).
    /// `svg_system_fonts` lets SVG text use the system's fonts (feature `svg-text`).
    pub(crate) fn new(user: &[Arc<dyn Decoder>], svg_system_fonts: bool) -> Self {
        let mut formats: Vec<Arc<dyn FormatDecoder>> = user
            .iter()
            .map(|d| Arc::new(user::UserFormat(d.clone())) as Arc<dyn FormatDecoder>)
            .collect();
        formats.push(Arc::new(formats::jpeg::Jpeg));
        formats.push(Arc::new(formats::webp::WebP));
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
        // Before `image`: the RLE BMPs its decoder refuses (`formats/bmp.rs`).
        formats.push(Arc::new(formats::bmp::BmpRle));
        formats.push(Arc::new(formats::image_rs::ImageRs));
        // Last: TGA has no magic bytes, only a header that must be plausible.
        formats.push(Arc::new(formats::tga::Tga));
        Decoders {
            formats,
            budget: None,
            colors: Arc::default(),
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

    /// Decodes `bytes` into the requested variant's size and colour space, every frame of an
    /// animation if it asks for them (its processors are not the decode's business). `stop` is
    /// asked while the decode waits for memory whether the result is still wanted.
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
            check_pixels(probe.decoded.0, probe.decoded.1, limits)?;
            let target = Target::of(variant.size);
            let original = variant.size == Size::Original;
            // Colour management off: the file's colour information is not even read.
            let profile = if variant.color == ColorTarget::AsStored {
                Profile::Unspecified
            } else {
                format.profile(bytes)
            };
            let color_bytes = color::peak_bytes(&profile);
            if variant.animated
                && let Some(info) = format.animation(bytes, limits)?
            {
                animation::check(&info, limits)?;
                let peak = format.frames_peak_bytes(bytes, &info, target) + color_bytes;
                let reservation = self.reserve(peak, stop)?;
                let budget_wait = reservation.as_ref().map_or(Duration::ZERO, |r| r.waited());
                let frames = self.colors.frames(&profile, &variant.color);
                let mut finish = |f| frames.convert(target.finish(f)?);
                let pixels =
                    format.frames(bytes, &info, probe.orientation, target, limits, &mut finish)?;
                let path = if original {
                    DecodePath::Original
                } else {
                    DecodePath::FullDecode
                };
                let color = frames.outcome();
                return Ok(Decoded {
                    pixels,
                    path,
                    color,
                    budget_wait,
                });
            }
            let peak = format.peak_bytes(bytes, &probe, target) + color_bytes;
            let reservation = self.reserve(peak, stop)?;
            let budget_wait = reservation.as_ref().map_or(Duration::ZERO, |r| r.waited());
            let output = format.decode(bytes, &probe, target, limits)?;
            let (image, color) =
                self.colors
                    .deliver(output.image, &profile, &variant.color, |image| {
                        target.finish(image)
                    })?;
            let path = if original {
                DecodePath::Original
            } else {
                output.path
            };
            Ok(Decoded {
                pixels: Pixels::still(image),
                path,
                color,
                budget_wait,
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
