//! Behaviour 10: permanent failures are remembered (bounded) and fail at once; transient ones
//! never are; the list can be switched off.

use std::time::Duration;

use crate::support::*;
use webimage::{Config, Error, ImageLoader, Request};

fn loader(f: impl FnOnce(&mut Config)) -> ImageLoader {
    let mut c = config(2);
    f(&mut c);
    ImageLoader::new(c).unwrap()
}

#[test]
fn a_404_is_remembered_and_not_requested_again() {
    let server = Server::start();
    let loader = loader(|_| {});
    let url = server.url("/missing.png");
    assert!(matches!(
        loader.load_blocking(url.as_str()),
        Err(Error::Http { status: 404, .. })
    ));
    let err = loader.load_blocking(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::FailedBefore { .. }), "{err:?}");
    assert!(err.to_string().contains("404"), "the reason is kept: {err}");
    assert_eq!(server.hits("/missing.png"), 1);
    assert_eq!(loader.stats().failed_before, 1);

    // Retrying asks again; once the image exists it loads and leaves the list.
    server.route("/missing.png", Route::ok(png(3, 3, 1)));
    loader
        .load_blocking(Request::new(url.as_str()).retry_failed(true))
        .unwrap();
    assert_eq!(server.hits("/missing.png"), 2);
    assert_eq!(loader.failed_len(), 0);
}

#[test]
fn the_failed_before_answer_comes_on_the_callers_thread() {
    let server = Server::start();
    let loader = loader(|_| {});
    let url = server.url("/x.png");
    let _ = loader.load_blocking(url.as_str());
    let got = std::sync::Arc::new(std::sync::Mutex::new(None));
    let g = got.clone();
    loader.load(url.as_str(), move |r| {
        *g.lock().unwrap() = Some(r.map(|_| ()))
    });
    assert!(matches!(
        got.lock().unwrap().take(),
        Some(Err(Error::FailedBefore { .. }))
    ));
}

#[test]
fn permanent_kinds_are_remembered_and_transient_ones_are_not() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/403", Route::status(403));
    server.route("/401", Route::status(401));
    server.route("/410", Route::status(410));
    server.route("/408", Route::status(408));
    server.route("/429", Route::status(429));
    server.route("/500", Route::status(500));
    server.route("/html", Route::ok(b"<html>".to_vec()));
    server.route("/corrupt", Route::ok(png(8, 8, 1)[..40].to_vec()));
    server.route("/slow", Route::ok(png(2, 2, 1)).hold(&gate));
    let loader = loader(|c| c.timeout = Duration::from_millis(300));
    for (path, remembered) in [
        ("/404", true),
        ("/410", true),
        // Credentials (or an expired signature) decide these, not the image.
        ("/401", false),
        ("/403", false),
        ("/408", false),
        ("/429", false),
        ("/500", false),
        ("/html", true),
        ("/corrupt", true),
        ("/slow", false),
    ] {
        let url = server.url(path);
        let first = loader.load_blocking(url.as_str()).unwrap_err();
        assert!(
            !matches!(first, Error::FailedBefore { .. }),
            "{path}: {first:?}"
        );
        let second = loader.load_blocking(url.as_str()).unwrap_err();
        assert_eq!(
            matches!(second, Error::FailedBefore { .. }),
            remembered,
            "{path}: {second:?}"
        );
        assert_eq!(server.hits(path), if remembered { 1 } else { 2 }, "{path}");
    }
    gate.open();
    // Invalid URLs are remembered too.
    assert!(matches!(
        loader.load_blocking("nope"),
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        loader.load_blocking("nope"),
        Err(Error::FailedBefore { .. })
    ));
}

#[test]
fn cancellations_are_not_remembered() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/c.png", Route::ok(png(2, 2, 1)).hold(&gate));
    let loader = loader(|_| {});
    let token = loader.load(server.url("/c.png"), |_| {});
    gate.wait_arrivals(1);
    token.cancel();
    gate.open();
    assert!(loader.load_blocking(server.url("/c.png")).is_ok());
    assert_eq!(loader.failed_len(), 0);
}

#[test]
fn the_list_can_be_switched_off() {
    let server = Server::start();
    let loader = loader(|c| c.remember_failed_urls = false);
    let url = server.url("/none.png");
    for _ in 0..3 {
        assert!(matches!(
            loader.load_blocking(url.as_str()),
            Err(Error::Http { status: 404, .. })
        ));
    }
    assert_eq!(server.hits("/none.png"), 3);
    assert_eq!(loader.failed_len(), 0);
}

#[test]
fn the_list_is_bounded_and_forgets_the_oldest() {
    let server = Server::start();
    let loader = loader(|c| c.max_failed_urls = 3);
    for i in 0..5 {
        let _ = loader.load_blocking(server.url(&format!("/{i}")));
    }
    assert_eq!(loader.failed_len(), 3);
    // 0 and 1 were forgotten: requested again. 4 is remembered.
    let _ = loader.load_blocking(server.url("/0"));
    assert_eq!(server.hits("/0"), 2);
    assert!(matches!(
        loader.load_blocking(server.url("/4")),
        Err(Error::FailedBefore { .. })
    ));
    loader.clear_failed();
    assert_eq!(loader.failed_len(), 0);
}
