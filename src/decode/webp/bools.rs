//! VP8's boolean entropy decoder (RFC 6386 section 7).
//!
//! Owns: reading one partition's bits, each with its probability, and noticing when a
//! partition runs out. Must not touch: what the bits mean (`header`, `modes`, `residuals`).
//!
//! The value window is a `u64` refilled seven bytes at a time (one byte at a time near the
//! end), so most bits cost a multiply, a compare and a shift. Past the end of its bytes the
//! decoder reads zeros and sets [`BoolDecoder::eof`]; the frame decoder checks it after every
//! macroblock and fails the decode, as libwebp does, so a truncated partition costs at most
//! one macroblock's work past its data.

/// For a range minus one `r` (0..=254): how far to shift the range back to 128..=255, and
/// the shifted range minus one.
static NORMALISE: [(u8, u8); 256] = {
    let mut t = [(0u8, 0u8); 256];
    let mut r = 0;
    while r < 256 {
        let mut v = r + 1;
        let mut shift = 0;
        while v < 128 {
            v <<= 1;
            shift += 1;
        }
        t[r] = (shift, (v - 1) as u8);
        r += 1;
    }
    t
};

/// One partition's boolean decoder.
pub(super) struct BoolDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// The bits read but not yet consumed, left-aligned: the current 8-bit window is the top
    /// byte, so the comparisons use constant shifts.
    value: u64,
    /// How many of `value`'s top bits are data (at least 8 between bits; refilled below).
    avail: i32,
    /// The range minus one (127..=254 between bits).
    range: u32,
    eof: bool,
}

impl<'a> BoolDecoder<'a> {
    /// A decoder over `data` (RFC 7.3: range 255, the first bytes in the window).
    pub(super) fn new(data: &'a [u8]) -> BoolDecoder<'a> {
        let mut d = BoolDecoder {
            data,
            pos: 0,
            value: 0,
            avail: 0,
            range: 254,
            eof: false,
        };
        d.refill();
        d
    }

    /// Whether the decoder has needed bytes past the end of its partition.
    pub(super) fn eof(&self) -> bool {
        self.eof
    }

    /// Tops `value` up to at least 57 bits of data (`avail` is under 8 when called).
    #[inline]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // Seven new bytes just below the `avail` bits already there.
            self.value |= (u64::from_be_bytes(word) >> 8) << (8 - self.avail);
            self.pos += 7;
            self.avail += 56;
        } else {
            self.refill_slow();
        }
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.avail <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => {
                    // Past the end: zeros, as libwebp reads, and the partition is marked.
                    if self.avail >= 8 {
                        return;
                    }
                    self.eof = true;
                    0
                }
            };
            self.value |= u64::from(byte) << (56 - self.avail);
            self.avail += 8;
        }
    }

    /// One bit whose probability of being 0 is `prob / 256`.
    #[inline(always)]
    pub(super) fn bit(&mut self, prob: u8) -> bool {
        if self.avail < 8 {
            self.refill();
        }
        let split = (self.range * u32::from(prob)) >> 8;
        let window = (self.value >> 56) as u32;
        let one = window > split;
        let range = if one {
            self.value -= u64::from(split + 1) << 56;
            self.range - split - 1
        } else {
            split
        };
        // Renormalise: the range back to 128..=255 (stored minus one), from a table.
        let (shift, renormalised) = NORMALISE[range as usize & 0xff];
        self.range = u32::from(renormalised);
        self.value <<= shift;
        self.avail -= i32::from(shift);
        one
    }

    /// An unsigned `n`-bit literal, most significant bit first (probability 128 each).
    pub(super) fn literal(&mut self, n: u32) -> u32 {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit(128));
        }
        v
    }

    /// A flag-prefixed signed `n`-bit value (RFC 9.3's delta syntax: magnitude then sign), or 0.
    pub(super) fn optional_signed(&mut self, n: u32) -> i32 {
        if !self.bit(128) {
            return 0;
        }
        let magnitude = self.literal(n) as i32;
        if self.bit(128) { -magnitude } else { magnitude }
    }

    /// `v` or `-v`, by one bit of probability 128 (a coefficient's sign).
    #[inline(always)]
    pub(super) fn signed(&mut self, v: i32) -> i32 {
        if self.bit(128) { -v } else { v }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6386 section 7.3's encoder, to check the decoder against.
    struct Encoder {
        out: Vec<u8>,
        range: u32,
        bottom: u32,
        bit_count: i32,
    }

    impl Encoder {
        fn new() -> Encoder {
            Encoder {
                out: Vec::new(),
                range: 255,
                bottom: 0,
                bit_count: 24,
            }
        }

        fn add_one_to_output(&mut self) {
            let mut i = self.out.len();
            while i > 0 {
                i -= 1;
                if self.out[i] == 255 {
                    self.out[i] = 0;
                } else {
                    self.out[i] += 1;
                    break;
                }
            }
        }

        fn put(&mut self, prob: u8, bit: bool) {
            let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
            if bit {
                self.bottom = self.bottom.wrapping_add(split);
                self.range -= split;
            } else {
                self.range = split;
            }
            while self.range < 128 {
                self.range <<= 1;
                if self.bottom & (1 << 31) != 0 {
                    self.add_one_to_output();
                }
                self.bottom <<= 1;
                self.bit_count -= 1;
                if self.bit_count == 0 {
                    self.out.push((self.bottom >> 24) as u8);
                    self.bottom &= (1 << 24) - 1;
                    self.bit_count = 8;
                }
            }
        }

        fn finish(mut self) -> Vec<u8> {
            for _ in 0..32 {
                self.put(128, false);
            }
            self.out
        }
    }

    #[test]
    fn decodes_what_the_rfc_encoder_wrote() {
        let mut rng = 12345u32;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            rng
        };
        let symbols: Vec<(u8, bool)> = (0..20_000)
            .map(|_| {
                let prob = (next() % 255 + 1) as u8;
                // Bits follow their probability roughly, as real data does.
                let bit = (next() % 256) >= u32::from(prob);
                (prob, bit)
            })
            .collect();
        let mut e = Encoder::new();
        for &(p, b) in &symbols {
            e.put(p, b);
        }
        let bytes = e.finish();
        let mut d = BoolDecoder::new(&bytes);
        for (i, &(p, b)) in symbols.iter().enumerate() {
            assert_eq!(d.bit(p), b, "symbol {i}");
        }
        assert!(!d.eof());
        // Literals and signed values.
        let mut e = Encoder::new();
        for bit in [true, false, true, true, false, false, true] {
            e.put(128, bit);
        }
        let bytes = e.finish();
        let mut d = BoolDecoder::new(&bytes);
        assert_eq!(d.literal(7), 0b1011001);
    }

    #[test]
    fn running_out_reads_zeros_and_says_so() {
        let mut d = BoolDecoder::new(&[0xFF, 0x00]);
        // The window looks 8 bits ahead: two bytes give 8 bits before the end is reached.
        for _ in 0..8 {
            d.bit(128);
        }
        assert!(!d.eof());
        for _ in 0..200 {
            d.bit(128);
        }
        assert!(d.eof());
        let mut d = BoolDecoder::new(&[]);
        assert!(!d.bit(128));
        assert!(d.eof());
    }
}
