//! Issues 10 and 11, the `webimage upload` journal from the command line: only failures worth
//! retrying are kept, `--list-failed`, `--drop-failed`, `--retry-failed` dropping permanent
//! failures, no credential on disk, and headers of a retry taken from its own flags.

use std::path::Path;

use super::cli::{assert_clean_errors, text, webimage};
use crate::support::*;

fn write_png(dir: &Path, name: &str, seed: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, png(8, 8, seed)).unwrap();
    path.to_str().unwrap().to_string()
}

/// `upload FILES --to TO --put --retries 0 --journal J [extra]`.
fn upload(
    cache: &Path,
    journal: &Path,
    to: &str,
    files: &[String],
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "upload",
        "--to",
        to,
        "--put",
        "--retries",
        "0",
        "--journal",
        journal.to_str().unwrap(),
    ];
    args.extend(files.iter().map(String::as_str));
    args.extend(extra);
    webimage(cache, &args)
}

fn journal_cmd(cache: &Path, journal: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["upload", "--journal", journal.to_str().unwrap()];
    all.extend(args);
    webimage(cache, &all)
}

/// The ids printed by `--list-failed`, by target path suffix.
fn listed(cache: &Path, journal: &Path) -> Vec<(String, String)> {
    let out = journal_cmd(cache, journal, &["--list-failed"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains(" -> "))
        .map(|l| {
            let id = l.split_whitespace().next().unwrap().to_string();
            let target = l.split(" -> ").nth(1).unwrap();
            let target = target.split(": ").next().unwrap().to_string();
            (id, target)
        })
        .collect()
}

#[test]
fn only_failures_worth_retrying_are_kept_then_listed_dropped_and_retried() {
    let cache = TempDir::new("cli-journal");
    let files = TempDir::new("cli-journal-files");
    let journal = files.path().join("journal");
    let server = Server::start();
    server.route("/up/a.png", Route::status(503));
    server.route("/up/b.png", Route::status(403));
    server.route("/up/c.png", Route::status(500));
    server.route("/up/d.png", Route::status(429));
    let to = server.url("/up/{name}");
    let paths = vec![
        write_png(files.path(), "a.png", 1),
        write_png(files.path(), "b.png", 2),
        files
            .path()
            .join("missing.png")
            .to_str()
            .unwrap()
            .to_string(),
    ];
    let run = upload(cache.path(), &journal, &to, &paths, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert_clean_errors(&run);
    let err = text(&run.stderr);
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(err.contains("HTTP status 503 (after 1 attempt)"), "{err}");
    assert!(
        err.contains("uploading ") && !err.contains(" loading "),
        "{err}"
    );
    assert!(!err.contains("attempt(s)"), "{err}");
    assert!(
        err.contains(&format!("uploading {} to ", paths[2])) && err.contains("(not sent)"),
        "{err}"
    );
    let out = text(&run.stdout);
    assert!(
        out.contains(&format!(
            "3 failed: 1 kept in {} for --retry-failed, 2 not worth retrying",
            journal.display()
        )),
        "{out}"
    );
    let entries = listed(cache.path(), &journal);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].1.ends_with("/up/a.png"), "{entries:?}");
    let list = journal_cmd(cache.path(), &journal, &["--list-failed"]);
    let list = text(&list.stdout);
    assert!(list.contains("HTTP status 503 (1 attempt)"), "{list}");
    assert!(
        list.ends_with(&format!("1 failed upload in {}\n", journal.display())),
        "{list}"
    );

    // Two more, then drop one by target and one by id.
    let more = vec![
        write_png(files.path(), "c.png", 3),
        write_png(files.path(), "d.png", 4),
    ];
    upload(cache.path(), &journal, &to, &more, &[]);
    let entries = listed(cache.path(), &journal);
    assert_eq!(entries.len(), 3);
    let c = entries
        .iter()
        .find(|(_, t)| t.ends_with("/c.png"))
        .unwrap()
        .clone();
    let d = entries
        .iter()
        .find(|(_, t)| t.ends_with("/d.png"))
        .unwrap()
        .clone();
    let drop = journal_cmd(cache.path(), &journal, &["--drop-failed", &c.1, &d.0]);
    assert!(drop.status.success(), "{}", text(&drop.stderr));
    assert_eq!(
        text(&drop.stdout)
            .lines()
            .filter(|l| l.starts_with("dropped "))
            .count(),
        2
    );
    let left = listed(cache.path(), &journal);
    assert_eq!(left.len(), 1);
    assert!(left[0].1.ends_with("/a.png"));
    let nothing = journal_cmd(cache.path(), &journal, &["--drop-failed", "no-such-entry"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert_clean_errors(&nothing);

    // a.png now fails permanently: the retry drops it and says so.
    server.route("/up/a.png", Route::status(403));
    let retry = journal_cmd(cache.path(), &journal, &["--retry-failed"]);
    assert_eq!(retry.status.code(), Some(1));
    assert_clean_errors(&retry);
    let err = text(&retry.stderr);
    assert!(
        err.contains("HTTP status 403")
            && err.contains("dropped from the journal (a permanent failure)"),
        "{err}"
    );
    assert!(
        text(&retry.stdout).contains("1 failed: 1 dropped from the journal as permanent"),
        "{}",
        text(&retry.stdout)
    );
    assert!(listed(cache.path(), &journal).is_empty());
    let again = journal_cmd(cache.path(), &journal, &["--retry-failed"]);
    assert!(text(&again.stdout).starts_with("uploaded 0 of 0"));
    assert_eq!(server.hits("/up/a.png"), 2, "not sent again once dropped");

    // --drop-failed with no id drops them all.
    upload(cache.path(), &journal, &to, &more, &[]);
    let all = journal_cmd(cache.path(), &journal, &["--drop-failed"]);
    assert!(
        text(&all.stdout).starts_with("dropped 2 failed uploads"),
        "{}",
        text(&all.stdout)
    );
    assert!(listed(cache.path(), &journal).is_empty());
}

#[test]
fn listing_a_journal_that_does_not_exist_creates_nothing() {
    let cache = TempDir::new("cli-journal-none");
    let journal = cache.path().join("no-journal");
    let out = journal_cmd(cache.path(), &journal, &["--list-failed"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("no failed uploads"),
        "{}",
        text(&out.stdout)
    );
    let out = journal_cmd(cache.path(), &journal, &["--drop-failed"]);
    assert!(out.status.success());
    assert!(!journal.exists());
}

#[test]
fn headers_never_reach_the_journal_and_a_retry_sends_the_ones_given_then() {
    let cache = TempDir::new("cli-journal-auth");
    let files = TempDir::new("cli-journal-auth-files");
    let journal = files.path().join("journal");
    let server = Server::start();
    server.route_fn("/up/a.png", |req| match req.header("authorization") {
        Some("Bearer new-token-2") => Route::ok(b"ok".to_vec()),
        _ => Route::status(503),
    });
    let to = server.url("/up/{name}");
    let a = vec![write_png(files.path(), "a.png", 1)];
    let run = upload(
        cache.path(),
        &journal,
        &to,
        &a,
        &["--header", "Authorization: Bearer old-token-1"],
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer old-token-1")
    );
    let mut journal_files = 0;
    for entry in std::fs::read_dir(&journal).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(5).any(|w| w == b"token"),
            "{}",
            path.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        journal_files += 1;
    }
    assert_eq!(journal_files, 1);
    let retry = journal_cmd(
        cache.path(),
        &journal,
        &[
            "--retry-failed",
            "--header",
            "Authorization: Bearer new-token-2",
        ],
    );
    assert!(retry.status.success(), "{}", text(&retry.stderr));
    assert!(text(&retry.stdout).starts_with("uploaded 1 of 1"));
    let sent = server.requests().pop().unwrap();
    assert_eq!(sent.header("authorization"), Some("Bearer new-token-2"));
}
