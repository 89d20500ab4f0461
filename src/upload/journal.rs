//! The journal of failed uploads: one small text file per item in a directory, so failures
//! survive a restart and can be sent again.
//!
//! Owns: the record format and the directory. Must not touch: the network. Records are written
//! to a temporary file and renamed into place, so a crash never leaves half a record; bytes
//! sources are saved beside their record.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::item::{ItemSpec, Method, UploadSource};

const MAGIC: &str = "webimage-upload-journal 1";

/// Identifies one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RecordId(String);

/// A failed upload read back from the journal.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: RecordId,
    pub(crate) spec: ItemSpec,
    pub(crate) attempts: u32,
    pub(crate) error: String,
}

pub(crate) struct Journal {
    dir: PathBuf,
    serial: AtomicU64,
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

impl Journal {
    pub(crate) fn open(dir: &Path) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            serial: AtomicU64::new(0),
        })
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

    /// Writes (or, with `id`, overwrites) the record of a failed item.
    pub(crate) fn record(
        &self,
        id: Option<&RecordId>,
        spec: &ItemSpec,
        attempts: u32,
        error: &str,
    ) -> io::Result<RecordId> {
        let id = id.cloned().unwrap_or_else(|| self.new_id());
        let mut text = format!("{MAGIC}\ntarget\t{}\n", escape(&spec.target));
        match &spec.method {
            Method::Put => text.push_str("method\tput\n"),
            Method::Form { field, fields } => {
                text.push_str(&format!("method\tform\nfield\t{}\n", escape(field)));
                for (k, v) in fields {
                    text.push_str(&format!("form\t{}\t{}\n", escape(k), escape(v)));
                }
            }
        }
        for (k, v) in &spec.headers {
            text.push_str(&format!("header\t{}\t{}\n", escape(k), escape(v)));
        }
        match &spec.source {
            UploadSource::File(path) => {
                text.push_str(&format!("file\t{}\n", escape(&path.to_string_lossy())));
            }
            UploadSource::Bytes { name, bytes } => {
                let tmp = self.dir.join(format!("{}.bytes.tmp", id.0));
                fs::write(&tmp, bytes)?;
                fs::rename(&tmp, self.bytes_path(&id))?;
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
            "original\t{}\nattempts\t{attempts}\nerror\t{}\n",
            spec.original,
            escape(error)
        ));
        let tmp = self.dir.join(format!("{}.upload.tmp", id.0));
        fs::write(&tmp, text)?;
        fs::rename(&tmp, self.record_path(&id))?;
        Ok(id)
    }

    /// Deletes a record (the item was sent, or will be retried under a new one).
    pub(crate) fn remove(&self, id: &RecordId) {
        let _ = fs::remove_file(self.record_path(id));
        let _ = fs::remove_file(self.bytes_path(id));
    }

    /// Every record, oldest first. Records that cannot be read are skipped.
    pub(crate) fn list(&self) -> io::Result<Vec<Record>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("upload") {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let id = RecordId(stem.to_string());
            if let Some(record) = fs::read_to_string(&path)
                .ok()
                .and_then(|text| self.parse(id, &text))
            {
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.id.0.cmp(&b.id.0));
        Ok(out)
    }

    fn parse(&self, id: RecordId, text: &str) -> Option<Record> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut target, mut method, mut field) = (None, None, None);
        let (mut fields, mut headers) = (Vec::new(), Vec::new());
        let (mut source, mut content_type, mut original) = (None, None, false);
        let mut recompress = None;
        let (mut attempts, mut error) = (0, String::new());
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
                "header" => headers.push((a?, b?)),
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_survive_odd_text() {
        let dir = std::env::temp_dir().join(format!("webimage-journal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let journal = Journal::open(&dir).unwrap();
        let spec = ItemSpec {
            target: "http://h/up?x=1%202".into(),
            method: Method::Form {
                field: "photo".into(),
                fields: vec![("caption".into(), "two\nlines\tand 100%".into())],
            },
            source: UploadSource::Bytes {
                name: "a.jpg".into(),
                bytes: Arc::from(&b"\x00\xff bytes"[..]),
            },
            headers: vec![("Authorization".into(), "Bearer t".into())],
            original: true,
            content_type: Some("image/jpeg".into()),
            recompress: Some(super::super::Recompress {
                max_edge: Some(1024),
                ..Default::default()
            }),
        };
        let id = journal.record(None, &spec, 3, "HTTP status 503").unwrap();
        let list = journal.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].spec, spec);
        assert_eq!(
            (list[0].attempts, list[0].error.as_str()),
            (3, "HTTP status 503")
        );
        journal.record(Some(&id), &spec, 4, "again").unwrap();
        assert_eq!(journal.list().unwrap()[0].attempts, 4);
        journal.remove(&id);
        assert!(journal.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
