//! How an uploader runs, as plain data.
//!
//! Owns: [`UploadConfig`] and its defaults. Must not touch: threads, the network or the
//! journal; it only describes them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Recompress;
use crate::config::DEFAULT_USER_AGENT;
use crate::headers::{HeaderRules, Redacted};

/// How an [`Uploader`](crate::Uploader) runs. Start from `UploadConfig::default()`.
///
/// Its `Debug` output shows credential header values (`Authorization`, `Proxy-Authorization`,
/// `Cookie`, and the names in [`credential_headers`](Self::credential_headers)) as
/// `<redacted>`:
///
/// ```
/// let config = webimage::UploadConfig {
///     headers: vec![("Authorization".into(), "Bearer s3cr3t".into())],
///     ..Default::default()
/// };
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct UploadConfig {
    /// Uploads running at once (worker threads). Default 1: one at a time, the safe default.
    pub max_concurrent: usize,
    /// Idle timeout: connecting, each write of the body and each read of the response must
    /// make progress within this time. Default 30 s.
    pub timeout: Duration,
    /// Total deadline of one item, all attempts and the waits between them included: an
    /// upload still going when it passes ends with [`Error::Timeout`](crate::Error::Timeout)
    /// (journaled, as a timeout is worth retrying later) and is not retried now. `None` turns
    /// it off. Default 10 minutes (a 64 MiB file at 1 Mbit/s takes under 9).
    pub total_timeout: Option<Duration>,
    /// Which certificates HTTPS trusts (a private CA, the system store); see
    /// [`TlsConfig`](crate::TlsConfig). A TLS failure is never retried.
    pub tls: crate::TlsConfig,
    /// `User-Agent` header. Default `webimage/<version>`.
    pub user_agent: String,
    /// Headers sent with every upload (before the item's own). They are never written to the
    /// journal: an item retried from the journal (by
    /// [`Uploader::retry_failed`](crate::Uploader::retry_failed)) is sent with the headers of
    /// the uploader retrying it, so this is where credentials belong.
    pub headers: Vec<(String, String)>,
    /// Names of headers (compared without regard to case) that carry credentials, beyond
    /// `Authorization`, `Proxy-Authorization` and `Cookie`, which always do: the same notion as
    /// the loader's [`Config::credential_headers`](crate::Config::credential_headers). An
    /// item's header with one of these names is sent but never written to the journal, and
    /// `Debug` output of this config shows `<redacted>` for it. (To mark one item's header,
    /// use [`UploadItem::credential_header`](crate::UploadItem::credential_header).) Unlike
    /// the loader, an uploader journals headers on no list, so that a retry sends the same
    /// request: it has no cache to share. Default empty. (Formerly `sensitive_headers`.)
    pub credential_headers: Vec<String>,
    /// Re-encode images as JPEG before sending. Default `None`: bytes are sent unchanged.
    pub recompress: Option<Recompress>,
    /// Directory of the journal of failed uploads (created if missing, owner-only on Unix).
    /// Default `None`: failures are only reported to the completion closure.
    pub journal_dir: Option<PathBuf>,
    /// Also journal permanent failures. By default only failures worth retrying are journaled:
    /// 5xx, 408, 429, timeouts, network errors, and items stopped by shutdown. Permanent ones
    /// (an unreadable or missing file, any other 4xx or a 3xx, an invalid URL or request, bytes
    /// that cannot be recompressed, a TLS failure) are only reported to the completion closure,
    /// with `journaled: false`, and an item retried from the journal that fails permanently is
    /// dropped from it. Default `false`.
    pub journal_permanent_failures: bool,
    /// Retries after a transient failure (5xx, 408, 429, timeout, connection error). Other
    /// 4xx, TLS failures and unreadable files are not retried. Default 3.
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
            tls: crate::TlsConfig::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            headers: Vec::new(),
            credential_headers: Vec::new(),
            recompress: None,
            journal_dir: None,
            journal_permanent_failures: false,
            max_retries: 3,
            retry_backoff: Duration::from_millis(500),
            max_response_bytes: 1 << 20,
            max_pixels: 100_000_000,
        }
    }
}

impl UploadConfig {
    /// Which headers are credentials for this uploader.
    pub(crate) fn header_rules(&self) -> HeaderRules {
        HeaderRules::uploads(&self.credential_headers)
    }
}

impl fmt::Debug for UploadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = Redacted::pairs(&self.headers, &self.header_rules());
        f.debug_struct("UploadConfig")
            .field("max_concurrent", &self.max_concurrent)
            .field("timeout", &self.timeout)
            .field("total_timeout", &self.total_timeout)
            .field("tls", &self.tls)
            .field("user_agent", &self.user_agent)
            .field("headers", &headers)
            .field("credential_headers", &self.credential_headers)
            .field("recompress", &self.recompress)
            .field("journal_dir", &self.journal_dir)
            .field(
                "journal_permanent_failures",
                &self.journal_permanent_failures,
            )
            .field("max_retries", &self.max_retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_pixels", &self.max_pixels)
            .finish()
    }
}
