//! The integration tests: one binary, one module per area, sharing `support` (a real HTTP
//! server on 127.0.0.1, generated pictures, the test data in `tests/data`). One binary links
//! once, where a binary per area linked the crate and its dependencies ~20 times.
//!
//! Tests that measure the whole process (a counting global allocator, the thread count) live
//! in `tests/process`, a second binary whose tests run one at a time.

mod support;

mod animation;
mod app_cache_dir;
mod bounds;
mod cache_dir;
mod cancel;
#[cfg(feature = "cli")]
mod cli;
#[cfg(all(feature = "cli", feature = "avif"))]
mod cli_avif;
mod cli_explain;
#[cfg(feature = "cli")]
mod cli_journal;
#[cfg(feature = "cli")]
mod cli_options;
mod coalescing;
mod color;
mod conformance;
mod corpus;
mod credentials;
mod decode;
mod decoders;
mod disk_cache;
mod disk_processes;
#[cfg(feature = "egui")]
mod egui;
mod exactly_once;
mod failed_urls;
#[cfg(any(feature = "svg", feature = "jxl"))]
mod formats;
#[cfg(feature = "gallery")]
mod gallery_window;
mod http;
mod layout;
mod memory_cache;
mod metrics;
mod metrics_failures;
mod order;
mod pool;
mod prefetch;
mod previews;
mod processing;
mod security;
mod thumbnail_quality;
mod thumbnail_variants;
mod tls;
mod upload;
mod upload_journal;
mod upload_journal_policy;
mod upload_memory;
mod userinfo;
mod vary;
mod webp;
