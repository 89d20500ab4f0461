//! Which request headers carry credentials, and how they are shown.
//!
//! Owns: the list of credential headers (`Authorization`, `Cookie`, `Proxy-Authorization`) and
//! [`Redacted`], the `Debug` view of a header list that hides their values. Must not touch:
//! what the rest of the crate does with credentials (cache keys in `key`, redirects in
//! `fetch`, the upload journal).

use std::fmt;

/// The headers that carry credentials.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Whether `name` is a header that carries credentials.
pub(crate) fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name.trim()))
}

/// Headers for `Debug` output, with credential values replaced by `<redacted>`.
pub(crate) struct Redacted<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if is_credential_header(name) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            }))
            .finish()
    }
}
