//! Caches: decoded pixels in memory, downloaded bytes on disk, HTTP freshness rules, and the
//! list of URLs that failed for good.
//!
//! Owns: the cache data structures and the freshness decisions. Must not touch: the network,
//! decoding, or the in-flight map; callers decide what to store and when.

pub(crate) mod disk;
pub(crate) mod failed;
pub(crate) mod memory;
pub(crate) mod policy;
