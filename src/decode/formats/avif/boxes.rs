//! ISO BMFF boxes, read strictly from a byte slice: the building block of the AVIF container.
//!
//! Owns: bounds-checked big-endian reads ([`Reader`]), box headers (32-bit, 64-bit and
//! to-the-end sizes, `uuid` types), and walking the boxes of one level ([`children`]). Must
//! not touch: what any box means (`meta.rs` and `track.rs` read those).
//!
//! Strictness: a box that claims more bytes than its parent holds, a size smaller than its
//! own header, or a read past the end of a box is an error, never a clamp, so a damaged file
//! is refused rather than misread. Nothing here allocates: boxes are views into the file, and
//! every walk costs at most the bytes it walks.

/// A failure to read the container, as a message for [`DecodeError::Corrupt`](crate::decode::DecodeError).
pub(crate) type Bad = String;

/// A cursor over one box's payload.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The box being read, for messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { data, pos: 0, what }
    }

    fn short(&self) -> Bad {
        format!("the '{}' box ends early", self.what)
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| self.short())?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Bad> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Bad> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// An unsigned integer of `size` bytes (0, 4 or 8, as `iloc` sizes its fields).
    pub(crate) fn uint(&mut self, size: u8) -> Result<u64, Bad> {
        match size {
            0 => Ok(0),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => Err(format!("a {size}-byte field in '{}'", self.what)),
        }
    }

    pub(crate) fn fourcc(&mut self) -> Result<[u8; 4], Bad> {
        self.array()
    }

    /// A full box's version and flags.
    pub(crate) fn version_flags(&mut self) -> Result<(u8, u32), Bad> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), Bad> {
        self.bytes(n).map(|_| ())
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }

    /// A NUL-terminated string (the NUL consumed), or the rest if there is none.
    pub(crate) fn c_str(&mut self) -> &'a [u8] {
        let rest = &self.data[self.pos..];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.pos += (len + 1).min(rest.len());
        &rest[..len]
    }

    /// Bytes left.
    pub(crate) fn left(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// One box: its type and payload, and where the payload starts in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoxRef<'a> {
    pub(crate) kind: [u8; 4],
    pub(crate) body: &'a [u8],
    /// Offset of `body` in the whole file.
    pub(crate) offset: usize,
}

impl<'a> BoxRef<'a> {
    /// A reader over the payload.
    pub(crate) fn reader(&self, what: &'static str) -> Reader<'a> {
        Reader::new(self.body, what)
    }

    /// The boxes inside this one, after `skip` header bytes (4 for a full box).
    pub(crate) fn children(&self, skip: usize) -> Children<'a> {
        let skip = skip.min(self.body.len());
        Children {
            data: &self.body[skip..],
            pos: 0,
            base: self.offset + skip,
        }
    }
}

/// The boxes of one level, in order.
pub(crate) struct Children<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

/// The top-level boxes of a file.
pub(crate) fn top(file: &[u8]) -> Children<'_> {
    Children {
        data: file,
        pos: 0,
        base: 0,
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<BoxRef<'a>, Bad>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let out = self.read();
        if out.is_err() {
            // One error ends the walk.
            self.pos = self.data.len();
        }
        Some(out)
    }
}

impl<'a> Children<'a> {
    fn read(&mut self) -> Result<BoxRef<'a>, Bad> {
        let rest = &self.data[self.pos..];
        let mut r = Reader::new(rest, "box header");
        let size = r.u32()?;
        let kind = r.fourcc()?;
        let size = match size {
            0 => rest.len() as u64,
            1 => r.u64()?,
            n => u64::from(n),
        };
        if &kind == b"uuid" {
            r.skip(16)?;
        }
        let header = r.pos;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size < header {
            return Err(format!(
                "box '{}' is smaller than its header",
                String::from_utf8_lossy(&kind)
            ));
        }
        if size > rest.len() {
            return Err(format!(
                "box '{}' runs past the end of its parent (the file may be truncated)",
                String::from_utf8_lossy(&kind)
            ));
        }
        let out = BoxRef {
            kind,
            body: &rest[header..size],
            offset: self.base + self.pos + header,
        };
        self.pos += size;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn walks_boxes_and_refuses_oversized_ones() {
        let mut file = boxed(b"ftyp", b"avif");
        file.extend(boxed(b"free", &[1, 2, 3]));
        let boxes: Vec<_> = top(&file).collect::<Result<_, _>>().unwrap();
        assert_eq!(boxes.len(), 2);
        assert_eq!(&boxes[1].kind, b"free");
        assert_eq!(boxes[1].body, &[1, 2, 3]);
        assert_eq!(boxes[1].offset, 12 + 8);
        // A box claiming more than the file holds.
        let mut bad = file.clone();
        bad[12..16].copy_from_slice(&1000u32.to_be_bytes());
        let walked: Vec<_> = top(&bad).collect();
        assert_eq!(walked.len(), 2);
        assert!(walked[1].as_ref().unwrap_err().contains("past the end"));
        // Smaller than its header; a 64-bit size; size 0 runs to the end.
        bad[12..16].copy_from_slice(&4u32.to_be_bytes());
        assert!(top(&bad).nth(1).unwrap().is_err());
        let mut large = 1u32.to_be_bytes().to_vec();
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&19u64.to_be_bytes());
        large.extend_from_slice(&[7, 7, 7]);
        let b = top(&large).next().unwrap().unwrap();
        assert_eq!(b.body, &[7, 7, 7]);
        let mut to_end = 0u32.to_be_bytes().to_vec();
        to_end.extend_from_slice(b"mdat");
        to_end.extend_from_slice(&[9; 5]);
        assert_eq!(top(&to_end).next().unwrap().unwrap().body, &[9; 5]);
    }

    #[test]
    fn reads_are_bounds_checked() {
        let mut r = Reader::new(&[0, 1, 2], "test");
        assert_eq!(r.u16().unwrap(), 1);
        assert!(r.u32().is_err());
        assert_eq!(r.u8().unwrap(), 2);
        assert!(r.u8().is_err());
        assert!(Reader::new(&[0; 8], "t").uint(3).is_err());
        let mut s = Reader::new(b"urn:x\0rest", "t");
        assert_eq!(s.c_str(), b"urn:x");
        assert_eq!(s.rest(), b"rest");
    }
}
