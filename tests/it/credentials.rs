//! Issue 18, point 1: credentials beyond the three well-known headers. A custom key header
//! (`X-Api-Key`) answered per user with `Vary`, URL userinfo, `Vary` on a shared header, and
//! URL text in error messages: each reproduced through the public API against the real
//! server, asserting the requests it saw, the bytes on disk and the text of errors and
//! `Debug` output.

use std::sync::Arc;

use crate::support::*;
use webimage::{CachePolicy, Config, Error, ImageLoader, Request, Source};

const ALICE: &str = "alice-key-5f1e";
const BOB: &str = "bob-key-9c2d";

/// `X-Api-Key: ALICE` gets a 10x10 image, `BOB` 20x20, anyone else 30x30, with
/// `Vary: X-Api-Key` (see `support::per_user_route`).
fn per_user(server: &Server, path: &str, gate: Option<Gate>) {
    const SIDES: &[(&str, u32)] = &[(ALICE, 10), (BOB, 20)];
    per_user_route(server, path, "x-api-key", SIDES, gate);
}

fn with_key(url: &str, key: Option<&str>) -> Request {
    match key {
        Some(key) => Request::new(url).header("X-Api-Key", key),
        None => Request::new(url),
    }
}

#[test]
fn a_custom_key_header_scopes_the_memory_cache() {
    let server = Server::start();
    per_user(&server, "/me.png", None);
    let loader = ImageLoader::new(config(2)).unwrap();
    let url = server.url("/me.png");
    for (key, side, source) in [
        (Some(ALICE), 10, Source::Network),
        (Some(BOB), 20, Source::Network),
        (None, 30, Source::Network),
        (Some(ALICE), 10, Source::Memory),
        (Some(BOB), 20, Source::Memory),
        (None, 30, Source::Memory),
    ] {
        let image = loader.load_blocking(with_key(&url, key)).unwrap();
        assert_eq!((image.width(), image.source()), (side, source), "{key:?}");
    }
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_custom_key_header_scopes_coalescing() {
    let server = Server::start();
    let gate = Gate::new();
    per_user(&server, "/me.png", Some(gate.clone()));
    let loader = Arc::new(ImageLoader::new(config(3)).unwrap());
    let url = server.url("/me.png");
    let handles: Vec<_> = [ALICE, BOB, ALICE, BOB]
        .into_iter()
        .map(|key| {
            let (loader, url) = (loader.clone(), url.clone());
            std::thread::spawn(move || {
                let width = loader
                    .load_blocking(with_key(&url, Some(key)))
                    .unwrap()
                    .width();
                (key, width)
            })
        })
        .collect();
    // Two keys, two downloads: each second caller joins its own key's download only.
    gate.wait_arrivals(2);
    wait_until("four callers admitted", || loader.stats().loads == 4);
    gate.open();
    for handle in handles {
        let (key, width) = handle.join().unwrap();
        assert_eq!(width, if key == ALICE { 10 } else { 20 }, "{key}");
    }
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_custom_key_header_scopes_a_second_loaders_disk_for_every_policy() {
    let server = Server::start();
    per_user(&server, "/me.png", None);
    let dir = TempDir::new("custom-key-disk");
    let url = server.url("/me.png");
    {
        let alice = ImageLoader::new(disk_config(1, dir.path())).unwrap();
        assert_eq!(
            alice
                .load_blocking(with_key(&url, Some(ALICE)))
                .unwrap()
                .width(),
            10
        );
        alice.disk_cache().unwrap().flush();
    }
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let bob = |policy| loader.load_blocking(with_key(&url, Some(BOB)).cache_policy(policy));
    let offline = bob(CachePolicy::CacheOnly);
    assert!(
        matches!(offline, Err(Error::NotCached { .. })),
        "{offline:?}"
    );
    let stale_ok = bob(CachePolicy::AcceptStale).unwrap();
    assert_eq!((stale_ok.width(), stale_ok.source()), (20, Source::Network));
    assert_eq!(server.requests().len(), 2);
    // Alice's entry is still hers, for a loader that sends her key in Config::headers.
    let configured = |key: &str| {
        ImageLoader::new(Config {
            headers: vec![("X-Api-Key".into(), key.into())],
            ..disk_config(1, dir.path())
        })
        .unwrap()
    };
    let alice = configured(ALICE)
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly))
        .unwrap();
    assert_eq!((alice.width(), alice.source()), (10, Source::Disk));
    let carol = configured("carol-key")
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly));
    assert!(matches!(carol, Err(Error::NotCached { .. })), "{carol:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_failure_with_one_key_says_nothing_about_another() {
    let server = Server::start();
    let image = png(8, 8, 1);
    server.route_fn("/gone.png", move |req| match req.header("x-api-key") {
        Some(ALICE) => Route::status(404),
        _ => Route::ok(image.clone()),
    });
    let loader = ImageLoader::new(config(1)).unwrap();
    let url = server.url("/gone.png");
    let first = loader.load_blocking(with_key(&url, Some(ALICE)));
    assert!(
        matches!(first, Err(Error::Http { status: 404, .. })),
        "{first:?}"
    );
    let again = loader.load_blocking(with_key(&url, Some(ALICE)));
    assert!(
        matches!(again, Err(Error::FailedBefore { .. })),
        "{again:?}"
    );
    let bob = loader.load_blocking(with_key(&url, Some(BOB)));
    assert!(bob.is_ok(), "{bob:?}");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[1].header("x-api-key"), Some(BOB));
}

#[test]
fn no_custom_key_header_value_reaches_the_disk() {
    let server = Server::start();
    server.route(
        "/v.png",
        Route::ok(png(6, 6, 1))
            .header("Vary", "X-Api-Key, X-Config-Token")
            .header("Cache-Control", "private, max-age=3600"),
    );
    let dir = TempDir::new("custom-key-at-rest");
    let loader = ImageLoader::new(Config {
        headers: vec![("X-Config-Token".into(), "config-token-88".into())],
        ..disk_config(1, dir.path())
    })
    .unwrap();
    let url = server.url("/v.png");
    loader
        .load_blocking(with_key(&url, Some("secret-api-key-77")))
        .unwrap();
    loader.disk_cache().unwrap().flush();
    drop(loader);
    assert!(files(dir.path()).len() >= 2, "an entry was written");
    for secret in ["secret-api-key-77", "config-token-88"] {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new());
    }
    // The digests on disk still tell the same key from another: the next run with the same
    // headers is answered from disk.
    let again = ImageLoader::new(Config {
        headers: vec![("X-Config-Token".into(), "config-token-88".into())],
        ..disk_config(1, dir.path())
    })
    .unwrap();
    let image = again
        .load_blocking(with_key(&url, Some("secret-api-key-77")))
        .unwrap();
    assert_eq!(image.source(), Source::Disk);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn custom_key_headers_never_follow_a_redirect_to_another_origin() {
    let a = Server::start();
    let b = Server::start();
    b.route("/img.png", Route::ok(png(4, 4, 1)));
    a.route("/same", Route::redirect("/moved"));
    a.route("/moved", Route::ok(png(4, 4, 2)));
    a.route("/other", Route::redirect(&b.url("/img.png")));
    let loader = ImageLoader::new(Config {
        headers: vec![("X-Config-Token".into(), "config-token-88".into())],
        ..config(1)
    })
    .unwrap();
    loader
        .load_blocking(with_key(&a.url("/same"), Some(ALICE)))
        .unwrap();
    let moved = a
        .requests()
        .into_iter()
        .find(|r| r.path == "/moved")
        .unwrap();
    assert_eq!(
        moved.header("x-api-key"),
        Some(ALICE),
        "same origin keeps them"
    );
    assert_eq!(moved.header("x-config-token"), Some("config-token-88"));
    loader
        .load_blocking(with_key(&a.url("/other"), Some(ALICE)))
        .unwrap();
    let elsewhere = b.requests().into_iter().next().unwrap();
    assert_eq!(
        elsewhere.header("x-api-key"),
        None,
        "{:?}",
        elsewhere.headers
    );
    assert_eq!(elsewhere.header("x-config-token"), None);
    assert!(
        elsewhere.header("user-agent").is_some(),
        "harmless ones still go"
    );
}

#[test]
fn debug_output_redacts_custom_key_headers() {
    let request = Request::new("https://example.com/a.png")
        .header("X-Api-Key", "secret-api-key-77")
        .header("Accept-Language", "fr");
    let config = Config {
        headers: vec![("X-Config-Token".into(), "config-token-88".into())],
        ..Config::default()
    };
    let text = format!("{request:?} {config:?}");
    for secret in ["secret-api-key-77", "config-token-88"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(
        text.contains("X-Api-Key") && text.contains("\"fr\""),
        "{text}"
    );
}

#[test]
fn credential_header_marks_any_header_as_a_credential() {
    let a = Server::start();
    let b = Server::start();
    b.route("/img.png", Route::ok(png(4, 4, 1)));
    a.route("/other", Route::redirect(&b.url("/img.png")));
    a.route(
        "/v.png",
        Route::ok(png(5, 5, 1))
            .header("Vary", "Accept-Language")
            .header("Cache-Control", "max-age=3600"),
    );
    let dir = TempDir::new("marked");
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    // A shared name, marked: redacted, kept off the disk, and not sent elsewhere.
    let marked = |url: &str| Request::new(url).credential_header("Accept-Language", "fr-user-31");
    assert!(!format!("{:?}", marked("http://h/")).contains("fr-user-31"));
    loader.load_blocking(marked(&a.url("/v.png"))).unwrap();
    loader.disk_cache().unwrap().flush();
    assert_eq!(
        files_containing(dir.path(), "fr-user-31"),
        Vec::<String>::new()
    );
    loader.load_blocking(marked(&a.url("/other"))).unwrap();
    let to_a = a
        .requests()
        .into_iter()
        .find(|r| r.path == "/other")
        .unwrap();
    assert_eq!(to_a.header("accept-language"), Some("fr-user-31"));
    let to_b = b.requests().into_iter().next().unwrap();
    assert_eq!(to_b.header("accept-language"), None);
    // Unmarked, the same header is shared: shown, and it follows the redirect.
    let plain = Request::new(a.url("/other")).header("Accept-Language", "fr");
    assert!(format!("{plain:?}").contains("\"fr\""));
    loader.load_blocking(plain).unwrap();
    assert_eq!(b.requests()[1].header("accept-language"), Some("fr"));
}

#[test]
fn the_configured_lists_decide_what_is_a_credential() {
    let a = Server::start();
    let b = Server::start();
    b.route("/img.png", Route::ok(png(4, 4, 1)));
    a.route("/other", Route::redirect(&b.url("/img.png")));
    a.route("/s.png", Route::ok(png(6, 6, 1)));
    let dir = TempDir::new("lists");
    let loader = |client: &str, shared: bool| {
        ImageLoader::new(Config {
            headers: vec![
                ("X-Client".into(), client.into()),
                ("Accept-Language".into(), "fr".into()),
            ],
            credential_headers: vec!["accept-language".into()],
            shared_headers: if shared {
                vec!["x-client".into()]
            } else {
                vec![]
            },
            ..disk_config(1, dir.path())
        })
        .unwrap()
    };
    let shared = loader("v1", true);
    let text = format!("{:?}", shared.config());
    assert!(
        text.contains("\"v1\"") && !text.contains("\"fr\""),
        "{text}"
    );
    shared.load_blocking(a.url("/other")).unwrap();
    let to_b = b.requests().into_iter().next().unwrap();
    assert_eq!(
        to_b.header("x-client"),
        Some("v1"),
        "declared shared: it follows"
    );
    assert_eq!(
        to_b.header("accept-language"),
        None,
        "named a credential: it does not"
    );
    shared.load_blocking(a.url("/s.png")).unwrap();
    shared.disk_cache().unwrap().flush();
    let offline = |loader: &ImageLoader| {
        loader.load_blocking(Request::new(a.url("/s.png")).cache_policy(CachePolicy::CacheOnly))
    };
    // A shared header does not scope the disk (the response does not vary on it) ...
    let other_client = offline(&loader("v2", true)).unwrap();
    assert_eq!(other_client.source(), Source::Disk);
    // ... an unlisted one does: the same headers, not declared shared, are another scope.
    let unlisted = offline(&loader("v1", false));
    assert!(
        matches!(unlisted, Err(Error::NotCached { .. })),
        "{unlisted:?}"
    );
    #[allow(deprecated)]
    let item = webimage::UploadItem::put(a.url("/up"), "a.jpg").sensitive_header("X-K", "k-55");
    assert!(
        !format!("{item:?}").contains("k-55"),
        "the former name still marks"
    );
}

#[test]
fn a_key_in_config_headers_keeps_memory_hits_and_their_urls_plain() {
    let server = Server::start();
    per_user(&server, "/me.png", None);
    let url = server.url("/me.png");
    let loader = ImageLoader::new(Config {
        headers: vec![("X-Api-Key".into(), BOB.into())],
        ..config(1)
    })
    .unwrap();
    for source in [Source::Network, Source::Memory, Source::Memory] {
        let image = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!((image.width(), image.source()), (20, source));
        assert_eq!(image.url(), url, "the URL as given, not the scoped key");
    }
    // Headers of the request's own are another scope (the server sees the loader's key
    // first, so the image is Bob's), never a memory hit of the plain request.
    let own = loader
        .load_blocking(Request::new(url.as_str()).header("Accept", "image/png"))
        .unwrap();
    assert_eq!((own.width(), own.source()), (20, Source::Network));
    assert_eq!(loader.stats().memory_hits, 2);
    assert_eq!(server.requests().len(), 2);
}
