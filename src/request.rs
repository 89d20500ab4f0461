//! What one caller asks for.
//!
//! Owns: [`Request`] and its builder methods, [`Priority`], and the decode [`Variant`] a request
//! maps to. Must not touch: the queue or the caches; the loader reads a request once and keeps
//! only what the job needs.

use std::fmt;

/// How urgently a load should start. Higher priorities start first; within one priority the
/// queue order ([`Config::lifo`](crate::Config::lifo)) decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Work that can wait, such as prefetching.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Work the user is waiting for right now.
    High,
}

/// A progress callback: bytes received so far and the total if the server announced it.
pub(crate) type ProgressFn = Box<dyn FnMut(u64, Option<u64>) + Send>;

/// Which decoded form of an image a caller wants. Each variant is a separate memory-cache
/// entry; callers asking for different variants of one URL share one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    /// The whole image at its own size.
    Original,
}

/// One image to load, built from a URL:
///
/// ```
/// use webimage::{Priority, Request};
/// let request = Request::new("https://example.com/cat.jpg")
///     .priority(Priority::High)
///     .header("Authorization", "Bearer abc")
///     .progress(|received, total| println!("{received} of {total:?}"));
/// # drop(request);
/// ```
///
/// Accepted URLs: `http://`, `https://`, `file://`, `data:`, and absolute file paths.
pub struct Request {
    pub(crate) url: String,
    pub(crate) priority: Priority,
    pub(crate) retry_failed: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) variant: Variant,
}

impl Request {
    /// A request for `url` at [`Priority::Normal`].
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            url: url.into(),
            priority: Priority::Normal,
            retry_failed: false,
            headers: Vec::new(),
            progress: None,
            variant: Variant::Original,
        }
    }

    /// Sets the priority. A request that joins a queued download of the same URL raises that
    /// download's priority if its own is higher.
    #[must_use]
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Load the URL even if it is on the failed-URL list (and take it off on success).
    #[must_use]
    pub fn retry_failed(mut self, retry: bool) -> Self {
        self.retry_failed = retry;
        self
    }

    /// Adds a header to the HTTP request. When several callers share one download, the headers
    /// of the caller that started it are sent.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Called on a worker thread as bytes arrive, with the bytes received so far and the total
    /// if known. No call starts after this request's completion closure has been called.
    #[must_use]
    pub fn progress(mut self, f: impl FnMut(u64, Option<u64>) + Send + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("url", &self.url)
            .field("priority", &self.priority)
            .field("retry_failed", &self.retry_failed)
            .field("headers", &self.headers)
            .field("progress", &self.progress.is_some())
            .field("variant", &self.variant)
            .finish()
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Self {
        Request::new(url)
    }
}

impl From<String> for Request {
    fn from(url: String) -> Self {
        Request::new(url)
    }
}

impl From<&String> for Request {
    fn from(url: &String) -> Self {
        Request::new(url.as_str())
    }
}
