//! HTTP caching rules for disk entries: is an entry fresh, may a response be stored, and how a
//! `304 Not Modified` updates an entry.
//!
//! Owns: those decisions, made by `http-cache-semantics` (RFC 9111, as a private cache) from
//! the request and response headers kept with each entry. Must not touch: files or the
//! network.
//!
//! One rule is ours: a response that carries no freshness information at all (no
//! `Cache-Control: max-age`/`no-cache`/`must-revalidate`, no `Expires`, no `Pragma: no-cache`)
//! is treated as fresh until the disk cache evicts it, as SDWebImage, Kingfisher and Glide do.
//! Without that rule a plain static-file server, which sends none, would make every cold start
//! download every image again. Responses that do carry freshness information follow the RFC.

use std::time::SystemTime;

use http_cache_semantics::{BeforeRequest, CacheOptions, CachePolicy};
use ureq::http::{HeaderMap, HeaderName, HeaderValue, Request, Response};

use crate::cache::disk::EntryMeta;

/// Response headers never written to disk.
const SECRET_RESPONSE_HEADERS: &[&str] = &["set-cookie", "set-cookie2"];
/// Headers a 304 must not change in the stored response (RFC 9111 4.3.4).
const KEPT_ON_UPDATE: &[&str] = &[
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "content-range",
];

/// Whether an entry can be served without asking the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    Fresh,
    Stale,
}

fn options() -> CacheOptions {
    CacheOptions {
        shared: false,
        ..CacheOptions::default()
    }
}

/// Largest `Age` believed (a year); larger values are clamped, since the freshness arithmetic
/// downstream overflows on absurd ones.
const MAX_AGE_HEADER: u64 = 365 * 24 * 3600;

fn header_map(headers: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("age") {
            let age = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(MAX_AGE_HEADER, |a| a.min(MAX_AGE_HEADER));
            map.append("age", HeaderValue::from(age));
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    map
}

fn request(url: &str, headers: &[(String, Vec<u8>)]) -> Option<Request<()>> {
    let mut request = Request::get(url).body(()).ok()?;
    *request.headers_mut() = header_map(headers);
    Some(request)
}

fn policy(meta: &EntryMeta) -> Option<CachePolicy> {
    let stored_request = request(&meta.url, &meta.request_headers)?;
    let mut response = Response::builder().status(meta.status).body(()).ok()?;
    *response.headers_mut() = header_map(&meta.response_headers);
    Some(CachePolicy::new_options(
        &stored_request,
        &response,
        meta.stored_at,
        options(),
    ))
}

/// The `Cache-Control` directives of the stored response, lower-cased.
fn directives(meta: &EntryMeta) -> Vec<String> {
    meta.response_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cache-control"))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .split(',')
                .map(|d| d.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether a stale copy may be served when revalidation fails (RFC 9111 4.2.4): not if the
/// response said it must be revalidated.
pub(crate) fn may_serve_stale(meta: &EntryMeta) -> bool {
    !directives(meta)
        .iter()
        .any(|d| d == "must-revalidate" || d == "no-cache" || d == "proxy-revalidate")
}

/// Whether the stored response says anything about how long it stays fresh.
fn has_freshness_information(meta: &EntryMeta) -> bool {
    let directives = directives(meta).iter().any(|d| {
        d.starts_with("max-age") || d == "no-cache" || d == "must-revalidate" || d == "no-store"
    });
    let pragma = meta
        .header("pragma")
        .is_some_and(|p| p.to_ascii_lowercase().contains("no-cache"));
    directives || pragma || meta.header("expires").is_some()
}

/// The names a stored response's `Vary` lists, lower case (`*` included as is).
fn vary_names(response_headers: &[(String, Vec<u8>)]) -> impl Iterator<Item = String> + '_ {
    response_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("vary"))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
        })
}

/// The policy of `meta` and the request sending `headers`, as http-cache-semantics sees them.
fn policy_and_request(
    meta: &EntryMeta,
    headers: &[(String, String)],
) -> Option<(CachePolicy, Request<()>)> {
    let current: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    Some((policy(meta)?, request(&meta.url, &current)?))
}

/// Whether the response in `meta` was stored for a request like one sending `headers`: equal
/// values (digests, for credentials) for every header its `Vary` names, and no `Vary: *`.
/// An entry that does not match is another request's, for every cache policy.
pub(crate) fn vary_matches(meta: &EntryMeta, headers: &[(String, String)]) -> bool {
    if vary_names(&meta.response_headers).next().is_none() {
        return true;
    }
    let Some((policy, current)) = policy_and_request(meta, headers) else {
        return false;
    };
    !matches!(
        policy.before_request(&current, SystemTime::now()),
        BeforeRequest::Stale { matches: false, .. }
    )
}

/// Whether `meta` may be served at `now`, without revalidation, to a request sending
/// `headers` (compared with the stored request for the headers the response's `Vary` names).
pub(crate) fn freshness(
    meta: &EntryMeta,
    headers: &[(String, String)],
    now: SystemTime,
) -> Freshness {
    let Some((policy, current)) = policy_and_request(meta, headers) else {
        return Freshness::Stale;
    };
    if !has_freshness_information(meta) {
        // Fresh until evicted, but still only for a request the response does not vary on.
        return match policy.before_request(&current, now) {
            BeforeRequest::Stale { matches: false, .. } => Freshness::Stale,
            _ => Freshness::Fresh,
        };
    }
    match policy.before_request(&current, now) {
        BeforeRequest::Fresh(_) => Freshness::Fresh,
        BeforeRequest::Stale { .. } => Freshness::Stale,
    }
}

/// Whether the response in `meta` may be written to disk (`no-store`, uncacheable status...).
/// A response with `Vary: *` is not: it matches no later request.
pub(crate) fn storable(meta: &EntryMeta) -> bool {
    !vary_names(&meta.response_headers).any(|n| n == "*")
        && policy(meta).is_some_and(|policy| policy.is_storable())
}

/// The conditional headers that revalidate `meta`: `If-None-Match` from its `ETag`,
/// `If-Modified-Since` from its `Last-Modified`.
pub(crate) fn validators(meta: &EntryMeta) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(etag) = meta.header("etag") {
        out.push(("If-None-Match".to_string(), etag.to_string()));
    }
    if let Some(modified) = meta.header("last-modified") {
        out.push(("If-Modified-Since".to_string(), modified.to_string()));
    }
    out
}

/// The metadata to store for a response received at `at`. Of the request headers sent, only
/// those the response's `Vary` names are kept: nothing else is needed to decide whether a later
/// request matches. `sent` must already have its credentials replaced by digests
/// (`key::digest_credentials`): what is stored is compared with a later request's digests, so
/// `Vary: Authorization` works and no credential reaches the disk.
pub(crate) fn entry_meta(
    key: &str,
    url: &str,
    sent: &[(String, String)],
    status: u16,
    headers: &HeaderMap,
    at: SystemTime,
) -> EntryMeta {
    let vary: Vec<String> = headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    EntryMeta {
        key: key.to_string(),
        url: url.to_string(),
        stored_at: at,
        status,
        request_headers: sent
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .filter(|(k, _)| vary.contains(k))
            .map(|(k, v)| (k, v.as_bytes().to_vec()))
            .collect(),
        response_headers: headers
            .iter()
            .filter(|(k, _)| !SECRET_RESPONSE_HEADERS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
    }
}

/// `meta` updated by a `304 Not Modified` received at `at`: the 304's headers replace the
/// stored ones (except those describing the body), and freshness counts from `at`. The old
/// `Age` goes (it described the old response time); the 304's own, if any, replaces it.
pub(crate) fn refreshed(meta: &EntryMeta, not_modified: &HeaderMap, at: SystemTime) -> EntryMeta {
    let mut updated = meta.clone();
    updated.stored_at = at;
    updated
        .response_headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("age"));
    for name in not_modified.keys() {
        let n = name.as_str();
        if KEPT_ON_UPDATE.contains(&n) || SECRET_RESPONSE_HEADERS.contains(&n) {
            continue;
        }
        updated
            .response_headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(n));
        for value in not_modified.get_all(name) {
            updated
                .response_headers
                .push((n.to_string(), value.as_bytes().to_vec()));
        }
    }
    updated
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn meta(headers: &[(&str, &str)], age: u64) -> EntryMeta {
        EntryMeta {
            key: "http://h/a.png".into(),
            url: "http://h/a.png".into(),
            stored_at: SystemTime::now() - Duration::from_secs(age),
            status: 200,
            request_headers: vec![],
            response_headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn max_age_decides_freshness() {
        let now = SystemTime::now();
        let m = meta(&[("cache-control", "max-age=60")], 10);
        assert_eq!(freshness(&m, &[], now), Freshness::Fresh);
        let m = meta(&[("cache-control", "max-age=60")], 120);
        assert_eq!(freshness(&m, &[], now), Freshness::Stale);
        let m = meta(&[("cache-control", "no-cache")], 0);
        assert_eq!(freshness(&m, &[], now), Freshness::Stale);
    }

    #[test]
    fn expires_in_the_past_is_stale() {
        let m = meta(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")], 0);
        assert_eq!(freshness(&m, &[], SystemTime::now()), Freshness::Stale);
    }

    #[test]
    fn no_freshness_information_is_fresh_until_evicted() {
        let m = meta(&[("content-type", "image/png")], 30 * 24 * 3600);
        assert_eq!(freshness(&m, &[], SystemTime::now()), Freshness::Fresh);
    }

    #[test]
    fn an_absurd_age_header_does_not_overflow() {
        let m = meta(
            &[
                ("cache-control", "max-age=60"),
                ("age", "18446744073709551615"),
            ],
            5,
        );
        assert_eq!(freshness(&m, &[], SystemTime::now()), Freshness::Stale);
    }

    #[test]
    fn vary_compares_the_current_request_and_only_varied_headers_are_kept() {
        let mut h = HeaderMap::new();
        h.insert("vary", HeaderValue::from_static("Accept"));
        h.insert("cache-control", HeaderValue::from_static("max-age=600"));
        let sent = vec![
            ("Accept".to_string(), "image/webp".to_string()),
            ("X-Api-Key".to_string(), "secret".to_string()),
        ];
        let now = SystemTime::now();
        let m = entry_meta("k", "http://h/a", &sent, 200, &h, now);
        assert_eq!(
            m.request_headers,
            vec![("accept".to_string(), b"image/webp".to_vec())]
        );
        assert_eq!(freshness(&m, &sent, now), Freshness::Fresh);
        let other = vec![("Accept".to_string(), "image/png".to_string())];
        assert_eq!(freshness(&m, &other, now), Freshness::Stale);
        // Whatever the freshness, Vary alone says whose entry it is.
        assert!(vary_matches(&m, &sent) && !vary_matches(&m, &other));
        h.insert("cache-control", HeaderValue::from_static("max-age=0"));
        let stale = entry_meta("k", "http://h/a", &sent, 200, &h, now);
        assert!(vary_matches(&stale, &sent) && !vary_matches(&stale, &other));
        assert!(vary_matches(&meta(&[("etag", "\"x\"")], 0), &other));
        h.insert("vary", HeaderValue::from_static("Accept, *"));
        let star = entry_meta("k", "http://h/a", &sent, 200, &h, now);
        assert!(!vary_matches(&star, &sent), "Vary: * matches nothing");
        assert!(!storable(&star) && storable(&stale));
    }

    #[test]
    fn must_revalidate_forbids_serving_stale() {
        assert!(may_serve_stale(&meta(
            &[("cache-control", "max-age=60")],
            0
        )));
        assert!(!may_serve_stale(&meta(
            &[("cache-control", "max-age=60, must-revalidate")],
            0
        )));
        assert!(!may_serve_stale(&meta(&[("cache-control", "no-cache")], 0)));
    }

    #[test]
    fn no_store_is_not_storable_and_private_is() {
        assert!(!storable(&meta(&[("cache-control", "no-store")], 0)));
        assert!(storable(&meta(
            &[("cache-control", "private, max-age=60")],
            0
        )));
        assert!(storable(&meta(&[], 0)));
    }

    #[test]
    fn a_304_updates_headers_but_not_the_body_description() {
        let m = meta(
            &[
                ("etag", "\"a\""),
                ("content-length", "10"),
                ("cache-control", "max-age=1"),
            ],
            100,
        );
        let mut h = HeaderMap::new();
        h.insert("cache-control", HeaderValue::from_static("max-age=600"));
        h.insert("content-length", HeaderValue::from_static("0"));
        let now = SystemTime::now();
        let r = refreshed(&m, &h, now);
        assert_eq!(r.header("cache-control"), Some("max-age=600"));
        assert_eq!(r.header("content-length"), Some("10"));
        assert_eq!(r.header("age"), None);
        assert_eq!(freshness(&r, &[], now), Freshness::Fresh);
        assert_eq!(
            validators(&r),
            vec![("If-None-Match".to_string(), "\"a\"".to_string())]
        );
    }
}
