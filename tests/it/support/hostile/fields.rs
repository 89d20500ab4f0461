//! BMP, TGA, ICO and QOI for the format fuzz (issue 22): seed files in each format's
//! variants, and a mutator that writes lying values into the header fields that size or
//! steer a decode (width, height, depth, compression, offsets, counts), besides the
//! mutations that know no format.

use image::{ImageFormat, RgbaImage};

use super::{Bmp, Rle, Rng, declared, mutate_bytes, rle};
use crate::support::{encode, picture};

/// The formats this file fuzzes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Small {
    Bmp,
    Tga,
    Ico,
    Qoi,
}

/// Header fields: their offsets, their widths in bytes, and whether they are big-endian.
type Fields = (&'static [usize], &'static [usize], bool);

impl Small {
    /// The fields that size or steer a decode.
    fn fields(self) -> Fields {
        match self {
            // Pixel offset, header size, width, height, planes, depth, compression, colours.
            Small::Bmp => (
                &[10, 14, 18, 22, 26, 28, 30, 46],
                &[4, 4, 4, 4, 2, 2, 4, 4],
                false,
            ),
            // Id length, colour-map type, image type, map start, map length, map depth,
            // width, height, depth, descriptor.
            Small::Tga => (
                &[0, 1, 2, 3, 5, 7, 12, 14, 16, 17],
                &[1, 1, 1, 2, 2, 1, 2, 2, 1, 1],
                false,
            ),
            // Image count, then the first entry: width, height, depth, size, offset.
            Small::Ico => (&[4, 6, 7, 12, 14, 18], &[2, 1, 1, 2, 4, 4], false),
            // Width, height, channels, colour space.
            Small::Qoi => (&[4, 8, 12, 13], &[4, 4, 1, 1], true),
        }
    }

    /// Seed files: each variant the decoders have a path for.
    pub fn seeds(self) -> Vec<(String, Vec<u8>)> {
        let mut rgba = picture(40, 30, 3);
        for (x, _, p) in rgba.enumerate_pixels_mut() {
            p[3] = (x * 6) as u8;
        }
        let opaque = picture(40, 30, 4);
        let named = |name: &str, bytes| (format!("{self:?} {name}"), bytes);
        match self {
            Small::Bmp => {
                let ops = [
                    Rle::Run(30, 0x12),
                    Rle::Absolute(vec![1, 2, 3, 4, 5]),
                    Rle::Delta(4, 2),
                    Rle::Run(9, 0x34),
                    Rle::EndOfLine,
                    Rle::EndOfBitmap,
                ];
                let mut seeds = vec![
                    named("24-bit", rgb(&opaque, ImageFormat::Bmp)),
                    named("32-bit", encode(&rgba, ImageFormat::Bmp)),
                ];
                for (bits, compression, top) in [(8, 1, 1), (4, 2, 1), (8, 1, -1), (8, 0, 1)] {
                    let mut bmp = Bmp::new(40, 30 * top, bits, compression);
                    bmp.palette = (0..1usize << bits).map(|i| [i as u8, 7, 9]).collect();
                    bmp.data = match compression {
                        0 => (0..40 * 30).map(|i| i as u8).collect(),
                        _ => rle(&ops, 40, 30, bits == 4).0,
                    };
                    let name = format!("{bits}-bit, compression {compression}, origin {top}");
                    seeds.push(named(&name, bmp.bytes()));
                }
                seeds
            }
            Small::Tga => vec![
                named("RGBA", encode(&rgba, ImageFormat::Tga)),
                named("RGB", rgb(&opaque, ImageFormat::Tga)),
            ],
            Small::Ico => vec![
                named("PNG inside", encode(&rgba, ImageFormat::Ico)),
                named("BMP inside", ico_of_bmp(&opaque)),
            ],
            Small::Qoi => vec![
                named("RGBA", encode(&rgba, ImageFormat::Qoi)),
                named("RGB", rgb(&opaque, ImageFormat::Qoi)),
            ],
        }
    }

    /// One mutation of `bytes`: a header field set to a lying value, or a mutation that
    /// knows no format.
    pub fn mutate(self, bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
        let (offsets, widths, big) = self.fields();
        let i = rng.below(offsets.len());
        let (at, len) = (offsets[i], widths[i]);
        if rng.below(5) < 2 || bytes.len() < at + len {
            return mutate_bytes(bytes, rng);
        }
        let value: u64 = match rng.below(3) {
            0 => u64::from(declared(rng)),
            1 => [0, 1, 2, 3, 4, 8, 16, 24, 32][rng.below(9)],
            _ => rng.next() | [0, 1 << 31][rng.below(2)],
        };
        let mut out = bytes.to_vec();
        let le = value.to_le_bytes();
        for i in 0..len {
            out[at + if big { len - 1 - i } else { i }] = le[i];
        }
        out
    }
}

/// `image` without its alpha channel in `format`.
fn rgb(image: &RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(image.clone())
        .to_rgb8()
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// An icon of one 24-bit BMP image (a DIB with a doubled height and an AND mask).
fn ico_of_bmp(image: &RgbaImage) -> Vec<u8> {
    let bmp = rgb(image, ImageFormat::Bmp);
    let mut dib = bmp[14..].to_vec();
    let height = i32::from_le_bytes(dib[8..12].try_into().unwrap()) * 2;
    dib[8..12].copy_from_slice(&height.to_le_bytes());
    let mask_row = (image.width() as usize).div_ceil(32) * 4;
    dib.extend(vec![0; mask_row * image.height() as usize]);
    let mut ico = vec![
        0,
        0,
        1,
        0,
        1,
        0,
        image.width() as u8,
        image.height() as u8,
        0,
        0,
    ];
    ico.extend([1, 0, 24, 0]);
    ico.extend((dib.len() as u32).to_le_bytes());
    ico.extend(22u32.to_le_bytes());
    ico.extend(dib);
    ico
}
