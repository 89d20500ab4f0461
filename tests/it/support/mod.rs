//! Shared test helpers: a real HTTP server on 127.0.0.1, gates, generated images and corpus
//! paths. Each test binary uses the parts it needs.
#![allow(dead_code, unused_imports)]

pub mod color;
pub mod hostile;
pub mod photo;
pub mod pillow;
pub mod server;
pub mod tls;

use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use image::{ImageFormat, Rgba, RgbaImage};

pub use server::{Gate, Route, Server};

/// A path inside the test corpus, `tests/data/corpus/` (real files nobody here wrote; see
/// `tests/data/README.md`). Fails the test with the missing path named, so a checkout without
/// the data says what is missing instead of "No such file or directory".
pub fn corpus(rel: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus")
        .join(rel);
    assert!(
        path.exists(),
        "test data missing: {} (it is part of the repository; the published crate leaves it out)",
        path.display()
    );
    path
}

/// The `file://` URL of a path.
pub fn file_url(path: &std::path::Path) -> String {
    url::Url::from_file_path(path.canonicalize().unwrap())
        .unwrap()
        .to_string()
}

/// A deterministic test picture: gradients plus a pattern keyed by `seed`.
pub fn picture(width: u32, height: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let r = (x * 255 / width.max(1)) as u8;
        let g = (y * 255 / height.max(1)) as u8;
        let b = ((x / 8 + y / 8 + seed) % 2 * 200) as u8;
        Rgba([r, g, b.wrapping_add(seed as u8), 255])
    })
}

/// `image` encoded in `format`.
pub fn encode(image: &RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(image.clone())
            .to_rgb8()
            .write_to(&mut out, format)
            .unwrap(),
        _ => image.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

/// A PNG of a generated picture.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(&picture(width, height, seed), ImageFormat::Png)
}

/// Polls `cond` until it holds, failing the test after a generous limit. Used to wait for
/// events on other threads (never to assert how long something took).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A loader configuration for tests: no disk cache, small worker count.
pub fn config(workers: usize) -> webimage::Config {
    webimage::Config {
        max_workers: workers,
        disk_cache: None,
        ..Default::default()
    }
}

/// Loads `request` with [`load_with_metrics`](webimage::ImageLoader::load_with_metrics) and
/// waits (30 s at most) for its result and record.
pub fn measured(
    loader: &webimage::ImageLoader,
    request: impl Into<webimage::Request>,
) -> (
    Result<webimage::LoadedImage, webimage::Error>,
    webimage::Metrics,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let _token = loader.load_with_metrics(request, move |result, metrics| {
        let _ = tx.send((result, metrics.clone()));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a completion")
}

/// A fresh, empty directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "webimage-test-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Owner-only whatever the umask: tests use it as a cache directory, which must not be
        // writable by group or others (a umask of 002 would make it so).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a disk-cache entry file takes on disk, as the cache counts it: its allocated blocks,
/// at least its length in whole 4 KiB blocks.
pub fn on_disk(meta: &std::fs::Metadata) -> u64 {
    let rounded = meta.len().div_ceil(4096) * 4096;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        rounded.max(meta.blocks() * 512)
    }
    #[cfg(not(unix))]
    {
        rounded
    }
}

/// The disk-cache entry file of `url` in the cache at `dir`:
/// `entries/<first two hex digits>/<SHA-256 of the key in hex>`.
pub fn entry_path_of(dir: &std::path::Path, url: &str) -> PathBuf {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join("entries").join(&hex[..2]).join(hex)
}

/// A loader configuration with a disk cache in `dir`.
pub fn disk_config(workers: usize, dir: &std::path::Path) -> webimage::Config {
    webimage::Config {
        disk_cache: Some(webimage::DiskCacheConfig {
            min_free_bytes: 0,
            ..webimage::DiskCacheConfig::at(dir)
        }),
        ..config(workers)
    }
}

/// A picture of deterministic noise: it does not compress, so its PNG is about 4*w*h bytes.
pub fn noise(width: u32, height: u32, seed: u32) -> RgbaImage {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    RgbaImage::from_fn(width, height, |_, _| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let [r, g, b, _] = s.to_le_bytes();
        Rgba([r, g, b, 255])
    })
}

/// A PNG of noise (large for its size).
pub fn noisy_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(&noise(width, height, seed), ImageFormat::Png)
}

/// A list shared between a test and the closures it hands to the loader.
pub type Log<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

/// Runs the ignored test `name` (its path in this test binary, e.g. `bounds::child`) in a
/// child process with `env` set, and returns what it printed. Fails the test if the child
/// fails.
pub fn run_child(name: &str, env: &[(&str, String)]) -> String {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number after `key` on a line of a child's output (`"PEAK 123"`).
pub fn reported(out: &str, key: &str) -> u64 {
    out.lines()
        .find_map(|l| {
            let after = &l[l.find(key)? + key.len()..];
            after.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("{key} not reported in:\n{out}"))
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Resets this process's peak resident size to its current size (Linux).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// This process's resident size now, in bytes.
pub fn rss() -> u64 {
    proc_status_bytes("VmRSS:")
}

/// This process's peak resident size since the last [`reset_peak_rss`], in bytes.
pub fn peak_rss() -> u64 {
    proc_status_bytes("VmHWM:")
}

/// Every file under `root`, recursively.
pub fn files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            found.push(path);
        }
    }
    found
}

/// Every file under `root` that contains `needle`.
pub fn files_containing(root: &std::path::Path, needle: &str) -> Vec<String> {
    files(root)
        .into_iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|path| path.display().to_string())
        .collect()
}

/// `bytes` in standard base64 (`data:` URLs, `Authorization: Basic`).
pub fn base64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A route whose image depends on the value of request header `header`: each `(value, side)`
/// of `sides` gets a `side` x `side` PNG, any other value (or none) 30x30; `Vary: <header>`,
/// private, fresh for an hour. `gate`, if given, holds every answer until opened.
pub fn per_user_route(
    server: &Server,
    path: &str,
    header: &'static str,
    sides: &'static [(&'static str, u32)],
    gate: Option<Gate>,
) {
    server.route_fn(path, move |req| {
        let value = req.header(header);
        let side = sides
            .iter()
            .find(|(v, _)| Some(*v) == value)
            .map_or(30, |&(_, side)| side);
        let mut route = Route::ok(png(side, side, side))
            .header("Vary", header)
            .header("Cache-Control", "private, max-age=3600");
        if let Some(gate) = &gate {
            route = route.hold(gate);
        }
        route
    });
}
