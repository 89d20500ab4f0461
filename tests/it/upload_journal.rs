//! Issue 10, secrets and the upload journal: no credential at rest (files read byte for byte,
//! modes checked), credentials of a retry taken from the retrying uploader, old records
//! scrubbed, `Debug` redaction. What is journaled at all is `upload_journal_policy`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use webimage::{UploadConfig, UploadError, UploadItem, UploadResponse, UploadSource, Uploader};

pub(crate) type Results = Log<Result<UploadResponse, UploadError>>;

pub(crate) fn record(
    results: &Results,
) -> impl FnOnce(Result<UploadResponse, UploadError>) + Send + 'static {
    let results = results.clone();
    move |r| results.lock().unwrap().push(r)
}

pub(crate) fn uploader(journal: &std::path::Path, f: impl FnOnce(&mut UploadConfig)) -> Uploader {
    let mut c = UploadConfig {
        retry_backoff: Duration::from_millis(5),
        max_retries: 0,
        journal_dir: Some(journal.to_path_buf()),
        ..Default::default()
    };
    f(&mut c);
    Uploader::new(c).unwrap()
}

pub(crate) fn bytes(name: &str) -> UploadSource {
    UploadSource::Bytes {
        name: name.into(),
        bytes: Arc::from(&b"payload"[..]),
    }
}

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[cfg(unix)]
pub(crate) fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_journal_holds_no_credential_and_is_owner_only() {
    let root = TempDir::new("journal-secrets");
    let journal = root.path().join("state").join("journal");
    let server = Server::start();
    server.route("/up", Route::status(503));
    let up = uploader(&journal, |c| {
        c.headers = vec![("Authorization".into(), "Bearer cfg-token-1".into())];
        c.credential_headers = vec!["X-Secret".into()];
    });
    let item = UploadItem::form(server.url("/up"), "photo", bytes("a.jpg"))
        .header("authorization", "Bearer item-token-2")
        .header("Cookie", "session=cookie-token-3")
        .header("Proxy-Authorization", "Basic proxy-token-4")
        .header("X-Secret", "named-token-5")
        .credential_header("X-Api-Key", "marked-token-6")
        .header("x-amz-acl", "private");
    let results = Results::default();
    up.enqueue(item, record(&results));
    up.wait();
    assert!(results.lock().unwrap()[0].as_ref().unwrap_err().journaled);
    // The credentials were sent ...
    let sent = server.requests().pop().unwrap();
    assert_eq!(sent.header("x-api-key"), Some("marked-token-6"));
    assert_eq!(sent.header("cookie"), Some("session=cookie-token-3"));
    // ... but not one byte of them is on disk.
    let files = files_under(&journal);
    assert_eq!(files.len(), 2, "a record and its bytes: {files:?}");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !contains(&bytes, "token"),
            "{} holds a credential",
            file.display()
        );
        #[cfg(unix)]
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&journal), 0o700);
        assert_eq!(
            mode(journal.parent().unwrap()),
            0o700,
            "created parents too"
        );
    }
    let entry = up.journal().unwrap().pop().unwrap();
    assert_eq!(
        entry.withheld_headers,
        [
            "authorization",
            "Cookie",
            "Proxy-Authorization",
            "X-Secret",
            "X-Api-Key"
        ]
    );
    // The config's own headers are never journaled at all, not even by name.
    assert!(!contains(&std::fs::read(&files[0]).unwrap(), "cfg-"));
}

#[test]
fn a_retry_after_a_restart_sends_the_credentials_of_the_new_config() {
    let journal = TempDir::new("journal-retry-auth");
    let server = Server::start();
    server.route_fn("/up", |req| match req.header("authorization") {
        Some("Bearer new-token") => Route::ok(b"ok".to_vec()),
        _ => Route::status(503),
    });
    {
        let up = uploader(journal.path(), |_| {});
        let item = UploadItem::put(server.url("/up"), bytes("a"))
            .header("Authorization", "Bearer old-token")
            .header("x-amz-acl", "private");
        up.enqueue(item, |_| {});
        up.wait();
        assert_eq!(up.journal().unwrap().len(), 1);
    }
    // A new process, with a fresh token in its configuration.
    let up = uploader(journal.path(), |c| {
        c.headers = vec![("Authorization".into(), "Bearer new-token".into())];
    });
    let results = Arc::new(Mutex::new(Vec::new()));
    let r = results.clone();
    assert_eq!(
        up.retry_failed(move |res| r.lock().unwrap().push(res.is_ok()))
            .unwrap(),
        1
    );
    up.wait();
    assert_eq!(*results.lock().unwrap(), [true]);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].header("authorization"), Some("Bearer old-token"));
    let retry = &log[1];
    let auth: Vec<_> = retry
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        auth,
        ["Bearer new-token"],
        "only the new config's credential"
    );
    assert_eq!(
        retry.header("x-amz-acl"),
        Some("private"),
        "other headers kept"
    );
    assert!(up.journal().unwrap().is_empty());
}

#[test]
fn debug_output_holds_no_credential() {
    let item = UploadItem::put("https://h/a", "a.jpg")
        .header("AUTHORIZATION", "Bearer tok-1")
        .header("cookie", "tok-2")
        .credential_header("X-Api-Key", "tok-3")
        .header("x-amz-acl", "private");
    let shown = format!("{item:?}");
    assert!(!shown.contains("tok-"), "{shown}");
    assert!(
        shown.contains(r#"("AUTHORIZATION", "<redacted>")"#),
        "{shown}"
    );
    assert!(shown.contains(r#"("x-amz-acl", "private")"#), "{shown}");
    let config = UploadConfig {
        headers: vec![
            ("Authorization".into(), "Bearer tok-4".into()),
            ("Proxy-Authorization".into(), "tok-5".into()),
            ("X-Key".into(), "tok-6".into()),
            ("Accept".into(), "text/plain".into()),
        ],
        credential_headers: vec!["x-key".into()],
        ..Default::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("tok-"), "{shown}");
    assert!(shown.contains(r#"("X-Key", "<redacted>")"#), "{shown}");
    assert!(shown.contains(r#"("Accept", "text/plain")"#), "{shown}");
    assert!(!format!("{config:#?}").contains("tok-"));
}

#[test]
fn opening_a_journal_scrubs_credentials_written_by_older_versions() {
    let journal = TempDir::new("journal-old-version");
    let server = Server::start();
    server.route("/up", Route::ok(b"ok".to_vec()));
    // A record as the previous version wrote it: the token in plain text, mode 0644.
    let old = format!(
        "webimage-upload-journal 1\ntarget\t{}\nmethod\tput\n\
         header\tAuthorization\tBearer old-token\nheader\tx-amz-acl\tprivate\n\
         bytes\ta.bin\noriginal\tfalse\nattempts\t2\nerror\tHTTP status 503\n",
        server.url("/up")
    );
    let record = journal.path().join("1700000000000000000-42-0.upload");
    std::fs::write(&record, old).unwrap();
    std::fs::write(
        journal.path().join("1700000000000000000-42-0.bytes"),
        b"payload",
    )
    .unwrap();
    let up = uploader(journal.path(), |c| {
        c.headers = vec![("Authorization".into(), "Bearer new-token".into())];
    });
    for file in files_under(journal.path()) {
        assert!(!contains(&std::fs::read(&file).unwrap(), "old-token"));
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let entry = up.journal().unwrap().pop().unwrap();
    assert_eq!(
        (entry.attempts, entry.withheld_headers),
        (2, vec!["Authorization".to_string()])
    );
    assert_eq!(up.retry_failed(|r| assert!(r.is_ok())).unwrap(), 1);
    up.wait();
    let sent = server.requests().pop().unwrap();
    assert_eq!(sent.header("authorization"), Some("Bearer new-token"));
    assert_eq!(sent.header("x-amz-acl"), Some("private"));
    assert_eq!(sent.body, b"payload");
}
