//! The `webimage` command-line tool (built with `--features cli`).
//!
//! Owns: argument parsing and turning errors into one line on stderr with a non-zero exit.
//! Must not touch: library internals; it uses the public API like any app would.

mod demo;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Load, decode and cache images from the command line.
#[derive(Parser)]
#[command(name = "webimage", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve generated images on 127.0.0.1, load them with duplicates, cancels and a missing
    /// image, and print what the loader did.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webimage: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
