//! Behaviour 8: every file in the test corpus (tests/data/corpus), as `file://` and over HTTP, gives `Ok` or a
//! typed error; the known-corrupt and known-unsupported files are errors, the valid sets
//! decode; nothing panics or hangs. The same holds through the thumbnail path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::*;
use webimage::{Config, Error, ImageLoader, Request};

fn corpus_files() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for dir in [
        "pngsuite", "png-fuzz", "png-misc", "jpeg", "webp", "gif", "exif", "tiff",
    ] {
        for entry in std::fs::read_dir(corpus(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
            if matches!(ext.as_deref(), Some("png" | "jpg" | "gif" | "webp" | "tif")) {
                files.push((format!("{dir}/{name}"), path));
            }
        }
    }
    files.sort();
    assert!(files.len() > 500, "corpus not found: {}", files.len());
    files
}

/// What the corpus README says each file must give: `Some(true)` Ok, `Some(false)` Err,
/// `None` either (the fuzz set is mixed).
fn expected(rel: &str) -> Option<bool> {
    let name = rel.rsplit('/').next().unwrap();
    match rel.split('/').next().unwrap() {
        "pngsuite" => Some(!name.starts_with('x')),
        "png-fuzz" => None,
        "jpeg" => Some(!matches!(name, "ljt_monkey12.jpg" | "ljt_testimgari.jpg")),
        _ => Some(true),
    }
}

fn load_all(
    loader: &ImageLoader,
    urls: &[(String, String)],
) -> BTreeMap<String, Result<(), Error>> {
    load_all_as(loader, urls, |url| Request::new(url))
}

fn load_all_as(
    loader: &ImageLoader,
    urls: &[(String, String)],
    request: impl Fn(&str) -> Request,
) -> BTreeMap<String, Result<(), Error>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    for (rel, url) in urls {
        let tx = tx.clone();
        let rel = rel.clone();
        loader.load(request(url), move |r| {
            tx.send((rel, r.map(|_| ()))).unwrap()
        });
    }
    let mut out = BTreeMap::new();
    for _ in urls {
        let (rel, r) = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("a load hung; finished {} of {}", out.len(), urls.len()));
        out.insert(rel, r);
    }
    out
}

fn check(results: &BTreeMap<String, Result<(), Error>>, how: &str) {
    let mut wrong = Vec::new();
    for (rel, r) in results {
        if let Err(e) = r {
            // Typed, and the message names the file.
            assert!(
                e.url()
                    .is_some_and(|u| u.contains(rel.rsplit('/').next().unwrap())),
                "{e}"
            );
            assert!(
                matches!(
                    e,
                    Error::Decode { .. } | Error::UnsupportedFormat { .. } | Error::TooLarge { .. }
                ),
                "{rel}: unexpected error kind {e:?}"
            );
        }
        if let Some(ok) = expected(rel)
            && r.is_ok() != ok
        {
            let want = if ok { "Ok" } else { "Err" };
            wrong.push(format!("{rel}: expected {want}, got {r:?}"));
        }
    }
    assert!(wrong.is_empty(), "{how}:\n{}", wrong.join("\n"));
}

#[test]
fn every_corpus_file_is_ok_or_a_typed_error() {
    let files = corpus_files();
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap();

    let file_urls: Vec<(String, String)> = files
        .iter()
        .map(|(rel, p)| (rel.clone(), file_url(p)))
        .collect();
    let by_file = load_all(&loader, &file_urls);
    check(&by_file, "file://");

    let server = Server::start();
    let http_urls: Vec<(String, String)> = files
        .iter()
        .map(|(rel, p)| {
            let path = format!("/{}", rel.replace('#', "%23"));
            server.route(&path, Route::ok(std::fs::read(p).unwrap()));
            (rel.clone(), server.url(&path))
        })
        .collect();
    let by_http = load_all(&loader, &http_urls);
    check(&by_http, "http");

    // Same bytes, same outcome, whatever the transport.
    for (rel, r) in &by_file {
        assert_eq!(r.is_ok(), by_http[rel].is_ok(), "{rel}");
    }
    let stats = loader.stats();
    assert_eq!(
        stats.decoder_panics, 0,
        "a decoder panicked (contained, but a bug)"
    );
    assert_eq!(stats.loads as usize, files.len() * 2);
    let oks = by_file.values().filter(|r| r.is_ok()).count();
    eprintln!(
        "{} files: {oks} decode, {} are errors",
        files.len(),
        files.len() - oks
    );
}

#[test]
fn every_corpus_file_is_ok_or_a_typed_error_as_a_thumbnail() {
    let files = corpus_files();
    let loader = ImageLoader::new(Config {
        memory_cache_bytes: 0,
        ..config(2)
    })
    .unwrap();
    let file_urls: Vec<(String, String)> = files
        .iter()
        .map(|(rel, p)| (rel.clone(), file_url(p)))
        .collect();
    let thumbs = load_all_as(&loader, &file_urls, |url| {
        Request::new(url).thumbnail(64, 64)
    });
    check(&thumbs, "thumbnail(64, 64)");
    let stats = loader.stats();
    assert_eq!(stats.decoder_panics, 0, "a decoder panicked");
    // The JPEGs went through the fast paths, the rest through a full decode.
    assert!(stats.thumbnails_dct_scaled >= 20, "{stats:?}");
    assert!(stats.thumbnails_dc_only >= 1, "{stats:?}");
    assert!(stats.thumbnails_full_decode > 100, "{stats:?}");
    let oks = thumbs.values().filter(|r| r.is_ok()).count() as u64;
    eprintln!("{oks} thumbnails: {stats:?}");
    assert_eq!(
        stats.thumbnails_dct_scaled
            + stats.thumbnails_dc_only
            + stats.thumbnails_exif
            + stats.thumbnails_full_decode,
        oks,
        "every thumbnail is counted on exactly one path"
    );
}
