//! Raster images embedded in an SVG (`data:` URIs): which are accepted, the size resvg really
//! decodes them at, and what one draw of them costs.
//!
//! Owns: the image resolver usvg calls for every `<image>` (and again for every `<use>` of
//! one), [`decoded_size`] and [`draw_cost`]. Must not touch: the render budget's walk
//! (`cost`, which charges these per draw) or the parse budget (`xml`, which bounds the bytes
//! of all the copies usvg makes).
//!
//! Sizes. usvg sizes an image by its header (the `imagesize` crate); resvg decodes it when it
//! is drawn, every time it is drawn, at the size its decoder really produces. They agree for
//! PNG (IHDR), JPEG (the frame header: `jpeg::preflight` checks there is exactly one, and
//! that its data can hold it) and WebP (the canvas), but not for GIF: resvg decodes the first
//! frame at the frame's own size, which may be far larger than the logical screen the header
//! gives (`gif_walk`). The resolver refuses an image whose real size is over the limit, and
//! the render budget counts that size for each draw.
//!
//! Draw costs, in the render budget's units (about 1.5 ns of one core), measured through
//! resvg 0.49 on 2000x2000 pictures of noise (the worst case; smooth pictures decode two to
//! three times faster): GIF 31 ns a pixel, PNG 22, JPEG 20, WebP lossy 75, lossless 23.

use std::io::Cursor;

use resvg::usvg::{ImageHrefResolver, ImageKind};

use crate::decode::{gif_walk, jpeg};

/// The size resvg decodes an embedded raster at, when it differs from the size usvg gives it
/// (`Image::size`, from the header): a GIF's first frame. `None`: the header's size is right
/// (or the image is a nested SVG, which draws no raster).
pub(super) fn decoded_size(kind: &ImageKind) -> Option<(u32, u32)> {
    match kind {
        ImageKind::GIF(data) => {
            let (_, first) = gif_walk::first_frame(data).ok()?;
            first.map(|f| (f.width, f.height))
        }
        _ => None,
    }
}

/// One draw of a raster: (work units a pixel for its decode, bytes a pixel it holds while
/// drawn: the decoder's output, its working buffers, and resvg's premultiplied pixmap).
pub(super) fn draw_cost(kind: &ImageKind) -> (u64, u64) {
    match kind {
        // LZW into palette indices, expanded to RGBA, premultiplied in f64 into the pixmap.
        ImageKind::GIF(_) => (21, 9),
        ImageKind::PNG(_) => (15, 8),
        ImageKind::JPEG(_) => (14, 8),
        ImageKind::WEBP(_) => (50, 8),
        ImageKind::SVG(_) => (0, 0),
    }
}

/// Never follows a path or URL; accepts embedded PNG, JPEG, GIF and WebP whose real decode
/// size is within `max_pixels` (and, for JPEG, that pass the JPEG preflight, so a scan bomb
/// cannot hide in an SVG). Nested SVG documents are refused. A refused image draws nothing,
/// as a broken image does in a browser.
pub(super) fn resolver(max_pixels: u64) -> ImageHrefResolver<'static> {
    ImageHrefResolver {
        resolve_data: Box::new(move |_mime, data, _opts| {
            // The bytes decide the format, not the declared MIME type.
            let format = image::guess_format(&data).ok()?;
            let (w, h) = match format {
                image::ImageFormat::Gif => {
                    let (_, first) = gif_walk::first_frame(&data).ok()?;
                    first.map(|f| (f.width, f.height))?
                }
                image::ImageFormat::Jpeg => {
                    let info = jpeg::preflight(&data).ok()?;
                    (info.width, info.height)
                }
                _ => image::ImageReader::with_format(Cursor::new(data.as_slice()), format)
                    .into_dimensions()
                    .ok()?,
            };
            if u64::from(w) * u64::from(h) > max_pixels {
                return None;
            }
            match format {
                image::ImageFormat::Png => Some(ImageKind::PNG(data)),
                image::ImageFormat::Jpeg => Some(ImageKind::JPEG(data)),
                image::ImageFormat::Gif => Some(ImageKind::GIF(data)),
                image::ImageFormat::WebP => Some(ImageKind::WEBP(data)),
                _ => None,
            }
        }),
        resolve_string: Box::new(|_href, _opts| None),
    }
}
