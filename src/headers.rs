//! Which request headers carry credentials, and how they are shown.
//!
//! Owns: the one rule that says whether a request header is a credential ([`HeaderRules`]),
//! for downloads and uploads alike; [`Header`], a request header with the mark a caller can
//! put on it (`Request::credential_header`, `UploadItem::credential_header`); and
//! [`Redacted`], the `Debug` view of a header list that hides credential values. Must not
//! touch: what the rest of the crate does with credentials (cache keys and digests in `key`,
//! redirects in `fetch`, the upload journal).
//!
//! A header is a credential when the caller marked it, when it is one of
//! [`CREDENTIAL_HEADERS`] or the configuration's `credential_headers`, and, for downloads,
//! when it is none of the known-harmless [`SHARED_HEADERS`] nor the configuration's
//! `shared_headers`: a header nobody vouched for may select per-user content (an `X-Api-Key`
//! answered per user), so it is treated as a credential until declared shared. Uploads have
//! no cache to share and journal unlisted headers so that a retry sends the same request; for
//! them only named and marked headers are credentials.

use std::fmt;

/// Headers that are always credentials, whatever the configuration says.
pub(crate) const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Request headers known to be harmless for downloads: their values are no secret and are the
/// same for every user of an app. Anything else is a credential unless the configuration's
/// `shared_headers` names it. `User-Agent` is the loader's own; the others are content
/// negotiation, caching directives and client hints.
pub(crate) const SHARED_HEADERS: [&str; 11] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "dnt",
    "dpr",
    "pragma",
    "save-data",
    "user-agent",
    "viewport-width",
    "width",
];

/// What `Debug` output shows instead of a credential's value.
pub(crate) const REDACTED: &str = "<redacted>";

/// One request header, with the caller's mark.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) value: String,
    /// Marked a credential by the caller, whatever its name.
    pub(crate) credential: bool,
}

impl Header {
    /// A header that is a credential only if its name says so.
    pub(crate) fn plain(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
            credential: false,
        }
    }

    /// A header marked a credential.
    pub(crate) fn credential(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            credential: true,
            ..Header::plain(name, value)
        }
    }

    /// Whether this header's name is `name`, compared without regard to case.
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.trim().eq_ignore_ascii_case(name)
    }
}

/// Internal `Debug` (in a job's or a response's derived `Debug`): redacted by the strictest
/// rule, since the configuration is not at hand.
impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = HeaderRules::downloads(&[], &[]).is_credential(self);
        let value = if secret { REDACTED } else { &self.value };
        fmt::Debug::fmt(&(&self.name, value), f)
    }
}

/// Which headers are credentials, for one loader or uploader. Names are kept trimmed and in
/// lower case.
#[derive(Clone, Debug)]
pub(crate) struct HeaderRules {
    credential: Vec<String>,
    shared: Vec<String>,
    /// Whether a header on neither list is a credential (downloads) or not (uploads).
    unlisted_are_credentials: bool,
}

fn lower(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect()
}

impl HeaderRules {
    /// The rules of a loader: `credential` and `shared` are
    /// [`Config::credential_headers`](crate::Config::credential_headers) and
    /// [`Config::shared_headers`](crate::Config::shared_headers).
    pub(crate) fn downloads(credential: &[String], shared: &[String]) -> HeaderRules {
        HeaderRules {
            credential: lower(credential),
            shared: lower(shared),
            unlisted_are_credentials: true,
        }
    }

    /// The rules of an uploader:
    /// [`UploadConfig::credential_headers`](crate::UploadConfig::credential_headers).
    pub(crate) fn uploads(credential: &[String]) -> HeaderRules {
        HeaderRules {
            credential: lower(credential),
            shared: Vec::new(),
            unlisted_are_credentials: false,
        }
    }

    /// Whether a header called `name` (not marked) is a credential.
    pub(crate) fn is_credential_name(&self, name: &str) -> bool {
        let name = name.trim();
        let named = |list: &[&str]| list.iter().any(|n| n.eq_ignore_ascii_case(name));
        let listed = |list: &[String]| list.iter().any(|n| n.eq_ignore_ascii_case(name));
        if named(&CREDENTIAL_HEADERS) || listed(&self.credential) {
            return true;
        }
        if named(&SHARED_HEADERS) || listed(&self.shared) {
            return false;
        }
        self.unlisted_are_credentials
    }

    /// Whether `header` is a credential: marked, or by its name.
    pub(crate) fn is_credential(&self, header: &Header) -> bool {
        header.credential || self.is_credential_name(&header.name)
    }
}

/// Headers for `Debug` output, from `(name, value, credential)`: a list of `(name, value)`
/// pairs, credential values shown as `<redacted>`.
pub(crate) struct Redacted<'a>(pub(crate) Vec<(&'a str, &'a str, bool)>);

impl<'a> Redacted<'a> {
    /// `headers` (name and value pairs, as in `Config::headers`) under `rules`.
    pub(crate) fn pairs(headers: &'a [(String, String)], rules: &HeaderRules) -> Self {
        Redacted(
            headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str(), rules.is_credential_name(n)))
                .collect(),
        )
    }

    /// `headers` under `rules`, marks included.
    pub(crate) fn marked(headers: &'a [Header], rules: &HeaderRules) -> Self {
        Redacted(
            headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_str(), rules.is_credential(h)))
                .collect(),
        )
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|&(name, value, secret)| (name, if secret { REDACTED } else { value })),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_headers_are_credentials_for_downloads_only() {
        let rules = HeaderRules::downloads(&["Accept".into()], &[" X-Client ".into()]);
        for (name, credential) in [
            ("Authorization", true),
            (" COOKIE ", true),
            ("X-Api-Key", true),
            ("Accept", true), // named a credential: that wins over the shared list
            ("Accept-Language", false),
            ("user-agent", false),
            ("x-client", false),
        ] {
            assert_eq!(rules.is_credential_name(name), credential, "{name}");
        }
        assert!(rules.is_credential(&Header::credential("Accept-Language", "fr")));
        let uploads = HeaderRules::uploads(&["X-Secret".into()]);
        assert!(uploads.is_credential_name("proxy-authorization"));
        assert!(uploads.is_credential_name("x-secret"));
        assert!(!uploads.is_credential_name("x-amz-acl"));
        assert!(uploads.is_credential(&Header::credential("x-amz-acl", "private")));
    }

    #[test]
    fn debug_shows_only_what_is_not_a_credential() {
        let headers = vec![
            Header::plain("X-Api-Key", "k-1"),
            Header::plain("Accept", "image/*"),
            Header::credential("Accept-Language", "fr-secret"),
        ];
        let text = format!(
            "{:?} {headers:?}",
            Redacted::marked(&headers, &HeaderRules::downloads(&[], &[]))
        );
        assert!(
            !text.contains("k-1") && !text.contains("fr-secret"),
            "{text}"
        );
        assert!(
            text.contains("image/*") && text.contains(REDACTED),
            "{text}"
        );
        let shared = HeaderRules::downloads(&[], &["x-api-key".into()]);
        assert!(format!("{:?}", Redacted::marked(&headers, &shared)).contains("k-1"));
    }
}
