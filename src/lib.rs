//! <!-- This file owns the public surface: which items are exported, and the crate docs,
//! which are README.md with its links pointed at the `docs` module so they resolve on docs.rs
//! as well as in the repository. It must not touch any behaviour; every module below owns
//! one part. -->
#![doc = "[docs/ARCHITECTURE.md]: crate::docs::architecture"]
#![doc = "[docs/PERFORMANCE.md]: crate::docs::performance"]
#![doc = "[docs/SECURITY.md]: crate::docs::security"]
#![doc = "[docs/INTEGRATIONS.md]: crate::docs::integrations"]
#![doc = "[LICENSE]: https://opensource.org/license/mit"]
#![doc = "[gallery]: https://docs.rs/crate/webimage/latest"]
#![doc = ""]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod cache;
mod coalesce;
mod color;
mod config;
mod decode;
#[cfg(feature = "egui")]
pub mod egui;
mod error;
mod events;
mod fetch;
mod headers;
mod key;
mod listener;
mod loaded;
mod loader;
mod metrics;
mod pipeline;
mod prefetch;
mod process;
mod queue;
mod request;
mod stats;
mod trace;
mod upload;
mod url_text;
mod variant;

pub use crate::color::{ColorTarget, IccProfile};
pub use crate::config::{
    Config, DEFAULT_USER_AGENT, DiskCacheConfig, KeyFilter, TlsConfig, TlsRoots,
};
pub use crate::decode::{Decoder, DecoderError};
pub use crate::error::{Cause, Error, Limit};
pub use crate::events::EventListener;
pub use crate::loaded::{Frame, LoadedImage, LoopCount, Source};
pub use crate::loader::{DiskCache, ImageLoader};
pub use crate::metrics::{
    DecodeKind, DecodeMetrics, DiskOutcome, FailedDecode, MemoryLookup, Metrics, NetworkMetrics,
};
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

/// The guides kept in `docs/` in the repository, here so that they read on docs.rs too.
pub mod docs {
    /// The path of one request through the stages, the traits between them, which thread
    /// owns what, the bounds on every resource, and the decisions behind them.
    #[doc = include_str!("../docs/ARCHITECTURE.md")]
    pub mod architecture {}

    /// Measured figures from `cargo bench`, against the baselines run in the same process.
    #[doc = include_str!("../docs/PERFORMANCE.md")]
    pub mod performance {}

    /// The threat model, each defence with its setting and test, and a server's
    /// configuration.
    #[doc = include_str!("../docs/SECURITY.md")]
    pub mod security {}

    /// The same pixels handed to egui, iced, Slint and ratatui-image.
    #[doc = include_str!("../docs/INTEGRATIONS.md")]
    pub mod integrations {}
}
