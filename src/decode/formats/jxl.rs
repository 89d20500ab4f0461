//! JPEG XL with jxl-oxide, on the calling worker thread only.
//!
//! Owns: sniffing JPEG XL (bare codestream or ISO BMFF container), the header-only size, and
//! the decode to upright straight-alpha RGBA8, scaled to a thumbnail box when asked. Must not
//! touch: the network, caches, or the other decoders.
//!
//! Threads. jxl-oxide is built without its `rayon` feature and every decoder is given
//! `JxlThreadPool::none()`, which runs each task in place: no thread is ever started, so the
//! worker pool stays the only pool.
//!
//! Orientation. The codestream's orientation (which cjxl sets from a JPEG's EXIF orientation)
//! is applied by jxl-oxide while the pixels are written out; the Exif box's own orientation
//! tag is ignored, as the JPEG XL specification requires.
//!
//! Thumbnails. jxl-oxide renders frames at full resolution only: it has no downsampled render,
//! and its progressive render of a partly loaded frame (`render_loading_frame`) still runs
//! every full-resolution stage (upsampling, XYB to RGB, restoration filters). Measured on a
//! 12 MP file (`benches/formats.rs`): that render from a 5% prefix took 1.08 s, the complete
//! decode 1.18 s, so an LF-only path saves nothing. A thumbnail is therefore a full decode
//! resized with the thumbnail filter (`resize`), never upscaled. The decoder's float planes
//! (about 27 bytes per pixel at peak, measured: +322 MiB for 12 MP) exist only during the
//! decode; they are bounded by the header size checked against `max_pixels` first and by an
//! allocation tracker given to jxl-oxide.
//!
//! Colour. Pixels come out in the colour space jxl-oxide renders without a CMS: the image's
//! own encoding (sRGB for most XYB files, Display P3 or others when the file says so; an
//! embedded ICC profile's space for non-XYB files). [`FormatDecoder::profile`] hands that
//! space over (`rendered_icc`), and the registry converts from it like any other format's.
//! Animations give their first frame.

use image::RgbaImage;
use jxl_oxide::{AllocTracker, InitializeResult, JxlImage, JxlThreadPool, PixelFormat};

use crate::decode::color::{Model, Profile, read};
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, fit, resize,
};

/// The bare codestream signature.
const CODESTREAM: [u8; 2] = [0xFF, 0x0A];
/// The container's signature box.
const CONTAINER: [u8; 12] = [
    0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];
/// Bytes jxl-oxide may allocate per pixel of the header size (its float planes and group
/// buffers; the measured peak is about 27 for RGB, 31 with alpha): beyond this the decode
/// fails cleanly. The loader reserves this (and the output) from its decode budget.
const TRACKED_BYTES_PER_PIXEL: u64 = 40;
/// Allocation allowance on top of the per-pixel one (tables, small images).
const TRACKED_BASE_BYTES: u64 = 64 << 20;

/// Whether `head` starts a JPEG XL file (12 bytes are enough).
pub(crate) fn sniff(head: &[u8]) -> bool {
    head.starts_with(&CODESTREAM) || head.starts_with(&CONTAINER)
}

fn corrupt(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("JPEG XL: {e}"))
}

/// Reads only as many bytes as the image header needs. Returns the decoder and how many bytes
/// of `bytes` it has been given.
fn header(bytes: &[u8], tracker: Option<AllocTracker>) -> Result<(JxlImage, usize), DecodeError> {
    if !sniff(bytes) {
        return Err(DecodeError::Unsupported("not a JPEG XL file".into()));
    }
    let mut builder = JxlImage::builder().pool(JxlThreadPool::none());
    if let Some(tracker) = tracker {
        builder = builder.alloc_tracker(tracker);
    }
    let mut uninit = builder.build_uninit();
    let mut fed = 0;
    let mut chunk = 1024;
    loop {
        if fed == bytes.len() {
            return Err(corrupt("the file ends inside its header"));
        }
        let end = (fed + chunk).min(bytes.len());
        uninit.feed_bytes(&bytes[fed..end]).map_err(corrupt)?;
        fed = end;
        chunk *= 2;
        match uninit.try_init().map_err(corrupt)? {
            InitializeResult::Initialized(image) => return Ok((image, fed)),
            InitializeResult::NeedMoreData(more) => uninit = more,
        }
    }
}

/// The upright (orientation applied) size, from the header alone.
pub(crate) fn dimensions(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let (image, _) = header(bytes, None)?;
    Ok((image.width(), image.height()))
}

/// Decodes the first frame to upright RGBA8: fitted into the `target` box (never upscaled) or
/// at full size. The header size is checked against `max_pixels` before any pixel buffer.
pub(crate) fn decode(
    bytes: &[u8],
    target: Option<(u32, u32)>,
    max_pixels: u64,
) -> Result<RgbaImage, DecodeError> {
    let (width, height) = dimensions(bytes)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(DecodeError::TooLarge { width, height });
    }
    let pixels = u64::from(width) * u64::from(height);
    let limit = pixels
        .saturating_mul(TRACKED_BYTES_PER_PIXEL)
        .saturating_add(TRACKED_BASE_BYTES);
    let tracker = AllocTracker::with_limit(usize::try_from(limit).unwrap_or(usize::MAX));
    let (mut image, fed) = header(bytes, Some(tracker))?;
    image.feed_bytes(&bytes[fed..]).map_err(corrupt)?;
    image.finalize().map_err(corrupt)?;
    if image.num_loaded_keyframes() == 0 {
        return Err(corrupt("the file ends before its first frame is complete"));
    }
    if matches!(image.pixel_format(), PixelFormat::Cmyk | PixelFormat::Cmyka) {
        return Err(DecodeError::Unsupported("CMYK JPEG XL".into()));
    }
    let render = image.render_frame(0).map_err(corrupt)?;
    let mut stream = render.stream();
    let (w, h, channels) = (stream.width(), stream.height(), stream.channels() as usize);
    if (w, h) != (width, height) {
        return Err(corrupt("the frame does not match the header's size"));
    }
    let mut samples = vec![0u8; w as usize * h as usize * channels];
    stream.write_to_buffer(&mut samples);
    drop(render);
    drop(image);
    let rgba = to_rgba(samples, channels)?;
    let full = RgbaImage::from_raw(w, h, rgba).ok_or_else(|| corrupt("buffer size"))?;
    match target {
        None => Ok(full),
        Some((0, _) | (_, 0)) => Err(DecodeError::Unsupported("an empty target box".into())),
        Some((bw, bh)) => resize::rgba(full, fit::fit_box(w, h, bw, bh)),
    }
}

/// Interleaved grey, grey+alpha, RGB or RGBA samples as RGBA8.
fn to_rgba(samples: Vec<u8>, channels: usize) -> Result<Vec<u8>, DecodeError> {
    if channels == 4 {
        return Ok(samples);
    }
    let mut out = Vec::with_capacity(samples.len() / channels.max(1) * 4);
    match channels {
        1 => samples
            .iter()
            .for_each(|&v| out.extend_from_slice(&[v, v, v, 255])),
        2 => samples
            .chunks_exact(2)
            .for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0], p[1]])),
        3 => samples
            .chunks_exact(3)
            .for_each(|p| out.extend_from_slice(&[p[0], p[1], p[2], 255])),
        n => {
            return Err(DecodeError::Unsupported(format!(
                "JPEG XL with {n} channels"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// JPEG XL in the decoder registry.
pub(crate) struct Jxl;

impl FormatDecoder for Jxl {
    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let (width, height) = dimensions(bytes)?;
        Ok(Probe::sized(
            width,
            height,
            image::metadata::Orientation::NoTransforms,
            u64::from(width) * u64::from(height) * TRACKED_BYTES_PER_PIXEL,
        ))
    }

    /// What the allocation tracker lets jxl-oxide hold, plus the samples, the RGBA image and
    /// the resize to the target.
    fn peak_bytes(&self, _bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let pixels = u64::from(probe.width) * u64::from(probe.height);
        let (ow, oh) = target.decode_size(probe.width, probe.height);
        let out = u64::from(ow) * u64::from(oh) * 4;
        let tracked = pixels * TRACKED_BYTES_PER_PIXEL + TRACKED_BASE_BYTES;
        tracked + pixels * 8 + 3 * out
    }

    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let size = match target {
            Target::Full => None,
            _ => Some(target.decode_size(probe.width, probe.height)),
        };
        let image = decode(bytes, size, limits.max_pixels)?;
        Ok(Output::new(image, DecodePath::FullDecode))
    }

    /// The colour encoding jxl-oxide renders in, from the header: sRGB, or its ICC profile.
    fn profile(&self, bytes: &[u8]) -> Profile {
        let Ok((image, _)) = header(bytes, None) else {
            return Profile::Unspecified;
        };
        // CICP: primaries, transfer, matrix, full range.
        if image.rendered_cicp() == Some([1, 13, 0, 1]) {
            return Profile::Srgb;
        }
        let model = match image.pixel_format() {
            PixelFormat::Gray | PixelFormat::Graya => Model::Gray,
            PixelFormat::Cmyk | PixelFormat::Cmyka => Model::Cmyk,
            PixelFormat::Rgb | PixelFormat::Rgba => Model::Rgb,
        };
        read::icc(Some(image.rendered_icc()), model)
    }
}
