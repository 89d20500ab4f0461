//! Behaviour 6: HTTP through one agent, timeouts, streaming size limit, statuses, redirects,
//! `file://` and `data:` URLs, progress, headers.

use std::time::Duration;

use crate::support::*;
use webimage::{Config, DEFAULT_USER_AGENT, Error, ImageLoader, Limit, Request};

fn loader_with(f: impl FnOnce(&mut Config)) -> ImageLoader {
    let mut c = config(2);
    f(&mut c);
    ImageLoader::new(c).unwrap()
}

#[test]
fn a_silent_server_times_out() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/silent.png", Route::ok(png(4, 4, 1)).hold(&gate));
    let loader = loader_with(|c| c.timeout = Duration::from_millis(300));
    let err = loader.load_blocking(server.url("/silent.png")).unwrap_err();
    gate.open();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("/silent.png"), "{err}");
}

#[test]
fn a_body_that_stalls_times_out() {
    let server = Server::start();
    let gate = Gate::new();
    let mut body = png(4, 4, 1);
    body.resize(200_000, 0);
    server.route("/stall.png", Route::ok(body).stall_after(1000, &gate));
    let loader = loader_with(|c| c.timeout = Duration::from_millis(300));
    let err = loader.load_blocking(server.url("/stall.png")).unwrap_err();
    gate.open();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(loader.failed_len(), 0, "timeouts are not remembered");
}

#[test]
fn an_endless_body_is_cut_at_the_limit() {
    let server = Server::start();
    server.route("/endless.png", Route::endless());
    let loader = loader_with(|c| c.max_download_bytes = 1 << 20);
    let err = loader
        .load_blocking(server.url("/endless.png"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: Limit::DownloadBytes { limit: 1048576 },
                ..
            }
        ),
        "{err:?}"
    );
    // Memory stays flat: at most one read past the limit was taken in.
    let read = loader.stats().bytes_downloaded;
    assert!(read <= (1 << 20) + 64 * 1024, "read {read} bytes");
    wait_until("the server to see the client go", || {
        server.aborted().len() == 1
    });
}

#[test]
fn an_announced_length_over_the_limit_is_refused_before_reading() {
    let server = Server::start();
    server.route("/huge.png", Route::ok(vec![0; 3 << 20]));
    let loader = loader_with(|c| c.max_download_bytes = 1 << 20);
    let err = loader.load_blocking(server.url("/huge.png")).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert_eq!(loader.stats().bytes_downloaded, 0);
}

#[test]
fn non_success_statuses_are_http_errors() {
    let server = Server::start();
    server.route("/gone.png", Route::status(410));
    server.route("/boom.png", Route::status(503));
    let loader = loader_with(|_| {});
    for (path, status) in [
        ("/gone.png", 410),
        ("/boom.png", 503),
        ("/nothing.png", 404),
    ] {
        let err = loader.load_blocking(server.url(path)).unwrap_err();
        assert_eq!(
            err,
            Error::Http {
                url: server.url(path),
                status
            }
        );
        assert!(err.to_string().contains(&status.to_string()));
        assert!(err.to_string().contains(path));
    }
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let server = Server::start();
    server.route("/img.png", Route::ok(png(12, 7, 1)));
    server.route("/r1", Route::redirect("/r2"));
    server.route("/r2", Route::redirect(&server.url("/img.png")));
    server.route("/loop1", Route::redirect("/loop2"));
    server.route("/loop2", Route::redirect("/loop1"));
    let loader = loader_with(|c| c.max_redirects = 4);
    let img = loader.load_blocking(server.url("/r1")).unwrap();
    assert_eq!((img.width(), img.height()), (12, 7));
    let err = loader.load_blocking(server.url("/loop1")).unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(server.hits("/loop1") + server.hits("/loop2"), 5);
}

#[test]
fn file_urls_and_paths_load() {
    let dir = std::env::temp_dir().join(format!("webimage-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a b.png");
    std::fs::write(&path, png(9, 5, 2)).unwrap();
    let loader = loader_with(|_| {});
    let a = loader.load_blocking(file_url(&path)).unwrap();
    assert_eq!((a.width(), a.height()), (9, 5));
    loader.clear_memory();
    let b = loader.load_blocking(path.to_str().unwrap()).unwrap();
    assert_eq!(b.image().as_raw(), a.image().as_raw());

    let err = loader
        .load_blocking(file_url(&dir).replace("webimage-file", "nope"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err = loader.load_blocking(file_url(&dir)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "a directory: {err:?}");
    assert!(loader.stats().network_requests == 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn data_urls_load() {
    let bytes = png(3, 2, 1);
    let url = format!("data:image/png;base64,{}", base64(&bytes));
    let loader = loader_with(|_| {});
    let img = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!((img.width(), img.height()), (3, 2));
    let err = loader
        .load_blocking("data:image/png;base64,!!!!")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidUrl { .. } | Error::UnsupportedFormat { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn progress_is_reported_as_bytes_arrive() {
    let server = Server::start();
    let body = noisy_png(200, 200, 4);
    let len = body.len() as u64;
    server.route("/p.png", Route::ok(body).in_pieces(8 * 1024));
    let loader = loader_with(|_| {});
    let seen: Log<(u64, Option<u64>)> = Log::default();
    let s = seen.clone();
    loader
        .load_blocking(
            Request::new(server.url("/p.png")).progress(move |n, t| s.lock().unwrap().push((n, t))),
        )
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "not increasing: {seen:?}"
    );
    assert_eq!(*seen.last().unwrap(), (len, Some(len)));
}

#[test]
fn user_agent_and_headers_are_sent() {
    let server = Server::start();
    server.route("/h.png", Route::ok(png(2, 2, 1)));
    let loader = loader_with(|c| c.headers = vec![("X-App".into(), "demo".into())]);
    loader
        .load_blocking(Request::new(server.url("/h.png")).header("Authorization", "Bearer t"))
        .unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.header("user-agent"), Some(DEFAULT_USER_AGENT));
    assert!(DEFAULT_USER_AGENT.starts_with("webimage/"));
    assert_eq!(req.header("x-app"), Some("demo"));
    assert_eq!(req.header("authorization"), Some("Bearer t"));
}

#[test]
fn a_bad_header_is_an_invalid_request() {
    let server = Server::start();
    server.route("/h.png", Route::ok(png(2, 2, 1)));
    let loader = loader_with(|_| {});
    let err = loader
        .load_blocking(Request::new(server.url("/h.png")).header("bad name", "x"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn a_refused_connection_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let loader = loader_with(|_| {});
    let err = loader
        .load_blocking(format!("http://127.0.0.1:{port}/x.png"))
        .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert_eq!(loader.failed_len(), 0, "network errors are not remembered");
}
