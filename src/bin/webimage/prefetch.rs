//! `webimage prefetch FILE|-`: warm the disk cache from a list of URLs.
//!
//! Owns: reading the URL list, the progress bar, and reporting each failed URL. Must not
//! touch: anything but the public API.

use std::io::Read;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use webimage::{ImageLoader, Prefetch, PrefetchOptions};

/// Options of `webimage prefetch`.
#[derive(clap::Args)]
pub struct Args {
    /// A file with one URL per line (blank lines and lines starting with `#` are skipped), or
    /// `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
    /// Downloads at once (at least 1).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = crate::at_least_one)]
    concurrency: usize,
    #[command(flatten)]
    cache: crate::CacheDir,
    #[command(flatten)]
    workers: crate::Workers,
    #[command(flatten)]
    tls: crate::Tls,
}

pub fn run(args: Args) -> crate::Result<bool> {
    let config = crate::loader_config(Some(args.cache.disk()), &args.workers, &args.tls)?;
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
        max_concurrent: args.concurrency,
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
    // Each failure on a line of its own, then the summary.
    let failures = run.failures();
    for (url, error) in &failures {
        eprintln!("webimage: {url}: {error}");
    }
    if p.failed > failures.len() {
        eprintln!(
            "webimage: {} more failures not listed (the first {} are)",
            p.failed - failures.len(),
            Prefetch::MAX_KEPT_FAILURES
        );
    }
    println!(
        "prefetched {} URLs: {} downloaded, {} already cached, {} failed",
        p.total, p.finished, p.skipped, p.failed
    );
    Ok(p.failed == 0)
}
