//! Loader configuration as plain data.
//!
//! Owns: [`Config`], its defaults, [`KeyFilter`], and the validation `ImageLoader::new` runs.
//! Must not touch: threads, caches or the network; it only describes them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::Error;
use crate::headers::{HeaderRules, Redacted};

mod tls;
pub use tls::{TlsConfig, TlsRoots};

/// The default `User-Agent`: `webimage/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("webimage/", env!("CARGO_PKG_VERSION"));

/// How an [`ImageLoader`](crate::ImageLoader) runs. All fields are public; start from
/// `Config::default()` and change what you need:
///
/// ```
/// let config = webimage::Config { max_workers: 4, lifo: true, ..Default::default() };
/// assert_eq!(config.memory_cache_bytes, 256 * 1024 * 1024);
/// ```
#[derive(Clone)]
pub struct Config {
    /// Number of worker threads that download and decode. Exactly this many are started; it
    /// bounds concurrent connections and concurrent decodes. Must be at least 1. Default 6.
    pub max_workers: usize,
    /// Start the most recently queued job first (a stack), which suits a fast-scrolling list:
    /// what is on screen now beats what scrolled past. Priorities still come first. Default
    /// `false` (first in, first out).
    pub lifo: bool,
    /// Total cost limit of the memory cache in bytes. An entry costs its decoded pixels (every
    /// frame of an animation), its key's text, and a few hundred bytes of bookkeeping (the
    /// cache's node, the image's header, the allocator's rounding), so many tiny images or long
    /// URLs cannot hold more than this. An image costing more than a tenth of this is returned
    /// but not cached. `0` turns the memory cache off. Default 256 MiB.
    pub memory_cache_bytes: u64,
    /// Network timeout: connecting, receiving the response headers, and each read of the body
    /// must each make progress within this time (an idle timeout, as in `URLSession`, so that a
    /// large image on a slow but live link still loads). Default 15 s.
    pub timeout: Duration,
    /// Total deadline of one download, from the name lookup to the last byte of the body,
    /// redirects included (`timeout` alone lets a server that sends one byte every few seconds
    /// hold a worker for ever). A download not finished by then ends with
    /// [`Error::Timeout`] for every caller waiting for it; the connection is closed, nothing
    /// is cached, and the URL is not remembered as failed. `None` turns it off.
    /// Default 60 s.
    pub total_timeout: Option<Duration>,
    /// Largest body accepted, enforced while streaming: a longer body is abandoned with
    /// [`Error::TooLarge`] as soon as it crosses the limit. Default 64 MiB.
    pub max_download_bytes: u64,
    /// Largest image, in pixels, that is decoded. An image whose header declares more is refused
    /// with [`Error::TooLarge`] before any pixel buffer is allocated; so is one whose decoder
    /// would decode more than this whatever the header says (a GIF frame larger than its
    /// screen, a TIFF's tiles with their padding). Default 100 megapixels.
    pub max_pixels: u64,
    /// Most frames an animation loaded with [`Request::animated`](crate::Request::animated)
    /// may have; one with more is refused with [`Error::TooLarge`] before any frame is
    /// decoded. The frames together (frames x the larger of the canvas and the largest
    /// frame: a GIF frame may be larger than its canvas) must also be within
    /// [`max_pixels`](Self::max_pixels), which is what bounds their memory and work; this
    /// bounds the work per frame of a tiny canvas with a great many frames. Must be at least 1. Default
    /// 1000 (40 seconds at 25 frames a second).
    pub max_animation_frames: u32,
    /// Memory all decodes of this loader may hold at once, in bytes, across every worker.
    /// Before a decode allocates its pixel buffers it reserves its estimated peak (the
    /// decoder's buffer, conversions, the orientation copy, resize buffers; a thumbnail
    /// reserves what its reduced-size path uses, not the full image's size) and gives it back
    /// when done. A decode that does not fit waits for others to finish; one that could never
    /// fit fails at once with [`Error::TooLarge`]. Without it, memory is bounded per decode
    /// only: six workers each decoding a 100-megapixel image hold 2.4 to 4.8 GB.
    ///
    /// Default 1 GiB: one decode at the default [`max_pixels`](Self::max_pixels) (400 MB of
    /// RGBA and an orientation copy) still fits, so every image the pixel limit admits can
    /// load, while six workers decoding 12-megapixel photos (about 100 MB each at full size)
    /// all run at once. Must not be 0.
    pub decode_memory_bytes: u64,
    /// Scale down large images: a full-size load of an image with more pixels than this comes
    /// back scaled down to fit (aspect kept, each side rounded down), which bounds the memory
    /// of apps that show whole photos at screen size. JPEGs are scaled in the DCT domain while
    /// decoding where the cap allows half size or less. Each cap is a separate cache entry;
    /// [`Request::scale_down_pixels`](crate::Request::scale_down_pixels) overrides it per
    /// request, and thumbnails ignore it. Must not be `Some(0)`. Default `None` (off).
    pub scale_down_pixels: Option<u64>,
    /// Redirects followed per request before giving up with [`Error::Network`]. Only
    /// redirects to `http` and `https` are followed (a redirect elsewhere is
    /// [`Error::Blocked`]), and credential headers are dropped when a redirect changes the
    /// origin. Default 10.
    pub max_redirects: u32,
    /// Which certificates HTTPS trusts: the built-in Mozilla roots by default, the operating
    /// system's store, and root certificates of your own (a private CA). See [`TlsConfig`].
    pub tls: TlsConfig,
    /// Follow a redirect from `https` to plain `http`. Default `false`: such a redirect is
    /// [`Error::Blocked`], since it would send the rest of the exchange in clear text.
    pub allow_https_downgrade: bool,
    /// URL schemes this loader fetches, lower case: any of `http`, `https`, `file` and `data`.
    /// A URL whose scheme is not listed fails at once with [`Error::Blocked`], before any I/O,
    /// and is not remembered as failed; absolute file paths count as `file`. A service that
    /// loads URLs it did not write should list only `http` and `https` (see
    /// `docs/SECURITY.md`). Default all four.
    pub allowed_schemes: Vec<String>,
    /// Refuse to connect to loopback, private (RFC 1918, `fc00::/7`), link-local, carrier-grade
    /// NAT, unspecified, multicast, broadcast, reserved and documentation addresses, and to
    /// IPv4 addresses of those kinds inside IPv6 (mapped, compatible, NAT64, 6to4) and Teredo.
    /// Checked on every address a host name resolves to, before connecting, on every redirect
    /// hop, so DNS rebinding cannot get past it; a refused address is [`Error::Blocked`]. With
    /// a proxy configured in the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`), the
    /// proxy would connect for us and hide the address, so every HTTP request is refused with
    /// [`Error::Blocked`]: unset the proxy for a process that blocks private networks.
    /// Default `false`.
    pub block_private_networks: bool,
    /// `User-Agent` header sent with every request. Default [`DEFAULT_USER_AGENT`].
    pub user_agent: String,
    /// Headers sent with every request (before the request's own headers). Credentials among
    /// them (see [`credential_headers`](Self::credential_headers)) scope every cache like a
    /// request's own do (see [`Request::header`](crate::Request::header)), are dropped when a
    /// redirect changes the origin, are never written to disk, and `Debug` output redacts
    /// their values.
    pub headers: Vec<(String, String)>,
    /// Names of request headers (compared without regard to case) that carry credentials,
    /// beyond `Authorization`, `Cookie` and `Proxy-Authorization`, which always do. A
    /// credential (named here, or added with
    /// [`Request::credential_header`](crate::Request::credential_header), or the userinfo of a
    /// URL such as `http://user:password@host/`) scopes the request: a keyed digest of its
    /// value becomes part of the key, so the memory cache, coalescing, the disk cache and the
    /// failed-URL list only hand a response to requests that send the same value. It is
    /// dropped when a redirect changes the origin, never written to disk (`Vary` on it is
    /// matched by digest) and `<redacted>` in `Debug` output.
    ///
    /// A header on neither this list nor [`shared_headers`](Self::shared_headers) (and not
    /// one of the known-harmless ones listed there) is treated as a credential too: a header
    /// nobody vouched for may select per-user content, so it is safe by default; declare it
    /// shared to let requests with different values of it share the disk cache. Naming a
    /// header here wins over the shared lists. Default empty.
    pub credential_headers: Vec<String>,
    /// Names of request headers (compared without regard to case) whose values are no secret
    /// and the same for every user, beyond the known-harmless `Accept`, `Accept-Encoding`,
    /// `Accept-Language`, `Cache-Control`, `DNT`, `DPR`, `Pragma`, `Save-Data`, `User-Agent`,
    /// `Viewport-Width` and `Width`. A shared header does not scope the disk cache (a
    /// response's `Vary` decides, as in any HTTP cache), follows redirects, is stored in
    /// clear when a response varies on it, and is shown in `Debug` output. The memory cache and
    /// coalescing still share a response only between requests whose own headers are the same,
    /// shared ones included. Every other header is a credential (see
    /// [`credential_headers`](Self::credential_headers)). Default empty.
    pub shared_headers: Vec<String>,
    /// Maps a URL to its cache key, e.g. to drop signing tokens that change on every request.
    /// Requests whose keys are equal share one download and one cache entry. `None` uses the
    /// URL as given.
    pub cache_key: Option<KeyFilter>,
    /// Most loads that may wait at once, queued or running: every caller counts, whether it
    /// started a download or joined one (prefetched URLs too, up to the prefetch's own cap).
    /// A load past it is answered at once, on the caller's thread, with
    /// [`Error::TooManyPending`]; nothing blocks and nothing is queued. Memory hits and other
    /// immediate answers never count. What a pending load holds was measured at about 800
    /// bytes of heap for one that starts a download of a short URL (its task, queue slot,
    /// parsed URL, subscriber, closure box) and 270 for one that joins, plus its URL and
    /// headers: the default bounds a flood at about 80 MB with short URLs, while a list that
    /// asks for every one of 100,000 thumbnails at once still loads them all. Must not be 0.
    /// Default 100,000.
    pub max_pending: usize,
    /// Remember URLs whose failure is the image's own (`404`, `410`, undecodable or
    /// unsupported data, malformed URLs; see [`Error::is_permanent`]) and fail later loads of
    /// the same URL, as requested and with the same credentials, at once with
    /// [`Error::FailedBefore`]. Default `true`.
    pub remember_failed_urls: bool,
    /// How many failed URLs are remembered at most; the oldest is forgotten first. `0`
    /// remembers none. Default 1000.
    pub max_failed_urls: usize,
    /// How many bytes the failed-URL list may hold: every remembered key's text (the URL, or
    /// its [`cache_key`](Self::cache_key), with its credential scope), every kept reason, and
    /// about 150 bytes of bookkeeping each. The oldest entries are forgotten first while it is
    /// over; a single entry over a tenth of this (a failed 1 MiB `data:` URL) is not
    /// remembered at all, so failing it again costs its own bytes, nothing more. Default
    /// 4 MiB (1,000 URLs of 4 KB).
    pub max_failed_url_bytes: u64,
    /// Decoders for formats of the app's own ([`Decoder`](crate::Decoder)), tried before the
    /// built-in ones, in order. They run through the same steps as the built-ins: the header
    /// size against [`max_pixels`](Self::max_pixels), the decode budget, resizing, the
    /// caches. Default none.
    pub decoders: Vec<Arc<dyn crate::Decoder>>,
    /// The colour space decoded pixels are delivered in: each image is converted from the
    /// colour information its file carries (ICC profile, CICP, PNG gamma), perceptual intent.
    /// [`ColorTarget::AsStored`](crate::ColorTarget::AsStored) turns colour management off;
    /// [`Request::color`](crate::Request::color) overrides it per request. Default
    /// [`ColorTarget::Srgb`](crate::ColorTarget::Srgb).
    pub color: crate::ColorTarget,
    /// Let SVG `<text>` use the system's fonts (loaded once per process, on first use).
    /// Default `false`: no font file is ever opened and text draws nothing. Needs the
    /// `svg-text` feature; otherwise it has no effect.
    pub svg_system_fonts: bool,
    /// Told about every load as it runs: tasks started, bytes fetched, decodes, and each
    /// load's [`Metrics`](crate::Metrics) when it finishes (see
    /// [`EventListener`](crate::EventListener)). Default `None`.
    pub event_listener: Option<Arc<dyn crate::EventListener>>,
    /// The persistent cache of downloaded bytes; `None` turns it off. Default: on, in a
    /// directory of this program's own under the platform's user cache directory
    /// (`~/.cache/webimage/<executable name>` on Linux; see [`DiskCacheConfig::default`]).
    pub disk_cache: Option<DiskCacheConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_workers: 6,
            lifo: false,
            memory_cache_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(15),
            total_timeout: Some(Duration::from_secs(60)),
            max_download_bytes: 64 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_animation_frames: 1000,
            decode_memory_bytes: 1 << 30,
            scale_down_pixels: None,
            max_redirects: 10,
            tls: TlsConfig::default(),
            allow_https_downgrade: false,
            allowed_schemes: ["http", "https", "file", "data"].map(String::from).to_vec(),
            block_private_networks: false,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            headers: Vec::new(),
            credential_headers: Vec::new(),
            shared_headers: Vec::new(),
            cache_key: None,
            max_pending: 100_000,
            remember_failed_urls: true,
            max_failed_urls: 1000,
            max_failed_url_bytes: 4 << 20,
            disk_cache: Some(DiskCacheConfig::default()),
            decoders: Vec::new(),
            color: crate::ColorTarget::Srgb,
            svg_system_fonts: false,
            event_listener: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("max_workers", &self.max_workers)
            .field("lifo", &self.lifo)
            .field("memory_cache_bytes", &self.memory_cache_bytes)
            .field("timeout", &self.timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("max_pixels", &self.max_pixels)
            .field("max_animation_frames", &self.max_animation_frames)
            .field("decode_memory_bytes", &self.decode_memory_bytes)
            .field("scale_down_pixels", &self.scale_down_pixels)
            .field("max_redirects", &self.max_redirects)
            .field("tls", &self.tls)
            .field("allow_https_downgrade", &self.allow_https_downgrade)
            .field("allowed_schemes", &self.allowed_schemes)
            .field("block_private_networks", &self.block_private_networks)
            .field("user_agent", &self.user_agent)
            .field(
                "headers",
                &Redacted::pairs(&self.headers, &self.header_rules()),
            )
            .field("credential_headers", &self.credential_headers)
            .field("shared_headers", &self.shared_headers)
            .field("cache_key", &self.cache_key)
            .field("max_pending", &self.max_pending)
            .field("remember_failed_urls", &self.remember_failed_urls)
            .field("max_failed_urls", &self.max_failed_urls)
            .field("max_failed_url_bytes", &self.max_failed_url_bytes)
            .field("disk_cache", &self.disk_cache)
            .field(
                "decoders",
                &self.decoders.iter().map(|d| d.name()).collect::<Vec<_>>(),
            )
            .field("color", &self.color)
            .field("svg_system_fonts", &self.svg_system_fonts)
            .field("event_listener", &self.event_listener.is_some())
            .finish()
    }
}

impl Config {
    /// Which request headers are credentials under this configuration.
    pub(crate) fn header_rules(&self) -> HeaderRules {
        HeaderRules::downloads(&self.credential_headers, &self.shared_headers)
    }

    /// Checks the settings that would make a loader unusable.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.max_workers == 0 {
            return Err(Error::Config(
                "max_workers is 0: at least one worker thread is needed to load anything".into(),
            ));
        }
        if self.max_pending == 0 {
            return Err(Error::Config(
                "max_pending is 0: no load could ever be queued".into(),
            ));
        }
        if self.scale_down_pixels == Some(0) {
            return Err(Error::Config(
                "scale_down_pixels is Some(0): no image fits in zero pixels".into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::Config("timeout is zero".into()));
        }
        for scheme in &self.allowed_schemes {
            if !["http", "https", "file", "data"].contains(&scheme.as_str()) {
                return Err(Error::Config(format!(
                    "allowed_schemes lists {scheme:?}; this build fetches http, https, file and data"
                )));
            }
        }
        if self.max_animation_frames == 0 {
            return Err(Error::Config(
                "max_animation_frames is 0: no animation could be decoded".into(),
            ));
        }
        if self.decode_memory_bytes == 0 {
            return Err(Error::Config(
                "decode_memory_bytes is 0: no image could be decoded".into(),
            ));
        }
        if self.total_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::Config(
                "total_timeout is Some(0): use None to turn the deadline off".into(),
            ));
        }
        if let Some(disk) = &self.disk_cache
            && disk.max_bytes == 0
        {
            return Err(Error::Config(
                "disk_cache.max_bytes is 0: use disk_cache: None to turn the disk cache off".into(),
            ));
        }
        Ok(())
    }
}

/// Settings of the disk cache ([`Config::disk_cache`]).
///
/// ```
/// use std::time::Duration;
/// let disk = webimage::DiskCacheConfig {
///     max_bytes: 100 << 20,
///     max_age: Duration::from_secs(3 * 24 * 3600),
///     ..webimage::DiskCacheConfig::at("/tmp/my-app-images")
/// };
/// assert_eq!(disk.dir, std::path::Path::new("/tmp/my-app-images"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskCacheConfig {
    /// The cache directory; created if missing (owner-only, 0700 on Unix). Several processes
    /// of one user may share it. An existing directory is used only if it is this user's
    /// alone: on Unix, owned by the process's effective user and not writable by group or
    /// others, with no link or other user's file where the cache keeps its own; otherwise the
    /// loader runs without a disk cache and
    /// [`ImageLoader::disk_cache_refusal`](crate::ImageLoader::disk_cache_refusal) says why.
    pub dir: PathBuf,
    /// Size limit of the directory, in bytes on disk: each entry counts its allocated blocks
    /// (at least its length in whole 4 KiB blocks, so 20,000 entries of 200 bytes count
    /// 80 MB, what they take, not 4 MB), and the directories that hold them count too. When
    /// writes push it over, the least recently accessed entries are removed down to 80% of
    /// it. Default 512 MiB.
    pub max_bytes: u64,
    /// Entries not accessed for this long are removed by the periodic sweep. Default 7 days.
    pub max_age: Duration,
    /// Writes are skipped (and counted in `Stats::disk_write_errors`) while the file system
    /// has less free space than this. Default 64 MiB.
    pub min_free_bytes: u64,
    /// Longest wait for the directory's lock when another process holds it (writes, evictions,
    /// sweeps, clears take it; reads never do). Past it, that write is skipped and counted in
    /// `Stats::disk_lock_timeouts`, and reads go on being answered meanwhile. Default 2 s.
    pub lock_timeout: Duration,
}

impl Default for DiskCacheConfig {
    /// A directory of this program's own: the platform's user cache directory, then `webimage`,
    /// then the name of the running executable (`~/.cache/webimage/my-app` on Linux, or under
    /// `$XDG_CACHE_HOME`; `~/Library/Caches/webimage/my-app` on macOS;
    /// `%LOCALAPPDATA%\webimage\my-app` on Windows; under the system temporary directory if
    /// no cache directory is known). So two programs never share, evict or clear each other's
    /// entries by default. The name is the file stem of [`std::env::current_exe`] with
    /// anything but ASCII letters, digits, `-`, `_` and `.` replaced by `_` (at most 64
    /// characters), or `app` when it is unknown. Programs that want to share a cache, or whose
    /// executable is renamed between runs, name the directory with [`DiskCacheConfig::at`].
    fn default() -> Self {
        let base = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
        DiskCacheConfig::at(base.join("webimage").join(app_name()))
    }
}

/// The running executable's file stem, safe as one path component; `app` if unknown.
fn app_name() -> String {
    let stem = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .take(64)
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() {
        "app".to_string()
    } else {
        clean.to_string()
    }
}

impl DiskCacheConfig {
    /// The default settings in another directory.
    pub fn at(dir: impl AsRef<Path>) -> Self {
        DiskCacheConfig {
            dir: dir.as_ref().to_path_buf(),
            max_bytes: 512 * 1024 * 1024,
            max_age: Duration::from_secs(7 * 24 * 3600),
            min_free_bytes: 64 * 1024 * 1024,
            lock_timeout: Duration::from_secs(2),
        }
    }
}

/// A function from URL to cache key; see [`Config::cache_key`].
///
/// ```
/// use webimage::KeyFilter;
/// let filter = KeyFilter::strip_query(&["token", "expires"]);
/// let url = url::Url::parse("https://cdn.example/a.jpg?size=2&token=abc").unwrap();
/// assert_eq!(filter.apply(&url), "https://cdn.example/a.jpg?size=2");
/// ```
#[derive(Clone)]
pub struct KeyFilter(Arc<dyn Fn(&Url) -> String + Send + Sync>);

impl KeyFilter {
    /// A filter from any function of the URL.
    pub fn new(f: impl Fn(&Url) -> String + Send + Sync + 'static) -> Self {
        KeyFilter(Arc::new(f))
    }

    /// A filter that removes the named query parameters (and the `?` if none remain).
    pub fn strip_query(names: &[&str]) -> Self {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        KeyFilter::new(move |url| {
            let mut url = url.clone();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !names.iter().any(|n| n == k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
            url.into()
        })
    }

    /// The key for `url`.
    pub fn apply(&self, url: &Url) -> String {
        (self.0)(url)
    }
}

impl fmt::Debug for KeyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFilter(..)")
    }
}
