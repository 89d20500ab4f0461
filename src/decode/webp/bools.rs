//! VP8's boolean entropy decoder (RFC 6386 section 7).
//!
//! Owns: reading one partition's bits, each with its probability, and noticing when a
//! partition runs out. Must not touch: what the bits mean (`header`, `modes`, `residuals`).
//!
//! libwebp's formulation (its `VP8GetBit` with `BITS = 56`), so every bit costs the same
//! few instructions and a partition decodes to exactly libwebp's bits, also on a damaged
//! one: `value` holds up to 63 bits of the partition and is never shifted per bit; `bits`
//! says where the current 8-bit window starts in it, and the range is renormalised with a
//! count of leading zeros. The window is refilled seven bytes at a time (one byte at a time
//! near the end). Past the end of its bytes the decoder reads zeros and sets
//! [`BoolDecoder::eof`]; the frame decoder checks it after every macroblock and fails the
//! decode, as libwebp does, so a truncated partition costs at most one macroblock's work
//! past its data.
//!
//! Speed: the hot callers (`residuals`, `modes`) copy the decoder into a local for one
//! macroblock (`Clone`) and write it back, and every method here is inlined into them, so
//! its state stays in registers instead of making a trip through memory on every bit (a
//! store and a dependent load on the critical path). The slow refill near the end takes and
//! returns plain values for the same reason. The coefficient sign, a bit of probability 1/2
//! whose outcome no branch can predict, is read without a branch ([`BoolDecoder::signed`]).

/// One partition's boolean decoder.
#[derive(Clone)]
pub(super) struct BoolDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// The bits read but not yet consumed: the current window is `value >> bits`.
    value: u64,
    /// Where the window starts in `value`; negative when it needs a refill first.
    bits: i32,
    /// The range minus one: 127..=253 between bits (254 before the first).
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
            bits: -8,
            range: 254,
            eof: false,
        };
        d.load();
        d
    }

    /// Whether the decoder has needed bytes past the end of its partition.
    pub(super) fn eof(&self) -> bool {
        self.eof
    }

    /// Tops `value` up: seven bytes when eight are left, else one (`bits` is negative).
    #[inline(always)]
    fn load(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..).and_then(|s| s.first_chunk::<8>()) {
            self.value = (u64::from_be_bytes(*chunk) >> 8) | (self.value << 56);
            self.pos += 7;
            self.bits += 56;
        } else {
            (self.pos, self.value, self.bits, self.eof) =
                load_final(self.data, self.pos, self.value, self.bits, self.eof);
        }
    }

    /// One bit whose probability of being 0 is `prob / 256`.
    #[inline(always)]
    pub(super) fn bit(&mut self, prob: u8) -> bool {
        let range = self.range;
        if self.bits < 0 {
            self.load();
        }
        let pos = self.bits as u32;
        let split = (range * u32::from(prob)) >> 8;
        let one = (self.value >> pos) as u32 > split;
        // The new range (not minus one), 1..=254, and what leaves the value.
        let (range, taken) = if one {
            (range - split, split + 1)
        } else {
            (split + 1, 0)
        };
        self.value -= u64::from(taken) << pos;
        // Renormalise: shift the range back to 128..=255. The range is 1..=254 here, so
        // the shift is 7 - log2 (libwebp's `7 ^ BitsLog2Floor`), which is the leading zeros
        // minus 24: one `lzcnt` and a `sub` where the CPU has LZCNT (`frame::Decoder::row`),
        // and no `| 1` to rule out zero, which `ilog2` needed and `lzcnt` does not.
        let shift = range.leading_zeros() - 24;
        self.range = (range << shift) - 1;
        self.bits -= shift as i32;
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

    /// `v` or `-v`, by one bit of probability 128 (a coefficient's sign), without a branch.
    /// This is libwebp's `VP8GetSigned`: between bits the range minus one is 127..=253, so
    /// halving it always needs exactly one shift to renormalise. (It is read only after a
    /// coefficient's other bits, never first in a partition, where the range is 254.)
    #[inline(always)]
    pub(super) fn signed(&mut self, v: i32) -> i32 {
        if self.bits < 0 {
            self.load();
        }
        let pos = self.bits as u32;
        let split = self.range >> 1;
        let window = (self.value >> pos) as u32;
        // All ones when the bit is 1 (the window above the split), else zero.
        let mask = (split.wrapping_sub(window) as i32) >> 31;
        self.bits -= 1;
        self.range = self.range.wrapping_add(mask as u32) | 1;
        self.value -= u64::from((split + 1) & mask as u32) << pos;
        (v ^ mask) - mask
    }
}

/// The refill near the end of the data (libwebp's `VP8LoadFinalBytes`): one byte, or, past
/// the end, eight zero bits once (and `eof`), then nothing more (the window stays put: the
/// decode is failed after this macroblock anyway). Plain values in and out, so the caller's
/// decoder can stay in registers.
#[cold]
#[inline(never)]
fn load_final(
    data: &[u8],
    pos: usize,
    value: u64,
    bits: i32,
    eof: bool,
) -> (usize, u64, i32, bool) {
    match data.get(pos) {
        Some(&b) => (pos + 1, u64::from(b) | (value << 8), bits + 8, eof),
        None if !eof => (pos, value << 8, bits + 8, true),
        None => (pos, value, 0, true),
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
            .map(|i| {
                // A quarter at 1/2, as the coefficient signs are.
                let prob = if i % 4 == 0 {
                    128
                } else {
                    (next() % 255 + 1) as u8
                };
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
        // The branchless sign reads the same bits as `bit(128)`: every third symbol of
        // probability 1/2 (never the first) read as a sign instead.
        let mut d = BoolDecoder::new(&bytes);
        let mut signs = 0;
        for (i, &(p, b)) in symbols.iter().enumerate() {
            if p == 128 && i > 0 && i % 3 == 0 {
                assert_eq!(d.signed(5), if b { -5 } else { 5 }, "symbol {i}");
                signs += 1;
            } else {
                assert_eq!(d.bit(p), b, "symbol {i}");
            }
        }
        assert!(signs > 10, "{signs} signs read");
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
