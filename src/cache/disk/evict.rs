//! The size limit of the cache directory: which entries go when the total is over.
//!
//! Owns: deleting the entries a sweep found expired, then the least recently accessed ones
//! until the total (what the entries and their directories take on disk, `layout::Scan`) is
//! under the low-water mark. Must not touch: when this runs (the IO thread decides, with the
//! directory lock held) or how entries are read and written.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::PathBuf;

use super::layout::{Layout, Locked};
use crate::config::DiskCacheConfig;
use crate::stats::Counters;

/// After a write pushes the total over the limit, evict down to this fraction of it.
const LOW_WATER: f64 = 0.8;

/// Deletes `also`, then, if the total is over the limit, the least recently accessed entries
/// until it is under the low-water mark. Returns the new total. Needs the lock.
pub(super) fn evict(
    layout: &Layout,
    _locked: &Locked<'_>,
    config: &DiskCacheConfig,
    also: HashSet<PathBuf>,
    counters: &Counters,
) -> io::Result<u64> {
    let scan = layout.scan()?;
    let mut total = scan.total();
    let mut files = scan.files;
    files.retain(|f| {
        if !also.contains(&f.path) {
            return true;
        }
        if fs::remove_file(&f.path).is_ok() {
            total -= f.size;
            Counters::bump(&counters.disk_evicted);
        }
        false
    });
    if total > config.max_bytes {
        let low_water = (config.max_bytes as f64 * LOW_WATER) as u64;
        files.sort_by_key(|f| f.accessed);
        for f in files {
            if total <= low_water {
                break;
            }
            if fs::remove_file(&f.path).is_ok() {
                total -= f.size;
                Counters::bump(&counters.disk_evicted);
            }
        }
    }
    Ok(total)
}
