//! From the URL a caller gives to the key everything else uses.
//!
//! Owns: URL parsing (absolute URLs and absolute file paths), and the cache key (the URL after
//! [`Config::cache_key`](crate::Config::cache_key)). Must not touch: I/O of any kind, or which
//! schemes a loader fetches (the fetch registry decides that).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use url::Url;

use crate::config::KeyFilter;
use crate::error::{Cause, Error};
use crate::request::CachePolicy;

/// The identity of an image: the filtered URL. Equal keys share one download, one in-flight
/// job and one cache entry (per decode variant).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(Arc<str>);

impl Key {
    /// The key of a URL that could not be parsed: the text itself.
    pub(crate) fn unparsed(raw: &str) -> Key {
        Key(raw.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's text, shared.
    pub(crate) fn text(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The identity of an in-flight task: the image key and the cache policy. Callers share a
/// task only when their policies are equal.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TaskKey {
    pub(crate) key: Key,
    pub(crate) policy: CachePolicy,
}

/// Parses `raw` (an absolute URL, or an absolute file path) and computes its key. Whether the
/// scheme is one the loader fetches is checked by the caller.
pub(crate) fn resolve(raw: &str, filter: Option<&KeyFilter>) -> Result<(Url, Key), Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: raw.to_string(),
        reason,
        source: None,
    };
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) if Path::new(raw).is_absolute() => {
            Url::from_file_path(raw).map_err(|()| invalid("not a usable file path".into()))?
        }
        Err(e) => {
            return Err(Error::InvalidUrl {
                url: raw.to_string(),
                reason: e.to_string(),
                source: Some(Cause::new(e)),
            });
        }
    };
    if url.scheme() == "file" {
        url.to_file_path()
            .map_err(|()| invalid("file URL does not name a local path".into()))?;
    }
    let key = match filter {
        Some(filter) => filter.apply(&url),
        None => url.as_str().to_string(),
    };
    Ok((url, Key(key.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_become_file_urls() {
        let (url, key) = resolve("/tmp/a b.png", None).unwrap();
        assert_eq!(url.scheme(), "file");
        assert_eq!(key.as_str(), "file:///tmp/a%20b.png");
    }

    #[test]
    fn rejects_relative_urls() {
        assert!(matches!(
            resolve("a.png", None),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            resolve("http://", None),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn filter_maps_urls_to_one_key() {
        let filter = KeyFilter::strip_query(&["sig"]);
        let (_, a) = resolve("https://h/x.jpg?sig=1", Some(&filter)).unwrap();
        let (_, b) = resolve("https://h/x.jpg?sig=2", Some(&filter)).unwrap();
        let (_, c) = resolve("https://h/x.jpg?w=2&sig=2", Some(&filter)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "https://h/x.jpg");
        assert_eq!(c.as_str(), "https://h/x.jpg?w=2");
    }
}
