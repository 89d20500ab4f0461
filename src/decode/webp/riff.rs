//! The WebP container (RIFF): which chunks a file has and where they lie, read without
//! decoding anything.
//!
//! Owns: walking the chunks (every size checked against the bytes present; a chunk running
//! past the end is cut to what is there, as a truncated download is, and the decoders then
//! fail on the missing data), the `VP8X` canvas and flags, the frames of an animation
//! (`ANMF`), and the metadata chunks' bytes (`ICCP`, `EXIF`, `XMP `) for the callers that
//! want them (orientation here; colour management elsewhere). Must not touch: pixels.

use std::ops::Range;

/// Where a file's chunks lie (byte ranges of their payloads in the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Container {
    /// The `VP8X` header: canvas size and flags, if the file is extended.
    pub(crate) extended: Option<Extended>,
    /// The still image: a `VP8 ` (lossy) or `VP8L` (lossless) chunk, and any `ALPH` before it.
    pub(crate) image: Option<Image>,
    pub(crate) iccp: Option<Range<usize>>,
    pub(crate) exif: Option<Range<usize>>,
    pub(crate) xmp: Option<Range<usize>>,
    /// `ANIM`: background colour (BGRA as stored) and loop count.
    pub(crate) anim: Option<([u8; 4], u16)>,
    /// Every `ANMF` chunk, in order.
    pub(crate) frames: Vec<Frame>,
}

/// The `VP8X` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extended {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) alpha: bool,
    pub(crate) animated: bool,
}

/// A bitstream chunk (still image or one frame's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    pub(crate) lossless: bool,
    pub(crate) data: Range<usize>,
    pub(crate) alpha: Option<Range<usize>>,
}

/// One `ANMF` frame: its rectangle on the canvas, timing, blending and disposal, and its
/// bitstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) duration_ms: u32,
    /// Alpha-blend over the canvas (otherwise replace the rectangle).
    pub(crate) blend: bool,
    /// Clear the rectangle to transparent after showing the frame.
    pub(crate) dispose: bool,
    pub(crate) image: Option<Image>,
}

/// Why the bytes are not a WebP container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotWebP;

/// Whether `head` starts a WebP file.
pub(crate) fn sniff(head: &[u8]) -> bool {
    head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP"
}

fn u24(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

/// The chunks of `(fourcc, payload range)` in `data[range]`, payloads cut to the bytes there.
fn chunks(data: &[u8], range: Range<usize>) -> impl Iterator<Item = ([u8; 4], Range<usize>)> + '_ {
    let mut at = range.start;
    let end = range.end.min(data.len());
    std::iter::from_fn(move || {
        if at + 8 > end {
            return None;
        }
        let mut fourcc = [0; 4];
        fourcc.copy_from_slice(&data[at..at + 4]);
        let size = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
        let start = at + 8;
        let stop = start.saturating_add(size as usize).min(end);
        // Payloads are padded to an even length.
        at = stop.saturating_add(size as usize & 1);
        Some((fourcc, start..stop))
    })
}

/// Reads the container: the chunks of a simple file (`VP8 `, `VP8L`) or an extended one.
pub(crate) fn parse(data: &[u8]) -> Result<Container, NotWebP> {
    if !sniff(data) {
        return Err(NotWebP);
    }
    let riff = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let end = riff.saturating_add(8).min(data.len());
    let mut c = Container::default();
    let mut alpha = None;
    for (fourcc, r) in chunks(data, 12..end) {
        match &fourcc {
            b"VP8X" if c.extended.is_none() && r.len() >= 10 => {
                let p = &data[r];
                c.extended = Some(Extended {
                    alpha: p[0] & 0x10 != 0,
                    animated: p[0] & 0x02 != 0,
                    width: u24(&p[4..7]) + 1,
                    height: u24(&p[7..10]) + 1,
                });
            }
            b"ALPH" if alpha.is_none() => alpha = Some(r),
            b"VP8 " | b"VP8L" if c.image.is_none() => {
                c.image = Some(Image {
                    lossless: &fourcc == b"VP8L",
                    data: r,
                    alpha: alpha.take(),
                });
            }
            b"ICCP" if c.iccp.is_none() => c.iccp = Some(r),
            b"EXIF" if c.exif.is_none() => c.exif = Some(r),
            b"XMP " if c.xmp.is_none() => c.xmp = Some(r),
            b"ANIM" if c.anim.is_none() && r.len() >= 6 => {
                let p = &data[r];
                c.anim = Some(([p[0], p[1], p[2], p[3]], u16::from_le_bytes([p[4], p[5]])));
            }
            b"ANMF" if r.len() >= 16 => c.frames.push(frame(data, r)),
            _ => {}
        }
    }
    Ok(c)
}

/// One `ANMF` chunk: 16 bytes of frame header, then the frame's `ALPH` and bitstream chunks.
fn frame(data: &[u8], r: Range<usize>) -> Frame {
    let p = &data[r.start..r.start + 16];
    let mut image = None;
    let mut alpha = None;
    for (fourcc, c) in chunks(data, r.start + 16..r.end) {
        match &fourcc {
            b"ALPH" if alpha.is_none() => alpha = Some(c),
            b"VP8 " | b"VP8L" => {
                image = Some(Image {
                    lossless: &fourcc == b"VP8L",
                    data: c,
                    alpha: alpha.take(),
                });
                break;
            }
            _ => {}
        }
    }
    Frame {
        x: 2 * u24(&p[0..3]),
        y: 2 * u24(&p[3..6]),
        width: u24(&p[6..9]) + 1,
        height: u24(&p[9..12]) + 1,
        duration_ms: u24(&p[12..15]),
        blend: p[15] & 0x02 == 0,
        dispose: p[15] & 0x01 != 0,
        image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut c = fourcc.to_vec();
        c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        c.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
        f.extend_from_slice(b"WEBP");
        f.extend_from_slice(&body);
        f
    }

    #[test]
    fn finds_the_chunks_of_an_extended_file() {
        let mut vp8x = vec![0x10 | 0x08 | 0x20, 0, 0, 0];
        vp8x.extend_from_slice(&[99, 0, 0, 49, 0, 0]);
        let f = riff(&[
            chunk(b"VP8X", &vp8x),
            chunk(b"ICCP", b"icc"),
            chunk(b"ALPH", b"\x00ab"),
            chunk(b"VP8 ", b"frame"),
            chunk(b"EXIF", b"II*\0"),
        ]);
        let c = parse(&f).unwrap();
        let e = c.extended.unwrap();
        assert_eq!(
            (e.width, e.height, e.alpha, e.animated),
            (100, 50, true, false)
        );
        assert_eq!(&f[c.iccp.clone().unwrap()], b"icc");
        assert_eq!(&f[c.exif.clone().unwrap()], b"II*\0");
        let image = c.image.unwrap();
        assert!(!image.lossless);
        assert_eq!(&f[image.data], b"frame");
        assert_eq!(&f[image.alpha.unwrap()], b"\x00ab");
    }

    #[test]
    fn hostile_sizes_stay_inside_the_bytes() {
        let f = riff(&[chunk(b"VP8 ", b"abcdef"), chunk(b"EXIF", b"xy")]);
        for cut in 0..f.len() {
            if let Ok(c) = parse(&f[..cut]) {
                for r in [c.image.map(|i| i.data), c.exif].into_iter().flatten() {
                    assert!(r.end <= cut);
                }
            }
        }
        let mut huge = f.clone();
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let c = parse(&huge).unwrap();
        assert_eq!(c.image.unwrap().data, 20..huge.len());
        assert_eq!(parse(b"RIFF\0\0\0\0WEBX"), Err(NotWebP));
    }
}
