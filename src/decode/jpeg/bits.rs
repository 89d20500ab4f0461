//! Bit reader over JPEG entropy-coded data.
//!
//! Owns the byte-level details of an entropy-coded segment: MSB-first bit
//! order, `0xFF 0x00` byte unstuffing, stopping at markers (after a marker or
//! at the end of the data it feeds zero bits, like libjpeg), detecting when
//! the decoder has consumed such padding ("overrun"), and checking restart
//! markers. Refills take 8 bytes at once when they contain no `0xFF`.
//!
//! Must not touch: Huffman tables or what the bits mean.

use super::markers::find_marker_or_rst;

/// MSB-first bit reader with a 64-bit buffer.
///
/// Invariant: the `nbits` valid bits are left-aligned in `buf` (the next bit
/// is bit 63), all bits below them are zero.
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into the buffer.
    pos: usize,
    buf: u64,
    nbits: u32,
    /// Number of zero padding bits (fed after a marker / end of data) that
    /// sit at the bottom of the buffer.
    pad_bits: u32,
    /// A marker (or the end of the data) was reached: only padding follows.
    hit_marker: bool,
}

/// True if any byte of `v` is 0xFF.
#[inline(always)]
fn has_ff(v: u64) -> bool {
    let x = !v;
    (x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080) != 0
}

impl<'a> BitReader<'a> {
    /// Starts reading entropy-coded data at `data[pos..]`.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader {
            data,
            pos,
            buf: 0,
            nbits: 0,
            pad_bits: 0,
            hit_marker: false,
        }
    }

    /// Byte position just after the last byte loaded into the buffer. The
    /// next marker of the stream is at or after this position.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// True once the decoder consumed bits that were padding (it read past a
    /// marker or the end of the data): the segment's data is exhausted.
    #[inline(always)]
    pub(super) fn overrun(&self) -> bool {
        self.nbits < self.pad_bits
    }

    /// The buffer and its bit count, for hot loops that keep them in local
    /// variables (registers) and hand them back with [`Self::set_raw`].
    #[inline(always)]
    pub(super) fn raw(&self) -> (u64, u32) {
        (self.buf, self.nbits)
    }

    /// Restores the state taken with [`Self::raw`] after consuming bits.
    #[inline(always)]
    pub(super) fn set_raw(&mut self, buf: u64, nbits: u32) {
        self.buf = buf;
        self.nbits = nbits;
    }

    /// Refills a local copy of the buffer taken with [`Self::raw`].
    #[inline(always)]
    pub(super) fn refill_raw(&mut self, buf: &mut u64, nbits: &mut u32) {
        self.set_raw(*buf, *nbits);
        self.refill();
        (*buf, *nbits) = self.raw();
    }

    /// Makes sure at least `n` (<= 57) bits are buffered.
    #[inline(always)]
    pub(super) fn ensure(&mut self, n: u32) {
        if self.nbits < n {
            self.refill();
        }
    }

    /// Fills the buffer to at least 57 bits.
    #[inline]
    fn refill(&mut self) {
        if !self.hit_marker
            && let Some(chunk) = self.data.get(self.pos..).and_then(|s| s.first_chunk::<8>())
        {
            let v = u64::from_be_bytes(*chunk);
            if !has_ff(v) {
                // nbits < 57 here, so at least one whole byte fits.
                let nbytes = (64 - self.nbits) / 8;
                let take = v >> (64 - 8 * nbytes);
                self.buf |= take << (64 - self.nbits - 8 * nbytes);
                self.nbits += 8 * nbytes;
                self.pos += nbytes as usize;
                return;
            }
        }
        self.refill_slow();
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.nbits <= 56 {
            let byte = if self.hit_marker {
                self.pad_bits = self.pad_bits.saturating_add(8);
                0
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) => {
                        if self.data.get(self.pos + 1) == Some(&0x00) {
                            self.pos += 2;
                            0xFF
                        } else {
                            // A marker (or fill bytes before one): stop here.
                            self.hit_marker = true;
                            self.pad_bits = self.pad_bits.saturating_add(8);
                            0
                        }
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                    None => {
                        self.hit_marker = true;
                        self.pad_bits = self.pad_bits.saturating_add(8);
                        0
                    }
                }
            };
            self.buf |= u64::from(byte) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    /// The next `n` bits (1..=32) without consuming them. Needs `ensure(n)`.
    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    /// Drops `n` (0..=32) bits. Needs `ensure(n)`.
    #[inline(always)]
    pub(super) fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.nbits -= n;
    }

    /// Reads `n` (0..=16) bits as an unsigned number.
    #[inline(always)]
    pub(super) fn get_bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        self.ensure(n);
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// Reads one bit.
    #[inline(always)]
    pub(super) fn get_bit(&mut self) -> bool {
        self.ensure(1);
        let v = self.buf >> 63;
        self.consume(1);
        v != 0
    }

    /// Reads `s` (1..=15) bits and sign-extends them as JPEG "additional
    /// bits" (F.2.2.1 EXTEND). Needs `ensure(s)`.
    #[inline(always)]
    pub(super) fn receive_extend(&mut self, s: u32) -> i32 {
        let v = self.peek(s);
        self.consume(s);
        extend(v, s)
    }

    /// Handles a restart marker: drops buffered bits, skips to the next
    /// marker and consumes it if it is `RST<expected>`, returning true. Any
    /// other marker (or the end of the data) is left in place and the result
    /// is false: the scan ends there.
    pub(super) fn restart(&mut self, expected: u8) -> bool {
        self.buf = 0;
        self.nbits = 0;
        self.pad_bits = 0;
        self.hit_marker = false;
        let m = find_marker_or_rst(self.data, self.pos);
        if self.data.get(m + 1) == Some(&(0xD0 + (expected & 7))) {
            self.pos = m + 2;
            true
        } else {
            self.pos = m;
            self.hit_marker = true;
            false
        }
    }
}

/// JPEG EXTEND: maps the `s`-bit magnitude category value `v` to a signed
/// number. `s` in 1..=16.
#[inline(always)]
pub(super) fn extend(v: u32, s: u32) -> i32 {
    let v = v as i32;
    if v < (1 << (s - 1)) {
        v - (1 << s) + 1
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstuffs_and_pads_after_marker() {
        let data = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9, 0x56];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.get_bits(8), 0x12);
        assert_eq!(r.get_bits(8), 0xFF);
        assert_eq!(r.get_bits(4), 0x3);
        assert!(!r.overrun());
        assert_eq!(r.get_bits(4), 0x4);
        assert!(!r.overrun());
        assert_eq!(r.get_bits(16), 0);
        assert!(r.overrun());
        assert_eq!(r.position(), 4);
    }

    #[test]
    fn fast_refill_matches_slow() {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        let mut r = BitReader::new(&data, 0);
        for &b in &data {
            if b == 0xFF {
                break;
            }
            assert_eq!(r.get_bits(3) << 5 | r.get_bits(5), u32::from(b));
        }
    }

    #[test]
    fn extend_values() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0, 3), -7);
        assert_eq!(extend(3, 3), -4);
        assert_eq!(extend(4, 3), 4);
    }
}
