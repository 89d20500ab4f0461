//! `webimage cache stats|clear|path`.
//!
//! Owns: the `cache` command's output. Must not touch: the cache's files directly; it goes
//! through `ImageLoader::disk_cache`. Only the tool's own cache (or `--cache-dir`) is read or
//! cleared; `stats` and `clear` never create a directory that is not there.

use std::path::PathBuf;

use clap::Subcommand;
use webimage::{Config, DiskCacheConfig, ImageLoader};

/// Options of `webimage cache`.
#[derive(clap::Args)]
pub struct Args {
    /// Disk cache directory. Default: the tool's own, <user cache dir>/webimage/cli
    /// (~/.cache/webimage/cli on Linux); other programs' caches are never touched.
    #[arg(long, global = true, value_name = "DIR", env = "WEBIMAGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Number of entries and bytes on disk.
    Stats,
    /// Delete every entry.
    Clear,
    /// Print the cache directory.
    Path,
}

pub fn run(args: Args) -> crate::Result<bool> {
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(crate::default_cache_dir);
    let disk_config = DiskCacheConfig::at(dir);
    if let Action::Path = args.action {
        println!("{}", disk_config.dir.display());
        return Ok(true);
    }
    // Opening a loader would create the directory: say so instead.
    if !disk_config.dir.exists() {
        let dir = disk_config.dir.display();
        match args.action {
            Action::Stats => println!("empty, no directory yet ({dir})"),
            _ => println!("nothing to clear, no directory yet ({dir})"),
        }
        return Ok(true);
    }
    let config = Config {
        disk_cache: Some(disk_config.clone()),
        ..Default::default()
    };
    let loader = ImageLoader::new(config).map_err(|e| e.to_string())?;
    // A directory that is not this user's alone is refused: say why.
    let disk = loader
        .disk_cache()
        .ok_or_else(|| match loader.disk_cache_refusal() {
            Some(why) => why.to_string(),
            None => "the disk cache is off".to_string(),
        })?;
    match args.action {
        Action::Stats => {
            let (len, size) = (
                disk.len().map_err(|e| e.to_string())?,
                disk.size().map_err(|e| e.to_string())?,
            );
            println!(
                "{len} entries, {} of {} in {}",
                crate::human(size),
                crate::human(disk_config.max_bytes),
                disk.path().display()
            );
        }
        Action::Clear => {
            let freed = disk.clear().map_err(|e| e.to_string())?;
            println!(
                "cleared {} from {}",
                crate::human(freed),
                disk.path().display()
            );
        }
        Action::Path => {}
    }
    Ok(true)
}
