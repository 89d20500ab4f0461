//! Huffman tables: DHT parsing, lookup-table construction and decoding.
//!
//! Each table has a 10-bit lookup that resolves every code of up to 10 bits
//! to its symbol, and for AC tables a second 10-bit table that resolves the
//! (run, size) symbol *and* its extended coefficient value in one step when
//! code and value bits together fit in 10 bits. Longer codes fall back to
//! the canonical `maxcode` search of JPEG Annex F.2.2.3.
//!
//! Owns: the tables and symbol decoding. Must not touch: block layout or the
//! coefficients' meaning beyond (run, size, value).

use super::JpegError;
use super::bits::{BitReader, extend};

/// Bits resolved by the lookup tables.
pub(super) const LOOKUP_BITS: u32 = 10;
const LOOKUP_SIZE: usize = 1 << LOOKUP_BITS;

/// A decoding table built from one DHT table definition.
#[derive(Clone)]
pub(super) struct HuffTable {
    /// `len << 8 | symbol` for codes of length <= LOOKUP_BITS, else 0.
    lookup: Box<[u16; LOOKUP_SIZE]>,
    /// AC fast path: `value << 16 | symbol << 8 | total_bits`, or 0 when the
    /// code plus its value bits do not fit in LOOKUP_BITS. For symbols with
    /// size 0 (EOB, ZRL, EOB runs) value is 0 and total_bits the code length.
    fast_ac: Box<[i32; LOOKUP_SIZE]>,
    /// AC skipping: `advance << 8 | total_bits` for codes of length <=
    /// LOOKUP_BITS, where total_bits counts code and value bits and
    /// advance is how far the symbol moves the coefficient index (run + 1,
    /// 16 for ZRL, 64 for EOB). 0 if the code is longer.
    skip_ac: Box<[u16; LOOKUP_SIZE]>,
    /// Sequential AC decoding: like `fast_ac` but with the advance of
    /// `skip_ac` in place of the symbol: `value << 16 | advance << 8 |
    /// total_bits` (value 0 for EOB / ZRL).
    seq_ac: Box<[i32; LOOKUP_SIZE]>,
    /// Largest code of each length (index 1..=16), -1 if none.
    maxcode: [i32; 18],
    /// Index into `values` of the first code of each length, minus that code.
    valoffset: [i32; 18],
    values: Vec<u8>,
}

fn corrupt(msg: &str) -> JpegError {
    JpegError::Corrupt(msg.to_string())
}

impl HuffTable {
    /// Builds a table from the 16 code-length counts and the symbols.
    /// `is_dc` rejects symbols above 15 (they would be impossible sizes).
    pub(super) fn new(counts: &[u8; 16], values: &[u8], is_dc: bool) -> Result<Self, JpegError> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 || total != values.len() {
            return Err(corrupt("bad Huffman table"));
        }
        if is_dc && values.iter().any(|&v| v > 15) {
            return Err(corrupt("bad DC Huffman symbol"));
        }
        let mut lookup = Box::new([0u16; LOOKUP_SIZE]);
        let mut maxcode = [-1i32; 18];
        let mut valoffset = [0i32; 18];
        let mut code: u32 = 0;
        let mut k: usize = 0;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            if n > 0 {
                valoffset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    if code >= (1 << len) {
                        return Err(corrupt("bad Huffman table (code overflow)"));
                    }
                    if len <= LOOKUP_BITS {
                        let shift = LOOKUP_BITS - len;
                        let start = (code << shift) as usize;
                        let entry = (len as u16) << 8 | u16::from(values[k]);
                        if let Some(slots) = lookup.get_mut(start..start + (1 << shift)) {
                            slots.fill(entry);
                        }
                    }
                    code += 1;
                    k += 1;
                }
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        let mut fast_ac = Box::new([0i32; LOOKUP_SIZE]);
        for (p, (fast, &e)) in fast_ac.iter_mut().zip(lookup.iter()).enumerate() {
            if e == 0 {
                continue;
            }
            let len = u32::from(e >> 8);
            let sym = i32::from(e & 0xFF);
            let s = (sym & 15) as u32;
            if s == 0 {
                *fast = sym << 8 | len as i32;
            } else if len + s <= LOOKUP_BITS {
                let bits = (p as u32 >> (LOOKUP_BITS - len - s)) & ((1 << s) - 1);
                let val = extend(bits, s);
                *fast = val << 16 | sym << 8 | (len + s) as i32;
            }
        }
        let mut skip_ac = Box::new([0u16; LOOKUP_SIZE]);
        for (skip, &e) in skip_ac.iter_mut().zip(lookup.iter()) {
            if e != 0 {
                let sym = e & 0xFF;
                let advance = match sym {
                    0xF0 => 16,
                    _ if sym & 15 == 0 => 64,
                    _ => (sym >> 4) + 1,
                };
                *skip = advance << 8 | ((e >> 8) + (sym & 15));
            }
        }
        let mut seq_ac = Box::new([0i32; LOOKUP_SIZE]);
        for ((seq, &f), &sk) in seq_ac.iter_mut().zip(fast_ac.iter()).zip(skip_ac.iter()) {
            if f != 0 {
                *seq = (f >> 16) << 16 | i32::from(sk >> 8) << 8 | (f & 0xFF);
            }
        }
        Ok(HuffTable {
            lookup,
            fast_ac,
            skip_ac,
            seq_ac,
            maxcode,
            valoffset,
            values: values.to_vec(),
        })
    }

    /// Decodes one symbol. Needs `ensure(16)` on the reader. An invalid
    /// code decodes as symbol 0 (like libjpeg) after consuming 16 bits.
    #[inline(always)]
    pub(super) fn decode(&self, r: &mut BitReader) -> u8 {
        let e = self.lookup[r.peek(LOOKUP_BITS) as usize & (LOOKUP_SIZE - 1)];
        if e != 0 {
            r.consume(u32::from(e >> 8));
            return e as u8;
        }
        self.decode_long(r)
    }

    #[cold]
    fn decode_long(&self, r: &mut BitReader) -> u8 {
        let code16 = r.peek(16) as i32;
        for len in (LOOKUP_BITS + 1)..=16 {
            let code = code16 >> (16 - len);
            if code <= self.maxcode[len as usize] {
                r.consume(len);
                let idx = code + self.valoffset[len as usize];
                return usize::try_from(idx)
                    .ok()
                    .and_then(|i| self.values.get(i))
                    .copied()
                    .unwrap_or(0);
            }
        }
        r.consume(16);
        0
    }

    /// Decodes one AC symbol and its coefficient value: returns
    /// `(symbol, value)` (value 0 when the size nibble is 0). Needs
    /// `ensure(32)` on the reader.
    #[inline(always)]
    pub(super) fn decode_ac(&self, r: &mut BitReader) -> (u32, i32) {
        let e = self.fast_ac[r.peek(LOOKUP_BITS) as usize & (LOOKUP_SIZE - 1)];
        if e != 0 {
            r.consume((e & 0xFF) as u32);
            return (((e >> 8) & 0xFF) as u32, e >> 16);
        }
        let sym = u32::from(self.decode(r));
        let s = sym & 15;
        let v = if s == 0 { 0 } else { r.receive_extend(s) };
        (sym, v)
    }

    /// Decodes and discards the 63 AC coefficients of a block (sequential
    /// scan). Keeps the bit buffer in registers.
    #[inline(always)]
    pub(super) fn skip_ac_block(&self, r: &mut BitReader) {
        let (mut buf, mut nbits) = r.raw();
        let mut k = 1u32;
        while k < 64 {
            if nbits < 32 {
                r.refill_raw(&mut buf, &mut nbits);
            }
            let e = self.skip_ac[(buf >> (64 - LOOKUP_BITS)) as usize & (LOOKUP_SIZE - 1)];
            if e != 0 {
                let n = u32::from(e & 0xFF);
                buf <<= n;
                nbits -= n;
                k += u32::from(e >> 8);
            } else {
                r.set_raw(buf, nbits);
                let sym = u32::from(self.decode_long(r));
                r.consume(sym & 15);
                (buf, nbits) = r.raw();
                k += match sym {
                    0xF0 => 16,
                    _ if sym & 15 == 0 => 64,
                    _ => (sym >> 4) + 1,
                };
            }
        }
        r.set_raw(buf, nbits);
    }

    /// Decodes the 63 AC coefficients of a block (sequential scan), calling
    /// `put(zigzag_index, value)` for each nonzero one (and, harmlessly,
    /// with value 0 for some zero ones).
    #[inline(always)]
    pub(super) fn decode_ac_block(&self, r: &mut BitReader, mut put: impl FnMut(usize, i32)) {
        let (mut buf, mut nbits) = r.raw();
        let mut k = 1usize;
        while k < 64 {
            if nbits < 32 {
                r.refill_raw(&mut buf, &mut nbits);
            }
            let e = self.seq_ac[(buf >> (64 - LOOKUP_BITS)) as usize & (LOOKUP_SIZE - 1)];
            if e != 0 {
                // Branch-free: EOB / ZRL put a zero (harmless) and advance.
                let n = (e & 0xFF) as u32;
                buf <<= n;
                nbits -= n;
                k += ((e >> 8) & 0xFF) as usize;
                put((k - 1) & 63, e >> 16);
                continue;
            }
            r.set_raw(buf, nbits);
            let sym = u32::from(self.decode(r));
            let s = sym & 15;
            let v = if s == 0 { 0 } else { r.receive_extend(s) };
            (buf, nbits) = r.raw();
            if s == 0 {
                if sym != 0xF0 {
                    break;
                }
                k += 16;
                continue;
            }
            k += (sym >> 4) as usize;
            if k > 63 {
                break;
            }
            put(k, v);
            k += 1;
        }
        r.set_raw(buf, nbits);
    }
}

/// Parses a DHT payload (possibly several tables) into the DC / AC slots.
pub(super) fn parse_dht(
    mut p: &[u8],
    dc: &mut [Option<HuffTable>; 4],
    ac: &mut [Option<HuffTable>; 4],
) -> Result<(), JpegError> {
    while let Some((&tc_th, rest)) = p.split_first() {
        let (tc, th) = (tc_th >> 4, usize::from(tc_th & 15));
        if tc > 1 || th > 3 {
            return Err(corrupt("bad DHT class or id"));
        }
        let counts: &[u8; 16] = rest
            .first_chunk::<16>()
            .ok_or_else(|| corrupt("truncated DHT"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = rest
            .get(16..16 + total)
            .ok_or_else(|| corrupt("truncated DHT"))?;
        let table = HuffTable::new(counts, values, tc == 0)?;
        if tc == 0 {
            dc[th] = Some(table);
        } else {
            ac[th] = Some(table);
        }
        p = &rest[16 + total..];
    }
    Ok(())
}

/// Annex K.3 code-length counts and symbols of the standard tables.
pub(super) const DC_LUMA_COUNTS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
pub(super) const DC_CHROMA_COUNTS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
pub(super) const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
pub(super) const AC_LUMA_COUNTS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
pub(super) const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
pub(super) const AC_CHROMA_COUNTS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
pub(super) const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// The standard tables of JPEG Annex K.3, used when a file (e.g. Motion
/// JPEG) omits DHT. `id` 0 is luminance, 1 chrominance.
pub(super) fn default_table(is_dc: bool, id: usize) -> Option<HuffTable> {
    let t = match (is_dc, id) {
        (true, 0) => HuffTable::new(&DC_LUMA_COUNTS, &DC_VALUES, true),
        (true, 1) => HuffTable::new(&DC_CHROMA_COUNTS, &DC_VALUES, true),
        (false, 0) => HuffTable::new(&AC_LUMA_COUNTS, &AC_LUMA_VALUES, false),
        (false, 1) => HuffTable::new(&AC_CHROMA_COUNTS, &AC_CHROMA_VALUES, false),
        _ => return None,
    };
    t.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tables_build() {
        for dc in [true, false] {
            for id in 0..2 {
                assert!(default_table(dc, id).is_some());
            }
        }
    }

    #[test]
    fn decodes_short_and_long_codes() {
        // Codes: len 1: sym 0x01 -> "0"; len 12: sym 0x23 -> "100000000000".
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[11] = 1;
        let t = HuffTable::new(&counts, &[0x01, 0x23], false).unwrap();
        // "0" + 1 value bit "1" ; then "100000000000" + 3 value bits "011"
        // bits: 0 1 100000000000 011 -> 0110_0000 0000_0001 1000_0000
        let data = [0b0110_0000, 0b0000_0001, 0b1000_0000, 0x00];
        let mut r = BitReader::new(&data, 0);
        r.ensure(32);
        assert_eq!(t.decode_ac(&mut r), (0x01, 1));
        r.ensure(32);
        assert_eq!(t.decode_ac(&mut r), (0x23, -4));
    }
}
