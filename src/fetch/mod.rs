//! Getting the bytes of an image: HTTP(S) through one shared agent, `file://`, and `data:`.
//!
//! Owns: the `ureq::Agent` (one per loader, so connections are reused and no client is created
//! per request), streaming a body with the size limit enforced as bytes arrive, progress
//! reporting, and stopping early when the job is abandoned. Must not touch: decoding, caches or
//! the in-flight map; it asks its [`Watch`] whether to go on.

mod data;
mod file;
mod http;

pub(crate) use http::map_error;

use std::io::Read;
use std::time::SystemTime;

use url::Url;

use crate::Error;
use crate::config::Config;
use crate::error::Limit;
use crate::stats::Counters;

/// Bytes read from the source per read call.
const CHUNK: usize = 64 * 1024;

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
}

/// What to fetch.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    /// The parsed URL.
    pub(crate) url: &'a Url,
    /// The URL as the caller wrote it (for error messages).
    pub(crate) raw: &'a str,
    /// Headers of the request that started the job.
    pub(crate) headers: &'a [(String, String)],
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
    /// The request headers sent (for `Vary`), without the conditional ones.
    pub(crate) sent: Vec<(String, String)>,
}

/// What a fetch produced.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The whole body, and over HTTP the response it came with.
    Body(Vec<u8>, Option<HttpResponse>),
    /// The server confirmed the cached copy (`304 Not Modified` to a conditional request).
    NotModified(HttpResponse),
}

/// Fetches bytes for every supported scheme.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
    headers: Vec<(String, String)>,
    user_agent: String,
}

impl Fetcher {
    pub(crate) fn new(config: &Config) -> Self {
        Fetcher {
            agent: http::agent(config),
            max_bytes: config.max_download_bytes,
            headers: config.headers.clone(),
            user_agent: config.user_agent.clone(),
        }
    }

    /// The request headers an HTTP request for `target` sends (user agent, the configured
    /// headers, the request's own), without conditional ones.
    pub(crate) fn sent_headers(
        &self,
        request_headers: &[(String, String)],
    ) -> Vec<(String, String)> {
        let mut sent = vec![("user-agent".to_string(), self.user_agent.clone())];
        sent.extend(self.headers.iter().chain(request_headers).cloned());
        sent
    }

    /// Fetches the whole body of `target`.
    pub(crate) fn fetch(
        &self,
        target: &Target<'_>,
        watch: &dyn Watch,
        counters: &Counters,
    ) -> Result<Fetched, FetchError> {
        if let Some(stop) = watch.should_stop() {
            return Err(FetchError::Stopped(stop));
        }
        let body = BodyLimits {
            raw: target.raw,
            limit: self.max_bytes,
            watch,
            counters,
        };
        match target.url.scheme() {
            "http" | "https" => http::get(self, target, body),
            "file" => file::read(target, body).map(|b| Fetched::Body(b, None)),
            "data" => data::decode(target, body).map(|b| Fetched::Body(b, None)),
            other => Err(Error::InvalidUrl {
                url: target.raw.to_string(),
                reason: format!("unsupported scheme {other:?}"),
            }
            .into()),
        }
    }
}

/// Everything needed to read one body under the limits.
pub(crate) struct BodyLimits<'a> {
    raw: &'a str,
    limit: u64,
    watch: &'a dyn Watch,
    counters: &'a Counters,
}

impl BodyLimits<'_> {
    fn too_large(&self) -> FetchError {
        Error::TooLarge {
            url: self.raw.to_string(),
            limit: Limit::DownloadBytes { limit: self.limit },
        }
        .into()
    }

    /// Refuses a body whose announced length is already over the limit.
    fn check_declared(&self, declared: Option<u64>) -> Result<(), FetchError> {
        match declared {
            Some(n) if n > self.limit => Err(self.too_large()),
            _ => Ok(()),
        }
    }

    /// Accepts a body that is already in memory.
    fn accept(&self, bytes: Vec<u8>) -> Result<Vec<u8>, FetchError> {
        if let Some(stop) = self.watch.should_stop() {
            return Err(FetchError::Stopped(stop));
        }
        let n = bytes.len() as u64;
        self.check_declared(Some(n))?;
        Counters::add(&self.counters.bytes_downloaded, n);
        self.watch.progress(n, Some(n));
        Ok(bytes)
    }

    /// Reads `reader` to the end, stopping as soon as the body crosses the limit, the job is
    /// abandoned, or the loader shuts down. Memory stays at most one chunk above the limit.
    fn read(
        &self,
        mut reader: impl Read,
        declared: Option<u64>,
        map_err: impl Fn(std::io::Error) -> Error,
    ) -> Result<Vec<u8>, FetchError> {
        self.check_declared(declared)?;
        // Trust the announced length for the first allocation only up to 8 MiB: a server that
        // announces more and sends less must not make us reserve it.
        let first = declared.unwrap_or(0).min(self.limit).min(8 << 20);
        let mut bytes = Vec::with_capacity(first as usize);
        let mut chunk = vec![0u8; CHUNK];
        loop {
            if let Some(stop) = self.watch.should_stop() {
                return Err(FetchError::Stopped(stop));
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(map_err(e).into()),
            };
            Counters::add(&self.counters.bytes_downloaded, n as u64);
            if bytes.len() as u64 + n as u64 > self.limit {
                return Err(self.too_large());
            }
            bytes.extend_from_slice(&chunk[..n]);
            self.watch.progress(bytes.len() as u64, declared);
        }
        Ok(bytes)
    }
}
