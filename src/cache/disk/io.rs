//! The IO thread: the only code that touches the cache directory.
//!
//! Owns: reading and verifying entries, writing them (temporary file, then rename under the
//! directory lock), last-access times, when the size limit is enforced (as soon as a write
//! pushes the total over; which entries go is `evict.rs`), the age sweep, the free-space
//! check, and backing off when the disk refuses writes. Must not touch: decoding, the network.
//!
//! The directory lock is shared with other processes, which may hold it for as long as they
//! like. It is never waited for without bound: the IO thread tries it every millisecond or
//! so for at most [`DiskCacheConfig::lock_timeout`], answering reads meanwhile (reads need no
//! lock), then gives up on that one operation (a write is skipped and counted in
//! `Stats::disk_lock_timeouts`). A corrupt entry found by a read is deleted later, when the
//! lock is free, so a read never waits for the lock either.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, select};

use super::layout::{self, Layout, Locked};
use super::trust;
use super::{Cached, Deferred, Staging, Urgent};
use super::{entry, evict};
use crate::config::DiskCacheConfig;
use crate::stats::Counters;

/// A read moves an entry's last-access time only if it is older than this (saves a syscall
/// per hit; eviction order does not need finer grain).
const TOUCH_GRANULARITY: Duration = Duration::from_secs(60);
/// Rescan the directory after this many writes, to pick up other processes' changes.
const RESCAN_EVERY: u32 = 256;
/// Temporary files older than this were left by a process killed mid-write.
const STALE_TEMP: Duration = Duration::from_secs(3600);
/// How long writes are skipped after the disk refused one.
const BACKOFF: Duration = Duration::from_secs(30);
/// Re-check free space at least this often.
const SPACE_CHECK: Duration = Duration::from_secs(5);
/// How long a waiting thread polls (yielding) before it parks. Waking a parked thread costs
/// tens of microseconds on a VM, more than reading a 100 KiB entry; a disk hit's round trip
/// usually ends within this, and bursts of hits keep the IO thread from parking between them.
const SPIN: Duration = Duration::from_micros(50);

/// Waits for a reply from the IO thread: polls for up to [`SPIN`], then parks.
pub(super) fn await_reply<T>(rx: &Receiver<T>) -> Option<T> {
    let until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            Err(crossbeam_channel::TryRecvError::Empty) if Instant::now() < until => {
                std::thread::yield_now()
            }
            Err(crossbeam_channel::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

pub(super) struct Io {
    layout: Layout,
    config: DiskCacheConfig,
    staging: Arc<Staging>,
    counters: Arc<Counters>,
    /// Largest entry file read into memory: the download limit plus metadata and trailer.
    max_entry: u64,
    writes_since_scan: std::cell::Cell<u32>,
    next_sweep: Instant,
    space: Option<(Instant, u64)>,
    refusing_until: Option<Instant>,
    /// Reads to answer while waiting for the directory lock.
    urgent: Receiver<Urgent>,
    /// Corrupt entries found by reads, deleted when the lock is next free.
    corrupt: RefCell<Vec<PathBuf>>,
    /// The loader is gone: after one lock timeout, the rest of the queued writes are dropped.
    closing: bool,
}

/// The error of a lock wait that ran out.
fn lock_timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the cache directory stayed locked by another process",
    )
}

fn is_lock_timeout(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut
}

impl Io {
    pub(super) fn new(
        layout: Layout,
        config: DiskCacheConfig,
        staging: Arc<Staging>,
        counters: Arc<Counters>,
        max_body: u64,
        urgent: Receiver<Urgent>,
    ) -> Io {
        Io {
            layout,
            config,
            staging,
            counters,
            max_entry: max_body.saturating_add(entry::MAX_META as u64 + 64),
            writes_since_scan: std::cell::Cell::new(0),
            next_sweep: Instant::now(),
            space: None,
            refusing_until: None,
            urgent,
            corrupt: RefCell::new(Vec::new()),
            closing: false,
        }
    }

    /// Takes the directory lock, waiting at most `lock_timeout` and answering reads
    /// meanwhile.
    fn lock(&self) -> io::Result<Locked<'_>> {
        let deadline = Instant::now() + self.config.lock_timeout;
        loop {
            if let Some(locked) = self.layout.try_lock()? {
                return Ok(locked);
            }
            if Instant::now() >= deadline {
                Counters::bump(&self.counters.disk_lock_timeouts);
                return Err(lock_timed_out());
            }
            while let Ok(m) = self.urgent.try_recv() {
                self.urgent(m);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Deletes the corrupt entries reads found (when the lock can be had).
    fn delete_corrupt(&mut self) {
        let paths = std::mem::take(&mut *self.corrupt.borrow_mut());
        for path in paths {
            self.delete(&path);
        }
    }

    fn sweep_interval(&self) -> Duration {
        (self.config.max_age / 8).clamp(Duration::from_secs(1), Duration::from_secs(600))
    }

    pub(super) fn run(mut self, urgent: Receiver<Urgent>, deferred: Receiver<Deferred>) {
        self.serve(&urgent, &deferred);
        // The loader is gone: finish the writes that were queued (each lock wait bounded; after
        // one runs out, the rest are dropped, so a drop is never held up for long).
        self.closing = true;
        while let Ok(m) = deferred.try_recv() {
            self.contain(|io| io.deferred(m));
        }
        self.delete_corrupt();
    }

    fn serve(&mut self, urgent: &Receiver<Urgent>, deferred: &Receiver<Deferred>) {
        // Sweep before answering anything: a new loader starts from a directory within limits.
        let _ = self.sweep();
        loop {
            // Reads never wait behind writes.
            while let Ok(m) = urgent.try_recv() {
                self.contain(|io| io.urgent(m));
            }
            if !self.corrupt.borrow().is_empty() {
                self.contain(Io::delete_corrupt);
            }
            // Before parking, poll briefly for the next message (see SPIN).
            let until = Instant::now() + SPIN;
            while urgent.is_empty() && deferred.is_empty() && Instant::now() < until {
                std::thread::yield_now();
            }
            let wait = self.next_sweep.saturating_duration_since(Instant::now());
            select! {
                recv(urgent) -> m => match m {
                    Ok(m) => self.contain(|io| io.urgent(m)),
                    Err(_) => break,
                },
                recv(deferred) -> m => match m {
                    Ok(m) => self.contain(|io| io.deferred(m)),
                    Err(_) => break,
                },
                default(wait) => self.contain(|io| {
                    let _ = io.sweep();
                }),
            }
            if !self.corrupt.borrow().is_empty() {
                self.contain(Io::delete_corrupt);
            }
        }
    }

    /// Runs one message's work; a panic (a bug, or a file system surprise) costs that message
    /// its answer (the asker sees a miss or an error) but not the IO thread.
    fn contain(&mut self, work: impl FnOnce(&mut Io)) {
        if catch_unwind(AssertUnwindSafe(|| work(self))).is_err() {
            Counters::bump(&self.counters.disk_write_errors);
        }
    }

    fn urgent(&self, m: Urgent) {
        match m {
            Urgent::Read { key, reply } => {
                let _ = reply.send(self.read(&key));
            }
            Urgent::Contains { key, reply } => {
                let path = self.layout.entry_path(&key);
                let _ = reply.send(fs::symlink_metadata(path).is_ok_and(|m| m.is_file()));
            }
        }
    }

    fn deferred(&mut self, m: Deferred) {
        match m {
            Deferred::Write { key, staged } => {
                let written = catch_unwind(AssertUnwindSafe(|| self.write(&key, &staged)));
                match written {
                    Ok(Ok(())) => Counters::bump(&self.counters.disk_writes),
                    // Counted in `disk_lock_timeouts` by the lock wait.
                    Ok(Err(e)) if is_lock_timeout(&e) => {}
                    _ => Counters::bump(&self.counters.disk_write_errors),
                }
                self.staging.remove_if_same(&key, &staged);
            }
            Deferred::Remove { key, reply } => {
                let _ = reply.send(self.remove(&key));
            }
            Deferred::Clear { reply } => {
                let _ = reply.send(self.clear());
            }
            Deferred::Usage { reply } => {
                let usage = self
                    .layout
                    .scan()
                    .map(|scan| (scan.total(), scan.files.len()));
                let _ = reply.send(usage);
            }
            Deferred::Flush { reply } => {
                let _ = reply.send(());
            }
            Deferred::Sweep { reply } => {
                let _ = reply.send(self.sweep());
            }
        }
    }

    fn read(&self, key: &str) -> Option<Cached> {
        let path = self.layout.entry_path(key);
        let file = match trust::options().read(true).open(&path) {
            Ok(file) => file,
            // A link where an entry should be was planted: never followed, and it goes.
            Err(e) if trust::is_symlink_error(&e) => {
                self.corrupt.borrow_mut().push(path);
                return None;
            }
            Err(_) => return None,
        };
        let meta = file.metadata().ok()?;
        let decoded = if !meta.is_file() || !self.layout.user().owns(&meta) {
            Err(entry::Corrupt("not a file of this user's"))
        } else if meta.len() > self.max_entry {
            Err(entry::Corrupt("larger than any download can be"))
        } else {
            // Read into capacity, not a zero-filled buffer: no memset of the whole entry.
            let mut buf = Vec::with_capacity(meta.len() as usize);
            file.take(meta.len()).read_to_end(&mut buf).ok()?;
            entry::decode(buf)
        };
        match decoded {
            Ok((body, entry_meta)) if entry_meta.key == key => {
                let now = SystemTime::now();
                let accessed = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                if now.duration_since(accessed).unwrap_or_default() > TOUCH_GRANULARITY {
                    // A handle of its own with write access: Windows needs it to set times.
                    let touched = trust::options().write(true).open(&path);
                    let _ = touched.and_then(|f| f.set_modified(now));
                }
                Some(Cached {
                    body: Arc::new(body),
                    meta: entry_meta,
                })
            }
            _ => {
                // Truncated, corrupt, or not ours: a miss, and it goes (once the lock is free).
                Counters::bump(&self.counters.disk_corrupt_entries);
                self.corrupt.borrow_mut().push(path);
                None
            }
        }
    }

    fn has_space(&mut self, need: u64) -> bool {
        let now = Instant::now();
        let available = match self.space {
            Some((at, available)) if now.duration_since(at) < SPACE_CHECK => available,
            _ => {
                let available = self.layout.available_space().unwrap_or(0);
                self.space = Some((now, available));
                available
            }
        };
        if available < need.saturating_add(self.config.min_free_bytes) {
            return false;
        }
        self.space = Some((self.space.map_or(now, |s| s.0), available - need));
        true
    }

    fn write(&mut self, key: &str, staged: &Cached) -> io::Result<()> {
        if let Some(until) = self.refusing_until {
            if Instant::now() < until {
                return Err(io::Error::other("writes paused after a disk error"));
            }
            self.refusing_until = None;
        }
        let result = self.try_write(key, staged);
        match &result {
            // Shutting down with the lock held elsewhere: drop the rest rather than wait for
            // each of them.
            Err(e) if is_lock_timeout(e) && self.closing => {
                self.refusing_until = Some(Instant::now() + BACKOFF);
            }
            // Another process is busy with the directory; the disk itself is fine.
            Err(e) if is_lock_timeout(e) => {}
            Err(_) => self.refusing_until = Some(Instant::now() + BACKOFF),
            Ok(()) => {}
        }
        result
    }

    fn try_write(&mut self, key: &str, staged: &Cached) -> io::Result<()> {
        let tail = entry::encode_tail(&staged.body, &staged.meta)
            .ok_or_else(|| io::Error::other("metadata too long for an entry"))?;
        let length = (staged.body.len() + tail.len()) as u64;
        if !self.has_space(length) {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "not enough free space",
            ));
        }
        let temp = self.layout.temp_path(key);
        let written = (|| {
            let mut f = trust::options().write(true).create_new(true).open(&temp)?;
            f.write_all(&staged.body)?;
            f.write_all(&tail)?;
            // What the file takes on disk, not its length (see `layout::disk_cost`).
            f.metadata().map(|m| layout::disk_cost(&m))
        })();
        let size = match written {
            Ok(size) => size,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        };
        let dest = self.layout.entry_path(key);
        let renamed = (|| {
            let locked = self.lock()?;
            // Under the lock: a clear in another process removes empty shards under it too.
            let mut size = size;
            if let Some(dir) = dest.parent() {
                let created = trust::sub_dir(dir).map_err(|e| match e {
                    trust::OpenError::Io(e) => e,
                    trust::OpenError::Untrusted(why) => io::Error::other(why),
                })?;
                if created {
                    size += fs::symlink_metadata(dir).map_or(0, |m| layout::disk_cost(&m));
                }
            }
            let old = fs::symlink_metadata(&dest)
                .map(|m| layout::disk_cost(&m))
                .unwrap_or(0);
            fs::rename(&temp, &dest)?;
            // A corrupt file a read found at this path is gone: replaced by this one.
            self.corrupt.borrow_mut().retain(|p| p != &dest);
            self.writes_since_scan.set(self.writes_since_scan.get() + 1);
            let recorded = self.layout.read_usage(&locked);
            let mut total = match recorded {
                Some(total) if self.writes_since_scan.get() < RESCAN_EVERY => {
                    total.saturating_sub(old) + size
                }
                _ => {
                    self.writes_since_scan.set(0);
                    self.layout.scan()?.total()
                }
            };
            if total > self.config.max_bytes {
                self.writes_since_scan.set(0);
                total = evict::evict(
                    &self.layout,
                    &locked,
                    &self.config,
                    HashSet::new(),
                    &self.counters,
                )?;
            }
            self.layout.write_usage(&locked, total)
        })();
        if renamed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        renamed
    }

    /// Removes entries not accessed within `max_age`, temporary files left by killed
    /// processes, and enforces the size limit.
    fn sweep(&mut self) -> io::Result<()> {
        self.next_sweep = Instant::now() + self.sweep_interval();
        let now = SystemTime::now();
        let locked = self.lock()?;
        for temp in self.layout.stale_temps(now, STALE_TEMP) {
            let _ = fs::remove_file(temp);
        }
        let expired: HashSet<_> = self
            .layout
            .scan()?
            .files
            .into_iter()
            .filter(|f| now.duration_since(f.accessed).unwrap_or_default() > self.config.max_age)
            .map(|f| f.path)
            .collect();
        self.writes_since_scan.set(0);
        let total = evict::evict(&self.layout, &locked, &self.config, expired, &self.counters)?;
        self.layout.write_usage(&locked, total)
    }

    /// Deletes one file and takes its size off the recorded total.
    fn delete(&mut self, path: &std::path::Path) -> bool {
        let Ok(locked) = self.lock() else {
            return false;
        };
        let Ok(size) = fs::symlink_metadata(path).map(|m| layout::disk_cost(&m)) else {
            return false;
        };
        if fs::remove_file(path).is_err() {
            return false;
        }
        if let Some(total) = self.layout.read_usage(&locked) {
            let _ = self.layout.write_usage(&locked, total.saturating_sub(size));
        }
        true
    }

    fn remove(&mut self, key: &str) -> bool {
        self.staging.remove(key);
        let path = self.layout.entry_path(key);
        self.delete(&path)
    }

    fn clear(&mut self) -> io::Result<u64> {
        self.staging.clear();
        let locked = self.lock()?;
        let scan = self.layout.scan()?;
        for f in &scan.files {
            let _ = fs::remove_file(&f.path);
        }
        self.layout.remove_empty_shards(&locked);
        self.writes_since_scan.set(0);
        let left = self.layout.scan()?.total();
        self.layout.write_usage(&locked, left)?;
        Ok(scan.total().saturating_sub(left))
    }
}
