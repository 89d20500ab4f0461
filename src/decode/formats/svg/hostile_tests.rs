//! Hostile SVGs end in an error (or a small render) quickly and within 100 MB of peak memory
//! growth. Each case runs in a child process (this test binary, `hostile_child`), which resets
//! its peak RSS (`/proc/self/clear_refs`), decodes, and prints its VmHWM growth and time.
//!
//! Owns: these tests. Must not touch: the decoder's code.

use std::process::Command;
use std::time::Instant;

use super::tests::{HUGE_BLUR, HUGE_VIEWBOX, laughs, many_filters, nested};
use super::*;

/// A case: name, document, target box.
fn case(name: &str) -> (Vec<u8>, Option<(u32, u32)>) {
    match name {
        "laughs" => (laughs(9, 10).into_bytes(), Some((512, 512))),
        "wide-entity" => {
            let s = format!(
                "<!DOCTYPE svg [<!ENTITY big \"{}\">]><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text>{}</text></svg>",
                "x".repeat(1 << 20),
                "&big;".repeat(1000)
            );
            (s.into_bytes(), None)
        }
        "nesting" => (nested(200_000, "g").into_bytes(), Some((512, 512))),
        "viewbox-full" => (HUGE_VIEWBOX.as_bytes().to_vec(), None),
        "viewbox-thumb" => (HUGE_VIEWBOX.as_bytes().to_vec(), Some((512, 512))),
        "blur-full" => (HUGE_BLUR.as_bytes().to_vec(), None),
        "blur-thumb" => (HUGE_BLUR.as_bytes().to_vec(), Some((512, 512))),
        "filters" => (many_filters(5000).into_bytes(), None),
        // Just within the budgets: these render, and show what the budgets allow.
        "filters-8" => (many_filters(8).into_bytes(), None),
        "many-paths" => {
            let mut s = String::from(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024">"#,
            );
            for i in 0..60_000 {
                s += &format!(
                    r#"<rect x="{}" y="{}" width="9" height="9" fill="red"/>"#,
                    i % 1000,
                    i / 120
                );
            }
            ((s + "</svg>").into_bytes(), None)
        }
        "use-bomb" => {
            let mut s = String::from(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="512" height="512"><defs><rect id="a0" width="512" height="512"/>"#,
            );
            for i in 1..=10 {
                s += &format!(
                    "<g id=\"a{i}\">{}</g>",
                    format!("<use xlink:href=\"#a{}\"/>", i - 1).repeat(10)
                );
            }
            s += "</defs><use xlink:href=\"#a10\"/></svg>";
            (s.into_bytes(), None)
        }
        other => panic!("unknown case {other}"),
    }
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
#[ignore = "run by hostile_svgs_are_cheap in a child process"]
fn hostile_child() {
    let name = std::env::var("WEBIMAGE_SVG_CASE").unwrap();
    let (bytes, target) = case(&name);
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = status_kib("VmRSS:");
    let start = Instant::now();
    let result = decode(&bytes, target, 100_000_000, &SvgOptions::default());
    let ms = start.elapsed().as_millis();
    let growth = status_kib("VmHWM:").saturating_sub(base);
    let outcome = match &result {
        Ok(img) => format!("rendered {}x{}", img.width(), img.height()),
        Err(e) => format!("{e:?}"),
    };
    println!("CASE {name} ms={ms} growth_kib={growth} {outcome}");
}

#[test]
fn hostile_svgs_are_cheap() {
    let cases = [
        "laughs",
        "wide-entity",
        "nesting",
        "viewbox-full",
        "viewbox-thumb",
        "blur-full",
        "blur-thumb",
        "filters",
        "use-bomb",
        "filters-8",
        "many-paths",
    ];
    for name in cases {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "decode::formats::svg::hostile_tests::hostile_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WEBIMAGE_SVG_CASE", name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: child failed: {stdout}");
        let at = stdout
            .find("CASE ")
            .unwrap_or_else(|| panic!("{name}: no result: {stdout}"));
        let line = stdout[at..].lines().next().unwrap_or_default();
        eprintln!("{line}");
        let field = |key: &str| -> u64 {
            let at = line.find(key).unwrap() + key.len();
            line[at..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (ms, growth) = (field("ms="), field("growth_kib="));
        assert!(growth < 100 * 1024, "{name}: peak grew by {growth} KiB");
        // The goal is well under a second (see benches/formats.rs); 10x margin for slow CI.
        assert!(ms < 10_000, "{name}: took {ms} ms");
        // Only the thumbnail of the huge canvas renders; everything else is refused (the huge
        // blur's layer at 512 px would be 2560x2560, kept three times: over the budget).
        let rendered = line.contains("rendered");
        let should = matches!(name, "viewbox-thumb" | "filters-8" | "many-paths");
        assert_eq!(rendered, should, "{line}");
    }
}
