//! The bytes of one upload as a stream with a known length: a file read from disk as it is
//! sent, or bytes in memory; raw (`PUT`) or wrapped in multipart/form-data (`POST`).
//!
//! Owns: the multipart framing, the length computation, and counting bytes as they go (for
//! progress and to stop a cancelled upload). Must not touch: the network or the journal.
//!
//! Why not `ureq`'s own multipart `Form`: a part read through a wrapper (needed for progress
//! and cancellation) has no known size there, which forces chunked encoding, and presigned
//! object-store endpoints want a `Content-Length`; its API is also marked unversioned.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::sync::Arc;

/// The content of an upload, opened for sending.
pub(crate) enum Content {
    /// A file and the length announced for it: exactly that many bytes are sent, and a file
    /// that shrinks or grows meanwhile is an error (never a body shorter than its
    /// `Content-Length`, which would wait forever).
    File {
        file: File,
        left: u64,
    },
    Bytes(Cursor<Arc<[u8]>>),
}

impl Content {
    pub(crate) fn file(file: File, len: u64) -> Content {
        Content::File { file, left: len }
    }
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Content::File { file, left } => {
                if *left == 0 {
                    // Anything more means the file grew after its length was sent.
                    return match file.read(&mut [0u8; 1])? {
                        0 => Ok(0),
                        _ => Err(io::Error::other("the file grew while it was being sent")),
                    };
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = file.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was being sent",
                    ));
                }
                *left -= n as u64;
                Ok(n)
            }
            Content::Bytes(c) => c.read(buf),
        }
    }
}

/// A multipart/form-data frame around one file part.
pub(crate) struct Multipart {
    pub(crate) boundary: String,
    pub(crate) head: Vec<u8>,
    pub(crate) tail: Vec<u8>,
}

/// Escapes a value for a `Content-Disposition` quoted string.
fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], " ")
}

/// A boundary that does not occur in practice: 32 random hex digits.
fn boundary() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::from("webimage-");
    for _ in 0..2 {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

impl Multipart {
    /// The frame for a file field `field` named `file_name`, after text fields `fields`.
    pub(crate) fn new(
        field: &str,
        file_name: &str,
        content_type: &str,
        fields: &[(String, String)],
    ) -> Multipart {
        let boundary = boundary();
        let mut head = Vec::new();
        for (name, value) in fields {
            head.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                    quoted(name)
                )
                .as_bytes(),
            );
        }
        head.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
                quoted(field),
                quoted(file_name)
            )
            .as_bytes(),
        );
        let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
        Multipart {
            boundary,
            head,
            tail,
        }
    }

    /// `Content-Type` of the request.
    pub(crate) fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// The error a stopped body reader returns.
#[derive(Debug)]
pub(crate) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upload stopped")
    }
}

impl std::error::Error for Stopped {}

/// What the body reader reports as it goes.
pub(crate) struct Meter<'a> {
    pub(crate) sent: u64,
    pub(crate) total: u64,
    pub(crate) progress: &'a mut dyn FnMut(u64, u64),
    pub(crate) stop: &'a dyn Fn() -> bool,
}

/// Multipart head, then the content, then the closing boundary.
type Framed = io::Chain<io::Chain<Cursor<Vec<u8>>, Content>, Cursor<Vec<u8>>>;

/// A body being sent: prefix, content, suffix; stops with an error when `stop` is set.
pub(crate) struct BodyReader<'a> {
    parts: Framed,
    meter: Meter<'a>,
    /// Set when the progress closure panicked: it is not called again.
    progress_broken: bool,
}

impl<'a> BodyReader<'a> {
    pub(crate) fn new(
        prefix: Vec<u8>,
        content: Content,
        suffix: Vec<u8>,
        meter: Meter<'a>,
    ) -> Self {
        BodyReader {
            parts: Cursor::new(prefix)
                .chain(content)
                .chain(Cursor::new(suffix)),
            meter,
            progress_broken: false,
        }
    }
}

impl BodyReader<'_> {
    /// Bytes read out so far.
    pub(crate) fn sent(&self) -> u64 {
        self.meter.sent
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.meter.stop)() {
            // Not `Interrupted`: readers retry that kind.
            return Err(io::Error::other(Stopped));
        }
        let n = self.parts.read(buf)?;
        self.meter.sent += n as u64;
        if n > 0 && !self.progress_broken {
            let (sent, total) = (self.meter.sent, self.meter.total);
            let progress = &mut self.meter.progress;
            let call = std::panic::AssertUnwindSafe(|| progress(sent, total));
            self.progress_broken = std::panic::catch_unwind(call).is_err();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_frame_and_length() {
        let m = Multipart::new(
            "file",
            "a\"b.jpg",
            "image/jpeg",
            &[("k".into(), "v".into())],
        );
        let content = Content::Bytes(Cursor::new(Arc::from(&b"DATA"[..])));
        let stop = || false;
        let mut calls = 0;
        let mut progress = |_, _| calls += 1;
        let total = (m.head.len() + 4 + m.tail.len()) as u64;
        let meter = Meter {
            sent: 0,
            total,
            progress: &mut progress,
            stop: &stop,
        };
        let mut body = Vec::new();
        BodyReader::new(m.head.clone(), content, m.tail.clone(), meter)
            .read_to_end(&mut body)
            .unwrap();
        assert_eq!(body.len() as u64, total);
        let text = String::from_utf8(body).unwrap();
        let b = &m.boundary;
        assert!(text.starts_with(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n"
        )));
        assert!(text.contains(
            "name=\"file\"; filename=\"a\\\"b.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nDATA\r\n"
        ));
        assert!(text.ends_with(&format!("\r\n--{b}--\r\n")));
        assert!(calls >= 1);
    }

    #[test]
    fn a_file_that_shrinks_or_grows_is_an_error_not_a_short_body() {
        let path = std::env::temp_dir().join(format!("webimage-body-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let mut shrunk = Content::file(File::open(&path).unwrap(), 20);
        let mut out = Vec::new();
        assert!(shrunk.read_to_end(&mut out).is_err());
        let mut grown = Content::file(File::open(&path).unwrap(), 5);
        assert!(grown.read_to_end(&mut Vec::new()).is_err());
        let mut exact = Content::file(File::open(&path).unwrap(), 10);
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"0123456789");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_set_stop_flag_ends_the_stream() {
        let stop = || true;
        let mut progress = |_, _| {};
        let meter = Meter {
            sent: 0,
            total: 4,
            progress: &mut progress,
            stop: &stop,
        };
        let content = Content::Bytes(Cursor::new(Arc::from(&b"DATA"[..])));
        let mut r = BodyReader::new(Vec::new(), content, Vec::new(), meter);
        assert!(r.read(&mut [0; 8]).is_err());
    }
}
