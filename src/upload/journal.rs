//! The journal of failed uploads: one small text file per item in a directory, so failures
//! survive a restart and can be sent again.
//!
//! Owns: the record format, the directory and its file modes, and [`JournalEntry`]. Must not
//! touch: the network, or which failures are worth keeping (the worker decides). Records are
//! written to a temporary file and renamed into place, so a crash never leaves half a record;
//! bytes sources are saved beside their record.
//!
//! No secrets at rest: a record never holds a credential header's value (`Authorization`,
//! `Proxy-Authorization`, `Cookie`, the uploader's `credential_headers`, headers marked
//! credentials, the target's userinfo, which is withheld as `Authorization`), only its name, so a retry can say what it sends from the current configuration
//! instead. On Unix every file is created 0600 (temporary files too, before the rename) and a
//! directory the journal creates is 0700. Opening a journal written by an older version
//! rewrites records that hold credentials without them and narrows file modes to 0600.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::item::{Header, ItemSpec, Method, UploadSource};
use crate::headers::HeaderRules;
use crate::url_text;

const MAGIC: &str = "webimage-upload-journal 1";

/// Identifies one record: `<nanoseconds>-<process id>-<serial>`, so ids sort by age.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RecordId(String);

impl RecordId {
    /// An id given by a caller, if it has the form of one (digits and dashes: it becomes part
    /// of a file name, so nothing else is accepted).
    pub(crate) fn parse(id: &str) -> Option<RecordId> {
        let ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        ok.then(|| RecordId(id.to_string()))
    }
}

/// One failed upload kept in the journal, as [`Uploader::journal`](crate::Uploader::journal)
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Identifies the entry (for [`Uploader::drop_journal_entry`](crate::Uploader::drop_journal_entry));
    /// stays the same across retries and runs.
    pub id: String,
    /// The target URL.
    pub target: String,
    /// What is sent.
    pub source: UploadSource,
    /// Attempts made so far, in every run.
    pub attempts: u32,
    /// What went wrong the last time, without the URL (e.g. `HTTP status 503`).
    pub error: String,
    /// Whether that failure was permanent (kept only with
    /// [`UploadConfig::journal_permanent_failures`](crate::UploadConfig::journal_permanent_failures)).
    pub permanent: bool,
    /// Names of the item's credential headers, whose values the journal does not keep: a retry
    /// sends the retrying uploader's [`UploadConfig::headers`](crate::UploadConfig::headers)
    /// instead.
    pub withheld_headers: Vec<String>,
}

/// A failed upload read back from the journal.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: RecordId,
    pub(crate) spec: ItemSpec,
    pub(crate) attempts: u32,
    pub(crate) error: String,
    pub(crate) permanent: bool,
    pub(crate) withheld: Vec<String>,
}

impl Record {
    pub(crate) fn into_entry(self) -> JournalEntry {
        JournalEntry {
            id: self.id.0,
            target: self.spec.target,
            source: self.spec.source,
            attempts: self.attempts,
            error: self.error,
            permanent: self.permanent,
            withheld_headers: self.withheld,
        }
    }
}

pub(crate) struct Journal {
    dir: PathBuf,
    serial: AtomicU64,
    /// Which headers the uploader treats as credentials.
    rules: HeaderRules,
    /// Held while a record is written or removed, so a record dropped by the caller is not
    /// written back by a retry finishing at the same moment.
    lock: Mutex<()>,
}

fn escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\n', "%0A")
        .replace('\r', "%0D")
        .replace('\t', "%09")
}

fn unescape(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%09", "\t")
        .replace("%25", "%")
}

/// Creates `dir` (and missing parents) owner-only on Unix. An existing directory keeps its mode.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to a new file at `tmp` created owner-only (0600 on Unix), then renames it to
/// `path`. A stale `tmp` (from a crash) is removed first, so the file is always created anew
/// with the narrow mode.
fn write_private(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let _ = fs::remove_file(tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written.and_then(|()| fs::rename(tmp, path)) {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    Ok(())
}

/// Narrows an existing file to owner-only (Unix), if it is wider.
fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
    }
    let _ = path;
    Ok(())
}

impl Journal {
    /// Opens (creating it if missing) the journal in `dir`; `rules` say which headers are
    /// credentials. Records of older versions that hold credentials are rewritten without them.
    pub(crate) fn open(dir: &Path, rules: HeaderRules) -> io::Result<Journal> {
        create_private_dir(dir)?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            serial: AtomicU64::new(0),
            rules,
            lock: Mutex::new(()),
        };
        journal.scrub()?;
        Ok(journal)
    }

    /// Removes credential values from records that hold them and narrows file modes.
    fn scrub(&self) -> io::Result<()> {
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let path = entry.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("upload") => {}
                Some("bytes") => {
                    make_private(&path)?;
                    continue;
                }
                _ => continue,
            }
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            match self.without_credentials(&text) {
                Some(clean) => {
                    let tmp = path.with_extension("upload.tmp");
                    write_private(&tmp, &path, clean.as_bytes())?;
                }
                None => make_private(&path)?,
            }
        }
        Ok(())
    }

    /// `text` with its credential header lines replaced by `withheld` lines, if it has any.
    fn without_credentials(&self, text: &str) -> Option<String> {
        if text.lines().next() != Some(MAGIC) {
            return None;
        }
        let mut changed = false;
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            let mut parts = line.split('\t');
            let kind = parts.next();
            if kind == Some("header")
                && let Some(name) = parts.next().map(unescape)
                && self.rules.is_credential_name(&name)
            {
                out.push_str(&format!("withheld\t{}\n", escape(&name)));
                changed = true;
                continue;
            }
            if kind == Some("target")
                && let Some(target) = parts.next().map(unescape)
                && url_text::has_userinfo(&target)
            {
                let target = url_text::without_userinfo(&target);
                out.push_str(&format!(
                    "target\t{}\nwithheld\tAuthorization\n",
                    escape(&target)
                ));
                changed = true;
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        changed.then_some(out)
    }

    fn new_id(&self) -> RecordId {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        RecordId(format!("{nanos}-{}-{n}", std::process::id()))
    }

    fn record_path(&self, id: &RecordId) -> PathBuf {
        self.dir.join(format!("{}.upload", id.0))
    }

    fn bytes_path(&self, id: &RecordId) -> PathBuf {
        self.dir.join(format!("{}.bytes", id.0))
    }

    /// Writes the record of a failed item: a new one, or with `id` an update of that record.
    /// Returns `None` (and writes nothing) when the record `id` is no longer there: the caller
    /// dropped it while it was being retried.
    pub(crate) fn record(
        &self,
        id: Option<&RecordId>,
        spec: &ItemSpec,
        attempts: u32,
        error: &str,
        permanent: bool,
    ) -> io::Result<Option<RecordId>> {
        let _guard = self.lock.lock();
        let id = match id {
            Some(id) if !self.record_path(id).exists() => return Ok(None),
            Some(id) => id.clone(),
            None => self.new_id(),
        };
        // The target has no userinfo once queued (`ItemSpec::take_userinfo`); one the URL
        // parser refused still must not reach the disk.
        let target = url_text::without_userinfo(&spec.target);
        let mut text = format!("{MAGIC}\ntarget\t{}\n", escape(&target));
        match &spec.method {
            Method::Put => text.push_str("method\tput\n"),
            Method::Form { field, fields } => {
                text.push_str(&format!("method\tform\nfield\t{}\n", escape(field)));
                for (k, v) in fields {
                    text.push_str(&format!("form\t{}\t{}\n", escape(k), escape(v)));
                }
            }
        }
        let mut withheld: Vec<&str> = Vec::new();
        for h in &spec.headers {
            if self.rules.is_credential(h) {
                if !withheld.iter().any(|w| w.eq_ignore_ascii_case(&h.name)) {
                    withheld.push(&h.name);
                }
            } else {
                text.push_str(&format!(
                    "header\t{}\t{}\n",
                    escape(&h.name),
                    escape(&h.value)
                ));
            }
        }
        for name in withheld {
            text.push_str(&format!("withheld\t{}\n", escape(name)));
        }
        match &spec.source {
            UploadSource::File(path) => {
                text.push_str(&format!("file\t{}\n", escape(&path.to_string_lossy())));
            }
            UploadSource::Bytes { name, bytes } => {
                let tmp = self.dir.join(format!("{}.bytes.tmp", id.0));
                write_private(&tmp, &self.bytes_path(&id), bytes)?;
                text.push_str(&format!("bytes\t{}\n", escape(name)));
            }
        }
        if let Some(ct) = &spec.content_type {
            text.push_str(&format!("content-type\t{}\n", escape(ct)));
        }
        if let Some(r) = &spec.recompress {
            let edge = r.max_edge.map_or("-".to_string(), |e| e.to_string());
            text.push_str(&format!(
                "recompress\t{}\t{}\t{}\t{edge}\n",
                r.quality, r.fallback_quality, r.max_bytes
            ));
        }
        text.push_str(&format!(
            "original\t{}\nattempts\t{attempts}\npermanent\t{permanent}\nerror\t{}\n",
            spec.original,
            escape(error)
        ));
        let tmp = self.dir.join(format!("{}.upload.tmp", id.0));
        write_private(&tmp, &self.record_path(&id), text.as_bytes())?;
        Ok(Some(id))
    }

    /// Deletes a record (sent, dropped as permanent, or dropped by the caller). Returns whether
    /// it was there.
    pub(crate) fn remove(&self, id: &RecordId) -> bool {
        let _guard = self.lock.lock();
        let existed = fs::remove_file(self.record_path(id)).is_ok();
        let _ = fs::remove_file(self.bytes_path(id));
        existed
    }

    /// Deletes every record; returns how many there were.
    pub(crate) fn clear(&self) -> io::Result<usize> {
        let mut n = 0;
        for id in self.ids()? {
            n += usize::from(self.remove(&id));
        }
        Ok(n)
    }

    /// The ids of every record file, oldest first.
    fn ids(&self) -> io::Result<Vec<RecordId>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("upload") {
                continue;
            }
            if let Some(id) = path.file_stem().and_then(|s| s.to_str()) {
                ids.push(RecordId(id.to_string()));
            }
        }
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ids)
    }

    /// Every record, oldest first. Records that cannot be read are skipped.
    pub(crate) fn list(&self) -> io::Result<Vec<Record>> {
        Ok(self
            .ids()?
            .into_iter()
            .filter_map(|id| {
                let text = fs::read_to_string(self.record_path(&id)).ok()?;
                self.parse(id, &text)
            })
            .collect())
    }

    fn parse(&self, id: RecordId, text: &str) -> Option<Record> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut target, mut method, mut field) = (None, None, None);
        let (mut fields, mut headers, mut withheld) = (Vec::new(), Vec::new(), Vec::new());
        let (mut source, mut content_type, mut original) = (None, None, false);
        let mut recompress = None;
        let (mut attempts, mut error, mut permanent) = (0, String::new(), false);
        for line in lines {
            let mut parts = line.split('\t');
            let key = parts.next()?;
            let a = parts.next().map(unescape);
            let b = parts.next().map(unescape);
            match key {
                "target" => target = a,
                "method" => method = a,
                "field" => field = a,
                "form" => fields.push((a?, b?)),
                "header" => {
                    let (name, value) = (a?, b?);
                    // A record of an older version, not yet scrubbed: never send its credential
                    // (the current configuration's headers are sent instead).
                    if self.rules.is_credential_name(&name) {
                        withheld.push(name);
                    } else {
                        headers.push(Header::plain(name, value));
                    }
                }
                "withheld" => withheld.push(a?),
                "file" => source = Some(UploadSource::File(PathBuf::from(a?))),
                "bytes" => {
                    let bytes = fs::read(self.bytes_path(&id)).ok()?;
                    source = Some(UploadSource::Bytes {
                        name: a?,
                        bytes: Arc::from(bytes),
                    });
                }
                "content-type" => content_type = a,
                "recompress" => {
                    let rest: Vec<&str> = line.split('\t').skip(1).collect();
                    let [q, fallback, max_bytes, edge] = rest[..] else {
                        return None;
                    };
                    recompress = Some(super::Recompress {
                        quality: q.parse().ok()?,
                        fallback_quality: fallback.parse().ok()?,
                        max_bytes: max_bytes.parse().ok()?,
                        max_edge: edge.parse().ok(),
                    });
                }
                "original" => original = a.as_deref() == Some("true"),
                "attempts" => attempts = a?.parse().ok()?,
                "permanent" => permanent = a.as_deref() == Some("true"),
                "error" => error = a.unwrap_or_default(),
                _ => {}
            }
        }
        let method = match method?.as_str() {
            "put" => Method::Put,
            "form" => Method::Form {
                field: field?,
                fields,
            },
            _ => return None,
        };
        Some(Record {
            id,
            spec: ItemSpec {
                target: target?,
                method,
                source: source?,
                headers,
                original,
                content_type,
                recompress,
            },
            attempts,
            error,
            permanent,
            withheld,
        })
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
