//! Caches: decoded pixels in memory, and the list of URLs that failed for good.
//!
//! Owns: the cache data structures. Must not touch: the network, decoding, or the in-flight
//! map; callers decide what to store and when.

pub(crate) mod failed;
pub(crate) mod memory;
