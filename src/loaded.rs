//! What a successful load hands back.
//!
//! Owns: [`LoadedImage`], [`Source`], the one-word record an image holds (`Recorded`), the
//! frames of an animation ([`Frame`], [`LoopCount`]), and `Pixels`, the shared form of a result that the memory cache stores and every caller
//! of one result receives (one still image, or the frames of an animation) with its cost.
//! Must not touch: decoding, processing or caching; a `LoadedImage` only points at pixels
//! that the cache and other callers share.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use image::RgbaImage;

use crate::metrics::Metrics;

/// Where a loaded image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Downloaded (or read from a `file://`/`data:` URL) and decoded for this load, possibly
    /// shared with other callers of the same URL.
    Network,
    /// Already decoded in the memory cache.
    Memory,
    /// Read from the disk cache and decoded.
    Disk,
}

/// One frame of an animation: the whole canvas as it is shown (earlier frames composed under
/// it, their disposal applied), and how long it stays on screen.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The composed canvas, upright RGBA8 at the size the request asked for.
    pub image: Arc<RgbaImage>,
    /// How long this frame is shown, as the file says. Players commonly show frames that ask
    /// for less than 20 ms for 100 ms, as browsers do; that choice is left to the caller.
    pub delay: Duration,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.image.width())
            .field("height", &self.image.height())
            .field("delay", &self.delay)
            .finish()
    }
}

/// How many times an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopCount {
    /// Over and over.
    Infinite,
    /// This many times in all, then it stays on its last frame.
    Finite(NonZeroU32),
}

/// The frames of an animation, in order, and its loop count. Never empty.
#[derive(Debug)]
pub(crate) struct Animation {
    frames: Box<[Frame]>,
    loop_count: LoopCount,
}

impl Animation {
    /// An animation of `frames`; `None` if there are none.
    pub(crate) fn new(frames: Vec<Frame>, loop_count: LoopCount) -> Option<Animation> {
        if frames.is_empty() {
            return None;
        }
        Some(Animation {
            frames: frames.into_boxed_slice(),
            loop_count,
        })
    }

    /// The frames, at least one.
    pub(crate) fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// How many times it plays.
    pub(crate) fn loop_count(&self) -> LoopCount {
        self.loop_count
    }
}

/// A result as the memory cache and callers share it: cloning is one reference count.
#[derive(Debug, Clone)]
pub(crate) enum Pixels {
    /// One image.
    Still(Arc<RgbaImage>),
    /// Every frame of an animation.
    Animated(Arc<Animation>),
}

impl Pixels {
    /// One still image.
    pub(crate) fn still(image: RgbaImage) -> Pixels {
        Pixels::Still(Arc::new(image))
    }

    /// The image shown first: the still image, or the first frame.
    pub(crate) fn first(&self) -> &Arc<RgbaImage> {
        match self {
            Pixels::Still(image) => image,
            Pixels::Animated(animation) => &animation.frames[0].image,
        }
    }

    /// The frames, if this is an animation.
    pub(crate) fn frames(&self) -> Option<&[Frame]> {
        match self {
            Pixels::Still(_) => None,
            Pixels::Animated(animation) => Some(animation.frames()),
        }
    }

    /// The first image, owned (copied only if someone else holds it).
    pub(crate) fn into_first(self) -> RgbaImage {
        let first = match self {
            Pixels::Still(image) => image,
            Pixels::Animated(animation) => animation.frames[0].image.clone(),
        };
        Arc::try_unwrap(first).unwrap_or_else(|shared| (*shared).clone())
    }

    /// What it costs in memory: the bytes of every image in it.
    pub(crate) fn cost(&self) -> u64 {
        match self {
            Pixels::Still(image) => image.as_raw().len() as u64,
            Pixels::Animated(animation) => animation
                .frames
                .iter()
                .map(|f| f.image.as_raw().len() as u64)
                .sum(),
        }
    }
}

/// A decoded image, or an animation's frames. Cloning is cheap: the pixels are behind an
/// [`Arc`] shared with the memory cache and with every other caller of the same image.
#[derive(Clone)]
pub struct LoadedImage {
    pixels: Pixels,
    source: Source,
    url: Arc<str>,
    metrics: Recorded,
}

impl LoadedImage {
    /// An image from `source`, with its load's record. Made whole in one go: on the
    /// memory-hit path a builder's extra move of the image measured 29 instructions a hit.
    pub(crate) fn new(pixels: Pixels, source: Source, url: Arc<str>, metrics: Recorded) -> Self {
        LoadedImage {
            pixels,
            source,
            url,
            metrics,
        }
    }

    /// What this load did and where its time went (see [`Metrics`]). A memory hit's record
    /// is [`Metrics::MEMORY_HIT`]; a preview's is [`Metrics::EMPTY`].
    pub fn metrics(&self) -> &Metrics {
        self.metrics.get(self.source)
    }

    /// The decoded RGBA8 pixels, upright (EXIF orientation applied). For an animation, its
    /// first frame.
    pub fn image(&self) -> &Arc<RgbaImage> {
        self.pixels.first()
    }

    /// Every frame of an animation, in order, each the whole canvas as shown: `Some` when the
    /// request asked for [`animated`](crate::Request::animated) frames and the file has more
    /// than one (an animated GIF, APNG or WebP), `None` for a still image. The first frame is
    /// [`image`](Self::image).
    pub fn frames(&self) -> Option<&[Frame]> {
        self.pixels.frames()
    }

    /// How many times the animation plays; `None` for a still image.
    pub fn loop_count(&self) -> Option<LoopCount> {
        match &self.pixels {
            Pixels::Still(_) => None,
            Pixels::Animated(animation) => Some(animation.loop_count()),
        }
    }

    /// Where the image came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The URL that was loaded (as given by the caller that started the download).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.image().width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.image().height()
    }
}

impl fmt::Debug for LoadedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedImage")
            .field("url", &crate::url_text::shown(&self.url))
            .field("width", &self.width())
            .field("height", &self.height())
            .field("frames", &self.frames().map(<[Frame]>::len))
            .field("source", &self.source)
            .finish()
    }
}

/// A delivered image's record, in one word (every `LoadedImage` carries one, and the
/// memory-hit path moves it): `CONSTANT` is the record its source implies
/// ([`Metrics::MEMORY_HIT`] from the memory cache, [`Metrics::EMPTY`] otherwise: previews and
/// loads answered before any stage ran), else one made for it and shared.
#[derive(Debug, Clone)]
pub(crate) struct Recorded(Option<Arc<Metrics>>);

impl Recorded {
    /// The constant record of `source`.
    pub(crate) const CONSTANT: Recorded = Recorded(None);

    /// A record made for one load.
    pub(crate) fn made(metrics: Metrics) -> Recorded {
        Recorded(Some(Arc::new(metrics)))
    }

    /// The record of a load delivered from `source`.
    pub(crate) fn get(&self, source: Source) -> &Metrics {
        match &self.0 {
            Some(made) => made,
            None if source == Source::Memory => &Metrics::MEMORY_HIT,
            None => &Metrics::EMPTY,
        }
    }
}
