//! From the URL a caller gives to the key everything else uses.
//!
//! Owns: URL parsing (absolute URLs and absolute file paths), taking URL userinfo out of the
//! URL (it becomes a marked `Authorization: Basic` header), the cache key (the URL without
//! userinfo, after [`Config::cache_key`](crate::Config::cache_key)), and its scope, the
//! keyed digests appended to it ([`Scope`]): one of every credential the request sends
//! (config and request headers that `HeaderRules` calls credentials, the userinfo), so the
//! memory cache, coalescing, the disk cache and the failed-URL list only ever hand a response
//! to callers that sent the same credentials; and one of the request's own other headers, so
//! the memory cache and coalescing only share a response between callers whose requests were
//! the same header for header (the disk key leaves that one out: there `Vary` decides).
//! Requests without credentials or headers of their own keep the plain key. Must not touch:
//! I/O of any kind, or which schemes a loader fetches (the fetch registry decides that).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::KeyFilter;
use crate::error::{Cause, Error};
use crate::headers::{Header, HeaderRules};
use crate::request::CachePolicy;
use crate::url_text;

/// The identity of an image: the filtered URL and its scope. Equal keys share one download,
/// one in-flight job and one cache entry (per decode variant).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(Arc<str>);

/// Starts a key's scope. Parsed URLs never contain a line feed.
const SCOPE_MARK: char = '\n';
/// Starts the digest of the request's own non-credential headers (last in a key).
const HEADERS_MARK: &str = "\nheaders:";

impl Key {
    /// The key of a URL that could not be parsed: the text itself, without userinfo.
    pub(crate) fn unparsed(raw: &str) -> Key {
        Key(url_text::without_userinfo(raw).into())
    }

    /// This key limited by `scope` (unchanged if the scope is empty).
    pub(crate) fn scoped(self, scope: &Scope) -> Key {
        if scope.is_empty() {
            return self;
        }
        Key(format!("{}{}", self.0, scope.suffix()).into())
    }

    /// The disk cache's key: this key without the digest of the request's own shared headers
    /// (on disk a response is matched to a request by its `Vary`, as HTTP caches do).
    pub(crate) fn disk_key(&self) -> &str {
        match self.0.find(HEADERS_MARK) {
            Some(at) => &self.0[..at],
            None => &self.0,
        }
    }

    /// The failed-URL list's key for `raw`, the URL exactly as requested (without userinfo),
    /// with this key's scope: a signed URL's fresh signature is a new entry, and a failure with
    /// some credentials or headers says nothing about a load with others.
    pub(crate) fn failed_key(&self, raw: &str) -> Key {
        let raw = url_text::without_userinfo(raw);
        match self.0.find(SCOPE_MARK) {
            Some(at) => Key(format!("{raw}{}", &self.0[at..]).into()),
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

/// Shown as messages show URLs (a `Token`'s `Debug` prints its key): cut past 1 KiB. A key
/// holds no userinfo, only digests.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&url_text::shown(&self.0), f)
    }
}

/// The identity of an in-flight task: the image key and the cache policy. Callers share a
/// task only when their policies are equal.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TaskKey {
    pub(crate) key: Key,
    pub(crate) policy: CachePolicy,
}

/// A digest of `parts` keyed with `secret`, in hex (128 bits). `domain` keeps digests made
/// for different purposes apart.
fn keyed_digest<'a>(domain: &[u8], secret: &[u8], parts: impl Iterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    hash.update(b"webimage ");
    hash.update(domain);
    hash.update(b" v1\0");
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

/// The digest of `headers` (names without regard to case or order), or `None` if empty.
fn digest_headers<'a>(
    domain: &[u8],
    headers: impl Iterator<Item = &'a Header>,
    secret: &[u8],
) -> Option<String> {
    let mut pairs: Vec<(String, &str)> = headers
        .map(|h| (h.name.trim().to_ascii_lowercase(), h.value.as_str()))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    pairs.sort();
    let parts = pairs
        .iter()
        .flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()]);
    Some(keyed_digest(domain, secret, parts))
}

/// What a request's key is limited by: the keyed digest of every credential it sends, and
/// that of its own other headers. Both `None` for a request with neither.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    credentials: Option<String>,
    headers: Option<String>,
}

impl Scope {
    /// Whether the scope limits nothing (a request without credentials or headers of its own).
    pub(crate) fn is_empty(&self) -> bool {
        self.credentials.is_none() && self.headers.is_none()
    }

    /// What a key limited by this scope ends with (empty for an empty scope).
    pub(crate) fn suffix(&self) -> String {
        let mut text = String::new();
        if let Some(digest) = &self.credentials {
            text.push(SCOPE_MARK);
            text.push_str("credentials:");
            text.push_str(digest);
        }
        if let Some(digest) = &self.headers {
            text.push_str(HEADERS_MARK);
            text.push_str(digest);
        }
        text
    }

    /// The scope of a request sending `config` (the loader's headers, the same for every
    /// request) and `own` (the request's, the userinfo's `Authorization` among them).
    pub(crate) fn of(
        config: &[Header],
        own: &[Header],
        rules: &HeaderRules,
        secret: &[u8],
    ) -> Scope {
        let credentials = config.iter().chain(own).filter(|h| rules.is_credential(h));
        Scope {
            credentials: digest_headers(b"credential scope", credentials, secret),
            headers: digest_headers(
                b"header scope",
                own.iter().filter(|h| !rules.is_credential(h)),
                secret,
            ),
        }
    }
}

/// `headers` as name and value pairs, every credential value replaced by its keyed digest:
/// what the disk cache stores and compares for a response's `Vary`, so a response that varies
/// on `Authorization` or `X-Api-Key` is only served to the same value, and no credential is
/// ever written to disk.
pub(crate) fn digest_credentials(
    headers: &[Header],
    rules: &HeaderRules,
    secret: &[u8],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            if rules.is_credential(h) {
                let digest = keyed_digest(
                    b"credential scope",
                    secret,
                    [h.value.as_bytes()].into_iter(),
                );
                (h.name.clone(), format!("digest:{digest}"))
            } else {
                (h.name.clone(), h.value.clone())
            }
        })
        .collect()
}

/// A parsed URL and its key, before scoping.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The URL to fetch, without userinfo.
    pub(crate) url: Url,
    /// Its key, not yet scoped.
    pub(crate) key: Key,
    /// The URL's userinfo as the `Authorization: Basic` header it is sent as, marked a
    /// credential.
    pub(crate) userinfo: Option<Header>,
}

/// Takes the userinfo out of `url`: the `Authorization: Basic` header it stands for (user and
/// password percent-decoded, as browsers send them), if it has any.
fn take_userinfo(url: &mut Url) -> Option<Header> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut pair: Vec<u8> = percent_encoding::percent_decode_str(url.username()).collect();
    pair.push(b':');
    pair.extend(percent_encoding::percent_decode_str(
        url.password().unwrap_or(""),
    ));
    // Special schemes (the only ones with userinfo we fetch) always allow clearing it.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let value = format!("Basic {}", BASE64.encode(pair));
    Some(Header::credential("Authorization", value))
}

/// `raw` without its userinfo, and the `Authorization: Basic` header the userinfo stands for;
/// `None` if `raw` is not a URL with userinfo.
pub(crate) fn split_userinfo(raw: &str) -> Option<(String, Header)> {
    if !url_text::has_userinfo(raw) {
        return None;
    }
    let mut url = Url::parse(raw).ok()?;
    let basic = take_userinfo(&mut url)?;
    Some((url.into(), basic))
}

/// The URL and unscoped key of `raw` (unit tests of other parts make keys with it).
#[cfg(test)]
pub(crate) fn resolve(raw: &str, filter: Option<&KeyFilter>) -> Result<(Url, Key), Error> {
    parse(raw, filter).map(|r| (r.url, r.key))
}

/// Parses `raw` (an absolute URL, or an absolute file path) and computes its key. Whether the
/// scheme is one the loader fetches is checked by the caller.
pub(crate) fn parse(raw: &str, filter: Option<&KeyFilter>) -> Result<Resolved, Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: url_text::shown(raw),
        reason,
        source: None,
    };
    let mut url = match Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) if Path::new(raw).is_absolute() => {
            Url::from_file_path(raw).map_err(|()| invalid("not a usable file path".into()))?
        }
        Err(e) => {
            return Err(Error::InvalidUrl {
                url: url_text::shown(raw),
                reason: e.to_string(),
                source: Some(Cause::new(e)),
            });
        }
    };
    if url.scheme() == "file" {
        url.to_file_path()
            .map_err(|()| invalid("file URL does not name a local path".into()))?;
    }
    let userinfo = take_userinfo(&mut url);
    let key = match filter {
        Some(filter) => filter.apply(&url),
        None => url.as_str().to_string(),
    };
    Ok(Resolved {
        url,
        key: Key(key.into()),
        userinfo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_become_file_urls() {
        let r = parse("/tmp/a b.png", None).unwrap();
        assert_eq!(r.url.scheme(), "file");
        assert_eq!(r.key.as_str(), "file:///tmp/a%20b.png");
    }

    #[test]
    fn rejects_relative_urls() {
        assert!(matches!(
            parse("a.png", None),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse("http://", None),
            Err(Error::InvalidUrl { .. })
        ));
    }

    fn scope(config: &[Header], own: &[Header]) -> Scope {
        Scope::of(config, own, &HeaderRules::downloads(&[], &[]), &[7u8; 32])
    }

    #[test]
    fn credentials_scope_keys_and_never_appear_in_them() {
        let secret = [7u8; 32];
        assert_eq!(scope(&[], &[]), Scope::default());
        let alice = [Header::plain("Authorization", "Bearer alice")];
        let bob = [Header::plain("authorization", "Bearer bob")];
        let sa = scope(&[], &alice);
        assert!(sa.credentials.is_some() && sa.headers.is_none());
        assert_ne!(sa, scope(&[], &bob));
        assert_eq!(
            sa,
            scope(&alice, &[]),
            "from the config or the request alike"
        );
        let other_secret = Scope::of(&[], &alice, &HeaderRules::downloads(&[], &[]), &[8; 32]);
        assert_ne!(sa, other_secret);
        let key = parse("https://h/x.jpg", None).unwrap().key;
        let scoped = key.clone().scoped(&sa);
        assert_ne!(scoped, key);
        assert!(!scoped.as_str().contains("alice"));
        assert_eq!(key.clone().scoped(&Scope::default()), key);
        assert_eq!(scoped.disk_key(), scoped.as_str());
        let failed = scoped.failed_key("https://h/x.jpg?sig=1");
        assert!(failed.as_str().starts_with("https://h/x.jpg?sig=1\n"));
        assert_eq!(
            key.failed_key("https://h/x.jpg?sig=1").as_str(),
            "https://h/x.jpg?sig=1"
        );
        let digested = digest_credentials(&alice, &HeaderRules::downloads(&[], &[]), &secret);
        assert!(!format!("{digested:?}").contains("alice"));
    }

    #[test]
    fn unlisted_headers_scope_like_credentials_and_shared_ones_only_in_memory() {
        let api = |v: &str| [Header::plain("X-Api-Key", v)];
        assert!(scope(&[], &api("a")).credentials.is_some());
        assert_ne!(scope(&[], &api("a")), scope(&[], &api("b")));
        // A shared header of the request's own: the memory key has it, the disk key not.
        let fr = [Header::plain("Accept-Language", "fr")];
        let s = scope(&[], &fr);
        assert!(s.credentials.is_none() && s.headers.is_some());
        assert_ne!(s, scope(&[], &[Header::plain("accept-language", "de")]));
        assert_eq!(
            scope(&fr, &[]),
            Scope::default(),
            "the loader's own are everyone's"
        );
        let key = parse("https://h/x.jpg", None).unwrap().key;
        let both = [
            Header::plain("Cookie", "c"),
            Header::plain("Accept", "image/*"),
        ];
        let scoped = key.clone().scoped(&scope(&[], &both));
        assert_ne!(scoped.as_str(), scoped.disk_key());
        assert_eq!(
            scoped.disk_key(),
            key.clone().scoped(&scope(&[], &both[..1])).as_str()
        );
        assert!(
            scoped
                .failed_key("https://h/x.jpg")
                .as_str()
                .contains(HEADERS_MARK)
        );
        // Marked a credential, a shared name scopes the disk key too.
        let marked = [Header::credential("Accept-Language", "fr")];
        assert!(scope(&[], &marked).credentials.is_some());
    }

    #[test]
    fn userinfo_leaves_the_url_and_the_key_for_a_basic_header() {
        let r = parse("http://al%40ice:hunter%3A2@h:8080/x.jpg", None).unwrap();
        assert_eq!(r.url.as_str(), "http://h:8080/x.jpg");
        assert_eq!(r.key.as_str(), "http://h:8080/x.jpg");
        let basic = r.userinfo.unwrap();
        assert!(basic.credential && basic.is("authorization"));
        assert_eq!(
            basic.value,
            format!("Basic {}", BASE64.encode("al@ice:hunter:2"))
        );
        let bare = parse("http://bob@h/", None).unwrap().userinfo.unwrap();
        assert_eq!(bare.value, format!("Basic {}", BASE64.encode("bob:")));
        assert!(parse("http://h/", None).unwrap().userinfo.is_none());
        let filtered = parse(
            "http://a:b@h/x?sig=1",
            Some(&KeyFilter::strip_query(&["sig"])),
        )
        .unwrap();
        assert_eq!(filtered.key.as_str(), "http://h/x");
        let unparsed = Key::unparsed("http://alice:hunter2@[::1/x");
        assert!(!unparsed.as_str().contains("hunter2"));
        let failed = filtered.key.failed_key("http://a:b@h/x?sig=1");
        assert_eq!(failed.as_str(), "http://h/x?sig=1");
    }

    #[test]
    fn filter_maps_urls_to_one_key() {
        let filter = KeyFilter::strip_query(&["sig"]);
        let key = |url: &str| parse(url, Some(&filter)).unwrap().key;
        let (a, b, c) = (
            key("https://h/x.jpg?sig=1"),
            key("https://h/x.jpg?sig=2"),
            key("https://h/x.jpg?w=2&sig=2"),
        );
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "https://h/x.jpg");
        assert_eq!(c.as_str(), "https://h/x.jpg?w=2");
    }
}
