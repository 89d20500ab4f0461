//! The per-request choices that are plain enums: how urgent a load is, where its result is
//! stored, and how it uses the caches.
//!
//! Owns: [`Priority`], [`Store`], [`CachePolicy`] and their small helpers. Must not touch:
//! the caches or the queue; the stages read these values, nothing here acts on them.

/// How urgently a load should start. Higher priorities start first; within one priority the
/// queue order ([`Config::lifo`](crate::Config::lifo)) decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Work that can wait, such as prefetching.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Work the user is waiting for right now.
    High,
}

/// Where a loaded image is stored for later loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Store {
    /// Nowhere.
    None,
    /// Decoded pixels in the memory cache only.
    Memory,
    /// Downloaded bytes in the disk cache only.
    Disk,
    /// Both (the default).
    #[default]
    Both,
}

impl Store {
    pub(crate) fn memory(self) -> bool {
        matches!(self, Store::Memory | Store::Both)
    }

    pub(crate) fn disk(self) -> bool {
        matches!(self, Store::Disk | Store::Both)
    }

    /// Stores wherever either asks for (callers sharing a download share its storage).
    pub(crate) fn union(self, other: Store) -> Store {
        match (self.memory() || other.memory(), self.disk() || other.disk()) {
            (true, true) => Store::Both,
            (true, false) => Store::Memory,
            (false, true) => Store::Disk,
            (false, false) => Store::None,
        }
    }
}

/// How a request uses the caches: one choice per request, in place of separate flags with
/// hidden precedence. Callers share a download only when their policies are equal, so a
/// cache-only caller never triggers a download and a reloading caller never gets an answer
/// that was not fetched for it.
///
/// | policy | memory cache | disk cache | network |
/// | --- | --- | --- | --- |
/// | [`UseCache`](Self::UseCache) | read | read if fresh; stale entries revalidated | on a miss |
/// | [`AcceptStale`](Self::AcceptStale) | read | read, even if stale, never revalidated | on a miss |
/// | [`CacheOnly`](Self::CacheOnly) | read | read, even if stale | never: [`Error::NotCached`](crate::Error::NotCached) on a miss |
/// | [`Revalidate`](Self::Revalidate) | skipped | entry revalidated even if fresh (`304` keeps it, `200` replaces it) | always (conditional when cached) |
/// | [`Reload`](Self::Reload) | skipped | skipped | always |
///
/// Every policy writes its result where [`Request::store`](crate::Request::store) says (default both caches);
/// `Cache-Control: no-store` responses are never written to disk.
///
/// ```
/// use webimage::{CachePolicy, Request};
/// let offline = Request::new("https://example.com/a.jpg").cache_policy(CachePolicy::CacheOnly);
/// # drop(offline);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CachePolicy {
    /// Memory, then the disk cache if the entry is fresh (a stale one is revalidated with the
    /// server first), then the network. The default.
    #[default]
    UseCache,
    /// Memory, then the disk cache even if the entry is stale (no revalidation), then the
    /// network on a miss.
    AcceptStale,
    /// Memory, then the disk cache even if stale; never the network. A miss fails with
    /// [`Error::NotCached`](crate::Error::NotCached).
    CacheOnly,
    /// Skip the memory cache and ask the server whether the disk entry is still current even
    /// if it is fresh (`If-None-Match` / `If-Modified-Since` from the stored validators):
    /// `304` serves the cached bytes, `200` replaces them. Downloads on a disk miss.
    Revalidate,
    /// Skip both caches and download.
    Reload,
}

impl CachePolicy {
    /// Whether a memory-cache hit answers a request with this policy.
    pub(crate) fn reads_memory(self) -> bool {
        matches!(
            self,
            CachePolicy::UseCache | CachePolicy::AcceptStale | CachePolicy::CacheOnly
        )
    }

    /// Whether the disk cache is read (a `Reload` skips it).
    pub(crate) fn reads_disk(self) -> bool {
        self != CachePolicy::Reload
    }
}
