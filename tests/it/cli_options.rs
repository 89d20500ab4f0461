//! Issue 11, the smaller points of the `webimage` tool: relative paths, `--thumb N`, `--cover`, zero
//! counts as usage errors, options only on the commands they apply to, `cache stats` creating
//! nothing, the tool's own cache directory, `{name}` renamed to `.jpg` when re-encoded, and
//! prefetch failures printed one per line.

use std::process::Stdio;

use super::cli::{assert_clean_errors, text, tool, webimage};
use crate::support::*;

#[test]
fn get_takes_a_relative_path_and_a_single_thumb_size() {
    let cache = TempDir::new("cli-relative");
    let work = TempDir::new("cli-relative-cwd");
    std::fs::write(
        work.path().join("p6.png"),
        encode(&picture(800, 600, 6), image::ImageFormat::Png),
    )
    .unwrap();
    let out = tool(cache.path())
        .current_dir(work.path())
        .args(["get", "p6.png", "--thumb", "256", "--out", "thumbs"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let thumb = image::open(work.path().join("thumbs/p6.png")).unwrap();
    assert_eq!(
        (thumb.width(), thumb.height()),
        (256, 192),
        "256 means 256x256"
    );
    // A relative path that is not there says which file it looked for.
    let missing = tool(cache.path())
        .current_dir(work.path())
        .args(["get", "nope.png"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_clean_errors(&missing);
    let expected = work.path().join("nope.png");
    assert!(
        text(&missing.stderr).contains(expected.to_str().unwrap()),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn zero_counts_are_usage_errors() {
    let cache = TempDir::new("cli-zero");
    for args in [
        &["prefetch", "-", "--concurrency", "0"][..],
        &["prefetch", "-", "--workers", "0"],
        &["get", "x.png", "--workers", "0"],
        &[
            "upload",
            "a.png",
            "--to",
            "http://127.0.0.1:9/",
            "--put",
            "--concurrency",
            "0",
        ],
        &["get", "x.png", "--thumb", "0"],
    ] {
        let out = webimage(cache.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("at least 1"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn each_command_lists_only_its_own_options() {
    let cache = TempDir::new("cli-help-options");
    let help = |command: &str| text(&webimage(cache.path(), &[command, "--help"]).stdout);
    let upload = help("upload");
    for absent in ["--workers", "--no-disk-cache", "--cache-dir"] {
        assert!(
            !upload.contains(absent),
            "upload --help lists {absent}:\n{upload}"
        );
    }
    for present in [
        "--list-failed",
        "--drop-failed",
        "--retry-failed",
        "webimage/upload-journal",
    ] {
        assert!(
            upload.contains(present),
            "upload --help lacks {present}:\n{upload}"
        );
    }
    let get = help("get");
    for present in [
        "--workers",
        "--no-disk-cache",
        "--cache-dir",
        "webimage/cli",
    ] {
        assert!(get.contains(present), "get --help lacks {present}:\n{get}");
    }
    let prefetch = help("prefetch");
    assert!(prefetch.contains("--cache-dir") && prefetch.contains("--workers"));
    assert!(
        !prefetch.contains("--no-disk-cache"),
        "prefetch only fills the disk cache"
    );
    let cache_help = help("cache");
    assert!(cache_help.contains("--cache-dir") && !cache_help.contains("--workers"));
    let demo = help("demo");
    assert!(!demo.contains("--cache-dir"));
}

#[test]
fn the_tool_has_its_own_cache_and_clears_only_that() {
    let root = TempDir::new("cli-own-cache");
    let home = root.path().join("home");
    let user_cache = home.join("cache");
    // Another program's cache beside the tool's, under the same user cache directory.
    let other = user_cache.join("webimage").join("photo-viewer");
    std::fs::create_dir_all(other.join("entries/ab")).unwrap();
    std::fs::write(other.join("entries/ab/abcd"), b"someone else's entry").unwrap();
    let run = |args: &[&str]| {
        let mut command = tool(root.path());
        command
            .env_remove("WEBIMAGE_CACHE_DIR")
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", &user_cache);
        command.args(args).output().unwrap()
    };
    let own = user_cache.join("webimage").join("cli");
    let path = run(&["cache", "path"]);
    assert_eq!(text(&path.stdout).trim(), own.to_str().unwrap());
    // Nothing there yet, and looking does not create it.
    let stats = run(&["cache", "stats"]);
    assert!(stats.status.success());
    assert!(
        text(&stats.stdout).starts_with("empty, no directory yet"),
        "{}",
        text(&stats.stdout)
    );
    assert!(!own.exists(), "cache stats created the directory");
    let clear = run(&["cache", "clear"]);
    assert!(clear.status.success());
    assert!(!own.exists());
    // Fill it, then clear it: the other program's entry stays.
    let server = Server::start();
    server.route("/x.png", Route::ok(png(10, 10, 1)));
    let out_dir = root.path().join("out");
    let get = run(&[
        "get",
        &server.url("/x.png"),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(get.status.success(), "{}", text(&get.stderr));
    assert!(own.is_dir());
    assert!(text(&run(&["cache", "stats"]).stdout).starts_with("1 entries"));
    let clear = run(&["cache", "clear"]);
    assert!(
        text(&clear.stdout).starts_with("cleared"),
        "{}",
        text(&clear.stdout)
    );
    assert!(text(&run(&["cache", "stats"]).stdout).starts_with("0 entries"));
    assert_eq!(
        std::fs::read(other.join("entries/ab/abcd")).unwrap(),
        b"someone else's entry"
    );
    // --cache-dir works before or after the action.
    let elsewhere = root.path().join("elsewhere");
    let p = run(&["cache", "--cache-dir", elsewhere.to_str().unwrap(), "path"]);
    assert_eq!(text(&p.stdout).trim(), elsewhere.to_str().unwrap());
    let p = run(&["cache", "path", "--cache-dir", elsewhere.to_str().unwrap()]);
    assert_eq!(text(&p.stdout).trim(), elsewhere.to_str().unwrap());
}

#[test]
fn a_re_encoded_upload_is_named_jpg() {
    let cache = TempDir::new("cli-jpg-name");
    let files = TempDir::new("cli-jpg-name-files");
    let server = Server::start();
    server.route("/bucket/shot.jpg", Route::ok(b"ok".to_vec()));
    server.route("/bucket/raw.png", Route::ok(b"ok".to_vec()));
    let shot = files.path().join("shot.png");
    std::fs::write(&shot, png(64, 48, 1)).unwrap();
    let raw = files.path().join("raw.png");
    std::fs::write(&raw, png(64, 48, 2)).unwrap();
    let to = server.url("/bucket/{name}");
    let journal = files.path().join("journal");
    let journal = journal.to_str().unwrap();
    let common = ["upload", "--to", &to, "--put", "--journal", journal];
    let mut args = common.to_vec();
    args.extend([shot.to_str().unwrap(), "--quality", "0.5"]);
    let out = webimage(cache.path(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut args = common.to_vec();
    args.push(raw.to_str().unwrap());
    assert!(webimage(cache.path(), &args).status.success());
    let log = server.requests();
    assert_eq!(log[0].path, "/bucket/shot.jpg");
    assert!(
        log[0].body.starts_with(&[0xFF, 0xD8]),
        "a JPEG under the .jpg name"
    );
    assert_eq!(
        log[1].path, "/bucket/raw.png",
        "sent as it is, named as it is"
    );
}

#[test]
fn prefetch_prints_each_failure_then_the_summary() {
    let cache = TempDir::new("cli-prefetch-failures");
    let server = Server::start();
    server.route("/ok.png", Route::ok(png(10, 10, 1)));
    server.route("/gone.png", Route::status(404));
    let urls = [
        server.url("/ok.png"),
        server.url("/gone.png"),
        "http://[::1/bad.png".to_string(),
    ];
    let mut child = tool(&cache.path().join("c"))
        .args(["prefetch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(urls.join("\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_errors(&out);
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines.contains(
            &format!("webimage: {}: HTTP status 404 loading {}", urls[1], urls[1]).as_str()
        ),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("webimage: {}: invalid image URL", urls[2]))),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("prefetched 3 URLs: 1 downloaded, 0 already cached, 2 failed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn get_saves_a_cover_of_exactly_the_box_and_refuses_it_with_thumb() {
    let cache = TempDir::new("cli-cover");
    let work = TempDir::new("cli-cover-cwd");
    std::fs::write(
        work.path().join("wide.png"),
        encode(&picture(800, 400, 9), image::ImageFormat::Png),
    )
    .unwrap();
    let out = tool(cache.path())
        .current_dir(work.path())
        .args(["get", "wide.png", "--cover", "100x150", "--out", "cells"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cell = image::open(work.path().join("cells/wide.png")).unwrap();
    assert_eq!((cell.width(), cell.height()), (100, 150), "exactly the box");
    let both = tool(cache.path())
        .current_dir(work.path())
        .args(["get", "wide.png", "--cover", "64", "--thumb", "64"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "a usage error");
    assert!(
        text(&both.stderr).contains("--thumb"),
        "{}",
        text(&both.stderr)
    );
}
