//! Helpers the decoders' unit tests share: the test corpus's paths and image differences.
//!
//! Owns: test-only helpers (compiled under `cfg(test)`). Must not touch: any decoder.

use std::path::PathBuf;

use image::RgbaImage;

/// A file of the repository's test corpus (`tests/data/corpus/<rel>`), which must exist.
pub(crate) fn corpus(rel: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus")
        .join(rel);
    assert!(path.exists(), "test data missing: {}", path.display());
    path
}

/// Mean absolute difference per channel sample (0..255) between two equally sized images.
pub(crate) fn mad(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}
