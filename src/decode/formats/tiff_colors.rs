//! TIFF colour models the `image` crate refuses, decoded here from the `tiff` crate's samples
//! (issue 22): palette images (1, 2, 4 and 8-bit indices into the `ColorMap`), 2 and 4-bit
//! gray, and 8-bit YCbCr (JPEG-compressed, which is how libtiff and vips write JPEG TIFFs by
//! default, whatever the chroma subsampling; or uncompressed without subsampling).
//!
//! Owns: telling those models from the first directory ([`model`]), their probe and their
//! decode to upright RGBA8. Must not touch: the directory and chunk checks (`tiff_chunks`,
//! which run first, on every TIFF, and bound the tags read here: `ColorMap`,
//! `YCbCrCoefficients`, `ReferenceBlackWhite` are in its `READ_TAGS`), the models `image`
//! reads (`formats/image_rs.rs`), resizing or colour profiles (the registry's).
//!
//! `tiff` 0.11 reads these models' samples (it unpacks nothing: rows of packed indices or
//! gray levels, byte-aligned as TIFF stores them; a WhiteIsZero gray is inverted already) and
//! `image` 0.25 refuses them (`Unknown` colour types), so the conversion is here:
//! - palette: index `i` is `(R[i], G[i], B[i])` of the map's three 16-bit tables, scaled to 8
//!   bits as libtiff does (`v >> 8`), an index past the map's end is black;
//! - 2/4-bit gray: level `v` of `2^n - 1` to `v * 255 / (2^n - 1)`;
//! - YCbCr from JPEG: zune-jpeg (inside `tiff`) decodes and upsamples the planes but keeps
//!   them YCbCr; they are turned into RGB with the JFIF (BT.601 full-range) equations, as
//!   libjpeg does for libtiff's `JPEGCOLORMODE_RGB`, which Pillow uses;
//! - uncompressed YCbCr: TIFF 6.0 section 21, with the file's `YCbCrCoefficients` and
//!   `ReferenceBlackWhite` (defaults 0.299/0.587/0.114 and 0/255/128/255/128/255, the same
//!   as JFIF). `tiff` refuses subsampled uncompressed YCbCr (`ChromaSubsampling`): not
//!   decoded, `UnsupportedFormat`.
//!
//! Not decoded here: 16-bit palettes, palette or low-depth gray with extra samples, YCbCr in
//! separate planes (`tiff`'s whole-image read returns the first plane only).
//!
//! Cost: the probe counts `tiff`'s copy of the samples (`tiff_chunks` reports it, with any
//! JPEG chunk's decode) beside the RGBA8 result; the conversion allocates nothing else.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};
use tiff::ColorType;
use tiff::decoder::ifd::Value;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use crate::decode::color::Raster;
use crate::decode::tiff_chunks::{self, Chunks, Entry};
use crate::decode::{DecodeError, Limits, Probe, check_pixels};

/// TIFF's compression code for JPEG.
const JPEG: u16 = 7;
/// PhotometricInterpretation RGBPalette.
const PALETTE: u16 = 3;
const COLOR_MAP: Tag = Tag::ColorMap;
const YCBCR_COEFFICIENTS: Tag = Tag::Unknown(529);
const REFERENCE_BLACK_WHITE: Tag = Tag::Unknown(532);

/// A colour model decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    /// Indices of this many bits (1, 2, 4, 8) into the `ColorMap`.
    Palette(u8),
    /// Gray levels of 2 or 4 bits.
    Gray(u8),
    /// 8-bit YCbCr.
    YCbCr,
}

fn corrupt(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(format!("TIFF: {what}"))
}

fn unsupported(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::Unsupported(format!("TIFF: {what}"))
}

/// The model of the first image, when it is one decoded here; `None` for every other TIFF
/// (and for a file `tiff` cannot open: the `image` path reports that). Call it after
/// `tiff_chunks::preflight`, which checks the directory this reads.
pub(crate) fn model(bytes: &[u8]) -> Option<Model> {
    let mut d = Decoder::new(Cursor::new(bytes)).ok()?;
    if let Some(n) = palette_bits(&mut d) {
        return Some(Model::Palette(n));
    }
    match d.colortype().ok()? {
        ColorType::Gray(n @ (2 | 4)) => Some(Model::Gray(n)),
        ColorType::YCbCr(8) => Some(Model::YCbCr),
        _ => None,
    }
}

/// The index depth of a palette image of one sample a pixel. `tiff` 0.11 opens such a file
/// but refuses its colour type (`RGBPalette` is unsupported at every depth), so this reads
/// the tags.
fn palette_bits(d: &mut Decoder<Cursor<&[u8]>>) -> Option<u8> {
    let photometric = d
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .ok()??;
    let samples = d
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .ok()?
        .unwrap_or(1);
    let bits = match d.find_tag_unsigned_vec::<u16>(Tag::BitsPerSample).ok()? {
        None => 1,
        Some(v) => *v.first()?,
    };
    match (photometric, samples, bits) {
        (PALETTE, 1, 1 | 2 | 4 | 8) => Some(bits as u8),
        _ => None,
    }
}

/// `tiff_chunks::preflight` of `bytes`, or for a palette image of the gray copy the decode
/// will read (`tiff` would refuse the palette file's colour type there too).
pub(crate) fn preflight(bytes: &[u8]) -> Result<Chunks, DecodeError> {
    match photometric_field(bytes)? {
        Some((PALETTE, _)) => tiff_chunks::preflight(&as_gray(bytes)?),
        _ => tiff_chunks::preflight(bytes),
    }
}

/// The first directory's photometric value and where its field is, when it is a single
/// SHORT or LONG; read in place, before `tiff` (which trusts the directory) opens the file.
fn photometric_field(bytes: &[u8]) -> Result<Option<(u16, Entry)>, DecodeError> {
    let mut found = None;
    tiff_chunks::each_entry(bytes, |e| {
        if e.tag == 262 && found.is_none() {
            found = e.single_uint().map(|v| (v as u16, e));
        }
        Ok(())
    })?;
    Ok(found)
}

/// A copy of `bytes` whose first directory says BlackIsZero where it says palette, so that
/// `tiff` reads the indices as gray levels (it unpacks nothing either way).
fn as_gray(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let Some((PALETTE, e)) = photometric_field(bytes)? else {
        return Err(corrupt("not a palette image"));
    };
    let width = if e.kind == 3 { 2 } else { 4 };
    let mut copy = bytes.to_vec();
    // The value 1 in the file's byte order, at the start of the value field.
    let field = &mut copy[e.value_at..e.value_at + width];
    field.fill(0);
    field[if e.big_endian { width - 1 } else { 0 }] = 1;
    Ok(copy)
}

/// The probe of a TIFF of a model decoded here: the stored size, the orientation tag, the
/// RGBA8 result as the decoder's output, `tiff`'s samples and JPEG chunks as its scratch.
pub(crate) fn probe(bytes: &[u8], chunks: Chunks) -> Result<Probe, DecodeError> {
    let mut d = Decoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let (width, height) = d.dimensions().map_err(corrupt)?;
    let rgba = u64::from(width) * u64::from(height) * 4;
    let mut probe = Probe::sized(width, height, orientation(bytes), rgba);
    probe.decoded = chunks.decoded;
    // A palette image is read from a copy of the file (`as_gray`).
    let copy = if palette_bits(&mut d).is_some() {
        bytes.len() as u64
    } else {
        0
    };
    probe.scratch_bytes = chunks.extra_bytes.saturating_add(copy);
    Ok(probe)
}

/// A TIFF file is laid out as an EXIF block is: its first directory's orientation tag.
fn orientation(bytes: &[u8]) -> Orientation {
    Orientation::from_exif_chunk(bytes).unwrap_or(Orientation::NoTransforms)
}

/// The first image of a TIFF of `model`, full size, upright RGBA8.
pub(crate) fn decode(bytes: &[u8], model: Model, limits: &Limits) -> Result<Raster, DecodeError> {
    let mut d = Decoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let map = match model {
        Model::Palette(_) => palette(&mut d, model)?,
        _ => Vec::new(),
    };
    let gray = match model {
        Model::Palette(_) => as_gray(bytes)?,
        _ => Vec::new(),
    };
    if !gray.is_empty() {
        d = Decoder::new(Cursor::new(&gray[..])).map_err(corrupt)?;
    }
    let (width, height) = d.dimensions().map_err(corrupt)?;
    check_pixels(width, height, limits)?;
    let planar = d
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(corrupt)?
        .unwrap_or(1);
    if model == Model::YCbCr && planar != 1 {
        return Err(unsupported("YCbCr in separate planes"));
    }
    let compression = d
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(corrupt)?
        .unwrap_or(1);
    let convert = match model {
        Model::Palette(_) => Convert::Palette(map),
        Model::Gray(_) => Convert::Gray,
        Model::YCbCr if compression == JPEG => Convert::YCbCr(YCbCr::JFIF),
        Model::YCbCr => Convert::YCbCr(YCbCr::read(&mut d)?),
    };
    let samples = match d.read_image() {
        Ok(DecodingResult::U8(v)) => v,
        Ok(_) => return Err(unsupported("samples wider than 8 bits")),
        Err(tiff::TiffError::UnsupportedError(e)) => return Err(unsupported(e)),
        Err(e) => return Err(corrupt(e)),
    };
    let mut image = RgbaImage::new(width, height);
    let bits = match model {
        Model::Palette(n) | Model::Gray(n) => usize::from(n),
        Model::YCbCr => 24,
    };
    let (w, h) = (width as usize, height as usize);
    let stride = (w * bits).div_ceil(8);
    if samples.len() < stride * h {
        return Err(corrupt(format!(
            "{} bytes of samples for {w}x{h} at {bits} bits",
            samples.len()
        )));
    }
    if w > 0 {
        for (row, out) in samples
            .chunks_exact(stride)
            .zip(image.chunks_exact_mut(w * 4))
        {
            convert.row(row, bits, out);
        }
    }
    drop(samples);
    let mut upright = DynamicImage::ImageRgba8(image);
    upright.apply_orientation(orientation(bytes));
    Ok(Raster::Rgba8(upright.into_rgba8()))
}

/// The `ColorMap` as 8-bit RGB entries, `2^n` of them: the map must have `3 * 2^n` values.
fn palette(d: &mut Decoder<Cursor<&[u8]>>, model: Model) -> Result<Vec<[u8; 3]>, DecodeError> {
    let Model::Palette(n) = model else {
        return Ok(Vec::new());
    };
    let entries = 1usize << n;
    let map = d
        .find_tag(COLOR_MAP)
        .map_err(corrupt)?
        .ok_or_else(|| corrupt("a palette image without a ColorMap"))?
        .into_u16_vec()
        .map_err(corrupt)?;
    if map.len() != 3 * entries {
        return Err(corrupt(format!(
            "a ColorMap of {} values for {n}-bit indices ({} expected)",
            map.len(),
            3 * entries
        )));
    }
    let byte = |v: u16| (v >> 8) as u8;
    Ok((0..entries)
        .map(|i| {
            [
                byte(map[i]),
                byte(map[entries + i]),
                byte(map[2 * entries + i]),
            ]
        })
        .collect())
}

/// How one row of samples becomes RGBA8.
enum Convert {
    Palette(Vec<[u8; 3]>),
    Gray,
    YCbCr(YCbCr),
}

impl Convert {
    /// `row` (packed samples of `bits` bits a pixel, or 3 bytes of YCbCr) into `out`'s
    /// RGBA pixels.
    fn row(&self, row: &[u8], bits: usize, out: &mut [u8]) {
        match self {
            Convert::YCbCr(m) => {
                for (s, px) in row.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
                    let [r, g, b] = m.rgb(s[0], s[1], s[2]);
                    px.copy_from_slice(&[r, g, b, 255]);
                }
            }
            Convert::Palette(map) => {
                for (x, px) in out.chunks_exact_mut(4).enumerate() {
                    let [r, g, b] = map[packed(row, bits, x)];
                    px.copy_from_slice(&[r, g, b, 255]);
                }
            }
            Convert::Gray => {
                let max = (1usize << bits) - 1;
                for (x, px) in out.chunks_exact_mut(4).enumerate() {
                    let v = (packed(row, bits, x) * 255 / max) as u8;
                    px.copy_from_slice(&[v, v, v, 255]);
                }
            }
        }
    }
}

/// Sample `x` of a row of `bits`-bit samples, most significant bits first (TIFF's
/// FillOrder 1, the only one `tiff` reads).
fn packed(row: &[u8], bits: usize, x: usize) -> usize {
    let bit = x * bits;
    let byte = row[bit / 8];
    let shift = 8 - bits - bit % 8;
    usize::from(byte >> shift) & ((1 << bits) - 1)
}

/// TIFF 6.0's YCbCr to RGB (section 21), as coefficients and reference black and white.
#[derive(Debug, Clone, Copy, PartialEq)]
struct YCbCr {
    /// LumaRed, LumaGreen, LumaBlue.
    luma: [f32; 3],
    /// Y, Cb and Cr's reference black and white.
    reference: [f32; 6],
}

impl YCbCr {
    /// JFIF's, which are TIFF's defaults.
    const JFIF: YCbCr = YCbCr {
        luma: [0.299, 0.587, 0.114],
        reference: [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
    };

    /// The file's, the defaults where a tag is absent; values that would divide by zero are
    /// `Decode`.
    fn read(d: &mut Decoder<Cursor<&[u8]>>) -> Result<YCbCr, DecodeError> {
        let mut m = YCbCr::JFIF;
        if let Some(v) = d.find_tag(YCBCR_COEFFICIENTS).map_err(corrupt)? {
            let v = rationals(v)?;
            let [r, g, b] = v[..] else {
                return Err(corrupt("YCbCrCoefficients without three values"));
            };
            m.luma = [r, g, b];
        }
        if let Some(v) = d.find_tag(REFERENCE_BLACK_WHITE).map_err(corrupt)? {
            let v = rationals(v)?;
            m.reference = v[..]
                .try_into()
                .map_err(|_| corrupt("ReferenceBlackWhite without six values"))?;
        }
        let spans = [
            m.reference[1] - m.reference[0],
            m.reference[3] - m.reference[2],
            m.reference[5] - m.reference[4],
        ];
        let finite = m.luma.iter().chain(&m.reference).all(|v| v.is_finite());
        if !finite || spans.iter().any(|s| s.abs() < 1e-3) || m.luma[1].abs() < 1e-3 {
            return Err(corrupt(format!("YCbCr conversion {m:?}")));
        }
        Ok(m)
    }

    fn rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let [lr, lg, lb] = self.luma;
        let r = &self.reference;
        let y = (f32::from(y) - r[0]) * 255.0 / (r[1] - r[0]);
        let cb = (f32::from(cb) - r[2]) * 127.0 / (r[3] - r[2]);
        let cr = (f32::from(cr) - r[4]) * 127.0 / (r[5] - r[4]);
        let red = cr * (2.0 - 2.0 * lr) + y;
        let blue = cb * (2.0 - 2.0 * lb) + y;
        let green = (y - lb * blue - lr * red) / lg;
        // `as u8` saturates (NaN to 0): no value can leave the range.
        [red, green, blue].map(|v| v.round() as u8)
    }
}

/// A tag's RATIONAL values (or any numbers) as floats; a zero denominator is `Decode`.
fn rationals(v: Value) -> Result<Vec<f32>, DecodeError> {
    let one = |v: Value| match v {
        Value::Rational(n, d) if d != 0 => Ok(n as f32 / d as f32),
        Value::SRational(n, d) if d != 0 => Ok(n as f32 / d as f32),
        other => other.into_f32().map_err(corrupt),
    };
    match v {
        Value::List(list) => list.into_iter().map(one).collect(),
        single => Ok(vec![one(single)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_samples_read_most_significant_bits_first() {
        let row = [0b1011_0010, 0b0111_0000];
        assert_eq!(
            (0..8).map(|x| packed(&row, 2, x)).collect::<Vec<_>>(),
            [2, 3, 0, 2, 1, 3, 0, 0]
        );
        assert_eq!(
            (0..4).map(|x| packed(&row, 4, x)).collect::<Vec<_>>(),
            [11, 2, 7, 0]
        );
        assert_eq!(packed(&row, 1, 0), 1);
        assert_eq!(packed(&row, 1, 1), 0);
        assert_eq!(packed(&row, 8, 1), 0x70);
    }

    #[test]
    fn jfif_ycbcr_matches_the_jfif_equations() {
        // Gray stays gray; pure red, green and blue as BT.601 full range codes them.
        assert_eq!(YCbCr::JFIF.rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(YCbCr::JFIF.rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(YCbCr::JFIF.rgb(255, 128, 128), [255, 255, 255]);
        for (rgb, ycc) in [
            ([255u8, 0, 0], [76u8, 85, 255]),
            ([0, 255, 0], [150, 44, 21]),
            ([0, 0, 255], [29, 255, 107]),
        ] {
            let got = YCbCr::JFIF.rgb(ycc[0], ycc[1], ycc[2]);
            for c in 0..3 {
                assert!(got[c].abs_diff(rgb[c]) <= 2, "{ycc:?}: {got:?} vs {rgb:?}");
            }
        }
    }
}
