//! The pipeline: the order of one load through the stages, on the caller's thread and on the
//! workers.
//!
//! Owns: the stages of one loader (queue and worker pool, in-flight map, memory cache,
//! failed-URL list, fetchers, decoders, disk cache, counters) as private parts, and every
//! transition between them: admission (memory-cache fast path, URL and scheme checks, the
//! failed-URL list, joining or starting a task: `admit.rs`), what a worker does with a job
//! (`worker.rs`, with `obtain.rs` for where the bytes come from and `preview.rs` for
//! previews and early stops while a progressive JPEG downloads), delivering results to
//! completion closures exactly once with panics contained (`deliver.rs`), cancelling one
//! caller (`token.rs`), and shutdown. Must not touch: the mechanics inside a stage (it calls
//! them through their own small APIs), or anything public beyond [`Token`].
//!
//! Its crate-internal API is what [`ImageLoader`](crate::ImageLoader) and the prefetcher use:
//! [`Pipeline::load`] (a decoded image), [`Pipeline::fetch`] (bytes only, into the caches),
//! [`Pipeline::is_cached`], [`Pipeline::cached`], and the accessors for stats and caches.

mod admit;
mod deliver;
mod obtain;
mod preview;
mod record;
mod token;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use token::Token;

use crate::cache::disk::{DiskStore, OpenError};
use crate::cache::failed::FailedUrls;
use crate::cache::memory::MemoryCache;
use crate::coalesce::InFlight;
use crate::config::Config;
use crate::decode::{self, Decoders};
use crate::error::{Cause, Error};
use crate::fetch::Fetchers;
use crate::headers::{Header, HeaderRules};
use crate::key::Scope;
use crate::loaded::{LoadedImage, Source};
use crate::queue::JobQueue;
use crate::queue::pool::Pool;
use crate::request::{Request, Variant};
use crate::stats::{Counters, Stats};

/// A completion closure for a bytes-only caller: where the bytes came from.
pub(crate) type BytesCallback = Box<dyn FnOnce(Result<Source, Error>) + Send>;

/// Every stage of one loader. The fields are private to the pipeline's own files.
pub(crate) struct Pipeline {
    config: Config,
    limits: decode::Limits,
    queue: JobQueue,
    inflight: InFlight,
    memory: MemoryCache,
    failed: FailedUrls,
    fetchers: Fetchers,
    decoders: Decoders,
    disk: Option<DiskStore>,
    /// Why the configured disk cache is not used, if it was refused.
    disk_refusal: Option<Error>,
    counters: Arc<Counters>,
    closing: AtomicBool,
    /// Keys the digests of credentials in cache keys: the disk cache directory's own secret,
    /// or a random one for this loader without a disk cache.
    scope_secret: [u8; 32],
    /// Which request headers are credentials (`Config::credential_headers`,
    /// `Config::shared_headers`).
    rules: HeaderRules,
    /// `Config::headers`, as the requests send them (for the scope of every key).
    config_headers: Vec<Header>,
    /// The memory-cache fast path: what a request with no headers of its own appends to its
    /// URL, when that is in normal form, to get its key. Empty when keys are plain, the scope
    /// of the credentials among `Config::headers` otherwise; `None` with a key filter (no
    /// URL is its own key then).
    fast_suffix: Option<String>,
}

/// The worker threads of a running pipeline; joined by [`Pipeline::shut_down`].
pub(crate) struct Workers(Pool);

impl Pipeline {
    /// Builds the stages for `config` and starts exactly `config.max_workers` workers.
    pub(crate) fn start(config: Config) -> Result<(Arc<Pipeline>, Workers), Error> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let (disk, disk_refusal) = match &config.disk_cache {
            Some(disk) => {
                match DiskStore::open(disk, counters.clone(), config.max_download_bytes) {
                    Ok(store) => (Some(store), None),
                    // Not this user's alone: never written, and the app still starts, without
                    // the disk cache, saying why (docs/SECURITY.md, "Cache directory").
                    Err(OpenError::Untrusted(why)) => {
                        Counters::bump(&counters.disk_cache_refused);
                        let refusal = Error::DiskCache {
                            path: disk.dir.clone(),
                            message: format!("not used, running without a disk cache: {why}"),
                            source: None,
                        };
                        (None, Some(refusal))
                    }
                    Err(OpenError::Io(e)) => {
                        return Err(Error::DiskCache {
                            path: disk.dir.clone(),
                            message: format!("cannot use the directory: {e}"),
                            source: Some(Cause::new(e)),
                        });
                    }
                }
            }
            None => (None, None),
        };
        let scope_secret = match &disk {
            Some(disk) => disk.scope_secret(),
            None => {
                let mut secret = [0u8; 32];
                getrandom::getrandom(&mut secret)
                    .map_err(|e| Error::Config(format!("no randomness for a secret: {e}")))?;
                secret
            }
        };
        let rules = config.header_rules();
        let config_headers: Vec<Header> = config
            .headers
            .iter()
            .map(|(name, value)| Header::plain(name, value))
            .collect();
        let fast_suffix = config
            .cache_key
            .is_none()
            .then(|| Scope::of(&config_headers, &[], &rules, &scope_secret).suffix());
        let pipeline = Arc::new(Pipeline {
            scope_secret,
            rules,
            config_headers,
            fast_suffix,
            limits: decode::Limits {
                max_pixels: config.max_pixels,
                max_animation_frames: config.max_animation_frames,
            },
            queue: JobQueue::new(config.lifo),
            inflight: InFlight::new(config.max_pending),
            memory: MemoryCache::new(config.memory_cache_bytes),
            failed: FailedUrls::new(
                config.remember_failed_urls,
                config.max_failed_urls,
                config.max_failed_url_bytes,
            ),
            fetchers: Fetchers::new(&config)?,
            decoders: Decoders::new(&config.decoders, config.svg_system_fonts)
                .with_budget(config.decode_memory_bytes),
            disk,
            disk_refusal,
            counters,
            closing: AtomicBool::new(false),
            config,
        });
        let work = {
            let pipeline = pipeline.clone();
            move || {
                while let Some(job) = pipeline.queue.pop() {
                    worker::run(&pipeline, job);
                }
            }
        };
        let pool = Pool::start(pipeline.config.max_workers, work, || {
            pipeline.closing.store(true, Ordering::SeqCst);
            pipeline.queue.close(pipeline.config.max_workers);
        })?;
        Ok((pipeline, Workers(pool)))
    }

    /// Loads `request` as a decoded image; see [`ImageLoader::load`](crate::ImageLoader::load).
    pub(crate) fn load<F>(self: &Arc<Self>, request: Request, completion: F) -> Token
    where
        F: FnOnce(Result<LoadedImage, Error>, &crate::Metrics) + Send + 'static,
    {
        let token = admit::load(self, request, completion);
        // Counted once admitted, not before: an atomic between building the request and
        // handing it over made the compiler copy the whole request (152 bytes) on every load;
        // counting after keeps a memory hit as cheap as it was (benches/before_after, `hit`).
        Counters::bump(&self.counters.loads);
        token
    }

    /// [`load`](Self::load) for the prefetcher: the same path, not counted in `Stats::loads`.
    pub(crate) fn preload<F>(self: &Arc<Self>, request: Request, completion: F) -> Token
    where
        F: FnOnce(Result<LoadedImage, Error>) + Send + 'static,
    {
        admit::load(self, request, move |result, _| completion(result))
    }

    /// Fetches `request`'s bytes into the caches (as its [`Store`](crate::Store) says) without
    /// decoding them, sharing a download with loads of the same image. `completion` gets where
    /// the bytes came from.
    pub(crate) fn fetch(self: &Arc<Self>, request: Request, completion: BytesCallback) -> Token {
        admit::fetch(self, request, completion)
    }

    /// Whether `request` would be answered without a download: its decoded image is in the
    /// memory cache (`decoded`), or its bytes are in the disk cache (otherwise). An unusable
    /// URL is not cached.
    pub(crate) fn is_cached(&self, request: &Request, decoded: bool) -> bool {
        let Ok(parsed) = admit::parse(self, request.url(), &request.headers) else {
            return false;
        };
        if decoded {
            let Ok(variant) = self.variant_of(request) else {
                return false;
            };
            self.memory.get(parsed.key.as_str(), &variant).is_some()
        } else {
            let key = parsed.key.disk_key();
            self.disk.as_ref().is_some_and(|d| d.contains(key))
        }
    }

    /// The image for `request` if it is in the memory cache.
    pub(crate) fn cached(&self, request: &Request) -> Option<LoadedImage> {
        let variant = self.variant_of(request).ok()?;
        let parsed = admit::parse(self, request.url(), &request.headers).ok()?;
        let (_, pixels) = self.memory.get(parsed.key.as_str(), &variant)?;
        Some(LoadedImage::new(
            pixels,
            Source::Memory,
            request.url().into(),
            crate::loaded::Recorded::CONSTANT,
        ))
    }

    /// The disk cache's key for `url` as a load of it with no headers of its own would use it
    /// (this loader's key filter, `Config::headers` and the URL's userinfo scope it).
    pub(crate) fn disk_key(&self, url: &str) -> Result<String, Error> {
        let resolved = crate::key::parse(url, self.config.cache_key.as_ref())?;
        Ok(self.scoped(resolved, &[]).key.disk_key().to_string())
    }

    /// The decode variant `request` asks for under this loader's configuration.
    fn variant_of(&self, request: &Request) -> Result<Variant, String> {
        request.variant(self.config.scale_down_pixels, &self.config.color)
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// The memory cache.
    pub(crate) fn memory(&self) -> &MemoryCache {
        &self.memory
    }

    /// The failed-URL list.
    pub(crate) fn failed(&self) -> &FailedUrls {
        &self.failed
    }

    /// The disk cache, if on.
    pub(crate) fn disk(&self) -> Option<&DiskStore> {
        self.disk.as_ref()
    }

    /// Why the configured disk cache is not used (its directory is not this user's alone).
    pub(crate) fn disk_refusal(&self) -> Option<&Error> {
        self.disk_refusal.as_ref()
    }

    /// Whether this loader has a disk cache.
    pub(crate) fn has_disk_cache(&self) -> bool {
        self.disk.is_some()
    }

    /// Number of tasks queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Number of loads waiting for a task, queued or running.
    pub(crate) fn pending(&self) -> usize {
        self.inflight.callers()
    }

    /// Stops the pipeline: closes the queue, fails every task that never started with
    /// `Err(Shutdown)` at once, joins the workers (a running download stops at its next read),
    /// then fails whatever is left.
    pub(crate) fn shut_down(&self, workers: Workers) {
        self.closing.store(true, Ordering::SeqCst);
        self.queue.close(self.config.max_workers);
        self.shut_down_callers(self.inflight.drain_queued());
        workers.0.join();
        self.shut_down_callers(self.inflight.drain());
    }
}
