//! Warming the caches ahead of need.
//!
//! Owns: a prefetch run ([`Prefetch`]): its list of URLs, its own concurrency cap, skipping
//! what is already cached, progress counts, the bounded list of failed URLs with their errors,
//! cancel, and the one completion call at the end.
//! Must not touch: the queue, the in-flight map or the caches; it uses only the pipeline's
//! API ([`Pipeline::is_cached`], [`Pipeline::fetch`] for bytes-only callers,
//! [`Pipeline::preload`] for decoding ones), so a real load of a URL being prefetched joins
//! that download (and raises its priority) instead of starting another.
//!
//! By default a prefetch fills the disk cache with the downloaded bytes and decodes nothing (no
//! pixel memory is spent); [`PrefetchOptions::decode`] also decodes into the memory cache.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::loaded::Source;
use crate::pipeline::{Pipeline, Token};
use crate::request::{Priority, Request, Store};

/// How a prefetch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefetchOptions {
    /// Downloads of this prefetch running at once. Default 3, so it never takes every worker
    /// from visible loads.
    pub max_concurrent: usize,
    /// Priority of the prefetch's loads. Default [`Priority::Low`].
    pub priority: Priority,
    /// Also decode into the memory cache (as full images, or as `thumbnail` if set). Default
    /// `false`: only the disk cache is filled. Without a disk cache, images are decoded.
    pub decode: bool,
    /// With `decode`, the thumbnail box to decode to instead of the full image. A box with a
    /// zero side makes every URL of the run fail, as it makes a load fail.
    pub thumbnail: Option<(u32, u32)>,
}

impl Default for PrefetchOptions {
    fn default() -> Self {
        PrefetchOptions {
            max_concurrent: 3,
            priority: Priority::Low,
            decode: false,
            thumbnail: None,
        }
    }
}

/// Counts of a prefetch run: a small `Copy` snapshot, cheap enough to poll every frame for a
/// progress bar. Which URLs failed, and why, is [`Prefetch::failures`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefetchProgress {
    /// URLs in the run.
    pub total: usize,
    /// Fetched (and stored) by this run.
    pub finished: usize,
    /// Failed. [`Prefetch::failures`] says which URLs and why.
    pub failed: usize,
    /// Already cached: skipped without a request.
    pub skipped: usize,
    /// Not fetched because the run was cancelled (or the loader shut down).
    pub cancelled: usize,
}

impl PrefetchProgress {
    /// Whether every URL has been accounted for.
    pub fn is_complete(&self) -> bool {
        self.finished + self.failed + self.skipped + self.cancelled == self.total
    }
}

type Done = Box<dyn FnOnce(PrefetchProgress) + Send>;

struct State {
    shared: Weak<Pipeline>,
    options: PrefetchOptions,
    /// Whether each URL is decoded into the memory cache (else only its bytes are fetched).
    decode: bool,
    pending: Mutex<VecDeque<String>>,
    /// Tokens of running loads, and loads that completed before their token was stored.
    tokens: Mutex<(HashMap<u64, Token>, HashSet<u64>)>,
    running: Mutex<usize>,
    next_id: AtomicU64,
    progress: Mutex<PrefetchProgress>,
    /// The first [`Prefetch::MAX_KEPT_FAILURES`] failed URLs with their errors.
    failures: Mutex<Vec<(String, Error)>>,
    cancelled: AtomicBool,
    /// (a thread is running the submit loop, someone asked it to go round again)
    pump: Mutex<(bool, bool)>,
    done: Mutex<Option<Done>>,
    finished: (Mutex<bool>, Condvar),
}

/// A running prefetch, from [`ImageLoader::prefetch`](crate::ImageLoader::prefetch). Dropping
/// it does not cancel the run.
#[derive(Clone)]
pub struct Prefetch {
    state: Arc<State>,
}

impl Prefetch {
    /// How many failures [`failures`](Self::failures) keeps: the first 1000. A run of a million
    /// bad URLs keeps its memory bounded; [`PrefetchProgress::failed`] still counts them all.
    pub const MAX_KEPT_FAILURES: usize = 1000;

    /// The URLs that failed so far, each as it was given to the run, with its error, in the
    /// order they failed (the first [`MAX_KEPT_FAILURES`](Self::MAX_KEPT_FAILURES) of them).
    /// Cancelled URLs are not failures. Call it after [`wait`](Self::wait) for the whole list,
    /// or at any time while the run goes on.
    ///
    /// The errors are here rather than in [`PrefetchProgress`] so that the counts stay a `Copy`
    /// snapshot that a UI can poll every frame without allocating, and rather than in a
    /// per-URL closure so that nothing runs on the loader's workers on the run's behalf.
    ///
    /// ```no_run
    /// # let loader = webimage::ImageLoader::new(webimage::Config::default())?;
    /// let run = loader.prefetch(["https://example.com/1.jpg"], Default::default(), |_| {});
    /// let progress = run.wait();
    /// for (url, error) in run.failures() {
    ///     eprintln!("{url}: {error}");
    /// }
    /// let not_listed = progress.failed - run.failures().len(); // beyond the first 1000
    /// # let _ = not_listed;
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn failures(&self) -> Vec<(String, Error)> {
        self.state.failures.lock().clone()
    }

    /// Stops the run: URLs not started are dropped, running downloads that nobody else wants
    /// are stopped. The completion closure runs once everything has wound down.
    pub fn cancel(&self) {
        let state = &self.state;
        state.cancelled.store(true, Ordering::SeqCst);
        let dropped = std::mem::take(&mut *state.pending.lock()).len();
        state.progress.lock().cancelled += dropped;
        let tokens: Vec<Token> = state.tokens.lock().0.values().cloned().collect();
        for token in tokens {
            token.cancel();
        }
        state.pump();
    }

    /// Counts so far.
    pub fn progress(&self) -> PrefetchProgress {
        *self.state.progress.lock()
    }

    /// Whether the run has ended (its completion closure has been called).
    pub fn is_done(&self) -> bool {
        *self.state.finished.0.lock()
    }

    /// Blocks until the run has ended; returns the final counts.
    pub fn wait(&self) -> PrefetchProgress {
        let (lock, cv) = &self.state.finished;
        let mut done = lock.lock();
        while !*done {
            cv.wait(&mut done);
        }
        self.progress()
    }
}

impl fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prefetch")
            .field("progress", &self.progress())
            .finish()
    }
}

/// Starts a prefetch run on `shared`.
pub(crate) fn start(
    shared: &Arc<Pipeline>,
    urls: Vec<String>,
    options: PrefetchOptions,
    done: Done,
) -> Prefetch {
    let decode = options.decode || !shared.has_disk_cache();
    let invalid = decode && matches!(options.thumbnail, Some((0, _) | (_, 0)));
    let total = urls.len();
    let state = Arc::new(State {
        shared: Arc::downgrade(shared),
        options: PrefetchOptions {
            max_concurrent: options.max_concurrent.max(1),
            ..options
        },
        decode,
        pending: Mutex::new(urls.into()),
        tokens: Mutex::default(),
        running: Mutex::new(0),
        next_id: AtomicU64::new(0),
        progress: Mutex::new(PrefetchProgress {
            total,
            ..Default::default()
        }),
        failures: Mutex::default(),
        cancelled: AtomicBool::new(false),
        pump: Mutex::new((false, false)),
        done: Mutex::new(Some(done)),
        finished: (Mutex::new(false), Condvar::new()),
    });
    if invalid {
        let all = std::mem::take(&mut *state.pending.lock());
        if let Some((width, height)) = options.thumbnail {
            for url in all {
                let reason = format!("thumbnail box {width}x{height} has a zero side");
                state.fail(url.clone(), Error::InvalidRequest { url, reason });
            }
        }
    }
    state.pump();
    Prefetch { state }
}

/// How one URL of the run ended (a failure is counted by [`State::fail`]).
enum Ended {
    Finished,
    Skipped,
    Cancelled,
}

impl State {
    /// Starts loads up to the cap. Completions that happen at once (on this thread) re-enter
    /// here; they only ask the running loop to go round again, so the stack stays flat. The
    /// flags live under one lock, so a request to go round again is never lost.
    fn pump(self: &Arc<Self>) {
        {
            let mut pump = self.pump.lock();
            if pump.0 {
                pump.1 = true;
                return;
            }
            *pump = (true, false);
        }
        // Clears the running flag even if a key filter panics in `start_one`.
        struct Running<'a>(&'a Mutex<(bool, bool)>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.lock().0 = false;
            }
        }
        let running = Running(&self.pump);
        loop {
            while !self.cancelled.load(Ordering::SeqCst)
                && *self.running.lock() < self.options.max_concurrent
            {
                let Some(url) = self.pending.lock().pop_front() else {
                    break;
                };
                self.start_one(url);
            }
            let mut pump = self.pump.lock();
            if pump.1 {
                pump.1 = false;
                continue;
            }
            pump.0 = false;
            break;
        }
        std::mem::forget(running);
        self.finish_if_done();
    }

    /// The request the run makes for `url`: low priority, and for a bytes-only run, stored
    /// on disk only.
    fn request(&self, url: String) -> Request {
        let request = Request::new(url).priority(self.options.priority);
        match (self.decode, self.options.thumbnail) {
            (true, Some((width, height))) => request.thumbnail(width, height),
            (true, None) => request,
            (false, _) => request.store(Store::Disk),
        }
    }

    fn start_one(self: &Arc<Self>, url: String) {
        let Some(shared) = self.shared.upgrade() else {
            return self.count(Ended::Cancelled);
        };
        let request = self.request(url.clone());
        if shared.is_cached(&request, self.decode) {
            return self.count(Ended::Skipped);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        *self.running.lock() += 1;
        let state = self.clone();
        let on_end = move |result: Result<Source, Error>| state.on_end(id, url, result);
        let token = if self.decode {
            let completion =
                move |r: Result<crate::LoadedImage, Error>| on_end(r.map(|i| i.source()));
            shared.preload(request, completion)
        } else {
            shared.fetch(request, Box::new(on_end))
        };
        let mut tokens = self.tokens.lock();
        if !tokens.1.remove(&id) {
            tokens.0.insert(id, token);
        }
    }

    fn on_end(self: &Arc<Self>, id: u64, url: String, result: Result<Source, Error>) {
        {
            let mut tokens = self.tokens.lock();
            if tokens.0.remove(&id).is_none() {
                tokens.1.insert(id);
            }
        }
        match result {
            Ok(Source::Memory) => self.count(Ended::Skipped),
            Ok(_) => self.count(Ended::Finished),
            Err(Error::Cancelled { .. } | Error::Shutdown { .. }) => self.count(Ended::Cancelled),
            Err(error) => self.fail(url, error),
        }
        *self.running.lock() -= 1;
        self.pump();
    }

    fn count(&self, ended: Ended) {
        let mut p = self.progress.lock();
        match ended {
            Ended::Finished => p.finished += 1,
            Ended::Skipped => p.skipped += 1,
            Ended::Cancelled => p.cancelled += 1,
        }
    }

    /// Counts a failed URL and keeps its error, if fewer than the cap are kept. The error is
    /// kept first, so a caller that sees the count also finds the error.
    fn fail(&self, url: String, error: Error) {
        {
            let mut failures = self.failures.lock();
            if failures.len() < Prefetch::MAX_KEPT_FAILURES {
                failures.push((url, error));
            }
        }
        self.progress.lock().failed += 1;
    }

    /// Calls the completion closure once nothing is pending or running.
    fn finish_if_done(&self) {
        if *self.running.lock() > 0 || !self.pending.lock().is_empty() {
            return;
        }
        let Some(done) = self.done.lock().take() else {
            return;
        };
        let progress = *self.progress.lock();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(progress)));
        let (lock, cv) = &self.finished;
        *lock.lock() = true;
        cv.notify_all();
    }
}

/// Builds a request's URL list (for `ImageLoader::prefetch`).
pub(crate) fn urls<I>(urls: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: Into<Request>,
{
    urls.into_iter().map(|u| u.into().url).collect()
}
