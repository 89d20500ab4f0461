//! `file://` URLs and absolute paths.
//!
//! Owns: opening a local file and reading it through the body limits. Must not touch: the
//! disk cache (local files are never copied into it) or decoding.

use super::{BodyLimits, FetchError, Fetched, SchemeFetcher, Target};
use crate::error::{Cause, Error};

/// The `file` scheme.
pub(super) struct File;

impl SchemeFetcher for File {
    fn fetch(&self, target: &Target<'_>, body: &BodyLimits<'_>) -> Result<Fetched, FetchError> {
        let raw = target.raw;
        let io_error = |e: std::io::Error| Error::Io {
            url: raw.to_string(),
            message: e.to_string(),
            source: Some(Cause::new(e)),
        };
        let path = target.url.to_file_path().map_err(|()| Error::InvalidUrl {
            url: raw.to_string(),
            reason: "file URL does not name a local path".into(),
            source: None,
        })?;
        let file = std::fs::File::open(&path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;
        if meta.is_dir() {
            return Err(Error::Io {
                url: raw.to_string(),
                message: "is a directory".into(),
                source: None,
            }
            .into());
        }
        let bytes = body.read(file, Some(meta.len()), io_error)?;
        Ok(Fetched::Body(bytes, None))
    }
}
