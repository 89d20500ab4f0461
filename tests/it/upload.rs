//! Issue 5, uploader: streaming PUT and multipart POST through one agent, progress, exactly-once
//! completion, retries, the journal, cancel and shutdown, and the recompression rule.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use webimage::{
    Error, Recompress, UploadConfig, UploadError, UploadItem, UploadResponse, UploadSource,
    Uploader,
};

type Results = Log<Result<UploadResponse, UploadError>>;

fn record(results: &Results) -> impl FnOnce(Result<UploadResponse, UploadError>) + Send + 'static {
    let results = results.clone();
    move |r| results.lock().unwrap().push(r)
}

fn uploader(f: impl FnOnce(&mut UploadConfig)) -> Uploader {
    let mut c = UploadConfig {
        retry_backoff: Duration::from_millis(5),
        ..Default::default()
    };
    f(&mut c);
    Uploader::new(c).unwrap()
}

/// Splits a multipart/form-data body into (headers, content) parts.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).unwrap();
    let delimiter = format!("--{boundary}");
    let text = body.to_vec();
    let mut out = Vec::new();
    let mut rest = &text[..];
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    assert!(rest.starts_with(delimiter.as_bytes()));
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = &rest[2..]; // \r\n
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8(rest[..head_end].to_vec()).unwrap();
        rest = &rest[head_end + 4..];
        let next = find(rest, format!("\r\n{delimiter}").as_bytes()).unwrap();
        out.push((head, rest[..next].to_vec()));
        rest = &rest[next + 2..];
    }
    out
}

#[test]
fn put_streams_a_file_as_the_raw_body() {
    let dir = TempDir::new("put");
    let server = Server::start();
    server.route("/bucket/a.png", Route::ok(b"stored".to_vec()));
    let bytes = noisy_png(200, 200, 1);
    let path = dir.path().join("a.png");
    std::fs::write(&path, &bytes).unwrap();
    let up = uploader(|_| {});
    let results = Results::default();
    up.enqueue(
        UploadItem::put(server.url("/bucket/a.png"), path.as_path()).header("x-amz-acl", "private"),
        record(&results),
    );
    up.wait();
    let r = results.lock().unwrap().pop().unwrap().unwrap();
    assert_eq!(
        r,
        UploadResponse {
            status: 200,
            body: b"stored".to_vec()
        }
    );
    let req = &server.requests()[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.body, bytes, "the file must arrive byte for byte");
    assert_eq!(
        req.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(req.header("content-type"), Some("image/png"));
    assert_eq!(req.header("x-amz-acl"), Some("private"));
    assert!(req.header("transfer-encoding").is_none());
    assert_eq!(up.stats().bytes_sent, bytes.len() as u64);
}

#[test]
fn form_posts_multipart_with_fields() {
    let server = Server::start();
    server.route("/upload", Route::ok(b"{\"id\":7}".to_vec()));
    let bytes: Arc<[u8]> = Arc::from(png(10, 10, 1));
    let up = uploader(|_| {});
    let results = Results::default();
    let source = UploadSource::Bytes {
        name: "cat \"1\".png".into(),
        bytes: bytes.clone(),
    };
    up.enqueue(
        UploadItem::form(server.url("/upload"), "photo", source)
            .form_field("album", "holidays")
            .form_field("note", "two\r\nlines"),
        record(&results),
    );
    up.wait();
    assert_eq!(
        results.lock().unwrap()[0].as_ref().unwrap().body,
        b"{\"id\":7}"
    );
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    let ct = req.header("content-type").unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    assert_eq!(
        req.header("content-length"),
        Some(req.body.len().to_string().as_str())
    );
    let p = parts(ct, &req.body);
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].0, "Content-Disposition: form-data; name=\"album\"");
    assert_eq!(p[0].1, b"holidays");
    assert_eq!(p[1].1, b"two\r\nlines");
    assert!(
        p[2].0
            .contains("name=\"photo\"; filename=\"cat \\\"1\\\".png\""),
        "{}",
        p[2].0
    );
    assert!(p[2].0.contains("Content-Type: image/png"));
    assert_eq!(p[2].1, &bytes[..]);
}

#[test]
fn progress_and_one_connection_for_many_uploads() {
    let dir = TempDir::new("many");
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let up = uploader(|_| {});
    let results = Results::default();
    let seen: Log<(u64, u64)> = Log::default();
    for i in 0..30 {
        let path = dir.path().join(format!("{i}.png"));
        std::fs::write(&path, noisy_png(100, 100, i)).unwrap();
        let s = seen.clone();
        let item = UploadItem::form(server.url("/up"), "f", path).progress(move |sent, total| {
            if i == 0 {
                s.lock().unwrap().push((sent, total));
            }
        });
        up.enqueue(item, record(&results));
    }
    up.wait();
    assert_eq!(
        results.lock().unwrap().iter().filter(|r| r.is_ok()).count(),
        30
    );
    assert_eq!(
        server.connections(),
        1,
        "one agent, one connection, one upload at a time"
    );
    assert_eq!(server.max_active(), 1);
    let seen = seen.lock().unwrap();
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    let total = server.requests()[0].body.len() as u64;
    assert_eq!(*seen.last().unwrap(), (total, total));
}

#[test]
fn concurrency_is_bounded_by_max_concurrent() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/slow", Route::ok(b"ok".to_vec()).hold(&gate));
    let up = uploader(|c| c.max_concurrent = 3);
    let results = Results::default();
    for i in 0..12 {
        let source = UploadSource::Bytes {
            name: format!("{i}.bin"),
            bytes: Arc::from(vec![i as u8; 1000]),
        };
        up.enqueue(
            UploadItem::put(server.url("/slow"), source),
            record(&results),
        );
    }
    gate.wait_arrivals(3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(gate.arrivals(), 3);
    gate.open();
    up.wait();
    assert_eq!(results.lock().unwrap().len(), 12);
    assert!(server.max_open() <= 3);
}

#[test]
fn transient_failures_are_retried_with_backoff_and_4xx_are_not() {
    let server = Server::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    server.route_fn("/flaky", move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Route::status(503)
        } else {
            Route::ok(b"ok".to_vec())
        }
    });
    server.route("/bad", Route::status(400));
    let up = uploader(|_| {});
    let results = Results::default();
    let bytes = || UploadSource::Bytes {
        name: "x".into(),
        bytes: Arc::from(&b"x"[..]),
    };
    up.enqueue(
        UploadItem::put(server.url("/flaky"), bytes()),
        record(&results),
    );
    up.wait();
    up.enqueue(
        UploadItem::put(server.url("/bad"), bytes()),
        record(&results),
    );
    up.wait();
    let results = results.lock().unwrap();
    assert!(results[0].is_ok());
    assert_eq!(server.hits("/flaky"), 3);
    let bad = results[1].as_ref().unwrap_err();
    assert_eq!(bad.attempts, 1);
    assert!(matches!(bad.error, Error::Http { status: 400, .. }));
    assert_eq!(bad.response.as_ref().unwrap().body, b"status 400");
    assert_eq!(server.hits("/bad"), 1);
    assert_eq!(up.stats().retries, 2);
}

#[test]
fn failures_are_journaled_survive_a_restart_and_can_be_retried() {
    let journal = TempDir::new("journal");
    let files = TempDir::new("journal-files");
    let server = Server::start();
    let up_ok = Arc::new(AtomicUsize::new(0));
    let flag = up_ok.clone();
    server.route_fn("/up", move |_| {
        if flag.load(Ordering::SeqCst) == 1 {
            Route::ok(b"ok".to_vec())
        } else {
            Route::status(500)
        }
    });
    let good = files.path().join("good.png");
    std::fs::write(&good, png(8, 8, 1)).unwrap();
    let missing = files.path().join("missing.png");
    let results = Results::default();
    {
        // The missing file is a permanent failure: journaled only because this asks for it.
        let up = uploader(|c| {
            c.journal_dir = Some(journal.path().to_path_buf());
            c.max_retries = 1;
            c.journal_permanent_failures = true;
        });
        up.enqueue(
            UploadItem::put(server.url("/up"), good.as_path()),
            record(&results),
        );
        up.enqueue(
            UploadItem::put(server.url("/up"), missing.as_path()),
            record(&results),
        );
        let source = UploadSource::Bytes {
            name: "mem.bin".into(),
            bytes: Arc::from(&b"memory"[..]),
        };
        up.enqueue(
            UploadItem::form(server.url("/up"), "f", source),
            record(&results),
        );
        up.wait();
        let results = results.lock().unwrap();
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.journaled))
        );
        let missing_err = &results[1].as_ref().unwrap_err();
        assert!(
            matches!(missing_err.error, Error::Io { .. }),
            "{:?}",
            missing_err.error
        );
        assert_eq!(missing_err.attempts, 0, "an unreadable file is not sent");
        assert_eq!(up.journal().unwrap().len(), 3);
    }
    // A new process: the journal is still there; the server works again.
    up_ok.store(1, Ordering::SeqCst);
    std::fs::write(&missing, png(8, 8, 2)).unwrap();
    let up = uploader(|c| c.journal_dir = Some(journal.path().to_path_buf()));
    let listed = up.journal().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|e| e.target.ends_with("/up")));
    assert_eq!(
        listed.iter().map(|e| e.permanent).collect::<Vec<_>>(),
        [false, true, false]
    );
    let retried = Arc::new(Mutex::new(Vec::new()));
    let r = retried.clone();
    assert_eq!(
        up.retry_failed(move |res| r.lock().unwrap().push(res.is_ok()))
            .unwrap(),
        3
    );
    up.wait();
    assert_eq!(*retried.lock().unwrap(), vec![true, true, true]);
    assert!(up.journal().unwrap().is_empty());
    // The bytes item was kept in the journal and sent intact.
    let sent: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(sent.last().unwrap().body.windows(6).any(|w| w == b"memory"));
}

#[test]
fn one_bad_item_never_stops_the_others() {
    let dir = TempDir::new("mixed");
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let up = uploader(|_| {});
    let results = Results::default();
    for i in 0..10 {
        let path = dir.path().join(format!("{i}.png"));
        if i % 3 != 0 {
            std::fs::write(&path, png(4, 4, i)).unwrap();
        }
        up.enqueue(UploadItem::put(server.url("/up"), path), record(&results));
    }
    up.wait();
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 10);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 6);
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn cancel_and_shutdown_complete_each_item_once() {
    let server = Server::start();
    let gate = Gate::new();
    server.route("/hold", Route::ok(b"ok".to_vec()).hold(&gate));
    let journal = TempDir::new("shutdown-journal");
    let results = Results::default();
    let up = uploader(|c| c.journal_dir = Some(journal.path().to_path_buf()));
    let bytes = |i: u8| UploadSource::Bytes {
        name: format!("{i}"),
        bytes: Arc::from(vec![i; 10]),
    };
    up.enqueue(
        UploadItem::put(server.url("/hold"), bytes(0)),
        record(&results),
    );
    gate.wait_arrivals(1);
    let tokens: Vec<_> = (1..6)
        .map(|i| {
            up.enqueue(
                UploadItem::put(server.url("/hold"), bytes(i)),
                record(&results),
            )
        })
        .collect();
    assert!(tokens[0].cancel());
    assert!(!tokens[0].cancel());
    assert_eq!(results.lock().unwrap().len(), 1, "cancel completes at once");
    assert_eq!(
        results.lock().unwrap()[0].as_ref().unwrap_err().error,
        Error::Cancelled {
            url: server.url("/hold")
        }
    );
    let dropper = std::thread::spawn(move || drop(up));
    wait_until("queued items to be shut down", || {
        results.lock().unwrap().len() >= 5
    });
    gate.open();
    dropper.join().unwrap();
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 6);
    let shutdowns: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| matches!(e.error, Error::Shutdown { .. }))
        .collect();
    assert_eq!(shutdowns.len(), 4);
    assert!(shutdowns.iter().all(|e| e.journaled));
    assert_eq!(
        server.requests().len(),
        1,
        "queued items must not be sent after drop"
    );
}

fn photo(w: u32, h: u32) -> image::RgbImage {
    let base = picture(w, h, 3);
    let n = noise(w, h, 4);
    image::RgbImage::from_fn(w, h, |x, y| {
        let (a, b) = (base.get_pixel(x, y).0, n.get_pixel(x, y).0);
        image::Rgb([0, 1, 2].map(|c| (a[c] as u16 * 7 / 8 + b[c] as u16 / 8) as u8))
    })
}

/// What the uploader's encoder (jpeg-encoder) makes of `img` at `quality`.
fn jpeg_at(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let (w, h) = (img.width() as u16, img.height() as u16);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[test]
fn recompression_follows_the_quality_rule() {
    let dir = TempDir::new("recompress");
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let img = photo(640, 480);
    let original = jpeg_at(&img, 95);
    let path = dir.path().join("photo.jpeg");
    std::fs::write(&path, &original).unwrap();
    // What the rule should produce, from the same decoded pixels.
    let decoded = image::load_from_memory(&original).unwrap().to_rgb8();
    let at50 = jpeg_at(&decoded, 50);
    let at30 = jpeg_at(&decoded, 30);
    assert!(at30.len() < at50.len() && at50.len() < original.len());

    for (budget, is_original, expected) in [
        (10 << 20, false, &at50), // under budget: quality 0.5
        (1000, false, &at30),     // over budget: again at 0.3
        (1000, true, &at50),      // originals are never squeezed further
    ] {
        let up = uploader(|c| {
            c.recompress = Some(Recompress {
                max_bytes: budget,
                ..Default::default()
            })
        });
        let results = Results::default();
        up.enqueue(
            UploadItem::form(server.url("/up"), "f", path.as_path()).original(is_original),
            record(&results),
        );
        up.wait();
        assert!(results.lock().unwrap()[0].is_ok());
        let req = server.requests().pop().unwrap();
        let p = parts(req.header("content-type").unwrap(), &req.body);
        assert!(p[0].0.contains("filename=\"photo.jpg\""), "{}", p[0].0);
        assert!(p[0].0.contains("Content-Type: image/jpeg"));
        assert_eq!(&p[0].1, expected, "budget {budget}, original {is_original}");
        assert_eq!(up.stats().recompressed, 1);
    }

    // Downscale to a maximum edge, aspect kept.
    let up = uploader(|c| {
        c.recompress = Some(Recompress {
            max_edge: Some(320),
            ..Default::default()
        })
    });
    let results = Results::default();
    up.enqueue(
        UploadItem::put(server.url("/up"), path.as_path()),
        record(&results),
    );
    up.wait();
    let sent = server.requests().pop().unwrap().body;
    let small = image::load_from_memory(&sent).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240));

    // Without recompression the file goes byte for byte.
    let up = uploader(|_| {});
    up.enqueue(UploadItem::put(server.url("/up"), path.as_path()), |r| {
        assert!(r.is_ok())
    });
    up.wait();
    assert_eq!(server.requests().pop().unwrap().body, original);
}

#[test]
fn an_undecodable_file_fails_recompression_with_a_typed_error() {
    let dir = TempDir::new("undecodable");
    let server = Server::start();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"not an image").unwrap();
    let up = uploader(|c| c.recompress = Some(Recompress::default()));
    let results = Results::default();
    up.enqueue(UploadItem::put(server.url("/up"), path), record(&results));
    up.wait();
    let err = results.lock().unwrap().pop().unwrap().unwrap_err();
    assert!(
        matches!(err.error, Error::UnsupportedFormat { .. }),
        "{:?}",
        err.error
    );
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn zero_concurrency_is_a_clear_error() {
    let err = Uploader::new(UploadConfig {
        max_concurrent: 0,
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    fn check<T: Send + Sync>() {}
    check::<Uploader>();
    check::<webimage::UploadToken>();
}

/// Runs `f` on another thread and fails the test if it does not finish (instead of hanging).
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

#[test]
#[allow(clippy::result_large_err)] // the closure returns an upload's result as it is
fn a_file_that_shrinks_while_being_sent_fails_instead_of_hanging() {
    let dir = TempDir::new("shrink");
    let server = Server::start();
    server.discard_bodies();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let path = dir.path().join("moving.bin");
    std::fs::write(&path, vec![1u8; 4 << 20]).unwrap();
    let url = server.url("/up");
    let result = finishes("the upload", move || {
        let up = uploader(|c| c.max_retries = 0);
        let p = path.clone();
        let mut truncated = false;
        let item = UploadItem::put(url, path.as_path()).progress(move |_, _| {
            if !truncated {
                truncated = true;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_len(1000)
                    .unwrap();
            }
        });
        let results = Results::default();
        up.enqueue(item, record(&results));
        up.wait();
        results.lock().unwrap().pop().unwrap()
    });
    assert!(result.is_err(), "{result:?}");
}

#[test]
fn a_completion_that_cancels_its_own_upload_does_not_deadlock() {
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let url = server.url("/up");
    let cancelled_again = finishes("the completion", move || {
        let up = uploader(|_| {});
        let token_slot: Arc<Mutex<Option<webimage::UploadToken>>> = Arc::default();
        let seen = Arc::new(Mutex::new(None));
        let (t, s) = (token_slot.clone(), seen.clone());
        let gate = Gate::new();
        let g = gate.clone();
        let source = UploadSource::Bytes {
            name: "x".into(),
            bytes: Arc::from(&b"x"[..]),
        };
        let item = UploadItem::put(url, source).progress(move |_, _| g.pass());
        let token = up.enqueue(item, move |_| {
            let token = t.lock().unwrap().clone().unwrap();
            *s.lock().unwrap() = Some(token.cancel());
        });
        *token_slot.lock().unwrap() = Some(token);
        gate.open();
        up.wait();
        seen.lock().unwrap().take()
    });
    assert_eq!(
        cancelled_again,
        Some(false),
        "already complete: cancel must say so"
    );
}

#[test]
fn a_redirect_is_a_failure_not_a_silent_get() {
    let journal = TempDir::new("redirect-journal");
    let server = Server::start();
    server.route("/old", Route::redirect("/new"));
    server.route("/new", Route::ok(b"a page".to_vec()));
    let up = uploader(|c| c.journal_dir = Some(journal.path().to_path_buf()));
    let results = Results::default();
    let source = UploadSource::Bytes {
        name: "x".into(),
        bytes: Arc::from(&b"payload"[..]),
    };
    up.enqueue(
        UploadItem::put(server.url("/old"), source),
        record(&results),
    );
    up.wait();
    let err = results.lock().unwrap().pop().unwrap().unwrap_err();
    assert!(
        matches!(err.error, Error::Http { status: 302, .. }),
        "{:?}",
        err.error
    );
    assert!(
        !err.journaled,
        "a redirect is permanent: the same request gets it again"
    );
    assert_eq!(server.hits("/new"), 0, "followed the redirect");
}

#[test]
fn a_panicking_progress_closure_does_not_kill_the_upload_thread() {
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    let up = uploader(|_| {});
    let results = Results::default();
    let source = || UploadSource::Bytes {
        name: "x".into(),
        bytes: Arc::from(vec![3u8; 200_000]),
    };
    let item = UploadItem::put(server.url("/up"), source()).progress(|_, _| panic!("progress bug"));
    up.enqueue(item, record(&results));
    up.enqueue(
        UploadItem::put(server.url("/up"), source()),
        record(&results),
    );
    up.wait();
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.is_ok()));
}

#[test]
fn an_item_cancelled_during_its_backoff_is_not_journaled() {
    let journal = TempDir::new("backoff-journal");
    let server = Server::start();
    server.route("/busy", Route::status(503));
    let up = uploader(|c| {
        c.journal_dir = Some(journal.path().to_path_buf());
        c.retry_backoff = Duration::from_secs(5);
    });
    let results = Results::default();
    let source = UploadSource::Bytes {
        name: "x".into(),
        bytes: Arc::from(&b"x"[..]),
    };
    let token = up.enqueue(
        UploadItem::put(server.url("/busy"), source),
        record(&results),
    );
    wait_until("the first attempt", || server.hits("/busy") == 1);
    assert!(token.cancel());
    up.wait();
    let stats = up.stats();
    assert_eq!((stats.failed, stats.cancelled, stats.journaled), (0, 1, 0));
    assert!(up.journal().unwrap().is_empty());
    assert_eq!(results.lock().unwrap().len(), 1);
}

#[test]
fn retry_failed_does_not_queue_an_item_twice() {
    let journal = TempDir::new("twice-journal");
    let server = Server::start();
    server.route("/up", Route::status(503));
    let config = |c: &mut UploadConfig| {
        c.journal_dir = Some(journal.path().to_path_buf());
        c.max_retries = 0;
    };
    {
        let up = uploader(config);
        let source = UploadSource::Bytes {
            name: "x".into(),
            bytes: Arc::from(&b"x"[..]),
        };
        up.enqueue(UploadItem::put(server.url("/up"), source), |_| {});
        up.wait();
    }
    let gate = Gate::new();
    server.route("/up", Route::ok(b"ok".to_vec()).hold(&gate));
    let up = uploader(config);
    assert_eq!(up.retry_failed(|r| assert!(r.is_ok())).unwrap(), 1);
    gate.wait_arrivals(1);
    assert_eq!(up.retry_failed(|_| panic!("sent twice")).unwrap(), 0);
    gate.open();
    up.wait();
    assert_eq!(server.hits("/up"), 2, "one failed send, one retry");
    assert!(up.journal().unwrap().is_empty());
}

#[test]
fn invalid_recompression_settings_are_refused() {
    for r in [
        Recompress {
            quality: 1.5,
            ..Default::default()
        },
        Recompress {
            fallback_quality: -0.1,
            ..Default::default()
        },
        Recompress {
            max_edge: Some(0),
            ..Default::default()
        },
    ] {
        let err = Uploader::new(UploadConfig {
            recompress: Some(r),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{r:?}");
    }
}
