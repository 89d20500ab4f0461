//! The failed-URL list.
//!
//! Owns: a set of keys that failed permanently, with the reason, least recently used first
//! out, bounded by count and by the bytes it holds (each key's text, each reason, and the
//! bookkeeping around them: [`ENTRY_OVERHEAD`]); an entry over a tenth of the byte limit is not
//! kept (a 1 MiB `data:` URL is not worth remembering: failing it again costs its own bytes).
//! Must not touch: the decision of what is permanent
//! ([`Error::is_permanent`](crate::Error::is_permanent) makes it), or the reason's text (the
//! error's own).

use lru::LruCache;
use parking_lot::Mutex;

use crate::key::Key;

/// What an entry holds beside its key's and its reason's text: the LRU node (key, reason, two
/// links), the hash table's slot, the key's `Arc` counts, and the allocator's header and
/// rounding for the node, the key and the reason.
pub(crate) const ENTRY_OVERHEAD: u64 = (size_of::<Key>()
    + size_of::<String>()
    + 2 * size_of::<usize>() // the node's links
    + 2 * size_of::<usize>() // the hash table's slot, at its usual load
    + 16 // the key's Arc<str> counts
    + 3 * 16) as u64; // allocator headers and rounding

/// What keeping `reason` for `key` costs.
fn cost(key: &Key, reason: &str) -> u64 {
    (key.as_str().len() + reason.len()) as u64 + ENTRY_OVERHEAD
}

pub(crate) struct FailedUrls {
    enabled: bool,
    max_len: usize,
    max_bytes: u64,
    inner: Mutex<Inner>,
}

struct Inner {
    list: LruCache<Key, String>,
    /// The sum of [`cost`] over the list.
    bytes: u64,
}

impl FailedUrls {
    /// A list of at most `max_len` entries holding at most `max_bytes`.
    pub(crate) fn new(enabled: bool, max_len: usize, max_bytes: u64) -> Self {
        FailedUrls {
            enabled,
            max_len,
            max_bytes,
            inner: Mutex::new(Inner {
                // Unbounded by lru itself (it would allocate its capacity up front): the
                // bounds are checked here.
                list: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The reason `key` failed before, if it is on the list.
    pub(crate) fn reason(&self, key: &Key) -> Option<String> {
        if !self.enabled {
            return None;
        }
        self.inner.lock().list.peek(key).cloned()
    }

    /// Puts `key` on the list (the least recently added entries go while the list is over
    /// either bound). An entry over a tenth of the byte bound is not kept.
    pub(crate) fn insert(&self, key: Key, mut reason: String) {
        if !self.enabled || self.max_len == 0 {
            return;
        }
        reason.shrink_to_fit();
        let added = cost(&key, &reason);
        let mut dropped = Vec::new();
        let mut inner = self.inner.lock();
        if added > self.max_bytes / 10 {
            // An older entry for the key is forgotten too: its reason is out of date.
            if let Some(old) = inner.list.pop_entry(&key) {
                inner.bytes -= cost(&old.0, &old.1);
                dropped.push(old);
            }
            return;
        }
        if let Some(old) = inner.list.push(key, reason) {
            inner.bytes -= cost(&old.0, &old.1);
            dropped.push(old);
        }
        inner.bytes += added;
        while inner.list.len() > self.max_len || inner.bytes > self.max_bytes {
            let Some(old) = inner.list.pop_lru() else {
                break;
            };
            inner.bytes -= cost(&old.0, &old.1);
            dropped.push(old);
        }
        drop(inner);
        // Freed outside the lock.
        drop(dropped);
    }

    /// Takes `key` off the list.
    pub(crate) fn remove(&self, key: &Key) {
        let mut inner = self.inner.lock();
        if let Some(old) = inner.list.pop_entry(key) {
            inner.bytes -= cost(&old.0, &old.1);
        }
    }

    /// Empties the list.
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.list.clear();
        inner.bytes = 0;
    }

    /// Number of remembered URLs.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().list.len()
    }

    #[cfg(test)]
    /// What the list holds, in bytes (see [`ENTRY_OVERHEAD`]).
    pub(crate) fn bytes(&self) -> u64 {
        self.inner.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize, len: usize) -> Key {
        let mut text = format!("http://h/{i:05}?");
        text.push_str(&"x".repeat(len.saturating_sub(text.len())));
        Key::unparsed(&text)
    }

    #[test]
    fn bounded_by_count_and_by_bytes_oldest_out_first() {
        let list = FailedUrls::new(true, 3, 1 << 20);
        for i in 0..5 {
            list.insert(key(i, 20), "HTTP status 404".into());
        }
        assert_eq!(list.len(), 3);
        assert!(list.reason(&key(1, 20)).is_none());
        assert_eq!(list.reason(&key(4, 20)).as_deref(), Some("HTTP status 404"));
        assert_eq!(list.bytes(), 3 * (20 + 15 + ENTRY_OVERHEAD));

        // 100 KiB holds ten keys of 10 KB with their reasons and overhead, not fifty.
        let list = FailedUrls::new(true, 1000, 100 << 10);
        for i in 0..50 {
            list.insert(key(i, 10_000), "HTTP status 404".into());
        }
        let each = 10_000 + 15 + ENTRY_OVERHEAD;
        assert_eq!(list.len() as u64, (100 << 10) / each);
        assert_eq!(list.bytes(), list.len() as u64 * each);
        assert!(list.reason(&key(49, 10_000)).is_some());
        assert!(list.reason(&key(39, 10_000)).is_none());
    }

    #[test]
    fn an_entry_over_a_tenth_of_the_bytes_is_not_kept_and_replaces_nothing_stale() {
        let list = FailedUrls::new(true, 1000, 100_000);
        let k = key(1, 100);
        list.insert(k.clone(), "HTTP status 404".into());
        assert_eq!(list.len(), 1);
        // The same key failing again with a reason too long to keep: the old reason goes.
        list.insert(k.clone(), "x".repeat(10_000));
        assert_eq!((list.len(), list.bytes()), (0, 0));
        list.insert(key(2, 10_000), "HTTP status 404".into());
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn replacing_and_removing_keep_the_bytes_right() {
        let list = FailedUrls::new(true, 10, 1 << 20);
        list.insert(key(1, 30), "a".into());
        list.insert(key(1, 30), "abc".into());
        assert_eq!(list.bytes(), 30 + 3 + ENTRY_OVERHEAD);
        list.remove(&key(1, 30));
        assert_eq!((list.len(), list.bytes()), (0, 0));
        list.insert(key(2, 30), "a".into());
        list.clear();
        assert_eq!((list.len(), list.bytes()), (0, 0));
    }

    #[test]
    fn zero_or_off_keeps_nothing() {
        for list in [
            FailedUrls::new(true, 0, 1 << 20),
            FailedUrls::new(false, 10, 1 << 20),
        ] {
            list.insert(key(1, 30), "a".into());
            assert_eq!(list.len(), 0);
        }
    }
}
