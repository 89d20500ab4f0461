//! Where things are in a cache directory, and the lock that processes share.
//!
//! Owns: path names (a SHA-256 of the cache key in hex, sharded by its first two digits; never
//! derived from URL text, so no path traversal), listing entries with what each costs on disk
//! (allocated blocks), the `fs4` lock file, the usage file that keeps the directory's total
//! across processes, and the `scope-key` secret. Every directory and file is checked and opened
//! through `trust.rs` (owner, modes, no links). Must not touch: entry contents.
//!
//! ```text
//! <dir>/webimage-cache-v1   marker (format version)
//! <dir>/lock                fs4 lock: writers, evictions and sweeps take it exclusively
//! <dir>/usage               total bytes on disk of all entries (u64 LE), updated under the lock
//! <dir>/scope-key           32 random bytes keying the digests of credentials (0600)
//! <dir>/entries/ab/ab12...  one file per entry (see entry.rs)
//! <dir>/tmp/                files being written; renamed into entries/ when complete
//! ```

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fs4::FileExt;
use sha2::{Digest, Sha256};

use super::trust::{self, OpenError, Use};

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
    /// Whom the directory was judged for.
    user: trust::User,
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
    {
        rounded
    }
}

/// The smallest allocation [`disk_cost`] counts per entry.
const BLOCK: u64 = 4096;

/// The secret's file, as found.
enum Secret {
    Trusted([u8; 32]),
    Missing,
    /// There, but not ours alone, or not a secret: replaced.
    Untrusted,
}

impl Layout {
    /// Creates (or opens) the cache directory. Everything it creates is owner-only on Unix:
    /// the directory may hold other users' images (keyed by their credentials) and the key
    /// that digests credentials. An existing directory is used only if this user alone may
    /// write it and nothing in it the cache writes to is a link or another user's (see
    /// `trust.rs`); it is judged before anything is created in it.
    pub(crate) fn open(root: &Path) -> Result<Layout, OpenError> {
        trust::create_dirs(root)?;
        trust::dir(root, true)?;
        let entries = root.join("entries");
        let tmp = root.join("tmp");
        trust::sub_dir(&entries)?;
        trust::sub_dir(&tmp)?;
        // Shards planted before this run (a link to another directory would take reads and
        // writes there); later, nobody else can add one.
        for shard in fs::read_dir(&entries)? {
            let shard = shard?;
            if shard.file_type()?.is_symlink() || shard.file_type()?.is_dir() {
                trust::dir(&shard.path(), false)?;
            }
        }
        let marker = root.join("webimage-cache-v1");
        match trust::options().write(true).create_new(true).open(&marker) {
            Ok(mut f) => f.write_all(b"webimage disk cache, format 1\n")?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists || trust::is_symlink_error(&e) => {
                trust::open_file(&marker, trust::options().read(true), Use::Kept)?;
            }
            Err(e) => return Err(e.into()),
        }
        let open = |name: &str, used| {
            trust::open_file(
                &root.join(name),
                trust::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
                used,
            )
        };
        Ok(Layout {
            root: root.to_path_buf(),
            user: trust::User::current(),
            entries,
            tmp,
            lock: open("lock", Use::Kept)?,
            usage: open("usage", Use::Written)?,
        })
    }

    /// The secret that keys credential digests for this directory (`scope-key`, 32 random
    /// bytes, owner-only), created by the first process that needs it. It is a file so that
    /// entries scoped to one user's credentials are found again in the next run; it never
    /// leaves the directory. One that is not a private regular file of 32 bytes, this user's
    /// alone (a symbolic link, another user's, readable or writable by others, another
    /// length) may be known to someone else: it is replaced by a new one (entries scoped under the old one
    /// are no longer found, and age out).
    pub(crate) fn scope_secret(&self) -> io::Result<[u8; 32]> {
        let path = self.root.join("scope-key");
        // A few rounds: another process may create or replace it between our steps.
        for _ in 0..4 {
            let replace = match read_secret(&path)? {
                Secret::Trusted(secret) => return Ok(secret),
                Secret::Missing => false,
                Secret::Untrusted => true,
            };
            let mut secret = [0u8; 32];
            getrandom::getrandom(&mut secret).map_err(|e| io::Error::other(e.to_string()))?;
            // Written whole under a temporary name, then linked into place (a racing process
            // either wins the link or reads the winner's complete file) or renamed over the
            // untrusted one (which replaces a link itself, never what it points to).
            let temp = self.temp_path("scope-key");
            trust::options()
                .write(true)
                .create_new(true)
                .open(&temp)?
                .write_all(&secret)?;
            let placed = if replace {
                fs::rename(&temp, &path)
            } else {
                fs::hard_link(&temp, &path)
            };
            let _ = fs::remove_file(&temp);
            match placed {
                Ok(()) if !replace => return Ok(secret),
                // Replaced, or someone else's appeared first: read what is there now.
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "scope-key keeps changing under this process",
        ))
    }

    /// The user the directory was judged for: the owner its entries must have.
    pub(crate) fn user(&self) -> trust::User {
        self.user
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

/// Reads `scope-key` through [`trust::open_file`], as a secret: also unreadable by others,
/// exactly 32 bytes.
fn read_secret(path: &Path) -> io::Result<Secret> {
    let mut file = match trust::open_file(path, trust::options().read(true), Use::Kept) {
        Ok(file) => file,
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(Secret::Missing),
        Err(OpenError::Untrusted(_)) => return Ok(Secret::Untrusted),
        Err(OpenError::Io(e)) => return Err(e),
    };
    let meta = file.metadata()?;
    if trust::readable_by_others(&meta) || meta.len() != 32 {
        return Ok(Secret::Untrusted);
    }
    let mut secret = [0u8; 32];
    file.read_exact(&mut secret)?;
    Ok(Secret::Trusted(secret))
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
        let Ok(layout) = Layout::open(&dir) else {
            panic!("cannot open {}", dir.display());
        };
        let p = layout.entry_path("../../etc/passwd");
        assert!(p.starts_with(dir.join("entries")));
        assert_eq!(p.file_name().unwrap().len(), 64);
        fs::remove_dir_all(&dir).unwrap();
    }
}
