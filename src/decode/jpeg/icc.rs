//! The APP2 ICC profile of a JPEG: recognising its chunks (ICC.1, B.4: `ICC_PROFILE\0`, a
//! sequence number from 1, the chunk count, then the data) and assembling them.
//!
//! Owns: [`IccChunk`] and the assembly rules. Must not touch: the profile's contents (the
//! colour module parses them), other markers.

/// How an APP2 payload that holds a chunk of an ICC profile starts.
const ICC_HEADER: &[u8] = b"ICC_PROFILE\0";

/// One APP2 chunk of an ICC profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IccChunk {
    /// Its sequence number, from 1.
    seq: u8,
    /// How many chunks the profile says it has.
    count: u8,
    /// Where its share of the profile lies in the file.
    data: std::ops::Range<usize>,
}

/// The ICC chunk in an APP2 `payload` that starts at `start` in the file, if it is one.
pub(super) fn icc_chunk(payload: &[u8], start: usize) -> Option<IccChunk> {
    let rest = payload.strip_prefix(ICC_HEADER)?;
    let [seq, count, ..] = *rest else {
        return None;
    };
    let from = start + ICC_HEADER.len() + 2;
    Some(IccChunk {
        seq,
        count,
        data: from..start + payload.len(),
    })
}

/// The profile `chunks` of `data` make, in sequence order, as libjpeg-turbo's
/// `jpeg_read_icc_profile` assembles it: every chunk must give the same count, each sequence
/// number from 1 to the count exactly once, and the whole at most `max` bytes; otherwise the
/// profile is unusable (the error says why). No chunks: `None`.
pub(super) fn assemble_icc(
    data: &[u8],
    chunks: &[IccChunk],
    max: usize,
) -> Result<Option<Vec<u8>>, &'static str> {
    let Some(first) = chunks.first() else {
        return Ok(None);
    };
    let count = usize::from(first.count);
    if count == 0 || chunks.len() != count || chunks.iter().any(|c| c.count != first.count) {
        return Err("ICC profile chunks do not add up to their count");
    }
    let mut ordered: Vec<Option<&IccChunk>> = vec![None; count];
    for c in chunks {
        match ordered.get_mut(usize::from(c.seq).wrapping_sub(1)) {
            Some(slot @ None) => *slot = Some(c),
            _ => return Err("ICC profile chunk numbered twice or out of range"),
        }
    }
    let total: usize = chunks.iter().map(|c| c.data.len()).sum();
    if total > max {
        return Err("ICC profile over the size cap");
    }
    let mut profile = Vec::with_capacity(total);
    for c in ordered.into_iter().flatten() {
        profile.extend_from_slice(data.get(c.data.clone()).unwrap_or_default());
    }
    Ok(Some(profile))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::jpeg::markers::SOI;

    /// A file of APP2 segments `(seq, count, data)`, and their chunks as `read_header`
    /// collects them.
    fn app2(segments: &[(u8, u8, &[u8])]) -> (Vec<u8>, Vec<IccChunk>) {
        let mut file = vec![0xFF, SOI];
        let mut chunks = Vec::new();
        for &(seq, count, data) in segments {
            let mut payload = ICC_HEADER.to_vec();
            payload.extend_from_slice(&[seq, count]);
            payload.extend_from_slice(data);
            file.extend_from_slice(&[0xFF, 0xE2]);
            file.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            let start = file.len();
            file.extend_from_slice(&payload);
            chunks.extend(icc_chunk(&payload, start));
        }
        (file, chunks)
    }

    #[test]
    fn icc_chunks_assemble_in_sequence_order() {
        let (file, chunks) = app2(&[(2, 3, b"def"), (1, 3, b"abc"), (3, 3, b"g")]);
        assert_eq!(
            assemble_icc(&file, &chunks, 100),
            Ok(Some(b"abcdefg".to_vec()))
        );
        assert_eq!(assemble_icc(&file, &[], 100), Ok(None));
        assert!(assemble_icc(&file, &chunks, 6).is_err(), "over the cap");
        assert_eq!(icc_chunk(b"ICC_PROFILE\0\x01", 0), None, "no count byte");
        assert_eq!(icc_chunk(b"XMP", 0), None);
    }

    #[test]
    fn inconsistent_icc_chunks_are_refused() {
        for segments in [
            &[(1u8, 2u8, &b"ab"[..])][..],   // one missing
            &[(1, 2, b"ab"), (1, 2, b"cd")], // numbered twice
            &[(1, 2, b"ab"), (3, 2, b"cd")], // out of range
            &[(0, 1, b"ab")],                // sequence numbers start at 1
            &[(1, 2, b"ab"), (2, 3, b"cd")], // counts differ
            &[(1, 0, b"ab")],                // no chunks at all
            &[(1, 1, b"ab"), (1, 1, b"cd")], // more chunks than the count
        ] {
            let (file, chunks) = app2(segments);
            assert!(assemble_icc(&file, &chunks, 100).is_err(), "{segments:?}");
        }
    }
}
