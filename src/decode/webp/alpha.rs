//! A lossy WebP's alpha plane (the `ALPH` chunk of the container specification): raw or
//! lossless-compressed, then unfiltered.
//!
//! Owns: the chunk's header byte, the three prediction filters, and handing compressed
//! alpha to the lossless decoder. Must not touch: colour pixels (the caller writes the plane
//! over them, or reduces it with them).
//!
//! Compressed alpha is a VP8L image stream without its five-byte header (the green channel
//! is the alpha). It goes through `image-webp`'s lossless decoder by giving the stream the
//! header it lacks and a RIFF wrapper: a full-size decode (about 7 bytes a pixel at its peak,
//! counted by [`peak_bytes`]), then the green channel is kept.

use std::io::Cursor;

use super::Vp8Error;

/// Bytes a decode of this alpha chunk holds at its peak besides the plane itself.
pub(crate) fn peak_bytes(chunk: &[u8], width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    match chunk.first().map(|b| b & 3) {
        Some(1) => pixels * 8,
        _ => 0,
    }
}

/// The `width * height` alpha plane of an `ALPH` chunk.
pub(crate) fn decode(chunk: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Vp8Error> {
    let Some((&head, data)) = chunk.split_first() else {
        return Err(Vp8Error::Corrupt("empty ALPH chunk"));
    };
    let (compression, filter, pre, reserved) =
        (head & 3, (head >> 2) & 3, (head >> 4) & 3, head >> 6);
    if compression > 1 || pre > 1 || reserved != 0 {
        return Err(Vp8Error::Corrupt("ALPH chunk with an unknown method"));
    }
    let (w, h) = (width as usize, height as usize);
    let mut plane = if compression == 0 {
        match data.get(..w * h) {
            Some(raw) => raw.to_vec(),
            None => return Err(Vp8Error::Corrupt("ALPH chunk shorter than its plane")),
        }
    } else {
        lossless(data, width, height)?
    };
    unfilter(&mut plane, w, filter);
    Ok(plane)
}

/// The green channel of a headerless VP8L stream of `width` x `height`.
fn lossless(stream: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Vp8Error> {
    // VP8L header: signature, 14 bits each of width - 1 and height - 1, no alpha, version 0.
    let bits = (width - 1) | (height - 1) << 14;
    let mut vp8l = vec![0x2f];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(stream);
    let (pixels, per_pixel) = decode_vp8l(&vp8l)?;
    Ok(pixels.chunks_exact(per_pixel).map(|p| p[1]).collect())
}

/// A VP8L bitstream (with its header) decoded by `image-webp` in a RIFF wrapper of its own:
/// the pixels and their channels (3 without alpha, 4 with).
pub(super) fn decode_vp8l(vp8l: &[u8]) -> Result<(Vec<u8>, usize), Vp8Error> {
    let mut file = b"RIFF".to_vec();
    let body = 4 + 8 + vp8l.len() + (vp8l.len() & 1);
    file.extend_from_slice(&(body as u32).to_le_bytes());
    file.extend_from_slice(b"WEBPVP8L");
    file.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    file.extend_from_slice(vp8l);
    if vp8l.len() % 2 == 1 {
        file.push(0);
    }
    let bad = |_| Vp8Error::Corrupt("lossless data does not decode");
    let mut d = image_webp::WebPDecoder::new(Cursor::new(&file)).map_err(bad)?;
    let (w, h) = d.dimensions();
    let size = d
        .output_buffer_size()
        .ok_or(Vp8Error::Corrupt("lossless image too large"))?;
    let mut pixels = vec![0u8; size];
    d.read_image(&mut pixels).map_err(bad)?;
    Ok((pixels, size / (w as usize * h as usize)))
}

/// Undoes the alpha prediction filter (1 horizontal, 2 vertical, 3 gradient) in place.
fn unfilter(plane: &mut [u8], w: usize, filter: u8) {
    if filter == 0 || w == 0 {
        return;
    }
    // The first row: each pixel predicted from the one to its left (the first from 0).
    for x in 1..w {
        plane[x] = plane[x].wrapping_add(plane[x - 1]);
    }
    let rows = plane.len() / w;
    for y in 1..rows {
        let (above, row) = plane[(y - 1) * w..(y + 1) * w].split_at_mut(w);
        // The first column: predicted from above, for every filter.
        row[0] = row[0].wrapping_add(above[0]);
        match filter {
            1 => {
                for x in 1..w {
                    row[x] = row[x].wrapping_add(row[x - 1]);
                }
            }
            2 => {
                for x in 1..w {
                    row[x] = row[x].wrapping_add(above[x]);
                }
            }
            _ => {
                for x in 1..w {
                    let g = i16::from(row[x - 1]) + i16::from(above[x]) - i16::from(above[x - 1]);
                    row[x] = row[x].wrapping_add(g.clamp(0, 255) as u8);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_undoes_its_prediction() {
        let (w, h) = (5usize, 4usize);
        let plane: Vec<u8> = (0..w * h).map(|i| (i * 37 % 251) as u8).collect();
        for filter in 0..4u8 {
            // Filter as an encoder would, then decode.
            let mut deltas = plane.clone();
            for y in 0..h {
                for x in 0..w {
                    let at = |xx: usize, yy: usize| plane[yy * w + xx];
                    let pred = match (filter, x, y) {
                        (0, _, _) => 0,
                        (_, 0, 0) => 0,
                        (_, _, 0) => at(x - 1, 0),
                        (_, 0, _) => at(0, y - 1),
                        (1, _, _) => at(x - 1, y),
                        (2, _, _) => at(x, y - 1),
                        _ => (i16::from(at(x - 1, y)) + i16::from(at(x, y - 1))
                            - i16::from(at(x - 1, y - 1)))
                        .clamp(0, 255) as u8,
                    };
                    deltas[y * w + x] = plane[y * w + x].wrapping_sub(pred);
                }
            }
            let mut chunk = vec![filter << 2];
            chunk.extend_from_slice(&deltas);
            assert_eq!(
                decode(&chunk, w as u32, h as u32).unwrap(),
                plane,
                "filter {filter}"
            );
        }
        assert!(decode(&[0, 1, 2], 5, 4).is_err());
        assert!(decode(&[3], 1, 1).is_err());
        assert!(decode(&[], 1, 1).is_err());
    }
}
