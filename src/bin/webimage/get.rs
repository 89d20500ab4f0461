//! `webimage get URL... [--thumb WxH | --cover WxH] [--out DIR] [--explain | --json]`.
//!
//! Owns: loading each argument (a URL, or a file path, relative ones resolved against the
//! current directory), saving it as PNG, and handing each load's record to `explain.rs` when
//! asked. Must not touch: anything but the public API.

use std::collections::HashSet;
use std::path::PathBuf;

use webimage::{ImageLoader, Request};

use crate::explain;

/// Options of `webimage get`.
#[derive(clap::Args)]
pub struct Args {
    /// Image URLs (http, https, file, data) or file paths (relative to the current directory).
    #[arg(required = true, value_name = "URL")]
    urls: Vec<String>,
    /// Save a thumbnail that fits inside WIDTHxHEIGHT (or NxN, given as N) instead of the full
    /// image.
    #[arg(long, value_name = "WxH", value_parser = crate::parse_size)]
    thumb: Option<(u32, u32)>,
    /// Save exactly WIDTHxHEIGHT (or NxN), the image scaled to cover the box and
    /// centre-cropped, as a grid cell shows it.
    #[arg(long, value_name = "WxH", value_parser = crate::parse_size, conflicts_with = "thumb")]
    cover: Option<(u32, u32)>,
    /// Directory to save the PNG files in (created if missing).
    #[arg(long, default_value = ".", value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    cache: crate::CacheDir,
    /// Do not use the disk cache.
    #[arg(long)]
    no_disk_cache: bool,
    #[command(flatten)]
    workers: crate::Workers,
    #[command(flatten)]
    tls: crate::Tls,
    /// After each load, print where its time went: queue, which cache, the network (DNS,
    /// connect, first byte, body), the decode path, processors.
    #[arg(long)]
    explain: bool,
    /// Print one JSON object per load on stdout (one per line, stable field names) instead of
    /// the usual lines; errors are still reported on stderr too.
    #[arg(long, conflicts_with = "explain")]
    json: bool,
}

/// What to load for the argument `arg`: a URL as it is; anything without a scheme is a file
/// path, made absolute against the current directory (the library takes absolute paths only).
fn resolve(arg: &str) -> String {
    match url::Url::parse(arg) {
        Err(url::ParseError::RelativeUrlWithoutBase) => match std::env::current_dir() {
            Ok(dir) => dir.join(arg).to_string_lossy().into_owned(),
            Err(_) => arg.to_string(),
        },
        _ => arg.to_string(),
    }
}

/// A file name for `url`: its last path segment, made safe, with `.png`.
fn file_name(url: &str, taken: &mut HashSet<String>) -> String {
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("");
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        clean = format!("image{clean}");
    }
    let mut name = format!("{clean}.png");
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{clean}-{n}.png");
    }
    name
}

pub fn run(args: Args) -> crate::Result<bool> {
    let disk = (!args.no_disk_cache).then(|| args.cache.disk());
    let config = crate::loader_config(disk, &args.workers, &args.tls)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let loader = ImageLoader::new(config).map_err(|e| e.to_string())?;
    // Names are fixed up front, in argument order; each image is saved (and dropped) as soon
    // as it arrives, so memory holds at most the images still being written.
    let mut taken = HashSet::new();
    let names: Vec<String> = args.urls.iter().map(|u| file_name(u, &mut taken)).collect();
    let (tx, rx) = crossbeam_channel::unbounded();
    for (i, url) in args.urls.iter().enumerate() {
        let mut request = Request::new(resolve(url));
        if let Some((w, h)) = args.thumb {
            request = request.thumbnail(w, h);
        }
        if let Some((w, h)) = args.cover {
            request = request.cover(w, h);
        }
        let tx = tx.clone();
        let _token = loader.load_with_metrics(request, move |result, metrics| {
            let _ = tx.send((i, result, metrics.clone()));
        });
    }
    drop(tx);
    let mut ok = true;
    for (i, result, metrics) in rx {
        let url = &args.urls[i];
        let path = args.out.join(&names[i]);
        let shown = path.display().to_string();
        let saved = match &result {
            Ok(image) => (image.image().save(&path))
                .map(|()| image)
                .map_err(|e| format!("cannot write {shown}: {e}")),
            Err(e) => Err(e.to_string()),
        };
        let outcome = match &saved {
            Ok(image) => explain::Outcome::Saved {
                path: &shown,
                size: (image.width(), image.height()),
                source: image.source(),
            },
            Err(e) => explain::Outcome::Failed(e),
        };
        match &saved {
            Err(e) => {
                eprintln!("webimage: {e}");
                ok = false;
            }
            // A password in the URL is never printed (output gets pasted into reports).
            Ok(image) if !args.json => println!(
                "{shown} ({}x{}, {}) <- {}",
                image.width(),
                image.height(),
                match image.source() {
                    webimage::Source::Network => "fetched",
                    webimage::Source::Disk => "from the disk cache",
                    webimage::Source::Memory => "from the memory cache",
                },
                explain::shown(url)
            ),
            Ok(_) => {}
        }
        if args.json {
            println!("{}", explain::json(url, &outcome, &metrics));
        } else if args.explain {
            println!("{}", explain::block(url, &outcome, &metrics));
        }
    }
    if let Some(disk) = loader.disk_cache() {
        disk.flush();
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(file_name("https://h/a/cat.jpg?x=1", &mut taken), "cat.png");
        assert_eq!(file_name("https://h/b/cat.jpg", &mut taken), "cat-2.png");
        assert_eq!(
            file_name("https://h/../../etc/passwd", &mut taken),
            "passwd.png"
        );
        assert_eq!(file_name("https://h/", &mut taken), "h.png");
        assert_eq!(file_name("https://h/a%20b.png", &mut taken), "a_20b.png");
        assert_eq!(file_name("https://h/.hidden", &mut taken), "image.png");
    }

    #[test]
    fn relative_paths_are_resolved_and_urls_kept() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(resolve("p6.png"), here.join("p6.png").to_string_lossy());
        assert_eq!(resolve("a/b.png"), here.join("a/b.png").to_string_lossy());
        for url in [
            "https://h/a.png",
            "file:///tmp/a.png",
            "data:image/png;base64,AA",
        ] {
            assert_eq!(resolve(url), url);
        }
    }
}
