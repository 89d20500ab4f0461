//! `file://` URLs and absolute paths.
//!
//! Owns: opening a local file and reading it through the body limits. Only regular files are
//! read: a FIFO, a device, a socket or a directory is an `Io` error at once (a FIFO would block
//! a worker until some writer appeared; `/dev/zero` would never end). The file is opened
//! without blocking and checked through its open handle, so a path swapped between a check
//! and the open cannot slip past. Must not touch: the disk cache (local files are never copied
//! into it) or decoding.

use std::fs::OpenOptions;

use super::{BodyLimits, FetchError, Fetched, SchemeFetcher, Target};
use crate::error::{Cause, Error};
use crate::url_text;

/// The `file` scheme.
pub(super) struct File;

impl SchemeFetcher for File {
    fn fetch(&self, target: &Target<'_>, body: &BodyLimits<'_>) -> Result<Fetched, FetchError> {
        let raw = target.raw;
        let io_error = |e: std::io::Error| Error::Io {
            url: url_text::shown(raw),
            message: e.to_string(),
            source: Some(Cause::new(e)),
        };
        let path = target.url.to_file_path().map_err(|()| Error::InvalidUrl {
            url: url_text::shown(raw),
            reason: "file URL does not name a local path".into(),
            source: None,
        })?;
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Opening a FIFO for reading blocks until a writer appears; this does not.
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options.open(&path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;
        if !meta.is_file() {
            let kind = if meta.is_dir() {
                "is a directory"
            } else {
                "is not a regular file (a FIFO, device or socket)"
            };
            return Err(Error::Io {
                url: url_text::shown(raw),
                message: kind.into(),
                source: None,
            }
            .into());
        }
        let bytes = body.read(file, Some(meta.len()), io_error)?;
        Ok(Fetched::Body(bytes, None))
    }
}
