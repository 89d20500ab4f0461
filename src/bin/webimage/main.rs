//! The `webimage` command-line tool (built with `--features cli`).
//!
//! Owns: argument parsing, one file per command, and turning errors into one line on stderr
//! with a non-zero exit. Must not touch: library internals; it uses the public API like any
//! app would.

mod cache;
mod demo;
mod explain;
#[cfg(feature = "gallery")]
mod gallery;
mod get;
mod prefetch;
mod serve;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use webimage::{Config, DiskCacheConfig, TlsConfig};

/// Load, decode and cache images; prefetch them; upload them without running out of memory.
#[derive(Parser)]
#[command(name = "webimage", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--cache-dir`, for the commands that use the disk cache.
#[derive(clap::Args)]
pub(crate) struct CacheDir {
    /// Disk cache directory. Default: the tool's own, <user cache dir>/webimage/cli
    /// (~/.cache/webimage/cli on Linux, ~/Library/Caches/webimage/cli on macOS,
    /// %LOCALAPPDATA%\webimage\cli on Windows), never another program's.
    #[arg(long, value_name = "DIR", env = "WEBIMAGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl CacheDir {
    /// The disk cache these options name.
    pub(crate) fn disk(&self) -> DiskCacheConfig {
        DiskCacheConfig::at(self.cache_dir.clone().unwrap_or_else(default_cache_dir))
    }
}

/// The tool's own disk cache directory: `<user cache dir>/webimage/cli`, beside (never shared
/// with) the caches of programs using the library, which default to
/// `<user cache dir>/webimage/<their executable's name>`.
pub(crate) fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("webimage")
        .join("cli")
}

/// `--workers`, for the commands that load through a loader.
#[derive(clap::Args)]
pub(crate) struct Workers {
    /// Worker threads of the loader (at least 1).
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = at_least_one)]
    pub(crate) workers: usize,
}

/// `--ca-cert`, for the commands that talk HTTPS.
#[derive(clap::Args)]
pub(crate) struct Tls {
    /// Also trust the root certificates in this PEM file (a private or company CA; repeatable).
    /// The file named by SSL_CERT_FILE, if set, is trusted too.
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_certs: Vec<PathBuf>,
}

impl Tls {
    /// The TLS trust these options name: the built-in roots, plus `--ca-cert` files and
    /// `SSL_CERT_FILE`.
    pub(crate) fn config(&self) -> Result<TlsConfig> {
        let mut files = self.ca_certs.clone();
        if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            files.push(PathBuf::from(file));
        }
        let mut tls = TlsConfig::default();
        for file in files {
            tls = tls
                .with_pem_file(&file)
                .map_err(|e| Failure::Usage(e.to_string()))?;
        }
        Ok(tls)
    }
}

/// A loader configuration with `disk` as its disk cache.
pub(crate) fn loader_config(
    disk: Option<DiskCacheConfig>,
    workers: &Workers,
    tls: &Tls,
) -> Result<Config> {
    Ok(Config {
        max_workers: workers.workers,
        disk_cache: disk,
        tls: tls.config()?,
        ..Default::default()
    })
}

#[derive(Subcommand)]
enum Command {
    /// Load images (through the caches) and save them as PNG.
    Get(get::Args),
    /// Warm the disk cache from a list of URLs (one per line; `-` reads standard input).
    Prefetch(prefetch::Args),
    /// Upload files: PUT each as the raw body, or POST it as multipart/form-data.
    Upload(upload::Args),
    /// Look at or empty the disk cache.
    Cache(cache::Args),
    /// Serve generated images on 127.0.0.1 and show what the library does with them.
    Demo(demo::Args),
    /// Open a window scrolling 2,000 photos loaded through webimage's egui loader (feature
    /// `gallery`).
    #[cfg(feature = "gallery")]
    Gallery(gallery::Args),
}

/// A user-facing failure: one line on stderr, no backtrace.
pub(crate) enum Failure {
    /// The command line is wrong (exit code 2, like clap's own usage errors).
    Usage(String),
    /// The command ran and failed (exit code 1).
    Run(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Run(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Run(message.to_string())
    }
}

/// `Ok(true)`: everything worked; `Ok(false)`: some items failed (already reported).
pub(crate) type Result<T> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Get(args) => get::run(args),
        Command::Prefetch(args) => prefetch::run(args),
        Command::Upload(args) => upload::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Demo(args) => demo::run(args),
        #[cfg(feature = "gallery")]
        Command::Gallery(args) => gallery::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Failure::Run(message)) => {
            eprintln!("webimage: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(message)) => {
            eprintln!("webimage: {message}");
            ExitCode::from(2)
        }
    }
}

/// A count of at least 1.
pub(crate) fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident memory of this process in bytes now (Linux), if known.
#[cfg(feature = "gallery")]
pub(crate) fn current_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `WxH` as two numbers, or `N` for `NxN`.
pub(crate) fn parse_size(s: &str) -> std::result::Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).unwrap_or((s, s));
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not WIDTHxHEIGHT or a single size"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in {s:?}"))?;
    if w == 0 || h == 0 {
        return Err(format!("{s:?}: width and height must be at least 1"));
    }
    Ok((w, h))
}

/// A byte count with an optional K/M/G suffix (powers of 1024).
pub(crate) fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} in {s:?}")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Human-readable bytes.
pub(crate) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
