//! No input may panic a decoder (issue 22): apps built with `panic = "abort"` cannot catch
//! it. The example `decode_files` is built here with `-C panic=abort` and run over every
//! image in tests/data plus the generated files known to panic a dependency (refused before
//! it runs); it must exit normally and give, file by file, what this unwinding build gives.
//!
//! Cost: only the example is compiled with `-C panic=abort` (`cargo rustc` passes the flag
//! to the final crate alone); with `--all-features` the dependencies are the ones `cargo test
//! --all-features` already built, and a binary whose final crate is `panic=abort` links the
//! abort runtime, so a panic in any crate aborts it, as in an app built with `panic =
//! "abort"`. The library itself is compiled once more, in the dev profile (`cargo rustc`
//! cannot share the test profile's artifacts): measured 2 min 32 s wall, 69 s CPU, on a
//! 2-core machine shared with other builds; then 15 s to run the 581 files twice (this test
//! decodes them twice more, in process).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::support::hostile::{Chunks, Tiff};

/// The example, built with `-C panic=abort` into this crate's target directory.
fn abort_binary() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only the variables a shell would have: what `cargo test` sets for this process
    // (CARGO_PKG_*, LD_LIBRARY_PATH, ...) changes build scripts' fingerprints, and the next
    // `cargo test` would rebuild them.
    let mut command = Command::new(cargo);
    command.env_clear().current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, value) in std::env::vars_os() {
        let keep = [
            "PATH",
            "HOME",
            "TMPDIR",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
        ];
        if keep.iter().any(|k| key == *k) {
            command.env(key, value);
        }
    }
    let out = command
        .args(["rustc", "--quiet", "--example", "decode_files"])
        .args(["--all-features", "--", "-C", "panic=abort"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "building the example failed: {err}");
    target.join("debug/examples/decode_files")
}

/// Every image in tests/data (not the licences and notes).
fn test_images(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            test_images(&path, into);
        } else if path
            .extension()
            .is_some_and(|e| !matches!(e.to_str(), Some("md" | "txt")))
        {
            into.push(path);
        }
    }
}

/// What this process gives for `path`: `WxH` or the error's variant name.
fn here(path: &Path, thumb: Option<u32>) -> String {
    let bytes = std::fs::read(path).unwrap();
    let ext = path.extension().unwrap().to_str().unwrap();
    match load(&bytes, ext, thumb) {
        Ok(image) => format!("{}x{}", image.width(), image.height()),
        Err(e) => format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap()
            .to_string(),
    }
}

#[test]
fn a_panic_abort_build_decodes_every_test_image_to_the_same_results() {
    let mut files = Vec::new();
    test_images(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 500, "{} test images", files.len());
    // The TIFF layout `tiff` 0.11 asserts on, refused before it runs (tiff_chunks.rs).
    let dir = TempDir::new("abort");
    let planar = dir.path().join("planar-cut-tiles.tif");
    let samples: Vec<u8> = (0..37 * 29 * 3).map(|i| i as u8).collect();
    std::fs::write(
        &planar,
        Tiff::raw(37, 29, 3, Chunks::Tiles(16, 16), true, &samples).bytes(),
    )
    .unwrap();
    files.push(planar);

    let out = Command::new(abort_binary()).args(&files).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "the panic=abort build died ({}) after {} of {} files: {}",
        out.status,
        text.lines().count(),
        files.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), files.len());
    let mut decoded = std::collections::BTreeSet::new();
    for (file, line) in files.iter().zip(lines) {
        let fields: Vec<&str> = line.split('\t').collect();
        let want = [here(file, None), here(file, Some(64))];
        assert_eq!(fields[1..], want, "{}", file.display());
        assert!(!want.iter().any(|w| w == "Internal"), "{}", file.display());
        if fields[1].contains('x') {
            decoded.insert(file.extension().unwrap().to_str().unwrap().to_string());
        }
    }
    // A binary refusing everything must not pass: each format decodes (most of the PNG
    // fuzz corpus is meant to fail).
    for ext in ["png", "jpg", "gif", "webp", "tif", "jxl"] {
        assert!(decoded.contains(ext), "no {ext} decoded: {decoded:?}");
    }
    let planar = text.lines().last().unwrap();
    assert!(
        planar.ends_with("\tUnsupportedFormat\tUnsupportedFormat"),
        "{planar}"
    );
}
