//! Issue 11 point 7, what the upload journal keeps: only failures worth retrying (unless the
//! caller opts in), TLS failures neither retried nor kept, permanent failures dropped on retry,
//! entries listed and dropped, and messages worded as uploads.

use std::sync::Arc;
use std::time::Duration;

use super::upload_journal::{Results, bytes, files_under, record, uploader};
use crate::support::*;
use webimage::{
    Error, Recompress, UploadConfig, UploadError, UploadItem, UploadResponse, Uploader,
};

/// A port on 127.0.0.1 that refuses connections.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn only_failures_worth_retrying_are_journaled() {
    let journal = TempDir::new("journal-transient");
    let files = TempDir::new("journal-transient-files");
    let server = Server::start();
    for status in [403, 404, 405, 400, 408, 429, 500, 503] {
        server.route(&format!("/{status}"), Route::status(status));
    }
    let gate = Gate::new();
    server.route("/slow", Route::ok(b"late".to_vec()).hold(&gate));
    let not_an_image = files.path().join("notes.txt");
    std::fs::write(&not_an_image, b"plain text").unwrap();
    let run = |permanent_too: bool| -> Vec<(String, bool, Error)> {
        let dir = journal.path().join(permanent_too.to_string());
        let up = uploader(&dir, |c| {
            c.timeout = Duration::from_millis(300);
            c.journal_permanent_failures = permanent_too;
        });
        let recompressing = uploader(&dir, |c| {
            c.recompress = Some(Recompress::default());
            c.journal_permanent_failures = permanent_too;
        });
        let results = Results::default();
        let mut cases: Vec<(&str, UploadItem)> = Vec::new();
        for status in [403, 404, 405, 400, 408, 429, 500, 503] {
            let url = server.url(&format!("/{status}"));
            cases.push(("status", UploadItem::put(url, bytes("x"))));
        }
        let missing = files.path().join("missing.png");
        cases.push(("missing file", UploadItem::put(server.url("/500"), missing)));
        cases.push(("invalid URL", UploadItem::put("not a url", bytes("x"))));
        let refused = format!("http://127.0.0.1:{}/up", closed_port());
        cases.push(("network", UploadItem::put(refused, bytes("x"))));
        cases.push(("timeout", UploadItem::put(server.url("/slow"), bytes("x"))));
        let mut labels = Vec::new();
        for (label, item) in cases {
            labels.push(format!("{label} {}", item.target()));
            up.enqueue(item, record(&results));
            up.wait();
        }
        let item = UploadItem::put(server.url("/500"), not_an_image.as_path());
        labels.push("not an image".into());
        recompressing.enqueue(item, record(&results));
        recompressing.wait();
        let results = results.lock().unwrap();
        labels
            .into_iter()
            .zip(results.iter())
            .map(|(label, r)| {
                let e = r.as_ref().unwrap_err();
                (label, e.journaled, e.error.clone())
            })
            .collect()
    };
    let outcomes = run(false);
    let journaled: Vec<&str> = outcomes
        .iter()
        .filter(|(_, j, _)| *j)
        .map(|(l, ..)| l.split(' ').next().unwrap())
        .collect();
    let transient = ["status", "status", "status", "status", "network", "timeout"];
    assert_eq!(journaled, transient, "{outcomes:#?}");
    let journaled_targets: Vec<&String> = outcomes
        .iter()
        .filter(|(_, j, _)| *j)
        .map(|(l, ..)| l)
        .collect();
    for status in ["408", "429", "500", "503"] {
        assert!(
            journaled_targets
                .iter()
                .any(|l| l.ends_with(&format!("/{status}"))),
            "{status} not journaled"
        );
    }
    let by_label = |prefix: &str| {
        outcomes
            .iter()
            .find(|(l, ..)| l.starts_with(prefix))
            .map(|(_, _, e)| e.clone())
            .unwrap()
    };
    assert!(matches!(by_label("missing file"), Error::Io { .. }));
    let invalid = by_label("invalid URL");
    assert!(matches!(invalid, Error::InvalidUrl { .. }), "{invalid:?}");
    assert!(matches!(by_label("network"), Error::Network { .. }));
    assert!(matches!(by_label("timeout"), Error::Timeout { .. }));
    assert!(matches!(
        by_label("not an image"),
        Error::UnsupportedFormat { .. } | Error::Decode { .. }
    ));
    // Opting in keeps everything.
    let outcomes = run(true);
    assert!(outcomes.iter().all(|(_, j, _)| *j), "{outcomes:#?}");
    gate.open();
}

/// A plain-HTTP server on an `https` URL (a common misconfiguration): it answers the TLS
/// handshake with `HTTP/1.1 400`. Returns the URL and a count of connections.
fn plain_http_on_https() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/up", listener.local_addr().unwrap());
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (url, count)
}

#[test]
fn a_tls_failure_is_neither_retried_nor_journaled() {
    let journal = TempDir::new("journal-tls");
    let (url, connections) = plain_http_on_https();
    let up = uploader(journal.path(), |c| c.max_retries = 3);
    let results = Results::default();
    up.enqueue(UploadItem::put(url, bytes("x")), record(&results));
    up.wait();
    let results = results.lock().unwrap();
    let e = results[0].as_ref().unwrap_err();
    assert_eq!(e.attempts, 1, "{e:?}");
    assert!(!e.journaled, "{e:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(up.stats().retries, 0);
    assert!(up.journal().unwrap().is_empty());
}

#[test]
fn a_retry_drops_entries_that_fail_permanently_and_keeps_the_others() {
    let journal = TempDir::new("journal-drop-permanent");
    let server = Server::start();
    server.route("/a", Route::status(503));
    server.route("/b", Route::status(503));
    {
        let up = uploader(journal.path(), |_| {});
        for path in ["/a", "/b"] {
            up.enqueue(UploadItem::put(server.url(path), bytes(path)), |_| {});
        }
        up.wait();
        assert_eq!(up.journal().unwrap().len(), 2);
    }
    // The token expired for /a (permanent); /b is still down (transient).
    server.route("/a", Route::status(403));
    let up = uploader(journal.path(), |_| {});
    let results: Log<Result<UploadResponse, UploadError>> = Log::default();
    let r = results.clone();
    assert_eq!(
        up.retry_failed(move |res| r.lock().unwrap().push(res))
            .unwrap(),
        2
    );
    up.wait();
    let results = results.lock().unwrap();
    let a = results
        .iter()
        .find_map(|r| r.as_ref().err().filter(|e| e.target.ends_with("/a")))
        .unwrap();
    let b = results
        .iter()
        .find_map(|r| r.as_ref().err().filter(|e| e.target.ends_with("/b")))
        .unwrap();
    assert!(a.dropped && !a.journaled, "{a:?}");
    assert!(!b.dropped && b.journaled, "{b:?}");
    let left = up.journal().unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].target.ends_with("/b"));
    assert_eq!(left[0].attempts, 2, "attempts of both runs");
    assert_eq!(up.stats().journaled, 1);
    // A third run: /a is gone for good, only /b is sent.
    drop(up);
    let up = uploader(journal.path(), |_| {});
    assert_eq!(up.retry_failed(|_| {}).unwrap(), 1);
    up.wait();
    assert_eq!((server.hits("/a"), server.hits("/b")), (2, 3));
}

#[test]
fn with_the_opt_in_a_permanent_failure_on_retry_stays() {
    let journal = TempDir::new("journal-keep-permanent");
    let server = Server::start();
    server.route("/a", Route::status(503));
    let config = |c: &mut UploadConfig| c.journal_permanent_failures = true;
    {
        let up = uploader(journal.path(), config);
        up.enqueue(UploadItem::put(server.url("/a"), bytes("a")), |_| {});
        up.wait();
    }
    server.route("/a", Route::status(403));
    let up = uploader(journal.path(), config);
    let seen: Log<UploadError> = Log::default();
    let s = seen.clone();
    up.retry_failed(move |r| s.lock().unwrap().push(r.unwrap_err()))
        .unwrap();
    up.wait();
    let e = seen.lock().unwrap().pop().unwrap();
    assert!(e.journaled && !e.dropped);
    let entry = up.journal().unwrap().pop().unwrap();
    assert!(entry.permanent);
    assert_eq!(entry.error, "HTTP status 403");
}

#[test]
fn journal_entries_can_be_listed_and_dropped() {
    let journal = TempDir::new("journal-manage");
    let server = Server::start();
    server.route("/down", Route::status(503));
    let up = uploader(journal.path(), |_| {});
    for i in 0..4 {
        let item = UploadItem::put(server.url("/down"), bytes(&format!("{i}.bin")));
        up.enqueue(item, |_| {});
    }
    up.wait();
    let entries = up.journal().unwrap();
    assert_eq!(entries.len(), 4);
    let names: Vec<String> = entries.iter().map(|e| format!("{:?}", e.source)).collect();
    assert_eq!(
        names,
        [
            "0.bin (7 bytes)",
            "1.bin (7 bytes)",
            "2.bin (7 bytes)",
            "3.bin (7 bytes)"
        ],
        "oldest first"
    );
    assert_eq!(entries[0].error, "HTTP status 503");
    assert!(up.drop_journal_entry(&entries[1].id).unwrap());
    assert!(
        !up.drop_journal_entry(&entries[1].id).unwrap(),
        "already gone"
    );
    assert!(!up.drop_journal_entry("../../etc/passwd").unwrap());
    assert!(!up.drop_journal_entry("").unwrap());
    let left: Vec<String> = up.journal().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(
        left,
        [
            entries[0].id.clone(),
            entries[2].id.clone(),
            entries[3].id.clone()
        ]
    );
    assert_eq!(
        files_under(journal.path()).len(),
        6,
        "3 records and their bytes"
    );

    // An entry dropped while its retry is under way is sent, but not journaled again.
    let gate = Gate::new();
    server.route("/down", Route::status(503).hold(&gate));
    let seen: Log<UploadError> = Log::default();
    let s = seen.clone();
    assert_eq!(
        up.retry_failed(move |r| s.lock().unwrap().push(r.unwrap_err()))
            .unwrap(),
        3
    );
    gate.wait_arrivals(1);
    assert!(up.drop_journal_entry(&entries[0].id).unwrap());
    gate.open();
    up.wait();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().filter(|e| e.journaled).count(), 2);
    assert_eq!(up.journal().unwrap().len(), 2);
    assert_eq!(up.clear_journal().unwrap(), 2);
    assert!(up.journal().unwrap().is_empty());
    assert!(files_under(journal.path()).is_empty());
    // Without a journal there is nothing to list or drop.
    let none = Uploader::new(UploadConfig::default()).unwrap();
    assert!(none.journal().unwrap().is_empty());
    assert_eq!(none.clear_journal().unwrap(), 0);
    assert!(!none.drop_journal_entry(&entries[2].id).unwrap());
}

#[test]
fn upload_errors_say_uploading_and_name_source_and_target() {
    let journal = TempDir::new("journal-messages");
    let server = Server::start();
    server.route("/up", Route::status(405));
    server.route("/busy", Route::status(503));
    let up = uploader(journal.path(), |c| c.max_retries = 2);
    let results = Results::default();
    up.enqueue(
        UploadItem::put(server.url("/up"), bytes("a.jpg")),
        record(&results),
    );
    up.enqueue(
        UploadItem::put(server.url("/busy"), bytes("b.jpg")),
        record(&results),
    );
    up.enqueue(
        UploadItem::put(server.url("/up"), "/no/such/dir/c.jpg"),
        record(&results),
    );
    up.wait();
    let messages: Vec<String> = results
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.as_ref().unwrap_err().to_string())
        .collect();
    let up_url = server.url("/up");
    let busy = server.url("/busy");
    assert_eq!(
        messages,
        [
            format!(
                "uploading a.jpg (7 bytes) to {up_url} failed: HTTP status 405 (after 1 attempt)"
            ),
            format!(
                "uploading b.jpg (7 bytes) to {busy} failed: HTTP status 503 (after 3 attempts)"
            ),
            format!(
                "uploading /no/such/dir/c.jpg to {up_url} failed: No such file or directory (os error 2) (not sent)"
            ),
        ]
    );
    // The loader's own wording is unchanged, and the I/O error is still the source.
    let results = results.lock().unwrap();
    let missing = results[2].as_ref().unwrap_err();
    assert!(
        missing
            .error
            .to_string()
            .starts_with("cannot read /no/such/dir/c.jpg")
    );
    let io = std::error::Error::source(missing).and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    let http = &results[0].as_ref().unwrap_err().error;
    assert_eq!(
        http.to_string(),
        format!("HTTP status 405 loading {up_url}")
    );
}
