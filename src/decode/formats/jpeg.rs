//! JPEG: full size straight to RGBA8 with zune-jpeg, and the cheapest way to a smaller upright
//! image for thumbnails and scale-down caps.
//!
//! Owns: choosing the path for one JPEG decode (the [`Plan`], from the header alone, so the
//! memory it needs is known before anything is allocated), and each path's peak memory.
//! Must not touch: the cache, the network, or the reduced decoder's internals
//! (`decode/jpeg/`). Full size (`full.rs`): a colour JPEG (YCbCr or RGB) goes straight to RGBA8
//! through zune-jpeg, the decoder `image` itself uses; going through `image` would cost a copy
//! of the input, two header parses, a full-size RGB8 buffer and a copy of it into RGBA8, while
//! asking zune-jpeg for RGBA writes the final buffer once. Any file it does not take
//! (grayscale, CMYK without a profile, headers zune rejects, a failed decode) goes to
//! `image_rs`, which gives the same results and errors as `image`. Scaled, which path runs:
//!
//! 1. **JPEG with an embedded Exif thumbnail** (IFD1) at least as large as the target, with the
//!    main image's aspect ratio within 1% (cameras that pad 160x120 thumbnails with black bars
//!    fail this), and at most half the main image's size per side: decode the thumbnail, resize,
//!    and apply the main image's orientation. [`DecodePath::ExifThumbnail`].
//! 2. **JPEG the reduced decoder handles**, when 1/2, 1/4 or 1/8 scale is still at least the
//!    target: decode at the smallest such scale in the DCT domain (for a progressive file at
//!    1/8, the DC scans alone, [`DecodePath::DcOnly`]; otherwise [`DecodePath::DctScaled`]),
//!    then resize to the exact size. No full-size buffer exists on this path.
//! 3. **Everything else** (targets over half size, images that already fit): the full-size
//!    decode, then a resize. [`DecodePath::FullDecode`].
//!
//! Before any of them, [`jpeg::preflight`] walks the file's markers (cost in proportion to its
//! bytes): a declared size its data cannot hold, more than 1,000 scans, or more scan work than
//! its blocks justify is a decode error before anything is allocated, and the valid features
//! no decoder here implements (arithmetic coding, 12-bit samples, lossless, hierarchical, a
//! height set by DNL, two components) are `UnsupportedFormat` from the header alone. The
//! reduced decoder handles every other frame (CMYK and YCCK, any sampling factors), so a
//! valid JPEG's thumbnail never takes the full-size path for lack of a feature.
//!
//! Sizes are computed after EXIF orientation (a rotated portrait fits the box as displayed);
//! the JPEG paths resize in stored orientation and rotate the small result. A cover takes the
//! same paths, chosen for the image scaled to cover the box (`fit::cover_size`); its resize
//! reads only the cover's crop (`fit::cover_crop`, turned to stored orientation and scaled to
//! the reduced image), so no image larger than the box is made after the reduced decode.
//!
//! Colour: [`FormatDecoder::profile`] assembles the APP2 ICC profile (every chunk, in sequence
//! order); the registry converts the RGB output from it, after the resize. A CMYK or YCCK
//! file that carries a profile is decoded to its inks instead (full size through zune-jpeg,
//! scaled through the reduced decoder, resized as four channels), for the registry to convert
//! through that profile; the embedded Exif thumbnail (RGB, not the profile's CMYK) is then
//! not used. Without a profile, CMYK becomes RGB by the plain formula, as before.
//!
//! Fallback decision: the path is chosen from the headers. When the reduced decoder then fails
//! on the data (corrupt entropy-coded data), the thumbnail fails with a decode error; it never
//! falls back to a full-size decode (a damaged Exif thumbnail falls back to the main image's
//! reduced decode, which its reservation covers), so corrupt bytes cannot make a 32 px
//! thumbnail cost the time and memory of the image they claim (a full-size load asks for it).

mod full;
mod repair;

use image::{DynamicImage, RgbaImage, metadata::Orientation};

use super::image_rs;
use crate::decode::color::{MAX_PROFILE_BYTES, Model, Profile, Raster};
use crate::decode::exif::{self, Exif};
use crate::decode::fit::{self, Crop};
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, full_peak, jpeg, resize,
};

/// Headroom for a decoder's own tables and row buffers, on top of the pixel buffers counted.
const SLACK: u64 = 256 << 10;

/// JPEG files.
pub(crate) struct Jpeg;

impl FormatDecoder for Jpeg {
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0xFF, 0xD8])
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        // The whole marker structure, before any decoder sees the file: a frame too large for
        // its data, too many scans or more scan work than its blocks justify is refused here,
        // at a cost in proportion to the file's bytes (zune-jpeg would allocate the declared
        // size and visit every block of every scan). Valid features no decoder here handles
        // (arithmetic coding, 12-bit, lossless, hierarchical) are unsupported, not corrupt.
        let info = jpeg::preflight(bytes).map_err(|e| match e {
            jpeg::JpegError::Unsupported(m) => {
                DecodeError::Unsupported(format!("JPEG with {m} (not supported)"))
            }
            jpeg::JpegError::Corrupt(m) => DecodeError::Corrupt(format!("JPEG: {m}")),
        })?;
        let exif = read_exif(bytes, &info);
        let pixels = u64::from(info.width) * u64::from(info.height);
        // zune-jpeg writes RGBA straight into the output; a progressive file also keeps every
        // coefficient (2 bytes per sample, 3 components at most counted at full resolution).
        let per_pixel = if info.progressive { 4 + 6 } else { 4 };
        Ok(Probe::sized(
            info.width,
            info.height,
            exif.orientation,
            pixels * per_pixel,
        ))
    }

    fn peak_bytes(&self, bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        match plan(bytes, target) {
            Some(scaled) => scaled.peak_bytes(),
            None => full_peak(probe, target),
        }
    }

    fn decode(
        &self,
        bytes: &[u8],
        _probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        if let Some(scaled) = plan(bytes, target) {
            return scaled.run(bytes);
        }
        let bytes = &*repair::for_zune(bytes); // Adobe segments zune refuses, libjpeg skips.
        let image = match full::rgba(bytes, limits) {
            Some(result) => Raster::Rgba8(result?),
            None => match full::cmyk(bytes, limits) {
                Some(result) => Raster::Cmyk8(result?),
                None => image_rs::decode(bytes, limits)?,
            },
        };
        Ok(Output {
            image,
            path: DecodePath::FullDecode,
        })
    }

    fn profile(&self, bytes: &[u8]) -> Profile {
        let Ok(info) = jpeg::read_info(bytes) else {
            return Profile::Unspecified;
        };
        let model = match info.components {
            1 => Model::Gray,
            4 => Model::Cmyk,
            _ => Model::Rgb,
        };
        match jpeg::icc_profile(bytes, &info, MAX_PROFILE_BYTES) {
            Ok(None) => Profile::Unspecified,
            Ok(Some(bytes)) => Profile::Icc { bytes, model },
            Err(why) => Profile::Invalid(why),
        }
    }
}

/// Whether the file is CMYK or YCCK with an ICC profile: then its inks are decoded, for the
/// profile to convert.
fn inks(info: &jpeg::JpegInfo) -> bool {
    matches!(info.color, jpeg::ColorSpace::Cmyk | jpeg::ColorSpace::Ycck) && !info.icc.is_empty()
}

/// The Exif block's orientation and thumbnail position (defaults when absent or unreadable).
fn read_exif(bytes: &[u8], info: &jpeg::JpegInfo) -> Exif {
    info.exif
        .clone()
        .and_then(|r| bytes.get(r))
        .map(exif::parse)
        .unwrap_or_default()
}

/// A scaled decode, planned from the headers: the main image at `1/denom` in the DCT domain,
/// or first its embedded Exif thumbnail if one qualifies (the main image is the fallback when
/// the thumbnail turns out to be damaged).
struct Scaled {
    info: jpeg::JpegInfo,
    orientation: Orientation,
    /// The output size in stored orientation.
    stored_to: (u32, u32),
    /// A cover's crop, in stored pixels of the full image.
    crop: Option<Crop>,
    denom: u8,
    exif: Option<ExifThumb>,
    /// Decode to CMYK inks for the file's profile ([`inks`]).
    inks: bool,
}

/// An embedded Exif thumbnail that qualifies: where it lies in the file, its header, and the
/// scale to decode it at (`None`: whole).
struct ExifThumb {
    range: std::ops::Range<usize>,
    info: jpeg::JpegInfo,
    denom: Option<u8>,
}

/// The scaled path for `target`, or `None` for the full decode.
fn plan(bytes: &[u8], target: Target) -> Option<Scaled> {
    if target == Target::Full {
        return None;
    }
    let info = jpeg::read_info(bytes).ok()?;
    if info.unsupported.is_some() {
        return None;
    }
    let exif = read_exif(bytes, &info);
    let Scale {
        upright,
        stored_to,
        stored_scaled,
        denom,
    } = scale(&info, exif.orientation, target)?;
    let inks = inks(&info);
    Some(Scaled {
        exif: embedded_thumbnail(bytes, &info, &exif, stored_scaled).filter(|_| !inks),
        inks,
        info,
        orientation: exif.orientation,
        stored_to,
        crop: match target {
            Target::Cover(w, h) => Some(
                fit::cover_crop(upright.0, upright.1, w, h).to_stored(upright, exif.orientation),
            ),
            _ => None,
        },
        denom,
    })
}

/// The sizes of the reduced decode for `target`.
struct Scale {
    /// The image's size as displayed.
    upright: (u32, u32),
    /// The output size, in stored orientation.
    stored_to: (u32, u32),
    /// The whole image at the size the output is cut from (a cover's scaled image; the output
    /// itself otherwise), in stored orientation.
    stored_scaled: (u32, u32),
    /// The DCT scale of the reduced decode.
    denom: u8,
}

/// The sizes and the DCT scale of the reduced decode for `target`; `None` when the target is
/// the image's own size or over half of it.
fn scale(info: &jpeg::JpegInfo, orientation: Orientation, target: Target) -> Option<Scale> {
    let swap = exif::swaps_axes(orientation);
    let upright = upright(info, orientation);
    let (to_w, to_h) = target.size_for(upright.0, upright.1);
    let scaled = target.decode_size(upright.0, upright.1);
    if scaled == upright {
        return None; // nothing to scale down: a plain full decode
    }
    let stored = |(w, h): (u32, u32)| if swap { (h, w) } else { (w, h) };
    let (stored_to, stored_scaled) = (stored((to_w, to_h)), stored(scaled));
    let denom = jpeg::scale_for(info, stored_scaled.0, stored_scaled.1)?;
    Some(Scale {
        upright,
        stored_to,
        stored_scaled,
        denom,
    })
}

/// The image's size as displayed.
fn upright(info: &jpeg::JpegInfo, orientation: Orientation) -> (u32, u32) {
    if exif::swaps_axes(orientation) {
        (info.height, info.width)
    } else {
        (info.width, info.height)
    }
}

/// What a JPEG's headers say, for previews of a file still downloading: read from a prefix
/// that holds the markers up to the first scan.
pub(crate) struct Header {
    info: jpeg::JpegInfo,
    orientation: Orientation,
}

impl Header {
    /// The header of a progressive JPEG the reduced decoder handles; `None` otherwise.
    pub(crate) fn progressive(bytes: &[u8]) -> Option<Header> {
        let info = jpeg::read_info(bytes).ok()?;
        if !info.progressive || info.unsupported.is_some() {
            return None;
        }
        let orientation = read_exif(bytes, &info).orientation;
        Some(Header { info, orientation })
    }

    /// The size as displayed (after EXIF orientation).
    pub(crate) fn upright(&self) -> (u32, u32) {
        upright(&self.info, self.orientation)
    }

    /// Whether a decode for `target` reads the DC scans alone (the 1/8 path; an embedded Exif
    /// thumbnail, also in the headers, may stand in for it), so that any prefix holding every
    /// complete DC scan decodes to the final image. The same choice [`plan`] makes.
    pub(crate) fn dc_only(&self, target: Target) -> bool {
        target != Target::Full
            && scale(&self.info, self.orientation, target).is_some_and(|s| s.denom == 8)
    }
}

/// The embedded Exif thumbnail, if it is at least `stored_to` (the whole image's target size)
/// and otherwise qualifies.
fn embedded_thumbnail(
    bytes: &[u8],
    info: &jpeg::JpegInfo,
    exif: &Exif,
    stored_to: (u32, u32),
) -> Option<ExifThumb> {
    let tiff = info.exif.clone()?;
    let within = exif.thumbnail.clone()?;
    let range = tiff.start.checked_add(within.start)?..tiff.start.checked_add(within.end)?;
    let thumb = bytes.get(range.clone())?;
    let t = jpeg::read_info(thumb).ok()?;
    if t.unsupported.is_some() || t.width < stored_to.0 || t.height < stored_to.1 {
        return None;
    }
    // At most half the main image per side: decoding it never costs more than the main
    // image's 1/2 scale would, and a hostile thumbnail cannot be huge.
    if t.width > info.width / 2 || t.height > info.height / 2 {
        return None;
    }
    // Same aspect ratio within 1%: |tw/th - w/h| <= 0.01 * w/h.
    let (tw, th, w, h) = (
        u64::from(t.width),
        u64::from(t.height),
        u64::from(info.width),
        u64::from(info.height),
    );
    if (tw * h).abs_diff(th * w) * 100 > th * w {
        return None;
    }
    let denom = jpeg::scale_for(&t, stored_to.0, stored_to.1);
    Some(ExifThumb {
        range,
        info: t,
        denom,
    })
}

impl Scaled {
    /// The most memory this decode holds at once: the larger of the main image's reduced
    /// decode and the embedded thumbnail's (the main image is the thumbnail's fallback).
    fn peak_bytes(&self) -> u64 {
        let main = self.peak_of(&self.info, Some(self.denom));
        match &self.exif {
            Some(t) => main.max(self.peak_of(&t.info, t.denom)),
            None => main,
        }
    }

    /// The peak of a reduced decode of `info` at `1/denom` (the reduced decoder's own
    /// estimate: planes, coefficient store, RGB output, tables), plus the resize to the
    /// target and the RGBA result with its orientation copy. A thumbnail decoded whole (no
    /// scale fits) counts as `1/1`: its full-size pixels several times over.
    fn peak_of(&self, info: &jpeg::JpegInfo, denom: Option<u8>) -> u64 {
        let (w, h) = (u64::from(info.width), u64::from(info.height));
        let (decode, sh) = match denom {
            Some(d) => (jpeg::estimate_peak(info, d), h.div_ceil(u64::from(d))),
            None => (w * h * 16, h),
        };
        let (ow, oh) = (u64::from(self.stored_to.0), u64::from(self.stored_to.1));
        // Inks: four channels, and the reduced image's fourth one.
        let (channels, inks) = if self.inks {
            (4, w.div_ceil(u64::from(denom.unwrap_or(1))) * sh)
        } else {
            (3, 0)
        };
        let resize = ow * sh * channels + ow * oh * channels;
        let rgba = ow * oh * 4;
        decode.saturating_add(resize + 2 * rgba + inks + SLACK)
    }

    /// Decodes along the plan.
    fn run(self, bytes: &[u8]) -> Result<Output, DecodeError> {
        if let Some(t) = &self.exif
            && let Some(rgb) = bytes
                .get(t.range.clone())
                .and_then(|b| exif_rgb(b, t.denom))
        {
            // Thumbnail pixels per pixel of the main image, then the thumbnail's own scale.
            let d = f64::from(t.denom.unwrap_or(1));
            let scale = (
                f64::from(t.info.width) / f64::from(self.info.width) / d,
                f64::from(t.info.height) / f64::from(self.info.height) / d,
            );
            let crop = self.crop.map(|c| c.scaled(scale.0, scale.1));
            return finish(
                rgb,
                (self.stored_to, crop),
                self.orientation,
                DecodePath::ExifThumbnail,
            );
        }
        let decode = if self.inks {
            jpeg::decode_reduced_cmyk
        } else {
            jpeg::decode_reduced
        };
        let reduced = decode(bytes, self.denom).map_err(|e| match e {
            jpeg::JpegError::Unsupported(m) => DecodeError::Unsupported(m),
            jpeg::JpegError::Corrupt(m) => DecodeError::Corrupt(m),
        })?;
        let path = if self.info.progressive && self.denom == 8 {
            DecodePath::DcOnly
        } else {
            DecodePath::DctScaled
        };
        let rgb = Rgb {
            size: (reduced.width, reduced.height),
            pixels: reduced.rgb,
            inks: self.inks,
        };
        let d = f64::from(self.denom);
        let crop = self.crop.map(|c| c.scaled(1.0 / d, 1.0 / d));
        finish(rgb, (self.stored_to, crop), self.orientation, path)
    }
}

/// The embedded thumbnail as RGB: at `1/denom`, or whole (it is small: under twice the
/// target per side, at most half the photo). `None` if it does not decode.
fn exif_rgb(thumb: &[u8], denom: Option<u8>) -> Option<Rgb> {
    match denom {
        Some(denom) => {
            let r = jpeg::decode_reduced(thumb, denom).ok()?;
            Some(Rgb {
                size: (r.width, r.height),
                pixels: r.rgb,
                inks: false,
            })
        }
        None => {
            let img = image::load_from_memory_with_format(thumb, image::ImageFormat::Jpeg)
                .ok()?
                .into_rgb8();
            Some(Rgb {
                size: img.dimensions(),
                pixels: img.into_raw(),
                inks: false,
            })
        }
    }
}

/// Packed RGB8 pixels in stored orientation, or CMYK8 inks as Adobe stores them.
pub(super) struct Rgb {
    pub(super) size: (u32, u32),
    pub(super) pixels: Vec<u8>,
    pub(super) inks: bool,
}

/// Resizes stored-orientation RGB or inks (for a cover, only its `crop`, in its own pixels) to
/// `stored_to`, then makes it upright: RGBA, or inks in an RGBA-sized buffer (WebP's too).
pub(super) fn finish(
    rgb: Rgb,
    (stored_to, crop): ((u32, u32), Option<Crop>),
    orientation: Orientation,
    path: DecodePath,
) -> Result<Output, DecodeError> {
    let pixels = match crop {
        Some(c) => {
            // Rounding may reach past the edge by a fraction: keep inside the image.
            let (w, h) = (f64::from(rgb.size.0), f64::from(rgb.size.1));
            let width = c.width.min(w);
            let height = c.height.min(h);
            let inside = Crop {
                left: c.left.clamp(0.0, w - width),
                top: c.top.clamp(0.0, h - height),
                width,
                height,
            };
            if rgb.inks {
                resize::inks(rgb.pixels, rgb.size, Some(inside), stored_to)?
            } else {
                resize::rgb_crop(rgb.pixels, rgb.size, inside, stored_to)?
            }
        }
        None if rgb.inks => resize::inks(rgb.pixels, rgb.size, None, stored_to)?,
        None => resize::rgb(rgb.pixels, rgb.size, stored_to)?,
    };
    let rgba = if rgb.inks {
        pixels
    } else {
        let mut rgba = Vec::with_capacity(pixels.len() / 3 * 4);
        for p in pixels.chunks_exact(3) {
            rgba.extend_from_slice(&[p[0], p[1], p[2], 255]);
        }
        rgba
    };
    let image = RgbaImage::from_raw(stored_to.0, stored_to.1, rgba)
        .ok_or_else(|| DecodeError::Corrupt("reduced image has the wrong size".into()))?;
    let image = turn_upright(image, orientation);
    let image = if rgb.inks {
        Raster::Cmyk8(image)
    } else {
        Raster::Rgba8(image)
    };
    Ok(Output { image, path })
}

/// `image` turned upright.
fn turn_upright(image: RgbaImage, orientation: Orientation) -> RgbaImage {
    let mut image = DynamicImage::ImageRgba8(image);
    image.apply_orientation(orientation);
    image.into_rgba8()
}
