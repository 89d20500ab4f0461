//! Lossy WebP (VP8 key frames, RFC 6386, in the WebP RIFF container) decoded by this crate:
//! full size straight to RGBA8, or reduced in YUV for thumbnails so the full-size image never
//! exists.
//!
//! Owns: the decoder's entry points ([`decode_rgba`], [`decode_reduced`], [`factor_for`])
//! and their memory estimates; the container (`riff`), the VP8 bitstream (`bools`, `header`,
//! `modes`, `residuals`), reconstruction (`predict`, `transform`, `frame`), the loop filter
//! (`filter`), the two outputs (`output`: full-size RGBA with libwebp's fancy upsampling;
//! `reduce`: box averages in YUV), the alpha plane (`alpha`) and animations' composition
//! (`anim`). Must not touch: anything
//! outside `decode/webp`; `formats/webp.rs` decides when to use it. Lossless (VP8L) images
//! stay with `image-webp`.
//!
//! Why our own: the thumbnail path needs the decoder's rows as they are made (16 at a time)
//! and in YUV, and no filtering, which `image-webp` 0.2 does not offer (it decodes the whole
//! frame into full-size planes, then converts). Profile of a 256 px thumbnail of a 10.7 MP
//! photo through `image-webp` (callgrind, docs/PERFORMANCE.md): the entropy decoding and
//! reconstruction every path must do, then the loop filter, fancy upsampling and RGB
//! conversion at full size, and the resize of the full-size RGBA. This decoder does only the
//! first for thumbnails, and the filter, upsampling and conversion at full size only when
//! the full size is asked for.
//!
//! Thumbnails (`decode_reduced`): the loop filter is skipped (VP8 predicts from unfiltered
//! pixels, so skipping it changes nothing else: the decoded pixels are exactly `dwebp
//! -nofilter`'s), luma is averaged over `k x k` blocks and chroma over `k/2 x k/2` as rows
//! arrive (no chroma upsampling), and only the reduced planes are converted to RGB. The
//! caller resizes the reduced image with Lanczos3 to the exact size. The factor keeps the
//! reduced image at least twice the target, so the result stays within the thumbnail tests'
//! MAD of a full decode and Lanczos3 (measured in `tests`).
//!
//! Bounds: nothing is allocated from the header but rows of the frame's width (at most
//! 16,383 pixels) and the output (checked against the pixel limit by the caller); a
//! partition that runs out of bytes fails the decode after the macroblock that needed them,
//! so a truncated file costs no more than its bytes; no input can panic (fuzzed in
//! `tests_fuzz`); no threads, and no `unsafe` but the calls into code compiled for a CPU
//! feature: SSE2 (`sse2`, always there on x86_64) and BMI2 with LZCNT (`frame::Decoder::row`,
//! detected at run time).

mod alpha;
pub(crate) mod anim;
mod bools;
mod filter;
mod frame;
mod header;
mod modes;
mod output;
mod predict;
mod reduce;
mod residuals;
mod riff;
#[cfg(target_arch = "x86_64")]
mod sse2;
mod strength;
mod tables;
mod transform;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fuzz;

pub(crate) use header::{FrameInfo, frame_info};
pub(crate) use riff::{Container, parse, sniff};

/// Why a lossy WebP did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vp8Error {
    /// Malformed or truncated data.
    Corrupt(&'static str),
    /// Valid, but a feature no decoder here implements.
    Unsupported(&'static str),
}

impl From<Vp8Error> for crate::decode::DecodeError {
    fn from(e: Vp8Error) -> Self {
        match e {
            Vp8Error::Corrupt(m) => crate::decode::DecodeError::Corrupt(format!("WebP: {m}")),
            Vp8Error::Unsupported(m) => {
                crate::decode::DecodeError::Unsupported(format!("WebP: {m}"))
            }
        }
    }
}

impl std::fmt::Display for Vp8Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Vp8Error::Corrupt(m) | Vp8Error::Unsupported(m) => f.write_str(m),
        }
    }
}

/// Bytes of the decoder's own state for a frame `width` pixels wide: plane rows with the
/// filter delay, top lines, contexts, work buffers.
fn state_bytes(width: u32) -> u64 {
    let padded = u64::from(width.div_ceil(16)) * 16;
    padded * (24 + 12 + 2 + 8) + padded / 16 * 64 + (16 << 10)
}

/// Decodes a lossy image (its `VP8 ` payload and any `ALPH` payload) to RGBA8 at full size.
pub(crate) fn decode_rgba(
    vp8: &[u8],
    alpha: Option<&[u8]>,
) -> Result<(u32, u32, Vec<u8>), Vp8Error> {
    let info = frame_info(vp8)?;
    let (w, h) = (info.width as usize, info.height as usize);
    let alpha = alpha
        .map(|a| alpha::decode(a, info.width, info.height))
        .transpose()?;
    let mut out = vec![0u8; w * h * 4];
    frame::decode(vp8, true, &mut output::RgbaSink::new(&mut out, w, h))?;
    if let Some(a) = alpha {
        for (px, a) in out.chunks_exact_mut(4).zip(a) {
            px[3] = a;
        }
    }
    Ok((info.width, info.height, out))
}

/// The most memory [`decode_rgba`] holds: the output, the alpha plane and its decode, and
/// the decoder's rows.
pub(crate) fn peak_rgba(info: &FrameInfo, alpha: Option<&[u8]>) -> u64 {
    let pixels = u64::from(info.width) * u64::from(info.height);
    let alpha = alpha.map_or(0, |a| {
        pixels + alpha::peak_bytes(a, info.width, info.height)
    });
    pixels * 4 + alpha + state_bytes(info.width)
}

/// The box factor for a reduced decode of a `width` x `height` frame whose output is
/// `to_w` x `to_h` (stored orientation): the largest even `k` (at most 256) that keeps the
/// reduced image at least twice the output on both sides; `None` when not even 2 does (the
/// full decode and a resize are then as cheap).
pub(crate) fn factor_for(width: u32, height: u32, to_w: u32, to_h: u32) -> Option<u32> {
    let k = (width / to_w.max(1)).min(height / to_h.max(1)) / 2;
    let k = (k / 2 * 2).min(256);
    (k >= 2).then_some(k)
}

/// A frame reduced by a box factor, as RGB8, with the part of it that is the image
/// (fractional at the right and bottom edges).
pub(crate) struct Small {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rgb: Vec<u8>,
    pub(crate) exact: (f64, f64),
}

/// Decodes an opaque lossy frame reduced by `k` (even, 2 to 256): no loop filter, box
/// averages in YUV, RGB at the reduced size only.
pub(crate) fn decode_reduced(vp8: &[u8], k: u32) -> Result<Small, Vp8Error> {
    let info = frame_info(vp8)?;
    let mut sink = reduce::ReduceSink::new(info.width as usize, info.height as usize, k as usize);
    frame::decode(vp8, false, &mut sink)?;
    let r = sink.finish();
    let mut rgb = Vec::with_capacity(r.width * r.height * 3);
    for ((&y, &u), &v) in r.y.iter().zip(&r.u).zip(&r.v) {
        rgb.extend_from_slice(&output::rgb(y, u, v));
    }
    Ok(Small {
        width: r.width as u32,
        height: r.height as u32,
        rgb,
        exact: r.exact,
    })
}

/// The most memory [`decode_reduced`] holds: the decoder's rows, the column sums, the
/// reduced planes and their RGB.
pub(crate) fn peak_reduced(info: &FrameInfo, k: u32) -> u64 {
    let (w, h, k) = (u64::from(info.width), u64::from(info.height), u64::from(k));
    let small = w.div_ceil(k) * h.div_ceil(k);
    state_bytes(info.width) + w * 4 + small * 6
}
