//! SVG (and gzip-compressed SVGZ) rendered with resvg straight at the size asked for.
//!
//! Owns: sniffing SVG text, the document size, rendering at a box or at the document size,
//! the security policy (no external resources, no system fonts unless asked, a parse budget in
//! `xml` and a render budget in `cost`), and conversion to straight-alpha RGBA8. Must not
//! touch: the network, the file system (nothing an SVG names is ever opened), caches, or the
//! other decoders.
//!
//! Sizes. A vector image has no pixel size to protect, so "never upscale" does not apply: an
//! icon asked for at 512x512 is rendered at 512 px even if its `viewBox` is 24x24, and a
//! thumbnail box is filled on its limiting side (aspect kept, rounded as `fit::fit_box` does).
//! A full load renders at the document size (`width`/`height`, else the `viewBox`, rounded up
//! to whole pixels). Either way the output must be within `max_pixels`.
//!
//! Security. usvg's default image resolver reads any local file an `<image href>` names; it is
//! replaced: strings (paths, `file:` and `http:` URLs) resolve to nothing, and `data:` URIs
//! are accepted only for PNG, JPEG, GIF and WebP whose real decode size (a GIF's first frame,
//! not its screen) is within `max_pixels` and [`MAX_EMBEDDED_PIXELS`] (nested SVG documents
//! are refused; see `embedded`). Each draw of an embedded image is a decode of it, and the
//! render budget counts it so; the parse budget counts every copy of its bytes usvg makes. System fonts load only with
//! [`SvgOptions::load_system_fonts`] (once per process, and only with the `svg-text` feature);
//! without fonts, text draws nothing.

mod cost;
mod embedded;
mod xml;

use std::io::Read;
#[cfg(feature = "svg-text")]
use std::sync::{Arc, OnceLock};

use image::RgbaImage;
use resvg::tiny_skia;
use resvg::usvg;
#[cfg(feature = "svg-text")]
use resvg::usvg::fontdb;

use crate::decode::{DecodeError, DecodePath, FormatDecoder, Limits, Output, Probe, Target, fit};

/// Largest embedded (`data:` URI) raster image accepted, in pixels, whatever `max_pixels` is.
pub(crate) const MAX_EMBEDDED_PIXELS: u64 = 16_000_000;

/// How SVG documents are rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SvgOptions {
    /// Load the system's fonts (once per process, on first use) so that `<text>` renders.
    /// Default `false`: text draws nothing, and no font file is ever opened. Needs the
    /// `svg-text` feature; without it text never renders and this has no effect.
    pub(crate) load_system_fonts: bool,
}

/// Whether `head` (the first bytes; give at least 1 KiB) starts an SVG document: optional
/// BOM, XML declaration, comments, processing instructions and doctype, then an `<svg` root.
/// Gzip data is looked into (SVGZ). Unsure (the prolog outlasts `head`) counts as no unless
/// the doctype names `svg`.
pub(crate) fn sniff(head: &[u8]) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(head).take(4096);
        let mut chunk = [0u8; 512];
        // A truncated stream ends in an error: keep what came out before it.
        while let Ok(n @ 1..) = decoder.read(&mut chunk) {
            text.extend_from_slice(&chunk[..n]);
        }
        return sniff_text(&text);
    }
    sniff_text(head)
}

fn sniff_text(head: &[u8]) -> bool {
    let mut s = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let find = |s: &[u8], pat: &[u8]| s.windows(pat.len()).position(|w| w == pat);
    loop {
        s = s.trim_ascii_start();
        if s.starts_with(b"<!--") {
            let Some(end) = find(s, b"-->") else {
                return false;
            };
            s = &s[end + 3..];
        } else if s.starts_with(b"<?") {
            let Some(end) = find(s, b"?>") else {
                return false;
            };
            s = &s[end + 2..];
        } else if s.starts_with(b"<!DOCTYPE") {
            let names_svg = s[9..].trim_ascii_start().starts_with(b"svg");
            // Skip to the `>` that closes it, past an internal subset in brackets.
            let mut depth = 0i32;
            let end = s.iter().position(|&b| {
                match b {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    b'>' if depth <= 0 => return true,
                    _ => {}
                }
                false
            });
            match end {
                Some(end) => s = &s[end + 1..],
                None => return names_svg,
            }
        } else if let Some(rest) = s.strip_prefix(b"<") {
            let end = rest
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
                .unwrap_or(rest.len());
            let name = &rest[..end];
            return name == b"svg" || name.ends_with(b":svg");
        } else {
            return false;
        }
    }
}

/// The document's size in whole pixels (rounded up), from a full parse without rendering.
/// Parsing runs under the same budget as [`decode`] (see `xml`).
pub(crate) fn dimensions(bytes: &[u8], opts: &SvgOptions) -> Result<(u32, u32), DecodeError> {
    let tree = parse(bytes, opts, MAX_EMBEDDED_PIXELS)?;
    let size = tree.size().to_int_size();
    Ok((size.width(), size.height()))
}

/// Renders `bytes` to straight-alpha RGBA8: fitted to the `target` box (scaled up or down,
/// aspect kept), or at the document size when `target` is `None`. The output size must be
/// within `max_pixels`; a hostile document ends in an error within the parse and render
/// budgets (see `xml` and `cost`).
pub(crate) fn decode(
    bytes: &[u8],
    target: Option<(u32, u32)>,
    max_pixels: u64,
    opts: &SvgOptions,
) -> Result<RgbaImage, DecodeError> {
    let tree = parse(bytes, opts, max_pixels.min(MAX_EMBEDDED_PIXELS))?;
    let doc = tree.size();
    let int = doc.to_int_size();
    let (width, height) = match target {
        None => (int.width(), int.height()),
        Some((0, _) | (_, 0)) => {
            return Err(DecodeError::Unsupported("an empty target box".into()));
        }
        Some((bw, bh)) => fit::scale_to_box(int.width(), int.height(), bw, bh),
    };
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(DecodeError::TooLarge { width, height });
    }
    let scale = (width as f32 / doc.width(), height as f32 / doc.height());
    cost::check(&tree, scale, (width, height))?;
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(DecodeError::TooLarge { width, height })?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale.0, scale.1),
        &mut pixmap.as_mut(),
    );
    Ok(straight_rgba(&pixmap))
}

/// tiny-skia's premultiplied pixels as straight-alpha RGBA8.
pub(crate) fn straight_rgba(pixmap: &tiny_skia::Pixmap) -> RgbaImage {
    let mut out = Vec::with_capacity(pixmap.data().len());
    for p in pixmap.pixels() {
        let c = p.demultiply();
        out.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    // Same dimensions, four bytes per pixel: the buffer always has the right length.
    RgbaImage::from_raw(pixmap.width(), pixmap.height(), out).unwrap_or_default()
}

/// Parses within the budget, with the safe resolver and the font policy.
fn parse(bytes: &[u8], opts: &SvgOptions, max_embedded: u64) -> Result<usvg::Tree, DecodeError> {
    let text = xml::text(bytes)?;
    let doc = xml::parse(&text)?;
    #[cfg_attr(not(feature = "svg-text"), allow(unused_mut))]
    let mut options = usvg::Options {
        resources_dir: None,
        image_href_resolver: embedded::resolver(max_embedded),
        ..Default::default()
    };
    #[cfg(feature = "svg-text")]
    if opts.load_system_fonts {
        options.fontdb = system_fonts();
    }
    #[cfg(not(feature = "svg-text"))]
    let _ = opts.load_system_fonts;
    usvg::Tree::from_xmltree(&doc, &options).map_err(|e| match e {
        usvg::Error::ElementsLimitReached => {
            DecodeError::Corrupt("SVG over the parse budget: too many elements".into())
        }
        usvg::Error::InvalidSize => {
            DecodeError::Corrupt("SVG has no valid size (width, height or viewBox)".into())
        }
        other => DecodeError::Corrupt(format!("SVG: {other}")),
    })
}

/// The system's fonts, loaded on first use and shared by every later render.
#[cfg(feature = "svg-text")]
fn system_fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            Arc::new(db)
        })
        .clone()
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

/// SVG in the decoder registry.
pub(crate) struct Svg(pub(crate) SvgOptions);

impl FormatDecoder for Svg {
    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }

    fn probe(&self, bytes: &[u8]) -> Result<Probe, DecodeError> {
        let (width, height) = dimensions(bytes, &self.0)?;
        Ok(Probe::sized(
            width,
            height,
            image::metadata::Orientation::NoTransforms,
            u64::from(width) * u64::from(height) * 4,
        ))
    }

    /// The canvas at the size rendered, the render's layers (capped by the render budget at
    /// the larger of 64 MiB and twice the canvas), and the parsed tree (bounded by the input).
    fn peak_bytes(&self, bytes: &[u8], probe: &Probe, target: Target) -> u64 {
        let (w, h) = render_size(probe, target);
        let canvas = u64::from(w) * u64::from(h) * 4;
        canvas + canvas.saturating_mul(2).max(64 << 20) + 32 * bytes.len() as u64
    }

    fn decode(
        &self,
        bytes: &[u8],
        probe: &Probe,
        target: Target,
        limits: &Limits,
    ) -> Result<Output, DecodeError> {
        let size = render_size(probe, target);
        let image = decode(bytes, Some(size), limits.max_pixels, &self.0)?;
        Ok(Output::new(image, DecodePath::FullDecode))
    }
}

/// The size an SVG is rendered at: a thumbnail box is filled on its limiting side, scaled up
/// if need be (a vector has no native size to stay under); a cover is rendered covering its
/// box (the registry crops the centre); a pixel cap scales the document size down; a full
/// load renders the document size.
fn render_size(probe: &Probe, target: Target) -> (u32, u32) {
    let (w, h) = (probe.width.max(1), probe.height.max(1));
    match target {
        Target::Box(bw, bh) => fit::scale_to_box(w, h, bw, bh),
        Target::Cover(bw, bh) => fit::cover_size(w, h, bw, bh),
        Target::Full | Target::Pixels(_) => target.size_for(w, h),
    }
}
