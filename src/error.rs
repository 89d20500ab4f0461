//! The crate's one error type.
//!
//! Owns: [`Error`], [`Limit`] and [`Cause`], the messages, and the rule for which errors are
//! permanent (remembered on the failed-URL list). Must not touch: anything else; every stage
//! maps its own failures into this enum at its boundary, keeping the underlying error (an
//! `io::Error`, the HTTP client's error, the decoder's error) as the [`source`](std::error::Error::source).

use std::error::Error as StdError;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The underlying error behind an [`Error`], shared so that `Error` stays `Clone` (one failed
/// download is reported to every caller waiting for it). [`Error::source`](std::error::Error::source)
/// returns the inner error itself, so `downcast_ref::<std::io::Error>()` and the like work.
#[derive(Clone)]
pub struct Cause(Arc<dyn StdError + Send + Sync + 'static>);

impl Cause {
    /// Wraps an error.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Cause {
        Cause(Arc::new(error))
    }

    /// The wrapped error.
    pub fn get(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

/// Causes compare by message: two errors are equal when they say the same thing.
impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

/// Everything that can go wrong while loading an image.
///
/// Every variant that concerns a load names the URL it was loading, so a message read in a log
/// says what failed and for which image. That URL is shown, never kept: its userinfo
/// (`user:password@`) is replaced by `<redacted>`, and a URL longer than 1 KiB (a `data:` URL
/// of a megabyte) is cut there, saying how long it was. Errors are `Clone` because one failed download is
/// reported to every caller that was waiting for it. Where a lower layer failed (the
/// operating system, the HTTP client, a decoder), its error is the
/// [`source`](std::error::Error::source):
///
/// ```
/// use std::error::Error as _;
/// let loader = webimage::ImageLoader::new(webimage::Config { disk_cache: None, ..Default::default() })?;
/// let err = loader.load_blocking("/no/such/file.png").unwrap_err();
/// let io = err.source().and_then(|s| s.downcast_ref::<std::io::Error>());
/// assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
/// # Ok::<(), webimage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed, or its scheme is not one this loader fetches.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
        /// The parser's error, if it came from the parser.
        source: Option<Cause>,
    },
    /// The request itself is malformed (for example a header name with a space in it).
    InvalidRequest {
        /// The URL being loaded.
        url: String,
        /// What is wrong with the request.
        reason: String,
    },
    /// The server answered with a status that is not a success.
    Http {
        /// The URL being loaded.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The connection failed, was reset, the host was not found, or redirects looped.
    Network {
        /// The URL being loaded.
        url: String,
        /// What the network layer reported.
        message: String,
        /// The HTTP client's (or the operating system's) error.
        source: Option<Cause>,
    },
    /// The TLS handshake failed: most often the server's certificate is not trusted (a
    /// private CA: see [`TlsConfig`](crate::TlsConfig)), expired, or for another host. The
    /// message says which and what to do. Never retried by the uploader, never remembered as
    /// failed.
    Tls {
        /// The URL being loaded.
        url: String,
        /// What went wrong, and what to do about it.
        message: String,
        /// rustls's error.
        source: Option<Cause>,
    },
    /// No progress was made within [`Config::timeout`](crate::Config::timeout).
    Timeout {
        /// The URL being loaded.
        url: String,
        /// The HTTP client's error, which says which phase timed out.
        source: Option<Cause>,
    },
    /// The download or the decoded image is larger than the configured limit.
    TooLarge {
        /// The URL being loaded.
        url: String,
        /// Which limit was exceeded.
        limit: Limit,
    },
    /// The bytes are a known image format but are corrupt or truncated.
    Decode {
        /// The URL being loaded.
        url: String,
        /// What the decoder reported.
        message: String,
        /// The decoder's error.
        source: Option<Cause>,
    },
    /// The bytes are not an image format this build can decode.
    UnsupportedFormat {
        /// The URL being loaded.
        url: String,
        /// What was found instead.
        message: String,
        /// The decoder's error, if a decoder reported it.
        source: Option<Cause>,
    },
    /// A local file could not be read.
    Io {
        /// The URL being loaded.
        url: String,
        /// The operating system's message.
        message: String,
        /// The operating system's error.
        source: Option<Cause>,
    },
    /// The disk cache's directory could not be read or written.
    DiskCache {
        /// The cache directory.
        path: PathBuf,
        /// What failed.
        message: String,
        /// The operating system's error.
        source: Option<Cause>,
    },
    /// The loader's policy refused the URL before any request was sent: its scheme is not in
    /// [`Config::allowed_schemes`](crate::Config::allowed_schemes), its host resolves to an
    /// address [`Config::block_private_networks`](crate::Config::block_private_networks)
    /// refuses, or a redirect pointed somewhere redirects may not go. Never remembered as
    /// failed.
    Blocked {
        /// The URL being loaded.
        url: String,
        /// What the policy refused.
        reason: String,
    },
    /// The caller cancelled the load with [`Token::cancel`](crate::Token::cancel).
    Cancelled {
        /// The URL being loaded.
        url: String,
    },
    /// The URL failed permanently before (it is on the failed-URL list), so no request was made.
    /// Load it with [`Request::retry_failed`](crate::Request::retry_failed) to try again.
    FailedBefore {
        /// The URL being loaded.
        url: String,
        /// The message of the error that put it on the list.
        reason: String,
    },
    /// The request allowed only cached data ([`CachePolicy::CacheOnly`](crate::CachePolicy::CacheOnly))
    /// and the image is in neither cache.
    NotCached {
        /// The URL being loaded.
        url: String,
    },
    /// The load was not queued: [`Config::max_pending`](crate::Config::max_pending) loads are
    /// already waiting (queued or running, counting every caller of a shared download). It
    /// is answered at once, on the caller's thread, and never remembered as failed; load it
    /// again once fewer are pending (see [`ImageLoader::pending`](crate::ImageLoader::pending)).
    TooManyPending {
        /// The URL being loaded.
        url: String,
        /// The configured bound.
        limit: usize,
    },
    /// The loader was dropped before the load finished.
    Shutdown {
        /// The URL being loaded.
        url: String,
    },
    /// A [`Processor`](crate::Processor) the request asked for panicked. Only the loads that
    /// asked for that processor fail; loads of the same image without it, or with other
    /// processors, carry on. Never remembered as failed. (A processor that returns an error
    /// fails its loads with that error instead.)
    Process {
        /// The URL being loaded.
        url: String,
        /// The processor's [`id`](crate::Processor::id).
        processor: String,
        /// What went wrong.
        message: String,
    },
    /// A bug in webimage or in a library it uses (a panic while handling this load). The load
    /// fails; the worker and every other load carry on.
    Internal {
        /// The URL being loaded.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// [`ImageLoader::new`](crate::ImageLoader::new) was given a configuration it cannot run.
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { url, reason, .. } => {
                write!(f, "invalid image URL {url:?}: {reason}")
            }
            Error::InvalidRequest { url, reason } => {
                write!(f, "invalid request for {url}: {reason}")
            }
            Error::Http { url, status } => write!(f, "HTTP status {status} loading {url}"),
            Error::Network { url, message, .. } => {
                write!(f, "network error loading {url}: {message}")
            }
            Error::Tls { url, message, .. } => write!(f, "TLS error loading {url}: {message}"),
            Error::Timeout { url, .. } => write!(f, "timed out loading {url}"),
            Error::TooLarge { url, limit } => write!(f, "{url} is too large: {limit}"),
            Error::Decode { url, message, .. } => write!(f, "cannot decode {url}: {message}"),
            Error::UnsupportedFormat { url, message, .. } => {
                write!(f, "unsupported image format at {url}: {message}")
            }
            Error::Io { url, message, .. } => write!(f, "cannot read {url}: {message}"),
            Error::DiskCache { path, message, .. } => {
                write!(f, "disk cache at {}: {message}", path.display())
            }
            Error::Blocked { url, reason } => write!(f, "{url} is blocked: {reason}"),
            Error::Cancelled { url } => write!(f, "loading {url} was cancelled"),
            Error::FailedBefore { url, reason } => {
                write!(f, "{url} failed before ({reason}); not requested again")
            }
            Error::NotCached { url } => write!(
                f,
                "{url} is not in the cache (and the request allowed no download)"
            ),
            Error::Shutdown { url } => {
                write!(f, "the loader shut down before {url} finished loading")
            }
            Error::TooManyPending { url, limit } => write!(
                f,
                "{url} was not queued: {limit} loads are already pending (Config::max_pending)"
            ),
            Error::Process {
                url,
                processor,
                message,
            } => write!(f, "processor {processor:?} failed on {url}: {message}"),
            Error::Internal { url, message } => {
                write!(f, "internal error loading {url}: {message}")
            }
            Error::Config(message) => write!(f, "invalid configuration: {message}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::InvalidUrl { source, .. }
            | Error::Network { source, .. }
            | Error::Timeout { source, .. }
            | Error::Tls { source, .. }
            | Error::Decode { source, .. }
            | Error::UnsupportedFormat { source, .. }
            | Error::Io { source, .. }
            | Error::DiskCache { source, .. } => source.as_ref().map(|c| c.get() as _),
            _ => None,
        }
    }
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
    /// The image header declares more pixels than [`Config::max_pixels`](crate::Config::max_pixels),
    /// or its decoder would decode more (a GIF frame larger than its screen, a TIFF's tiles
    /// with their padding).
    Pixels {
        /// Declared width (or the width of what would be decoded).
        width: u32,
        /// Declared height (or the height of what would be decoded).
        height: u32,
        /// The configured limit in pixels.
        limit: u64,
    },
    /// Decoding the image would need more memory than
    /// [`Config::decode_memory_bytes`](crate::Config::decode_memory_bytes) allows for all
    /// decodes together.
    DecodeMemory {
        /// The decode's estimated peak in bytes.
        needed: u64,
        /// The configured budget in bytes.
        budget: u64,
    },
    /// An animation has more frames than
    /// [`Config::max_animation_frames`](crate::Config::max_animation_frames) (refused before
    /// any frame is decoded).
    Frames {
        /// Frames counted (counting stops one past the limit).
        frames: u64,
        /// The configured limit.
        limit: u32,
    },
    /// An animation's frames together (frames x the larger of the canvas and the largest
    /// frame) have more pixels than [`Config::max_pixels`](crate::Config::max_pixels)
    /// (refused before any frame is decoded).
    AnimationPixels {
        /// Width of the canvas, or of the largest frame when that is larger (a GIF frame may
        /// be larger than its canvas).
        width: u32,
        /// Height of the same.
        height: u32,
        /// Number of frames.
        frames: u64,
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
            Limit::DecodeMemory { needed, budget } => write!(
                f,
                "decoding it needs {needed} bytes, more than the whole decode budget of {budget} \
                 bytes (refused before decoding)"
            ),
            Limit::Frames { frames, limit } => write!(
                f,
                "the animation has {frames} frames or more, over the limit of {limit} \
                 (refused before decoding)"
            ),
            Limit::AnimationPixels {
                width,
                height,
                frames,
                limit,
            } => write!(
                f,
                "{frames} frames of {width}x{height} exceed the limit of {limit} pixels \
                 (refused before decoding)"
            ),
        }
    }
}

impl Error {
    /// The URL this error is about, if it concerns a load, as errors show it (without
    /// userinfo, at most 1 KiB; see [`Error`]).
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::InvalidUrl { url, .. }
            | Error::InvalidRequest { url, .. }
            | Error::Http { url, .. }
            | Error::Network { url, .. }
            | Error::Timeout { url, .. }
            | Error::Tls { url, .. }
            | Error::TooLarge { url, .. }
            | Error::Decode { url, .. }
            | Error::UnsupportedFormat { url, .. }
            | Error::Io { url, .. }
            | Error::Blocked { url, .. }
            | Error::Cancelled { url }
            | Error::FailedBefore { url, .. }
            | Error::NotCached { url }
            | Error::Process { url, .. }
            | Error::Internal { url, .. }
            | Error::TooManyPending { url, .. }
            | Error::Shutdown { url } => Some(url),
            Error::Config(_) | Error::DiskCache { .. } => None,
        }
    }

    /// The same error about `url` instead (each caller of a shared download sees its own URL),
    /// as errors show it.
    pub(crate) fn with_url(mut self, url: &str) -> Error {
        let url = &crate::url_text::shown(url);
        match &mut self {
            Error::InvalidUrl { url: u, .. }
            | Error::InvalidRequest { url: u, .. }
            | Error::Http { url: u, .. }
            | Error::Network { url: u, .. }
            | Error::Timeout { url: u, .. }
            | Error::Tls { url: u, .. }
            | Error::TooLarge { url: u, .. }
            | Error::Decode { url: u, .. }
            | Error::UnsupportedFormat { url: u, .. }
            | Error::Io { url: u, .. }
            | Error::Blocked { url: u, .. }
            | Error::Cancelled { url: u }
            | Error::FailedBefore { url: u, .. }
            | Error::NotCached { url: u }
            | Error::Process { url: u, .. }
            | Error::Internal { url: u, .. }
            | Error::TooManyPending { url: u, .. }
            | Error::Shutdown { url: u } => {
                if u != url {
                    url.clone_into(u);
                }
            }
            Error::Config(_) | Error::DiskCache { .. } => {}
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
            Error::Tls { message, .. } => format!("TLS: {message}"),
            Error::TooLarge { limit, .. } => format!("too large: {limit}"),
            Error::Decode { message, .. } => format!("cannot decode: {message}"),
            Error::UnsupportedFormat { message, .. } => format!("unsupported format: {message}"),
            Error::Io { message, .. } => message.clone(),
            Error::DiskCache { message, .. } => format!("disk cache: {message}"),
            Error::Blocked { reason, .. } => format!("blocked: {reason}"),
            Error::Cancelled { .. } => "cancelled".into(),
            Error::FailedBefore { reason, .. } => reason.clone(),
            Error::NotCached { .. } => "not cached".into(),
            Error::Process {
                processor, message, ..
            } => format!("processor {processor:?}: {message}"),
            Error::Internal { message, .. } => format!("internal error: {message}"),
            Error::Shutdown { .. } => "shut down".into(),
            Error::TooManyPending { limit, .. } => format!("{limit} loads pending"),
            Error::Config(message) => message.clone(),
        }
    }

    /// Whether the failure is the image's own, so loading the same URL again would fail the
    /// same way: `404` and `410`, undecodable or unsupported data, and malformed URLs. These go
    /// on the failed-URL list. Everything else never does: other 4xx (401, 403 and 407 depend
    /// on credentials; a signed URL's 403 means the signature expired, not the image), 5xx,
    /// timeouts, network errors, [`Blocked`](Error::Blocked), limits, cancellations and
    /// shutdowns. A revalidation that fails with anything but `404`/`410` keeps the disk entry.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Http { status, .. } => matches!(status, 404 | 410),
            Error::InvalidUrl { .. } | Error::Decode { .. } | Error::UnsupportedFormat { .. } => {
                true
            }
            _ => false,
        }
    }
}
