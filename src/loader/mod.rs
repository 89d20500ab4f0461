//! The public face: [`ImageLoader`].
//!
//! Owns: the loader's public methods and their documentation, the process-wide loader, and
//! owning the worker threads (joined on drop). Must not touch: the order of a load or any
//! stage's mechanics: every method is one call into the [`Pipeline`], or into the prefetcher.
//!
//! Threads: a completion closure runs on the caller's thread when the answer is immediate (a
//! memory-cache hit, an invalid URL, a URL on the failed-URL list), on the thread that calls
//! [`Token::cancel`] for a cancellation, and on a worker thread otherwise.

mod disk;

use std::sync::Arc;

use once_cell::sync::Lazy;

pub use disk::DiskCache;

use crate::config::Config;
use crate::error::Error;
use crate::loaded::LoadedImage;
use crate::pipeline::{Pipeline, Token, Workers};
use crate::prefetch::{self, Prefetch, PrefetchOptions, PrefetchProgress};
use crate::request::Request;
use crate::stats::Stats;

/// Loads, decodes and caches images on a fixed pool of worker threads.
///
/// ```no_run
/// use webimage::{Config, ImageLoader, Request, Priority};
///
/// let loader = ImageLoader::new(Config { max_workers: 4, ..Default::default() })?;
/// // With a completion closure (runs on a worker thread, or right here on a cache hit):
/// let token = loader.load("https://example.com/a.png", |result| match result {
///     Ok(image) => println!("{}x{} from {:?}", image.width(), image.height(), image.source()),
///     Err(e) => eprintln!("{e}"),
/// });
/// token.cancel(); // the closure gets Err(Cancelled) now, on this thread
///
/// // Or waiting for the result:
/// let image = loader.load_blocking(Request::new("https://example.com/b.png").priority(Priority::High))?;
/// # Ok::<(), webimage::Error>(())
/// ```
///
/// Dropping the loader stops its workers and joins them; loads still queued complete at once
/// with [`Error::Shutdown`], and running downloads stop at their next read (a read blocked on a
/// silent server waits at most [`Config::timeout`]). The loader is `Send + Sync`; share it by
/// reference or in an `Arc`, or use the process-wide [`ImageLoader::shared`].
pub struct ImageLoader {
    pipeline: Arc<Pipeline>,
    workers: Option<Workers>,
}

static SHARED: Lazy<ImageLoader> = Lazy::new(shared_loader);

/// The process-wide loader: the default configuration, or without the disk cache if its
/// directory cannot be used, or with one worker if the system refuses more threads.
fn shared_loader() -> ImageLoader {
    let fallbacks = [
        Config::default(),
        Config {
            disk_cache: None,
            ..Config::default()
        },
        Config {
            disk_cache: None,
            max_workers: 1,
            ..Config::default()
        },
    ];
    let mut last = None;
    for config in fallbacks {
        match ImageLoader::new(config) {
            Ok(loader) => return loader,
            Err(e) => last = Some(e),
        }
    }
    // Only reachable when the operating system refuses to start even one thread: nothing
    // could load anything, and `shared()` has no way to return an error.
    panic!("webimage: cannot start the shared loader: {last:?}")
}

impl ImageLoader {
    /// Starts a loader with `config`: exactly `config.max_workers` worker threads, one HTTP
    /// agent, and (if the disk cache is on) one IO thread. Fails if the configuration is
    /// unusable (for example `max_workers == 0`, or a disk-cache directory that cannot be
    /// created).
    pub fn new(config: Config) -> Result<ImageLoader, Error> {
        let (pipeline, workers) = Pipeline::start(config)?;
        Ok(ImageLoader {
            pipeline,
            workers: Some(workers),
        })
    }

    /// The process-wide loader with the default [`Config`], created on first use. If the
    /// default disk-cache directory cannot be created or used, it runs without the disk cache
    /// (check [`disk_cache`](Self::disk_cache)); if the system refuses six threads, with one.
    ///
    /// # Panics
    ///
    /// Only if the operating system refuses to start a single thread.
    pub fn shared() -> &'static ImageLoader {
        &SHARED
    }

    /// Loads `request` and calls `completion` exactly once with the result.
    ///
    /// A memory-cache hit does not go through the queue: `completion` runs on this thread
    /// before `load` returns, so a UI can show a cached image in the same frame. So do other
    /// answers known at once (invalid URL, a URL on the failed-URL list). Otherwise
    /// `completion` runs later on a worker thread. Concurrent loads of the same image share
    /// one download and one decode.
    ///
    /// Do not call [`load_blocking`](Self::load_blocking) from inside `completion`: with every
    /// worker waiting, nothing would be left to do the work.
    pub fn load<F>(&self, request: impl Into<Request>, completion: F) -> Token
    where
        F: FnOnce(Result<LoadedImage, Error>) + Send + 'static,
    {
        self.pipeline
            .load(request.into(), move |result, _| completion(result))
    }

    /// [`load`](Self::load), with the load's [`Metrics`](crate::Metrics) beside the result
    /// on every path, errors included (on success they are also
    /// [`LoadedImage::metrics`]): whether it waited in the queue, joined another download,
    /// hit a cache, revalidated, and where the time went.
    ///
    /// ```no_run
    /// # let loader = webimage::ImageLoader::new(webimage::Config::default())?;
    /// loader.load_with_metrics("https://example.com/a.jpg", |result, metrics| {
    ///     if let Err(e) = result {
    ///         eprintln!("{e} after {:?} (task {:?})", metrics.total, metrics.task);
    ///     }
    /// });
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn load_with_metrics<F>(&self, request: impl Into<Request>, completion: F) -> Token
    where
        F: FnOnce(Result<LoadedImage, Error>, &crate::Metrics) + Send + 'static,
    {
        self.pipeline.load(request.into(), completion)
    }

    /// Warms the caches with `urls` ahead of need, at low priority with its own concurrency
    /// cap, through the same pool and coalescing as loads: a later load of a URL being
    /// prefetched joins its download and raises its priority. By default only the disk cache
    /// is filled (no decoding); URLs already cached are skipped without a request. `done` is
    /// called exactly once, when every URL is accounted for. [`Prefetch::failures`] lists the
    /// URLs that failed, with their errors.
    ///
    /// ```no_run
    /// # let loader = webimage::ImageLoader::new(webimage::Config::default())?;
    /// let run = loader.prefetch(
    ///     ["https://example.com/1.jpg", "https://example.com/2.jpg"],
    ///     webimage::PrefetchOptions::default(),
    ///     |p| println!("{} fetched, {} cached already, {} failed", p.finished, p.skipped, p.failed),
    /// );
    /// let progress = run.wait();
    /// for (url, error) in run.failures() {
    ///     eprintln!("{url}: {error}");
    /// }
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn prefetch<I, F>(&self, urls: I, options: PrefetchOptions, done: F) -> Prefetch
    where
        I: IntoIterator,
        I::Item: Into<Request>,
        F: FnOnce(PrefetchProgress) + Send + 'static,
    {
        prefetch::start(
            &self.pipeline,
            prefetch::urls(urls),
            options,
            Box::new(done),
        )
    }

    /// Loads `request` and waits for the result on this thread.
    ///
    /// Do not call this from a completion closure (see [`load`](Self::load)).
    pub fn load_blocking(&self, request: impl Into<Request>) -> Result<LoadedImage, Error> {
        let request = request.into();
        let url = crate::url_text::shown(request.url());
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _token = self.load(request, move |result| {
            let _ = tx.send(result);
        });
        // Every path calls the closure exactly once; a dropped sender would be a bug, reported
        // as a shutdown rather than a panic.
        rx.recv().unwrap_or(Err(Error::Shutdown { url }))
    }

    /// The image for `request` if it is in the memory cache, without loading anything.
    pub fn cached(&self, request: impl Into<Request>) -> Option<LoadedImage> {
        self.pipeline.cached(&request.into())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// Empties the memory cache. Images already handed out stay valid (they are shared).
    pub fn clear_memory(&self) {
        self.pipeline.memory().clear();
    }

    /// What the memory cache holds now, in bytes (at most [`Config::memory_cache_bytes`]):
    /// the decoded pixels of every entry, their keys' text and each entry's bookkeeping,
    /// which is what its memory really is (100,000 one-pixel images report about 32 MB, not
    /// 400 KB).
    pub fn memory_cache_usage(&self) -> u64 {
        self.pipeline.memory().cost()
    }

    /// Number of images held by the memory cache.
    pub fn memory_cache_len(&self) -> usize {
        self.pipeline.memory().len()
    }

    /// Forgets every URL on the failed-URL list.
    pub fn clear_failed(&self) {
        self.pipeline.failed().clear();
    }

    /// Number of URLs on the failed-URL list.
    pub fn failed_len(&self) -> usize {
        self.pipeline.failed().len()
    }

    /// Number of downloads queued or running (each may serve many callers).
    pub fn in_flight(&self) -> usize {
        self.pipeline.in_flight()
    }

    /// Number of loads waiting, queued or running: every caller counts, including those that
    /// share one download. At most [`Config::max_pending`]; a load past it fails at once with
    /// [`Error::TooManyPending`].
    pub fn pending(&self) -> usize {
        self.pipeline.pending()
    }

    /// The disk cache, if [`Config::disk_cache`] is on.
    pub fn disk_cache(&self) -> Option<DiskCache<'_>> {
        let store = self.pipeline.disk()?;
        Some(DiskCache::new(store, &self.pipeline))
    }

    /// Why the disk cache [`Config::disk_cache`] asked for is not used, if it was refused:
    /// its directory, or a file the cache keeps in it, is not this user's alone (owned by
    /// another user, writable by group or others, a symbolic or hard link). The loader then
    /// runs without a disk cache ([`disk_cache`](Self::disk_cache) is `None`, and
    /// [`Stats::disk_cache_refused`] is 1) rather than write where someone else could plant
    /// entries or links; nothing was created or written in the directory. The error
    /// ([`Error::DiskCache`]) names the path and what is wrong with it. See
    /// `docs/SECURITY.md`, "Cache directory".
    ///
    /// ```no_run
    /// let loader = webimage::ImageLoader::new(webimage::Config {
    ///     disk_cache: Some(webimage::DiskCacheConfig::at("/tmp")), // world-writable
    ///     ..Default::default()
    /// })?;
    /// assert!(loader.disk_cache().is_none());
    /// if let Some(why) = loader.disk_cache_refusal() {
    ///     eprintln!("{why}");
    /// }
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn disk_cache_refusal(&self) -> Option<&Error> {
        self.pipeline.disk_refusal()
    }

    /// The configuration this loader runs with.
    pub fn config(&self) -> &Config {
        self.pipeline.config()
    }
}

impl std::fmt::Debug for ImageLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageLoader")
            .field("max_workers", &self.config().max_workers)
            .field("in_flight", &self.in_flight())
            .field("memory_cache_len", &self.memory_cache_len())
            .field("disk_cache", &self.pipeline.disk().map(|d| d.root()))
            .finish()
    }
}

impl Drop for ImageLoader {
    fn drop(&mut self) {
        if let Some(workers) = self.workers.take() {
            self.pipeline.shut_down(workers);
        }
    }
}
