//! Animated AVIF: every frame of the colour track (and its alpha track) decoded in order,
//! each made the target's size as it comes.
//!
//! Owns: the frame loop (one rav1d decoder per track for the whole sequence, since inter
//! frames refer to earlier ones), each frame's delay and the loop count, the first frame of a
//! file that has no still item, and the memory these hold. Must not touch: the container
//! (`track.rs`), the frame limits (the registry checks the declared count and pixels before
//! this runs), or resizing beyond the plane resize of `yuv.rs` (the registry's `finish`).
//!
//! Memory: AV1 keeps up to eight reference frames plus the one being decoded, so a decoder
//! of a sequence is counted as nine pictures and their state; the output frames are
//! counted at the target size. Film grain is applied only at full size.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use image::RgbaImage;

use super::av1::{Decoder, Layout, Settings};
use super::track::{Plays, Track};
use super::yuv::{self, Window};
use super::{STATE_BASE, STATE_PER_PIXEL, corrupt, matrix, picture, rgba};
use crate::decode::{DecodeError, Limits, Target, animation, check_pixels};
use crate::loaded::{Animation, Frame, LoopCount, Pixels};

/// Pictures a sequence decoder may hold at once: eight references and the current frame.
const PICTURES: u64 = 9;

/// What one track's decoder holds at most (both bit depths and 4:4:4 assumed: the sequence
/// header of a track is only read once decoding starts).
pub(super) fn decoder_bytes(track: &Track<'_>) -> u64 {
    let (w, h) = (track.width, track.height);
    let picture = super::picture_bytes(w, h, 16, Layout::I444);
    let state = u64::from(w) * u64::from(h) * STATE_PER_PIXEL + STATE_BASE;
    let one = PICTURES * picture + state;
    if track.alpha.is_some() { 2 * one } else { one }
}

/// The largest image one frame makes on the way to `target`, and that image's size.
fn frame_bytes(track: &Track<'_>, target: Target) -> u64 {
    let rgba = u64::from(track.width) * u64::from(track.height) * 4;
    // The full-size conversion and the registry's resize of it.
    let (ow, oh) = target.decode_size(track.width, track.height);
    3 * rgba + 2 * u64::from(ow) * u64::from(oh) * 4
}

/// Peak of showing the first frame as a still image.
pub(super) fn still_peak(track: &Track<'_>, target: Target) -> u64 {
    decoder_bytes(track) + frame_bytes(track, target)
}

/// Peak of decoding every frame for `target`: the decoders, one frame in conversion, and
/// every output frame.
pub(super) fn peak(track: &Track<'_>, info: &animation::Info, target: Target) -> u64 {
    let (ow, oh) = target.size_for(track.width, track.height);
    let outputs = info
        .frames
        .saturating_mul(u64::from(ow) * u64::from(oh) * 4);
    still_peak(track, target).saturating_add(outputs)
}

fn settings(track: &Track<'_>, target: Target) -> Settings {
    let pixels = u64::from(track.width) * u64::from(track.height);
    Settings {
        grain: target == Target::Full,
        filters: true,
        max_frame_pixels: u32::try_from(pixels).unwrap_or(u32::MAX),
    }
}

/// The frames of `track`, each converted for `target`, through `f` with its delay; stops
/// after `limit` frames.
fn each(
    bytes: &[u8],
    track: &Track<'_>,
    target: Target,
    limits: &Limits,
    limit: u64,
    mut f: impl FnMut(RgbaImage, Duration) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    check_pixels(track.width, track.height, limits)?;
    let size = (track.width, track.height);
    let settings = settings(track, target);
    let mut color = Decoder::new(settings).map_err(picture::av1_error)?;
    let mut alpha = match track.alpha {
        Some(_) => Some(Decoder::new(settings).map_err(picture::av1_error)?),
        None => None,
    };
    let mut alpha_samples = track.alpha.map(|t| t.samples(bytes));
    let out = target.decode_size(track.width, track.height);
    let whole = Window {
        x: 0.0,
        y: 0.0,
        width: f64::from(track.width),
        height: f64::from(track.height),
    };
    for sample in track
        .color
        .samples(bytes)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let (data, delay) = sample.map_err(corrupt)?;
        let pic = picture::frame(&mut color, data, size)?;
        let planes = picture::planes(&pic)?;
        let m = matrix(
            track.nclx,
            pic.sequence(),
            planes.depth,
            planes.uv.is_none(),
        )?;
        let alpha_data = match &mut alpha_samples {
            Some(s) => match s.next() {
                Some(a) => Some(a.map_err(corrupt)?.0),
                None => return Err(corrupt("the alpha track ends early")),
            },
            None => None,
        };
        let image = match (alpha.as_mut(), alpha_data) {
            (Some(dec), Some(data)) => {
                let apic = picture::frame(dec, data, size)?;
                let a = picture::planes(&apic)?;
                let alpha = yuv::Alpha {
                    plane: a.y,
                    depth: a.depth,
                    full_range: apic.sequence().is_none_or(|s| s.full_range),
                    premultiplied: false,
                };
                rgba(&planes, &m, Some(&alpha), (0, 0, size.0, size.1))
            }
            _ if target != Target::Full && out != size => {
                yuv::small(&planes, &m, whole, out).map_err(corrupt)?
            }
            _ => rgba(&planes, &m, None, (0, 0, size.0, size.1)),
        };
        drop(pic);
        f(image, delay)?;
    }
    Ok(())
}

/// The first frame, for a file with an animation and no still image.
pub(super) fn first(
    bytes: &[u8],
    track: &Track<'_>,
    target: Target,
    limits: &Limits,
) -> Result<RgbaImage, DecodeError> {
    let mut first = None;
    each(bytes, track, target, limits, 1, |image, _| {
        first = Some(image);
        Ok(())
    })?;
    first.ok_or_else(|| corrupt("the animation has no frame"))
}

/// Every frame (at most `info.frames`), each through `finish` as it comes.
pub(super) fn all(
    bytes: &[u8],
    track: &Track<'_>,
    info: &animation::Info,
    target: Target,
    limits: &Limits,
    finish: &mut dyn FnMut(RgbaImage) -> Result<RgbaImage, DecodeError>,
) -> Result<Pixels, DecodeError> {
    let mut out = Vec::new();
    each(bytes, track, target, limits, info.frames, |image, delay| {
        out.push(Frame {
            image: Arc::new(finish(image)?),
            delay,
        });
        Ok(())
    })?;
    let loop_count = match track.plays {
        Plays::Forever => LoopCount::Infinite,
        Plays::Times(n) => NonZeroU32::new(n).map_or(LoopCount::Infinite, LoopCount::Finite),
    };
    let animation = Animation::new(out, loop_count).ok_or_else(|| corrupt("no frame decodes"))?;
    Ok(Pixels::Animated(Arc::new(animation)))
}
