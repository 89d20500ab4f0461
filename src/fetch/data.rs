//! `data:` URLs (RFC 2397, as the Fetch standard reads them).
//!
//! Owns: decoding the URL's own text into bytes. Must not touch: anything else; the body is
//! never longer than the URL, which is already in memory.

use super::{BodyLimits, FetchError, Fetched, SchemeFetcher, Target};
use crate::Error;
use crate::url_text;

/// The `data` scheme.
pub(super) struct Data;

impl SchemeFetcher for Data {
    fn fetch(&self, target: &Target<'_>, body: &BodyLimits<'_>) -> Result<Fetched, FetchError> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: url_text::shown(target.raw),
            reason,
            source: None,
        };
        let url = data_url::DataUrl::process(target.url.as_str())
            .map_err(|e| invalid(format!("malformed data URL: {e:?}")))?;
        let (bytes, _fragment) = url
            .decode_to_vec()
            .map_err(|e| invalid(format!("malformed data URL body: {e:?}")))?;
        Ok(Fetched::Body(body.accept(bytes)?, None))
    }
}
