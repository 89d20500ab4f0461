//! Animations: every frame of an animated GIF, APNG or WebP, composed on the full canvas.
//!
//! Owns: reading an animation's container without decoding a frame ([`probe`]: how many
//! frames, the canvas, the largest frame rectangle), the limits on them ([`check`]: the frame
//! count against `max_animation_frames`, canvas x frames against `max_pixels`, like imgproxy
//! counts an animation's resolution), the memory a decode of all frames holds
//! ([`peak_bytes`]), and the decode itself ([`decode`]): the `image` crate's frame iterators
//! (which compose each frame over the canvas and apply the previous frame's disposal), each
//! frame turned upright and made the target's size as it comes, so a thumbnail of an
//! animation holds one full-size canvas at a time, never all of them. Must not touch: still
//! images (the formats), the budget (the registry reserves [`peak_bytes`] before
//! [`decode`]), or sizes and resizing (the registry passes its own `finish` step).
//!
//! Counting. GIF: the `gif` crate walks the blocks with frame decoding skipped (no LZW, cost
//! in proportion to the bytes), stopping one past the frame limit. APNG: the `acTL` chunk's
//! declared frame count, read with the header (`png`); the decode never yields more. WebP:
//! the `ANMF` chunks `image-webp` lists when it opens the file. A file with fewer than two
//! frames is not an animation here and decodes as a still image.
//!
//! Not frame by frame: 16-bit APNG (the `image` crate composes 8-bit frames only), which
//! loads as its still first frame.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageError, RgbaImage};

use super::{DecodeError, Limits, Target};
use crate::error::Cause;
use crate::loaded::{Animation, Frame, LoopCount, Pixels};

/// Headroom for a decoder's own tables and row buffers.
const SLACK: u64 = 256 << 10;

/// Which container an animation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gif,
    Apng,
    WebP,
    /// Animated AVIF: counted and decoded by its own format (`formats/avif/frames.rs`),
    /// through [`FormatDecoder::frames`](super::FormatDecoder::frames).
    #[cfg(feature = "avif")]
    Avif,
}

/// What an animation's container says, before any frame is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Info {
    pub(crate) kind: Kind,
    /// Frames counted (for GIF, counting stops one past the limit).
    pub(crate) frames: u64,
    /// The canvas every frame is composed on.
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The largest frame rectangle (a GIF frame may be larger than its canvas).
    pub(crate) largest: (u32, u32),
}

fn corrupt(kind: Kind, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("{kind:?}: {e}"))
}

/// The animation in `bytes`, if they are an animated GIF, APNG or WebP with at least two
/// frames; `None` for anything else (decoded as a still image).
pub(crate) fn probe(bytes: &[u8], limits: &Limits) -> Result<Option<Info>, DecodeError> {
    let info = if bytes.starts_with(b"GIF8") {
        gif_info(bytes, limits)?
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        apng_info(bytes)?
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp_info(bytes)?
    } else {
        None
    };
    Ok(info.filter(|i| i.frames >= 2))
}

fn gif_info(bytes: &[u8], limits: &Limits) -> Result<Option<Info>, DecodeError> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| corrupt(Kind::Gif, e))?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let mut frames = 0u64;
    let mut largest = (0, 0);
    // A frame that does not read whole ends the count: the decode stops before it too.
    while let Ok(Some(frame)) = decoder.read_next_frame() {
        frames += 1;
        let (w, h) = (u32::from(frame.width), u32::from(frame.height));
        if u64::from(w) * u64::from(h) > u64::from(largest.0) * u64::from(largest.1) {
            largest = (w, h);
        }
        if frames > u64::from(limits.max_animation_frames) {
            break;
        }
    }
    Ok(Some(Info {
        kind: Kind::Gif,
        frames,
        width,
        height,
        largest,
    }))
}

fn apng_info(bytes: &[u8]) -> Result<Option<Info>, DecodeError> {
    let reader = png::Decoder::new(Cursor::new(bytes))
        .read_info()
        .map_err(|e| corrupt(Kind::Apng, e))?;
    let info = reader.info();
    let Some(control) = info.animation_control() else {
        return Ok(None);
    };
    if info.bit_depth == png::BitDepth::Sixteen {
        return Ok(None);
    }
    Ok(Some(Info {
        kind: Kind::Apng,
        frames: u64::from(control.num_frames),
        width: info.width,
        height: info.height,
        largest: (info.width, info.height),
    }))
}

fn webp_info(bytes: &[u8]) -> Result<Option<Info>, DecodeError> {
    let decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| corrupt(Kind::WebP, e))?;
    if !decoder.is_animated() {
        return Ok(None);
    }
    let (width, height) = decoder.dimensions();
    Ok(Some(Info {
        kind: Kind::WebP,
        frames: u64::from(decoder.num_frames()),
        width,
        height,
        largest: (width, height),
    }))
}

/// Refuses an animation over the limits, from its container alone.
pub(crate) fn check(info: &Info, limits: &Limits) -> Result<(), DecodeError> {
    if info.frames > u64::from(limits.max_animation_frames) {
        return Err(DecodeError::TooManyFrames {
            frames: info.frames,
        });
    }
    let canvas = u64::from(info.width) * u64::from(info.height);
    if canvas.saturating_mul(info.frames) > limits.max_pixels {
        return Err(DecodeError::FramesTooLarge {
            width: info.width,
            height: info.height,
            frames: info.frames,
        });
    }
    let (w, h) = info.largest;
    super::check_pixels(w, h, limits)
}

/// The most memory a decode of every frame for `target` holds: every output frame, the
/// decoder's canvases (the composed frame, the state kept for disposal, the previous frame
/// for APNG), the largest raw frame, and the orientation and resize of one frame.
pub(crate) fn peak_bytes(info: &Info, target: Target) -> u64 {
    let (w, h) = (info.width, info.height);
    let canvas = u64::from(w) * u64::from(h) * 4;
    // Either orientation, whichever output is larger.
    let out = [target.size_for(w, h), target.size_for(h, w)]
        .into_iter()
        .map(|(ow, oh)| u64::from(ow) * u64::from(oh) * 4)
        .max()
        .unwrap_or(0);
    let raw = u64::from(info.largest.0) * u64::from(info.largest.1) * 4;
    let frames = info.frames.saturating_mul(out);
    frames
        .saturating_add(4 * canvas + raw)
        .saturating_add(2 * canvas + out + SLACK)
}

/// Decodes every frame (at most `info.frames`): each upright (`orientation`, from the
/// container's metadata) and through `finish` (the registry's resize to the target) as it
/// comes.
pub(crate) fn decode(
    bytes: &[u8],
    info: &Info,
    orientation: Orientation,
    limits: &Limits,
    mut finish: impl FnMut(RgbaImage) -> Result<RgbaImage, DecodeError>,
) -> Result<Pixels, DecodeError> {
    let kind = info.kind;
    let library = |e: ImageError| DecodeError::Library {
        unsupported: matches!(e, ImageError::Unsupported(_)),
        message: format!("{kind:?} animation: {e}"),
        source: Cause::new(e),
    };
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16));
    let cursor = Cursor::new(bytes);
    let (loop_count, frames) = match kind {
        Kind::Gif => {
            let mut d = GifDecoder::new(cursor).map_err(library)?;
            d.set_limits(image_limits).map_err(library)?;
            (d.loop_count(), d.into_frames())
        }
        Kind::Apng => {
            let mut d = PngDecoder::new(cursor).map_err(library)?;
            d.set_limits(image_limits).map_err(library)?;
            let d = d.apng().map_err(library)?;
            (d.loop_count(), d.into_frames())
        }
        Kind::WebP => {
            let mut d = WebPDecoder::new(cursor).map_err(library)?;
            d.set_limits(image_limits).map_err(library)?;
            (d.loop_count(), d.into_frames())
        }
        #[cfg(feature = "avif")]
        Kind::Avif => {
            return Err(DecodeError::Unsupported(
                "AVIF frames are decoded by the AVIF decoder".into(),
            ));
        }
    };
    let loop_count = match loop_count {
        image::metadata::LoopCount::Infinite => LoopCount::Infinite,
        image::metadata::LoopCount::Finite(n) => LoopCount::Finite(n),
    };
    let mut out = Vec::new();
    let count = usize::try_from(info.frames).unwrap_or(usize::MAX);
    for frame in frames.take(count) {
        let frame = frame.map_err(library)?;
        let delay = Duration::from(frame.delay());
        let mut image = frame.into_buffer();
        if orientation != Orientation::NoTransforms {
            let mut upright = DynamicImage::ImageRgba8(image);
            upright.apply_orientation(orientation);
            image = upright.into_rgba8();
        }
        out.push(Frame {
            image: Arc::new(finish(image)?),
            delay,
        });
    }
    let animation =
        Animation::new(out, loop_count).ok_or_else(|| corrupt(kind, "no frame decodes"))?;
    Ok(Pixels::Animated(Arc::new(animation)))
}
