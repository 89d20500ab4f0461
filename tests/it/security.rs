//! Issue 10: safe with untrusted URLs and per-user credentials. Scheme and network policy,
//! redirects, a failed-URL list that cannot be poisoned, caches scoped by credentials, no
//! secrets at rest or in `Debug` output.

use std::sync::Arc;

use crate::support::*;
use webimage::{CachePolicy, Config, Error, ImageLoader, KeyFilter, Request, Source};

fn loader_with(f: impl FnOnce(&mut Config)) -> ImageLoader {
    let mut c = config(2);
    f(&mut c);
    ImageLoader::new(c).unwrap()
}

#[test]
fn schemes_outside_the_allowed_list_are_blocked_before_any_io() {
    let dir = TempDir::new("schemes");
    let file = dir.path().join("a.png");
    std::fs::write(&file, png(4, 4, 1)).unwrap();
    let loader = loader_with(|c| c.allowed_schemes = vec!["http".into(), "https".into()]);
    for url in [
        file_url(&file),
        file.display().to_string(), // an absolute path counts as file
        "data:image/png;base64,iVBORw0KGgo=".to_string(),
    ] {
        let err = loader.load_blocking(url.as_str()).unwrap_err();
        match &err {
            Error::Blocked { reason, .. } => assert!(reason.contains("allowed_schemes"), "{err}"),
            other => panic!("{url}: {other:?}"),
        }
        // Not remembered: the policy decided, not the URL.
        let again = loader.load_blocking(url.as_str()).unwrap_err();
        assert!(matches!(again, Error::Blocked { .. }), "{again:?}");
    }
    assert_eq!(loader.failed_len(), 0);
    // A scheme no fetcher exists for is still an invalid URL, and a list naming one is a
    // configuration error.
    assert!(matches!(
        loader.load_blocking("ftp://example.com/a.png"),
        Err(Error::InvalidUrl { .. })
    ));
    let bad = Config {
        allowed_schemes: vec!["gopher".into()],
        ..config(1)
    };
    assert!(matches!(ImageLoader::new(bad), Err(Error::Config(_))));
}

#[test]
fn private_addresses_are_blocked_and_the_server_sees_no_connection() {
    let server = Server::start();
    server.route("/a.png", Route::ok(png(4, 4, 1)));
    let port = server
        .url("/")
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let loader = loader_with(|c| c.block_private_networks = true);
    for host in [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "127.1",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ] {
        let url = format!("http://{host}:{port}/a.png");
        let err = loader.load_blocking(url.as_str()).unwrap_err();
        assert!(matches!(err, Error::Blocked { .. }), "{url}: {err:?}");
    }
    assert_eq!(
        server.connections(),
        0,
        "a blocked address must not be dialed"
    );
    assert_eq!(loader.failed_len(), 0);
    // The same loader without the policy reaches it: the block is the only difference.
    let open = loader_with(|_| {});
    assert!(open.load_blocking(server.url("/a.png")).is_ok());
}

#[test]
#[ignore = "run in a child process by a_proxy_from_the_environment_is_refused_when_blocking"]
fn child_proxy_refused() {
    let server_url = std::env::var("WEBIMAGE_CHILD_URL").unwrap();
    let loader = loader_with(|c| c.block_private_networks = true);
    let err = loader.load_blocking(server_url.as_str()).unwrap_err();
    match &err {
        Error::Blocked { reason, .. } => assert!(reason.contains("proxy"), "{err}"),
        other => panic!("{other:?}"),
    }
    println!("PROXY_REFUSED 1");
}

#[test]
fn a_proxy_from_the_environment_is_refused_when_blocking_private_networks() {
    let proxy = Server::start();
    let out = run_child(
        "security::child_proxy_refused",
        &[
            ("WEBIMAGE_CHILD_URL", "http://203.0.113.7/a.png".to_string()),
            ("HTTP_PROXY", proxy.url("")),
            ("http_proxy", proxy.url("")),
            ("ALL_PROXY", proxy.url("")),
        ],
    );
    assert_eq!(reported(&out, "PROXY_REFUSED"), 1);
    assert_eq!(proxy.connections(), 0, "nothing may go through the proxy");
}

#[test]
fn redirects_to_other_schemes_are_blocked_with_no_second_request() {
    let server = Server::start();
    for (path, to) in [
        ("/to-file", "file:///etc/passwd"),
        ("/to-data", "data:image/png;base64,iVBORw0KGgo="),
        ("/to-ftp", "ftp://example.com/a.png"),
    ] {
        server.route(path, Route::redirect(to));
    }
    let loader = loader_with(|_| {});
    for path in ["/to-file", "/to-data", "/to-ftp"] {
        let err = loader.load_blocking(server.url(path)).unwrap_err();
        assert!(matches!(err, Error::Blocked { .. }), "{path}: {err:?}");
        assert!(!err.to_string().contains("root:"), "{err}");
    }
    // One request each: the target was never re-sent to the server as a relative path.
    assert_eq!(server.requests().len(), 3, "{:?}", server.order());
    assert_eq!(loader.failed_len(), 0);
}

#[test]
fn credentials_are_dropped_when_a_redirect_changes_origin() {
    let a = Server::start();
    let b = Server::start();
    b.route("/img.png", Route::ok(png(4, 4, 1)));
    a.route("/same", Route::redirect("/moved"));
    a.route("/moved", Route::ok(png(4, 4, 2)));
    a.route("/other", Route::redirect(&b.url("/img.png")));
    let loader = loader_with(|_| {});
    let token = "Bearer secret-token";
    loader
        .load_blocking(Request::new(a.url("/same")).header("Authorization", token))
        .unwrap();
    let moved = a
        .requests()
        .into_iter()
        .find(|r| r.path == "/moved")
        .unwrap();
    assert_eq!(
        moved.header("authorization"),
        Some(token),
        "same origin keeps them"
    );
    loader
        .load_blocking(Request::new(a.url("/other")).header("Authorization", token))
        .unwrap();
    let elsewhere = b.requests().into_iter().next().unwrap();
    assert_eq!(
        elsewhere.header("authorization"),
        None,
        "another origin never sees them"
    );
}

#[test]
fn an_expired_signature_does_not_block_a_freshly_signed_url() {
    let server = Server::start();
    let image = png(6, 6, 1);
    server.route_fn("/photo.jpg?token=old", |_| Route::status(403));
    server.route_fn("/photo.jpg?token=new", move |_| Route::ok(image.clone()));
    let loader = loader_with(|c| c.cache_key = Some(KeyFilter::strip_query(&["token"])));
    let old = loader
        .load_blocking(server.url("/photo.jpg?token=old"))
        .unwrap_err();
    assert!(matches!(old, Error::Http { status: 403, .. }), "{old:?}");
    let new = loader.load_blocking(server.url("/photo.jpg?token=new"));
    assert!(new.is_ok(), "{new:?}");
    assert_eq!(server.requests().len(), 2);
    // A 404 is the image's own: remembered, but for that URL as requested only.
    server.route_fn("/gone.jpg?token=a", |_| Route::status(404));
    let image = png(6, 6, 2);
    server.route_fn("/gone.jpg?token=b", move |_| Route::ok(image.clone()));
    assert!(
        loader
            .load_blocking(server.url("/gone.jpg?token=a"))
            .is_err()
    );
    assert!(matches!(
        loader.load_blocking(server.url("/gone.jpg?token=a")),
        Err(Error::FailedBefore { .. })
    ));
    assert!(
        loader
            .load_blocking(server.url("/gone.jpg?token=b"))
            .is_ok()
    );
}

/// `Authorization: Bearer alice` gets a 10x10 image, `bob` 20x20, nobody else 30x30, with
/// `Vary: Authorization` (see `support::per_user_route`).
fn per_user(server: &Server, path: &str, gate: Option<Gate>) {
    const SIDES: &[(&str, u32)] = &[("Bearer alice", 10), ("Bearer bob", 20)];
    per_user_route(server, path, "authorization", SIDES, gate);
}

fn as_user(url: &str, user: Option<&str>) -> Request {
    match user {
        Some(u) => Request::new(url).header("Authorization", format!("Bearer {u}")),
        None => Request::new(url),
    }
}

#[test]
fn each_user_gets_their_own_image_concurrently() {
    let server = Server::start();
    let gate = Gate::new();
    per_user(&server, "/me.png", Some(gate.clone()));
    let loader = Arc::new(loader_with(|c| c.max_workers = 4));
    let url = server.url("/me.png");
    let mut handles = Vec::new();
    for user in [Some("alice"), Some("bob"), None, Some("alice"), Some("bob")] {
        let (loader, url) = (loader.clone(), url.clone());
        handles.push(std::thread::spawn(move || {
            let image = loader.load_blocking(as_user(&url, user)).unwrap();
            (user, image.width())
        }));
    }
    // Three distinct credentials: three downloads (alice's and bob's second callers join
    // their own user's download, never another's).
    gate.wait_arrivals(3);
    gate.open();
    for handle in handles {
        let (user, width) = handle.join().unwrap();
        let expected = match user {
            Some("alice") => 10,
            Some("bob") => 20,
            _ => 30,
        };
        assert_eq!(width, expected, "{user:?}");
    }
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn each_user_gets_their_own_image_from_memory_and_from_a_second_loaders_disk_cache() {
    let server = Server::start();
    per_user(&server, "/me.png", None);
    let dir = TempDir::new("per-user");
    let url = server.url("/me.png");
    {
        let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
        for (user, side) in [(Some("alice"), 10), (Some("bob"), 20), (None, 30)] {
            let image = loader.load_blocking(as_user(&url, user)).unwrap();
            assert_eq!((image.width(), image.source()), (side, Source::Network));
        }
        // Memory: each user hits their own entry.
        for (user, side) in [(Some("bob"), 20), (Some("alice"), 10), (None, 30)] {
            let image = loader.load_blocking(as_user(&url, user)).unwrap();
            assert_eq!(
                (image.width(), image.source()),
                (side, Source::Memory),
                "{user:?}"
            );
        }
        loader.disk_cache().unwrap().flush();
    }
    assert_eq!(server.requests().len(), 3);
    // Disk: a second loader (the next run of the app) serves each user their own entry.
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    for (user, side) in [(Some("bob"), 20), (None, 30), (Some("alice"), 10)] {
        let image = loader.load_blocking(as_user(&url, user)).unwrap();
        assert_eq!(
            (image.width(), image.source()),
            (side, Source::Disk),
            "{user:?}"
        );
    }
    // A user the cache has never seen goes to the network, never to someone else's entry.
    let carol = loader.load_blocking(as_user(&url, Some("carol"))).unwrap();
    assert_eq!((carol.width(), carol.source()), (30, Source::Network));
    assert_eq!(server.requests().len(), 4);
    // Credentials in Config::headers scope every request of that loader the same way.
    let shared = ImageLoader::new(Config {
        headers: vec![("Authorization".into(), "Bearer bob".into())],
        ..disk_config(1, dir.path())
    })
    .unwrap();
    let bob = shared
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly))
        .unwrap();
    assert_eq!((bob.width(), bob.source()), (20, Source::Disk));
}

#[cfg(unix)]
#[test]
fn no_credential_reaches_the_disk_and_the_cache_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    per_user(&server, "/me.png", None);
    let dir = TempDir::new("no-secrets");
    let root = dir.path().join("cache");
    let loader = ImageLoader::new(disk_config(1, &root)).unwrap();
    loader
        .load_blocking(
            as_user(&server.url("/me.png"), Some("alice"))
                .header("Cookie", "session=cookie-secret-42"),
        )
        .unwrap();
    loader.disk_cache().unwrap().flush();
    drop(loader);
    let mut files = 0;
    let mut stack = vec![root.clone()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
            let bytes = std::fs::read(&path).unwrap();
            for secret in [&b"alice"[..], b"cookie-secret-42"] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "{} holds a credential",
                    path.display()
                );
            }
            files += 1;
        }
    }
    assert!(files >= 3, "entry, lock, usage...: {files}");
}

#[test]
fn revalidation_failures_keep_the_entry_except_404_and_410() {
    let server = Server::start();
    let dir = TempDir::new("revalidate");
    let image = png(5, 5, 1);
    let status = Arc::new(std::sync::Mutex::new(200u16));
    {
        let status = status.clone();
        server.route_fn("/r.png", move |req| {
            let now = *status.lock().unwrap();
            if now == 200 && req.header("if-none-match").is_none() {
                Route::ok(image.clone())
                    .header("ETag", "\"v1\"")
                    .header("Cache-Control", "max-age=0")
            } else {
                Route::status(now)
            }
        });
    }
    let url = server.url("/r.png");
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    loader.load_blocking(url.as_str()).unwrap();
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    for code in [401, 403, 429, 500] {
        *status.lock().unwrap() = code;
        let result =
            loader.load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Revalidate));
        disk.flush();
        assert!(
            disk.contains(&url).unwrap(),
            "a {code} must not delete the entry ({result:?})"
        );
    }
    *status.lock().unwrap() = 404;
    let gone =
        loader.load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Revalidate));
    assert!(
        matches!(gone, Err(Error::Http { status: 404, .. })),
        "{gone:?}"
    );
    disk.flush();
    assert!(!disk.contains(&url).unwrap(), "a 404 removes it");
}

#[test]
fn debug_output_redacts_credentials() {
    let request = Request::new("https://example.com/a.png")
        .header("Authorization", "Bearer hunter2")
        .header("Cookie", "sid=s3cret")
        .header("Accept", "image/*");
    let config = Config {
        headers: vec![("Proxy-Authorization".into(), "Basic cHJveHk=".into())],
        ..Config::default()
    };
    let text = format!("{request:?} {config:?}");
    for secret in ["hunter2", "s3cret", "cHJveHk="] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(
        text.contains("<redacted>") && text.contains("image/*"),
        "{text}"
    );
}
