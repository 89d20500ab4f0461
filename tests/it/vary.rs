//! Issue 18, point 1: `Vary` on a header that is no credential (`Accept-Language`) is
//! honoured by the memory cache, coalescing, and every disk read policy.

use std::sync::Arc;

use crate::support::*;
use webimage::{CachePolicy, Config, Error, ImageLoader, Request, Source};

/// A route answering per `Accept-Language` (fr 10x10, de 20x20), `Vary: Accept-Language`,
/// with an `ETag` that does not vary (as many servers send) and a `304` for any conditional
/// request: revalidating one language's entry for the other would confirm the wrong image.
fn per_language(server: &Server, path: &str, gate: Option<Gate>) {
    server.route_fn(path, move |req| {
        if req.header("if-none-match").is_some() {
            return Route::not_modified().header("ETag", "\"same\"");
        }
        let side = match req.header("accept-language") {
            Some("fr") => 10,
            Some("de") => 20,
            _ => 30,
        };
        let mut route = Route::ok(png(side, side, side))
            .header("Vary", "Accept-Language")
            .header("ETag", "\"same\"")
            .header("Cache-Control", "max-age=0");
        if let Some(gate) = &gate {
            route = route.hold(gate);
        }
        route
    });
}

#[test]
fn vary_on_a_shared_header_scopes_the_memory_cache_and_coalescing() {
    let server = Server::start();
    let gate = Gate::new();
    per_language(&server, "/l.png", Some(gate.clone()));
    let loader = Arc::new(ImageLoader::new(config(3)).unwrap());
    let url = server.url("/l.png");
    let lang = |l: &str| Request::new(url.as_str()).header("Accept-Language", l);
    let handles: Vec<_> = ["fr", "de", "fr"]
        .into_iter()
        .map(|l| {
            let (loader, request) = (loader.clone(), lang(l));
            std::thread::spawn(move || (l, loader.load_blocking(request).unwrap().width()))
        })
        .collect();
    gate.wait_arrivals(2);
    wait_until("three callers admitted", || loader.stats().loads == 3);
    gate.open();
    for handle in handles {
        let (l, width) = handle.join().unwrap();
        assert_eq!(width, if l == "fr" { 10 } else { 20 }, "{l}");
    }
    assert_eq!(server.requests().len(), 2);
    for (l, side) in [("de", 20), ("fr", 10)] {
        let image = loader.load_blocking(lang(l)).unwrap();
        assert_eq!((image.width(), image.source()), (side, Source::Memory));
    }
    let none = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!((none.width(), none.source()), (30, Source::Network));
}

#[test]
fn every_disk_read_policy_matches_vary() {
    let server = Server::start();
    per_language(&server, "/l.png", None);
    let dir = TempDir::new("vary-policies");
    let url = server.url("/l.png");
    let speaking = |l: &str| {
        ImageLoader::new(Config {
            headers: vec![("Accept-Language".into(), l.into())],
            ..disk_config(1, dir.path())
        })
        .unwrap()
    };
    let load = |loader: &ImageLoader, policy| {
        loader.load_blocking(Request::new(url.as_str()).cache_policy(policy))
    };
    let fr = speaking("fr");
    assert_eq!(load(&fr, CachePolicy::UseCache).unwrap().width(), 10);
    fr.disk_cache().unwrap().flush();
    let de = speaking("de");
    let offline = load(&de, CachePolicy::CacheOnly);
    assert!(
        matches!(offline, Err(Error::NotCached { .. })),
        "{offline:?}"
    );
    for policy in [
        CachePolicy::AcceptStale,
        CachePolicy::UseCache,
        CachePolicy::Revalidate,
    ] {
        // The entry on disk is French: each policy must download German unconditionally
        // (never revalidate the French entry, which this server would confirm with a 304).
        let fr = speaking("fr");
        let _ = load(&fr, CachePolicy::Reload).unwrap();
        fr.disk_cache().unwrap().flush();
        let before = server.requests().len();
        let de = speaking("de");
        let image = load(&de, policy).unwrap();
        assert_eq!(
            (image.width(), image.source()),
            (20, Source::Network),
            "{policy:?}"
        );
        let sent = &server.requests()[before..];
        assert_eq!(sent.len(), 1, "{policy:?}");
        assert_eq!(sent[0].header("if-none-match"), None, "{policy:?}");
    }
}
