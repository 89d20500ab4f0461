//! WebP: lossy still images, and every frame of animations (their still image is the first
//! frame), through this crate's VP8 decoder (`decode/webp`); lossless still images (VP8L)
//! through `image_rs`.
//!
//! Owns: choosing the path for one WebP decode from the container and the frame header
//! alone (so the memory it needs is known before anything is allocated), each path's peak
//! memory, and the orientation of the `EXIF` chunk. Must not touch: the decoder's internals
//! or the other formats.
//!
//! Paths for a lossy still image, in order:
//! 1. **Scaled, opaque**, when a box factor of at least 2 still leaves twice the target
//!    (`webp::factor_for`): decode reduced in YUV (no loop filter, no chroma upsampling; see
//!    `decode/webp`), then Lanczos3 to the exact size reading the image's exact fractional
//!    extent (and a cover's crop) straight from the reduced image, then turn it upright:
//!    [`DecodePath::YuvReduced`]. Peak memory: rows of the frame's width and the reduced
//!    image, about 1/40 of the full RGBA for a 256 px thumbnail of a 12 MP photo.
//! 2. **Everything else** (full size, targets over a quarter of the image, alpha): the
//!    full-size decode to RGBA8 (bit-exact with libwebp, alpha from `ALPH`), then the
//!    registry's resize. Alpha images take this path for thumbnails too: averaging colour
//!    under transparent pixels would need premultiplying in YUV, which the reduced path
//!    does not do (decision: correctness over speed for the rarer case).
//!
//! Orientation: the `EXIF` chunk's (the TIFF block, with or without the `Exif\0\0` prefix
//! some writers add), read with the `image` crate's parser as for JPEG. The `ICCP` chunk's
//! bytes are found by the container parser (`webp::Container::iccp`) and handed to colour
//! management ([`FormatDecoder::profile`]); pixels stay in the file's colour space here.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use super::image_rs::ImageRs;
use super::jpeg::{Rgb, finish};
use crate::decode::color::{Model, Profile, read};
use crate::decode::exif::swaps_axes;
use crate::decode::fit::{self, Crop};
use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, animation, full_peak,
    webp,
};

/// Headroom for the resizer's own tables.
const SLACK: u64 = 256 << 10;

/// WebP files.
pub(crate) struct WebP;

/// A lossy still image: its payloads and frame header.
struct Lossy<'a> {
    vp8: &'a [u8],
    alpha: Option<&'a [u8]>,
    info: webp::FrameInfo,
}

fn container(bytes: &[u8]) -> Result<webp::Container, DecodeError> {
    webp::parse(bytes).map_err(|_| DecodeError::Corrupt("WebP: not a RIFF WebP file".into()))
}

/// The canvas of an animated WebP, if `c` is one.
fn animated(c: &webp::Container) -> Option<(u32, u32)> {
    c.extended
        .filter(|e| e.animated)
        .map(|e| (e.width, e.height))
}

/// The lossy still image in `bytes`, or `None` for lossless and animated files.
fn lossy(bytes: &[u8]) -> Result<Option<(Lossy<'_>, webp::Container)>, DecodeError> {
    let c = container(bytes)?;
    if animated(&c).is_some() || !c.frames.is_empty() {
        return Ok(None);
    }
    let Some(image) = c.image.clone() else {
        return Err(DecodeError::Corrupt("WebP: no image data".into()));
    };
    if image.lossless {
        return Ok(None);
    }
    let vp8 = &bytes[image.data];
    let info = webp::frame_info(vp8).map_err(error)?;
    if let Some(e) = c.extended
        && (e.width, e.height) != (info.width, info.height)
    {
        return Err(DecodeError::Corrupt(format!(
            "WebP: canvas {}x{} but frame {}x{}",
            e.width, e.height, info.width, info.height
        )));
    }
    let alpha = image.alpha.map(|r| &bytes[r]);
    Ok(Some((Lossy { vp8, alpha, info }, c)))
}

fn error(e: webp::Vp8Error) -> DecodeError {
    e.into()
}

/// The orientation the `EXIF` chunk gives (none if absent or unreadable).
pub(crate) fn orientation(bytes: &[u8], c: &webp::Container) -> Orientation {
    let Some(exif) = c.exif.clone().and_then(|r| bytes.get(r)) else {
        return Orientation::NoTransforms;
    };
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms)
}

/// The first frame of an animated WebP composed on its canvas (what `webp::anim` gives for
/// every frame, so the still image and the animation's first frame are the same pixels),
/// upright.
fn first_frame(bytes: &[u8], c: &webp::Container, probe: &Probe) -> Result<RgbaImage, DecodeError> {
    let mut first = None;
    webp::anim::compose(bytes, c, (probe.width, probe.height), 1, |canvas| {
        first = Some(canvas.rgba.to_vec());
        Ok::<(), DecodeError>(())
    })?;
    let image = first
        .and_then(|p| RgbaImage::from_raw(probe.width, probe.height, p))
        .ok_or_else(|| DecodeError::Corrupt("WebP: an animation without frames".into()))?;
    Ok(upright(image, probe.orientation))
}

/// `image` turned upright.
fn upright(image: RgbaImage, orientation: Orientation) -> RgbaImage {
    if orientation == Orientation::NoTransforms {
        return image;
    }
    let mut d = DynamicImage::ImageRgba8(image);
    d.apply_orientation(orientation);
    d.into_rgba8()
}

/// A reduced decode, planned from the headers.
struct Reduced {
    k: u32,
    /// The output size in stored orientation.
    stored_to: (u32, u32),
    /// A cover's crop, in stored pixels of the full image.
    crop: Option<Crop>,
}

/// The reduced path for `target`, or `None` for the full decode.
fn plan(l: &Lossy<'_>, orientation: Orientation, target: Target) -> Option<Reduced> {
    if target == Target::Full || l.alpha.is_some() {
        return None;
    }
    let (w, h) = (l.info.width, l.info.height);
    let swap = swaps_axes(orientation);
    let upright = if swap { (h, w) } else { (w, h) };
    let stored = |(a, b): (u32, u32)| if swap { (b, a) } else { (a, b) };
    let scaled = target.decode_size(upright.0, upright.1);
    if scaled == upright {
        return None;
    }
    let (sw, sh) = stored(scaled);
    let k = webp::factor_for(w, h, sw, sh)?;
    let crop = match target {
        Target::Cover(bw, bh) => {
            Some(fit::cover_crop(upright.0, upright.1, bw, bh).to_stored(upright, orientation))
        }
        _ => None,
    };
    Some(Reduced {
        k,
        stored_to: stored(target.size_for(upright.0, upright.1)),
        crop,
    })
}

impl FormatDecoder for WebP {
    fn sniff(&self, head: &[u8]) -> bool {
        webp::sniff(head)
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let c = container(bytes)?;
        if let Some((w, h)) = animated(&c) {
            // Its still image is the first frame, composed on the canvas (`first_frame`).
            return Ok(Probe::sized(
                w,
                h,
                orientation(bytes, &c),
                u64::from(w) * u64::from(h) * 4,
            ));
        }
        let Some((l, c)) = lossy(bytes)? else {
            return ImageRs.probe(bytes);
        };
        let (w, h) = (l.info.width, l.info.height);
        Ok(Probe::sized(
            w,
            h,
            orientation(bytes, &c),
            u64::from(w) * u64::from(h) * 4,
        ))
    }

    fn peak_bytes(&self, bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        if let Ok(c) = container(bytes)
            && animated(&c).is_some()
        {
            // Two canvases (shown and disposed), the frame, then the registry's steps.
            let rgba = u64::from(probe.width) * u64::from(probe.height) * 4;
            return (3 * rgba).max(full_peak(probe, target));
        }
        let Ok(Some((l, _))) = lossy(bytes) else {
            return ImageRs.peak_bytes(bytes, probe, target);
        };
        match plan(&l, probe.orientation, target) {
            Some(r) => {
                let small_h = u64::from(l.info.height.div_ceil(r.k));
                let (ow, oh) = (u64::from(r.stored_to.0), u64::from(r.stored_to.1));
                let resize = ow * small_h * 3 + ow * oh * 3;
                webp::peak_reduced(&l.info, r.k) + resize + 2 * ow * oh * 4 + SLACK
            }
            None => webp::peak_rgba(&l.info, l.alpha).max(full_peak(probe, target)),
        }
    }

    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let c = container(bytes)?;
        if animated(&c).is_some() {
            return Ok(Output::new(
                first_frame(bytes, &c, probe)?,
                DecodePath::FullDecode,
            ));
        }
        let Some((l, _)) = lossy(bytes)? else {
            return ImageRs.decode(bytes, probe, target, limits);
        };
        if let Some(r) = plan(&l, probe.orientation, target) {
            let small = webp::decode_reduced(l.vp8, r.k).map_err(error)?;
            let k = f64::from(r.k);
            let crop = r.crop.map_or(
                Crop {
                    left: 0.0,
                    top: 0.0,
                    width: small.exact.0,
                    height: small.exact.1,
                },
                |c| c.scaled(1.0 / k, 1.0 / k),
            );
            let rgb = Rgb {
                size: (small.width, small.height),
                pixels: small.rgb,
                inks: false,
            };
            return finish(
                rgb,
                (r.stored_to, Some(crop)),
                probe.orientation,
                DecodePath::YuvReduced,
            );
        }
        let (w, h, rgba) = webp::decode_rgba(l.vp8, l.alpha).map_err(error)?;
        let image = RgbaImage::from_raw(w, h, rgba)
            .ok_or_else(|| DecodeError::Corrupt("WebP: decoded image has the wrong size".into()))?;
        Ok(Output::new(
            upright(image, probe.orientation),
            DecodePath::FullDecode,
        ))
    }

    fn animation(
        &self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Option<animation::Info>, DecodeError> {
        ImageRs.animation(bytes, limits)
    }

    /// The `ICCP` chunk's profile (WebP pixels are always RGB).
    fn profile(&self, bytes: &[u8]) -> Profile {
        match webp::parse(bytes) {
            Ok(c) => read::icc(
                c.iccp.and_then(|r| bytes.get(r)).map(<[u8]>::to_vec),
                Model::Rgb,
            ),
            Err(_) => Profile::Unspecified,
        }
    }
}
