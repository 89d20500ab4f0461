//! Issue 3: the disk cache on its IO thread, request options, HTTP revalidation, corruption,
//! limits and bad disks. (Multi-process and crash tests are in disk_processes.rs.)

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::support::*;
use webimage::{CachePolicy, Config, DiskCacheConfig, Error, ImageLoader, Request, Source, Store};

/// Every entry file under `dir/entries`, with what it takes on disk.
fn entry_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    for shard in fs::read_dir(dir.join("entries")).unwrap().flatten() {
        for f in fs::read_dir(shard.path()).unwrap().flatten() {
            out.push((f.path(), on_disk(&f.metadata().unwrap())));
        }
    }
    out
}

/// What the entries and their shard directories take on disk: what the size limit counts.
fn dir_size(dir: &std::path::Path) -> u64 {
    let shards: u64 = fs::read_dir(dir.join("entries"))
        .unwrap()
        .flatten()
        .map(|shard| on_disk(&shard.metadata().unwrap()))
        .sum();
    shards + entry_files(dir).iter().map(|f| f.1).sum::<u64>()
}

#[test]
fn a_fresh_loader_on_the_same_directory_loads_from_disk_without_requests() {
    let dir = TempDir::new("fresh");
    let server = Server::start();
    server.route("/a.png", Route::ok(png(30, 20, 1)));
    let url = server.url("/a.png");
    let first = {
        let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
        let img = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!(img.source(), Source::Network);
        img
    }; // dropping the loader finishes its queued writes
    assert_eq!(entry_files(dir.path()).len(), 1);
    assert!(
        entry_path_of(dir.path(), &url).is_file(),
        "named by the SHA-256 of the key"
    );

    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let again = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(again.source(), Source::Disk);
    assert_eq!(again.image().as_raw(), first.image().as_raw());
    assert_eq!(
        server.hits("/a.png"),
        1,
        "the second run must not touch the network"
    );
    let stats = loader.stats();
    assert_eq!(
        (stats.disk_hits, stats.network_requests, stats.decodes),
        (1, 0, 1)
    );
    // Then memory.
    assert_eq!(
        loader.load_blocking(url.as_str()).unwrap().source(),
        Source::Memory
    );
}

#[test]
fn a_load_right_after_a_download_finds_the_queued_write() {
    let dir = TempDir::new("staging");
    let server = Server::start();
    for i in 0..20 {
        server.route(&format!("/{i}.png"), Route::ok(noisy_png(200, 200, i)));
    }
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    for i in 0..20 {
        loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
        loader.clear_memory();
        // No flush: the write may still be queued; the read must see it anyway.
        let again = loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
        assert_eq!(again.source(), Source::Disk, "image {i}");
        assert!(
            loader
                .disk_cache()
                .unwrap()
                .contains(&server.url(&format!("/{i}.png")))
                .unwrap()
        );
    }
    assert_eq!(server.requests().len(), 20);
    loader.disk_cache().unwrap().flush();
    let stats = loader.stats();
    assert_eq!((stats.disk_writes, stats.disk_write_errors), (20, 0));
}

#[test]
fn cache_only_never_touches_the_network() {
    let dir = TempDir::new("cacheonly");
    let server = Server::start();
    server.route("/c.png", Route::ok(png(8, 8, 1)));
    let url = server.url("/c.png");
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let err = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly))
        .unwrap_err();
    assert_eq!(err, Error::NotCached { url: url.clone() });
    assert_eq!(server.requests().len(), 0);
    assert_eq!(
        loader.failed_len(),
        0,
        "a cache miss is not a failure of the URL"
    );

    loader.load_blocking(url.as_str()).unwrap();
    loader.clear_memory();
    let img = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly))
        .unwrap();
    assert_eq!(img.source(), Source::Disk);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_cache_only_caller_does_not_join_a_download_nor_start_one() {
    let dir = TempDir::new("lanes");
    let server = Server::start();
    let gate = Gate::new();
    server.route("/l.png", Route::ok(png(8, 8, 1)).hold(&gate));
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let url = server.url("/l.png");
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    loader.load(url.as_str(), move |r| {
        r.unwrap();
        d.fetch_add(1, Ordering::SeqCst);
    });
    gate.wait_arrivals(1);
    // The download is running; a cache-only caller must not wait for it.
    let err = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly))
        .unwrap_err();
    assert!(matches!(err, Error::NotCached { .. }));
    gate.open();
    wait_until("download", || done.load(Ordering::SeqCst) == 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn reload_downloads_even_when_cached() {
    let dir = TempDir::new("loaderonly");
    let server = Server::start();
    server.route("/r.png", Route::ok(png(8, 8, 1)));
    let url = server.url("/r.png");
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    loader.load_blocking(url.as_str()).unwrap();
    let img = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Reload))
        .unwrap();
    assert_eq!(img.source(), Source::Network);
    assert_eq!(server.hits("/r.png"), 2);
}

#[test]
fn store_options_choose_where_results_go() {
    let dir = TempDir::new("store");
    let server = Server::start();
    for name in ["none", "memory", "disk", "both"] {
        server.route(&format!("/{name}.png"), Route::ok(png(8, 8, 1)));
    }
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    for (name, store) in [
        ("none", Store::None),
        ("memory", Store::Memory),
        ("disk", Store::Disk),
        ("both", Store::Both),
    ] {
        let url = server.url(&format!("/{name}.png"));
        loader
            .load_blocking(Request::new(url.as_str()).store(store))
            .unwrap();
        let disk = loader.disk_cache().unwrap();
        disk.flush();
        assert_eq!(
            loader.cached(url.as_str()).is_some(),
            matches!(store, Store::Memory | Store::Both),
            "{name}"
        );
        assert_eq!(
            disk.contains(&url).unwrap(),
            matches!(store, Store::Disk | Store::Both),
            "{name}"
        );
    }
}

/// A server route with an ETag that answers `If-None-Match` with 304.
fn etag_route(
    server: &Server,
    path: &str,
    etag: Arc<std::sync::Mutex<(String, Vec<u8>)>>,
    extra: &[(&str, &str)],
) {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    server.route_fn(path, move |req| {
        let (tag, body) = etag.lock().unwrap().clone();
        let mut route = if req.header("if-none-match") == Some(tag.as_str()) {
            Route::not_modified()
        } else {
            Route::ok(body)
        };
        route = route.header("ETag", &tag);
        for (k, v) in &extra {
            route = route.header(k, v);
        }
        route
    });
}

#[test]
fn refresh_cached_revalidates_with_the_stored_etag() {
    let dir = TempDir::new("refresh");
    let server = Server::start();
    let state = Arc::new(std::sync::Mutex::new((
        "\"v1\"".to_string(),
        png(10, 10, 1),
    )));
    etag_route(&server, "/e.png", state.clone(), &[]);
    let url = server.url("/e.png");
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let v1 = loader.load_blocking(url.as_str()).unwrap();

    let same = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Revalidate))
        .unwrap();
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(same.source(), Source::Disk);
    assert_eq!(same.image().as_raw(), v1.image().as_raw());
    assert_eq!(loader.stats().revalidated, 1);

    // The image changes on the server: a refresh replaces the entry.
    *state.lock().unwrap() = ("\"v2\"".to_string(), png(12, 12, 2));
    let v2 = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Revalidate))
        .unwrap();
    assert_eq!(v2.source(), Source::Network);
    assert_eq!((v2.width(), v2.height()), (12, 12));
    loader.disk_cache().unwrap().flush();
    drop(loader);
    let fresh = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let from_disk = fresh.load_blocking(url.as_str()).unwrap();
    assert_eq!((from_disk.source(), from_disk.width()), (Source::Disk, 12));
}

#[test]
fn a_stale_entry_is_revalidated_and_a_fresh_one_is_not() {
    let dir = TempDir::new("stale");
    let server = Server::start();
    let stale = Arc::new(std::sync::Mutex::new(("\"s\"".to_string(), png(6, 6, 1))));
    etag_route(
        &server,
        "/stale.png",
        stale,
        &[("Cache-Control", "max-age=0")],
    );
    let fresh = Arc::new(std::sync::Mutex::new(("\"f\"".to_string(), png(6, 6, 2))));
    etag_route(
        &server,
        "/fresh.png",
        fresh,
        &[("Cache-Control", "max-age=3600")],
    );
    server.route(
        "/lm.png",
        Route::ok(png(6, 6, 3))
            .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            .header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
    );
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    for p in ["/stale.png", "/fresh.png", "/lm.png"] {
        loader.load_blocking(server.url(p)).unwrap();
    }
    loader.clear_memory();

    let s = loader.load_blocking(server.url("/stale.png")).unwrap();
    assert_eq!(s.source(), Source::Disk);
    assert_eq!(
        server.hits("/stale.png"),
        2,
        "a stale entry must be revalidated"
    );
    assert_eq!(
        server.requests().last().unwrap().header("if-none-match"),
        Some("\"s\"")
    );

    let f = loader.load_blocking(server.url("/fresh.png")).unwrap();
    assert_eq!(f.source(), Source::Disk);
    assert_eq!(
        server.hits("/fresh.png"),
        1,
        "a fresh entry is served without asking"
    );

    // No ETag, only Last-Modified: revalidated with If-Modified-Since; the server ignores it.
    let l = loader.load_blocking(server.url("/lm.png")).unwrap();
    assert_eq!(l.source(), Source::Network);
    let last = server.requests().last().unwrap().clone();
    assert_eq!(
        last.header("if-modified-since"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(loader.stats().revalidated, 1);

    // Unless the request accepts stale data.
    loader.clear_memory();
    let before = server.requests().len();
    let s = loader
        .load_blocking(
            Request::new(server.url("/stale.png")).cache_policy(CachePolicy::AcceptStale),
        )
        .unwrap();
    assert_eq!(s.source(), Source::Disk);
    assert_eq!(server.requests().len(), before);
}

#[test]
fn a_stale_entry_is_served_when_the_server_fails_and_dropped_when_it_is_gone() {
    let dir = TempDir::new("stalefail");
    let server = Server::start();
    let down = Arc::new(AtomicUsize::new(0));
    let d = down.clone();
    server.route_fn("/x.png", move |_| match d.load(Ordering::SeqCst) {
        0 => Route::ok(png(5, 5, 1))
            .header("Cache-Control", "max-age=0")
            .header("ETag", "\"x\""),
        1 => Route::status(503),
        _ => Route::status(404),
    });
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let url = server.url("/x.png");
    loader.load_blocking(url.as_str()).unwrap();
    loader.clear_memory();

    down.store(1, Ordering::SeqCst);
    let img = loader.load_blocking(url.as_str()).unwrap();
    assert_eq!(img.source(), Source::Disk);
    assert_eq!(loader.stats().stale_served, 1);

    loader.clear_memory();
    down.store(2, Ordering::SeqCst);
    let err = loader.load_blocking(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
    assert!(
        !loader.disk_cache().unwrap().contains(&url).unwrap(),
        "a 404 removes the entry"
    );
}

#[test]
fn no_store_responses_are_not_written_to_disk() {
    let dir = TempDir::new("nostore");
    let server = Server::start();
    server.route(
        "/n.png",
        Route::ok(png(5, 5, 1)).header("Cache-Control", "no-store"),
    );
    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    let url = server.url("/n.png");
    loader.load_blocking(url.as_str()).unwrap();
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    assert!(!disk.contains(&url).unwrap());
    assert_eq!(entry_files(dir.path()).len(), 0);
    assert_eq!(loader.stats().disk_writes, 0);
}

#[test]
fn a_corrupt_or_truncated_entry_is_a_miss_deleted_and_refetched() {
    let dir = TempDir::new("corrupt");
    let server = Server::start();
    server.route("/a.png", Route::ok(noisy_png(64, 64, 1)));
    server.route("/b.png", Route::ok(noisy_png(64, 64, 2)));
    let (a, b) = (server.url("/a.png"), server.url("/b.png"));
    {
        let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
        loader.load_blocking(a.as_str()).unwrap();
        loader.load_blocking(b.as_str()).unwrap();
    }
    let mut files = entry_files(dir.path());
    files.sort_by_key(|f| f.0.clone());
    assert_eq!(files.len(), 2);
    // Flip one byte in the middle of one entry, cut the other short.
    let mut bytes = fs::read(&files[0].0).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&files[0].0, bytes).unwrap();
    let bytes = fs::read(&files[1].0).unwrap();
    fs::write(&files[1].0, &bytes[..bytes.len() - 9]).unwrap();

    let loader = ImageLoader::new(disk_config(2, dir.path())).unwrap();
    for url in [&a, &b] {
        let img = loader.load_blocking(url.as_str()).unwrap();
        assert_eq!(
            img.source(),
            Source::Network,
            "a corrupt entry must be refetched"
        );
    }
    assert_eq!(loader.stats().disk_corrupt_entries, 2);
    assert_eq!(server.requests().len(), 4);
    // And written again, whole.
    loader.disk_cache().unwrap().flush();
    loader.clear_memory();
    for url in [&a, &b] {
        assert_eq!(
            loader.load_blocking(url.as_str()).unwrap().source(),
            Source::Disk
        );
    }
}

#[test]
fn the_size_limit_is_enforced_as_writes_happen() {
    let dir = TempDir::new("limit");
    let server = Server::start();
    let n = 60;
    let mut total = 0;
    for i in 0..n {
        let body = noisy_png(120, 120, i); // ~58 KB each
        total += body.len();
        server.route(&format!("/{i}.png"), Route::ok(body));
    }
    let limit = (total / 3) as u64; // write three times the limit
    let loader = ImageLoader::new(Config {
        disk_cache: Some(DiskCacheConfig {
            max_bytes: limit,
            min_free_bytes: 0,
            ..DiskCacheConfig::at(dir.path())
        }),
        ..config(2)
    })
    .unwrap();
    let disk = loader.disk_cache().unwrap();
    for i in 0..n {
        loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
        if i % 5 == 4 {
            disk.flush();
            let size = dir_size(dir.path());
            assert!(size <= limit, "after {} images: {size} > {limit}", i + 1);
            assert_eq!(disk.size().unwrap(), size);
        }
    }
    disk.flush();
    assert!(loader.stats().disk_evicted > 0);
    // The newest survive; the oldest went first.
    assert!(
        disk.contains(&server.url(&format!("/{}.png", n - 1)))
            .unwrap()
    );
    assert!(!disk.contains(&server.url("/0.png")).unwrap());
}

#[test]
fn recently_read_entries_outlive_older_unread_ones() {
    let dir = TempDir::new("lru");
    let server = Server::start();
    for i in 0..6 {
        server.route(&format!("/{i}.png"), Route::ok(noisy_png(100, 100, i)));
    }
    {
        let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
        for i in 0..5 {
            loader
                .load_blocking(server.url(&format!("/{i}.png")))
                .unwrap();
        }
    }
    // Room for these five, not for a sixth of the same size.
    let limit = dir_size(dir.path()) + 300;
    // Age the entries: image i was last read 10 - i hours ago, so 0 is the oldest. Then read
    // entry 0 again: it becomes the most recent, and 1 the least recently read.
    for i in 0..5u64 {
        let path = entry_path_of(dir.path(), &server.url(&format!("/{i}.png")));
        let when = SystemTime::now() - Duration::from_secs((10 - i) * 3600);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let loader = ImageLoader::new(Config {
        disk_cache: Some(DiskCacheConfig {
            max_bytes: limit,
            min_free_bytes: 0,
            ..DiskCacheConfig::at(dir.path())
        }),
        ..config(1)
    })
    .unwrap();
    assert_eq!(
        loader.load_blocking(server.url("/0.png")).unwrap().source(),
        Source::Disk
    );
    loader.load_blocking(server.url("/5.png")).unwrap(); // pushes the total over the limit
    let disk = loader.disk_cache().unwrap();
    disk.flush();
    assert!(
        disk.contains(&server.url("/0.png")).unwrap(),
        "recently read entry evicted"
    );
    assert!(
        !disk.contains(&server.url("/1.png")).unwrap(),
        "least recently read entry kept"
    );
}

#[test]
fn the_sweep_removes_entries_not_accessed_within_max_age() {
    let dir = TempDir::new("age");
    let server = Server::start();
    for i in 0..4 {
        server.route(&format!("/{i}.png"), Route::ok(png(8, 8, i)));
    }
    {
        let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
        for i in 0..4 {
            loader
                .load_blocking(server.url(&format!("/{i}.png")))
                .unwrap();
        }
    }
    let mut files = entry_files(dir.path());
    files.sort();
    let eight_days = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    for (path, _) in &files[..2] {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(eight_days)
            .unwrap();
    }
    // A new loader sweeps when its IO thread starts.
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let disk = loader.disk_cache().unwrap();
    assert_eq!(disk.len().unwrap(), 2);
    assert!(!files[0].0.exists() && !files[1].0.exists());
    assert!(files[2].0.exists() && files[3].0.exists());
    assert_eq!(loader.stats().disk_evicted, 2);
}

#[test]
fn the_disk_cache_api() {
    let dir = TempDir::new("api");
    let server = Server::start();
    for i in 0..3 {
        server.route(&format!("/{i}.png"), Route::ok(png(8, 8, i)));
    }
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let disk = loader.disk_cache().unwrap();
    assert_eq!(disk.path(), dir.path());
    assert!(disk.is_empty().unwrap());
    for i in 0..3 {
        loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
    }
    assert_eq!(disk.len().unwrap(), 3);
    assert_eq!(disk.size().unwrap(), dir_size(dir.path()));
    assert!(disk.contains(&server.url("/1.png")).unwrap());
    assert_eq!(disk.get(&server.url("/1.png")).unwrap(), Some(png(8, 8, 1)));
    assert!(disk.remove(&server.url("/1.png")).unwrap());
    assert_eq!(disk.get(&server.url("/1.png")).unwrap(), None);
    assert!(!disk.remove(&server.url("/1.png")).unwrap());
    assert!(!disk.contains(&server.url("/1.png")).unwrap());
    assert_eq!(disk.len().unwrap(), 2);
    let freed = disk.clear().unwrap();
    assert!(freed > 0);
    assert_eq!((disk.len().unwrap(), disk.size().unwrap()), (0, 0));
    assert!(matches!(disk.contains("::"), Err(Error::InvalidUrl { .. })));
    assert!(ImageLoader::new(config(1)).unwrap().disk_cache().is_none());
}

#[test]
fn local_files_and_data_urls_are_not_copied_to_disk() {
    let dir = TempDir::new("local");
    let file = dir.path().join("pic.png");
    fs::write(&file, png(4, 4, 1)).unwrap();
    let loader = ImageLoader::new(disk_config(1, &dir.path().join("cache"))).unwrap();
    loader.load_blocking(file_url(&file)).unwrap();
    loader.disk_cache().unwrap().flush();
    assert_eq!(loader.disk_cache().unwrap().len().unwrap(), 0);
}

#[test]
fn a_directory_that_cannot_be_created_is_a_clear_error() {
    let dir = TempDir::new("nodir");
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"not a directory").unwrap();
    let err = ImageLoader::new(disk_config(1, &blocker.join("cache"))).unwrap_err();
    match &err {
        Error::DiskCache { path, .. } => assert_eq!(path, &blocker.join("cache")),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("disk cache"), "{err}");
    // The operating system's error is the source.
    let io = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<std::io::Error>());
    assert!(io.is_some(), "{err:?}");
}

#[test]
fn an_unwritable_directory_degrades_to_memory_only() {
    let dir = TempDir::new("readonly");
    let server = Server::start();
    for i in 0..3 {
        server.route(&format!("/{i}.png"), Route::ok(png(8, 8, i)));
    }
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    // Make the directory unwritable for the cache in a way that also holds for root: its
    // temporary-file directory becomes a plain file.
    fs::remove_dir_all(dir.path().join("tmp")).unwrap();
    fs::write(dir.path().join("tmp"), b"in the way").unwrap();
    for i in 0..3 {
        let img = loader
            .load_blocking(server.url(&format!("/{i}.png")))
            .unwrap();
        assert_eq!(img.source(), Source::Network);
    }
    loader.disk_cache().unwrap().flush();
    let stats = loader.stats();
    assert_eq!(stats.disk_writes, 0);
    assert_eq!(stats.disk_write_errors, 3);
    // Memory still works.
    assert_eq!(
        loader.load_blocking(server.url("/0.png")).unwrap().source(),
        Source::Memory
    );
}

#[test]
fn a_full_disk_degrades_to_memory_only() {
    let dir = TempDir::new("full");
    let server = Server::start();
    server.route("/f.png", Route::ok(png(8, 8, 1)));
    // Ask for more free space than any disk has: fs4 reports the disk as too full.
    let loader = ImageLoader::new(Config {
        disk_cache: Some(DiskCacheConfig {
            min_free_bytes: u64::MAX / 2,
            ..DiskCacheConfig::at(dir.path())
        }),
        ..config(1)
    })
    .unwrap();
    let img = loader.load_blocking(server.url("/f.png")).unwrap();
    assert_eq!(img.source(), Source::Network);
    loader.disk_cache().unwrap().flush();
    assert_eq!(loader.stats().disk_write_errors, 1);
    assert_eq!(entry_files(dir.path()).len(), 0);
    assert_eq!(
        loader.load_blocking(server.url("/f.png")).unwrap().source(),
        Source::Memory
    );
}

#[test]
fn two_loaders_in_one_process_share_a_directory() {
    let dir = TempDir::new("twoloaders");
    let server = Server::start();
    let n = 40u32;
    for i in 0..n {
        server.route(&format!("/{i}.png"), Route::ok(noisy_png(60, 60, i)));
    }
    let limit = 20 * noisy_png(60, 60, 0).len() as u64;
    let make = || {
        ImageLoader::new(Config {
            disk_cache: Some(DiskCacheConfig {
                max_bytes: limit,
                min_free_bytes: 0,
                ..DiskCacheConfig::at(dir.path())
            }),
            ..config(3)
        })
        .unwrap()
    };
    let (a, b) = (make(), make());
    std::thread::scope(|s| {
        for (loader, reverse) in [(&a, false), (&b, true)] {
            let server = &server;
            s.spawn(move || {
                for j in 0..n {
                    let i = if reverse { n - 1 - j } else { j };
                    loader
                        .load_blocking(server.url(&format!("/{i}.png")))
                        .unwrap();
                }
            });
        }
    });
    drop((a, b));
    assert!(
        dir_size(dir.path()) <= limit,
        "{} > {limit}",
        dir_size(dir.path())
    );
    // Every surviving entry reads back whole and holds the right image.
    let check = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let mut present = 0;
    for i in 0..n {
        match check.load_blocking(
            Request::new(server.url(&format!("/{i}.png"))).cache_policy(CachePolicy::CacheOnly),
        ) {
            Ok(img) => {
                present += 1;
                assert_eq!(img.image().as_raw(), noise(60, 60, i).as_raw(), "entry {i}");
            }
            Err(Error::NotCached { .. }) => {}
            Err(e) => panic!("entry {i}: {e}"),
        }
    }
    assert_eq!(check.stats().disk_corrupt_entries, 0);
    assert_eq!(present, entry_files(dir.path()).len());
    assert!(present > 0);
}

#[test]
fn an_absurd_age_header_neither_panics_nor_hangs() {
    let dir = TempDir::new("age-header");
    let server = Server::start();
    server.route(
        "/a.png",
        Route::ok(png(5, 5, 1))
            .header("Cache-Control", "max-age=60")
            .header("Age", "18446744073709551615"),
    );
    let url = server.url("/a.png");
    ImageLoader::new(disk_config(1, dir.path()))
        .unwrap()
        .load_blocking(url.as_str())
        .unwrap();
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    loader.load(url.as_str(), move |r| tx.send(r.map(|_| ())).unwrap());
    let result = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the load never completed");
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(loader.stats().decoder_panics, 0);
}

#[test]
fn an_entry_declaring_impossible_lengths_is_corrupt_and_the_io_thread_survives() {
    let dir = TempDir::new("huge-trailer");
    let server = Server::start();
    server.route("/a.png", Route::ok(png(6, 6, 1)));
    server.route("/b.png", Route::ok(png(6, 6, 2)));
    let (a, b) = (server.url("/a.png"), server.url("/b.png"));
    {
        let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
        loader.load_blocking(a.as_str()).unwrap();
        loader.load_blocking(b.as_str()).unwrap();
    }
    // Replace a's entry with a trailer whose lengths wrap around.
    let mut evil = Vec::new();
    evil.extend_from_slice(&(u64::MAX - 100).to_le_bytes());
    evil.extend_from_slice(&100u32.to_le_bytes());
    evil.extend_from_slice(&[0; 8]);
    evil.extend_from_slice(b"WIMGent1");
    fs::write(entry_path_of(dir.path(), &a), evil).unwrap();
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    assert_eq!(
        loader.load_blocking(a.as_str()).unwrap().source(),
        Source::Network
    );
    assert_eq!(
        loader.load_blocking(b.as_str()).unwrap().source(),
        Source::Disk
    );
    assert_eq!(loader.stats().disk_corrupt_entries, 1);
}

#[test]
fn must_revalidate_forbids_serving_stale_when_the_server_fails() {
    let dir = TempDir::new("must-revalidate");
    let server = Server::start();
    let state = Arc::new(AtomicUsize::new(0));
    let s = state.clone();
    server.route_fn("/m.png", move |_| match s.load(Ordering::SeqCst) {
        0 => Route::ok(png(5, 5, 1))
            .header("Cache-Control", "max-age=0, must-revalidate")
            .header("ETag", "\"m\""),
        _ => Route::status(503),
    });
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let url = server.url("/m.png");
    loader.load_blocking(url.as_str()).unwrap();
    loader.clear_memory();
    state.store(1, Ordering::SeqCst);
    let err = loader.load_blocking(url.as_str()).unwrap_err();
    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
    assert_eq!(loader.stats().stale_served, 0);
    assert!(
        loader.disk_cache().unwrap().contains(&url).unwrap(),
        "a 503 keeps the copy"
    );
}

#[test]
fn rate_limited_revalidation_keeps_the_entry_and_serves_it() {
    let dir = TempDir::new("rate-limited");
    let server = Server::start();
    let state = Arc::new(AtomicUsize::new(0));
    let s = state.clone();
    server.route_fn("/r.png", move |_| match s.load(Ordering::SeqCst) {
        0 => Route::ok(png(5, 5, 1))
            .header("Cache-Control", "max-age=0")
            .header("ETag", "\"r\""),
        _ => Route::status(429),
    });
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let url = server.url("/r.png");
    loader.load_blocking(url.as_str()).unwrap();
    loader.clear_memory();
    state.store(1, Ordering::SeqCst);
    assert_eq!(
        loader.load_blocking(url.as_str()).unwrap().source(),
        Source::Disk
    );
    assert_eq!(loader.stats().stale_served, 1);
    assert!(loader.disk_cache().unwrap().contains(&url).unwrap());
}

#[test]
fn a_response_that_may_not_be_stored_removes_the_old_copy() {
    let dir = TempDir::new("no-store-later");
    let server = Server::start();
    let state = Arc::new(AtomicUsize::new(0));
    let s = state.clone();
    server.route_fn("/n.png", move |_| match s.load(Ordering::SeqCst) {
        0 => Route::ok(png(5, 5, 1)),
        _ => Route::ok(png(7, 7, 2)).header("Cache-Control", "no-store"),
    });
    let loader = ImageLoader::new(disk_config(1, dir.path())).unwrap();
    let url = server.url("/n.png");
    loader.load_blocking(url.as_str()).unwrap();
    state.store(1, Ordering::SeqCst);
    let fresh = loader
        .load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::Reload))
        .unwrap();
    assert_eq!(fresh.width(), 7);
    loader.disk_cache().unwrap().flush();
    assert!(!loader.disk_cache().unwrap().contains(&url).unwrap());
    let offline =
        loader.load_blocking(Request::new(url.as_str()).cache_policy(CachePolicy::CacheOnly));
    assert_eq!(
        offline.unwrap().width(),
        7,
        "served from memory, never the old disk copy"
    );
}
