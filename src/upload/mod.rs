//! Uploading many images without dying of memory.
//!
//! Owns: the [`Uploader`] (its own fixed pool of `max_concurrent` threads and one HTTP agent
//! shared by every upload), the queue of items, exactly-once completion, retries with backoff,
//! and the journal of failures (listing, retrying and dropping its entries). Must not touch:
//! the image loader's caches or queue; it shares only the decoder (for recompression).
//!
//! Memory is bounded by `max_concurrent`: a file that is not recompressed streams from disk in
//! small reads; a recompressed one is decoded on its worker, one at a time.

mod body;
mod config;
mod failure;
mod item;
mod journal;
mod outcome;
mod recompress;
mod worker;

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};

pub use config::UploadConfig;
pub use item::{UploadItem, UploadSource};
pub use journal::JournalEntry;
pub use outcome::{UploadError, UploadResponse};
pub use recompress::Recompress;

use crate::Error;
use journal::{Journal, RecordId};

/// A completion closure of an upload.
pub(crate) type Completion = Box<dyn FnOnce(Result<UploadResponse, UploadError>) + Send>;

/// A counted snapshot of what an [`Uploader`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStats {
    /// Items enqueued (including retries from the journal).
    pub enqueued: u64,
    /// Items the server accepted.
    pub succeeded: u64,
    /// Items that failed for good (after retries).
    pub failed: u64,
    /// Items cancelled before they finished.
    pub cancelled: u64,
    /// Extra attempts after transient failures.
    pub retries: u64,
    /// Body bytes sent (all attempts).
    pub bytes_sent: u64,
    /// Items re-encoded before sending.
    pub recompressed: u64,
    /// Failures written to the journal.
    pub journaled: u64,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    retries: AtomicU64,
    bytes_sent: AtomicU64,
    recompressed: AtomicU64,
    journaled: AtomicU64,
}

/// One caller's completion, taken exactly once by whoever finishes the item first (the
/// worker, a cancel, or shutdown).
struct Slot {
    completion: Mutex<Option<Completion>>,
    cancelled: AtomicBool,
    target: String,
    source_name: String,
}

struct Queued {
    spec: item::ItemSpec,
    progress: Option<item::UploadProgress>,
    slot: Arc<Slot>,
    /// The journal record it came from, if it is a retry.
    record: Option<RecordId>,
    /// Attempts recorded in the journal by earlier runs.
    prior_attempts: u32,
}

struct Shared {
    config: UploadConfig,
    agent: ureq::Agent,
    journal: Option<Journal>,
    counters: Counters,
    closing: AtomicBool,
    queue: Receiver<Queued>,
    pending: Mutex<usize>,
    idle: Condvar,
    /// Journal records queued or being sent, so a second `retry_failed` does not send them twice.
    retrying: Mutex<HashSet<RecordId>>,
}

/// Uploads files and buffers on a fixed pool of threads with one shared HTTP agent, so memory
/// and sockets stay flat however many items are queued.
///
/// ```no_run
/// use webimage::{UploadConfig, UploadItem, Uploader};
/// let uploader = Uploader::new(UploadConfig {
///     journal_dir: Some("/var/lib/my-app/upload-journal".into()),
///     ..Default::default()
/// })?;
/// for name in ["a.jpg", "b.jpg"] {
///     let item = UploadItem::form("https://api.example/upload", "photo", name);
///     uploader.enqueue(item, move |result| match result {
///         Ok(response) => println!("{name}: {}", response.status),
///         Err(failure) => eprintln!("{name}: {failure}"),
///     });
/// }
/// uploader.wait();
/// # Ok::<(), webimage::Error>(())
/// ```
///
/// Dropping the uploader stops it: queued items complete with [`Error::Shutdown`] (and go to the
/// journal, if there is one, so a later run can send them); running uploads stop at their next
/// write and do the same.
pub struct Uploader {
    shared: Arc<Shared>,
    sender: Option<Sender<Queued>>,
    threads: Vec<JoinHandle<()>>,
}

/// A handle to one enqueued upload. Dropping it does not cancel.
#[derive(Clone)]
pub struct UploadToken {
    slot: Weak<Slot>,
    shared: Weak<Shared>,
}

impl UploadToken {
    /// Cancels the upload: its completion closure runs now, on this thread, with
    /// [`Error::Cancelled`]; a queued item is never sent and a running one stops at its next
    /// write. Returns `false` if it had already completed.
    pub fn cancel(&self) -> bool {
        let Some(slot) = self.slot.upgrade() else {
            return false;
        };
        slot.cancelled.store(true, Ordering::Release);
        let Some(completion) = slot.completion.lock().take() else {
            return false;
        };
        let error = Error::Cancelled {
            url: crate::url_text::shown(&slot.target),
        };
        let error = UploadError::new(error, &slot.target, &slot.source_name, 0);
        call(completion, Err(error));
        if let Some(shared) = self.shared.upgrade() {
            shared.counters.cancelled.fetch_add(1, Ordering::Relaxed);
            shared.finished();
        }
        true
    }
}

impl fmt::Debug for UploadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UploadToken")
    }
}

/// Calls a completion closure; a panic in it is contained.
fn call(completion: Completion, result: Result<UploadResponse, UploadError>) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || completion(result)));
}

impl Shared {
    /// A journal record is no longer queued or being sent.
    fn release(&self, record: Option<&RecordId>) {
        if let Some(id) = record {
            self.retrying.lock().remove(id);
        }
    }

    fn finished(&self) {
        let mut pending = self.pending.lock();
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.idle.notify_all();
        }
    }
}

impl Uploader {
    /// Starts `max_concurrent` upload threads with one HTTP agent.
    pub fn new(config: UploadConfig) -> Result<Uploader, Error> {
        if config.max_concurrent == 0 {
            return Err(Error::Config(
                "max_concurrent is 0: nothing could upload".into(),
            ));
        }
        if config.total_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::Config(
                "total_timeout is Some(0): use None to turn the deadline off".into(),
            ));
        }
        if let Some(r) = &config.recompress {
            let q = |q: f32| (0.0..=1.0).contains(&q);
            if !q(r.quality) || !q(r.fallback_quality) {
                return Err(Error::Config(format!(
                    "recompression qualities must be within 0.0..=1.0 (got {} and {})",
                    r.quality, r.fallback_quality
                )));
            }
            if r.max_edge == Some(0) {
                return Err(Error::Config("recompress.max_edge is 0".into()));
            }
        }
        let journal = match &config.journal_dir {
            Some(dir) => Some(Journal::open(dir, config.header_rules()).map_err(|e| {
                Error::Config(format!(
                    "cannot use journal directory {}: {e}",
                    dir.display()
                ))
            })?),
            None => None,
        };
        let t = Some(config.timeout);
        // No redirects: a 301/302/303 would turn the PUT or POST into a GET that "succeeds"
        // without the file. A 3xx is reported as a (permanent) failure instead.
        let agent = crate::fetch::agent(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .user_agent(config.user_agent.as_str())
                .timeout_connect(t)
                .timeout_per_write(t)
                .timeout_recv_response(t)
                .timeout_per_read(t)
                .tls_config(crate::fetch::ureq_tls(&config.tls)?)
                .build(),
            false,
        );
        let (sender, queue) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            config,
            agent,
            journal,
            counters: Counters::default(),
            closing: AtomicBool::new(false),
            queue,
            pending: Mutex::new(0),
            idle: Condvar::new(),
            retrying: Mutex::default(),
        });
        let mut threads = Vec::new();
        for i in 0..shared.config.max_concurrent {
            let for_thread = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("webimage-upload-{i}"))
                .spawn(move || worker::run(&for_thread));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let uploader = Uploader {
                        shared,
                        sender: Some(sender),
                        threads,
                    };
                    drop(uploader);
                    return Err(Error::Config(format!(
                        "cannot start upload thread {i}: {e}"
                    )));
                }
            }
        }
        Ok(Uploader {
            shared,
            sender: Some(sender),
            threads,
        })
    }

    /// Queues `item`; `done` is called exactly once with the result, on an upload thread (or on
    /// the thread that cancels it). The item is sent with this uploader's recompression
    /// settings, also if it is retried later from the journal.
    pub fn enqueue<F>(&self, item: UploadItem, done: F) -> UploadToken
    where
        F: FnOnce(Result<UploadResponse, UploadError>) + Send + 'static,
    {
        let mut spec = item.spec;
        spec.recompress = self.shared.config.recompress;
        spec.take_userinfo(&self.shared.config.headers);
        self.push(spec, item.progress, Box::new(done), None, 0)
    }

    fn push(
        &self,
        spec: item::ItemSpec,
        progress: Option<item::UploadProgress>,
        done: Completion,
        record: Option<RecordId>,
        prior_attempts: u32,
    ) -> UploadToken {
        let slot = Arc::new(Slot {
            completion: Mutex::new(Some(done)),
            cancelled: AtomicBool::new(false),
            target: spec.target.clone(),
            source_name: spec.source.describe(),
        });
        let token = UploadToken {
            slot: Arc::downgrade(&slot),
            shared: Arc::downgrade(&self.shared),
        };
        self.shared
            .counters
            .enqueued
            .fetch_add(1, Ordering::Relaxed);
        *self.shared.pending.lock() += 1;
        let queued = Queued {
            spec,
            progress,
            slot,
            record,
            prior_attempts,
        };
        if let Some(sender) = &self.sender {
            let _ = sender.send(queued);
        }
        token
    }

    /// An error reading the journal directory.
    fn journal_error(&self, e: std::io::Error) -> Error {
        let dir = self.shared.config.journal_dir.as_ref();
        Error::Io {
            url: dir.map(|d| d.display().to_string()).unwrap_or_default(),
            message: format!("cannot read the upload journal: {e}"),
            source: Some(crate::error::Cause::new(e)),
        }
    }

    /// Re-enqueues every item in the journal (failures of this or an earlier run), each sent as
    /// it was first meant to be (target, method, form fields, non-secret headers,
    /// recompression). Each one calls `done` once when it completes. Items already queued by an
    /// earlier call are not queued twice. Returns how many were enqueued.
    ///
    /// **Credentials come from this uploader**, not from the journal: the journal never keeps
    /// the values of `Authorization`, `Proxy-Authorization`, `Cookie`, the
    /// [`credential_headers`](UploadConfig::credential_headers), headers added with
    /// [`UploadItem::credential_header`] or a target's userinfo; a retried item is sent with this uploader's
    /// [`UploadConfig::headers`] (so an expired token is replaced by the current one simply by
    /// configuring it). [`JournalEntry::withheld_headers`] names what was withheld.
    ///
    /// An item that fails again with a failure worth retrying stays in the journal with its
    /// attempts added up. One that fails permanently (a missing file, a 4xx other than 408 and
    /// 429, ...) is dropped from the journal, and its [`UploadError`] says so with
    /// `dropped: true` (unless [`UploadConfig::journal_permanent_failures`] keeps it).
    ///
    /// ```no_run
    /// use webimage::{UploadConfig, Uploader};
    /// let uploader = Uploader::new(UploadConfig {
    ///     journal_dir: Some("/var/lib/my-app/upload-journal".into()),
    ///     headers: vec![("Authorization".into(), "Bearer <today's token>".into())],
    ///     ..Default::default()
    /// })?;
    /// uploader.retry_failed(|result| match result {
    ///     Ok(_) => {}
    ///     Err(e) if e.dropped => eprintln!("gave up on it: {e}"),
    ///     Err(e) => eprintln!("{e}; still journaled: {}", e.journaled),
    /// })?;
    /// uploader.wait();
    /// # Ok::<(), webimage::Error>(())
    /// ```
    pub fn retry_failed<F>(&self, done: F) -> Result<usize, Error>
    where
        F: Fn(Result<UploadResponse, UploadError>) + Send + Sync + 'static,
    {
        let Some(journal) = &self.shared.journal else {
            return Ok(0);
        };
        let records = journal.list().map_err(|e| self.journal_error(e))?;
        let done = Arc::new(done);
        let mut n = 0;
        for record in records {
            // Already queued or being sent by an earlier call: not twice.
            if !self.shared.retrying.lock().insert(record.id.clone()) {
                continue;
            }
            let done = done.clone();
            let complete = Box::new(move |r| done(r));
            self.push(
                record.spec,
                None,
                complete,
                Some(record.id),
                record.attempts,
            );
            n += 1;
        }
        Ok(n)
    }

    /// The items in the journal, oldest first. Without a journal, none.
    pub fn journal(&self) -> Result<Vec<JournalEntry>, Error> {
        let Some(journal) = &self.shared.journal else {
            return Ok(Vec::new());
        };
        let records = journal.list().map_err(|e| self.journal_error(e))?;
        Ok(records
            .into_iter()
            .map(journal::Record::into_entry)
            .collect())
    }

    /// Removes the entry `id` (a [`JournalEntry::id`]) from the journal, so no later
    /// [`retry_failed`](Self::retry_failed) sends it. Returns whether it was there. An entry
    /// being retried right now is still sent, but if that attempt fails it is not journaled
    /// again.
    pub fn drop_journal_entry(&self, id: &str) -> Result<bool, Error> {
        let (Some(journal), Some(id)) = (&self.shared.journal, RecordId::parse(id)) else {
            return Ok(false);
        };
        Ok(journal.remove(&id))
    }

    /// Removes every entry from the journal (as [`drop_journal_entry`](Self::drop_journal_entry)
    /// does one). Returns how many there were.
    pub fn clear_journal(&self) -> Result<usize, Error> {
        let Some(journal) = &self.shared.journal else {
            return Ok(0);
        };
        journal.clear().map_err(|e| self.journal_error(e))
    }

    /// Blocks until every enqueued item has completed. Do not call it from a completion or
    /// progress closure: the item running it would wait for itself.
    pub fn wait(&self) {
        let mut pending = self.shared.pending.lock();
        while *pending > 0 {
            self.shared.idle.wait(&mut pending);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> UploadStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        UploadStats {
            enqueued: get(&c.enqueued),
            succeeded: get(&c.succeeded),
            failed: get(&c.failed),
            cancelled: get(&c.cancelled),
            retries: get(&c.retries),
            bytes_sent: get(&c.bytes_sent),
            recompressed: get(&c.recompressed),
            journaled: get(&c.journaled),
        }
    }

    /// Items queued or running.
    pub fn pending(&self) -> usize {
        *self.shared.pending.lock()
    }
}

impl Drop for Uploader {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        // Closing the channel ends the workers once it is empty. Queued items are failed now,
        // without waiting for running uploads to notice.
        self.sender.take();
        while let Ok(queued) = self.shared.queue.try_recv() {
            worker::shut_down(&self.shared, queued);
        }
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        // With every worker gone (or this being one), finish anything still queued.
        while let Ok(queued) = self.shared.queue.try_recv() {
            worker::shut_down(&self.shared, queued);
        }
    }
}

impl fmt::Debug for Uploader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploader")
            .field("max_concurrent", &self.shared.config.max_concurrent)
            .field("pending", &self.pending())
            .finish()
    }
}
