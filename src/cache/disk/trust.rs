//! Whether a cache directory, and each file the cache keeps in it, may be trusted; the only
//! ways the cache creates directories and opens files.
//!
//! Owns: the checks (on Unix) that a directory is a real directory owned by this process's
//! effective user and writable by nobody else, and that a file the layout keeps open (`lock`,
//! `usage`, the marker, `scope-key`) is a regular file owned by this user and writable by
//! nobody else (the one written in place also without another hard link); the open options
//! every file in the cache goes through, which never follow a symbolic link (`O_NOFOLLOW`;
//! files are created owner-only, new ones with `O_EXCL`); creating directories owner-only
//! (0700). Must not touch: what the files hold or
//! where they are (`layout.rs` names them), and the modes of anything that exists already: an
//! existing directory or file is judged, never loosened and never repaired.
//!
//! Why: whoever can write a cache directory can plant entries that a later run serves as the
//! image of a URL (cache poisoning), a symbolic link that makes the loader write or create a
//! file elsewhere with the app's rights (`usage -> ~/.bashrc`), or the secret that keys the
//! digests of credentials. A directory another user owns, or one group or others may write,
//! is refused as a whole (the loader then runs without a disk cache and says why, see
//! `Pipeline::start`). The directories above the cache directory are not judged: they are
//! the app's (a symbolic link as the cache directory itself is followed, so that a cache moved
//! to another disk keeps working). On other platforms only the symbolic-link rules apply
//! (Windows ACLs are not read).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Why a cache directory was not opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// It, or a file in it, is not this user's alone: the disk cache is not used. The text
    /// names the path and what is wrong with it.
    Untrusted(String),
    /// The file system failed (cannot create the directory, read-only, ...).
    Io(io::Error),
}

impl From<io::Error> for OpenError {
    fn from(e: io::Error) -> OpenError {
        OpenError::Io(e)
    }
}

fn untrusted(path: &Path, why: &str) -> OpenError {
    OpenError::Untrusted(format!("{} {why}", path.display()))
}

/// Options every file of the cache is opened with: never through a symbolic link as the last
/// component (opening one fails, creating through a dangling one creates nothing), never
/// blocking on a FIFO someone left under a cache name, and owner-only (0600) when created.
pub(crate) fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options
}

/// Whether `e` is what opening a symbolic link with `O_NOFOLLOW` fails with (`ELOOP`;
/// `EMLINK` on FreeBSD).
pub(crate) fn is_symlink_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EMLINK))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Creates `path` and its missing parents, owner-only (0700) on Unix. Existing directories
/// keep their modes.
pub(crate) fn create_dirs(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates the directory `path` inside a trusted one if it is missing (0700), then checks it
/// as [`dir`] does without following a symbolic link. Returns whether it was created.
pub(crate) fn sub_dir(path: &Path) -> Result<bool, OpenError> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    let created = match builder.create(path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e.into()),
    };
    dir(path, false)?;
    Ok(created)
}

/// Checks that `path` is a directory this user alone may write: owned by the effective user,
/// without group or other write permission. `follow`: judge what a symbolic link at `path`
/// points to (the configured cache directory) rather than refusing the link (anything
/// inside it).
pub(crate) fn dir(path: &Path, follow: bool) -> Result<(), OpenError> {
    let meta = if follow {
        fs::metadata(path)?
    } else {
        fs::symlink_metadata(path)?
    };
    if meta.file_type().is_symlink() {
        return Err(untrusted(path, "is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(untrusted(path, "is not a directory"));
    }
    owned_alone(&meta, path)
}

/// How a file the cache keeps is used, which decides whether other hard links to it matter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Written in place (`usage`): another hard link would be another name for the file
    /// written (`~/.bashrc`), so it must be the file's only link.
    Written,
    /// Never written in place (`lock`, the marker, `scope-key`, which is replaced whole): a
    /// second link changes nothing the cache does (the modes and owner checked are the
    /// file's, under every name), and `scope-key` has one for a moment while it is being
    /// linked into place.
    Kept,
}

/// Opens the file at `path` (a name the cache keeps open or reads whole) with `options`
/// (built on [`options`]) and checks what was opened: a regular file, this user's alone, and
/// for [`Use::Written`] its only link. A symbolic link, another user's file, a file group or
/// others may write, or a written file with other hard links is refused.
pub(crate) fn open_file(path: &Path, options: &OpenOptions, used: Use) -> Result<File, OpenError> {
    let file = options.open(path).map_err(|e| {
        if is_symlink_error(&e) {
            untrusted(path, "is a symbolic link")
        } else {
            OpenError::Io(e)
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(untrusted(path, "is not a regular file"));
    }
    owned_alone(&meta, path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if used == Use::Written && meta.nlink() != 1 {
            return Err(untrusted(path, "has other hard links"));
        }
    }
    #[cfg(not(unix))]
    let _ = used;
    Ok(file)
}

/// The user the cache directory was judged for (the effective user when it was opened):
/// entry files must be this user's. Kept, so a disk hit costs no `geteuid` call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct User(#[cfg(unix)] u32);

impl User {
    /// This process's effective user, now.
    pub(crate) fn current() -> User {
        #[cfg(unix)]
        {
            User(effective_uid())
        }
        #[cfg(not(unix))]
        {
            User()
        }
    }

    /// Whether an opened file is this user's (entries of another user are not read).
    pub(crate) fn owns(self, meta: &Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            meta.uid() == self.0
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            true
        }
    }
}

/// Whether group or others may read `meta`'s file (a secret must not be readable by them).
pub(crate) fn readable_by_others(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o077 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

fn owned_alone(meta: &Metadata, path: &Path) -> Result<(), OpenError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = effective_uid();
        if meta.uid() != me {
            return Err(untrusted(
                path,
                &format!(
                    "is owned by user {}, not by this process's user {me}",
                    meta.uid()
                ),
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(untrusted(
                path,
                &format!(
                    "may be written by group or others (mode {:o}; chmod go-w it, or use \
                     another directory)",
                    meta.mode() & 0o7777
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, path);
    Ok(())
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}
