//! Issue 5, the `webimage` tool, driven as a user would: spawn the binary against a local
//! server, check exit codes, output files, and what the server saw.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::*;

/// Runs the tool with its cache in `cache` and a home directory of its own there, so nothing
/// a test does reaches the real user's directories.
pub(crate) fn webimage(cache: &Path, args: &[&str]) -> Output {
    tool(cache).args(args).output().unwrap()
}

pub(crate) fn tool(cache: &Path) -> Command {
    let home = cache.join("home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_webimage"));
    command
        .env("WEBIMAGE_CACHE_DIR", cache)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"));
    command
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// User errors are one line each, never a panic or a backtrace.
pub(crate) fn assert_clean_errors(out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for line in err.lines() {
        assert!(
            line.starts_with("webimage: "),
            "not a one-line error: {line:?}"
        );
    }
}

#[test]
fn get_saves_thumbnails_as_png_through_the_caches() {
    let cache = TempDir::new("cli-cache");
    let out = TempDir::new("cli-out");
    let server = Server::start();
    server.route(
        "/a.jpg",
        Route::ok(encode(&picture(800, 600, 1), image::ImageFormat::Jpeg)),
    );
    server.route("/b.png", Route::ok(png(300, 500, 2)));
    let out_dir = out.path().to_str().unwrap();
    let urls = [server.url("/a.jpg"), server.url("/b.png")];
    let run = webimage(
        cache.path(),
        &[
            "get", &urls[0], &urls[1], "--thumb", "64x64", "--out", out_dir,
        ],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let a = image::open(out.path().join("a.png")).unwrap();
    let b = image::open(out.path().join("b.png")).unwrap();
    assert_eq!((a.width(), a.height()), (64, 48));
    assert_eq!((b.width(), b.height()), (38, 64));
    assert!(text(&run.stdout).contains("a.png (64x48, fetched)"));
    // A second run loads from the disk cache: no new requests.
    let again = webimage(
        cache.path(),
        &["get", &urls[0], "--thumb", "64x64", "--out", out_dir],
    );
    assert!(again.status.success());
    assert!(
        text(&again.stdout).contains("from the disk cache"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn get_reports_each_failure_on_one_line_and_exits_non_zero() {
    let cache = TempDir::new("cli-fail");
    let out = TempDir::new("cli-fail-out");
    let server = Server::start();
    server.route("/ok.png", Route::ok(png(10, 10, 1)));
    let run = webimage(
        cache.path(),
        &[
            "get",
            &server.url("/ok.png"),
            &server.url("/missing.png"),
            "http://[::1/a.png",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert!(!run.status.success());
    assert_clean_errors(&run);
    let err = text(&run.stderr);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("HTTP status 404") && err.contains("/missing.png"));
    assert!(err.contains("invalid image URL \"http://[::1/a.png\""));
    assert!(
        out.path().join("ok.png").is_file(),
        "one failure must not stop the others"
    );
}

#[test]
fn prefetch_warms_the_cache_from_a_file_or_stdin() {
    let cache = TempDir::new("cli-prefetch");
    let server = Server::start();
    let mut list = String::from("# warm these\n\n");
    for i in 0..6 {
        server.route(&format!("/{i}.png"), Route::ok(png(20, 20, i)));
        list.push_str(&server.url(&format!("/{i}.png")));
        list.push('\n');
    }
    let file = cache.path().join("urls.txt");
    std::fs::write(&file, &list).unwrap();
    let cache_dir = cache.path().join("c");
    let run = webimage(&cache_dir, &["prefetch", file.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("prefetched 6 URLs: 6 downloaded, 0 already cached, 0 failed"),
        "{}",
        text(&run.stdout)
    );
    let stats = webimage(&cache_dir, &["cache", "stats"]);
    assert!(
        text(&stats.stdout).starts_with("6 entries"),
        "{}",
        text(&stats.stdout)
    );

    // From standard input: everything is cached already, no request.
    let mut child = tool(&cache_dir)
        .args(["prefetch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("6 already cached"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn cache_path_stats_and_clear() {
    let cache = TempDir::new("cli-cachecmd");
    let server = Server::start();
    server.route("/x.png", Route::ok(png(10, 10, 1)));
    let out = cache.path().join("out");
    webimage(
        cache.path(),
        &["get", &server.url("/x.png"), "--out", out.to_str().unwrap()],
    );
    let path = webimage(cache.path(), &["cache", "path"]);
    assert_eq!(text(&path.stdout).trim(), cache.path().to_str().unwrap());
    let stats = webimage(cache.path(), &["cache", "stats"]);
    assert!(
        text(&stats.stdout).starts_with("1 entries"),
        "{}",
        text(&stats.stdout)
    );
    let clear = webimage(cache.path(), &["cache", "clear"]);
    assert!(clear.status.success());
    assert!(text(&clear.stdout).starts_with("cleared"));
    let stats = webimage(cache.path(), &["cache", "stats"]);
    assert!(text(&stats.stdout).starts_with("0 entries"));
    // `--no-disk-cache` belongs to `get`, not to `cache`.
    let off = webimage(cache.path(), &["cache", "stats", "--no-disk-cache"]);
    assert_eq!(off.status.code(), Some(2));
}

#[test]
fn upload_puts_each_file_to_its_own_url_byte_for_byte() {
    let cache = TempDir::new("cli-up");
    let files = TempDir::new("cli-up-files");
    let server = Server::start();
    let mut paths = Vec::new();
    for name in ["one.png", "two words.png"] {
        let bytes = noisy_png(50, 50, name.len() as u32);
        let path = files.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        paths.push((path, bytes));
    }
    server.route("/bucket/one.png", Route::ok(b"ok".to_vec()));
    server.route("/bucket/two%20words.png", Route::ok(b"ok".to_vec()));
    let journal = files.path().join("journal");
    let to = server.url("/bucket/{name}");
    let mut args = vec![
        "upload",
        "--to",
        &to,
        "--put",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let path_strs: Vec<String> = paths
        .iter()
        .map(|(p, _)| p.to_str().unwrap().to_string())
        .collect();
    args.extend(path_strs.iter().map(String::as_str));
    let run = webimage(cache.path(), &args);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).starts_with("uploaded 2 of 2"),
        "{}",
        text(&run.stdout)
    );
    let log = server.requests();
    assert_eq!(log.len(), 2);
    for (req, (_, bytes)) in log.iter().zip(&paths) {
        assert_eq!(req.method, "PUT");
        assert_eq!(&req.body, bytes);
    }
    assert_eq!(log[1].path, "/bucket/two%20words.png");
}

#[test]
fn upload_failures_exit_non_zero_and_retry_failed_sends_them_later() {
    let cache = TempDir::new("cli-retry");
    let files = TempDir::new("cli-retry-files");
    let server = Server::start();
    let path = files.path().join("photo.jpg");
    let original = encode(&picture(640, 480, 3), image::ImageFormat::Jpeg);
    std::fs::write(&path, &original).unwrap();
    server.route("/upload", Route::status(503));
    let journal = files.path().join("journal");
    let to = server.url("/upload");
    let journal_arg = journal.to_str().unwrap();
    let run = webimage(
        cache.path(),
        &[
            "upload",
            path.to_str().unwrap(),
            "--to",
            &to,
            "--form",
            "photo",
            "--field",
            "album=trip",
            "--quality",
            "0.5",
            "--retries",
            "1",
            "--journal",
            journal_arg,
        ],
    );
    assert!(!run.status.success());
    assert_clean_errors(&run);
    assert!(
        text(&run.stderr).contains("HTTP status 503"),
        "{}",
        text(&run.stderr)
    );
    assert!(
        text(&run.stdout).contains("1 failed: 1 kept in"),
        "{}",
        text(&run.stdout)
    );
    assert_eq!(server.hits("/upload"), 2, "one retry");

    server.route("/upload", Route::ok(b"ok".to_vec()));
    let retry = webimage(
        cache.path(),
        &["upload", "--retry-failed", "--journal", journal_arg],
    );
    assert!(retry.status.success(), "{}", text(&retry.stderr));
    assert!(
        text(&retry.stdout).starts_with("uploaded 1 of 1"),
        "{}",
        text(&retry.stdout)
    );
    let sent = server.requests().pop().unwrap();
    let body = sent.body;
    assert!(
        body.windows(4).any(|w| w == b"trip"),
        "form field kept in the journal"
    );
    assert!(body.len() < original.len(), "recompressed before upload");
    let again = webimage(
        cache.path(),
        &["upload", "--retry-failed", "--journal", journal_arg],
    );
    assert!(text(&again.stdout).starts_with("uploaded 0 of 0"));
}

#[test]
fn usage_errors_and_help() {
    let cache = TempDir::new("cli-help");
    for command in [
        &["--help"][..],
        &["get", "--help"],
        &["prefetch", "--help"],
        &["upload", "--help"],
        &["cache", "--help"],
        &["demo", "--help"],
    ] {
        let out = webimage(cache.path(), command);
        assert!(out.status.success(), "{command:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{command:?}");
    }
    let no_method = webimage(
        cache.path(),
        &["upload", "x.png", "--to", "http://127.0.0.1:9/"],
    );
    assert!(!no_method.status.success());
    assert_clean_errors(&no_method);
    assert!(text(&no_method.stderr).contains("--put or --form"));
    let bad_thumb = webimage(
        cache.path(),
        &["get", "http://127.0.0.1:9/a.png", "--thumb", "0x10"],
    );
    assert_eq!(bad_thumb.status.code(), Some(2));
    assert!(text(&bad_thumb.stderr).contains("at least 1"));
}

#[test]
fn demo_runs_offline_and_writes_a_contact_sheet() {
    let cache = TempDir::new("cli-demo");
    let sheet = cache.path().join("sheet.png");
    let out = webimage(
        cache.path(),
        &["demo", "--images", "8", "--sheet", sheet.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("8 of 8 thumbnails from disk, 0 requests"),
        "{stdout}"
    );
    assert!(stdout.contains("uploaded 6 of 6"), "{stdout}");
    let sheet = image::open(&sheet).unwrap();
    assert_eq!(sheet.width(), 6 * 168);
}
