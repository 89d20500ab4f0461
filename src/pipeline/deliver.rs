//! Delivering results: calling completion closures, exactly once, with panics contained.
//!
//! Owns: turning a task's result into what a caller gets (a [`LoadedImage`] with its source,
//! or an error naming the caller's own URL), the counts of failures, cancels and panicking
//! closures, retiring a caller's progress/preview listener before its completion (a preview
//! handed to a late joiner may be running on its thread), and failing callers at shutdown. Must not touch: the in-flight map (callers
//! arrive here already taken out of it, which is what makes delivery exactly once) or any
//! lock: user code runs here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::{BytesCallback, Pipeline};
use crate::coalesce::{Callback, Decoded, Subscriber};
use crate::error::Error;
use crate::loaded::{LoadedImage, Source};
use crate::stats::Counters;
use crate::url_text;

impl Pipeline {
    /// Fails callers with `Err(Shutdown)`.
    pub(super) fn shut_down_callers(&self, subscribers: Vec<Subscriber>) {
        for subscriber in subscribers {
            let url = url_text::shown(&subscriber.url);
            self.deliver(subscriber, Err(Error::Shutdown { url }), Source::Network);
        }
    }

    /// Calls a waiting caller's closure with its result (a bytes-only caller gets the source),
    /// after retiring its listener: no progress or preview call runs or starts after this.
    pub(super) fn deliver(&self, subscriber: Subscriber, result: Decoded, source: Source) {
        if let Some(listener) = &subscriber.listener {
            listener.retire();
        }
        match subscriber.callback {
            Callback::Image(_, f) => self.complete(f, subscriber.url, result, source),
            Callback::Bytes(f) => self.complete_fetch(f, &subscriber.url, result.map(|_| source)),
        }
    }

    /// Completes a caller whose task has its bytes: a bytes-only caller succeeds; an image
    /// caller is never handed here (it waits for its decode), and would get an error.
    pub(super) fn deliver_fetched(&self, subscriber: Subscriber, source: Source) {
        if let Some(listener) = &subscriber.listener {
            listener.retire();
        }
        match subscriber.callback {
            Callback::Bytes(f) => self.complete_fetch(f, &subscriber.url, Ok(source)),
            Callback::Image(_, f) => {
                let url = url_text::shown(&subscriber.url);
                let error = Error::Internal {
                    url,
                    message: "no decode was scheduled".into(),
                };
                self.complete(f, subscriber.url, Err(error), source)
            }
        }
    }

    /// Calls a bytes-only caller's closure. Bytes-only callers are prefetches: they have their
    /// own counts, not `Stats`'s.
    pub(super) fn complete_fetch(
        &self,
        completion: BytesCallback,
        url: &str,
        result: Result<Source, Error>,
    ) {
        let result = result.map_err(|e| e.with_url(url));
        if catch_unwind(AssertUnwindSafe(move || completion(result))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }

    /// Calls a completion closure with its result, about `url`. A panic in the closure is
    /// caught and counted, so the worker and every other caller carry on.
    pub(super) fn complete<F>(&self, completion: F, url: Arc<str>, result: Decoded, source: Source)
    where
        F: FnOnce(Result<LoadedImage, Error>),
    {
        match &result {
            Err(Error::Cancelled { .. }) => Counters::bump(&self.counters.cancelled),
            Err(_) => Counters::bump(&self.counters.failures),
            Ok(_) => {}
        }
        let result = match result {
            Ok(pixels) => Ok(LoadedImage::new(pixels, source, url)),
            Err(e) => Err(e.with_url(&url)),
        };
        if catch_unwind(AssertUnwindSafe(move || completion(result))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }
}
