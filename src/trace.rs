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
    use tracing::field::Empty;
    use tracing::{Span, debug, debug_span};

    use super::*;

    /// The URL as a trace shows it: no userinfo, no query, no fragment (a query often carries a
    /// signature or a token: traces go to log stores the user's credentials must not reach), and
    /// a `data:` URL as its media type and length only.
    pub(crate) fn traced(raw: &str) -> String {
        if let Some(data) = raw.strip_prefix("data:") {
            let media = data.split([',', ';']).next().unwrap_or("");
            return format!("data:{media} ({} bytes)", raw.len());
        }
        let without = crate::url_text::without_userinfo(raw);
        let mut end = without.find(['?', '#']).unwrap_or(without.len());
        end = end.min(crate::url_text::MAX_SHOWN); // a path of a megabyte is not quoted whole
        while !without.is_char_boundary(end) {
            end -= 1;
        }
        without[..end].to_string()
    }

    /// The span of one load, from admission until its completion was called.
    #[derive(Debug, Clone)]
    pub(crate) struct LoadSpan(Span);

    impl LoadSpan {
        /// A load of `raw`, arriving now (a child of the caller's current span).
        pub(crate) fn new(raw: &str) -> LoadSpan {
            LoadSpan(debug_span!(
                "webimage.load",
                url = %traced(raw),
                task = Empty,
                joined = Empty,
                memory = Empty,
                disk = Empty,
                source = Empty,
                status = Empty,
                bytes = Empty,
                decode = Empty,
                decode_ms = Empty,
                queue_ms = Empty,
                total_ms = Empty,
                error = Empty,
            ))
        }

        /// Whether a subscriber wants this span.
        pub(crate) fn is_enabled(&self) -> bool {
            !self.0.is_disabled()
        }

        /// Records how the load ended, and closes the span (when its last clone goes).
        pub(crate) fn finished(self, m: &Metrics, result: Result<Source, &Error>) {
            let span = &self.0;
            if span.is_disabled() {
                return;
            }
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
            }
            if let Some(d) = &m.decode {
                span.record("decode", d.kind.name());
                span.record("decode_ms", ms(d.time));
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
        debug_span!(parent: &parent.0, "webimage.task", task).entered()
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
        pub(crate) fn finished(self, _m: &Metrics, _result: Result<Source, &Error>) {}
    }

    /// Nothing (the `tracing` feature is off).
    #[inline(always)]
    pub(crate) fn task(_task: u64, _parent: &LoadSpan) {}

    #[inline(always)]
    pub(crate) fn fetched(_disk: DiskOutcome, _network: Option<&NetworkMetrics>) {}

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
        assert_eq!(traced("data:image/png;base64,AAAA"), "data:image/png (26 bytes)");
        assert_eq!(traced("/tmp/a.png"), "/tmp/a.png");
    }
}
