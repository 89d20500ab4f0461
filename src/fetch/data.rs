//! `data:` URLs (RFC 2397, as the Fetch standard reads them).

use super::{BodyLimits, FetchError, Target};
use crate::Error;

pub(super) fn decode(target: &Target<'_>, body: BodyLimits<'_>) -> Result<Vec<u8>, FetchError> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: target.raw.to_string(),
        reason,
    };
    let url = data_url::DataUrl::process(target.url.as_str())
        .map_err(|e| invalid(format!("malformed data URL: {e:?}")))?;
    // The decoded body is never longer than the URL text, which is already in memory.
    let (bytes, _fragment) = url
        .decode_to_vec()
        .map_err(|e| invalid(format!("malformed data URL body: {e:?}")))?;
    body.accept(bytes)
}
