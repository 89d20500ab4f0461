//! AVIF (feature `avif`): still, grid and animated AV1 images, decoded by rav1d on the calling
//! worker thread.
//!
//! Owns: sniffing AVIF (`ftyp` with the `avif` or `avis` brand), the header-only probe (size
//! after the clean aperture, orientation from `irot`/`imir`, checked against the AV1 sequence
//! header), each decode's peak memory, and the decode to upright straight-alpha RGBA8: the
//! colour item (one AV1 image or a grid of tiles), its alpha auxiliary image, premultiplied
//! alpha undone, `clap` crop, rotation and mirror. Animated AVIF (`avis`) frame by frame in
//! `frames.rs`. Must not touch: the network, caches, or the other decoders.
//!
//! Parts: `boxes.rs` (ISO BMFF), `meta.rs` (still items and properties), `track.rs` (an
//! animation's samples), `av1.rs` (rav1d, the only `unsafe` code), `picture.rs` (tiles to
//! planes), `yuv.rs` (planes to RGBA, resized first for thumbnails), `yuv8.rs` (SIMD 8-bit).
//!
//! Sizes, and a header that lies: the size the file declares (`ispe`, a grid's output size)
//! and the AV1 sequence header's largest frame are both checked against `max_pixels` before
//! the decoder exists; a smaller sequence header is refused; the declared size is rav1d's
//! frame size limit (a larger frame is refused before allocating it), a frame of any other
//! size an error. An item whose data the file does not hold (truncated) is refused first.
//!
//! Thumbnails: AV1 has no reduced-size decode, so the frame is decoded at full size, without
//! film grain (noise averaged away at thumbnail scale) and, for an opaque still reduced 4
//! times or more each way, without the in-loop filters (`skips_filters`); each plane is then
//! resized straight to the thumbnail and only its pixels are converted to RGB (`yuv.rs`).
//! With alpha, the full-size RGBA image is resized by the registry, alpha-weighted.
//!
//! Colour: Y'CbCr to R'G'B' with the `nclx` matrix and range, else the sequence header's
//! (BT.601, BT.709, BT.2020, FCC, SMPTE 240, identity, YCgCo; others `UnsupportedFormat`). The
//! ICC profile (`prof`/`rICC`), else the `nclx` primaries and transfer, go to colour management.

mod av1;
mod boxes;
mod frames;
mod meta;
mod picture;
mod track;
mod yuv;
mod yuv8;

use crate::decode::color::{self, Profile, read};
use image::RgbaImage;
use image::metadata::Orientation;

use crate::decode::{
    DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, animation, check_pixels,
    exif,
};
use crate::loaded::Pixels;
use meta::{Coded, Refusal, Still};
use track::Track;
use yuv::{Matrix, Model, Window};

/// Bytes rav1d holds per pixel of a frame besides the picture itself (block and filter
/// state), and on top of that (tables, tile contexts). Measured with the unit tests' counting
/// allocator (`avif/tests.rs`), with headroom.
const STATE_PER_PIXEL: u64 = 4;
const STATE_BASE: u64 = 4 << 20;

/// Whether `head` starts an AVIF file: an `ftyp` box with the `avif` or `avis` brand.
pub(crate) fn sniff(head: &[u8]) -> bool {
    let Some(size) = head
        .get(..4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    else {
        return false;
    };
    if head.get(4..8) != Some(b"ftyp") {
        return false;
    }
    let end = (size as usize).min(head.len());
    if end < 16 {
        return false;
    }
    // The major brand, then the compatible brands after the minor version.
    std::iter::once(&head[8..12])
        .chain(head[16..end].chunks_exact(4))
        .any(|b| b == b"avif" || b == b"avis")
}

fn corrupt(message: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("AVIF: {message}"))
}

fn refused(r: Refusal) -> DecodeError {
    match r {
        Refusal::Unsupported(m) => DecodeError::Unsupported(m),
        Refusal::Corrupt(m) => corrupt(m),
    }
}

/// The parts of an AVIF file.
struct File<'a> {
    still: Option<Result<Still<'a>, Refusal>>,
    track: Option<Track<'a>>,
}

fn parse(bytes: &[u8]) -> Result<File<'_>, DecodeError> {
    if !sniff(bytes) {
        return Err(DecodeError::Unsupported("not an AVIF file".into()));
    }
    let mut file = File {
        still: None,
        track: None,
    };
    for b in boxes::top(bytes) {
        let b = b.map_err(corrupt)?;
        match &b.kind {
            b"meta" if file.still.is_none() => file.still = Some(meta::still(bytes, b)),
            b"moov" if file.track.is_none() => file.track = track::read(b).map_err(corrupt)?,
            _ => {}
        }
    }
    Ok(file)
}

/// How an item's `irot` (quarter turns anticlockwise) then `imir` (mode 0: top and bottom
/// swap; 1: left and right, as libavif and libheif read it) turn it upright.
fn orientation(rotation: u8, mirror: Option<u8>) -> Orientation {
    // Quarter turns clockwise, then a horizontal flip or not; a vertical flip is a half
    // turn and a horizontal flip.
    let clockwise = (4 - u32::from(rotation & 3)) % 4;
    let (turns, flip) = match mirror {
        None => (clockwise, false),
        Some(0) => ((clockwise + 2) % 4, true),
        Some(_) => (clockwise, true),
    };
    match (turns, flip) {
        (0, false) => Orientation::NoTransforms,
        (1, false) => Orientation::Rotate90,
        (2, false) => Orientation::Rotate180,
        (3, false) => Orientation::Rotate270,
        (0, true) => Orientation::FlipHorizontal,
        (1, true) => Orientation::Rotate90FlipH,
        (2, true) => Orientation::FlipVertical,
        _ => Orientation::Rotate270FlipH,
    }
}

/// The still image a decode shows: the primary item, or an animation's first frame when the
/// file has no item.
enum Shown<'a> {
    Item(Still<'a>),
    FirstFrame(Track<'a>),
}

fn shown(file: File<'_>) -> Result<Shown<'_>, DecodeError> {
    match (file.still, file.track) {
        (Some(Ok(still)), _) => Ok(Shown::Item(still)),
        (Some(Err(_)) | None, Some(track)) => Ok(Shown::FirstFrame(track)),
        (Some(Err(r)), None) => Err(refused(r)),
        (None, None) => Err(corrupt("no image ('meta') and no animation ('moov')")),
    }
}

/// The AV1 sequence header of `coded` (from `av1C`, else from the first tile's data), checked
/// against the declared tile size and the pixel limit.
fn check_sequence(
    coded: &Coded<'_>,
    limits: Option<&Limits>,
) -> Result<av1::Sequence, DecodeError> {
    let seq = av1::sequence(coded.config)
        .or_else(|_| av1::sequence(&coded.tiles[0]))
        .map_err(picture::av1_error)?;
    if seq.max_width < coded.tile_width || seq.max_height < coded.tile_height {
        return Err(corrupt(format!(
            "the file declares {}x{} but its AV1 data codes at most {}x{}",
            coded.tile_width, coded.tile_height, seq.max_width, seq.max_height
        )));
    }
    if let Some(limits) = limits {
        check_pixels(coded.width, coded.height, limits)?;
        check_pixels(seq.max_width, seq.max_height, limits)?;
    }
    Ok(seq)
}

/// Bytes of a picture of `width` x `height` as rav1d allocates it (rows padded, height
/// rounded up to 128) at `depth` bits in `layout`.
fn picture_bytes(width: u32, height: u32, depth: u8, layout: av1::Layout) -> u64 {
    let bps = if depth > 8 { 2 } else { 1 };
    let (w, h) = (
        u64::from(width.div_ceil(128) * 128),
        u64::from(height.div_ceil(128) * 128),
    );
    let luma = w * h * bps + 64;
    let (sx, sy) = layout.shifts();
    let chroma = if layout == av1::Layout::I400 {
        0
    } else {
        2 * (luma >> (sx + sy))
    };
    luma + chroma
}

/// What decoding `coded` holds at most: the decoder's picture and state for one tile, and a
/// grid's canvas.
fn coded_bytes(coded: &Coded<'_>, seq: &av1::Sequence) -> u64 {
    let (tw, th) = (coded.tile_width, coded.tile_height);
    let pixels = u64::from(tw) * u64::from(th);
    let mut total =
        picture_bytes(tw, th, seq.depth, seq.layout) + pixels * STATE_PER_PIXEL + STATE_BASE;
    if coded.tiles.len() > 1 {
        total += picture_bytes(coded.width, coded.height, seq.depth, seq.layout);
    }
    total
}

/// The still decode's peak for `target`.
fn still_peak(still: &Still<'_>, probe: &Probe, target: Target) -> Result<u64, DecodeError> {
    let seq = check_sequence(&still.color, None)?;
    let mut total = coded_bytes(&still.color, &seq);
    if let Some(alpha) = &still.alpha {
        let aseq = check_sequence(alpha, None)?;
        total += coded_bytes(alpha, &aseq);
    }
    let (w, h) = (u64::from(probe.width), u64::from(probe.height));
    let upright = upright(probe);
    let out = target.decode_size(upright.0, upright.1);
    let small = still.alpha.is_none() && target != Target::Full && out != upright;
    let conversion = if small {
        // Three resized planes as i32, their resize buffers, the RGBA output.
        let (ow, oh) = (u64::from(out.0), u64::from(out.1));
        ow * oh * (3 * 4 + 3 * 2 + 4) + 3 * ow * h.max(w) * 2
    } else {
        crate::decode::full_peak(
            &Probe {
                native_bytes: w * h * 4,
                ..*probe
            },
            target,
        )
    };
    Ok(total + conversion)
}

fn upright(probe: &Probe) -> (u32, u32) {
    if exif::swaps_axes(probe.orientation) {
        (probe.height, probe.width)
    } else {
        (probe.width, probe.height)
    }
}

/// `window` of `planes` as RGBA8 with `alpha`: [`yuv8`] (SIMD) if it applies, else [`yuv::rows`].
fn rgba(
    planes: &yuv::Planes<'_>,
    m: &yuv::Matrix,
    alpha: Option<&yuv::Alpha<'_>>,
    window: (u32, u32, u32, u32),
) -> RgbaImage {
    let whole = window == (0, 0, planes.y.width, planes.y.height);
    let mut out = whole
        .then(|| yuv8::convert(planes, m))
        .flatten()
        .unwrap_or_else(|| yuv::rows(planes, m, window));
    if let Some(a) = alpha {
        yuv::put_alpha(&mut out, a, (window.0, window.1));
    }
    out
}

/// The conversion matrix of a picture: `nclx` first, else the sequence header.
fn matrix(
    nclx: Option<meta::Nclx>,
    seq: Option<av1::Sequence>,
    depth: u8,
    gray: bool,
) -> Result<Matrix, DecodeError> {
    let (mc, full_range) = match (nclx, seq) {
        (Some(n), _) => (n.matrix, n.full_range),
        (None, Some(s)) => (u16::from(s.matrix), s.full_range),
        (None, None) => (2, false),
    };
    let model = Model::of(mc)
        .ok_or_else(|| DecodeError::Unsupported(format!("AVIF with matrix coefficients {mc}")))?;
    Ok(Matrix::new(model, depth, full_range, gray))
}

/// The smallest reduction (in each direction) at which a thumbnail is decoded without the
/// in-loop filters.
const NO_FILTERS_FROM: u32 = 4;

/// Whether a still's thumbnail of `out` from `up` (both upright) skips AV1's in-loop filters
/// (deblocking, CDEF, loop restoration): when it is at least [`NO_FILTERS_FROM`] times
/// smaller each way. The filters smooth block edges and ringing a few pixels wide, which a
/// reduction by 4 or more averages away; a still has no later frame that predicts from the
/// unfiltered pixels, so nothing else changes.
fn skips_filters(up: (u32, u32), out: (u32, u32)) -> bool {
    let factor = |from: u32, to: u32| from / to.max(1);
    factor(up.0, out.0).min(factor(up.1, out.1)) >= NO_FILTERS_FROM
}

/// Decodes the still image to upright RGBA8: the `target` size when it can be made directly
/// (opaque, scaled down), else the full size for the registry to resize.
fn decode_still(
    still: &Still<'_>,
    probe: &Probe,
    target: Target,
    limits: &Limits,
) -> Result<RgbaImage, DecodeError> {
    check_sequence(&still.color, Some(limits))?;
    if let Some(alpha) = &still.alpha {
        check_sequence(alpha, Some(limits))?;
    }
    let crop = still.crop.unwrap_or(meta::Crop {
        x: 0,
        y: 0,
        width: still.color.width,
        height: still.color.height,
    });
    let orient = orientation(still.rotation, still.mirror);
    let up = upright(probe);
    let out = target.decode_size(up.0, up.1);
    let thumbnail = target != Target::Full;
    let small = still.alpha.is_none() && thumbnail && out != up;
    let filters = !(small && skips_filters(up, out));
    let image = picture::decode(&still.color, (!thumbnail, filters), |planes, seq| {
        let m = matrix(still.nclx, seq, planes.depth, planes.uv.is_none())?;
        if small {
            let stored = if exif::swaps_axes(orient) {
                (out.1, out.0)
            } else {
                out
            };
            let window = Window {
                x: f64::from(crop.x),
                y: f64::from(crop.y),
                width: f64::from(crop.width),
                height: f64::from(crop.height),
            };
            return yuv::small(planes, &m, window, stored).map_err(corrupt);
        }
        let window = (crop.x, crop.y, crop.width, crop.height);
        match &still.alpha {
            None => Ok(rgba(planes, &m, None, window)),
            Some(alpha) => picture::decode(alpha, (!thumbnail, true), |a, aseq| {
                let alpha = yuv::Alpha {
                    plane: a.y,
                    depth: a.depth,
                    full_range: aseq.is_none_or(|s| s.full_range),
                    premultiplied: still.premultiplied,
                };
                Ok(rgba(planes, &m, Some(&alpha), window))
            }),
        }
    })?;
    Ok(orient_image(image, orient))
}

/// `image` turned upright.
fn orient_image(image: RgbaImage, orientation: Orientation) -> RgbaImage {
    if orientation == Orientation::NoTransforms {
        return image;
    }
    let mut d = image::DynamicImage::ImageRgba8(image);
    d.apply_orientation(orientation);
    d.into_rgba8()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fuzz;

/// AVIF in the decoder registry.
pub(crate) struct Avif;

impl FormatDecoder for Avif {
    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        match shown(parse(bytes)?)? {
            Shown::Item(still) => {
                let (width, height) = match still.crop {
                    Some(c) => (c.width, c.height),
                    None => (still.color.width, still.color.height),
                };
                let seq = check_sequence(&still.color, None)?;
                Ok(Probe {
                    width,
                    height,
                    orientation: orientation(still.rotation, still.mirror),
                    native_bytes: coded_bytes(&still.color, &seq),
                    scratch_bytes: 0,
                    // rav1d decodes the coded size (before `clap`), which `check_sequence`
                    // has matched against the sequence header.
                    decoded: (still.color.width, still.color.height),
                })
            }
            Shown::FirstFrame(track) => Ok(Probe::sized(
                track.width,
                track.height,
                Orientation::NoTransforms,
                frames::decoder_bytes(&track),
            )),
        }
    }

    fn peak_bytes(&self, bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let estimate = match parse(bytes).and_then(shown) {
            Ok(Shown::Item(still)) => still_peak(&still, probe, target),
            Ok(Shown::FirstFrame(track)) => Ok(frames::still_peak(&track, target)),
            Err(e) => Err(e),
        };
        // A file that does not parse fails in `decode` before allocating anything.
        estimate.unwrap_or(0)
    }

    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let image = match shown(parse(bytes)?)? {
            Shown::Item(still) => decode_still(&still, probe, target, limits)?,
            Shown::FirstFrame(track) => frames::first(bytes, &track, target, limits)?,
        };
        Ok(Output::new(image, DecodePath::FullDecode))
    }

    fn profile(&self, bytes: &[u8]) -> Profile {
        // ICC over `nclx`, as libavif; an RGB model (a gray profile is ignored and counted).
        let (nclx, icc) = match parse(bytes).and_then(shown) {
            Ok(Shown::Item(still)) => (still.nclx, still.icc),
            Ok(Shown::FirstFrame(track)) => (track.nclx, track.icc),
            Err(_) => (None, None),
        };
        icc.map_or_else(
            || nclx.map_or(Profile::Unspecified, rgb_profile),
            |b| read::icc(Some(b.to_vec()), color::Model::Rgb),
        )
    }

    fn animation(
        &self,
        bytes: &[u8],
        _limits: &Limits,
    ) -> Result<Option<animation::Info>, DecodeError> {
        let Some(track) = parse(bytes)?.track else {
            return Ok(None);
        };
        Ok((track.color.count >= 2).then(|| animation::Info {
            kind: animation::Kind::Avif,
            frames: u64::from(track.color.count),
            width: track.width,
            height: track.height,
            largest: (track.width, track.height),
        }))
    }

    fn frames_peak_bytes(&self, bytes: &[u8], info: &animation::Info, target: Target) -> u64 {
        match parse(bytes).map(|f| f.track) {
            Ok(Some(track)) => frames::peak(&track, info, target),
            _ => 0,
        }
    }

    /// The frames of the colour track; `irot`/`imir` belong to the still item, so frames
    /// are shown as stored.
    fn frames(
        &self,
        bytes: &[u8],
        info: &animation::Info,
        _orientation: Orientation,
        target: Target,
        limits: &Limits,
        finish: &mut dyn FnMut(RgbaImage) -> Result<RgbaImage, DecodeError>,
    ) -> Result<Pixels, DecodeError> {
        let track = parse(bytes)?
            .track
            .ok_or_else(|| corrupt("the animation is gone"))?;
        frames::all(bytes, &track, info, target, limits, finish)
    }
}

/// The colour space of the RGB this module makes from a picture described by `nclx`: its
/// primaries and transfer as CICP for the colour-management step, with the matrix already
/// applied (identity, full range). Unspecified (2) primaries or transfer are taken as sRGB's,
/// as browsers and libavif do.
fn rgb_profile(nclx: meta::Nclx) -> Profile {
    let primaries = if nclx.primaries == 2 {
        1
    } else {
        nclx.primaries
    };
    let transfer = if nclx.transfer == 2 {
        13
    } else {
        nclx.transfer
    };
    match (u8::try_from(primaries), u8::try_from(transfer)) {
        (Ok(1), Ok(13)) => Profile::Srgb,
        (Ok(p), Ok(t)) => Profile::Cicp([p, t, 0, 1]),
        _ => Profile::Invalid("nclx code points out of range"),
    }
}
