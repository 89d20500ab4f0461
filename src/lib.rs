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
//!   loads the same way, and [`Request::cover`] fills a grid cell exactly through the same
//!   paths.
//!
//! Between the decode and the memory cache, [`Processor`]s (a blur, rounded corners, your
//! own) run on the worker threads, each result cached under its processors' ids; and
//! [`Request::animated`] loads every frame of an animated GIF, APNG or WebP.
//!
//! ```no_run
//! let loader = webimage::ImageLoader::new(webimage::Config::default())?;
//! let image = loader.load_blocking("https://example.com/cat.jpg")?;
//! println!("{}x{}", image.width(), image.height());
//! # Ok::<(), webimage::Error>(())
//! ```
//!
//! See `docs/ARCHITECTURE.md` for the path of one request through the modules.
//!
//! This file owns the public surface: which items are exported and the crate docs. It must
//! not touch any behaviour; every module below owns one part.

#![warn(missing_docs)]

mod cache;
mod coalesce;
mod config;
mod decode;
#[cfg(feature = "egui")]
pub mod egui;
mod error;
mod fetch;
mod headers;
mod key;
mod loaded;
mod loader;
mod pipeline;
mod prefetch;
mod process;
mod queue;
mod request;
mod stats;
mod upload;

pub use crate::config::{Config, DEFAULT_USER_AGENT, DiskCacheConfig, KeyFilter};
pub use crate::decode::{Decoder, DecoderError};
pub use crate::error::{Cause, Error, Limit};
pub use crate::loaded::{Frame, LoadedImage, LoopCount, Source};
pub use crate::loader::{DiskCache, ImageLoader};
pub use crate::pipeline::Token;
pub use crate::prefetch::{Prefetch, PrefetchOptions, PrefetchProgress};
pub use crate::process::{Blur, Circle, Grayscale, Processor, RoundedCorners};
pub use crate::request::{CachePolicy, Priority, Request, Store};
pub use crate::stats::Stats;
pub use crate::upload::{
    JournalEntry, Recompress, UploadConfig, UploadError, UploadItem, UploadResponse, UploadSource,
    UploadStats, UploadToken, Uploader,
};

/// The `egui` crate [`egui`](mod@crate::egui) builds on, re-exported so callers (and tests)
/// name the same version.
#[cfg(feature = "egui")]
pub use ::egui as egui_crate;
/// The `image` crate this library decodes with, re-exported so callers name the same
/// `RgbaImage` type without a dependency of their own (`webimage::image::RgbaImage`).
pub use ::image;
/// The `image` crate under its old name.
#[deprecated(since = "0.2.0", note = "use `webimage::image`")]
pub use ::image as image_crate;
/// The `url` crate, re-exported for [`KeyFilter`] functions.
pub use ::url;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
