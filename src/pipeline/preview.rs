//! Previews and early stops while a progressive JPEG downloads, on the worker that downloads
//! it.
//!
//! Owns: the [`Previewer`] of one download: after each read of the body it follows the scans
//! that have arrived (`decode::preview`), and once every DC scan is there it either ends the
//! download (every caller's final image needs the DC scans alone, and nobody needs the whole
//! body: no disk cache, no disk wish, or `Request::partial_download`) or decodes a preview,
//! throttled, and publishes it to the callers' listeners. Must not touch: the read loop
//! (`fetch`), where bodies are stored (`obtain.rs` asks [`Previewer::cut_short`]), or calling
//! closures directly (the listeners do, with their ordering and exactly-once rules).
//!
//! Throttle: the preview decode runs on this worker between two reads, so at most one runs per
//! download by construction (a read waits for it; the socket buffers what arrives meanwhile);
//! a preview is made at a stage not shown yet, at least [`MIN_INTERVAL`] after the previous
//! preview decode of the download. There is one stage today: every component's first DC scan
//! complete. At 1/8, later scans add nothing but the DC refinement bit, and sharper previews
//! for larger views would need the 1/4 or 1/2 progressive decode of the whole prefix each
//! time (see docs/PERFORMANCE.md for the measurement). A preview never waits for decode
//! memory: with the budget full it is tried again at the next read.

use std::time::{Duration, Instant};

use super::Pipeline;
use crate::coalesce::Control;
use crate::decode::DecodeError;
use crate::decode::preview::{BodyWatch, Previews, Seen};
use crate::queue::Job;
use crate::request::Variant;
use crate::stats::Counters;

/// The least time between two preview decodes of one download (Nuke's default).
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// What one download shows while it runs.
pub(super) struct Previewer {
    /// Whether to follow the body at all: a remote download (local files and `data:` URLs
    /// are at hand at once).
    on: bool,
    /// Whether the body would be written to the disk cache.
    disk: bool,
    /// Whether this download may be cut short (not a download again after a cut).
    may_cut: bool,
    body: BodyWatch,
    /// Stages previewed so far.
    shown: u32,
    /// When the last preview decode ended.
    last: Option<Instant>,
    /// The sequence number of the last previews published.
    seq: u64,
    /// A preview decode failed: no more previews of this body.
    failed: bool,
    /// The body was cut short.
    cut: bool,
    /// Nothing more to look at in this body.
    done: bool,
    /// Previews published for this task (over both downloads), and the time they took.
    made: u32,
    time: Duration,
}

/// The job a previewer works for.
pub(super) struct At<'a> {
    pub(super) shared: &'a Pipeline,
    pub(super) job: &'a Job,
    pub(super) control: &'a Control,
}

impl Previewer {
    /// The previewer of a first download.
    pub(super) fn new(remote: bool, disk: bool) -> Self {
        Previewer {
            on: remote,
            disk,
            may_cut: true,
            body: BodyWatch::default(),
            shown: 0,
            last: None,
            seq: 0,
            failed: false,
            cut: false,
            done: false,
            made: 0,
            time: Duration::ZERO,
        }
    }

    /// The previewer of a download of the whole body after this one was cut short: it may
    /// preview again (in sequence after these previews) but never cuts.
    pub(super) fn again(&self) -> Self {
        Previewer {
            may_cut: false,
            last: self.last,
            seq: self.seq,
            made: self.made,
            time: self.time,
            ..Previewer::new(self.on, self.disk)
        }
    }

    /// Previews published so far for the task, and the time spent making them.
    pub(super) fn figures(&self) -> (u32, Duration) {
        (self.made, self.time)
    }

    /// Whether the body was cut short.
    pub(super) fn cut_short(&self) -> bool {
        self.cut
    }

    /// Whether the body, cut short, gives `variant` its final image.
    pub(super) fn serves(&self, variant: &Variant) -> bool {
        self.body.header().is_some_and(|h| h.dc_only(variant.size))
    }

    /// Looks at the body so far; `Some(n)` ends it at `n` bytes.
    pub(super) fn received(
        &mut self,
        at: &At<'_>,
        body: &[u8],
        total: Option<u64>,
    ) -> Option<usize> {
        if !self.on || self.done {
            return None;
        }
        let cut = match self.body.update(body) {
            Seen::Waiting => return None,
            Seen::Never => {
                self.done = true;
                return None;
            }
            Seen::Dc { cut } => cut,
        };
        if total == Some(body.len() as u64) {
            // All here: the final decode comes next.
            self.done = true;
            return None;
        }
        let header = self.body.header()?;
        if self.may_cut
            && at
                .shared
                .inflight
                .may_cut_short(at.job, &|v| header.dc_only(v.size), self.disk)
        {
            Counters::bump(&at.shared.counters.downloads_stopped_early);
            self.cut = true;
            self.done = true;
            return Some(cut);
        }
        let due = self.last.is_none_or(|t| t.elapsed() >= MIN_INTERVAL);
        if self.shown == 0 && !self.failed && due {
            self.preview(at, &body[..cut]);
        }
        None
    }

    /// Decodes the preview base from `prefix` and publishes it to every caller that wants a
    /// preview. Nobody wanting one yet, or no decode memory free now: tried at the next read.
    fn preview(&mut self, at: &At<'_>, prefix: &[u8]) {
        let Some(header) = self.body.header() else {
            return;
        };
        let variants = at.control.listeners().preview_sizes();
        if variants.is_empty() {
            return;
        }
        let shared = at.shared;
        let started = Instant::now();
        // `stop` is asked only while waiting for memory: never wait.
        let decoded = shared.decoders.decode(
            prefix,
            &header.base_variant(&shared.config.color),
            &shared.limits,
            &|| true,
        );
        let base = match decoded {
            Ok(output) => output.pixels.first().clone(),
            Err(DecodeError::Stopped) => return,
            Err(e) => {
                if e == DecodeError::Panicked {
                    Counters::bump(&shared.counters.decoder_panics);
                }
                self.failed = true;
                return;
            }
        };
        Counters::bump(&shared.counters.previews);
        self.seq += 1;
        self.shown += 1;
        let mut previews = Previews::new(self.seq, base, header);
        for variant in variants {
            // A size that fails to resize is made (and fails) again per caller: no preview.
            let _ = previews.add(variant);
        }
        let (_, panics) = at.control.listeners().publish(previews);
        Counters::add(&shared.counters.callback_panics, panics);
        let now = Instant::now();
        self.last = Some(now);
        self.made += 1;
        self.time += now - started;
    }
}
