//! The render budget of a parsed SVG: what resvg would allocate and compute, estimated from
//! the usvg tree at the output size before any pixel is drawn.
//!
//! Owns: the cost model and its limits. Must not touch: parsing (see `xml`) or pixels.
//!
//! Model (units are output pixels touched, weighted so that one unit is about 1.5 ns of
//! resvg's time on one core, measured; every estimate errs high):
//! - a path costs the area of its (stroke) bounding box, clipped to resvg's layer limit
//!   (the canvas grown by 2x on each side: resvg never makes a layer larger), plus its points;
//!   a pattern fill or stroke renders its tile, and the tile's content, once per path;
//! - an isolated group (opacity, blend, filter, clip path, mask) allocates a layer of its
//!   bounding box, alive while its children render: layer bytes add up along nesting;
//! - a filter keeps every primitive's result for the filter's life, so its memory is the layer
//!   times (primitives + 2); its time is per primitive and pixel of the layer (a blur 100 units,
//!   measured: five box passes each way plus linearRGB conversions; any primitive 30; a
//!   morphology `2(2rx+1)(2ry+1)`, a convolution twice its kernel, a turbulence 60 per octave);
//! - clip paths and masks allocate one or two layer-sized buffers each and render their content;
//! - an embedded raster image is decoded at its real size (`embedded`: a GIF's first frame,
//!   not its header) each time it is drawn (every `<use>` of it is a draw), at a per-pixel
//!   cost and memory measured per format.
//!
//! Limits: [`MAX_NODES`] node visits; work at most `max(2^29, 32 x canvas)` units (the floor
//! is under a second on one core); layer memory at most
//! `max(64 MiB, 2 x canvas bytes)` on top of the canvas.

use resvg::usvg::{self, Group, Node, Paint, Rect, Transform, Tree};

use super::embedded;
use crate::decode::DecodeError;

/// Most nodes the renderer may visit (patterns count once per use).
const MAX_NODES: u64 = 200_000;
/// The work floor, in output-pixel units.
const MIN_WORK: u64 = 1 << 29;
/// The layer-memory floor, in bytes.
const MIN_LAYER_BYTES: u64 = 64 << 20;

/// Checks that rendering `tree` scaled by `scale` onto a `canvas` stays within the budget.
pub(super) fn check(tree: &Tree, scale: (f32, f32), canvas: (u32, u32)) -> Result<(), DecodeError> {
    let (w, h) = (f64::from(canvas.0), f64::from(canvas.1));
    let canvas_px = (w * h) as u64;
    let mut walker = Walker {
        scale,
        region: (-2.0 * w, -2.0 * h, 3.0 * w, 3.0 * h),
        nodes: 0,
        work: 0,
        live: 0,
        max_work: MIN_WORK.max(canvas_px.saturating_mul(32)),
        max_bytes: MIN_LAYER_BYTES.max(canvas_px.saturating_mul(8)),
    };
    walker.group_children(tree.root())
}

fn over(what: &str) -> DecodeError {
    DecodeError::Corrupt(format!("SVG over the render budget: {what}"))
}

struct Walker {
    scale: (f32, f32),
    /// resvg's largest layer, in output pixels: (left, top, right, bottom).
    region: (f64, f64, f64, f64),
    nodes: u64,
    work: u64,
    /// Bytes of the layers alive at this point of the walk.
    live: u64,
    max_work: u64,
    max_bytes: u64,
}

impl Walker {
    /// Output pixels of a user-space rectangle, clipped to the layer limit.
    fn area(&self, r: Rect) -> u64 {
        let (sx, sy) = (f64::from(self.scale.0), f64::from(self.scale.1));
        let (l, t, rr, b) = self.region;
        let x0 = (f64::from(r.left()) * sx).max(l);
        let y0 = (f64::from(r.top()) * sy).max(t);
        let x1 = (f64::from(r.right()) * sx).min(rr);
        let y1 = (f64::from(r.bottom()) * sy).min(b);
        if x1 <= x0 || y1 <= y0 {
            return 0;
        }
        // + 4 per side: resvg pads layers for antialiasing.
        ((x1 - x0 + 4.0) * (y1 - y0 + 4.0)) as u64
    }

    fn add_work(&mut self, units: u64) -> Result<(), DecodeError> {
        self.work = self.work.saturating_add(units);
        if self.work > self.max_work {
            return Err(over("too much to draw at this size"));
        }
        Ok(())
    }

    /// Checks that `extra` bytes can exist on top of the live layers.
    fn fits(&self, extra: u64) -> Result<(), DecodeError> {
        if self.live.saturating_add(extra) > self.max_bytes {
            return Err(over("layers and filters need too much memory at this size"));
        }
        Ok(())
    }

    fn group_children(&mut self, group: &Group) -> Result<(), DecodeError> {
        for node in group.children() {
            self.node(node)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node) -> Result<(), DecodeError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(over("more than 200000 nodes to draw"));
        }
        match node {
            Node::Group(group) => self.group(group),
            Node::Path(path) => {
                let area =
                    self.area(path.abs_stroke_bounding_box()) + self.area(path.abs_bounding_box());
                self.add_work(area + path.data().len() as u64)?;
                let paints = [
                    path.fill().map(|f| f.paint()),
                    path.stroke().map(|s| s.paint()),
                ];
                for paint in paints.into_iter().flatten() {
                    if let Paint::Pattern(pattern) = paint {
                        let ts = path.abs_transform().pre_concat(pattern.transform());
                        self.tile(ts, pattern.rect().width(), pattern.rect().height())?;
                        self.group_children(pattern.root())?;
                    }
                }
                Ok(())
            }
            Node::Image(image) => {
                let kind = image.kind();
                if let usvg::ImageKind::SVG(tree) = kind {
                    return self.group_children(tree.root());
                }
                // Decoded at its real size each time it is drawn, and drawn scaled from that
                // size: a GIF whose frame is larger than its header covers more than its box.
                let size = image.size();
                let (sw, sh) = (f64::from(size.width()), f64::from(size.height()));
                let (rw, rh) = embedded::decoded_size(kind)
                    .map_or((sw, sh), |(w, h)| (f64::from(w), f64::from(h)));
                let native = (rw * rh).min(u64::MAX as f64 / 64.0) as u64;
                let (per_pixel, bytes) = embedded::draw_cost(kind);
                if self.live.saturating_add(native.saturating_mul(bytes)) > self.max_bytes {
                    return Err(over("an embedded image needs too much memory to draw"));
                }
                let b = image.abs_bounding_box();
                let drawn = Rect::from_xywh(
                    b.x(),
                    b.y(),
                    b.width() * (rw / sw.max(1e-6)) as f32,
                    b.height() * (rh / sh.max(1e-6)) as f32,
                )
                .unwrap_or(b);
                self.add_work(native.saturating_mul(per_pixel) + self.area(drawn))
            }
            Node::Text(text) => self.group_children(text.flattened()),
        }
    }

    /// A pattern tile: allocated at its own size for every path painted with it.
    fn tile(&mut self, ts: Transform, w: f32, h: f32) -> Result<(), DecodeError> {
        let (a, b) = ts.get_scale();
        let px = f64::from(w * a * self.scale.0).abs() * f64::from(h * b * self.scale.1).abs();
        let px = px.min(u64::MAX as f64 / 8.0) as u64;
        self.fits(px.saturating_mul(4))?;
        self.add_work(px)
    }

    fn group(&mut self, group: &Group) -> Result<(), DecodeError> {
        if !group.should_isolate() {
            return self.group_children(group);
        }
        let layer = self.area(group.abs_layer_bounding_box().to_rect());
        let bytes = layer.saturating_mul(4);
        self.fits(bytes)?;
        self.add_work(layer.saturating_mul(2))?;
        self.live += bytes;
        let result = self.layer_content(group, layer);
        self.live -= bytes;
        result
    }

    /// What renders into and onto an isolated group's layer of `layer` pixels.
    fn layer_content(&mut self, group: &Group, layer: u64) -> Result<(), DecodeError> {
        self.group_children(group)?;
        let (gx, gy) = group.abs_transform().get_scale();
        let (px_x, px_y) = (gx * self.scale.0, gy * self.scale.1);
        for filter in group.filters() {
            let primitives = filter.primitives().len() as u64;
            self.fits(layer.saturating_mul(4).saturating_mul(primitives + 2))?;
            for primitive in filter.primitives() {
                use usvg::filter::Kind;
                let per_pixel: u64 = match primitive.kind() {
                    Kind::GaussianBlur(_) | Kind::DropShadow(_) => 100,
                    Kind::Morphology(fe) => {
                        let rx = (fe.radius_x().get() * px_x).round().clamp(0.0, 1e6) as u64;
                        let ry = (fe.radius_y().get() * px_y).round().clamp(0.0, 1e6) as u64;
                        (2 * rx + 1).saturating_mul(2 * ry + 1).saturating_mul(2)
                    }
                    Kind::ConvolveMatrix(fe) => {
                        u64::from(fe.matrix().columns()) * u64::from(fe.matrix().rows()) * 2 + 30
                    }
                    Kind::Turbulence(fe) => 60 * u64::from(fe.num_octaves().max(1)),
                    Kind::DiffuseLighting(_) | Kind::SpecularLighting(_) => 100,
                    Kind::Image(fe) => {
                        self.group_children(fe.root())?;
                        30
                    }
                    _ => 30,
                };
                self.add_work(layer.saturating_mul(per_pixel))?;
            }
        }
        let mut clip = group.clip_path();
        let mut clip_depth = 0u64;
        while let Some(c) = clip {
            // A layer-sized pixmap plus a mask; nested clip paths stack up.
            clip_depth += 1;
            self.fits(layer.saturating_mul(5 * clip_depth))?;
            self.add_work(layer.saturating_mul(4))?;
            self.group_children(c.root())?;
            clip = c.clip_path();
        }
        let mut mask = group.mask();
        let mut mask_depth = 0u64;
        while let Some(m) = mask {
            mask_depth += 1;
            self.fits(layer.saturating_mul(5 * mask_depth))?;
            self.add_work(layer.saturating_mul(6))?;
            self.group_children(m.root())?;
            mask = m.mask();
        }
        Ok(())
    }
}
