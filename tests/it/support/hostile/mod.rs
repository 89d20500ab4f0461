//! Hostile files built from bytes, and mutators for fuzzing. One file per format: `jpeg`
//! (issue 9: scan bombs, tiny files declaring huge images, a photo claiming to be taller than
//! its data, flat JPEGs of any size in two bits per block), `gif` (issue 18: frames larger
//! than their screen, with real LZW data holding hundreds of megapixels in a few hundred
//! kilobytes), `tiff` (chunks that are JPEGs of any size, or that share their bytes), `svg`
//! (an embedded raster drawn many times). Here: the generator that drives the fuzz and the
//! mutations that know no format.

mod bmp;
mod fields;
mod gif;
mod jpeg;
mod svg;
mod tiff;

pub use bmp::*;
pub use fields::*;
pub use gif::*;
pub use jpeg::*;
pub use svg::*;
pub use tiff::*;

/// A deterministic pseudo-random generator for mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `bytes` that knows no format: flipped bits, a cut, a copied or dropped
/// range.
pub fn mutate_bytes(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let op = rng.below(4);
    mutate_with(bytes, op, rng)
}

/// Mutation `op` (0 to 3) of [`mutate_bytes`].
pub(crate) fn mutate_with(bytes: &[u8], op: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let len = out.len().max(1);
    match op {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                if let Some(b) = out.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => out.truncate(rng.below(len)),
        2 => {
            let (a, n) = (rng.below(len), 1 + rng.below(64));
            let piece: Vec<u8> = out.iter().skip(a).take(n).copied().collect();
            let at = rng.below(len);
            out.splice(at..at, piece);
        }
        _ => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(256)).min(out.len());
            out.drain(a..b);
        }
    }
    out
}

/// A size a mutation declares: small, at a power of two, huge.
pub(crate) fn declared(rng: &mut Rng) -> u16 {
    [0u16, 1, 8, 255, 4096, 20000, 65535][rng.below(7)]
}
