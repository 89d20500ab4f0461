//! Issue 21, AVIF through the `webimage` tool: the real binary fetching AVIF files from the
//! local server, built with the `avif` feature.
//!
//! Owns: these tests. Must not touch: the tool's helpers (`cli.rs` owns them).

use crate::cli::{assert_clean_errors, text, webimage};
use crate::support::*;

fn avif(name: &str) -> Vec<u8> {
    std::fs::read(corpus(&format!("avif/{name}"))).unwrap()
}

#[test]
fn get_saves_avif_thumbnails_oriented_and_refuses_a_truncated_one() {
    let cache = TempDir::new("cli-avif");
    let out = TempDir::new("cli-avif-out");
    let server = Server::start();
    for name in ["photo-8bit.avif", "rotated-270.avif", "truncated.avif"] {
        server.route(&format!("/{name}"), Route::ok(avif(name)));
    }
    let out_dir = out.path().to_str().unwrap();
    let run = webimage(
        cache.path(),
        &[
            "get",
            &server.url("/photo-8bit.avif"),
            &server.url("/rotated-270.avif"),
            &server.url("/truncated.avif"),
            "--thumb",
            "64x64",
            "--out",
            out_dir,
        ],
    );
    // The truncated file fails alone, on one line; the other two are saved.
    assert!(!run.status.success());
    assert_clean_errors(&run);
    let err = text(&run.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/truncated.avif"), "{err}");
    assert!(!out.path().join("truncated.png").exists());

    // 240x160 into 64x64, and the 270-degree `irot` applied (160x240).
    let photo = image::open(out.path().join("photo-8bit.png"))
        .unwrap()
        .to_rgba8();
    let rotated = image::open(out.path().join("rotated-270.png")).unwrap();
    assert_eq!(photo.width(), 64);
    assert!((42..=43).contains(&photo.height()), "{}", photo.height());
    assert_eq!(rotated.height(), 64);
    assert!((42..=43).contains(&rotated.width()), "{}", rotated.width());

    // The pixels are the photo's: libavif's decode (ref-photo-8bit.webp), resized the same.
    let reference = image::open(corpus("avif/ref-photo-8bit.webp")).unwrap();
    let reference = reference
        .resize_exact(
            photo.width(),
            photo.height(),
            image::imageops::FilterType::Triangle,
        )
        .to_rgba8();
    let diff: u64 = photo
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    let mean = diff as f64 / photo.as_raw().len() as f64;
    assert!(mean < 6.0, "mean difference {mean} from libavif's decode");
}
