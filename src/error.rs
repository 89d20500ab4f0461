//! The crate's one error type.
//!
//! Owns: [`Error`] and [`Limit`], and the rule for which errors are permanent (remembered on the
//! failed-URL list). Must not touch: anything else; every stage maps its own failures into this
//! enum at its boundary.

use std::fmt;

/// Everything that can go wrong while loading an image.
///
/// Every variant that concerns a load names the URL it was loading, so a message read in a log
/// says what failed and for which image. Errors are `Clone` because one failed download is
/// reported to every caller that was waiting for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed, or its scheme is not one of `http`, `https`, `file`, `data`.
    #[error("invalid image URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request itself is malformed (for example a header name with a space in it).
    #[error("invalid request for {url}: {reason}")]
    InvalidRequest {
        /// The URL being loaded.
        url: String,
        /// What is wrong with the request.
        reason: String,
    },
    /// The server answered with a status that is not a success.
    #[error("HTTP status {status} loading {url}")]
    Http {
        /// The URL being loaded.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The connection failed, was reset, the host was not found, or redirects looped.
    #[error("network error loading {url}: {message}")]
    Network {
        /// The URL being loaded.
        url: String,
        /// What the network layer reported.
        message: String,
    },
    /// No progress was made within [`Config::timeout`](crate::Config::timeout).
    #[error("timed out loading {url}")]
    Timeout {
        /// The URL being loaded.
        url: String,
    },
    /// The download or the decoded image is larger than the configured limit.
    #[error("{url} is too large: {limit}")]
    TooLarge {
        /// The URL being loaded.
        url: String,
        /// Which limit was exceeded.
        limit: Limit,
    },
    /// The bytes are a known image format but are corrupt or truncated.
    #[error("cannot decode {url}: {message}")]
    Decode {
        /// The URL being loaded.
        url: String,
        /// What the decoder reported.
        message: String,
    },
    /// The bytes are not an image format this build can decode.
    #[error("unsupported image format at {url}: {message}")]
    UnsupportedFormat {
        /// The URL being loaded.
        url: String,
        /// What was found instead.
        message: String,
    },
    /// A local file could not be read.
    #[error("cannot read {url}: {message}")]
    Io {
        /// The URL being loaded.
        url: String,
        /// The operating system's message.
        message: String,
    },
    /// The caller cancelled the load with [`Token::cancel`](crate::Token::cancel).
    #[error("loading {url} was cancelled")]
    Cancelled {
        /// The URL being loaded.
        url: String,
    },
    /// The URL failed permanently before (it is on the failed-URL list), so no request was made.
    /// Load it with [`Request::retry_failed`](crate::Request::retry_failed) to try again.
    #[error("{url} failed before ({reason}); not requested again")]
    FailedBefore {
        /// The URL being loaded.
        url: String,
        /// The message of the error that put it on the list.
        reason: String,
    },
    /// The request allowed only cached data ([`Request::from_cache_only`](crate::Request::from_cache_only))
    /// and the image is in neither cache.
    #[error("{url} is not in the cache (and the request allowed no download)")]
    NotCached {
        /// The URL being loaded.
        url: String,
    },
    /// The loader was dropped before the load finished.
    #[error("the loader shut down before {url} finished loading")]
    Shutdown {
        /// The URL being loaded.
        url: String,
    },
    /// A bug in webimage or in a library it uses (a panic while handling this load). The load
    /// fails; the worker and every other load carry on.
    #[error("internal error loading {url}: {message}")]
    Internal {
        /// The URL being loaded.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// [`ImageLoader::new`](crate::ImageLoader::new) was given a configuration it cannot run.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The limit behind an [`Error::TooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The body is longer than [`Config::max_download_bytes`](crate::Config::max_download_bytes).
    DownloadBytes {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The image header declares more pixels than [`Config::max_pixels`](crate::Config::max_pixels).
    Pixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The configured limit in pixels.
        limit: u64,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::DownloadBytes { limit } => {
                write!(f, "the body exceeds the download limit of {limit} bytes")
            }
            Limit::Pixels {
                width,
                height,
                limit,
            } => write!(
                f,
                "{width}x{height} exceeds the limit of {limit} pixels (refused before decoding)"
            ),
        }
    }
}

impl Error {
    /// The URL this error is about, if it concerns a load.
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::InvalidUrl { url, .. }
            | Error::InvalidRequest { url, .. }
            | Error::Http { url, .. }
            | Error::Network { url, .. }
            | Error::Timeout { url }
            | Error::TooLarge { url, .. }
            | Error::Decode { url, .. }
            | Error::UnsupportedFormat { url, .. }
            | Error::Io { url, .. }
            | Error::Cancelled { url }
            | Error::FailedBefore { url, .. }
            | Error::NotCached { url }
            | Error::Internal { url, .. }
            | Error::Shutdown { url } => Some(url),
            Error::Config(_) => None,
        }
    }

    /// The same error about `url` instead (each caller of a shared download sees its own URL).
    pub(crate) fn with_url(mut self, url: &str) -> Error {
        match &mut self {
            Error::InvalidUrl { url: u, .. }
            | Error::InvalidRequest { url: u, .. }
            | Error::Http { url: u, .. }
            | Error::Network { url: u, .. }
            | Error::Timeout { url: u }
            | Error::TooLarge { url: u, .. }
            | Error::Decode { url: u, .. }
            | Error::UnsupportedFormat { url: u, .. }
            | Error::Io { url: u, .. }
            | Error::Cancelled { url: u }
            | Error::FailedBefore { url: u, .. }
            | Error::NotCached { url: u }
            | Error::Internal { url: u, .. }
            | Error::Shutdown { url: u } => {
                if u != url {
                    *u = url.to_string();
                }
            }
            Error::Config(_) => {}
        }
        self
    }

    /// What went wrong, without the URL (kept on the failed-URL list as the reason).
    pub(crate) fn summary(&self) -> String {
        match self {
            Error::InvalidUrl { reason, .. } => format!("invalid URL: {reason}"),
            Error::InvalidRequest { reason, .. } => format!("invalid request: {reason}"),
            Error::Http { status, .. } => format!("HTTP status {status}"),
            Error::Network { message, .. } => format!("network error: {message}"),
            Error::Timeout { .. } => "timed out".into(),
            Error::TooLarge { limit, .. } => format!("too large: {limit}"),
            Error::Decode { message, .. } => format!("cannot decode: {message}"),
            Error::UnsupportedFormat { message, .. } => format!("unsupported format: {message}"),
            Error::Io { message, .. } => message.clone(),
            Error::Cancelled { .. } => "cancelled".into(),
            Error::FailedBefore { reason, .. } => reason.clone(),
            Error::NotCached { .. } => "not cached".into(),
            Error::Internal { message, .. } => format!("internal error: {message}"),
            Error::Shutdown { .. } => "shut down".into(),
            Error::Config(message) => message.clone(),
        }
    }

    /// Whether retrying the same URL later is pointless: client errors other than 408 and 429,
    /// undecodable or unsupported data, and malformed URLs. These go on the failed-URL list;
    /// timeouts, network errors, 5xx, cancellations and shutdowns never do.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Http { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            Error::InvalidUrl { .. } | Error::Decode { .. } | Error::UnsupportedFormat { .. } => {
                true
            }
            _ => false,
        }
    }
}
