//! `webimage upload FILES... --to URL [--put | --form FIELD] ...` and
//! `webimage upload --retry-failed`.
//!
//! Owns: turning the arguments into upload items and reporting each result. Must not touch:
//! anything but the public API.

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use webimage::{Recompress, UploadConfig, UploadError, UploadItem, UploadResponse, Uploader};

use crate::Failure;

/// Characters left as they are when a file name replaces `{name}` in a URL.
const NAME_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Options of `webimage upload`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to upload.
    #[arg(value_name = "FILE", required_unless_present = "retry_failed")]
    files: Vec<PathBuf>,
    /// Target URL; `{name}` is replaced by each file's name (e.g. an object key).
    #[arg(long, value_name = "URL", required_unless_present = "retry_failed")]
    to: Option<String>,
    /// PUT each file's bytes as the raw body (unchanged unless --quality is given).
    #[arg(long, conflicts_with = "form")]
    put: bool,
    /// POST each file as multipart/form-data in field FIELD.
    #[arg(long, value_name = "FIELD")]
    form: Option<String>,
    /// An extra form field, sent before the file (repeatable).
    #[arg(long = "field", value_name = "NAME=VALUE", requires = "form")]
    fields: Vec<String>,
    /// An extra request header (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Re-encode images as JPEG at this quality before sending (0.0-1.0, or 1-100).
    #[arg(long, value_name = "Q")]
    quality: Option<f32>,
    /// With --quality: re-encode at --fallback-quality when the result is over this many bytes
    /// (K, M suffixes allowed). Default 400K.
    #[arg(long, value_name = "N", requires = "quality", value_parser = crate::parse_bytes)]
    max_bytes: Option<u64>,
    /// With --quality: the second, lower quality. Default 0.3.
    #[arg(long, value_name = "Q", requires = "quality")]
    fallback_quality: Option<f32>,
    /// With --quality: downscale so the longer edge is at most this many pixels.
    #[arg(long, value_name = "PIXELS", requires = "quality")]
    max_edge: Option<u32>,
    /// Uploads at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    concurrency: usize,
    /// Retries after transient failures (5xx, timeouts, resets).
    #[arg(long, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Journal of failed uploads (default: the platform's local data directory +
    /// webimage/upload-journal).
    #[arg(long, value_name = "DIR")]
    journal: Option<PathBuf>,
    /// Send again what the journal holds.
    #[arg(long, conflicts_with_all = ["files", "to", "put", "form"])]
    retry_failed: bool,
}

/// 0.0-1.0, or 1-100 as a percentage.
fn fraction(q: f32) -> crate::Result<f32> {
    match q {
        q if (0.0..=1.0).contains(&q) => Ok(q),
        q if (1.0..=100.0).contains(&q) => Ok(q / 100.0),
        q => Err(Failure::Usage(format!(
            "quality {q} is outside 0.0-1.0 (or 1-100)"
        ))),
    }
}

fn config(args: &Args) -> crate::Result<UploadConfig> {
    let journal = match &args.journal {
        Some(dir) => dir.clone(),
        None => dirs::data_local_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("webimage")
            .join("upload-journal"),
    };
    if args.max_edge == Some(0) {
        return Err(Failure::Usage("--max-edge must be at least 1".into()));
    }
    let recompress = match args.quality {
        None => None,
        Some(q) => {
            let defaults = Recompress::default();
            Some(Recompress {
                quality: fraction(q)?,
                fallback_quality: args
                    .fallback_quality
                    .map(fraction)
                    .transpose()?
                    .unwrap_or(defaults.fallback_quality),
                max_bytes: args.max_bytes.unwrap_or(defaults.max_bytes),
                max_edge: args.max_edge,
            })
        }
    };
    Ok(UploadConfig {
        max_concurrent: args.concurrency.max(1),
        max_retries: args.retries,
        recompress,
        journal_dir: Some(journal),
        ..Default::default()
    })
}

/// The items to send, one per file.
fn items(args: &Args) -> crate::Result<Vec<UploadItem>> {
    let usage = |m: String| Failure::Usage(m);
    let to = args
        .to
        .as_deref()
        .ok_or_else(|| usage("--to URL is required".into()))?;
    if !args.put && args.form.is_none() {
        return Err(usage("choose how to send: --put or --form FIELD".into()));
    }
    let mut fields = Vec::new();
    for f in &args.fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| usage(format!("--field {f:?} is not NAME=VALUE")))?;
        fields.push((k.to_string(), v.to_string()));
    }
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| usage(format!("--header {h:?} is not \"NAME: VALUE\"")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut out = Vec::new();
    for file in &args.files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| usage(format!("{} is not a file name", file.display())))?;
        let url = to.replace("{name}", &utf8_percent_encode(&name, NAME_SAFE).to_string());
        let mut item = match &args.form {
            Some(field) => UploadItem::form(url, field.as_str(), file.as_path()),
            None => UploadItem::put(url, file.as_path()),
        };
        for (k, v) in &fields {
            item = item.form_field(k.as_str(), v.as_str());
        }
        for (k, v) in &headers {
            item = item.header(k.as_str(), v.as_str());
        }
        out.push(item);
    }
    Ok(out)
}

type Outcome = (String, Result<UploadResponse, UploadError>);

pub fn run(args: Args) -> crate::Result<bool> {
    // Everything the command line says is checked before anything touches the disk.
    let config = config(&args)?;
    let items = if args.retry_failed {
        Vec::new()
    } else {
        items(&args)?
    };
    let journal_dir = config.journal_dir.clone().unwrap_or_default();
    let uploader = Uploader::new(config).map_err(|e| e.to_string())?;
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:30!} {bar:30} {bytes}/{total_bytes}")
        .map_err(|e| e.to_string())?;
    let outcomes: Arc<parking_lot::Mutex<Vec<Outcome>>> = Arc::default();
    let record = |label: String, total: ProgressBar| {
        let outcomes = outcomes.clone();
        move |r: Result<UploadResponse, UploadError>| {
            total.inc(1);
            outcomes.lock().push((label, r));
        }
    };
    let enqueued = if args.retry_failed {
        let total = bars.add(ProgressBar::new(0));
        let outcomes = outcomes.clone();
        let total_bar = total.clone();
        let n = uploader
            .retry_failed(move |r| {
                total_bar.inc(1);
                // Label each result by its own target (the order of completion is not the
                // order of the journal).
                let label = match &r {
                    Err(e) => e.error.url().unwrap_or("journal item").to_string(),
                    Ok(_) => String::new(),
                };
                outcomes.lock().push((label, r));
            })
            .map_err(|e| e.to_string())?;
        total.set_length(n as u64);
        n
    } else {
        let total = bars.add(ProgressBar::new(items.len() as u64));
        let n = items.len();
        for item in items {
            let label = format!("{:?}", item.source());
            let bar = bars.add(
                ProgressBar::new(0)
                    .with_style(style.clone())
                    .with_prefix(label.clone()),
            );
            let progress_bar = bar.clone();
            let item = item.progress(move |sent, len| {
                progress_bar.set_length(len);
                progress_bar.set_position(sent);
            });
            let done = record(label, total.clone());
            uploader.enqueue(item, move |r| {
                bar.finish_and_clear();
                done(r);
            });
        }
        n
    };
    uploader.wait();
    bars.clear().ok();
    let outcomes = outcomes.lock();
    let mut failed = 0;
    for (label, outcome) in outcomes.iter() {
        if let Err(e) = outcome {
            failed += 1;
            eprintln!("webimage: {label}: {e}");
        }
    }
    let stats = uploader.stats();
    println!(
        "uploaded {} of {enqueued} ({} sent{}){}",
        enqueued - failed,
        crate::human(stats.bytes_sent),
        if stats.recompressed > 0 {
            format!(", {} recompressed", stats.recompressed)
        } else {
            String::new()
        },
        if failed > 0 {
            format!("; {failed} failed, kept in {}", journal_dir.display())
        } else {
            String::new()
        }
    );
    Ok(failed == 0)
}
