//! `webimage get --explain` and `--json` (issue 23), through the real binary against the real
//! test server: a download held by the server, a disk hit on the second run, a redirect, a
//! progressive JPEG thumbnail made from its DC scans, a 404 and an undecodable body.

use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::cli::{assert_clean_errors, text, tool, webimage};
use crate::support::photo::{Jpeg, jpeg, photo};
use crate::support::*;

/// The JSON objects a `--json` run printed, one per line.
fn objects(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The object about the URL ending in `tail`.
fn about<'a>(objects: &'a [Value], tail: &str) -> &'a Value {
    let found = objects
        .iter()
        .find(|o| o["url"].as_str().unwrap().ends_with(tail));
    found.unwrap_or_else(|| panic!("no object for {tail}: {objects:?}"))
}

#[test]
fn json_prints_one_object_per_load_with_its_record() {
    let cache = TempDir::new("cli-json");
    let out = TempDir::new("cli-json-out");
    let server = Server::start();
    let gate = Gate::new();
    let body = png(30, 20, 1);
    server.route("/held.png", Route::ok(body.clone()).hold(&gate));
    server.route("/moved", Route::redirect("/held.png"));
    server.route("/gone.png", Route::status(404));
    server.route("/junk.png", Route::ok(b"{\"not\": \"an image\"}".to_vec()));
    let out_dir = out.path().to_str().unwrap();
    let urls = [
        server.url("/moved"),
        server.url("/gone.png"),
        server.url("/junk.png"),
    ];
    let mut args = vec!["get", "--json", "--workers", "1", "--out", out_dir];
    args.extend(urls.iter().map(String::as_str));
    // The server holds the image until the test has waited: its wait shows in the record.
    let opener = thread::spawn(move || {
        gate.wait_arrivals(1);
        thread::sleep(Duration::from_millis(150));
        gate.open();
    });
    let run = tool(cache.path()).args(&args).output().unwrap();
    opener.join().unwrap();
    assert!(!run.status.success(), "two of three failed");
    assert_clean_errors(&run);
    assert_eq!(text(&run.stderr).lines().count(), 2);
    let all = objects(&run.stdout);
    assert_eq!(all.len(), 3, "{}", text(&run.stdout));

    let ok = about(&all, "/moved");
    assert_eq!(ok["ok"], true);
    assert_eq!(
        (ok["width"].as_u64(), ok["height"].as_u64()),
        (Some(30), Some(20))
    );
    assert!(ok["saved"].as_str().unwrap().ends_with("moved.png"));
    assert_eq!(ok["source"], "network");
    assert_eq!(ok["error"], Value::Null);
    assert_eq!(
        (&ok["memory"], &ok["disk"]),
        (&"miss".into(), &"miss".into())
    );
    assert_eq!(ok["joined"], false);
    assert!(ok["task"].is_u64());
    let net = &ok["network"];
    assert_eq!(net["status"], 200);
    assert_eq!(net["bytes"].as_u64(), Some(body.len() as u64));
    assert_eq!(
        (net["redirects"].as_u64(), net["requests"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(net["first_byte_ms"].as_f64().unwrap() >= 150.0, "{net}");
    assert!(
        net["dns_ms"].is_f64() && net["connect_ms"].is_f64(),
        "{net}"
    );
    assert_eq!(net["tls_ms"], Value::Null, "http: has no TLS handshake");
    assert_eq!(net["failed_after_ms"], Value::Null);
    assert_eq!(ok["decode"]["path"], "original");
    assert_eq!(ok["decode"]["width"], 30);
    assert!(ok["total_ms"].as_f64().unwrap() >= 150.0);

    let gone = about(&all, "/gone.png");
    assert_eq!(gone["ok"], false);
    assert!(gone["error"].as_str().unwrap().contains("404"));
    assert_eq!(gone["network"]["status"], 404);
    assert_eq!(
        (&gone["decode"], &gone["saved"]),
        (&Value::Null, &Value::Null)
    );

    let junk = about(&all, "/junk.png");
    assert_eq!(junk["decode_failed"]["scaled"], false);
    assert!(junk["decode_failed"]["ms"].is_f64());
    // The error text quotes nothing of the body; the JSON stays one valid line regardless.
    assert!(junk["error"].is_string());

    // Again: the image from the disk cache, no request.
    let hits = server.requests().len();
    let again = webimage(cache.path(), &["get", "--json", "--out", out_dir, &urls[0]]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let hit = &objects(&again.stdout)[0];
    assert_eq!(
        (&hit["source"], &hit["disk"]),
        (&"disk".into(), &"hit".into())
    );
    assert_eq!(hit["network"], Value::Null);
    assert_eq!(server.requests().len(), hits);
}

#[test]
fn explain_prints_a_readable_block_per_load() {
    let cache = TempDir::new("cli-explain");
    let out = TempDir::new("cli-explain-out");
    let server = Server::start();
    let progressive = jpeg(&photo(1024, 768, 2), Jpeg::PROGRESSIVE, None);
    server.route("/p.jpg", Route::ok(progressive).in_pieces(4096));
    let url = server.url("/p.jpg");
    let secret = url.replace("http://", "http://user:hunter2@");
    let out_dir = out.path().to_str().unwrap();
    let run = webimage(
        cache.path(),
        &[
            "get",
            "--explain",
            "--no-disk-cache",
            "--thumb",
            "128",
            "--out",
            out_dir,
            &secret,
        ],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(
        !stdout.contains("hunter2"),
        "the password is never printed: {stdout}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let block = lines
        .iter()
        .position(|l| l.ends_with("/p.jpg") && l.contains("user:***@"))
        .unwrap_or_else(|| panic!("a header line naming the URL: {stdout}"));
    let field = |name: &str| {
        let line = lines[block..]
            .iter()
            .find(|l| l.trim_start().starts_with(name));
        line.unwrap_or_else(|| panic!("no {name} line: {stdout}"))
            .trim()
    };
    assert!(
        field("result").contains("(128x96) from network"),
        "{stdout}"
    );
    assert!(field("task").contains("started by this load"));
    assert_eq!(field("memory"), "memory    miss");
    assert_eq!(field("disk"), "disk      not used");
    let network = field("network");
    assert!(
        network.contains("status 200") && network.contains("dns "),
        "{network}"
    );
    assert!(network.contains("cut short"), "{network}");
    assert!(field("decode").contains("DC-only in "), "{stdout}");
    assert!(field("total").ends_with("queued"), "{stdout}");
}
