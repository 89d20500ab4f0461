//! Reading one body under the loader's limits.
//!
//! Owns: the streaming read shared by every scheme: the size limit enforced as bytes arrive
//! (and against an announced length before reading), download counters, progress reports,
//! showing the job the body so far (which may end it early, for previews), and stopping
//! between reads when the job is abandoned or the loader shuts down. Must not
//! touch: where the bytes come from (each scheme opens its own reader) or what they are.

use std::io::Read;

use super::{FetchError, Watch};
use crate::Error;
use crate::error::Limit;
use crate::stats::Counters;
use crate::url_text;

/// Bytes read from the source per read call.
const CHUNK: usize = 64 * 1024;

/// Everything needed to read one body under the limits.
pub(crate) struct BodyLimits<'a> {
    raw: &'a str,
    limit: u64,
    watch: &'a dyn Watch,
    counters: &'a Counters,
}

impl<'a> BodyLimits<'a> {
    pub(super) fn new(
        raw: &'a str,
        limit: u64,
        watch: &'a dyn Watch,
        counters: &'a Counters,
    ) -> Self {
        BodyLimits {
            raw,
            limit,
            watch,
            counters,
        }
    }

    /// The loader's counters (for the request count).
    pub(super) fn counters(&self) -> &Counters {
        self.counters
    }

    /// The job this body is read for.
    pub(super) fn watch(&self) -> &dyn Watch {
        self.watch
    }

    fn too_large(&self) -> FetchError {
        Error::TooLarge {
            url: url_text::shown(self.raw),
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
    pub(super) fn accept(&self, bytes: Vec<u8>) -> Result<Vec<u8>, FetchError> {
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
    /// abandoned, or the loader shuts down; or, with the bytes so far, when the job's
    /// [`Watch::received`] says it has enough. Memory stays at most one chunk above the limit.
    pub(super) fn read(
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
            if let Some(end) = self.watch.received(&bytes, declared) {
                bytes.truncate(end);
                break;
            }
        }
        Ok(bytes)
    }
}
