//! The per-load record: what one load did and where its time went.
//!
//! Owns: [`Metrics`] and its parts ([`MemoryLookup`], [`DiskOutcome`], [`NetworkMetrics`],
//! [`DecodeMetrics`], [`DecodeKind`]), a caller's `Arrival` (taken when it joins or starts a
//! task) and the record of a load answered without a task (an image holds its record as
//! `loaded::Recorded`). Must not touch: the stages themselves; a job's figures are kept by
//! its worker (`pipeline/record.rs`) and `pipeline/deliver.rs` assembles each caller's
//! record. Apps watching loads as they run implement `events.rs`'s `EventListener`.
//!
//! Cheap by design: a memory hit takes no timestamp and allocates nothing (its record is a
//! constant, [`Metrics::MEMORY_HIT`]); a load that reaches a task takes one `Instant` when it
//! is admitted, the worker a handful per job, and each delivered image one `Arc`.

use std::time::{Duration, Instant};

/// What one load did and where its time went, delivered with its result:
/// [`LoadedImage::metrics`](crate::LoadedImage::metrics) on success, the second argument of
/// [`ImageLoader::load_with_metrics`](crate::ImageLoader::load_with_metrics) on every path
/// (errors included), and [`EventListener::finished`](crate::EventListener::finished).
///
/// Plain data. Durations are wall-clock ([`Instant`]) and cover only what this load waited
/// for: a caller that joined a running download has no queue wait of its own, and its
/// `total` starts when it joined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The task (one download and its decodes) that served this load, `None` when the load
    /// was answered without one (memory hit, invalid URL, failed before, a bound reached).
    /// Every caller a task served carries its id, so records of coalesced loads match up.
    pub task: Option<u64>,
    /// Whether this load joined a task another caller had started (it shared the download
    /// and the decode instead of making its own).
    pub joined: bool,
    /// The memory-cache lookup on the caller's thread.
    pub memory: MemoryLookup,
    /// What the disk cache did for the task.
    pub disk: DiskOutcome,
    /// From admission until a worker started the task; `None` when no task ran. Zero for a
    /// caller that joined a task already running.
    pub queue_wait: Option<Duration>,
    /// The network side of the task (or of a `file://` or `data:` read), if the bytes were
    /// fetched rather than read from the disk cache. A revalidation's `304` is here too.
    pub network: Option<NetworkMetrics>,
    /// The decode that made this load's image, if one ran for it.
    pub decode: Option<DecodeMetrics>,
    /// The decode that failed for this load, if one ran and failed (the error says why).
    pub decode_failed: Option<FailedDecode>,
    /// Time spent in the request's processors, if it had any and they ran.
    pub process: Option<Duration>,
    /// Previews published by the task while it downloaded (progressive JPEGs).
    pub previews: u32,
    /// Time the task's worker spent making those previews.
    pub preview_time: Duration,
    /// From admission until the completion was called; `None` for a memory hit (answered
    /// before `load` returns, with no timestamp taken: that path stays as cheap as it was).
    pub total: Option<Duration>,
}

impl Metrics {
    /// The record of a memory-cache hit: nothing else ran, nothing was timed.
    pub const MEMORY_HIT: Metrics = Metrics {
        memory: MemoryLookup::Hit,
        ..Metrics::EMPTY
    };

    /// A record with nothing in it (previews, and loads answered before any stage ran).
    pub const EMPTY: Metrics = Metrics {
        task: None,
        joined: false,
        memory: MemoryLookup::Skipped,
        disk: DiskOutcome::NotUsed,
        queue_wait: None,
        network: None,
        decode: None,
        decode_failed: None,
        process: None,
        previews: 0,
        preview_time: Duration::ZERO,
        total: None,
    };
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::EMPTY
    }
}

/// The memory-cache lookup of one load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryLookup {
    /// Not looked up: the request's [`CachePolicy`](crate::CachePolicy) does not read it, or
    /// the load failed before the lookup (an invalid URL).
    Skipped,
    /// Looked up, not there.
    Miss,
    /// Answered from the memory cache.
    Hit,
}

/// What the disk cache did for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskOutcome {
    /// Not consulted: no disk cache, a scheme it does not keep (`file://`, `data:`), a policy
    /// that does not read it, or the load never reached a task.
    NotUsed,
    /// Consulted, no usable entry (absent, corrupt, or stored for another `Vary`).
    Miss,
    /// A fresh entry (or a stale one the policy accepts), served without a request.
    Hit,
    /// A stale entry, confirmed by the server (`304 Not Modified`) and served.
    Revalidated,
    /// A stale entry the server replaced with a new body (`200` to the conditional request).
    Replaced,
    /// A stale entry served because the server could not be reached (RFC 9111 4.2.4).
    StaleServed,
}

/// The network side of a task. Connection set-up is measured by the loader's own resolver
/// and connector, so a reused keep-alive connection shows as `connect` `None` (ureq
/// resolves the name before it looks for a pooled connection, so `dns` is still there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NetworkMetrics {
    /// Name resolution, summed over redirects; `None` if no lookup ran (not HTTP).
    pub dns: Option<Duration>,
    /// TCP connect (to the proxy, and its `CONNECT`, when one is configured), summed over
    /// redirects; `None` on a reused connection.
    pub connect: Option<Duration>,
    /// TLS handshake (certificate checks included), summed over redirects; `None` for
    /// `http:` and on a reused connection.
    pub tls: Option<Duration>,
    /// From the first request sent until the final response's headers arrived: connection
    /// set-up, redirects, and the server's think time.
    pub first_byte: Duration,
    /// Reading the body.
    pub body: Duration,
    /// Bytes of body received (after a cut-short download: the bytes kept).
    pub bytes: u64,
    /// Redirects followed.
    pub redirects: u32,
    /// The final HTTP status; `None` for `file://` and `data:`.
    pub status: Option<u16>,
    /// Requests sent for this task (two when a download cut short had to be made again).
    pub requests: u32,
    /// Whether the body was ended early because its DC scans served every caller.
    pub cut_short: bool,
    /// The fetch failed (refused, timed out, reset, blocked, a TLS error, a body cut off):
    /// the time from its first request until the failure. What was measured before it is
    /// kept: `dns`, `connect` and `tls` as far as they got, the last `status` seen (`None` when no
    /// answer came), the body's time and bytes so far. `None` when the fetch got its answer.
    pub failed_after: Option<Duration>,
}

/// The decode that made one load's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeMetrics {
    /// Which path made it.
    pub kind: DecodeKind,
    /// The decode, resize and colour conversion, waits for the budget excluded.
    pub time: Duration,
    /// Time spent waiting for decode memory (`Config::decode_memory_bytes`).
    pub budget_wait: Duration,
    /// The image as delivered, before processors: width and height.
    pub size: (u32, u32),
}

/// A decode that failed: how long it ran and what it tried.
///
/// Which reduced path a format would have taken (DCT scaling, DC scans, the Exif thumbnail)
/// is decided inside the format's decoder as it reads the file; a failure ends that before
/// it reports one, so the record says what was asked: a full-size or a scaled decode, of
/// which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedDecode {
    /// From the decode's start until it failed, waits for the decode budget included.
    pub time: Duration,
    /// Whether a scaled decode was asked for (a thumbnail or cover size: the reduced paths
    /// were open to it) rather than the full size.
    pub scaled: bool,
}

/// Which decode path made an image (the counters of [`Stats`](crate::Stats) name the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeKind {
    /// A full-size load, decoded at full size.
    Original,
    /// A scaled load, decoded at full size and resized.
    FullDecode,
    /// A JPEG decoded at 1/2, 1/4 or 1/8 in the DCT domain, then resized.
    DctScaled,
    /// A progressive JPEG's DC scans alone (1/8), then resized.
    DcOnly,
    /// The JPEG's embedded Exif thumbnail, resized.
    ExifThumbnail,
    /// A lossy WebP averaged down in YUV as it decoded, then resized.
    WebpReduced,
}

impl DecodeKind {
    /// A short name, as `webimage get --explain` prints it.
    pub fn name(self) -> &'static str {
        match self {
            DecodeKind::Original => "full size",
            DecodeKind::FullDecode => "full decode + resize",
            DecodeKind::DctScaled => "DCT-scaled",
            DecodeKind::DcOnly => "DC-only",
            DecodeKind::ExifThumbnail => "Exif thumbnail",
            DecodeKind::WebpReduced => "WebP reduced in YUV",
        }
    }
}

/// When and how a caller came to its task (kept in its `Subscriber`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    /// It joined a task that existed already.
    pub(crate) joined: bool,
    /// The task it joined or started, once admitted to one.
    pub(crate) task: Option<u64>,
    /// What its memory-cache lookup found (a caller that reaches admission missed, unless
    /// its policy skips the memory cache).
    pub(crate) memory: MemoryLookup,
}

impl Arrival {
    /// A caller arriving now, after a memory lookup that found `memory`.
    pub(crate) fn now(memory: MemoryLookup) -> Arrival {
        Arrival {
            at: Instant::now(),
            joined: false,
            task: None,
            memory,
        }
    }
}

/// The record of a caller answered before its task's worker delivered it: at admission (a
/// hit there is `memory`), at shutdown, or cancelled. A cancelled caller names the task it
/// left; what that task had measured is not its own (the task may go on for others).
pub(crate) fn answered(arrival: Arrival, memory: MemoryLookup) -> Metrics {
    Metrics {
        task: arrival.task,
        joined: arrival.joined,
        memory,
        total: Some(arrival.at.elapsed()),
        ..Metrics::EMPTY
    }
}
