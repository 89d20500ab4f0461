//! The text of a URL as it may be kept or shown.
//!
//! Owns: finding a URL's userinfo (`user:password@`) in its text, even in text the URL parser
//! refuses; the text without it (what keys and the failed-URL list keep), and the text
//! errors and `Debug` output show: userinfo replaced by `<redacted>`, and at most
//! [`MAX_SHOWN`] bytes (a `data:` URL of a megabyte is not quoted whole in every message).
//! Must not touch: parsing URLs to load them (`key`) or building errors (`error` calls
//! [`shown`]).
//!
//! The userinfo is found the way the WHATWG URL parser finds it: tabs and newlines are
//! ignored; for the special schemes (`http`, `https`, `ws`, `wss`, `ftp`, `file`) the
//! authority starts after any number of slashes or backslashes (`http:alice:pw@host` is
//! `http://alice:pw@host/`), for others only after `//`; it ends at the first `/`, `?` or `#`
//! (or `\` for special schemes), and the userinfo runs to its last `@`.

use std::borrow::Cow;
use std::ops::Range;

/// Longest URL text an error message or `Debug` output quotes, in bytes; a longer URL is cut
/// and says how long it was.
pub(crate) const MAX_SHOWN: usize = 1024;

/// What a message shows in place of a URL's userinfo.
const REDACTED_USERINFO: &str = "<redacted>@";

const SPECIAL_SCHEMES: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];

/// `raw` without the tabs and newlines the URL parser ignores.
fn cleaned(raw: &str) -> Cow<'_, str> {
    if raw.contains(['\t', '\n', '\r']) {
        Cow::Owned(raw.replace(['\t', '\n', '\r'], ""))
    } else {
        Cow::Borrowed(raw)
    }
}

/// The byte range of the userinfo in `text` (already [`cleaned`]), its final `@` included.
fn userinfo(text: &str) -> Option<Range<usize>> {
    let start = text.len() - text.trim_start_matches(|c: char| c <= ' ').len();
    let colon = start + text[start..].find(':')?;
    let scheme = &text[start..colon];
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let special = SPECIAL_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme));
    let after = colon + 1;
    let authority = if special {
        after + (text.len() - after - text[after..].trim_start_matches(['/', '\\']).len())
    } else if text[after..].starts_with("//") {
        after + 2
    } else {
        return None;
    };
    let rest = &text[authority..];
    let end = rest
        .find(|c: char| matches!(c, '/' | '?' | '#') || (special && c == '\\'))
        .unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some(authority..authority + at + 1)
}

/// Whether `raw` carries userinfo.
pub(crate) fn has_userinfo(raw: &str) -> bool {
    raw.contains('@') && userinfo(&cleaned(raw)).is_some()
}

/// `raw` without its userinfo (and without tabs and newlines if it had any); `raw` itself if
/// it has none.
pub(crate) fn without_userinfo(raw: &str) -> Cow<'_, str> {
    if !raw.contains('@') {
        return Cow::Borrowed(raw);
    }
    let text = cleaned(raw);
    match userinfo(&text) {
        Some(range) => Cow::Owned(format!("{}{}", &text[..range.start], &text[range.end..])),
        None => Cow::Borrowed(raw),
    }
}

/// `raw` as an error message or `Debug` output shows it: userinfo replaced by
/// `<redacted>`, cut to [`MAX_SHOWN`] bytes.
pub(crate) fn shown(raw: &str) -> String {
    let redacted: Cow<'_, str> = if raw.contains('@') {
        let text = cleaned(raw);
        match userinfo(&text) {
            Some(range) => Cow::Owned(format!(
                "{}{REDACTED_USERINFO}{}",
                &text[..range.start],
                &text[range.end..]
            )),
            None => Cow::Borrowed(raw),
        }
    } else {
        Cow::Borrowed(raw)
    };
    if redacted.len() <= MAX_SHOWN {
        return redacted.into_owned();
    }
    let mut cut = MAX_SHOWN - 48;
    while !redacted.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes in all)", &redacted[..cut], redacted.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_found_where_the_url_parser_finds_it() {
        for (raw, expected) in [
            ("http://alice:hunter2@h/x", "http://<redacted>@h/x"),
            (
                "HTTPS://alice@h:8080/x?a@b",
                "HTTPS://<redacted>@h:8080/x?a@b",
            ),
            ("http:alice:hunter2@h/x", "http:<redacted>@h/x"),
            ("http:\\\\alice:hunter2@h/x", "http:\\\\<redacted>@h/x"),
            ("  http://a@b@h/", "  http://<redacted>@h/"),
            ("ht\ttp://alice:hun\nter2@h/", "http://<redacted>@h/"),
            ("http://alice:hunter2@[::1/x", "http://<redacted>@[::1/x"),
            ("foo://alice:hunter2@h/x", "foo://<redacted>@h/x"),
            ("http://h/a@b", "http://h/a@b"),
            ("http://h?a@b", "http://h?a@b"),
            ("http://h#a@b", "http://h#a@b"),
            ("data:text/plain,a@b", "data:text/plain,a@b"),
            ("mailto:a@b", "mailto:a@b"),
            ("/tmp/a@b.png", "/tmp/a@b.png"),
            ("1http://a@b", "1http://a@b"),
        ] {
            assert_eq!(shown(raw), expected, "{raw:?}");
            let kept = without_userinfo(raw);
            assert!(
                !kept.contains("hunter2") && !kept.contains("alice"),
                "{raw:?}"
            );
            assert_eq!(
                has_userinfo(raw),
                expected.contains("<redacted>"),
                "{raw:?}"
            );
        }
        assert_eq!(without_userinfo("http://alice:pw@h/x"), "http://h/x");
        assert_eq!(without_userinfo("http://h/x@y"), "http://h/x@y");
        assert!(matches!(without_userinfo("http://h/x"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_parsable_url_with_userinfo_is_redacted() {
        // Cross-check against the parser: whatever it reads as userinfo, we find.
        for raw in [
            "http://u:p@h/",
            "http:/u:p@h/",
            "http:///u:p@h/",
            "https:\\/u:p@h/",
            "ws://u@h",
            "ftp://u:p@h:21/f",
            "http://u:p%40x@h/",
            "http://u@p@h/",
        ] {
            let url = url::Url::parse(raw).unwrap();
            assert!(!url.username().is_empty(), "{raw}");
            assert!(has_userinfo(raw), "{raw}");
            let kept = url::Url::parse(&without_userinfo(raw)).unwrap();
            assert_eq!((kept.username(), kept.password()), ("", None), "{raw}");
            assert_eq!(kept.host_str(), url.host_str(), "{raw}");
        }
    }

    #[test]
    fn long_urls_are_cut_on_a_character_boundary() {
        let long = format!("data:text/plain,{}", "é".repeat(5000));
        let text = shown(&long);
        assert!(text.len() <= MAX_SHOWN, "{}", text.len());
        assert!(text.starts_with("data:text/plain,é"));
        assert!(
            text.ends_with(&format!("({} bytes in all)", long.len())),
            "{text}"
        );
        let exact = "x".repeat(MAX_SHOWN);
        assert_eq!(shown(&exact), exact);
    }
}
