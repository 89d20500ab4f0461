//! `webimage prefetch FILE|-`: warm the disk cache from a list of URLs.
//!
//! Owns: reading the URL list and the progress bar. Must not touch: anything but the public
//! API.

use std::io::Read;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use webimage::{Config, ImageLoader, PrefetchOptions};

/// Options of `webimage prefetch`.
#[derive(clap::Args)]
pub struct Args {
    /// A file with one URL per line (blank lines and lines starting with `#` are skipped), or
    /// `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
    /// Downloads at once.
    #[arg(long, default_value_t = 3, value_name = "N")]
    concurrency: usize,
}

pub fn run(args: Args, config: Config) -> crate::Result<bool> {
    if config.disk_cache.is_none() {
        return Err("prefetch warms the disk cache; it cannot run with --no-disk-cache".into());
    }
    let mut text = String::new();
    if args.file == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        text = std::fs::read_to_string(&args.file)
            .map_err(|e| format!("cannot read {}: {e}", args.file))?;
    }
    let urls: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let loader = ImageLoader::new(config).map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(urls.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").map_err(|e| e.to_string())?,
    );
    let options = PrefetchOptions {
        max_concurrent: args.concurrency.max(1),
        ..Default::default()
    };
    let run = loader.prefetch(urls, options, |_| {});
    while !run.is_done() {
        let p = run.progress();
        bar.set_position((p.finished + p.failed + p.skipped + p.cancelled) as u64);
        bar.set_message(format!("{} failed", p.failed));
        std::thread::sleep(Duration::from_millis(100));
    }
    let p = run.wait();
    bar.finish_and_clear();
    if let Some(disk) = loader.disk_cache() {
        disk.flush();
    }
    println!(
        "prefetched {} URLs: {} downloaded, {} already cached, {} failed",
        p.total, p.finished, p.skipped, p.failed
    );
    Ok(p.failed == 0)
}
