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
use super::{DecodeError, Target, resize};
use crate::request::Variant;

/// A progressive JPEG's header, read from the bytes before its first scan.
pub(crate) struct Header(JpegHeader);

impl Header {
    /// The size as displayed (after EXIF orientation).
    pub(crate) fn upright(&self) -> (u32, u32) {
        self.0.upright()
    }

    /// Whether `variant`'s final image needs the DC scans alone: a thumbnail (or scale-down
    /// cap) of at most 1/8 of the image. For it, the bytes up to the end of the DC scans are
    /// as good as the whole file.
    pub(crate) fn dc_only(&self, variant: Variant) -> bool {
        self.0.dc_only(Target::of(variant))
    }

    /// The variant whose decode is every preview's base: the picture at 1/8 of its size
    /// (rounded up), upright. Decoding it reads the DC scans alone.
    pub(crate) fn base_variant(&self) -> Variant {
        let (w, h) = self.upright();
        Variant::Thumbnail {
            width: w.div_ceil(8).max(1),
            height: h.div_ceil(8).max(1),
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
    sized: Vec<(Variant, Arc<RgbaImage>)>,
}

impl Previews {
    /// Previews made from `base`, the decode of [`Header::base_variant`].
    pub(crate) fn new(seq: u64, base: RgbaImage, header: &Header) -> Self {
        Previews {
            seq,
            base: Arc::new(base),
            upright: header.upright(),
            sized: Vec::new(),
        }
    }

    /// The preview for a caller of `variant`, from the sizes made so far; `None` if it has to
    /// be made (see [`make`](Self::make)).
    pub(crate) fn get(&self, variant: Variant) -> Option<Arc<RgbaImage>> {
        let size = self.size_for(variant);
        if size == self.base.dimensions() {
            return Some(self.base.clone());
        }
        self.sized
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, image)| image.clone())
    }

    /// The preview for a caller of `variant`: its final size if that is at most the base's,
    /// else the base. Resizes the base (at most 1/64 of the image's pixels) when needed.
    pub(crate) fn make(&self, variant: Variant) -> Result<Arc<RgbaImage>, DecodeError> {
        if let Some(image) = self.get(variant) {
            return Ok(image);
        }
        let size = self.size_for(variant);
        resize::rgba((*self.base).clone(), size).map(Arc::new)
    }

    /// Makes and keeps the preview for `variant`, so later callers of it share it.
    pub(crate) fn add(&mut self, variant: Variant) -> Result<(), DecodeError> {
        if self.get(variant).is_none() {
            let image = self.make(variant)?;
            self.sized.push((variant, image));
        }
        Ok(())
    }

    fn size_for(&self, variant: Variant) -> (u32, u32) {
        let (w, h) = Target::of(variant).size_for(self.upright.0, self.upright.1);
        let (bw, bh) = self.base.dimensions();
        if w <= bw && h <= bh { (w, h) } else { (bw, bh) }
    }
}
