//! GIF's container read without decoding a pixel: the logical screen and each frame's
//! rectangle, from the `gif` crate with LZW decoding skipped, so the cost follows the bytes
//! and nothing is allocated in proportion to what the file declares.
//!
//! Owns: [`first_frame`] (the screen and the first frame: what a still decode and resvg's
//! embedded-image decode really decode) and [`walk`] (every frame, for animations). Must not
//! touch: pixels, limits or budgets (the callers size and check what these report).
//!
//! Why a walk at all: a GIF frame may be larger than the logical screen, or lie outside it
//! (the spec says it must not; nothing in the file stops it). The `image` crate decodes every
//! frame at its own size and then clips it to the screen, so the screen is not what a decode
//! costs: a 1x1 screen may hold a 20000x20000 frame (400 MP of LZW and 2 GB of buffers in
//! 300 KB). Clipping is kept (it is what `image`, the GIF spec and Firefox's composition
//! show); the frame's own size is what the callers count.
//!
//! How: `next_frame_info` with `skip_frame_decoding` reads a frame's descriptor and, on the
//! next call, skips its data sub-blocks without copying them. (`read_next_frame` would copy
//! the LZW data into a buffer it first reserves at a quarter of the frame's declared pixels:
//! 100 MB for the frame above.)

use std::borrow::Cow;
use std::io::Cursor;

use super::formats::gif_palette;

/// A frame's rectangle on the screen, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub(crate) left: u32,
    pub(crate) top: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Rect {
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether the frame covers whole rows of a `width` x `height` screen, so that a decoder
    /// writes it straight into the screen's buffer.
    pub(crate) fn spans_rows_of(&self, width: u32, height: u32) -> bool {
        self.left == 0
            && self.width == width
            && u64::from(self.top) + u64::from(self.height) <= u64::from(height)
    }
}

/// What the container says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walk {
    /// The logical screen (the canvas every frame is composed on).
    pub(crate) screen: (u32, u32),
    /// Frames read whole (their data present up to its terminator), counted up to the limit
    /// given to [`walk`] plus one.
    pub(crate) frames: u64,
    /// The largest of those frames, by area.
    pub(crate) largest: (u32, u32),
}

/// The `gif` crate's reader over `bytes`, given the default colour table a file without any
/// is decoded with (`formats/gif_palette.rs`): the walk must accept what the decode accepts.
fn open(bytes: &[u8]) -> Result<gif::Decoder<Cursor<Cow<'_, [u8]>>>, gif::DecodingError> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    options.read_info(Cursor::new(gif_palette::with_default(bytes)))
}

fn rect(frame: &gif::Frame<'_>) -> Rect {
    Rect {
        left: u32::from(frame.left),
        top: u32::from(frame.top),
        width: u32::from(frame.width),
        height: u32::from(frame.height),
    }
}

/// The screen and the first frame's rectangle (`None` for a file without frames), reading
/// nothing past the first frame's descriptor.
pub(crate) fn first_frame(bytes: &[u8]) -> Result<((u32, u32), Option<Rect>), gif::DecodingError> {
    let mut decoder = open(bytes)?;
    let screen = (u32::from(decoder.width()), u32::from(decoder.height()));
    let first = decoder.next_frame_info()?.map(rect);
    Ok((screen, first))
}

/// Every frame, stopping once more than `limit` frames have been counted. A frame whose data
/// is cut short or malformed ends the walk uncounted: a decode stops before it too.
pub(crate) fn walk(bytes: &[u8], limit: u64) -> Result<Walk, gif::DecodingError> {
    let mut decoder = open(bytes)?;
    let mut walk = Walk {
        screen: (u32::from(decoder.width()), u32::from(decoder.height())),
        frames: 0,
        largest: (0, 0),
    };
    // A frame counts once the next call has skipped its data without an error.
    let mut pending: Option<Rect> = None;
    loop {
        let next = decoder.next_frame_info();
        if let (Ok(_), Some(frame)) = (&next, pending.take()) {
            walk.frames += 1;
            if frame.pixels() > u64::from(walk.largest.0) * u64::from(walk.largest.1) {
                walk.largest = (frame.width, frame.height);
            }
        }
        match next {
            Ok(Some(frame)) if walk.frames <= limit => pending = Some(rect(frame)),
            _ => return Ok(walk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF with a `screen` and frames of the given rectangles, each with `data` as its
    /// LZW sub-block (not decoded here).
    fn gif(screen: (u16, u16), frames: &[(u16, u16, u16, u16)], data: &[u8]) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&screen.0.to_le_bytes());
        out.extend_from_slice(&screen.1.to_le_bytes());
        out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        for &(left, top, w, h) in frames {
            out.push(0x2C);
            for v in [left, top, w, h] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&[0, 2, data.len() as u8]);
            out.extend_from_slice(data);
            out.push(0);
        }
        out.push(0x3B);
        out
    }

    #[test]
    fn reports_frames_larger_than_the_screen_without_decoding_them() {
        let frames = [(0, 0, 1, 1), (5, 7, 60000, 50000), (0, 0, 300, 200)];
        let bytes = gif((1, 1), &frames, &[0x44, 0x01]);
        let (screen, first) = first_frame(&bytes).unwrap();
        assert_eq!(screen, (1, 1));
        assert_eq!(
            first,
            Some(Rect {
                left: 0,
                top: 0,
                width: 1,
                height: 1
            })
        );
        let walk = walk(&bytes, 100).unwrap();
        assert_eq!(walk.frames, 3);
        assert_eq!(walk.largest, (60000, 50000));
        // Counting stops one past the limit.
        assert_eq!(super::walk(&bytes, 1).unwrap().frames, 2);
    }

    #[test]
    fn a_frame_cut_short_is_not_counted() {
        let bytes = gif((10, 10), &[(0, 0, 10, 10), (0, 0, 10, 10)], &[0x44, 0x01]);
        // Cut inside the second frame's data.
        let cut = &bytes[..bytes.len() - 3];
        let walk = walk(cut, 100).unwrap();
        assert_eq!(walk.frames, 1);
        assert_eq!(walk.largest, (10, 10));
        assert!(first_frame(b"GIF89a").is_err());
    }

    #[test]
    fn spans_rows_only_when_the_frame_fills_whole_screen_rows() {
        let r = |left, top, width, height| Rect {
            left,
            top,
            width,
            height,
        };
        assert!(r(0, 0, 10, 10).spans_rows_of(10, 10));
        assert!(r(0, 3, 10, 7).spans_rows_of(10, 10));
        assert!(!r(0, 4, 10, 7).spans_rows_of(10, 10));
        assert!(!r(1, 0, 9, 10).spans_rows_of(10, 10));
        assert!(!r(0, 0, 20000, 20000).spans_rows_of(1, 1));
    }
}
