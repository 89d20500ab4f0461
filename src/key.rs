//! From the URL a caller gives to the key everything else uses.
//!
//! Owns: URL parsing (absolute URLs and absolute file paths), the cache key (the URL after
//! [`Config::cache_key`](crate::Config::cache_key)), and its credential scope: a request that
//! sends `Authorization`, `Cookie` or `Proxy-Authorization` gets a keyed digest of those
//! values added to its key, so coalescing, the memory cache, the disk cache and the failed-URL
//! list only ever hand a response to callers that sent the same credentials. Requests without
//! credentials keep the plain key. Must not touch: I/O of any kind, or which schemes a loader
//! fetches (the fetch registry decides that).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use url::Url;

use crate::config::KeyFilter;
use crate::error::{Cause, Error};
use crate::headers::is_credential_header;
use crate::request::CachePolicy;

/// The identity of an image: the filtered URL. Equal keys share one download, one in-flight
/// job and one cache entry (per decode variant).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(Arc<str>);

/// Separates a key's URL from its credential scope. Parsed URLs never contain a line feed.
const SCOPE_MARK: char = '\n';

impl Key {
    /// The key of a URL that could not be parsed: the text itself.
    pub(crate) fn unparsed(raw: &str) -> Key {
        Key(raw.into())
    }

    /// This key limited to callers whose credentials digest to `scope` (unchanged if `None`).
    pub(crate) fn scoped(self, scope: Option<&str>) -> Key {
        match scope {
            None => self,
            Some(scope) => Key(format!("{}{SCOPE_MARK}credentials:{scope}", self.0).into()),
        }
    }

    /// The failed-URL list's key for `raw`, the URL exactly as requested, with this key's
    /// credential scope: a signed URL's fresh signature is a new entry, and a failure without
    /// credentials says nothing about a load with them.
    pub(crate) fn failed_key(&self, raw: &str) -> Key {
        match self.0.split_once(SCOPE_MARK) {
            Some((_, scope)) => Key(format!("{raw}{SCOPE_MARK}{scope}").into()),
            None => Key(raw.into()),
        }
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

/// A digest of `parts` keyed with `secret`, in hex (128 bits).
fn keyed_digest<'a>(secret: &[u8], parts: impl Iterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    hash.update(b"webimage credential scope v1\0");
    hash.update(secret);
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The credential scope of a request sending `headers`: a digest (keyed with `secret`) of its
/// credential headers' names and values, or `None` when it sends none.
pub(crate) fn credential_scope<'a>(
    headers: impl Iterator<Item = &'a (String, String)>,
    secret: &[u8],
) -> Option<String> {
    let mut creds: Vec<(String, &str)> = headers
        .filter(|(name, _)| is_credential_header(name))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.as_str()))
        .collect();
    if creds.is_empty() {
        return None;
    }
    creds.sort();
    let parts = creds
        .iter()
        .flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()]);
    Some(keyed_digest(secret, parts))
}

/// `headers` with every credential value replaced by its keyed digest: what the disk cache
/// stores and compares for a response's `Vary`, so a response that varies on `Authorization`
/// is only served to the same `Authorization`, and no credential is ever written to disk.
pub(crate) fn digest_credentials(
    headers: &[(String, String)],
    secret: &[u8],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            if is_credential_header(name) {
                let digest = keyed_digest(secret, [value.as_bytes()].into_iter());
                (name.clone(), format!("digest:{digest}"))
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
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
    fn credentials_scope_keys_and_never_appear_in_them() {
        let secret = [7u8; 32];
        let plain = [("Accept".to_string(), "image/*".to_string())];
        assert_eq!(credential_scope(plain.iter(), &secret), None);
        let a = vec![("Authorization".to_string(), "Bearer alice".to_string())];
        let b = [("authorization".to_string(), "Bearer bob".to_string())];
        let sa = credential_scope(a.iter(), &secret).unwrap();
        let sb = credential_scope(b.iter(), &secret).unwrap();
        assert_ne!(sa, sb);
        assert_eq!(sa, credential_scope(a.iter(), &secret).unwrap());
        assert_ne!(sa, credential_scope(a.iter(), &[8u8; 32]).unwrap());
        let (_, key) = resolve("https://h/x.jpg", None).unwrap();
        let scoped = key.clone().scoped(Some(&sa));
        assert_ne!(scoped, key);
        assert!(!scoped.as_str().contains("alice"));
        assert_eq!(key.clone().scoped(None), key);
        let failed = scoped.failed_key("https://h/x.jpg?sig=1");
        assert!(failed.as_str().starts_with("https://h/x.jpg?sig=1\n"));
        assert_eq!(
            key.failed_key("https://h/x.jpg?sig=1").as_str(),
            "https://h/x.jpg?sig=1"
        );
        let digested = digest_credentials(&a, &secret);
        assert!(!format!("{digested:?}").contains("alice"));
        assert!(!format!("{:?}", crate::headers::Redacted(&a)).contains("alice"));
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
