//! Previews of a progressive JPEG while it downloads: what the bytes so far can show, and at
//! which size each caller gets it.
//!
//! Owns: following a body as it grows ([`BodyWatch`]: where the DC scans end, from
//! `jpeg::ScanTracker`, and the header read once they start), whether a caller's final image
//! needs nothing beyond the DC scans ([`Header::dc_only`]), the preview's base image (the
//! picture at 1/8 of its size, upright: [`base_variant`], decoded through
//! [`Decoders::decode`](super::Decoders::decode) like any image, so it reserves decode memory
//! and contains panics), and each caller's preview size ([`Previews`]). Must not touch: when
//! previews are made or delivered (the pipeline's `preview.rs`, the listeners).
//!
//! Sizes: a caller's preview is its final size when that is at most the base's (thumbnails of
//! at most 1/8 of the image), else the base itself: never upscaled on the CPU, since a UI
//! stretches a small texture for free and a full-size upscale of a 12-megapixel photo would
//! cost 48 MB and tens of milliseconds for an image shown for a moment.

use std::sync::Arc;

use image::RgbaImage;

use super::formats::jpeg::Header as JpegHeader;
use super::jpeg::{Reach, ScanTracker};
use super::{DecodeError, Target, fit, resize};
use crate::color::ColorTarget;
use crate::request::{Size, Variant};

/// A progressive JPEG's header, read from the bytes before its first scan.
pub(crate) struct Header(JpegHeader);

impl Header {
    /// The size as displayed (after EXIF orientation).
    pub(crate) fn upright(&self) -> (u32, u32) {
        self.0.upright()
    }

    /// Whether a decode at `size` needs the DC scans alone: a thumbnail, cover (or scale-down
    /// cap) of at most 1/8 of the image. For it, the bytes up to the end of the DC scans are
    /// as good as the whole file.
    pub(crate) fn dc_only(&self, size: Size) -> bool {
        self.0.dc_only(Target::of(size))
    }

    /// The variant whose decode is every preview's base: the picture at 1/8 of its size
    /// (rounded up), upright, in colour space `color`. Decoding it reads the DC scans alone.
    pub(crate) fn base_variant(&self, color: &ColorTarget) -> Variant {
        let (w, h) = self.upright();
        Variant {
            color: color.clone(),
            ..Variant::of(Size::Thumbnail {
                width: w.div_ceil(8).max(1),
                height: h.div_ceil(8).max(1),
            })
        }
    }
}

/// What a growing body holds so far.
pub(crate) enum Seen {
    /// Nothing to preview yet.
    Waiting,
    /// Never anything: not a progressive JPEG the reduced decoder handles.
    Never,
    /// Every component's DC scan: `data[..cut]` holds complete scans only.
    Dc {
        /// The length of the prefix of complete scans.
        cut: usize,
    },
}

/// Follows one body as it downloads.
#[derive(Default)]
pub(crate) struct BodyWatch {
    scans: ScanTracker,
    header: Option<Header>,
}

impl BodyWatch {
    /// Reads what is new in `data` (the body so far; the same bytes, longer, each time).
    /// Linear in the bytes over all calls.
    pub(crate) fn update(&mut self, data: &[u8]) -> Seen {
        match self.scans.update(data) {
            Reach::Waiting => Seen::Waiting,
            Reach::Never => Seen::Never,
            Reach::Dc { cut } => {
                if self.header.is_none() {
                    match JpegHeader::progressive(&data[..cut]) {
                        Some(h) => self.header = Some(Header(h)),
                        None => return Seen::Never,
                    }
                }
                Seen::Dc { cut }
            }
        }
    }

    /// The header, once the DC scans are complete.
    pub(crate) fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }
}

/// The latest previews of one download: the base, and the sizes made from it so far.
#[derive(Clone)]
pub(crate) struct Previews {
    /// Increases with each new base, so a caller never gets an older preview after a newer.
    pub(crate) seq: u64,
    base: Arc<RgbaImage>,
    upright: (u32, u32),
    sized: Vec<(Size, Arc<RgbaImage>)>,
}

impl Previews {
    /// Previews made from `base`, the decode of [`Header::base_variant`].
    pub(crate) fn new(seq: u64, base: Arc<RgbaImage>, header: &Header) -> Self {
        Previews {
            seq,
            base,
            upright: header.upright(),
            sized: Vec::new(),
        }
    }

    /// The preview for a caller of `size`, from the sizes made so far; `None` if it has to
    /// be made (see [`make`](Self::make)).
    pub(crate) fn get(&self, size: Size) -> Option<Arc<RgbaImage>> {
        if !matches!(size, Size::Cover { .. }) && self.size_for(size) == self.base.dimensions() {
            return Some(self.base.clone());
        }
        self.sized
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, image)| image.clone())
    }

    /// The preview for a caller of `size`: its final size if that is at most the base's,
    /// else the base. A cover gets the centre crop of the base: at the box's size if the base
    /// covers it, else at the base's scale (the box's shape, smaller). Resizes the base (at
    /// most 1/64 of the image's pixels) when needed. Never the processors or the other frames
    /// of the final image: a preview is the still picture at that size.
    pub(crate) fn make(&self, size: Size) -> Result<Arc<RgbaImage>, DecodeError> {
        if let Some(image) = self.get(size) {
            return Ok(image);
        }
        if let Size::Cover { width, height } = size {
            let (bw, bh) = self.base.dimensions();
            let crop = fit::cover_crop(bw, bh, width, height);
            let to = if crop.width >= f64::from(width) && crop.height >= f64::from(height) {
                (width, height)
            } else {
                // Whole pixels of the base, the crop's own shape.
                let side = |v: f64| (v.round() as u32).max(1);
                (side(crop.width), side(crop.height))
            };
            return resize::rgba_crop(&self.base, crop, to).map(Arc::new);
        }
        // Not the base's size (`get` hands the base out): resized from it, no copy first.
        resize::rgba_run(&self.base, self.size_for(size), None).map(Arc::new)
    }

    /// Makes and keeps the preview for `size`, so later callers of it share it.
    pub(crate) fn add(&mut self, size: Size) -> Result<(), DecodeError> {
        if self.get(size).is_none() {
            let image = self.make(size)?;
            self.sized.push((size, image));
        }
        Ok(())
    }

    fn size_for(&self, size: Size) -> (u32, u32) {
        let (w, h) = Target::of(size).size_for(self.upright.0, self.upright.1);
        let (bw, bh) = self.base.dimensions();
        if w <= bw && h <= bh { (w, h) } else { (bw, bh) }
    }
}
