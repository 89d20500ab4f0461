//! The plug-in point for formats of an app's own: the public [`Decoder`] trait.
//!
//! Owns: [`Decoder`], [`DecoderError`], and the adapter that runs a user's decoder through the
//! same registry steps as the built-in formats (sniff, header size against the pixel limit
//! before anything is allocated, a reservation from the decode budget, decode, resize, the
//! colour conversion from the profile it hands over, panic containment). Must not touch: the
//! built-in formats or the pipeline.

use std::fmt;
use std::sync::Arc;

use image::RgbaImage;
use image::metadata::Orientation;

use super::color::{Model, Profile, read};
use super::{DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target};

/// An image format the loader can decode, added with
/// [`Config::decoders`](crate::Config::decoders) (tried before the built-in formats, in
/// order). HEIC through libheif, RAW previews, a game's own texture format: anything that
/// can be told apart by its first bytes.
///
/// The loader calls it on a worker thread, in this order: [`sniff`](Self::sniff) the first
/// bytes of the body; [`dimensions`](Self::dimensions) from the header, checked against
/// [`Config::max_pixels`](crate::Config::max_pixels) before anything else; a reservation of
/// [`peak_bytes`](Self::peak_bytes) from the loader's decode budget; then
/// [`decode`](Self::decode) for the size the request asked for. Whatever it returns is
/// resized to that size if it is larger, cached in memory like any image, and its downloaded
/// bytes are kept in the disk cache. A panic in any method fails that load with
/// [`Error::Decode`](crate::Error::Decode) and nothing else.
///
/// ```
/// use webimage::{Decoder, DecoderError};
/// use webimage::image::{Rgba, RgbaImage};
///
/// /// "GRAY" + width (u16 LE) + height (u16 LE) + one byte per pixel.
/// struct Gray;
///
/// impl Decoder for Gray {
///     fn name(&self) -> &str {
///         "GRAY"
///     }
///     fn sniff(&self, head: &[u8]) -> bool {
///         head.starts_with(b"GRAY")
///     }
///     fn dimensions(&self, bytes: &[u8]) -> Result<(u32, u32), DecoderError> {
///         let header = bytes.get(4..8).ok_or(DecoderError::Corrupt("short header".into()))?;
///         let w = u16::from_le_bytes([header[0], header[1]]);
///         let h = u16::from_le_bytes([header[2], header[3]]);
///         Ok((w.into(), h.into()))
///     }
///     fn decode(&self, bytes: &[u8], _size: (u32, u32)) -> Result<RgbaImage, DecoderError> {
///         let (w, h) = self.dimensions(bytes)?;
///         let pixels = bytes.get(8..8 + (w * h) as usize)
///             .ok_or(DecoderError::Corrupt("truncated".into()))?;
///         Ok(RgbaImage::from_fn(w, h, |x, y| {
///             let v = pixels[(y * w + x) as usize];
///             Rgba([v, v, v, 255])
///         }))
///     }
/// }
///
/// let config = webimage::Config {
///     decoders: vec![std::sync::Arc::new(Gray)],
///     ..Default::default()
/// };
/// # drop(config);
/// ```
pub trait Decoder: Send + Sync + 'static {
    /// A short name for messages (`"HEIC"`).
    fn name(&self) -> &str;

    /// Whether `head`, the first bytes of the body (up to 1 KiB), starts an image of this
    /// format. Decide from the bytes, never from a URL or a `Content-Type`.
    fn sniff(&self, head: &[u8]) -> bool;

    /// The image's size as displayed (after any orientation the format carries), read from
    /// the header without decoding pixels. The loader refuses sizes over
    /// [`Config::max_pixels`](crate::Config::max_pixels) before calling anything else, so
    /// this is the check that keeps a tiny file declaring a huge image from allocating it:
    /// report what the header says.
    fn dimensions(&self, bytes: &[u8]) -> Result<(u32, u32), DecoderError>;

    /// The most memory [`decode`](Self::decode) holds at once for an image of `dimensions`
    /// decoded for `size`, in bytes: what the loader reserves from
    /// [`Config::decode_memory_bytes`](crate::Config::decode_memory_bytes) before it runs.
    /// The default assumes a full-size RGBA8 decode plus one working copy of it.
    fn peak_bytes(&self, dimensions: (u32, u32), size: (u32, u32)) -> u64 {
        let full = u64::from(dimensions.0) * u64::from(dimensions.1) * 4;
        let out = u64::from(size.0) * u64::from(size.1) * 4;
        2 * full + 2 * out
    }

    /// Decodes to upright RGBA8 (straight alpha). `size` is the size the loader will hand
    /// out: the request's thumbnail box or pixel cap applied to
    /// [`dimensions`](Self::dimensions), never larger than them (for a
    /// [`cover`](crate::Request::cover), the whole image scaled to cover the box, which the
    /// loader then crops around its centre). A format that can decode
    /// small cheaply (a vector format, scaled decoding) should return exactly `size`; any
    /// other may return the full image, and the loader resizes it.
    fn decode(&self, bytes: &[u8], size: (u32, u32)) -> Result<RgbaImage, DecoderError>;

    /// The ICC profile embedded in `bytes`, if the format carries one: the loader converts
    /// the pixels [`decode`](Self::decode) returns from it to the loader's or request's
    /// [`ColorTarget`](crate::ColorTarget), as it does for the built-in formats (an RGB
    /// profile, or a gray one for gray images; one that cannot be used is ignored and
    /// counted). The default, `None`, takes the pixels to be sRGB.
    fn icc_profile(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let _ = bytes;
        None
    }
}

/// Why a [`Decoder`] could not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecoderError {
    /// The bytes are not an image this decoder handles after all, or a variant of its format
    /// it does not implement. The load fails with
    /// [`Error::UnsupportedFormat`](crate::Error::UnsupportedFormat).
    Unsupported(String),
    /// The format, but corrupt or truncated. The load fails with
    /// [`Error::Decode`](crate::Error::Decode).
    Corrupt(String),
}

impl fmt::Display for DecoderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecoderError::Unsupported(m) => write!(f, "unsupported: {m}"),
            DecoderError::Corrupt(m) => write!(f, "corrupt: {m}"),
        }
    }
}

impl std::error::Error for DecoderError {}

/// A user's [`Decoder`] in the registry.
pub(super) struct UserFormat(pub(super) Arc<dyn Decoder>);

impl UserFormat {
    fn error(&self, e: DecoderError) -> DecodeError {
        let name = self.0.name();
        match e {
            DecoderError::Unsupported(m) => DecodeError::Unsupported(format!("{name}: {m}")),
            DecoderError::Corrupt(m) => DecodeError::Corrupt(format!("{name}: {m}")),
        }
    }
}

impl FormatDecoder for UserFormat {
    fn sniff(&self, head: &[u8]) -> bool {
        self.0.sniff(head)
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let (width, height) = self.0.dimensions(bytes).map_err(|e| self.error(e))?;
        Ok(Probe::sized(
            width,
            height,
            Orientation::NoTransforms,
            u64::from(width) * u64::from(height) * 4,
        ))
    }

    fn peak_bytes(&self, _bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let dims = (probe.width, probe.height);
        self.0.peak_bytes(dims, target.decode_size(dims.0, dims.1))
    }

    fn profile(&self, bytes: &[u8]) -> Profile {
        let icc = self.0.icc_profile(bytes);
        // The profile's own header says whether it is for gray images (bytes 16..20).
        let gray = icc.as_ref().and_then(|p| p.get(16..20)) == Some(b"GRAY");
        read::icc(icc, if gray { Model::Gray } else { Model::Rgb })
    }

    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        _limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let size = target.decode_size(probe.width, probe.height);
        let image = self.0.decode(bytes, size).map_err(|e| self.error(e))?;
        if u64::from(image.width()) * u64::from(image.height())
            > u64::from(probe.width) * u64::from(probe.height)
        {
            return Err(DecodeError::Corrupt(format!(
                "{}: decoded {}x{}, larger than its header's {}x{}",
                self.0.name(),
                image.width(),
                image.height(),
                probe.width,
                probe.height
            )));
        }
        Ok(Output::new(image, DecodePath::FullDecode))
    }
}
