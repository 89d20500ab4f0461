//! From a coded image (one AV1 item or a grid of them) to planes the conversion reads.
//!
//! Owns: running the AV1 decoder over an image's tiles with the size it declares as the
//! frame limit, checking each decoded frame against that size (a header that lies is an
//! error, and cannot make the decoder allocate past it), and laying grid tiles out on one
//! canvas per plane at the frame's own bit depth. A single item is not copied: its planes are
//! views of the decoder's picture. Must not touch: the container (`meta.rs`) or RGB (`yuv.rs`).

use super::av1::{self, Av1Error, Decoder, Layout, Picture, Sequence, Settings};
use super::meta::Coded;
use super::yuv::{Planes, Samples, View};
use crate::decode::DecodeError;

pub(crate) fn av1_error(e: Av1Error) -> DecodeError {
    if e.unsupported() {
        DecodeError::Unsupported(format!("AVIF: {e}"))
    } else {
        DecodeError::Corrupt(format!("AVIF: {e}"))
    }
}

fn corrupt(message: String) -> DecodeError {
    DecodeError::Corrupt(format!("AVIF: {message}"))
}

/// A view of one decoder plane.
fn view(plane: av1::Plane<'_>, depth: u8) -> Result<View<'_>, DecodeError> {
    let samples = if depth > 8 {
        let s = bytemuck::try_cast_slice::<u8, u16>(plane.bytes)
            .map_err(|e| corrupt(format!("a misaligned plane ({e})")))?;
        Samples::U16(s)
    } else {
        Samples::U8(plane.bytes)
    };
    Ok(View {
        samples,
        stride: plane.stride / if depth > 8 { 2 } else { 1 },
        width: plane.width,
        height: plane.height,
    })
}

/// The planes of a decoded picture.
pub(crate) fn planes<'p>(pic: &'p Picture<'_>) -> Result<Planes<'p>, DecodeError> {
    let depth = pic.depth();
    let missing = || corrupt("a picture without planes".into());
    let y = view(pic.plane(0).ok_or_else(missing)?, depth)?;
    let uv = match pic.layout() {
        Layout::I400 => None,
        _ => Some((
            view(pic.plane(1).ok_or_else(missing)?, depth)?,
            view(pic.plane(2).ok_or_else(missing)?, depth)?,
        )),
    };
    Ok(Planes {
        y,
        uv,
        layout: pic.layout(),
        depth,
    })
}

/// Decodes one temporal unit, which must show a `width` x `height` frame.
pub(crate) fn frame<'d>(
    decoder: &'d mut Decoder,
    data: &[u8],
    (width, height): (u32, u32),
) -> Result<Picture<'d>, DecodeError> {
    let pic = decoder
        .decode(data)
        .map_err(av1_error)?
        .ok_or_else(|| corrupt("the AV1 data shows no frame".into()))?;
    if (pic.width(), pic.height()) != (width, height) {
        return Err(corrupt(format!(
            "the AV1 frame is {}x{} but the file declares {width}x{height}",
            pic.width(),
            pic.height()
        )));
    }
    Ok(pic)
}

/// The frame limit for a tile of `coded`, with film grain (`grain`) and the in-loop filters
/// (`filters`) on or off.
pub(crate) fn settings(coded: &Coded<'_>, grain: bool, filters: bool) -> Settings {
    let pixels = u64::from(coded.tile_width) * u64::from(coded.tile_height);
    Settings {
        grain,
        filters,
        max_frame_pixels: u32::try_from(pixels).unwrap_or(u32::MAX),
    }
}

/// Decodes `coded` (with film grain and the in-loop filters as asked) and hands its planes
/// and sequence header to `f`.
pub(crate) fn decode<R>(
    coded: &Coded<'_>,
    (grain, filters): (bool, bool),
    f: impl FnOnce(&Planes<'_>, Option<Sequence>) -> Result<R, DecodeError>,
) -> Result<R, DecodeError> {
    let mut decoder = Decoder::new(settings(coded, grain, filters)).map_err(av1_error)?;
    let tile = (coded.tile_width, coded.tile_height);
    if coded.tiles.len() == 1 {
        let pic = frame(&mut decoder, &coded.tiles[0], tile)?;
        let seq = pic.sequence();
        return f(&planes(&pic)?, seq);
    }
    let mut canvas: Option<Canvas> = None;
    let mut seq = None;
    for (i, data) in coded.tiles.iter().enumerate() {
        let pic = frame(&mut decoder, data, tile)?;
        let p = planes(&pic)?;
        let c = match &mut canvas {
            Some(c) => c,
            None => {
                seq = pic.sequence();
                canvas.insert(Canvas::new(coded, &p)?)
            }
        };
        let (col, row) = (i as u32 % coded.columns, i as u32 / coded.columns);
        c.place(&p, col * coded.tile_width, row * coded.tile_height)?;
    }
    let canvas = canvas.ok_or_else(|| corrupt("a grid without tiles".into()))?;
    f(&canvas.planes(), seq)
}

/// One plane of a grid's canvas.
enum Buf {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

struct Plane {
    buf: Buf,
    width: u32,
    height: u32,
}

impl Plane {
    fn new(width: u32, height: u32, depth: u8) -> Result<Plane, DecodeError> {
        let n = usize::try_from(u64::from(width) * u64::from(height))
            .map_err(|_| corrupt("a grid too large for this machine".into()))?;
        let buf = if depth > 8 {
            Buf::U16(vec![0; n])
        } else {
            Buf::U8(vec![0; n])
        };
        Ok(Plane { buf, width, height })
    }

    fn view(&self) -> View<'_> {
        View {
            samples: match &self.buf {
                Buf::U8(b) => Samples::U8(b),
                Buf::U16(b) => Samples::U16(b),
            },
            stride: self.width as usize,
            width: self.width,
            height: self.height,
        }
    }

    /// Copies `src` with its top left at (`x`, `y`), clipped to this plane.
    fn place(&mut self, src: &View<'_>, x: u32, y: u32) -> Result<(), DecodeError> {
        let w = src.width.min(self.width.saturating_sub(x)) as usize;
        let h = src.height.min(self.height.saturating_sub(y));
        let stride = self.width as usize;
        for row in 0..h {
            let from = row as usize * src.stride;
            let to = (y + row) as usize * stride + x as usize;
            match (&mut self.buf, src.samples) {
                (Buf::U8(d), Samples::U8(s)) => d[to..to + w].copy_from_slice(&s[from..from + w]),
                (Buf::U16(d), Samples::U16(s)) => {
                    d[to..to + w].copy_from_slice(&s[from..from + w]);
                }
                _ => return Err(corrupt("grid tiles of different bit depths".into())),
            }
        }
        Ok(())
    }
}

/// A grid's planes, at the output size, in the first tile's layout and bit depth.
struct Canvas {
    y: Plane,
    uv: Option<(Plane, Plane)>,
    layout: Layout,
    depth: u8,
}

impl Canvas {
    fn new(coded: &Coded<'_>, first: &Planes<'_>) -> Result<Canvas, DecodeError> {
        let (sx, sy) = first.layout.shifts();
        if (coded.tile_width & sx) != 0 || (coded.tile_height & sy) != 0 {
            return Err(corrupt(format!(
                "grid tiles of {}x{} cannot hold subsampled chroma",
                coded.tile_width, coded.tile_height
            )));
        }
        let (w, h) = (coded.width, coded.height);
        let uv = match first.uv {
            Some(_) => {
                let (cw, ch) = ((w + sx) >> sx, (h + sy) >> sy);
                Some((
                    Plane::new(cw, ch, first.depth)?,
                    Plane::new(cw, ch, first.depth)?,
                ))
            }
            None => None,
        };
        Ok(Canvas {
            y: Plane::new(w, h, first.depth)?,
            uv,
            layout: first.layout,
            depth: first.depth,
        })
    }

    fn place(&mut self, tile: &Planes<'_>, x: u32, y: u32) -> Result<(), DecodeError> {
        if tile.layout != self.layout || tile.depth != self.depth {
            return Err(corrupt("grid tiles of different formats".into()));
        }
        self.y.place(&tile.y, x, y)?;
        let (sx, sy) = self.layout.shifts();
        if let (Some((cu, cv)), Some((u, v))) = (&mut self.uv, &tile.uv) {
            cu.place(u, x >> sx, y >> sy)?;
            cv.place(v, x >> sx, y >> sy)?;
        }
        Ok(())
    }

    fn planes(&self) -> Planes<'_> {
        Planes {
            y: self.y.view(),
            uv: self.uv.as_ref().map(|(u, v)| (u.view(), v.view())),
            layout: self.layout,
            depth: self.depth,
        }
    }
}
