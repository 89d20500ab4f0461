//! The failed-URL list.
//!
//! Owns: a bounded set of keys that failed permanently, with the reason. Must not touch: the
//! decision of what is permanent ([`Error::is_permanent`](crate::Error::is_permanent) makes it).

use std::num::NonZeroUsize;

use lru::LruCache;
use parking_lot::Mutex;

use crate::key::Key;

pub(crate) struct FailedUrls {
    enabled: bool,
    inner: Mutex<LruCache<Key, String>>,
}

impl FailedUrls {
    pub(crate) fn new(enabled: bool, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        FailedUrls {
            enabled,
            inner: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The reason `key` failed before, if it is on the list.
    pub(crate) fn reason(&self, key: &Key) -> Option<String> {
        if !self.enabled {
            return None;
        }
        self.inner.lock().peek(key).cloned()
    }

    /// Puts `key` on the list (the oldest entry goes if the list is full).
    pub(crate) fn insert(&self, key: Key, reason: String) {
        if self.enabled {
            self.inner.lock().put(key, reason);
        }
    }

    /// Takes `key` off the list.
    pub(crate) fn remove(&self, key: &Key) {
        self.inner.lock().pop(key);
    }

    /// Empties the list.
    pub(crate) fn clear(&self) {
        self.inner.lock().clear();
    }

    /// Number of remembered URLs.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().len()
    }
}
