//! The public face: [`ImageLoader`] and [`Token`].
//!
//! Owns: the order of one load (memory cache on the caller's thread, then the in-flight map,
//! then the queue), delivering results to completion closures (panics caught, exactly once),
//! and shutdown. Must not touch: the mechanics of each stage; it calls them.
//!
//! Threads: a completion closure runs on the caller's thread when the answer is immediate (a
//! memory-cache hit, an invalid URL, a URL on the failed-URL list), on the thread that calls
//! [`Token::cancel`] for a cancellation, and on a worker thread otherwise.

mod disk;
mod job;
mod obtain;
mod token;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use once_cell::sync::Lazy;

use crate::Error;
use crate::cache::disk::DiskStore;
use crate::cache::failed::FailedUrls;
use crate::cache::memory::MemoryCache;
use crate::coalesce::{Admission, Callback, Caller, Decoded, InFlight, JobSpec, Subscriber};
use crate::config::Config;
use crate::decode;
use crate::fetch::Fetcher;
use crate::image::{LoadedImage, Source};
use crate::key::{self, Key, TaskKey};
use crate::prefetch::{self, Prefetch, PrefetchOptions, PrefetchProgress};
use crate::queue::JobQueue;
use crate::queue::pool::Pool;
use crate::request::{Lane, Priority, ProgressFn, Request, Store, Variant};
use crate::stats::{Counters, Stats};

pub use disk::DiskCache;
pub use token::Token;

/// Everything the workers share with the loader.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) limits: decode::Limits,
    pub(crate) queue: JobQueue,
    pub(crate) inflight: InFlight,
    pub(crate) memory: MemoryCache,
    pub(crate) failed: FailedUrls,
    pub(crate) fetcher: Fetcher,
    pub(crate) disk: Option<DiskStore>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) closing: AtomicBool,
}

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
/// silent server waits at most [`Config::timeout`]). The loader is `Send + Sync`; share it by reference or in an `Arc`, or
/// use the process-wide [`ImageLoader::shared`].
pub struct ImageLoader {
    shared: Arc<Shared>,
    pool: Option<Pool>,
}

static SHARED: Lazy<ImageLoader> =
    Lazy::new(|| ImageLoader::new(Config::default()).expect("the default configuration is valid"));

impl ImageLoader {
    /// Starts a loader with `config`: exactly `config.max_workers` worker threads, one HTTP
    /// agent, and (if the disk cache is on) one IO thread. Fails if the configuration is
    /// unusable (for example `max_workers == 0`, or a disk-cache directory that cannot be
    /// created).
    pub fn new(config: Config) -> Result<ImageLoader, Error> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let disk = match &config.disk_cache {
            Some(disk) => Some(
                DiskStore::open(disk, counters.clone(), config.max_download_bytes).map_err(
                    |e| {
                        Error::Config(format!(
                            "cannot use disk cache directory {}: {e}",
                            disk.dir.display()
                        ))
                    },
                )?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            limits: decode::Limits {
                max_pixels: config.max_pixels,
            },
            queue: JobQueue::new(config.lifo),
            inflight: InFlight::default(),
            memory: MemoryCache::new(config.memory_cache_bytes),
            failed: FailedUrls::new(config.remember_failed_urls, config.max_failed_urls),
            fetcher: Fetcher::new(&config),
            disk,
            counters,
            closing: AtomicBool::new(false),
            config,
        });
        let worker = {
            let shared = shared.clone();
            move || {
                while let Some(job) = shared.queue.pop() {
                    job::run(&shared, job);
                }
            }
        };
        let pool = Pool::start(shared.config.max_workers, worker, || {
            shared.closing.store(true, Ordering::SeqCst);
            shared.queue.close(shared.config.max_workers);
        })?;
        Ok(ImageLoader {
            shared,
            pool: Some(pool),
        })
    }

    /// The process-wide loader with the default [`Config`], created on first use (without
    /// the disk cache if its default directory cannot be created).
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
        let request = request.into();
        let shared = &self.shared;
        Counters::bump(&shared.counters.loads);
        let lane = request.lane();
        let variant = match request.variant(shared.config.scale_down_pixels) {
            Ok(variant) => variant,
            Err(reason) => {
                let url: Arc<str> = request.url.into();
                let error = Error::InvalidRequest {
                    url: url.to_string(),
                    reason,
                };
                shared.complete(completion, url, Err(error), Source::Network);
                return Token::finished();
            }
        };
        // Fast path for a hit: without a key filter, a URL that is already in normal form is
        // its own key, so look it up before parsing (parsing a normal form gives it back).
        if lane.reads_memory()
            && shared.config.cache_key.is_none()
            && let Some((key, pixels)) = shared.memory.get(&request.url, variant)
        {
            Counters::bump(&shared.counters.memory_hits);
            shared.complete(completion, key.text(), Ok(pixels), Source::Memory);
            return Token::finished();
        }
        let raw: Arc<str> = request.url.into();
        let (url, key) = match key::resolve(&raw, shared.config.cache_key.as_ref()) {
            Ok(resolved) => resolved,
            Err(e) => {
                let result = shared.remember_invalid(&raw, e);
                shared.complete(completion, raw, result, Source::Network);
                return Token::finished();
            }
        };
        if lane.reads_memory()
            && let Some((_, pixels)) = shared.memory.get(key.as_str(), variant)
        {
            Counters::bump(&shared.counters.memory_hits);
            shared.complete(completion, raw, Ok(pixels), Source::Memory);
            return Token::finished();
        }
        shared.admit(Admit {
            key,
            url,
            raw,
            lane,
            priority: request.priority,
            headers: request.headers,
            retry_failed: request.retry_failed,
            store: request.store,
            progress: request.progress,
            callback: Callback::Image(variant, Box::new(completion)),
        })
    }

    /// Warms the caches with `urls` ahead of need, at low priority with its own concurrency
    /// cap, through the same pool and coalescing as loads: a later load of a URL being
    /// prefetched joins its download and raises its priority. By default only the disk cache
    /// is filled (no decoding); URLs already cached are skipped without a request. `done` is
    /// called exactly once, when every URL is accounted for.
    ///
    /// ```no_run
    /// # let loader = webimage::ImageLoader::new(webimage::Config::default())?;
    /// let run = loader.prefetch(
    ///     ["https://example.com/1.jpg", "https://example.com/2.jpg"],
    ///     webimage::PrefetchOptions::default(),
    ///     |p| println!("{} fetched, {} cached already, {} failed", p.finished, p.skipped, p.failed),
    /// );
    /// let progress = run.wait();
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn prefetch<I, F>(&self, urls: I, options: PrefetchOptions, done: F) -> Prefetch
    where
        I: IntoIterator,
        I::Item: Into<Request>,
        F: FnOnce(PrefetchProgress) + Send + 'static,
    {
        prefetch::start(&self.shared, prefetch::urls(urls), options, Box::new(done))
    }

    /// Loads `request` and waits for the result on this thread.
    ///
    /// Do not call this from a completion closure (see [`load`](Self::load)).
    pub fn load_blocking(&self, request: impl Into<Request>) -> Result<LoadedImage, Error> {
        let request = request.into();
        let url = request.url.clone();
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
        let request = request.into();
        let variant = request.variant(self.shared.config.scale_down_pixels).ok()?;
        let (_, key) = key::resolve(&request.url, self.shared.config.cache_key.as_ref()).ok()?;
        let (_, pixels) = self.shared.memory.get(key.as_str(), variant)?;
        Some(LoadedImage::new(pixels, Source::Memory, request.url.into()))
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Empties the memory cache. Images already handed out stay valid (they are shared).
    pub fn clear_memory(&self) {
        self.shared.memory.clear();
    }

    /// Bytes of decoded pixels held by the memory cache.
    pub fn memory_cache_bytes(&self) -> u64 {
        self.shared.memory.cost()
    }

    /// Number of images held by the memory cache.
    pub fn memory_cache_len(&self) -> usize {
        self.shared.memory.len()
    }

    /// Forgets every URL on the failed-URL list.
    pub fn clear_failed(&self) {
        self.shared.failed.clear();
    }

    /// Number of URLs on the failed-URL list.
    pub fn failed_len(&self) -> usize {
        self.shared.failed.len()
    }

    /// Number of downloads queued or running (each may serve many callers).
    pub fn in_flight(&self) -> usize {
        self.shared.inflight.len()
    }

    /// The disk cache, if [`Config::disk_cache`] is on.
    pub fn disk_cache(&self) -> Option<DiskCache<'_>> {
        let store = self.shared.disk.as_ref()?;
        Some(DiskCache::new(store, self.shared.config.cache_key.as_ref()))
    }

    /// The configuration this loader runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }
}

impl Drop for ImageLoader {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::SeqCst);
        shared.queue.close(shared.config.max_workers);
        // Work that never started is failed at once; running jobs see `closing` at their next
        // check (a read blocked on a silent server waits for at most `timeout`).
        shared.shut_down(shared.inflight.drain_queued());
        if let Some(pool) = self.pool.take() {
            pool.join();
        }
        shared.shut_down(shared.inflight.drain());
    }
}

/// A parsed request, ready to join or start a task.
pub(crate) struct Admit {
    pub(crate) key: Key,
    pub(crate) url: url::Url,
    pub(crate) raw: Arc<str>,
    pub(crate) lane: Lane,
    pub(crate) priority: Priority,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) retry_failed: bool,
    pub(crate) store: Store,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) callback: Callback,
}

impl Shared {
    /// Joins the task for the request's key and lane, or starts one.
    pub(crate) fn admit(self: &Arc<Self>, a: Admit) -> Token {
        let variant = match &a.callback {
            Callback::Image(variant, _) => Some(*variant),
            Callback::Bytes(_) => None,
        };
        let caller = Caller {
            subscriber: Subscriber {
                id: self.inflight.next_id(),
                url: a.raw.clone(),
                callback: a.callback,
            },
            priority: a.priority,
            progress: a.progress,
            store: a.store,
        };
        let task_key = TaskKey {
            key: a.key.clone(),
            lane: a.lane,
        };
        let (url, raw, headers) = (a.url, a.raw, a.headers);
        let admission = self.inflight.admit(
            &task_key,
            caller,
            &self.queue,
            || JobSpec {
                url,
                raw: raw.clone(),
                headers,
            },
            || self.check_new_task(&a.key, a.lane, variant, a.retry_failed, &raw),
        );
        match admission {
            Admission::Joined(id) => {
                Counters::bump(&self.counters.coalesced);
                Token::pending(self, task_key, id)
            }
            Admission::Started(id) => Token::pending(self, task_key, id),
            Admission::Answered(subscriber, result) => {
                self.deliver(subscriber, result, Source::Memory);
                Token::finished()
            }
        }
    }

    /// Decides, under the in-flight lock, whether a load with no task to join is answered at
    /// once: the loader is closing, a task finished and cached the image a moment ago, or the
    /// URL is on the failed-URL list.
    fn check_new_task(
        &self,
        key: &Key,
        lane: Lane,
        variant: Option<Variant>,
        retry_failed: bool,
        raw: &str,
    ) -> Option<Decoded> {
        if self.closing.load(Ordering::SeqCst) {
            return Some(Err(Error::Shutdown {
                url: raw.to_string(),
            }));
        }
        if lane.reads_memory()
            && let Some(variant) = variant
            && let Some((_, pixels)) = self.memory.get(key.as_str(), variant)
        {
            Counters::bump(&self.counters.memory_hits);
            return Some(Ok(pixels));
        }
        if !retry_failed && let Some(reason) = self.failed.reason(key) {
            Counters::bump(&self.counters.failed_before);
            return Some(Err(Error::FailedBefore {
                url: raw.to_string(),
                reason,
            }));
        }
        None
    }

    /// An unparsable URL is a permanent failure: remembered, and `FailedBefore` next time.
    fn remember_invalid(&self, raw: &str, error: Error) -> Decoded {
        let key = Key::unparsed(raw);
        if let Some(reason) = self.failed.reason(&key) {
            Counters::bump(&self.counters.failed_before);
            return Err(Error::FailedBefore {
                url: raw.to_string(),
                reason,
            });
        }
        self.failed.insert(key, error.summary());
        Err(error)
    }

    fn shut_down(&self, subscribers: Vec<Subscriber>) {
        for subscriber in subscribers {
            let url = subscriber.url.to_string();
            self.deliver(subscriber, Err(Error::Shutdown { url }), Source::Network);
        }
    }

    /// Calls a waiting caller's closure with its result (a bytes-only caller gets the source).
    pub(crate) fn deliver(&self, subscriber: Subscriber, result: Decoded, source: Source) {
        match subscriber.callback {
            Callback::Image(_, f) => self.complete(f, subscriber.url, result, source),
            Callback::Bytes(f) => self.complete_fetch(f, &subscriber.url, result.map(|_| source)),
        }
    }

    /// Completes a caller whose task has its bytes: a bytes-only caller succeeds; an image
    /// caller is never handed here (it waits for its decode), and would get an error.
    pub(crate) fn deliver_fetched(&self, subscriber: Subscriber, source: Source) {
        match subscriber.callback {
            Callback::Bytes(f) => self.complete_fetch(f, &subscriber.url, Ok(source)),
            Callback::Image(_, f) => {
                let url = subscriber.url.to_string();
                let error = Error::Decode {
                    url,
                    message: "internal: no decode was scheduled".into(),
                };
                self.complete(f, subscriber.url, Err(error), source)
            }
        }
    }

    fn complete_fetch(
        &self,
        completion: Box<dyn FnOnce(Result<Source, Error>) + Send>,
        url: &str,
        result: Result<Source, Error>,
    ) {
        // Bytes-only callers are prefetches: they have their own counts, not `Stats`'s.
        let result = result.map_err(|e| e.with_url(url));
        if catch_unwind(AssertUnwindSafe(move || completion(result))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }

    /// Calls a completion closure with its result, about `url`. A panic in the closure is
    /// caught and counted, so the worker and every other caller carry on.
    fn complete<F>(&self, completion: F, url: Arc<str>, result: Decoded, source: Source)
    where
        F: FnOnce(Result<LoadedImage, Error>),
    {
        match &result {
            Err(Error::Cancelled { .. }) => Counters::bump(&self.counters.cancelled),
            Err(_) => Counters::bump(&self.counters.failures),
            Ok(_) => {}
        }
        let result = match result {
            Ok(pixels) => Ok(LoadedImage::new(pixels, source, url)),
            Err(e) => Err(e.with_url(&url)),
        };
        if catch_unwind(AssertUnwindSafe(move || completion(result))).is_err() {
            Counters::bump(&self.counters.callback_panics);
        }
    }
}
