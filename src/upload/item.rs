//! What one upload is: source, target, method, headers.
//!
//! Owns: [`UploadItem`] and its builder, and the plain-data part of it that the journal keeps.
//! Must not touch: the network or the disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The plain-data description of an upload (what the journal keeps).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemSpec {
    pub(crate) target: String,
    pub(crate) method: Method,
    pub(crate) source: UploadSource,
    pub(crate) headers: Vec<(String, String)>,
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
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.headers.push((name.into(), value.into()));
        self
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

impl fmt::Debug for UploadItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadItem")
            .field("target", &self.spec.target)
            .field("method", &self.spec.method)
            .field("source", &self.spec.source)
            .field("headers", &self.spec.headers)
            .field("original", &self.spec.original)
            .finish()
    }
}
