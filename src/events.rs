//! The app's view of loads as they run.
//!
//! Owns: the [`EventListener`] trait (set as `Config::event_listener`) and calling it with
//! panics contained. Must not touch: the pipeline's state; the pipeline calls [`Events`]
//! from the thread doing the work, never under one of its locks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::Error;
use crate::loaded::{LoadedImage, Source};
use crate::metrics::{DecodeMetrics, DiskOutcome, Metrics, NetworkMetrics};

/// An app's view of loads as they run, set as [`Config::event_listener`](crate::Config::event_listener).
///
/// Every method has an empty default. They are called on the thread doing the work, never
/// under a lock of the loader: the worker for task events, and for
/// [`finished`](Self::finished) the thread that calls the completion (the worker; the
/// caller's own thread for answers known at once, such as a memory hit, and for a cancel).
/// They run before the completion closure, so keep them short: a slow listener holds up the
/// worker. A panic in one is caught and counted in `Stats::callback_panics`.
pub trait EventListener: Send + Sync + 'static {
    /// A worker started `task` for `url` (the URL of the caller that started it).
    fn task_started(&self, task: u64, url: &str) {
        let _ = (task, url);
    }

    /// `task` has its bytes: from the disk cache (`network` is `None` unless it revalidated)
    /// or fetched.
    fn fetched(&self, task: u64, disk: DiskOutcome, network: Option<&NetworkMetrics>) {
        let _ = (task, disk, network);
    }

    /// `task` decoded one variant (called once per decode, however many callers share it).
    fn decoded(&self, task: u64, decode: &DecodeMetrics) {
        let _ = (task, decode);
    }

    /// One load finished: called exactly once per load, on every path, with its record and
    /// its result, just before its completion closure.
    fn finished(&self, url: &str, metrics: &Metrics, result: Result<&LoadedImage, &Error>) {
        let _ = (url, metrics, result);
    }

    /// One URL of a [`prefetch`](crate::ImageLoader::prefetch) run has its bytes (or failed):
    /// called exactly once per URL the run fetches, on every path (cancel included), with its
    /// record (no decode: a prefetch only fetches) and where the bytes came from. A URL the
    /// disk cache already holds is skipped without a load, so without a call; with
    /// `PrefetchOptions::decode` each URL is an image load, told through
    /// [`finished`](Self::finished) instead.
    fn prefetched(&self, url: &str, metrics: &Metrics, result: Result<Source, &Error>) {
        let _ = (url, metrics, result);
    }
}

/// Calls a listener, if one is set, catching a panic in it; returns whether it panicked.
pub(crate) fn call(
    listener: Option<&dyn EventListener>,
    f: impl FnOnce(&dyn EventListener),
) -> bool {
    match listener {
        Some(l) => catch_unwind(AssertUnwindSafe(|| f(l))).is_err(),
        None => false,
    }
}
