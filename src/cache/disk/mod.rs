//! The disk cache: downloaded bytes, persisted across runs, owned by one serial IO thread.
//!
//! Owns: the handle workers and the public API use ([`DiskCache`]), the channels to the IO
//! thread, and the staging map that makes queued writes visible to reads. Must not touch:
//! decoding (the IO thread never decodes) or the in-flight map. Every read, write, delete and
//! sweep of the directory happens on the IO thread (see `io.rs`); other threads only send it
//! messages.

mod entry;
mod evict;
mod io;
mod layout;
mod trust;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, bounded, unbounded};
use parking_lot::Mutex;

pub(crate) use entry::EntryMeta;
pub(crate) use trust::OpenError;

use crate::config::DiskCacheConfig;
use crate::stats::Counters;

/// An entry read from the cache: the original downloaded bytes and their metadata.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub(crate) body: Arc<Vec<u8>>,
    pub(crate) meta: EntryMeta,
}

/// A write waiting for the IO thread; readers see it at once.
type Staged = Arc<Cached>;

/// Writes queued for the IO thread, visible to reads, with a byte budget: a slow disk or a
/// directory lock held by another process must not pile up downloads in memory.
pub(crate) struct Staging {
    budget: u64,
    inner: Mutex<(HashMap<String, Staged>, u64)>,
}

impl Staging {
    fn new(budget: u64) -> Staging {
        Staging {
            budget,
            inner: Mutex::default(),
        }
    }

    /// Stages `staged` for `key`; `false` (and nothing staged) if it would exceed the budget.
    fn insert(&self, key: &str, staged: Staged) -> bool {
        let size = staged.body.len() as u64;
        let mut inner = self.inner.lock();
        if inner.1 + size > self.budget {
            return false;
        }
        inner.1 += size;
        if let Some(old) = inner.0.insert(key.to_string(), staged) {
            inner.1 -= old.body.len() as u64;
        }
        true
    }

    fn get(&self, key: &str) -> Option<Staged> {
        self.inner.lock().0.get(key).cloned()
    }

    fn contains(&self, key: &str) -> bool {
        self.inner.lock().0.contains_key(key)
    }

    /// Unstages `key` if it still holds `staged` (a newer write of the key stays).
    pub(crate) fn remove_if_same(&self, key: &str, staged: &Staged) {
        let mut inner = self.inner.lock();
        if inner.0.get(key).is_some_and(|s| Arc::ptr_eq(s, staged)) {
            inner.0.remove(key);
            inner.1 -= staged.body.len() as u64;
        }
    }

    /// Unstages `key` whatever it holds.
    pub(crate) fn remove(&self, key: &str) {
        let mut inner = self.inner.lock();
        if let Some(old) = inner.0.remove(key) {
            inner.1 -= old.body.len() as u64;
        }
    }

    pub(crate) fn clear(&self) {
        *self.inner.lock() = (HashMap::new(), 0);
    }
}

/// Messages answered before any queued write (reads must not wait behind writes).
enum Urgent {
    Read {
        key: String,
        reply: Sender<Option<Cached>>,
    },
    Contains {
        key: String,
        reply: Sender<bool>,
    },
}

/// Messages handled in order with writes.
enum Deferred {
    Write {
        key: String,
        staged: Staged,
    },
    Remove {
        key: String,
        reply: Sender<bool>,
    },
    Clear {
        reply: Sender<std::io::Result<u64>>,
    },
    Usage {
        reply: Sender<std::io::Result<(u64, usize)>>,
    },
    Flush {
        reply: Sender<()>,
    },
    Sweep {
        reply: Sender<std::io::Result<()>>,
    },
}

/// The loader's handle on its disk cache. Dropping it finishes the queued writes and joins the
/// IO thread.
pub(crate) struct DiskStore {
    root: PathBuf,
    urgent: Option<Sender<Urgent>>,
    deferred: Option<Sender<Deferred>>,
    staging: Arc<Staging>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
    scope_secret: [u8; 32],
}

impl DiskStore {
    /// Opens (creating if needed) the directory and starts the IO thread. `max_body` is the
    /// largest body a download can have: entry files larger than that plus metadata are never
    /// read into memory (they are corrupt). Up to four such bodies may wait to be written.
    /// A directory that is not this user's alone is [`OpenError::Untrusted`], and nothing is
    /// created or written in it.
    pub(crate) fn open(
        config: &DiskCacheConfig,
        counters: Arc<Counters>,
        max_body: u64,
    ) -> Result<DiskStore, OpenError> {
        let layout = layout::Layout::open(&config.dir)?;
        let scope_secret = layout.scope_secret()?;
        let staging = Arc::new(Staging::new(max_body.saturating_mul(4).max(64 << 20)));
        let (urgent_tx, urgent_rx) = unbounded();
        let (deferred_tx, deferred_rx) = unbounded();
        let worker = io::Io::new(
            layout,
            config.clone(),
            staging.clone(),
            counters.clone(),
            max_body,
            urgent_rx.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("webimage-disk-io".into())
            .spawn(move || worker.run(urgent_rx, deferred_rx))?;
        Ok(DiskStore {
            root: config.dir.clone(),
            urgent: Some(urgent_tx),
            deferred: Some(deferred_tx),
            staging,
            thread: Some(thread),
            counters,
            scope_secret,
        })
    }

    /// The cache directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The directory's secret for credential digests (see `Layout::scope_secret`).
    pub(crate) fn scope_secret(&self) -> [u8; 32] {
        self.scope_secret
    }

    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Urgent) -> Option<T> {
        let (tx, rx) = bounded(1);
        self.urgent.as_ref()?.send(make(tx)).ok()?;
        io::await_reply(&rx)
    }

    fn ask_in_order<T>(&self, make: impl FnOnce(Sender<T>) -> Deferred) -> Option<T> {
        let (tx, rx) = bounded(1);
        self.deferred.as_ref()?.send(make(tx)).ok()?;
        io::await_reply(&rx)
    }

    /// The entry for `key`, from the staging map or from disk. A corrupt entry is deleted by
    /// the IO thread and reads as a miss.
    pub(crate) fn read(&self, key: &str) -> Option<Cached> {
        if let Some(staged) = self.staging.get(key) {
            return Some((*staged).clone());
        }
        self.ask(|reply| Urgent::Read {
            key: key.to_string(),
            reply,
        })
        .flatten()
    }

    /// Queues a write; reads see it at once.
    /// Queues a write; reads see it at once. Skipped (and counted as a write error) when the
    /// writes already waiting hold too many bytes.
    pub(crate) fn write(&self, key: &str, body: Arc<Vec<u8>>, meta: EntryMeta) {
        let staged = Arc::new(Cached { body, meta });
        if !self.staging.insert(key, staged.clone()) {
            Counters::bump(&self.counters.disk_write_errors);
            return;
        }
        let sent = self.deferred.as_ref().is_some_and(|tx| {
            tx.send(Deferred::Write {
                key: key.to_string(),
                staged: staged.clone(),
            })
            .is_ok()
        });
        if !sent {
            // The IO thread is gone: nothing will ever unstage it.
            self.staging.remove_if_same(key, &staged);
            Counters::bump(&self.counters.disk_write_errors);
        }
    }

    /// Whether an entry for `key` exists (staged or on disk).
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.staging.contains(key)
            || self
                .ask(|reply| Urgent::Contains {
                    key: key.to_string(),
                    reply,
                })
                .unwrap_or(false)
    }

    /// Deletes the entry for `key` (after any queued write of it). `true` if one existed.
    pub(crate) fn remove(&self, key: &str) -> bool {
        self.ask_in_order(|reply| Deferred::Remove {
            key: key.to_string(),
            reply,
        })
        .unwrap_or(false)
    }

    /// Deletes every entry; returns the bytes freed.
    pub(crate) fn clear(&self) -> std::io::Result<u64> {
        self.ask_in_order(|reply| Deferred::Clear { reply })
            .unwrap_or_else(|| Err(std::io::Error::other("the disk cache is closed")))
    }

    /// Total bytes and number of entries on disk, after the queued writes.
    pub(crate) fn usage(&self) -> std::io::Result<(u64, usize)> {
        self.ask_in_order(|reply| Deferred::Usage { reply })
            .unwrap_or_else(|| Err(std::io::Error::other("the disk cache is closed")))
    }

    /// Waits until every write queued before this call is on disk (or has failed).
    pub(crate) fn flush(&self) {
        let _ = self.ask_in_order(|reply| Deferred::Flush { reply });
    }

    /// Runs the age and size sweep now (it also runs periodically on its own).
    pub(crate) fn sweep(&self) -> std::io::Result<()> {
        self.ask_in_order(|reply| Deferred::Sweep { reply })
            .unwrap_or_else(|| Err(std::io::Error::other("the disk cache is closed")))
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        // Closing both channels tells the IO thread to finish queued writes and exit.
        self.urgent.take();
        self.deferred.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
