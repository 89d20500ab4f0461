//! The on-disk format of one cache entry.
//!
//! Owns: encoding and decoding an entry file and its checksums. Must not touch: the file
//! system; it works on bytes, so the IO thread decides how files are written and renamed.
//!
//! Layout: the body first, so that a read hands it out by truncating the buffer instead of
//! copying it, then the metadata, then a fixed trailer:
//!
//! ```text
//! [body][metadata][body_len u64][meta_len u32][crc32 body u32][crc32 meta u32][magic 8 bytes]
//! ```
//!
//! A file that is short, has a wrong length, a wrong magic or a wrong checksum is corrupt.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"WIMGent1";
const TRAILER: usize = 8 + 4 + 4 + 4 + 8;
/// Longest metadata accepted (URLs and headers); a longer one is not written, and one read back
/// is corrupt.
pub(crate) const MAX_META: usize = 1 << 20;

/// What is stored beside the bytes: enough to rebuild the HTTP caching policy and to answer
/// questions about the entry without the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    /// The cache key (the filtered URL) the entry is stored under.
    pub(crate) key: String,
    /// The URL that was downloaded.
    pub(crate) url: String,
    /// When the response was received (the base of its freshness).
    pub(crate) stored_at: SystemTime,
    /// HTTP status of the stored response.
    pub(crate) status: u16,
    /// Request headers that were sent (without credentials), for `Vary`.
    pub(crate) request_headers: Vec<(String, Vec<u8>)>,
    /// Response headers (`Cache-Control`, `Expires`, `ETag`, `Last-Modified`, ...).
    pub(crate) response_headers: Vec<(String, Vec<u8>)>,
}

impl EntryMeta {
    /// The first response header called `name` (case-insensitive), as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// Why bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Corrupt(pub(crate) &'static str);

/// The metadata and trailer to write after `body`; `None` if the metadata is over [`MAX_META`].
pub(crate) fn encode_tail(body: &[u8], meta: &EntryMeta) -> Option<Vec<u8>> {
    let mut m = Vec::with_capacity(256);
    put_bytes(&mut m, meta.key.as_bytes());
    put_bytes(&mut m, meta.url.as_bytes());
    let since = meta
        .stored_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    m.extend_from_slice(&since.as_secs().to_le_bytes());
    m.extend_from_slice(&since.subsec_nanos().to_le_bytes());
    m.extend_from_slice(&meta.status.to_le_bytes());
    for headers in [&meta.request_headers, &meta.response_headers] {
        m.extend_from_slice(&(headers.len() as u32).to_le_bytes());
        for (name, value) in headers {
            put_bytes(&mut m, name.as_bytes());
            put_bytes(&mut m, value);
        }
    }
    if m.len() > MAX_META {
        return None;
    }
    let meta_crc = crc32fast::hash(&m);
    let meta_len = m.len() as u32;
    m.extend_from_slice(&(body.len() as u64).to_le_bytes());
    m.extend_from_slice(&meta_len.to_le_bytes());
    m.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    m.extend_from_slice(&meta_crc.to_le_bytes());
    m.extend_from_slice(MAGIC);
    Some(m)
}

/// Splits a whole entry file into its body (the same allocation, truncated) and metadata.
pub(crate) fn decode(mut file: Vec<u8>) -> Result<(Vec<u8>, EntryMeta), Corrupt> {
    let (body_len, meta_len, body_crc, meta_crc) = trailer(&file)?;
    let expected = body_len
        .checked_add(meta_len)
        .and_then(|n| n.checked_add(TRAILER));
    if expected != Some(file.len()) {
        return Err(Corrupt("length does not match the trailer"));
    }
    let meta_bytes = &file[body_len..body_len + meta_len];
    if crc32fast::hash(meta_bytes) != meta_crc {
        return Err(Corrupt("metadata checksum mismatch"));
    }
    let meta = parse_meta(meta_bytes)?;
    if crc32fast::hash(&file[..body_len]) != body_crc {
        return Err(Corrupt("body checksum mismatch"));
    }
    file.truncate(body_len);
    Ok((file, meta))
}

/// Reads the trailer at the end of `tail` (which may be just the last bytes of a file).
/// Returns `(body_len, meta_len, body_crc, meta_crc)`.
pub(crate) fn trailer(tail: &[u8]) -> Result<(usize, usize, u32, u32), Corrupt> {
    if tail.len() < TRAILER {
        return Err(Corrupt("shorter than the trailer"));
    }
    let t = &tail[tail.len() - TRAILER..];
    if &t[20..28] != MAGIC {
        return Err(Corrupt("bad magic"));
    }
    let body_len = u64::from_le_bytes(t[0..8].try_into().expect("8 bytes"));
    let meta_len = u32::from_le_bytes(t[8..12].try_into().expect("4 bytes")) as usize;
    if meta_len > MAX_META {
        return Err(Corrupt("metadata too long"));
    }
    let body_len = usize::try_from(body_len).map_err(|_| Corrupt("body too long"))?;
    let body_crc = u32::from_le_bytes(t[12..16].try_into().expect("4 bytes"));
    let meta_crc = u32::from_le_bytes(t[16..20].try_into().expect("4 bytes"));
    Ok((body_len, meta_len, body_crc, meta_crc))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Parses metadata bytes whose checksum has been verified.
pub(crate) fn parse_meta(mut m: &[u8]) -> Result<EntryMeta, Corrupt> {
    fn take<'a>(m: &mut &'a [u8], n: usize) -> Result<&'a [u8], Corrupt> {
        if m.len() < n {
            return Err(Corrupt("metadata truncated"));
        }
        let (head, rest) = m.split_at(n);
        *m = rest;
        Ok(head)
    }
    fn u32_(m: &mut &[u8]) -> Result<u32, Corrupt> {
        Ok(u32::from_le_bytes(take(m, 4)?.try_into().expect("4 bytes")))
    }
    fn bytes(m: &mut &[u8]) -> Result<Vec<u8>, Corrupt> {
        let n = u32_(m)? as usize;
        Ok(take(m, n)?.to_vec())
    }
    fn text(m: &mut &[u8]) -> Result<String, Corrupt> {
        String::from_utf8(bytes(m)?).map_err(|_| Corrupt("metadata text is not UTF-8"))
    }
    let key = text(&mut m)?;
    let url = text(&mut m)?;
    let secs = u64::from_le_bytes(take(&mut m, 8)?.try_into().expect("8 bytes"));
    let nanos = u32_(&mut m)?;
    let stored_at = UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos.min(999_999_999)))
        .ok_or(Corrupt("time out of range"))?;
    let status = u16::from_le_bytes(take(&mut m, 2)?.try_into().expect("2 bytes"));
    let mut lists = [Vec::new(), Vec::new()];
    for list in &mut lists {
        let n = u32_(&mut m)? as usize;
        if n > 1024 {
            return Err(Corrupt("too many headers"));
        }
        for _ in 0..n {
            list.push((text(&mut m)?, bytes(&mut m)?));
        }
    }
    let [request_headers, response_headers] = lists;
    if !m.is_empty() {
        return Err(Corrupt("trailing metadata"));
    }
    Ok(EntryMeta {
        key,
        url,
        stored_at,
        status,
        request_headers,
        response_headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> EntryMeta {
        EntryMeta {
            key: "https://h/a.png".into(),
            url: "https://h/a.png?sig=1".into(),
            stored_at: UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            status: 200,
            request_headers: vec![("accept".into(), b"image/*".to_vec())],
            response_headers: vec![
                ("etag".into(), b"\"v1\"".to_vec()),
                ("Content-Type".into(), b"image/png".to_vec()),
            ],
        }
    }

    fn file(body: &[u8]) -> Vec<u8> {
        let mut f = body.to_vec();
        f.extend_from_slice(&encode_tail(body, &meta()).unwrap());
        f
    }

    #[test]
    fn round_trip_keeps_everything() {
        let (body, m) = decode(file(b"pixels")).unwrap();
        assert_eq!(body, b"pixels");
        assert_eq!(m, meta());
        assert_eq!(m.header("content-type"), Some("image/png"));
        assert_eq!(m.header("ETag"), Some("\"v1\""));
    }

    #[test]
    fn a_trailer_declaring_huge_lengths_is_corrupt_not_a_panic() {
        let mut f = Vec::new();
        f.extend_from_slice(&(u64::MAX - 100).to_le_bytes());
        f.extend_from_slice(&100u32.to_le_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(MAGIC);
        assert!(decode(f).is_err());
        let mut long = meta();
        long.url = "x".repeat(MAX_META + 1);
        assert!(encode_tail(b"", &long).is_none());
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_detected() {
        let good = file(&(0..200u8).collect::<Vec<_>>());
        for len in 0..good.len() {
            assert!(decode(good[..len].to_vec()).is_err(), "truncated to {len}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            assert!(decode(bad).is_err(), "flipped byte {i}");
        }
    }
}
