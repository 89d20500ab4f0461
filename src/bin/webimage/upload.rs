//! `webimage upload FILES... --to URL [--put | --form FIELD] ...`, and the journal of failed
//! uploads: `--retry-failed`, `--list-failed`, `--drop-failed`.
//!
//! Owns: turning the arguments into upload items and reporting each result and journal entry.
//! Must not touch: anything but the public API.

use std::path::{Path, PathBuf};
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

/// The journal's default directory: `<local data dir>/webimage/upload-journal`.
fn default_journal() -> PathBuf {
    dirs::data_local_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("webimage")
        .join("upload-journal")
}

/// Options of `webimage upload`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to upload.
    #[arg(
        value_name = "FILE",
        required_unless_present_any = ["retry_failed", "list_failed", "drop_failed"]
    )]
    files: Vec<PathBuf>,
    /// Target URL; `{name}` is replaced by each file's name (e.g. an object key), with a .jpg
    /// extension when --quality re-encodes it.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present_any = ["retry_failed", "list_failed", "drop_failed"]
    )]
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
    /// An extra request header (repeatable). Headers are never written to the journal (so no
    /// credential is kept on disk): give them again with --retry-failed.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    #[command(flatten)]
    tls: crate::Tls,
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
    /// Uploads at once (at least 1).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = crate::at_least_one)]
    concurrency: usize,
    /// Retries after transient failures (5xx, timeouts, resets).
    #[arg(long, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Journal of the failed uploads worth retrying (5xx, 408, 429, timeouts, network errors;
    /// not missing files or other 4xx). Default: <local data dir>/webimage/upload-journal
    /// (~/.local/share/webimage/upload-journal on Linux, ~/Library/Application
    /// Support/webimage/upload-journal on macOS, %LOCALAPPDATA%\webimage\upload-journal on
    /// Windows).
    #[arg(long, value_name = "DIR", default_value_os_t = default_journal())]
    journal: PathBuf,
    /// Send again what the journal holds (with the --header flags given now). Entries that
    /// fail permanently are dropped from the journal, and listed.
    #[arg(long, conflicts_with_all = ["files", "to", "put", "form"])]
    retry_failed: bool,
    /// List the journal's entries: id, file, target, attempts, last error.
    #[arg(long, conflicts_with_all = ["files", "to", "put", "form", "retry_failed", "drop_failed"])]
    list_failed: bool,
    /// Drop journal entries, given by id or target URL; with none given, drop them all.
    #[arg(
        long,
        value_name = "ID|URL",
        num_args = 0..,
        conflicts_with_all = ["files", "to", "put", "form", "retry_failed"]
    )]
    drop_failed: Option<Vec<String>>,
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

/// `NAME: VALUE` pairs from `--header`.
fn headers(args: &Args) -> crate::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| Failure::Usage(format!("--header {h:?} is not \"NAME: VALUE\"")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(headers)
}

fn config(args: &Args) -> crate::Result<UploadConfig> {
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
    // Headers go in the configuration, not the items: the journal never keeps them, and a
    // retry sends the ones given then.
    Ok(UploadConfig {
        max_concurrent: args.concurrency,
        max_retries: args.retries,
        headers: headers(args)?,
        recompress,
        journal_dir: Some(args.journal.clone()),
        tls: args.tls.config()?,
        ..Default::default()
    })
}

/// The name `{name}` stands for: the file's name, with `.jpg` if it is re-encoded.
fn target_name(file: &Path, reencoded: bool) -> Option<String> {
    let name = file.file_name()?.to_string_lossy().into_owned();
    if !reencoded {
        return Some(name);
    }
    let stem = file.file_stem()?.to_string_lossy();
    Some(format!("{stem}.jpg"))
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
    let mut out = Vec::new();
    for file in &args.files {
        let name = target_name(file, args.quality.is_some())
            .ok_or_else(|| usage(format!("{} is not a file name", file.display())))?;
        let url = to.replace("{name}", &utf8_percent_encode(&name, NAME_SAFE).to_string());
        let mut item = match &args.form {
            Some(field) => UploadItem::form(url, field.as_str(), file.as_path()),
            None => UploadItem::put(url, file.as_path()),
        };
        for (k, v) in &fields {
            item = item.form_field(k.as_str(), v.as_str());
        }
        out.push(item);
    }
    Ok(out)
}

type Outcomes = Arc<parking_lot::Mutex<Vec<Result<UploadResponse, UploadError>>>>;

pub fn run(args: Args) -> crate::Result<bool> {
    // Everything the command line says is checked before anything touches the disk.
    let config = config(&args)?;
    let journal_dir = args.journal.clone();
    if args.list_failed || args.drop_failed.is_some() {
        // Nothing to list or drop, and no directory created just to say so.
        if !journal_dir.exists() {
            println!(
                "no failed uploads in {} (no journal yet)",
                journal_dir.display()
            );
            return Ok(true);
        }
        let uploader = Uploader::new(config).map_err(|e| e.to_string())?;
        return match &args.drop_failed {
            Some(which) => drop_failed(&uploader, which, &journal_dir),
            None => list_failed(&uploader, &journal_dir),
        };
    }
    let items = if args.retry_failed {
        Vec::new()
    } else {
        items(&args)?
    };
    let given: Vec<String> = config.headers.iter().map(|(k, _)| k.clone()).collect();
    let uploader = Uploader::new(config).map_err(|e| e.to_string())?;
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:30!} {bar:30} {bytes}/{total_bytes}")
        .map_err(|e| e.to_string())?;
    let outcomes: Outcomes = Arc::default();
    let enqueued = if args.retry_failed {
        warn_withheld(&uploader, &given)?;
        let total = bars.add(ProgressBar::new(0));
        let outcomes = outcomes.clone();
        let total_bar = total.clone();
        let n = uploader
            .retry_failed(move |r| {
                total_bar.inc(1);
                outcomes.lock().push(r);
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
                    .with_prefix(label),
            );
            let progress_bar = bar.clone();
            let item = item.progress(move |sent, len| {
                progress_bar.set_length(len);
                progress_bar.set_position(sent);
            });
            let (outcomes, total) = (outcomes.clone(), total.clone());
            uploader.enqueue(item, move |r| {
                bar.finish_and_clear();
                total.inc(1);
                outcomes.lock().push(r);
            });
        }
        n
    };
    uploader.wait();
    bars.clear().ok();
    let outcomes = outcomes.lock();
    let (mut failed, mut kept, mut dropped) = (0, 0, 0);
    for outcome in outcomes.iter() {
        let Err(e) = outcome else { continue };
        failed += 1;
        kept += usize::from(e.journaled);
        dropped += usize::from(e.dropped);
        if e.dropped {
            eprintln!("webimage: {e}; dropped from the journal (a permanent failure)");
        } else {
            eprintln!("webimage: {e}");
        }
    }
    let stats = uploader.stats();
    let mut summary = format!(
        "uploaded {} of {enqueued} ({} sent",
        enqueued - failed,
        crate::human(stats.bytes_sent)
    );
    if stats.recompressed > 0 {
        summary.push_str(&format!(", {} recompressed", stats.recompressed));
    }
    summary.push(')');
    if failed > 0 {
        let mut parts = Vec::new();
        if kept > 0 {
            parts.push(format!(
                "{kept} kept in {} for --retry-failed",
                journal_dir.display()
            ));
        }
        if dropped > 0 {
            parts.push(format!("{dropped} dropped from the journal as permanent"));
        }
        let other = failed - kept - dropped;
        if other > 0 {
            parts.push(format!("{other} not worth retrying"));
        }
        summary.push_str(&format!("; {failed} failed: {}", parts.join(", ")));
    }
    println!("{summary}");
    Ok(failed == 0)
}

/// Says which entries were sent with credentials the journal did not keep and that are not
/// given now: they are retried without them.
fn warn_withheld(uploader: &Uploader, given: &[String]) -> crate::Result<()> {
    for entry in uploader.journal().map_err(|e| e.to_string())? {
        let missing: Vec<&str> = entry
            .withheld_headers
            .iter()
            .filter(|w| !given.iter().any(|g| g.eq_ignore_ascii_case(w)))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "webimage: {} was sent with {}, which the journal does not keep; retrying \
                 without (give it with --header)",
                entry.target,
                missing.join(", ")
            );
        }
    }
    Ok(())
}

/// `--list-failed`: one line per entry, then a count.
fn list_failed(uploader: &Uploader, dir: &Path) -> crate::Result<bool> {
    let entries = uploader.journal().map_err(|e| e.to_string())?;
    for e in &entries {
        let mut notes = vec![match e.attempts {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        }];
        if e.permanent {
            notes.push("permanent".into());
        }
        if !e.withheld_headers.is_empty() {
            notes.push(format!("needs {}", e.withheld_headers.join(", ")));
        }
        println!(
            "{}  {:?} -> {}: {} ({})",
            e.id,
            e.source,
            e.target,
            e.error,
            notes.join(", ")
        );
    }
    println!("{} in {}", failed_uploads(entries.len()), dir.display());
    Ok(true)
}

/// `--drop-failed [ID|URL]...`: drops the entries named (by id or target), or all of them.
fn drop_failed(uploader: &Uploader, which: &[String], dir: &Path) -> crate::Result<bool> {
    if which.is_empty() {
        let n = uploader.clear_journal().map_err(|e| e.to_string())?;
        println!("dropped {} from {}", failed_uploads(n), dir.display());
        return Ok(true);
    }
    let entries = uploader.journal().map_err(|e| e.to_string())?;
    let mut ok = true;
    for wanted in which {
        let matching: Vec<_> = entries
            .iter()
            .filter(|e| &e.id == wanted || &e.target == wanted)
            .collect();
        if matching.is_empty() {
            eprintln!("webimage: no journal entry has the id or target {wanted:?}");
            ok = false;
        }
        for e in matching {
            if uploader
                .drop_journal_entry(&e.id)
                .map_err(|e| e.to_string())?
            {
                println!("dropped {}  {:?} -> {}", e.id, e.source, e.target);
            }
        }
    }
    Ok(ok)
}

/// "1 failed upload", "2 failed uploads".
fn failed_uploads(n: usize) -> String {
    if n == 1 {
        "1 failed upload".into()
    } else {
        format!("{n} failed uploads")
    }
}
