//! What an upload ends with: the server's answer, or a failure worded as an upload.
//!
//! Owns: [`UploadResponse`], [`UploadError`] and its message. Must not touch: the loader's
//! [`Error`] messages (an upload failure wraps one, but says "uploading", not "loading").

use std::error::Error as StdError;
use std::fmt;

use crate::Error;

/// The server's answer to a successful upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// Response body, up to [`UploadConfig::max_response_bytes`](crate::UploadConfig::max_response_bytes).
    pub body: Vec<u8>,
}

/// A failed upload: what, why, and the server's answer if there was one.
///
/// It displays as one line that names the upload, e.g. `uploading photos/a.jpg to
/// https://api.example/up failed: HTTP status 503 (after 4 attempts)`. The underlying error's
/// own [`source`](std::error::Error::source) (an `io::Error`, the HTTP client's error) is this
/// error's source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadError {
    /// What went wrong (`Http`, `Network`, `Timeout`, `Io` for an unreadable file, `Decode` or
    /// `UnsupportedFormat` for an image that cannot be recompressed, `Cancelled`, `Shutdown`).
    pub error: Error,
    /// The target URL, as errors show URLs (without userinfo, at most 1 KiB).
    pub target: String,
    /// The source as messages name it: the file's path, or a bytes source's name and size.
    pub source_name: String,
    /// The server's response to the last attempt, if it answered.
    pub response: Option<UploadResponse>,
    /// How many times the item was sent by this uploader (0 if it never was).
    pub attempts: u32,
    /// Whether the failure was recorded in the journal (only failures worth retrying are,
    /// unless [`UploadConfig::journal_permanent_failures`](crate::UploadConfig::journal_permanent_failures)).
    pub journaled: bool,
    /// Whether the item came from the journal and was removed from it because this failure is
    /// permanent (see [`Uploader::retry_failed`](crate::Uploader::retry_failed)).
    pub dropped: bool,
}

impl UploadError {
    /// A failure that was neither journaled nor dropped.
    pub(crate) fn new(error: Error, target: &str, source_name: &str, attempts: u32) -> Self {
        UploadError {
            error,
            target: crate::url_text::shown(target),
            source_name: source_name.to_string(),
            response: None,
            attempts,
            journaled: false,
            dropped: false,
        }
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (source, target) = (&self.source_name, &self.target);
        match &self.error {
            Error::Cancelled { .. } => write!(f, "uploading {source} to {target} was cancelled"),
            Error::Shutdown { .. } => write!(
                f,
                "uploading {source} to {target} stopped: the uploader shut down"
            ),
            error => write!(
                f,
                "uploading {source} to {target} failed: {}",
                error.summary()
            ),
        }?;
        match self.attempts {
            0 if matches!(self.error, Error::Cancelled { .. }) => Ok(()),
            0 => f.write_str(" (not sent)"),
            1 => f.write_str(" (after 1 attempt)"),
            n => write!(f, " (after {n} attempts)"),
        }
    }
}

impl StdError for UploadError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.error.source()
    }
}
