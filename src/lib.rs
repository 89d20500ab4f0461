//! # webimage
//!
//! Load, decode and cache images for blocking (non-async) Rust programs: desktop and TUI apps,
//! game tools, batch thumbnailers, services built on threads. No async runtime.
//!
//! The ways image-heavy apps die of memory are impossible by construction:
//!
//! - **Bounded concurrency.** A fixed pool of `max_workers` threads downloads and decodes;
//!   never one thread or one connection per image.
//! - **One download per URL.** Concurrent loads of the same image attach to one job; all
//!   callers get the same `Arc`'d pixels.
//! - **Cost-limited caches.** The memory cache is bounded in decoded bytes, least recently
//!   used first out.
//! - **One HTTP agent per loader.** Connections are reused; no client per request.
//! - **Limits enforced early.** Oversized bodies are abandoned while streaming; oversized
//!   images are refused from their header, before any pixel buffer exists.
//! - **Thumbnails decoded small.** [`Request::thumbnail`] decodes JPEGs at reduced size in the
//!   DCT domain (only the DC scans of a progressive file), so a 12-megapixel photo shown at
//!   256 px never exists at full size in memory; [`Config::scale_down_pixels`] caps full-size
//!   loads the same way.
//!
//! ```no_run
//! let loader = webimage::ImageLoader::new(webimage::Config::default())?;
//! let image = loader.load_blocking("https://example.com/cat.jpg")?;
//! println!("{}x{}", image.width(), image.height());
//! # Ok::<(), webimage::Error>(())
//! ```
//!
//! See `docs/ARCHITECTURE.md` for the path of one request through the modules.

#![warn(missing_docs)]

mod cache;
mod coalesce;
mod config;
mod decode;
mod error;
mod fetch;
mod image;
mod key;
mod loader;
mod prefetch;
mod queue;
mod request;
mod stats;
mod upload;

/// Not public API: the issue-14 format decoders, for `benches/formats.rs` only, until the
/// decoder registry makes them public. Errors are dropped (`None`).
#[doc(hidden)]
#[cfg(any(feature = "svg", feature = "jxl"))]
pub mod __formats_bench {
    /// SVG rendered into a `size` x `size` box.
    #[cfg(feature = "svg")]
    pub fn svg(bytes: &[u8], size: u32) -> Option<::image::RgbaImage> {
        let opts = crate::decode::svg::SvgOptions::default();
        crate::decode::svg::decode(bytes, Some((size, size)), u64::MAX, &opts).ok()
    }

    /// JPEG XL decoded, fitted into a `size` x `size` box if given.
    #[cfg(feature = "jxl")]
    pub fn jxl(bytes: &[u8], size: Option<u32>) -> Option<::image::RgbaImage> {
        crate::decode::jxl::decode(bytes, size.map(|s| (s, s)), u64::MAX).ok()
    }
}

pub use crate::config::{Config, DEFAULT_USER_AGENT, DiskCacheConfig, KeyFilter};
pub use crate::error::{Error, Limit};
pub use crate::image::{LoadedImage, Source};
pub use crate::loader::{DiskCache, ImageLoader, Token};
pub use crate::prefetch::{Prefetch, PrefetchOptions, PrefetchProgress};
pub use crate::request::{Priority, Request, Store};
pub use crate::stats::Stats;
pub use crate::upload::{
    Recompress, UploadConfig, UploadError, UploadItem, UploadResponse, UploadSource, UploadStats,
    UploadToken, Uploader,
};

/// The `image` crate this library decodes with, re-exported so callers use the same
/// `RgbaImage` type.
pub use ::image as image_crate;
/// The `url` crate, re-exported for [`KeyFilter`] functions.
pub use ::url;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
