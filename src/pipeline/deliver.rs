//! Delivering results: calling completion closures, exactly once, with panics contained.
//!
//! Owns: turning a task's result into what a caller gets (a [`LoadedImage`] with its source
//! and its [`Metrics`], or an error naming the caller's own URL, with its record beside it),
//! calling the `EventListener`'s `finished` just before the completion, the counts of failures, cancels and panicking
//! closures, retiring a caller's progress/preview listener before its completion (a preview
//! handed to a late joiner may be running on its thread), and failing callers at shutdown. Must not touch: the in-flight map (callers
//! arrive here already taken out of it, which is what makes delivery exactly once) or any
//! lock: user code runs here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::record::TaskRecord;
use super::{BytesCallback, Pipeline};
use crate::coalesce::{Callback, Decoded, Subscriber};
use crate::error::Error;
use crate::events;
use crate::loaded::{LoadedImage, Pixels, Recorded, Source};
use crate::metrics::{self, MemoryLookup, Metrics};
use crate::stats::Counters;
use crate::trace::LoadSpan;
use crate::url_text;

impl Pipeline {
    /// Fails callers with `Err(Shutdown)`.
    pub(super) fn shut_down_callers(&self, subscribers: Vec<Subscriber>) {
        for subscriber in subscribers {
            let url = url_text::shown(&subscriber.url);
            self.deliver(
                subscriber,
                Err(Error::Shutdown { url }),
                Source::Network,
                None,
            );
        }
    }

    /// Calls a waiting caller's closure with its result (a bytes-only caller gets the source),
    /// after retiring its listener: no progress or preview call runs or starts after this.
    /// `record` is the task's, if one ran for this caller (its [`Metrics`] are made from it).
    pub(super) fn deliver(
        &self,
        subscriber: Subscriber,
        result: Decoded,
        source: Source,
        record: Option<&TaskRecord>,
    ) {
        if let Some(listener) = &subscriber.listener {
            listener.retire();
        }
        match subscriber.callback {
            Callback::Image(variant, f) => {
                let metrics = match record {
                    Some(record) => record.for_caller(subscriber.arrival, Some(&variant)),
                    None if source == Source::Memory && result.is_ok() => {
                        metrics::answered(subscriber.arrival, MemoryLookup::Hit)
                    }
                    None => metrics::answered(subscriber.arrival, subscriber.arrival.memory),
                };
                let metrics = Recorded::made(metrics);
                self.complete(f, subscriber.url, result, source, metrics, subscriber.span)
            }
            Callback::Bytes(f) => {
                let arrival = subscriber.arrival;
                let metrics = || match record {
                    Some(record) => record.for_caller(arrival, None),
                    None => metrics::answered(arrival, arrival.memory),
                };
                let span = subscriber.span;
                self.complete_fetch(f, &subscriber.url, result.map(|_| source), metrics, span)
            }
        }
    }

    /// Completes a caller whose task has its bytes: a bytes-only caller succeeds; an image
    /// caller is never handed here (it waits for its decode), and would get an error.
    pub(super) fn deliver_fetched(
        &self,
        subscriber: Subscriber,
        source: Source,
        record: &TaskRecord,
    ) {
        if let Some(listener) = &subscriber.listener {
            listener.retire();
        }
        match subscriber.callback {
            Callback::Bytes(f) => {
                let metrics = || record.for_caller(subscriber.arrival, None);
                self.complete_fetch(f, &subscriber.url, Ok(source), metrics, subscriber.span)
            }
            Callback::Image(variant, f) => {
                let url = url_text::shown(&subscriber.url);
                let error = Error::Internal {
                    url,
                    message: "no decode was scheduled".into(),
                };
                let metrics = record.for_caller(subscriber.arrival, Some(&variant));
                let metrics = Recorded::made(metrics);
                self.complete(
                    f,
                    subscriber.url,
                    Err(error),
                    source,
                    metrics,
                    subscriber.span,
                )
            }
        }
    }

    /// Calls a bytes-only caller's closure, after the event listener's `prefetched` (with the
    /// record `metrics` makes: only made when a listener is set). Bytes-only callers are
    /// prefetches: they have their own counts, not `Stats`'s.
    pub(super) fn complete_fetch(
        &self,
        completion: BytesCallback,
        url: &str,
        result: Result<Source, Error>,
        metrics: impl FnOnce() -> Metrics,
        span: LoadSpan,
    ) {
        let result = result.map_err(|e| e.with_url(url));
        let listener = self.config.event_listener.as_deref();
        let _inside = span.enter();
        if listener.is_some() || span.is_enabled() {
            let metrics = metrics();
            span.finished(&metrics, result.as_ref().copied());
            if let Some(listener) = listener {
                let (shown, result) = (url_text::shown(url), result.as_ref().copied());
                if events::call(Some(listener), |l| l.prefetched(&shown, &metrics, result)) {
                    Counters::bump(&self.counters.callback_panics);
                }
            }
        }
        if catch_unwind(AssertUnwindSafe(move || completion(result))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }

    /// Completes a memory hit on the caller's thread: [`complete`](Self::complete) with the
    /// constant record, in the fewest steps when nobody watches (no event listener, no
    /// subscriber for the load's span): the image is made in place and the closure called
    /// (the telemetry's bound on this path is 2% of its instructions; see PERFORMANCE.md).
    #[inline]
    pub(super) fn complete_hit<F>(&self, completion: F, url: Arc<str>, pixels: Pixels)
    where
        F: FnOnce(Result<LoadedImage, Error>, &Metrics),
    {
        let span = LoadSpan::new(&url);
        if self.config.event_listener.is_some() || span.is_enabled() {
            let hit = Recorded::CONSTANT;
            return self.complete(completion, url, Ok(pixels), Source::Memory, hit, span);
        }
        let image = LoadedImage::new(pixels, Source::Memory, url, Recorded::CONSTANT);
        let hit = &Metrics::MEMORY_HIT;
        if catch_unwind(AssertUnwindSafe(move || completion(Ok(image), hit))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }

    /// Calls a completion closure with its result and record, about `url`, after the
    /// event listener's `finished`. A panic in either is caught and counted, so the worker
    /// and every other caller carry on.
    pub(super) fn complete<F>(
        &self,
        completion: F,
        url: Arc<str>,
        result: Decoded,
        source: Source,
        metrics: Recorded,
        span: LoadSpan,
    ) where
        F: FnOnce(Result<LoadedImage, Error>, &Metrics),
    {
        match &result {
            Err(Error::Cancelled { .. }) => Counters::bump(&self.counters.cancelled),
            Err(_) => Counters::bump(&self.counters.failures),
            Ok(_) => {}
        }
        let listener = self.config.event_listener.as_deref();
        // The listener sees the URL as errors show it (userinfo redacted).
        let shown = listener.map(|_| url_text::shown(&url));
        let result = match result {
            Ok(pixels) => Ok(LoadedImage::new(pixels, source, url, metrics.clone())),
            Err(e) => Err(e.with_url(&url)),
        };
        span.finished(metrics.get(source), result.as_ref().map(|_| source));
        // The listener and the completion run inside the load's span: what the app logs
        // there sits under its load. A guard, not a closure: a closure would move the result
        // once more on the memory-hit path.
        let _inside = span.enter();
        if let Some(url) = shown {
            let panicked = events::call(listener, |l| {
                l.finished(&url, metrics.get(source), result.as_ref())
            });
            if panicked {
                Counters::bump(&self.counters.callback_panics);
            }
        }
        if catch_unwind(AssertUnwindSafe(move || {
            completion(result, metrics.get(source))
        }))
        .is_err()
        {
            Counters::bump(&self.counters.callback_panics);
        }
    }
}
