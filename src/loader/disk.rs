//! The public view of a loader's disk cache.
//!
//! Owns: [`DiskCache`], the methods an app calls on the cache directory, mapping URLs to keys
//! and `io::Error`s to [`Error::DiskCache`]. Must not touch: the IO thread's work (every call is
//! a message to it through `DiskStore`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::cache::disk::DiskStore;
use crate::error::{Cause, Error};
use crate::pipeline::Pipeline;

/// The disk cache of an [`ImageLoader`](crate::ImageLoader), from
/// [`ImageLoader::disk_cache`](crate::ImageLoader::disk_cache). Every call goes through the
/// cache's IO thread, after the writes already queued. A URL names the entry a load of it
/// with no headers of its own would use: the loader's key filter, the credentials in its
/// `Config::headers` and the URL's userinfo scope it, as they scope the load.
///
/// ```no_run
/// # let loader = webimage::ImageLoader::new(webimage::Config::default())?;
/// if let Some(disk) = loader.disk_cache() {
///     println!("{} entries, {} bytes in {}", disk.len()?, disk.size()?, disk.path().display());
///     disk.remove("https://example.com/old.png")?;
/// }
/// # Ok::<(), webimage::Error>(())
/// ```
pub struct DiskCache<'a> {
    store: &'a DiskStore,
    pipeline: &'a Pipeline,
}

impl<'a> DiskCache<'a> {
    pub(crate) fn new(store: &'a DiskStore, pipeline: &'a Pipeline) -> Self {
        DiskCache { store, pipeline }
    }

    /// The entry's key: as a load of `url` with no headers of its own uses it (the key
    /// filter, credentials in `Config::headers` and the URL's userinfo scope it).
    fn key(&self, url: &str) -> Result<String, Error> {
        self.pipeline.disk_key(url)
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::DiskCache {
            path: self.store.root().to_path_buf(),
            message: e.to_string(),
            source: Some(Cause::new(e)),
        }
    }

    /// The cache directory.
    pub fn path(&self) -> &Path {
        self.store.root()
    }

    /// Bytes the entries take on disk, as the size limit
    /// ([`DiskCacheConfig::max_bytes`](crate::DiskCacheConfig::max_bytes)) counts them: each
    /// entry's allocated blocks (at least its length in whole 4 KiB blocks), and the
    /// directories that hold them. Many small entries cost far more than their lengths.
    pub fn size(&self) -> Result<u64, Error> {
        self.store
            .usage()
            .map(|u| u.0)
            .map_err(|e| self.io_error(e))
    }

    /// Number of entries on disk.
    pub fn len(&self) -> Result<usize, Error> {
        self.store
            .usage()
            .map(|u| u.1)
            .map_err(|e| self.io_error(e))
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> Result<bool, Error> {
        self.len().map(|n| n == 0)
    }

    /// Whether the image at `url` is cached (written, or queued to be written).
    pub fn contains(&self, url: &str) -> Result<bool, Error> {
        Ok(self.store.contains(&self.key(url)?))
    }

    /// The original downloaded bytes of `url`, if cached (checksum verified; a corrupt entry
    /// is deleted and reads as `None`). Does not decode and does not touch the network.
    pub fn get(&self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        let cached = self.store.read(&self.key(url)?);
        Ok(cached.map(|c| Arc::try_unwrap(c.body).unwrap_or_else(|shared| (*shared).clone())))
    }

    /// Deletes the entry for `url`; `true` if there was one.
    pub fn remove(&self, url: &str) -> Result<bool, Error> {
        Ok(self.store.remove(&self.key(url)?))
    }

    /// Deletes every entry; returns the bytes freed.
    pub fn clear(&self) -> Result<u64, Error> {
        self.store.clear().map_err(|e| self.io_error(e))
    }

    /// Waits until every write queued so far is on disk (or has failed).
    pub fn flush(&self) {
        self.store.flush();
    }

    /// Removes entries older than the configured `max_age` and enforces the size limit now
    /// (this also happens periodically on the IO thread).
    pub fn sweep(&self) -> Result<(), Error> {
        self.store.sweep().map_err(|e| self.io_error(e))
    }
}

impl fmt::Debug for DiskCache<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskCache")
            .field("path", &self.store.root())
            .finish()
    }
}
