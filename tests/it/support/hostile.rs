//! Hostile JPEGs built from bytes: the scan bombs and corrupt headers of issue 9, a real photo
//! that claims to be far taller than its data, and a mutator for fuzzing.

/// Writes a marker segment.
fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// SOI, a quantisation table, a frame header of `comps` components (1x1 sampling), one-code
/// Huffman tables (DC category 0, AC end-of-block), an optional restart interval, and an
/// Adobe APP14 marker for four components.
fn header(width: u16, height: u16, comps: u8, progressive: bool, restart: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    if comps == 4 {
        // Adobe, version 100, flags, transform 0 (CMYK).
        segment(
            &mut out,
            0xEE,
            &[b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, 0],
        );
    }
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1u8; 64]);
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.push(comps);
    for id in 1..=comps {
        sof.extend_from_slice(&[id, 0x11, 0]);
    }
    segment(&mut out, if progressive { 0xC2 } else { 0xC0 }, &sof);
    let mut one = [0u8; 16];
    one[0] = 1;
    for (class, symbol) in [(0x00u8, 0u8), (0x10, 0)] {
        let mut dht = vec![class];
        dht.extend_from_slice(&one);
        dht.push(symbol);
        segment(&mut out, 0xC4, &dht);
    }
    if restart > 0 {
        segment(&mut out, 0xDD, &restart.to_be_bytes());
    }
    out
}

/// A start-of-scan for every component, spectral band `ss..=se`.
fn sos(out: &mut Vec<u8>, comps: u8, ss: u8, se: u8) {
    let mut p = vec![comps];
    for id in 1..=comps {
        p.extend_from_slice(&[id, 0x00]);
    }
    p.extend_from_slice(&[ss, se, 0]);
    segment(out, 0xDA, &p);
}

/// The scan bombs: 65535x1525 (about 1.5 million blocks) with `scans` scans that
/// carry (almost) no data, sequential or progressive, with restart interval `restart`.
pub fn scan_bomb(progressive: bool, restart: u16, scans: usize) -> Vec<u8> {
    let mut out = header(65535, 1525, 1, progressive, restart);
    for i in 0..scans {
        // Progressive: the DC scan first, then AC bands; sequential: full scans.
        let (ss, se) = if progressive && i > 0 {
            (1, 63)
        } else {
            (0, 63)
        };
        let (ss, se) = if progressive && i == 0 {
            (0, 0)
        } else {
            (ss, se)
        };
        sos(&mut out, 1, ss, se);
        out.extend_from_slice(&[0x00, 0x00]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A small corrupt JPEG declaring `width` x `height` with `comps` components (4: Adobe CMYK)
/// and a few hundred bytes of noise as its only scan.
pub fn tiny_declaring(width: u16, height: u16, comps: u8, total: usize) -> Vec<u8> {
    let mut out = header(width, height, comps, false, 0);
    sos(&mut out, comps, 0, 63);
    let mut s: u32 = 0x9E37_79B9;
    while out.len() + 2 < total {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let b = s as u8;
        out.push(if b == 0xFF { 0xFE } else { b });
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// `jpeg` with the frame header's height replaced by `height` (a real photo that claims to be
/// far taller than its data).
pub fn with_height(mut jpeg: Vec<u8>, height: u16) -> Vec<u8> {
    let sof = (0..jpeg.len().saturating_sub(8))
        .find(|&i| jpeg[i] == 0xFF && matches!(jpeg[i + 1], 0xC0..=0xC2))
        .expect("a frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg
}

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

/// One mutation of `jpeg`: flipped bytes, a cut, a copied or dropped range, or a frame header
/// that declares other dimensions.
pub fn mutate(jpeg: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let len = out.len().max(1);
    match rng.below(5) {
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
        3 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(256)).min(out.len());
            out.drain(a..b);
        }
        _ => {
            if let Some(sof) = (0..out.len().saturating_sub(8))
                .find(|&i| out[i] == 0xFF && matches!(out[i + 1], 0xC0..=0xC2))
            {
                let field = sof + 5 + 2 * rng.below(2);
                let value = [1u16, 8, 255, 4096, 20000, 65535][rng.below(6)];
                out[field..field + 2].copy_from_slice(&value.to_be_bytes());
            }
        }
    }
    out
}
