//! What one job did, as its worker records it, and each caller's record made from it.
//!
//! Owns: [`TaskRecord`], kept by the worker running a job (in its `JobWatch`, a `RefCell`:
//! never shared with another thread, never behind a lock), filled by the stages as they run
//! (disk outcome and network figures through `fetch::Watch`, decodes and processors from
//! `worker.rs`, previews from `preview.rs`), and [`TaskRecord::for_caller`], which gives a
//! caller its [`Metrics`] when it is delivered. Must not touch: callers or the in-flight map.

use std::time::{Duration, Instant};

use crate::metrics::{Arrival, DecodeMetrics, DiskOutcome, FailedDecode, Metrics, NetworkMetrics};
use crate::request::Variant;

/// What one job did, kept by the worker running it (never shared, never locked).
#[derive(Debug)]
pub(crate) struct TaskRecord {
    pub(crate) task: u64,
    pub(crate) started: Instant,
    pub(crate) disk: DiskOutcome,
    pub(crate) network: Option<NetworkMetrics>,
    pub(crate) previews: u32,
    pub(crate) preview_time: Duration,
    /// Each variant made (or failed), with its decode and its processors' time.
    pub(crate) made: Vec<Made>,
}

/// One variant a job made or failed to make.
#[derive(Debug)]
pub(crate) struct Made {
    pub(crate) variant: Variant,
    pub(crate) decode: Option<DecodeMetrics>,
    pub(crate) failed: Option<FailedDecode>,
    pub(crate) process: Option<Duration>,
}

impl TaskRecord {
    /// The record of `task`, started now.
    pub(crate) fn new(task: u64) -> TaskRecord {
        TaskRecord {
            task,
            started: Instant::now(),
            disk: DiskOutcome::NotUsed,
            network: None,
            previews: 0,
            preview_time: Duration::ZERO,
            made: Vec::new(),
        }
    }

    /// Records `variant`, made by processors (`process`: their time, `None` if they never
    /// ran) from its decode variant, whose decode figures it shares.
    pub(crate) fn processed(&mut self, variant: &Variant, process: Option<Duration>) {
        let decoded = variant.decoded();
        let base = self.made.iter().find(|m| m.variant == decoded);
        let made = Made {
            variant: variant.clone(),
            decode: base.and_then(|m| m.decode),
            failed: base.and_then(|m| m.failed),
            process,
        };
        self.made.push(made);
    }

    /// The record of one of the task's callers, which arrived as `arrival` and waits for
    /// `variant` (`None`: bytes only), delivered now.
    pub(crate) fn for_caller(&self, arrival: Arrival, variant: Option<&Variant>) -> Metrics {
        let made = variant.and_then(|v| self.made.iter().find(|m| m.variant == *v));
        Metrics {
            task: Some(self.task),
            joined: arrival.joined,
            // The caller's own lookup: a prefetch sharing an image load's task made none.
            memory: arrival.memory,
            disk: self.disk,
            queue_wait: Some(self.started.saturating_duration_since(arrival.at)),
            network: self.network,
            decode: made.and_then(|m| m.decode),
            decode_failed: made.and_then(|m| m.failed),
            process: made.and_then(|m| m.process),
            previews: self.previews,
            preview_time: self.preview_time,
            total: Some(arrival.at.elapsed()),
        }
    }
}
