//! `tracing` spans and events for loads, behind the `tracing` feature.
//!
//! Owns: what a service's traces see of webimage: one `webimage.load` span per load (opened
//! on the caller's thread when the load is admitted, so it sits under the caller's current
//! span; its fields recorded from the load's [`Metrics`] when it finishes), one
//! `webimage.task` span per task (a child of the load that started it, entered by the worker
//! while it runs the job), and one event per stage inside it (`fetched`, `decoded`,
//! `decode failed`), all at `DEBUG` level (a gallery makes thousands of loads: a service
//! turns them on with `webimage=debug`). Also the URL as traces show it (`on::traced`). Must
//! not touch: the pipeline's state; it is handed figures already measured. The library
//! installs no subscriber.
//!
//! Without the feature, the same names are empty inline functions and a zero-sized
//! [`LoadSpan`]: no `tracing` code is compiled and the hot paths do nothing more.

use crate::error::Error;
use crate::loaded::Source;
use crate::metrics::{DecodeMetrics, DiskOutcome, FailedDecode, Metrics, NetworkMetrics};

#[cfg(feature = "tracing")]
pub(crate) use on::*;

#[cfg(not(feature = "tracing"))]
pub(crate) use off::*;

#[cfg(feature = "tracing")]
mod on {
    use std::sync::Arc;

    use tracing::field::Empty;
    use tracing::{Span, debug, debug_span};

    use super::*;

    /// The URL as a trace shows it: scheme, host, port and path, without userinfo, query or
    /// fragment (a query often carries a signature or a token, and traces go to log stores
    /// the user's credentials must not reach), cut to `MAX_SHOWN` bytes; a `data:` URL as its
    /// media type (at most 64 bytes of it) and length only.
    pub(crate) fn traced(raw: &str) -> String {
        if let Some(data) = raw.strip_prefix("data:") {
            let media = data.split([',', ';']).next().unwrap_or("");
            return format!("data:{} ({} bytes)", cut(media, 64), raw.len());
        }
        let without = crate::url_text::without_userinfo(raw);
        let end = without.find(['?', '#']).unwrap_or(without.len());
        cut(&without[..end], crate::url_text::MAX_SHOWN).to_string()
    }

    /// `text`'s first `max` bytes at most, cut at a character boundary.
    fn cut(text: &str, max: usize) -> &str {
        let mut end = text.len().min(max);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }

    /// The span of one load, from admission until its completion was called; `None` when no
    /// subscriber wants it. Shared, not cloned: a `Span` is five words and every waiting
    /// caller holds one (up to `max_pending` of them), a shared one is one word, and its
    /// clones need not go through the subscriber.
    #[derive(Debug, Clone)]
    pub(crate) struct LoadSpan(Option<Arc<Span>>);

    impl LoadSpan {
        /// A load of `raw`, arriving now (a child of the caller's current span). With no
        /// subscriber at `DEBUG` this is one atomic load (the memory-hit path makes one per
        /// hit): the span's callsite is not even looked at.
        #[inline]
        pub(crate) fn new(raw: &str) -> LoadSpan {
            if !tracing::level_enabled!(tracing::Level::DEBUG) {
                return LoadSpan(None);
            }
            LoadSpan::open(raw)
        }

        /// [`new`](Self::new) once a subscriber may want the span.
        #[cold]
        fn open(raw: &str) -> LoadSpan {
            let span = debug_span!(
                "webimage.load",
                url = %traced(raw),
                task = Empty,
                joined = Empty,
                memory = Empty,
                disk = Empty,
                source = Empty,
                status = Empty,
                bytes = Empty,
                redirects = Empty,
                first_byte_ms = Empty,
                body_ms = Empty,
                decode = Empty,
                decode_ms = Empty,
                budget_wait_ms = Empty,
                process_ms = Empty,
                previews = Empty,
                queue_ms = Empty,
                total_ms = Empty,
                error = Empty,
            );
            LoadSpan((!span.is_disabled()).then(|| Arc::new(span)))
        }

        /// Whether a subscriber wants this span.
        pub(crate) fn is_enabled(&self) -> bool {
            self.0.is_some()
        }

        /// Enters the span until the guard goes (around the listener and the completion, so
        /// what an app logs there sits under its load).
        pub(crate) fn enter(&self) -> Option<tracing::span::Entered<'_>> {
            self.0.as_deref().map(Span::enter)
        }

        /// Records how the load ended: its record's figures and its source or error. The
        /// span closes when its last clone goes (the caller's, and for the load that started
        /// a task, the task's).
        pub(crate) fn finished(&self, m: &Metrics, result: Result<Source, &Error>) {
            let Some(span) = &self.0 else {
                return;
            };
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            if let Some(task) = m.task {
                span.record("task", task);
            }
            span.record("joined", m.joined);
            span.record("memory", tracing::field::debug(m.memory));
            span.record("disk", tracing::field::debug(m.disk));
            if let Some(net) = &m.network {
                if let Some(status) = net.status {
                    span.record("status", status);
                }
                span.record("bytes", net.bytes);
                span.record("redirects", net.redirects);
                span.record("first_byte_ms", ms(net.first_byte));
                span.record("body_ms", ms(net.body));
            }
            if let Some(d) = &m.decode {
                span.record("decode", d.kind.name());
                span.record("decode_ms", ms(d.time));
                span.record("budget_wait_ms", ms(d.budget_wait));
            }
            if let Some(p) = m.process {
                span.record("process_ms", ms(p));
            }
            if m.previews > 0 {
                span.record("previews", m.previews);
            }
            if let Some(q) = m.queue_wait {
                span.record("queue_ms", ms(q));
            }
            if let Some(t) = m.total {
                span.record("total_ms", ms(t));
            }
            match result {
                Ok(source) => span.record("source", tracing::field::debug(source)),
                // The summary names no URL (an error's message would quote it whole).
                Err(e) => span.record("error", e.summary()),
            };
        }
    }

    /// The span of `task`, entered by its worker: a child of the load that started it.
    pub(crate) fn task(task: u64, parent: &LoadSpan) -> tracing::span::EnteredSpan {
        match &parent.0 {
            Some(load) => debug_span!(parent: &**load, "webimage.task", task).entered(),
            None => debug_span!(parent: None, "webimage.task", task).entered(),
        }
    }

    /// The task has its bytes.
    pub(crate) fn fetched(disk: DiskOutcome, network: Option<&NetworkMetrics>) {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        match network {
            Some(n) => debug!(
                ?disk,
                status = n.status,
                bytes = n.bytes,
                dns_ms = n.dns.map(ms),
                connect_ms = n.connect.map(ms),
                tls_ms = n.tls.map(ms),
                first_byte_ms = ms(n.first_byte),
                body_ms = ms(n.body),
                redirects = n.redirects,
                "fetched"
            ),
            None => debug!(?disk, "fetched"),
        }
    }

    /// The task decoded one variant.
    pub(crate) fn decoded(d: &DecodeMetrics) {
        debug!(
            path = d.kind.name(),
            ms = d.time.as_secs_f64() * 1e3,
            budget_wait_ms = d.budget_wait.as_secs_f64() * 1e3,
            width = d.size.0,
            height = d.size.1,
            "decoded"
        );
    }

    /// The task's fetch failed (its callers are told `error`).
    pub(crate) fn fetch_failed(network: Option<&NetworkMetrics>, error: &Error) {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let failed_after = network.and_then(|n| n.failed_after).map(ms);
        debug!(failed_after_ms = failed_after, error = %error.summary(), "fetch failed");
    }

    /// A decode of the task failed.
    pub(crate) fn decode_failed(f: &FailedDecode, error: &Error) {
        debug!(
            ms = f.time.as_secs_f64() * 1e3,
            scaled = f.scaled,
            error = %error.summary(),
            "decode failed"
        );
    }
}

#[cfg(not(feature = "tracing"))]
mod off {
    use super::*;

    /// Nothing (the `tracing` feature is off).
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct LoadSpan;

    /// Nothing entered (the `tracing` feature is off).
    pub(crate) struct Entered;

    impl LoadSpan {
        #[inline(always)]
        pub(crate) fn new(_raw: &str) -> LoadSpan {
            LoadSpan
        }

        #[inline(always)]
        pub(crate) fn is_enabled(&self) -> bool {
            false
        }

        #[inline(always)]
        pub(crate) fn enter(&self) -> Entered {
            Entered
        }

        #[inline(always)]
        pub(crate) fn finished(&self, _m: &Metrics, _result: Result<Source, &Error>) {}
    }

    /// Nothing (the `tracing` feature is off).
    #[inline(always)]
    pub(crate) fn task(_task: u64, _parent: &LoadSpan) {}

    #[inline(always)]
    pub(crate) fn fetched(_disk: DiskOutcome, _network: Option<&NetworkMetrics>) {}

    #[inline(always)]
    pub(crate) fn fetch_failed(_network: Option<&NetworkMetrics>, _error: &Error) {}

    #[inline(always)]
    pub(crate) fn decoded(_d: &DecodeMetrics) {}

    #[inline(always)]
    pub(crate) fn decode_failed(_f: &FailedDecode, _error: &Error) {}
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::on::traced;

    #[test]
    fn traces_show_no_credentials_nor_queries() {
        assert_eq!(
            traced("https://alice:pw@h.example/a/b.jpg?sig=SECRET#x"),
            "https://h.example/a/b.jpg"
        );
        assert_eq!(traced("http://h/a.png#frag"), "http://h/a.png");
        assert_eq!(
            traced("data:image/png;base64,AAAA"),
            "data:image/png (26 bytes)"
        );
        assert_eq!(traced("/tmp/a.png"), "/tmp/a.png");
        // The parser's own reading of userinfo: no slashes, backslashes, tabs.
        assert_eq!(traced("http:alice:pw@h/x?t=1"), "http:h/x");
        assert_eq!(traced("http:\\\\bob:pw@h/x"), "http:\\\\h/x");
        assert_eq!(traced("http://al\tice:pw@h/x"), "http://h/x");
        let long = format!("data:{};base64,AAAA", "x".repeat(5000));
        assert_eq!(
            traced(&long),
            format!("data:{} ({} bytes)", "x".repeat(64), long.len())
        );
        let path = format!("http://h/{}", "é".repeat(2000));
        assert!(traced(&path).len() <= crate::url_text::MAX_SHOWN);
    }
}
