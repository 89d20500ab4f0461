//! Hostile TIFFs: built from their parts, so chunks may be JPEGs of any size or point at the
//! same bytes, and the TIFF mutator.

use super::{Rng, declared, flat_jpeg, mutate_bytes};

/// How a generated TIFF cuts its image into chunks.
#[derive(Debug, Clone, Copy)]
pub enum Chunks {
    /// Tiles of this width and height.
    Tiles(u32, u32),
    /// Strips of this many rows.
    Strips(u32),
}

/// A little-endian TIFF, built from its parts: chunk `i`'s data is `pieces[order[i]]`, so
/// several chunks may point at the same bytes.
#[derive(Debug, Clone)]
pub struct Tiff {
    pub width: u32,
    pub height: u32,
    /// 1 (grey) or 3 (RGB) samples of 8 bits.
    pub samples: u16,
    /// 1 none, 5 LZW, 7 JPEG, 8 deflate.
    pub compression: u16,
    pub chunks: Chunks,
    pub pieces: Vec<Vec<u8>>,
    pub order: Vec<usize>,
    pub jpeg_tables: Option<Vec<u8>>,
    /// Separate planes (PlanarConfiguration 2): every chunk holds one sample, the chunks of
    /// the first sample first.
    pub planar: bool,
    /// Entries (tag, type, values) written in place of the generated ones of the same tag,
    /// or added: another photometric, bit depth, a `ColorMap`.
    pub tags: Vec<(u16, u16, Vec<u32>)>,
}

impl Tiff {
    /// Chunks across and down.
    pub fn grid(width: u32, height: u32, chunks: Chunks) -> (u32, u32) {
        match chunks {
            Chunks::Tiles(w, h) => (width.div_ceil(w), height.div_ceil(h)),
            Chunks::Strips(rows) => (1, height.div_ceil(rows)),
        }
    }

    /// A JPEG-compressed TIFF whose chunks all point at one `piece`.
    pub fn jpeg_shared(width: u32, height: u32, chunks: Chunks, piece: Vec<u8>) -> Tiff {
        let (across, down) = Tiff::grid(width, height, chunks);
        Tiff {
            width,
            height,
            samples: 3,
            compression: 7,
            chunks,
            pieces: vec![piece],
            order: vec![0; (across * down) as usize],
            jpeg_tables: None,
            planar: false,
            tags: Vec::new(),
        }
    }

    /// An uncompressed TIFF of 8-bit `pixels` (`samples` a pixel, rows top down), cut into
    /// `chunks`, chunky or in separate planes; padding in the chunks is zero.
    pub fn raw(
        width: u32,
        height: u32,
        samples: u16,
        chunks: Chunks,
        planar: bool,
        pixels: &[u8],
    ) -> Tiff {
        let spp = usize::from(samples);
        assert_eq!(pixels.len(), width as usize * height as usize * spp);
        let (across, down) = Tiff::grid(width, height, chunks);
        let (cw, ch) = match chunks {
            Chunks::Tiles(w, h) => (w, h),
            // A strip's rows past the image are not stored.
            Chunks::Strips(rows) => (width, rows),
        };
        let planes = if planar { 0..spp } else { 0..1 };
        let mut pieces = Vec::new();
        for plane in planes {
            for cy in 0..down {
                for cx in 0..across {
                    let rows = match chunks {
                        Chunks::Tiles(..) => ch,
                        Chunks::Strips(_) => ch.min(height - cy * ch),
                    };
                    let mut piece = Vec::new();
                    for y in cy * ch..cy * ch + rows {
                        for x in cx * cw..cx * cw + cw {
                            let inside = x < width && y < height;
                            let at = (y as usize * width as usize + x as usize) * spp;
                            if planar {
                                piece.push(if inside { pixels[at + plane] } else { 0 });
                            } else if inside {
                                piece.extend_from_slice(&pixels[at..at + spp]);
                            } else {
                                piece.extend(std::iter::repeat_n(0, spp));
                            }
                        }
                    }
                    pieces.push(piece);
                }
            }
        }
        Tiff {
            width,
            height,
            samples,
            compression: 1,
            chunks,
            order: (0..pieces.len()).collect(),
            pieces,
            jpeg_tables: None,
            planar,
            tags: Vec::new(),
        }
    }

    /// An uncompressed TIFF of one strip of `rows` (already packed, `bits` a sample, each row
    /// starting on a byte), one sample a pixel, photometric `photometric`.
    pub fn packed(width: u32, height: u32, bits: u32, photometric: u32, rows: Vec<u8>) -> Tiff {
        assert_eq!(
            rows.len(),
            (width * bits).div_ceil(8) as usize * height as usize
        );
        Tiff {
            tags: vec![(258, 3, vec![bits]), (262, 3, vec![photometric])],
            ..Tiff::raw(
                width,
                height,
                1,
                Chunks::Strips(height),
                false,
                &vec![0; (width * height) as usize],
            )
        }
        .with_pieces(vec![rows])
    }

    fn with_pieces(mut self, pieces: Vec<Vec<u8>>) -> Tiff {
        self.order = (0..pieces.len()).collect();
        self.pieces = pieces;
        self
    }

    /// A JPEG-compressed TIFF whose every chunk is a flat JPEG of its own, the chunk's size.
    pub fn jpeg_flat(width: u32, height: u32, chunks: Chunks) -> Tiff {
        let (across, down) = Tiff::grid(width, height, chunks);
        let (cw, ch) = match chunks {
            Chunks::Tiles(w, h) => (w, h),
            Chunks::Strips(rows) => (width, rows),
        };
        let n = (across * down) as usize;
        Tiff {
            pieces: (0..n).map(|_| flat_jpeg(cw as u16, ch as u16, 3)).collect(),
            order: (0..n).collect(),
            ..Tiff::jpeg_shared(width, height, chunks, Vec::new())
        }
    }

    /// The file.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = b"II*\0\0\0\0\0".to_vec();
        let mut at = Vec::new();
        for piece in &self.pieces {
            at.push(out.len() as u32);
            out.extend_from_slice(piece);
            if out.len() % 2 == 1 {
                out.push(0);
            }
        }
        let offsets: Vec<u32> = self.order.iter().map(|&i| at[i]).collect();
        let counts: Vec<u32> = self
            .order
            .iter()
            .map(|&i| self.pieces[i].len() as u32)
            .collect();
        let photometric = if self.samples == 1 { 1 } else { 2 };
        // (tag, type, values): type 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED (one byte each).
        let mut entries: Vec<(u16, u16, Vec<u32>)> = vec![
            (256, 4, vec![self.width]),
            (257, 4, vec![self.height]),
            (258, 3, vec![8; usize::from(self.samples)]),
            (259, 3, vec![u32::from(self.compression)]),
            (262, 3, vec![photometric]),
            (277, 3, vec![u32::from(self.samples)]),
        ];
        if self.planar {
            entries.push((284, 3, vec![2]));
        }
        match self.chunks {
            Chunks::Tiles(w, h) => entries.extend([
                (322, 4, vec![w]),
                (323, 4, vec![h]),
                (324, 4, offsets),
                (325, 4, counts),
            ]),
            Chunks::Strips(rows) => {
                entries.extend([(273, 4, offsets), (278, 4, vec![rows]), (279, 4, counts)])
            }
        }
        if let Some(tables) = &self.jpeg_tables {
            entries.push((347, 7, tables.iter().map(|&b| u32::from(b)).collect()));
        }
        for tag in &self.tags {
            entries.retain(|e| e.0 != tag.0);
            entries.push(tag.clone());
        }
        entries.sort_by_key(|e| e.0);
        // Values that do not fit in an entry's four bytes go before the directory.
        let mut inline = Vec::new();
        for (tag, kind, values) in &entries {
            let mut data = Vec::new();
            for &v in values {
                match kind {
                    3 => data.extend_from_slice(&(v as u16).to_le_bytes()),
                    // RATIONAL: the values are numerator, denominator, numerator, ...
                    4 | 5 => data.extend_from_slice(&v.to_le_bytes()),
                    _ => data.push(v as u8),
                }
            }
            if data.len() > 4 {
                let offset = out.len() as u32;
                out.extend_from_slice(&data);
                if out.len() % 2 == 1 {
                    out.push(0);
                }
                data = offset.to_le_bytes().to_vec();
            }
            data.resize(4, 0);
            let count = if *kind == 5 {
                values.len() / 2
            } else {
                values.len()
            };
            inline.push((*tag, *kind, count as u32, data));
        }
        let ifd = out.len() as u32;
        out[4..8].copy_from_slice(&ifd.to_le_bytes());
        out.extend_from_slice(&(inline.len() as u16).to_le_bytes());
        for (tag, kind, count, data) in inline {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&data);
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out
    }
}

/// One mutation of a TIFF: [`mutate_bytes`], or an entry of its first directory given
/// another value (a size, a count, an offset pointing elsewhere).
pub fn mutate_tiff(tiff: &[u8], rng: &mut Rng) -> Vec<u8> {
    if rng.below(5) < 3 || tiff.len() < 16 {
        return mutate_bytes(tiff, rng);
    }
    let mut out = tiff.to_vec();
    let big = out.starts_with(b"MM");
    let u16_at = |b: &[u8], i: usize| {
        let v = [b[i], b[i + 1]];
        if big {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    };
    let u32_at = |b: &[u8], i: usize| {
        let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if big {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    };
    let ifd = u32_at(&out, 4) as usize;
    if ifd + 2 > out.len() {
        return mutate_bytes(tiff, rng);
    }
    let entries = usize::from(u16_at(&out, ifd)).min((out.len() - ifd - 2) / 12);
    if entries == 0 {
        return mutate_bytes(tiff, rng);
    }
    let entry = ifd + 2 + 12 * rng.below(entries);
    // The count (4 bytes at +4) or the value (+8), as a short or a long.
    let at = entry + 4 + 4 * rng.below(2);
    let len = out.len() as u32;
    let value = match rng.below(4) {
        0 => u32::from(declared(rng)),
        1 => u32_at(&out, ifd + 2 + 12 * rng.below(entries) + 8),
        2 => rng.below(len as usize) as u32,
        _ => [0, 1, 7, 8, 16, 1 << 16, 1 << 31, u32::MAX][rng.below(8)],
    };
    let bytes = if big {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    if rng.below(2) == 0 {
        out[at..at + 4].copy_from_slice(&bytes);
    } else {
        let short = if big { &bytes[2..] } else { &bytes[..2] };
        out[at..at + 2].copy_from_slice(short);
    }
    out
}
