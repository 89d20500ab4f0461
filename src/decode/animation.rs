//! Animations: every frame of an animated GIF, APNG or WebP, composed on the full canvas.
//!
//! Owns: reading an animation's container without decoding a frame ([`probe`]: how many
//! frames, the canvas, the largest frame rectangle), the limits on them ([`check`]: the frame
//! count against `max_animation_frames`, frames x the larger of the canvas and the largest
//! frame against `max_pixels`, like imgproxy counts an animation's resolution), the memory a decode of all frames holds
//! ([`peak_bytes`]), and the decode itself ([`decode`]): the `image` crate's frame iterators
//! (which compose each frame over the canvas and apply the previous frame's disposal), each
//! frame turned upright and made the target's size as it comes, so a thumbnail of an
//! animation holds one full-size canvas at a time, never all of them. Must not touch: still
//! images (the formats), the budget (the registry reserves [`peak_bytes`] before
//! [`decode`]), or sizes and resizing (the registry passes its own `finish` step).
//!
//! Counting. GIF: `gif_walk` reads the frame descriptors with the data skipped (no LZW, cost
//! in proportion to the bytes), stopping one past the frame limit, and reports the largest
//! frame, which may be larger than the canvas. APNG: the `acTL` chunk's declared frame count,
//! read with the header (`png`); the decode never yields more, and `png` refuses a frame
//! outside the canvas. WebP: the `ANMF` chunks the container parser (`webp::riff`) finds
//! (frames within the canvas). A file with fewer than two
//! frames is not an animation here and decodes as a still image.
//!
//! WebP frames are not decoded through `image`: `webp::anim` composes them with this crate's
//! VP8 decoder (lossy frames; lossless ones through `image-webp`) the way libwebp's animation
//! decoder does, so the canvases match libwebp's (Pillow's, browsers') exactly.
//!
//! Not frame by frame: 16-bit APNG (the `image` crate composes 8-bit frames only), which
//! loads as its still first frame.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageError, RgbaImage};

use super::formats::gif_palette;
use super::{DecodeError, Limits, Target, gif_walk, webp};
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
    let walk = gif_walk::walk(bytes, u64::from(limits.max_animation_frames))
        .map_err(|e| corrupt(Kind::Gif, e))?;
    Ok(Some(Info {
        kind: Kind::Gif,
        frames: walk.frames,
        width: walk.screen.0,
        height: walk.screen.1,
        largest: walk.largest,
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
    let c = webp::parse(bytes).map_err(|_| corrupt(Kind::WebP, "not a RIFF WebP file"))?;
    let Some(e) = c.extended.filter(|e| e.animated) else {
        return Ok(None);
    };
    let largest = c
        .frames
        .iter()
        .map(|f| (f.width, f.height))
        .max_by_key(|&(w, h)| u64::from(w) * u64::from(h))
        .unwrap_or((0, 0));
    Ok(Some(Info {
        kind: Kind::WebP,
        frames: c.frames.len() as u64,
        width: e.width,
        height: e.height,
        largest,
    }))
}

/// Refuses an animation over the limits, from its container alone: more frames than allowed,
/// or more pixels than allowed in frames x the larger of the canvas and the largest frame
/// (every frame is decoded at its own size and composed on the whole canvas, so that is the
/// work of the decode; a GIF frame may be larger than its canvas).
pub(crate) fn check(info: &Info, limits: &Limits) -> Result<(), DecodeError> {
    if info.frames > u64::from(limits.max_animation_frames) {
        return Err(DecodeError::TooManyFrames {
            frames: info.frames,
        });
    }
    let canvas = (info.width, info.height);
    let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
    let (width, height) = if area(info.largest) > area(canvas) {
        info.largest
    } else {
        canvas
    };
    if area((width, height)).saturating_mul(info.frames) > limits.max_pixels {
        return Err(DecodeError::FramesTooLarge {
            width,
            height,
            frames: info.frames,
        });
    }
    Ok(())
}

/// The most memory a decode of every frame for `target` holds: every output frame, the
/// decoder's canvases (the composed frame, the state kept for disposal, the previous frame
/// for APNG), the largest raw frame (RGBA, and for GIF the `gif` crate's buffer of palette
/// indices, one byte a pixel), and the orientation and resize of one frame.
pub(crate) fn peak_bytes(info: &Info, target: Target) -> u64 {
    let (w, h) = (info.width, info.height);
    let canvas = u64::from(w) * u64::from(h) * 4;
    // Either orientation, whichever output is larger.
    let out = [target.size_for(w, h), target.size_for(h, w)]
        .into_iter()
        .map(|(ow, oh)| u64::from(ow) * u64::from(oh) * 4)
        .max()
        .unwrap_or(0);
    let raw = u64::from(info.largest.0) * u64::from(info.largest.1) * 5;
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
    let count = usize::try_from(info.frames).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut push = |image: RgbaImage, delay: Duration| -> Result<(), DecodeError> {
        let image = if orientation == Orientation::NoTransforms {
            image
        } else {
            let mut upright = DynamicImage::ImageRgba8(image);
            upright.apply_orientation(orientation);
            upright.into_rgba8()
        };
        out.push(Frame {
            image: Arc::new(finish(image)?),
            delay,
        });
        Ok(())
    };
    if kind == Kind::WebP {
        let c = webp::parse(bytes).map_err(|_| corrupt(kind, "not a RIFF WebP file"))?;
        let loop_count = match c.anim {
            Some((_, n)) => std::num::NonZeroU32::new(u32::from(n))
                .map_or(LoopCount::Infinite, LoopCount::Finite),
            None => LoopCount::Infinite,
        };
        webp::anim::compose(bytes, &c, (info.width, info.height), count, |canvas| {
            let image = RgbaImage::from_raw(info.width, info.height, canvas.rgba.to_vec())
                .ok_or_else(|| corrupt(kind, "canvas of the wrong size"))?;
            push(image, Duration::from_millis(u64::from(canvas.duration_ms)))
        })?;
        let animation =
            Animation::new(out, loop_count).ok_or_else(|| corrupt(kind, "no frame decodes"))?;
        return Ok(Pixels::Animated(Arc::new(animation)));
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16));
    // A GIF without any colour table gets the default one its still decode gets.
    let fixed = match kind {
        Kind::Gif => gif_palette::with_default(bytes),
        _ => std::borrow::Cow::Borrowed(bytes),
    };
    let cursor = Cursor::new(&*fixed);
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
        Kind::WebP => return Err(corrupt(kind, "composed by webp::anim")),
    };
    let loop_count = match loop_count {
        image::metadata::LoopCount::Infinite => LoopCount::Infinite,
        image::metadata::LoopCount::Finite(n) => LoopCount::Finite(n),
    };
    for frame in frames.take(count) {
        let frame = frame.map_err(library)?;
        let delay = Duration::from(frame.delay());
        push(frame.into_buffer(), delay)?;
    }
    let animation =
        Animation::new(out, loop_count).ok_or_else(|| corrupt(kind, "no frame decodes"))?;
    Ok(Pixels::Animated(Arc::new(animation)))
}
