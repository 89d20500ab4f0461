//! What one job did, as its worker records it, and each caller's record made from it.
//!
//! Owns: [`TaskRecord`], kept by the worker running a job (in its `JobWatch`, a `RefCell`:
//! never shared with another thread, never behind a lock), filled by the stages as they run
//! (disk outcome and network figures through `fetch::Watch`, decodes and processors from
//! `worker.rs`, previews from `preview.rs`), and [`TaskRecord::for_caller`], which gives a
//! caller its [`Metrics`] when it is delivered. Must not touch: callers or the in-flight map.

use std::time::{Duration, Instant};

use crate::metrics::{Arrival, DecodeMetrics, DiskOutcome, MemoryLookup, Metrics, NetworkMetrics};
use crate::request::Variant;

/// What one job did, kept by the worker running it (never shared, never locked).
#[derive(Debug)]
pub(crate) struct TaskRecord {
    pub(crate) task: u64,
    pub(crate) started: Instant,
    pub(crate) memory: MemoryLookup,
    pub(crate) disk: DiskOutcome,
    pub(crate) network: Option<NetworkMetrics>,
    pub(crate) previews: u32,
    pub(crate) preview_time: Duration,
    /// Each variant made, with its decode and its processors' time.
    pub(crate) made: Vec<(Variant, Option<DecodeMetrics>, Option<Duration>)>,
}

impl TaskRecord {
    /// The record of `task`, started now.
    pub(crate) fn new(task: u64, memory: MemoryLookup) -> TaskRecord {
        TaskRecord {
            task,
            started: Instant::now(),
            memory,
            disk: DiskOutcome::NotUsed,
            network: None,
            previews: 0,
            preview_time: Duration::ZERO,
            made: Vec::new(),
        }
    }

    /// The record of one of the task's callers, which arrived as `arrival` and waits for
    /// `variant` (`None`: bytes only), delivered now.
    pub(crate) fn for_caller(&self, arrival: Arrival, variant: Option<&Variant>) -> Metrics {
        let made = variant.and_then(|v| self.made.iter().find(|(m, _, _)| m == v));
        Metrics {
            task: Some(self.task),
            joined: arrival.joined,
            memory: self.memory,
            disk: self.disk,
            queue_wait: Some(self.started.saturating_duration_since(arrival.at)),
            network: self.network,
            decode: made.and_then(|(_, d, _)| *d),
            process: made.and_then(|(_, _, p)| *p),
            previews: self.previews,
            preview_time: self.preview_time,
            total: Some(arrival.at.elapsed()),
        }
    }
}
