//! What a worker does with one job: obtain the bytes, decode each wanted variant, process it,
//! store the results, deliver them.
//!
//! Owns: the loop of one job on a worker thread: marking the task running, the job's
//! [`Watch`] (progress to listeners, the body so far to the job's previewer, which may end
//! it early, see `preview.rs`; stop when abandoned or shutting down), downloading again
//! in full when a caller that needs the whole body joined one cut short, making each variant
//! its callers want once (in the order they asked): decoding each decode variant once and
//! running each processor chain on it (the processing stage, `process/`, inside the decode
//! budget), storing results in the memory cache before the task can leave the map,
//! remembering permanent decode failures, dropping disk entries whose bytes do not decode, and
//! containing a panic anywhere in the job as `Error::Internal`. Must not touch: where bytes
//! come from (`obtain.rs`), how a format is decoded (`decode`), what a processor does
//! (`process`), or callers' closures directly (they go through `deliver.rs`).

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Pipeline;
use super::obtain::{self, Obtained};
use super::preview::{At, Previewer};
use super::record::{Made, TaskRecord};
use crate::cache::memory::EntryKey;
use crate::coalesce::{Control, Decoded, JobSpec};
use crate::decode::color::Outcome;
use crate::decode::{DecodeError, DecodePath};
use crate::error::Error;
use crate::events;
use crate::fetch::{FetchError, Stop, Watch};
use crate::loaded::{Pixels, Source};
use crate::metrics::{DecodeKind, DecodeMetrics, DiskOutcome, FailedDecode, NetworkMetrics};
use crate::process::{self, Chain, ProcessError};
use crate::queue::Job;
use crate::request::{Size, Variant};
use crate::stats::Counters;
use crate::trace;
use crate::url_text;

/// The worker's view of its task while fetching and decoding.
struct JobWatch<'a> {
    shared: &'a Pipeline,
    job: &'a Job,
    control: &'a Control,
    previewer: RefCell<Previewer>,
    /// What this job did, for its callers' records (this worker's alone).
    record: RefCell<TaskRecord>,
}

impl JobWatch<'_> {
    /// The record as it stands, previews brought up to date.
    fn record(&self) -> std::cell::Ref<'_, TaskRecord> {
        let (made, time) = self.previewer.borrow().figures();
        let mut record = self.record.borrow_mut();
        (record.previews, record.preview_time) = (made, time);
        drop(record);
        self.record.borrow()
    }

    /// Tells the event listener, if any, catching a panic in it.
    fn event(&self, f: impl FnOnce(&dyn events::EventListener)) {
        if events::call(self.shared.config.event_listener.as_deref(), f) {
            Counters::bump(&self.shared.counters.callback_panics);
        }
    }
}

impl Watch for JobWatch<'_> {
    fn progress(&self, received: u64, total: Option<u64>) {
        let panics = self.control.report(received, total);
        Counters::add(&self.shared.counters.callback_panics, panics);
    }

    fn should_stop(&self) -> Option<Stop> {
        if self.shared.closing.load(Ordering::SeqCst) {
            return Some(Stop::Shutdown);
        }
        if self.control.is_abandoned() && self.shared.inflight.confirm_abandon(self.job) {
            return Some(Stop::Abandoned);
        }
        None
    }

    fn received(&self, body: &[u8], total: Option<u64>) -> Option<usize> {
        let at = At {
            shared: self.shared,
            job: self.job,
            control: self.control,
        };
        self.previewer.borrow_mut().received(&at, body, total)
    }

    fn cut_short(&self) -> bool {
        self.previewer.borrow().cut_short()
    }

    fn network(&self, mut figures: NetworkMetrics) {
        figures.cut_short = self.cut_short();
        let mut record = self.record.borrow_mut();
        // A second download (after a cut) adds its requests to the first one's.
        figures.requests += record.network.map_or(0, |n| n.requests);
        record.network = Some(figures);
    }

    fn disk(&self, outcome: DiskOutcome) {
        self.record.borrow_mut().disk = outcome;
    }
}

/// Runs one job. A panic anywhere in it (a bug, ours or a library's) fails the task with
/// `Error::Internal` instead of leaving it in the map forever and losing the worker.
pub(super) fn run(shared: &Pipeline, job: Job) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job(shared, &job)));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let error = Error::Internal {
            url: url_text::shown(job.key.key.disk_key()),
            message,
        };
        // Not a permanent error: the URL it would be remembered under does not matter.
        fail(shared, &job, job.key.key.as_str(), error, None);
    }
}

fn run_job(shared: &Pipeline, job: &Job) {
    let Some((spec, control)) = shared.inflight.start(job) else {
        return; // cancelled while queued, or drained at shutdown
    };
    let _span = trace::task(job.task, &spec.span); // entered until the job ends
    let remote = shared.fetchers.cached_on_disk(&spec.url);
    let watch = JobWatch {
        shared,
        job,
        control: &control,
        previewer: RefCell::new(Previewer::new(remote, remote && shared.disk.is_some())),
        record: RefCell::new(TaskRecord::new(job.task)),
    };
    watch.event(|l| l.task_started(job.task, &url_text::shown(&spec.raw)));
    let Some(Obtained {
        mut bytes,
        mut source,
    }) = obtain_or_end(shared, job, &spec, &watch)
    else {
        return;
    };

    // The decodes made for this job, by decode variant: a variant with processors is made
    // from one of these, so different processors on one image share its decode.
    let mut bases: Vec<(Variant, Decoded)> = Vec::new();
    let mut produced = None;
    loop {
        let step = {
            let previewer = watch.previewer.borrow();
            let serves = |v: &Variant| previewer.serves(v);
            let cut_short = previewer
                .cut_short()
                .then_some(&serves as &dyn Fn(&Variant) -> bool);
            shared.inflight.advance(job, produced.take(), cut_short)
        };
        if !(step.fetched.is_empty() && step.ready.is_empty()) {
            let record = watch.record();
            for subscriber in step.fetched {
                shared.deliver_fetched(subscriber, source, &record);
            }
            for (subscriber, result) in step.ready {
                shared.deliver(subscriber, result, source, Some(&record));
            }
        }
        if step.refetch {
            // A caller joined the download cut short that needs the whole body: download again.
            let again = watch.previewer.borrow().again();
            watch.previewer.replace(again);
            let Some(obtained) = obtain_or_end(shared, job, &spec, &watch) else {
                return;
            };
            (bytes, source) = (obtained.bytes, obtained.source);
            bases.clear();
            continue;
        }
        let Some(variant) = step.next else { break };
        let this = Running {
            shared,
            job,
            spec: &spec,
            watch: &watch,
            bytes: &bytes,
            source,
        };
        if let Some(stop) = watch.should_stop() {
            return this.stopped(Some(stop));
        }
        let decoded = variant.decoded();
        let base = match bases.iter().find(|(v, _)| *v == decoded) {
            Some((_, base)) => base.clone(),
            None => {
                let Some(base) = this.decode(&decoded) else {
                    return;
                };
                bases.push((decoded, base.clone()));
                base
            }
        };
        let result = match (&variant.chain, base) {
            (Some(chain), Ok(pixels)) => {
                let started = Instant::now();
                let Some(result) = this.process(chain, &pixels) else {
                    return;
                };
                let took = Some(started.elapsed());
                watch.record.borrow_mut().processed(&variant, took);
                result
            }
            (Some(_), Err(e)) => {
                // Its decode failed: the variant's record names that decode.
                watch.record.borrow_mut().processed(&variant, None);
                Err(e)
            }
            (None, base) => base,
        };
        // Every caller cancelled during the decode: store nothing.
        if watch.should_stop() == Some(Stop::Abandoned) {
            Counters::bump(&shared.counters.jobs_abandoned);
            return;
        }
        // Store before `advance` can take the task out of the map, so a caller arriving in
        // between finds the image in the cache.
        if let Ok(pixels) = &result
            && shared.inflight.store(job).memory()
        {
            let entry = EntryKey::new(job.key.key.clone(), variant.clone());
            shared.memory.insert(entry, pixels.clone());
        }
        produced = Some((variant, result));
    }
}

/// One running job's parts, for the steps of its loop.
struct Running<'a> {
    shared: &'a Pipeline,
    job: &'a Job,
    spec: &'a JobSpec,
    watch: &'a JobWatch<'a>,
    bytes: &'a [u8],
    source: Source,
}

impl Running<'_> {
    /// Decodes one decode variant (no processors) and keeps the failed-URL list and the disk
    /// cache true to the outcome. `None` if the job ended (stopped while waiting for memory).
    fn decode(&self, variant: &Variant) -> Option<Decoded> {
        let (shared, raw) = (self.shared, &self.spec.raw);
        Counters::bump(&shared.counters.decodes);
        let stop = || self.watch.should_stop().is_some();
        let started = Instant::now();
        let decoded = shared
            .decoders
            .decode(self.bytes, variant, &shared.limits, &stop);
        let took = started.elapsed();
        // Stopped while waiting for decode memory: nobody wants it, or the loader is closing.
        if decoded.as_ref().is_err_and(|e| *e == DecodeError::Stopped) {
            self.stopped(self.watch.should_stop());
            return None;
        }
        let result: Decoded = decoded
            .map(|output| {
                count_path(shared, output.path);
                count_color(shared, output.color);
                let image = output.pixels.first();
                let figures = DecodeMetrics {
                    kind: kind(output.path),
                    time: took.saturating_sub(output.budget_wait),
                    budget_wait: output.budget_wait,
                    size: (image.width(), image.height()),
                };
                trace::decoded(&figures);
                self.watch.event(|l| l.decoded(self.job.task, &figures));
                self.made(variant, Some(figures), None);
                output.pixels
            })
            .map_err(|e| {
                if e == DecodeError::Panicked {
                    Counters::bump(&shared.counters.decoder_panics);
                }
                let failed = FailedDecode {
                    time: took,
                    scaled: variant.size != Size::Original,
                };
                self.made(variant, None, Some(failed));
                let error = e.into_error(raw, &shared.limits);
                trace::decode_failed(&failed, &error);
                error
            });
        let key = &self.job.key.key;
        match &result {
            Ok(_) => shared.failed.remove(&key.failed_key(raw)),
            Err(e) if e.is_permanent() => {
                shared.failed.insert(key.failed_key(raw), e.summary());
                // Bytes that pass the checksum but do not decode are the server's; drop them.
                if self.source == Source::Disk
                    && let Some(disk) = &shared.disk
                {
                    disk.remove(key.disk_key());
                }
            }
            Err(_) => {}
        }
        Some(result)
    }

    /// Records the decode of `variant` in the job's record.
    fn made(&self, variant: &Variant, decode: Option<DecodeMetrics>, failed: Option<FailedDecode>) {
        self.watch.record.borrow_mut().made.push(Made {
            variant: variant.clone(),
            decode,
            failed,
            process: None,
        });
    }

    /// Runs `chain` over a decoded image inside the decode budget. A processor's failure is
    /// its variant's alone: never remembered, nothing removed. `None` if the job ended
    /// (stopped while waiting for memory).
    fn process(&self, chain: &Chain, base: &Pixels) -> Option<Decoded> {
        let shared = self.shared;
        Counters::bump(&shared.counters.processed);
        let stop = || self.watch.should_stop().is_some();
        let _reservation = match shared.decoders.reserve(process::peak_bytes(base), &stop) {
            Ok(reservation) => reservation,
            Err(DecodeError::Stopped) => {
                self.stopped(self.watch.should_stop());
                return None;
            }
            Err(e) => return Some(Err(e.into_error(&self.spec.raw, &shared.limits))),
        };
        Some(process::run(chain, base).map_err(|e| {
            if matches!(e, ProcessError::Panicked(_)) {
                Counters::bump(&shared.counters.processor_panics);
            }
            e.into_error()
        }))
    }

    /// Ends a job that stopped: abandoned by every caller, the loader closing, or (`None`)
    /// a wait for memory that gave up while the task was still wanted.
    fn stopped(&self, stop: Option<Stop>) {
        let (shared, raw) = (self.shared, &self.spec.raw);
        let url = url_text::shown(raw);
        match stop {
            Some(Stop::Abandoned) => Counters::bump(&shared.counters.jobs_abandoned),
            Some(Stop::Shutdown) => {
                let record = self.watch.record();
                fail(
                    shared,
                    self.job,
                    raw,
                    Error::Shutdown { url },
                    Some(&record),
                )
            }
            None => {
                let message = "the decode stopped while the task was still wanted".into();
                let record = self.watch.record();
                fail(
                    shared,
                    self.job,
                    raw,
                    Error::Internal { url, message },
                    Some(&record),
                )
            }
        }
    }
}

/// Obtains the job's bytes; `None` when the job ended instead (abandoned, or failed and its
/// callers told).
fn obtain_or_end(
    shared: &Pipeline,
    job: &Job,
    spec: &JobSpec,
    watch: &JobWatch<'_>,
) -> Option<Obtained> {
    match obtain::obtain(shared, job, spec, watch) {
        Ok(obtained) => {
            let record = watch.record.borrow();
            trace::fetched(record.disk, record.network.as_ref());
            watch.event(|l| l.fetched(job.task, record.disk, record.network.as_ref()));
            Some(obtained)
        }
        Err(FetchError::Stopped(Stop::Abandoned)) => {
            Counters::bump(&shared.counters.jobs_abandoned);
            None
        }
        Err(FetchError::Stopped(Stop::Shutdown)) => {
            let error = Error::Shutdown {
                url: url_text::shown(&spec.raw),
            };
            fail(shared, job, &spec.raw, error, Some(&watch.record()));
            None
        }
        Err(FetchError::Failed(error)) => {
            trace::fetch_failed(watch.record.borrow().network.as_ref(), &error);
            fail(shared, job, &spec.raw, error, Some(&watch.record()));
            None
        }
    }
}

/// Counts which path made a scaled image.
fn count_path(shared: &Pipeline, path: DecodePath) {
    let c = &shared.counters;
    let counter = match path {
        DecodePath::Original => return,
        DecodePath::FullDecode => &c.thumbnails_full_decode,
        DecodePath::DctScaled => &c.thumbnails_dct_scaled,
        DecodePath::DcOnly => &c.thumbnails_dc_only,
        DecodePath::ExifThumbnail => &c.thumbnails_exif,
        DecodePath::YuvReduced => &c.thumbnails_webp_reduced,
    };
    Counters::bump(counter);
}

/// The public name of a decode path.
fn kind(path: DecodePath) -> DecodeKind {
    match path {
        DecodePath::Original => DecodeKind::Original,
        DecodePath::FullDecode => DecodeKind::FullDecode,
        DecodePath::DctScaled => DecodeKind::DctScaled,
        DecodePath::DcOnly => DecodeKind::DcOnly,
        DecodePath::ExifThumbnail => DecodeKind::ExifThumbnail,
        DecodePath::YuvReduced => DecodeKind::WebpReduced,
    }
}

/// Counts what colour management did to a decode.
fn count_color(shared: &Pipeline, outcome: Outcome) {
    let c = &shared.counters;
    match outcome {
        Outcome::None => {}
        Outcome::Applied => Counters::bump(&c.color_profiles_applied),
        Outcome::Ignored => Counters::bump(&c.color_profiles_ignored),
    }
}

/// The whole task failed: every caller gets `error`; permanent failures are remembered first,
/// under `raw`, the URL that was fetched.
fn fail(shared: &Pipeline, job: &Job, raw: &str, error: Error, record: Option<&TaskRecord>) {
    let subscribers = shared.inflight.fail(job, || {
        if error.is_permanent() {
            shared
                .failed
                .insert(job.key.key.failed_key(raw), error.summary());
        }
    });
    for subscriber in subscribers {
        shared.deliver(subscriber, Err(error.clone()), Source::Network, record);
    }
}
