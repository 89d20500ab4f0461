//! What one upload is: source, target, method, headers.
//!
//! Owns: [`UploadItem`] and its builder, the plain-data part of it that the journal keeps,
//! and turning a target's userinfo into the credential it is (`crate::headers` says which
//! headers are credentials: never journaled, redacted in `Debug`). Must not touch: the network
//! or the disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use crate::headers::Header;
use crate::headers::{HeaderRules, Redacted};
use crate::url_text;

/// Where the bytes of an upload come from.
#[derive(Clone, PartialEq, Eq)]
pub enum UploadSource {
    /// A file, streamed from disk as it is sent (never read whole into memory, unless it is
    /// recompressed).
    File(PathBuf),
    /// Bytes in memory, with the file name to report in a form upload.
    Bytes {
        /// File name for the multipart part (and the journal).
        name: String,
        /// The content.
        bytes: Arc<[u8]>,
    },
}

impl UploadSource {
    /// The file name to send in a form upload.
    pub(crate) fn file_name(&self) -> String {
        match self {
            UploadSource::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload".into()),
            UploadSource::Bytes { name, .. } => name.clone(),
        }
    }

    /// A short description for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            UploadSource::File(p) => p.display().to_string(),
            UploadSource::Bytes { name, bytes } => format!("{name} ({} bytes)", bytes.len()),
        }
    }
}

impl fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<PathBuf> for UploadSource {
    fn from(p: PathBuf) -> Self {
        UploadSource::File(p)
    }
}

impl From<&Path> for UploadSource {
    fn from(p: &Path) -> Self {
        UploadSource::File(p.to_path_buf())
    }
}

impl From<&PathBuf> for UploadSource {
    fn from(path: &PathBuf) -> Self {
        UploadSource::File(path.clone())
    }
}

impl From<&str> for UploadSource {
    /// A file path.
    fn from(p: &str) -> Self {
        UploadSource::File(PathBuf::from(p))
    }
}

/// How the bytes are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Method {
    /// `PUT` with the bytes as the raw body (e.g. a presigned object-store URL).
    Put,
    /// `POST` multipart/form-data: the bytes as file field `field`, after text `fields`.
    Form {
        field: String,
        fields: Vec<(String, String)>,
    },
}

impl ItemSpec {
    /// Takes the userinfo out of the target: it becomes an `Authorization: Basic` header marked
    /// a credential, unless the item or `config_headers` sends an `Authorization` already (which
    /// wins, as it always did). Done once, when the item is queued, so that the target
    /// journaled, shown in errors and sent never holds a password.
    pub(crate) fn take_userinfo(&mut self, config_headers: &[(String, String)]) {
        let Some((target, basic)) = crate::key::split_userinfo(&self.target) else {
            return;
        };
        self.target = target;
        let explicit = config_headers.iter().any(|(n, _)| basic.is(n))
            || self.headers.iter().any(|h| h.is(&basic.name));
        if !explicit {
            self.headers.push(basic);
        }
    }
}

/// The plain-data description of an upload (what the journal keeps).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemSpec {
    pub(crate) target: String,
    pub(crate) method: Method,
    pub(crate) source: UploadSource,
    /// The item's own headers; the journal keeps only those that are not secrets.
    pub(crate) headers: Vec<Header>,
    pub(crate) original: bool,
    pub(crate) content_type: Option<String>,
    /// Recompression for this item, fixed when it is enqueued (so a retry from the journal
    /// is sent the same way).
    pub(crate) recompress: Option<super::Recompress>,
}

/// Upload progress: bytes sent so far, and the total.
pub(crate) type UploadProgress = Box<dyn FnMut(u64, u64) + Send>;

/// One file or buffer to upload, built from a target and a source:
///
/// ```
/// use webimage::UploadItem;
/// let put = UploadItem::put("https://bucket.example/photos/a.jpg?sig=...", "photos/a.jpg")
///     .header("x-amz-acl", "private");
/// let form = UploadItem::form("https://api.example/upload", "photo", "photos/b.jpg")
///     .form_field("album", "holidays")
///     .original(true)
///     .progress(|sent, total| println!("{sent}/{total}"));
/// # drop((put, form));
/// ```
pub struct UploadItem {
    pub(crate) spec: ItemSpec,
    pub(crate) progress: Option<UploadProgress>,
}

impl UploadItem {
    fn new(target: String, method: Method, source: UploadSource) -> Self {
        UploadItem {
            spec: ItemSpec {
                target,
                method,
                source,
                headers: Vec::new(),
                original: false,
                content_type: None,
                recompress: None,
            },
            progress: None,
        }
    }

    /// `PUT` the bytes of `source` to `url` as the raw body.
    pub fn put(url: impl Into<String>, source: impl Into<UploadSource>) -> Self {
        UploadItem::new(url.into(), Method::Put, source.into())
    }

    /// `POST` `source` to `url` as multipart/form-data file field `field`.
    pub fn form(
        url: impl Into<String>,
        field: impl Into<String>,
        source: impl Into<UploadSource>,
    ) -> Self {
        let method = Method::Form {
            field: field.into(),
            fields: Vec::new(),
        };
        UploadItem::new(url.into(), method, source.into())
    }

    /// Adds a text field to a form upload (sent before the file). Ignored for `PUT`.
    #[must_use]
    pub fn form_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Method::Form { fields, .. } = &mut self.spec.method {
            fields.push((name.into(), value.into()));
        }
        self
    }

    /// Adds a request header.
    ///
    /// `Authorization`, `Proxy-Authorization`, `Cookie` and the names in
    /// [`UploadConfig::credential_headers`](crate::UploadConfig::credential_headers) are
    /// credentials: they are sent, but never written to the journal (a retry from the journal
    /// sends the uploader's current [`UploadConfig::headers`](crate::UploadConfig::headers)
    /// instead), and `Debug` output shows `<redacted>` for them. Other headers are journaled,
    /// so that a retry sends the same request; use
    /// [`credential_header`](Self::credential_header) for any other secret (an API key
    /// header, say). Userinfo in the target URL (`https://user:password@host/`) is a
    /// credential too: sent as `Authorization: Basic` (unless the item or the configuration
    /// sends an `Authorization` of its own), never journaled, never shown.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.headers.push(Header::plain(name, value));
        self
    }

    /// Adds a request header whose value is a credential, treated like `Authorization`: sent,
    /// never written to the journal, `<redacted>` in `Debug` output. (Like `http`'s
    /// `HeaderValue::set_sensitive`; the loader's
    /// [`Request::credential_header`](crate::Request::credential_header) is the same mark.)
    ///
    /// ```
    /// let item = webimage::UploadItem::put("https://api.example/a.jpg", "a.jpg")
    ///     .credential_header("X-Api-Key", "s3cr3t");
    /// assert!(!format!("{item:?}").contains("s3cr3t"));
    /// ```
    #[must_use]
    pub fn credential_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.headers.push(Header::credential(name, value));
        self
    }

    /// The former name of [`credential_header`](Self::credential_header).
    #[deprecated(since = "0.1.0", note = "renamed `credential_header`, as on `Request`")]
    #[must_use]
    pub fn sensitive_header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.credential_header(name, value)
    }

    /// Marks the item as an original: when recompression is on, it is never re-encoded at the
    /// fallback quality to fit the byte budget.
    #[must_use]
    pub fn original(mut self, original: bool) -> Self {
        self.spec.original = original;
        self
    }

    /// `Content-Type` of the bytes (of the file part, for a form). Default: guessed from the
    /// bytes (`image/jpeg`, `image/png`, ...), else `application/octet-stream`.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.spec.content_type = Some(content_type.into());
        self
    }

    /// Called on the upload worker as bytes go out, with bytes sent and the total.
    #[must_use]
    pub fn progress(mut self, f: impl FnMut(u64, u64) + Send + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// The target URL.
    pub fn target(&self) -> &str {
        &self.spec.target
    }

    /// The source.
    pub fn source(&self) -> &UploadSource {
        &self.spec.source
    }
}

/// Credential header values are shown as `<redacted>`:
///
/// ```
/// let item = webimage::UploadItem::put("https://api.example/a.jpg", "a.jpg")
///     .header("Authorization", "Bearer s3cr3t");
/// let shown = format!("{item:?}");
/// assert!(shown.contains(r#"("Authorization", "<redacted>")"#) && !shown.contains("s3cr3t"));
/// ```
impl fmt::Debug for UploadItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The uploader's own credential names are not at hand: the built-in ones and marks.
        let rules = HeaderRules::uploads(&[]);
        f.debug_struct("UploadItem")
            .field("target", &url_text::shown(&self.spec.target))
            .field("method", &self.spec.method)
            .field("source", &self.spec.source)
            .field("headers", &Redacted::marked(&self.spec.headers, &rules))
            .field("original", &self.spec.original)
            .finish_non_exhaustive()
    }
}
