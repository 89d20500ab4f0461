//! Getting the bytes of an image, one file per URL scheme behind one trait.
//!
//! Owns: the [`SchemeFetcher`] trait, the registry of fetchers by scheme ([`Fetchers`]), and
//! the types every fetch shares: what to fetch ([`Target`]), what came back ([`Fetched`]), why
//! it stopped ([`FetchError`], [`Stop`]), and the job's side of a fetch ([`Watch`]). The
//! schemes: `http.rs` (`http` and `https` through the loader's one `ureq::Agent`), `file.rs`
//! (`file://` URLs and absolute paths), `data.rs` (`data:` URLs); `body.rs` streams a body
//! under the size limit; `resolve.rs` resolves host names on the calling thread. Must not
//! touch: decoding, caches or the in-flight map; a fetch asks its [`Watch`] whether to go on
//! and reports progress to it.
//!
//! A new scheme is a new file with a [`SchemeFetcher`] and one line in [`Fetchers::new`]; the
//! registry is also where a scheme policy (which schemes a loader may fetch) applies.

mod address;
mod body;
mod data;
mod file;
mod http;
mod resolve;
pub(crate) mod tls;

pub(crate) use body::BodyLimits;
pub(crate) use http::map_error;
pub(crate) use resolve::agent;
pub(crate) use tls::{tls_error, ureq_tls};

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use url::Url;

use crate::Error;
use crate::config::Config;
use crate::headers::Header;
use crate::metrics::{DiskOutcome, NetworkMetrics};
use crate::stats::Counters;
use crate::url_text;

/// Why a fetch stopped before finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Every caller cancelled; nobody wants the result.
    Abandoned,
    /// The loader is shutting down.
    Shutdown,
}

/// How a fetch ended without bytes.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// Stopped on purpose; see [`Stop`].
    Stopped(Stop),
    /// Failed; the error goes to the callers.
    Failed(Error),
}

impl From<Error> for FetchError {
    fn from(e: Error) -> Self {
        FetchError::Failed(e)
    }
}

/// The job's side of a fetch: where progress goes and whether to stop.
pub(crate) trait Watch {
    /// Bytes received so far, and the total if known.
    fn progress(&self, received: u64, total: Option<u64>);
    /// Checked before the request and between reads.
    fn should_stop(&self) -> Option<Stop>;
    /// Called after each read of a streamed body with the bytes so far. `Some(n)` ends the
    /// body at its first `n` bytes (`n <= body.len()`): the job has all it needs, the rest is
    /// not read and the connection is closed. Default: read to the end.
    fn received(&self, body: &[u8], total: Option<u64>) -> Option<usize> {
        let _ = (body, total);
        None
    }
    /// Whether [`received`](Self::received) ended the last body early (then it must not be
    /// stored as a whole response).
    fn cut_short(&self) -> bool {
        false
    }
    /// The figures of a fetch, once it ended (a body, a `304`, or a failure with what was
    /// measured before it), for the job's [`Metrics`](crate::Metrics). Default: ignored.
    fn network(&self, figures: NetworkMetrics) {
        let _ = figures;
    }
    /// What the disk cache did for the job. Default: ignored.
    fn disk(&self, outcome: DiskOutcome) {
        let _ = outcome;
    }
}

/// What to fetch.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    /// The parsed URL.
    pub(crate) url: &'a Url,
    /// The URL as the caller wrote it (for error messages).
    pub(crate) raw: &'a str,
    /// Headers of the request that started the job (the userinfo's `Authorization` among
    /// them; the URL itself has none).
    pub(crate) headers: &'a [Header],
    /// Validators of a cached copy (`If-None-Match`, `If-Modified-Since`); when present, a
    /// `304` answer is [`Fetched::NotModified`].
    pub(crate) conditional: &'a [(String, String)],
}

/// The HTTP response a body came with, for the disk cache.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: ureq::http::HeaderMap,
    pub(crate) received_at: SystemTime,
    /// The request headers sent to the final hop (for `Vary`), without the conditional ones.
    pub(crate) sent: Vec<Header>,
}

/// What a fetch produced.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The whole body, and over HTTP the response it came with.
    Body(Vec<u8>, Option<HttpResponse>),
    /// The server confirmed the cached copy (`304 Not Modified` to a conditional request).
    NotModified(HttpResponse),
}

/// Fetches the bytes of one URL scheme.
pub(crate) trait SchemeFetcher: Send + Sync {
    /// Fetches the whole body of `target`, reading it through `body` (which enforces the size
    /// limit, reports progress and stops when the job is abandoned).
    fn fetch(&self, target: &Target<'_>, body: &BodyLimits<'_>) -> Result<Fetched, FetchError>;

    /// Whether what this scheme fetches is kept in the disk cache. Remote resources are; local
    /// files and `data:` URLs are already at hand.
    fn cached_on_disk(&self) -> bool {
        false
    }
}

/// The fetchers of one loader, by scheme.
pub(crate) struct Fetchers {
    http: Arc<http::Http>,
    schemes: Vec<(String, Arc<dyn SchemeFetcher>)>,
    max_bytes: u64,
}

impl Fetchers {
    /// The built-in schemes: `http`, `https`, `file`, `data`.
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let http = Arc::new(http::Http::new(config)?);
        let mut fetchers = Fetchers {
            http: http.clone(),
            schemes: Vec::new(),
            max_bytes: config.max_download_bytes,
        };
        fetchers.register("http", http.clone());
        fetchers.register("https", http);
        fetchers.register("file", Arc::new(file::File));
        fetchers.register("data", Arc::new(data::Data));
        Ok(fetchers)
    }

    /// Adds (or replaces) the fetcher for `scheme`.
    pub(crate) fn register(&mut self, scheme: &str, fetcher: Arc<dyn SchemeFetcher>) {
        self.schemes.retain(|(s, _)| s != scheme);
        self.schemes.push((scheme.to_string(), fetcher));
    }

    /// The fetcher for `scheme`, if this loader fetches it.
    fn get(&self, scheme: &str) -> Option<&dyn SchemeFetcher> {
        self.schemes
            .iter()
            .find(|(s, _)| s == scheme)
            .map(|(_, f)| &**f)
    }

    /// Whether this loader fetches URLs of `scheme`.
    pub(crate) fn supports(&self, scheme: &str) -> bool {
        self.get(scheme).is_some()
    }

    /// Whether responses for `url` go through the disk cache.
    pub(crate) fn cached_on_disk(&self, url: &Url) -> bool {
        self.get(url.scheme()).is_some_and(|f| f.cached_on_disk())
    }

    /// The request headers an HTTP request sends (user agent, the configured headers, the
    /// request's own), without conditional ones: what a cached response's `Vary` is matched
    /// against.
    pub(crate) fn sent_headers(&self, request_headers: &[Header]) -> Vec<Header> {
        self.http.sent_headers(request_headers)
    }

    /// Fetches the whole body of `target` with the fetcher of its scheme.
    pub(crate) fn fetch(
        &self,
        target: &Target<'_>,
        watch: &dyn Watch,
        counters: &Counters,
    ) -> Result<Fetched, FetchError> {
        if let Some(stop) = watch.should_stop() {
            return Err(FetchError::Stopped(stop));
        }
        let Some(fetcher) = self.get(target.url.scheme()) else {
            return Err(Error::InvalidUrl {
                url: url_text::shown(target.raw),
                reason: format!("unsupported scheme {:?}", target.url.scheme()),
                source: None,
            }
            .into());
        };
        let body = BodyLimits::new(target.raw, self.max_bytes, watch, counters);
        if matches!(target.url.scheme(), "http" | "https") {
            return fetcher.fetch(target, &body); // it reports its own, finer figures
        }
        // Other schemes: one read, timed as the body.
        let started = Instant::now();
        let fetched = fetcher.fetch(target, &body);
        let mut figures = NetworkMetrics {
            body: started.elapsed(),
            requests: 1,
            ..NetworkMetrics::default()
        };
        match &fetched {
            Ok(Fetched::Body(bytes, _)) => figures.bytes = bytes.len() as u64,
            Err(FetchError::Failed(_)) => figures.failed_after = Some(figures.body),
            _ => {}
        }
        watch.network(figures);
        fetched
    }
}
