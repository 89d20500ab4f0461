//! Hostile GIFs: frames of any size and position on any screen, filled with one colour by
//! real LZW data (about 1,400 pixels a byte), and the GIF mutator.

use super::{Rng, declared, mutate_bytes};

/// Bits written least significant first, as GIF's LZW codes are.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, code: u16, size: u8) {
        self.acc |= u64::from(code) << self.n;
        self.n += u32::from(size);
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// GIF LZW data (minimum code size 2) for `pixels` pixels of colour 0, coded as an encoder
/// codes flat colour: each code one pixel longer than the last, the table cleared when full.
/// About 1,400 pixels per byte: 300 KB hold 400 megapixels.
pub fn lzw_flat(pixels: u64) -> Vec<u8> {
    const MIN: u8 = 2;
    let clear = 1u16 << MIN;
    let end = clear + 1;
    let mut bits = Bits::default();
    let (mut size, mut next, mut run) = (MIN + 1, end + 1, 1u64);
    bits.put(clear, size);
    let mut left = pixels;
    while left > 0 {
        let len = run.min(left);
        // A run of one is the literal; a run of n >= 2 is the entry added n - 2 codes ago.
        let code = if len == 1 {
            0
        } else {
            end + 1 + (len - 2) as u16
        };
        bits.put(code, size);
        left -= len;
        if left == 0 {
            break;
        }
        if next >= 4095 {
            bits.put(clear, size);
            (size, next, run) = (MIN + 1, end + 1, 1);
            continue;
        }
        next += 1;
        run += 1;
        // The decoder adds its entries one code late, so the width grows one code late.
        if next > (1 << size) && size < 12 {
            size += 1;
        }
    }
    bits.put(end, size);
    bits.finish()
}

/// One frame of a generated GIF: its rectangle, filled with one colour.
#[derive(Debug, Clone, Copy)]
pub struct GifFrame {
    pub left: u16,
    pub top: u16,
    pub width: u16,
    pub height: u16,
}

impl GifFrame {
    /// A `width` x `height` frame at the screen's top left corner.
    pub fn at_origin(width: u16, height: u16) -> GifFrame {
        GifFrame {
            left: 0,
            top: 0,
            width,
            height,
        }
    }
}

/// A GIF with a `width` x `height` logical screen and `frames` (flat colour, real LZW data,
/// 10 ms each, looping for ever when there are several). Frames may be larger than the screen
/// or lie outside it: the GIF spec says they must not, nothing in the file stops them.
pub fn gif(width: u16, height: u16, frames: &[GifFrame]) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    // A global colour table of four colours (the minimum code size 2 needs four).
    out.extend_from_slice(&[0x81, 0, 0]);
    out.extend_from_slice(&[255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 255]);
    if frames.len() > 1 {
        out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
    }
    for f in frames {
        // Graphic control: no disposal, 10 ms.
        out.extend_from_slice(&[0x21, 0xF9, 4, 0, 1, 0, 0, 0]);
        out.push(0x2C);
        for v in [f.left, f.top, f.width, f.height] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[0, 2]);
        let data = lzw_flat(u64::from(f.width) * u64::from(f.height));
        for block in data.chunks(255) {
            out.push(block.len() as u8);
            out.extend_from_slice(block);
        }
        out.push(0);
    }
    out.push(0x3B);
    out
}

/// One mutation of a GIF: [`mutate_bytes`], or a screen or a frame rectangle that declares
/// another size or position.
pub fn mutate_gif(gif: &[u8], rng: &mut Rng) -> Vec<u8> {
    if rng.below(5) < 3 {
        return mutate_bytes(gif, rng);
    }
    let mut out = gif.to_vec();
    // The screen's size, or a field of an image descriptor (found by its 0x2C introducer,
    // which may also match inside data: a fuzz does not mind).
    let descriptors: Vec<usize> = (13..out.len().saturating_sub(9))
        .filter(|&i| out[i] == 0x2C)
        .collect();
    let field = match rng.below(3) {
        0 if out.len() >= 10 => 6 + 2 * rng.below(2),
        _ if !descriptors.is_empty() => {
            descriptors[rng.below(descriptors.len())] + 1 + 2 * rng.below(4)
        }
        _ => return mutate_bytes(gif, rng),
    };
    let value = declared(rng);
    out[field..field + 2].copy_from_slice(&value.to_le_bytes());
    out
}
