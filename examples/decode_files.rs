//! Loads every file named on the command line through an [`ImageLoader`], full size and as a
//! 64 px thumbnail, and prints one line per file: `path<TAB>full<TAB>thumbnail`, each result
//! `WxH` or the error's variant name. Exits 0 when every file was tried, whatever each gave.
//!
//! Built with `-C panic=abort` by tests/it/abort.rs (issue 22): an app built with
//! `panic = "abort"` dies at the first panic anywhere in a decoder, since nothing can catch
//! it, so this binary exiting normally over every test image is the proof that no test image
//! panics any decoder webimage runs. Also usable by hand: `cargo run --example decode_files
//! --all-features -- FILE...`.

use webimage::{Config, Error, ImageLoader, Request};

/// `WxH`, or the name of the error's variant (`Decode`, `UnsupportedFormat`, ...).
fn outcome(result: Result<webimage::LoadedImage, Error>) -> String {
    match result {
        Ok(image) => format!("{}x{}", image.image().width(), image.image().height()),
        Err(e) => {
            let debug = format!("{e:?}");
            let end = debug.find([' ', '{', '(']).unwrap_or(debug.len());
            debug[..end].to_string()
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loader = ImageLoader::new(Config {
        max_workers: 1,
        disk_cache: None,
        // The thumbnail is tried even when the full-size load failed.
        remember_failed_urls: false,
        ..Config::default()
    })?;
    for arg in std::env::args_os().skip(1) {
        let path = std::path::absolute(&arg)?;
        let url = url::Url::from_file_path(&path)
            .map_err(|()| format!("not a file path: {}", path.display()))?
            .to_string();
        let full = outcome(loader.load_blocking(Request::new(url.as_str())));
        let thumb = outcome(loader.load_blocking(Request::new(url.as_str()).thumbnail(64, 64)));
        println!("{}\t{full}\t{thumb}", path.display());
    }
    Ok(())
}
