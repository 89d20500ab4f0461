//! How an uploader runs, as plain data.
//!
//! Owns: [`UploadConfig`] and its defaults. Must not touch: threads, the network or the
//! journal; it only describes them.

use std::path::PathBuf;
use std::time::Duration;

use super::Recompress;
use crate::config::DEFAULT_USER_AGENT;

/// How an [`Uploader`](crate::Uploader) runs. Start from `UploadConfig::default()`.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Uploads running at once (worker threads). Default 1: one at a time, the safe default.
    pub max_concurrent: usize,
    /// Idle timeout: connecting, each write of the body and each read of the response must
    /// make progress within this time. Default 30 s.
    pub timeout: Duration,
    /// Total deadline of one item, all attempts and the waits between them included: an
    /// upload still going when it passes ends with [`Error::Timeout`](crate::Error::Timeout)
    /// (journaled like any failure) and is not retried. `None` turns it off. Default 10
    /// minutes (a 64 MiB file at 1 Mbit/s takes under 9).
    pub total_timeout: Option<Duration>,
    /// `User-Agent` header. Default `webimage/<version>`.
    pub user_agent: String,
    /// Headers sent with every upload (before the item's own).
    pub headers: Vec<(String, String)>,
    /// Re-encode images as JPEG before sending. Default `None`: bytes are sent unchanged.
    pub recompress: Option<Recompress>,
    /// Directory of the journal of failed uploads (created if missing). Default `None`: failures
    /// are only reported to the completion closure.
    pub journal_dir: Option<PathBuf>,
    /// Retries after a transient failure (5xx, 408, 429, timeout, connection error). 4xx and
    /// unreadable files are not retried. Default 3.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one (at most 30 s). Default 500 ms.
    pub retry_backoff: Duration,
    /// The server's response body is kept up to this many bytes. Default 1 MiB.
    pub max_response_bytes: u64,
    /// Largest image (in pixels) decoded for recompression. Default 100 megapixels.
    pub max_pixels: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            max_concurrent: 1,
            timeout: Duration::from_secs(30),
            total_timeout: Some(Duration::from_secs(600)),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            headers: Vec::new(),
            recompress: None,
            journal_dir: None,
            max_retries: 3,
            retry_backoff: Duration::from_millis(500),
            max_response_bytes: 1 << 20,
            max_pixels: 100_000_000,
        }
    }
}
