//! `file://` URLs and absolute paths.

use std::fs::File;

use super::{BodyLimits, FetchError, Target};
use crate::Error;

pub(super) fn read(target: &Target<'_>, body: BodyLimits<'_>) -> Result<Vec<u8>, FetchError> {
    let raw = target.raw;
    let io_error = |e: std::io::Error| Error::Io {
        url: raw.to_string(),
        message: e.to_string(),
    };
    let path = target.url.to_file_path().map_err(|()| Error::InvalidUrl {
        url: raw.to_string(),
        reason: "file URL does not name a local path".into(),
    })?;
    let file = File::open(&path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if meta.is_dir() {
        return Err(Error::Io {
            url: raw.to_string(),
            message: "is a directory".into(),
        }
        .into());
    }
    body.read(file, Some(meta.len()), io_error)
}
