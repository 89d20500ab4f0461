//! What a successful load hands back.
//!
//! Owns: [`LoadedImage`] and [`Source`]. Must not touch: decoding or caching; a `LoadedImage`
//! only points at pixels that the cache and other callers share.

use std::fmt;
use std::sync::Arc;

use image::RgbaImage;

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

/// A decoded image. Cloning is cheap: the pixels are behind an [`Arc`] shared with the memory
/// cache and with every other caller of the same image.
#[derive(Clone)]
pub struct LoadedImage {
    pixels: Arc<RgbaImage>,
    source: Source,
    url: Arc<str>,
}

impl LoadedImage {
    pub(crate) fn new(pixels: Arc<RgbaImage>, source: Source, url: Arc<str>) -> Self {
        LoadedImage {
            pixels,
            source,
            url,
        }
    }

    /// The decoded RGBA8 pixels, upright (EXIF orientation applied).
    pub fn image(&self) -> &Arc<RgbaImage> {
        &self.pixels
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
        self.pixels.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.pixels.height()
    }
}

impl fmt::Debug for LoadedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedImage")
            .field("url", &self.url)
            .field("width", &self.pixels.width())
            .field("height", &self.pixels.height())
            .field("source", &self.source)
            .finish()
    }
}
