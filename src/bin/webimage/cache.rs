//! `webimage cache stats|clear|path`.
//!
//! Owns: the `cache` command's output. Must not touch: the cache's files directly; it goes
//! through `ImageLoader::disk_cache`.

use clap::Subcommand;
use webimage::{Config, ImageLoader};

/// Options of `webimage cache`.
#[derive(clap::Args)]
pub struct Args {
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

pub fn run(args: Args, config: Config) -> crate::Result<bool> {
    let Some(disk_config) = config.disk_cache.clone() else {
        return Err("the disk cache is off (--no-disk-cache)".into());
    };
    if let Action::Path = args.action {
        println!("{}", disk_config.dir.display());
        return Ok(true);
    }
    let loader = ImageLoader::new(config).map_err(|e| e.to_string())?;
    let disk = loader.disk_cache().ok_or("the disk cache is off")?;
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
