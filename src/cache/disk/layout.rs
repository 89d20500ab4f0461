//! Where things are in a cache directory, and the lock that processes share.
//!
//! Owns: path names (a SHA-256 of the cache key in hex, sharded by its first two digits; never
//! derived from URL text, so no path traversal), listing entries with what each costs on disk
//! (allocated blocks), the `fs4` lock file, and the usage file that keeps the directory's
//! total across processes. Must not touch: entry contents.
//!
//! ```text
//! <dir>/webimage-cache-v1   marker (format version)
//! <dir>/lock                fs4 lock: writers, evictions and sweeps take it exclusively
//! <dir>/usage               total bytes on disk of all entries (u64 LE), updated under the lock
//! <dir>/entries/ab/ab12...  one file per entry (see entry.rs)
//! <dir>/tmp/                files being written; renamed into entries/ when complete
//! ```

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fs4::FileExt;
use sha2::{Digest, Sha256};

/// One entry file as listed by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    /// Last access (the IO thread moves a file's modification time forward when it is read).
    pub(crate) accessed: SystemTime,
}

/// What a scan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) files: Vec<Listed>,
    /// Bytes on disk of the shard directories themselves.
    pub(crate) dirs: u64,
}

impl Scan {
    /// Bytes on disk of the entries and their directories: what the size limit counts.
    pub(crate) fn total(&self) -> u64 {
        self.dirs + self.files.iter().map(|f| f.size).sum::<u64>()
    }
}

pub(crate) struct Layout {
    root: PathBuf,
    entries: PathBuf,
    tmp: PathBuf,
    lock: File,
    usage: File,
}

/// Holds the directory's exclusive lock until dropped.
pub(crate) struct Locked<'a> {
    layout: &'a Layout,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.layout.lock);
    }
}

/// The file name of a key: SHA-256 in hex.
pub(crate) fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// What an entry file costs on disk: its allocated blocks (`st_blocks` on Unix), and at least
/// its length rounded up to whole 4 KiB blocks, so a file system that reports fewer blocks
/// (inline data, compression) still counts a block per file. Elsewhere the rounded length.
/// This is what the size limit and `DiskCache::size` count: 20,000 entries of 200 bytes take
/// 80 MB of disk, not 4 MB.
pub(crate) fn disk_cost(meta: &Metadata) -> u64 {
    let rounded = meta.len().div_ceil(BLOCK) * BLOCK;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        rounded.max(meta.blocks().saturating_mul(512))
    }
    #[cfg(not(unix))]
    rounded
}

/// The smallest allocation [`disk_cost`] counts per entry.
const BLOCK: u64 = 4096;

/// Creates `path` and its missing parents, owner-only (0700) on Unix.
pub(crate) fn create_private_dirs(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Options that create files owner-only (0600) on Unix.
pub(crate) fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

impl Layout {
    /// Creates (or opens) the cache directory. Everything it creates is owner-only on Unix:
    /// the directory may hold other users' images (keyed by their credentials) and the key
    /// that digests credentials.
    pub(crate) fn open(root: &Path) -> io::Result<Layout> {
        let entries = root.join("entries");
        let tmp = root.join("tmp");
        create_private_dirs(&entries)?;
        create_private_dirs(&tmp)?;
        let marker = root.join("webimage-cache-v1");
        if !marker.exists() {
            private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&marker)?
                .write_all(b"webimage disk cache, format 1\n")?;
        }
        let open = |name: &str| {
            private_file()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(root.join(name))
        };
        Ok(Layout {
            root: root.to_path_buf(),
            entries,
            tmp,
            lock: open("lock")?,
            usage: open("usage")?,
        })
    }

    /// The secret that keys credential digests for this directory (`scope-key`, 32 random
    /// bytes, owner-only), created by the first process that needs it. It is a file so that
    /// entries scoped to one user's credentials are found again in the next run; it never
    /// leaves the directory.
    pub(crate) fn scope_secret(&self) -> io::Result<[u8; 32]> {
        let path = self.root.join("scope-key");
        let read = |path: &Path| -> io::Result<Option<[u8; 32]>> {
            match fs::read(path) {
                Ok(bytes) => Ok(bytes.try_into().ok()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        };
        if let Some(secret) = read(&path)? {
            return Ok(secret);
        }
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| io::Error::other(e.to_string()))?;
        // Written whole under a temporary name, then linked into place: a racing process
        // either wins the link or reads the winner's complete file.
        let temp = self.temp_path("scope-key");
        private_file()
            .write(true)
            .create_new(true)
            .open(&temp)?
            .write_all(&secret)?;
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok(secret),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                read(&path)?.ok_or_else(|| io::Error::other("scope-key has the wrong length"))
            }
            Err(e) => Err(e),
        }
    }

    /// The path of the entry for `key`.
    pub(crate) fn entry_path(&self, key: &str) -> PathBuf {
        let h = hash(key);
        self.entries.join(&h[..2]).join(&h)
    }

    /// A fresh temporary path for writing the entry for `key`, unique within this process
    /// (several loaders may share a directory) and across processes (the pid).
    pub(crate) fn temp_path(&self, key: &str) -> PathBuf {
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let h = hash(key);
        self.tmp
            .join(format!("{}.{}.{serial}.tmp", &h[..16], std::process::id()))
    }

    /// Takes the directory's exclusive lock if it is free (it is shared with other processes
    /// and other loaders of this process); `None` if someone else holds it.
    pub(crate) fn try_lock(&self) -> io::Result<Option<Locked<'_>>> {
        match FileExt::try_lock(&self.lock) {
            Ok(()) => Ok(Some(Locked { layout: self })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The recorded total size of all entries. Call with the lock held.
    pub(crate) fn read_usage(&self, _locked: &Locked<'_>) -> Option<u64> {
        let mut buf = [0u8; 8];
        let mut f = &self.usage;
        f.seek(SeekFrom::Start(0)).ok()?;
        f.read_exact(&mut buf).ok()?;
        Some(u64::from_le_bytes(buf))
    }

    /// Records the total size of all entries. Call with the lock held.
    pub(crate) fn write_usage(&self, _locked: &Locked<'_>, total: u64) -> io::Result<()> {
        let mut f = &self.usage;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&total.to_le_bytes())
    }

    /// Every entry file with its cost on disk ([`disk_cost`]) and last access, and what the
    /// shard directories holding them take on disk (their blocks: a directory that held many
    /// entries keeps its blocks on most file systems).
    pub(crate) fn scan(&self) -> io::Result<Scan> {
        let mut out = Scan::default();
        for shard in fs::read_dir(&self.entries)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            if let Ok(meta) = shard.metadata() {
                out.dirs += disk_cost(&meta);
            }
            let Ok(files) = fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                // An entry deleted by another process between listing and stat is skipped.
                let Ok(meta) = file.metadata() else { continue };
                if meta.is_file() {
                    out.files.push(Listed {
                        path: file.path(),
                        size: disk_cost(&meta),
                        accessed: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Temporary files older than `age` (left by a process killed mid-write).
    pub(crate) fn stale_temps(&self, now: SystemTime, age: std::time::Duration) -> Vec<PathBuf> {
        let Ok(files) = fs::read_dir(&self.tmp) else {
            return Vec::new();
        };
        files
            .flatten()
            .filter(|f| {
                f.metadata()
                    .and_then(|m| m.modified())
                    .map(|t| now.duration_since(t).unwrap_or_default() > age)
                    .unwrap_or(false)
            })
            .map(|f| f.path())
            .collect()
    }

    /// Removes the shard directories left empty (after a clear), so their blocks go too. One
    /// that is not empty (another process wrote into it meanwhile) stays.
    pub(crate) fn remove_empty_shards(&self, _locked: &Locked<'_>) {
        let Ok(shards) = fs::read_dir(&self.entries) else {
            return;
        };
        for shard in shards.flatten() {
            if shard.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = fs::remove_dir(shard.path());
            }
        }
    }

    /// Free space for unprivileged users on the cache's file system.
    pub(crate) fn available_space(&self) -> io::Result<u64> {
        fs4::available_space(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sha256_of_the_key_and_cannot_escape_the_directory() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = std::env::temp_dir().join(format!("webimage-layout-{}", std::process::id()));
        let layout = Layout::open(&dir).unwrap();
        let p = layout.entry_path("../../etc/passwd");
        assert!(p.starts_with(dir.join("entries")));
        assert_eq!(p.file_name().unwrap().len(), 64);
        fs::remove_dir_all(&dir).unwrap();
    }
}
