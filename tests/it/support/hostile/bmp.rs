//! BMP files built from their fields (issue 22): any header size, plane count, compression
//! and origin, and RLE8/RLE4 streams written op by op together with the palette indices they
//! code for, for the conformance tests and as fuzz seeds.

/// A BMP's fields; [`Bmp::bytes`] writes the file.
pub struct Bmp {
    pub width: i32,
    /// Negative: top-down.
    pub height: i32,
    pub bits: u16,
    /// 0 none, 1 RLE8, 2 RLE4.
    pub compression: u32,
    pub planes: u16,
    /// 40 (Windows info header), 64 (OS/2 2.x), 124 (v5).
    pub header_size: u32,
    /// RGB entries.
    pub palette: Vec<[u8; 3]>,
    pub data: Vec<u8>,
}

impl Bmp {
    /// An 8-bit or 4-bit bitmap of `data` with `palette`, Windows info header, one plane.
    pub fn new(width: i32, height: i32, bits: u16, compression: u32) -> Bmp {
        Bmp {
            width,
            height,
            bits,
            compression,
            planes: 1,
            header_size: 40,
            palette: Vec::new(),
            data: Vec::new(),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let offset = 14 + self.header_size + 4 * self.palette.len() as u32;
        let mut f = b"BM".to_vec();
        f.extend((offset + self.data.len() as u32).to_le_bytes());
        f.extend([0; 4]);
        f.extend(offset.to_le_bytes());
        f.extend(self.header_size.to_le_bytes());
        f.extend(self.width.to_le_bytes());
        f.extend(self.height.to_le_bytes());
        f.extend(self.planes.to_le_bytes());
        f.extend(self.bits.to_le_bytes());
        f.extend(self.compression.to_le_bytes());
        f.extend((self.data.len() as u32).to_le_bytes());
        f.extend([0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0]);
        f.extend((self.palette.len() as u32).to_le_bytes());
        f.extend([0; 4]);
        f.resize(14 + self.header_size as usize, 0);
        for [r, g, b] in &self.palette {
            f.extend([*b, *g, *r, 0]);
        }
        f.extend(&self.data);
        f
    }
}

/// One RLE op.
#[derive(Clone, Debug)]
pub enum Rle {
    /// `n` pixels of one byte (RLE4: its two nibbles in turn).
    Run(u8, u8),
    /// Literal indices (3 or more).
    Absolute(Vec<u8>),
    EndOfLine,
    /// Right, up.
    Delta(u8, u8),
    EndOfBitmap,
}

/// `ops` as an RLE8 (`rle4` false) or RLE4 stream, and the indices they code for in stored
/// order (`width` x `height`, what a skip leaves is 0): runs are clipped to their row and
/// only an end-of-line or a delta starts the next, as Pillow and `image` read them.
pub fn rle(ops: &[Rle], width: usize, height: usize, rle4: bool) -> (Vec<u8>, Vec<u8>) {
    let (mut data, mut px) = (Vec::new(), Vec::new());
    let mut x = 0;
    let total = width * height;
    for op in ops {
        match op {
            Rle::Run(n, v) => {
                data.extend([*n, *v]);
                let run = usize::from(*n).min(width.saturating_sub(x));
                let pair = if rle4 { [v >> 4, v & 15] } else { [*v, *v] };
                px.extend((0..run).map(|i| pair[i % 2]));
                x += run;
            }
            Rle::Absolute(v) => {
                data.extend([0, v.len() as u8]);
                let stored: Vec<u8> = if rle4 {
                    v.chunks(2)
                        .map(|c| c[0] << 4 | c.get(1).copied().unwrap_or(0))
                        .collect()
                } else {
                    v.clone()
                };
                data.extend(&stored);
                if stored.len() % 2 == 1 {
                    data.push(0);
                }
                px.extend(v);
                x += v.len();
            }
            Rle::EndOfLine => {
                data.extend([0, 0]);
                px.resize(px.len().next_multiple_of(width), 0);
                x = 0;
            }
            Rle::Delta(dx, dy) => {
                data.extend([0, 2, *dx, *dy]);
                px.resize(px.len() + usize::from(*dx) + usize::from(*dy) * width, 0);
                x = px.len() % width;
            }
            Rle::EndOfBitmap => data.extend([0, 1]),
        }
    }
    px.resize(total, 0);
    (data, px)
}
