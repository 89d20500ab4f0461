//! Issue 18, point 1: URL userinfo (`http://alice:hunter2@host/`) is a credential
//! everywhere: sent as `Authorization: Basic`, scoping every cache, never in keys, entry
//! files, the upload journal, errors or `Debug` output; and URL text in error messages is
//! bounded.

use crate::support::*;
use webimage::{CachePolicy, Config, Error, ImageLoader, Request, Source};

/// A route answering per Basic credentials: alice 10x10, bob 20x20, nobody 30x30.
fn per_basic_user(server: &Server, path: &str) {
    const SIDES: &[(&str, u32)] = &[
        ("Basic YWxpY2U6aHVudGVyMg==", 10), // alice:hunter2
        ("Basic Ym9iOnB3LW9mLWJvYg==", 20), // bob:pw-of-bob
    ];
    per_user_route(server, path, "authorization", SIDES, None);
}

/// `http://<userinfo>@127.0.0.1:port<path>`.
fn with_userinfo(server: &Server, userinfo: &str, path: &str) -> String {
    server
        .url(path)
        .replacen("http://", &format!("http://{userinfo}@"), 1)
}

#[test]
fn url_userinfo_is_sent_as_basic_auth_and_scopes_every_cache() {
    let server = Server::start();
    per_basic_user(&server, "/u.png");
    let dir = TempDir::new("userinfo");
    let alice = with_userinfo(&server, "alice:hunter2", "/u.png");
    let bob = with_userinfo(&server, "bob:pw-of-bob", "/u.png");
    let plain = server.url("/u.png");
    {
        let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
        for (url, side, source) in [
            (&alice, 10, Source::Network),
            (&bob, 20, Source::Network),
            (&plain, 30, Source::Network),
            (&alice, 10, Source::Memory),
            (&plain, 30, Source::Memory),
        ] {
            let image = loader.load_blocking(url.as_str()).unwrap();
            assert_eq!((image.width(), image.source()), (side, source), "{url}");
        }
        loader.disk_cache().unwrap().flush();
    }
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(
        sent,
        [
            Some(format!("Basic {}", base64("alice:hunter2"))),
            Some(format!("Basic {}", base64("bob:pw-of-bob"))),
            None
        ]
    );
    for secret in ["hunter2", "pw-of-bob", "alice:", "bob:"] {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new());
    }
    // The next run: each user's own entry from disk, and only for them.
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let offline =
        |url: &str| loader.load_blocking(Request::new(url).cache_policy(CachePolicy::CacheOnly));
    assert_eq!(offline(&bob).unwrap().width(), 20);
    assert_eq!(offline(&alice).unwrap().width(), 10);
    let eve = with_userinfo(&server, "alice:wrong", "/u.png");
    assert!(matches!(offline(&eve), Err(Error::NotCached { .. })));
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn url_userinfo_never_appears_in_errors_debug_or_redirects() {
    let a = Server::start();
    let b = Server::start();
    b.route("/img.png", Route::ok(png(4, 4, 1)));
    a.route("/other", Route::redirect(&b.url("/img.png")));
    let loader = ImageLoader::new(config(1)).unwrap();
    let missing = with_userinfo(&a, "alice:hunter2", "/missing.png");
    let first = loader.load_blocking(missing.as_str()).unwrap_err();
    let again = loader.load_blocking(missing.as_str()).unwrap_err();
    assert!(
        matches!(first, Error::Http { status: 404, .. }),
        "{first:?}"
    );
    assert!(matches!(again, Error::FailedBefore { .. }), "{again:?}");
    let invalid = loader
        .load_blocking("http://alice:hunter2@[::1/x.png")
        .unwrap_err();
    let unparsable_again = loader
        .load_blocking("http://alice:hunter2@[::1/x.png")
        .unwrap_err();
    let request = Request::new(missing.as_str());
    for text in [
        first.to_string(),
        format!("{first:?}"),
        again.to_string(),
        invalid.to_string(),
        format!("{invalid:?}"),
        unparsable_again.to_string(),
        format!("{request:?}"),
        first.url().unwrap().to_string(),
    ] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert!(first.to_string().contains("/missing.png"), "{first}");
    // Basic credentials from the URL are credentials like any other: not sent elsewhere.
    loader
        .load_blocking(with_userinfo(&a, "alice:hunter2", "/other"))
        .unwrap();
    let to_a = a
        .requests()
        .into_iter()
        .find(|r| r.path == "/other")
        .unwrap();
    assert!(to_a.header("authorization").is_some());
    let to_b = b.requests().into_iter().next().unwrap();
    assert_eq!(to_b.header("authorization"), None, "{:?}", to_b.headers);
}

#[test]
fn long_urls_are_shortened_in_error_messages() {
    // Room in the failed-URL list for one megabyte-long key, so the second load is
    // `FailedBefore` and its message is checked too (by default an entry this big is not
    // remembered at all: `Config::max_failed_url_bytes`).
    let loader = ImageLoader::new(Config {
        max_failed_url_bytes: 64 << 20,
        ..config(1)
    })
    .unwrap();
    // A megabyte of data: URL whose body is not an image.
    let url = format!("data:image/png;base64,{}", "QUFB".repeat(256 * 1024));
    let first = loader.load_blocking(url.as_str()).unwrap_err();
    let again = loader.load_blocking(url.as_str()).unwrap_err();
    assert!(matches!(again, Error::FailedBefore { .. }), "{again:?}");
    for error in [&first, &again] {
        let text = error.to_string();
        assert!(text.len() < 4096, "{} bytes", text.len());
        assert!(
            text.starts_with("cannot decode data:image/png;base64,QUFB")
                || text.contains("data:image/png;base64,QUFB"),
            "{text:.200}"
        );
        assert!(format!("{error:?}").len() < 4096);
        assert!(error.url().unwrap().len() < 4096);
    }
}

#[test]
fn upload_target_userinfo_is_a_credential_and_never_journaled() {
    use crate::upload_journal::{Results, bytes, files_under, record, uploader};
    let root = TempDir::new("upload-userinfo");
    let journal = root.path().join("journal");
    let server = Server::start();
    server.route("/up", Route::status(503));
    let up = uploader(&journal, |_| {});
    let target = with_userinfo(&server, "alice:hunter2", "/up");
    let item = webimage::UploadItem::put(target.as_str(), bytes("a.jpg"));
    assert!(!format!("{item:?}").contains("hunter2"));
    let results = Results::default();
    up.enqueue(item, record(&results));
    up.wait();
    let sent = server.requests().pop().unwrap();
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Basic {}", base64("alice:hunter2")).as_str())
    );
    let error = results.lock().unwrap().pop().unwrap().unwrap_err();
    assert!(error.journaled, "{error}");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        error.target.clone(),
    ] {
        assert!(
            !text.contains("hunter2") && !text.contains("alice"),
            "{text}"
        );
    }
    for file in files_under(&journal) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in ["hunter2", "alice", &base64("alice:hunter2")] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret}",
                file.display()
            );
        }
    }
    let entry = up.journal().unwrap().pop().unwrap();
    assert_eq!(entry.withheld_headers, ["Authorization"]);
    assert_eq!(entry.target, server.url("/up"));
}
