//! Animated WebP: every `ANMF` frame decoded (lossy ones by this crate's VP8 decoder, lossless
//! ones by `image-webp`) and composed on the canvas the way libwebp's animation decoder
//! (`WebPAnimDecoder`, what browsers, Pillow and libvips use) composes them, so each canvas
//! matches theirs pixel for pixel.
//!
//! Owns: the composition rules: a transparent black canvas (the `ANIM` background colour is
//! a hint the specification lets decoders ignore, and libwebp does), key frames, alpha
//! blending in non-premultiplied RGBA with libwebp's integer formula, and disposal of a
//! frame's rectangle to transparent before the next one. Must not touch: limits and the
//! frame count (`decode/animation.rs` checks them before calling), resizing.

use super::alpha::decode_vp8l;
use super::riff::{Container, Frame, Image};
use super::{Vp8Error, decode_rgba};

/// One composed canvas and how long it shows, in milliseconds.
pub(crate) struct Canvas<'a> {
    pub(crate) rgba: &'a [u8],
    pub(crate) duration_ms: u32,
}

/// Composes the first `max_frames` frames of the animation in `bytes` (its container `c`,
/// canvas `width` x `height`), handing each canvas to `each` as it is made.
pub(crate) fn compose<E: From<Vp8Error>>(
    bytes: &[u8],
    c: &Container,
    (width, height): (u32, u32),
    max_frames: usize,
    mut each: impl FnMut(Canvas<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let (w, h) = (width as usize, height as usize);
    let mut canvas = vec![0u8; w * h * 4];
    let mut disposed = vec![0u8; w * h * 4];
    let mut prev: Option<(&Frame, bool)> = None; // the previous frame, and whether it was a key frame
    for frame in c.frames.iter().take(max_frames) {
        let (fx, fy, fw, fh) = (
            frame.x as usize,
            frame.y as usize,
            frame.width as usize,
            frame.height as usize,
        );
        if fx + fw > w || fy + fh > h {
            return Err(Vp8Error::Corrupt("animation frame outside the canvas").into());
        }
        let image = frame
            .image
            .as_ref()
            .ok_or(Vp8Error::Corrupt("animation frame without image data"))?;
        let (pixels, has_alpha) = frame_rgba(bytes, image, frame.width, frame.height)?;
        let full = fw == w && fh == h;
        let key = match prev {
            None => true,
            Some(_) if (!has_alpha || !frame.blend) && full => true,
            Some((p, p_key)) => {
                p.dispose && ((p.width as usize, p.height as usize) == (w, h) || p_key)
            }
        };
        if key {
            canvas.fill(0);
        } else {
            canvas.copy_from_slice(&disposed);
        }
        for y in 0..fh {
            let row = &pixels[y * fw * 4..(y + 1) * fw * 4];
            let at = ((fy + y) * w + fx) * 4;
            canvas[at..at + fw * 4].copy_from_slice(row);
        }
        if frame.blend
            && !key
            && let Some((p, _)) = prev
        {
            for y in 0..fh {
                for x in 0..fw {
                    let (cx, cy) = (fx + x, fy + y);
                    // Inside the previous frame's disposed rectangle the canvas below is
                    // transparent: libwebp leaves those pixels unblended.
                    let in_prev = p.dispose
                        && (p.x as usize..(p.x + p.width) as usize).contains(&cx)
                        && (p.y as usize..(p.y + p.height) as usize).contains(&cy);
                    if in_prev {
                        continue;
                    }
                    let at = (cy * w + cx) * 4;
                    let mut src = [0u8; 4];
                    src.copy_from_slice(&canvas[at..at + 4]);
                    if src[3] != 255 {
                        let mut dst = [0u8; 4];
                        dst.copy_from_slice(&disposed[at..at + 4]);
                        canvas[at..at + 4].copy_from_slice(&blend(src, dst));
                    }
                }
            }
        }
        each(Canvas {
            rgba: &canvas,
            duration_ms: frame.duration_ms,
        })?;
        disposed.copy_from_slice(&canvas);
        if frame.dispose {
            for y in fy..fy + fh {
                disposed[(y * w + fx) * 4..(y * w + fx + fw) * 4].fill(0);
            }
        }
        prev = Some((frame, key));
    }
    Ok(())
}

/// `src` over `dst`, non-premultiplied, in libwebp's integer arithmetic.
fn blend(src: [u8; 4], dst: [u8; 4]) -> [u8; 4] {
    let src_a = u32::from(src[3]);
    if src_a == 0 {
        return dst;
    }
    let dst_a = (u32::from(dst[3]) * (256 - src_a)) >> 8;
    let blend_a = src_a + dst_a;
    let scale = (1u32 << 24) / blend_a;
    let channel = |i: usize| {
        let v = u32::from(src[i]) * src_a + u32::from(dst[i]) * dst_a;
        ((v * scale) >> 24) as u8
    };
    [channel(0), channel(1), channel(2), blend_a as u8]
}

/// A frame's RGBA and whether its bitstream has alpha.
fn frame_rgba(
    bytes: &[u8],
    image: &Image,
    width: u32,
    height: u32,
) -> Result<(Vec<u8>, bool), Vp8Error> {
    let data = &bytes[image.data.clone()];
    if !image.lossless {
        let alpha = image.alpha.clone().map(|r| &bytes[r]);
        let (w, h, rgba) = decode_rgba(data, alpha)?;
        if (w, h) != (width, height) {
            return Err(Vp8Error::Corrupt(
                "animation frame and its bitstream differ in size",
            ));
        }
        return Ok((rgba, alpha.is_some()));
    }
    // A lossless frame: its own VP8L file for image-webp.
    let header = data
        .get(1..5)
        .ok_or(Vp8Error::Corrupt("VP8L frame truncated"))?;
    let bits = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let (w, h) = ((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
    if (w, h) != (width, height) {
        return Err(Vp8Error::Corrupt(
            "animation frame and its bitstream differ in size",
        ));
    }
    let has_alpha = bits & (1 << 28) != 0;
    let (pixels, per_pixel) = decode_vp8l(data)?;
    if per_pixel == 4 {
        return Ok((pixels, has_alpha));
    }
    let rgba = pixels
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Ok((rgba, has_alpha))
}
