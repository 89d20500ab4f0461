//! Hostile JPEGs: the scan bombs and corrupt headers of issue 9, a real photo that claims to
//! be far taller than its data, flat JPEGs of any size, and the JPEG mutator.

use super::{Rng, mutate_with};

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

/// A JPEG of `width` x `height` with `comps` components whose every block is flat mid-grey,
/// coded in two bits (DC difference 0, end of block): about `width * height * comps / 256`
/// bytes, so a 16384x16384 colour JPEG takes 3 MB. A valid file: it passes the data-size rule
/// (at least one bit per block) and decodes to grey in any decoder.
pub fn flat_jpeg(width: u16, height: u16, comps: u8) -> Vec<u8> {
    let mut out = header(width, height, comps, false, 0);
    sos(&mut out, comps, 0, 63);
    let blocks = u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8)) * u64::from(comps);
    // Zero bits are the one-code tables' codes; two bits per block.
    out.resize(out.len() + blocks.div_ceil(4) as usize, 0);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// One mutation of `jpeg`: [`mutate_bytes`], or a frame header that declares other
/// dimensions.
pub fn mutate(jpeg: &[u8], rng: &mut Rng) -> Vec<u8> {
    let op = rng.below(5);
    if op < 4 {
        return mutate_with(jpeg, op, rng);
    }
    let mut out = jpeg.to_vec();
    if let Some(sof) = (0..out.len().saturating_sub(8))
        .find(|&i| out[i] == 0xFF && matches!(out[i + 1], 0xC0..=0xC2))
    {
        let field = sof + 5 + 2 * rng.below(2);
        let value = [1u16, 8, 255, 4096, 20000, 65535][rng.below(6)];
        out[field..field + 2].copy_from_slice(&value.to_be_bytes());
    }
    out
}
