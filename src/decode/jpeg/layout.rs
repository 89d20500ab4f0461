//! How each component is reconstructed at the reduced size: pixels per block from the
//! scaled IDCT, and the rest of the ratio left to upsampling.
//!
//! Owns: [`CompLayout`] and the choice in [`layout`]. Must not touch: allocation or decoding;
//! the decoder sizes its planes from it, and `limits::estimate_peak` counts the same sizes.

use super::color::Ratio;
use super::markers::Frame;

/// How one component is reconstructed at the reduced size.
pub(super) struct CompLayout {
    /// Output pixels per block, horizontally and vertically (1, 2 or 4).
    pub(super) nh: usize,
    pub(super) nv: usize,
    /// Upsampling from the plane to the output grid.
    pub(super) h: Ratio,
    pub(super) v: Ratio,
}

/// Pixels per block side for a component with sampling factor `f` (of
/// `max`): one block covers `bs * max / f` output pixels; the IDCT makes the
/// smallest of 1, 2, 4 that is at least that (so a plane is never coarser
/// than the output when it need not be), 4 at most.
fn pixels_per_block(bs: usize, max: usize, f: usize) -> usize {
    [1, 2, 4]
        .into_iter()
        .find(|&n| n * f >= bs * max)
        .unwrap_or(4)
}

/// Chooses each component's output pixels per block. A subsampled
/// component gets a larger scaled IDCT instead of being upsampled (like
/// libjpeg's scaled decoding, but per direction), up to 4 pixels; only the
/// rest of the ratio (e.g. chroma at 1/2) is upsampled. A ratio that is not
/// a power of two (3x, fractional) rounds the IDCT size up and the plane is
/// area-averaged down to the output. `dc_only` (progressive 1/8) forces 1x1
/// blocks and upsamples all of the ratio.
pub(super) fn layout(frame: &Frame, bs: usize, dc_only: bool) -> Vec<CompLayout> {
    frame
        .comps
        .iter()
        .map(|c| {
            let (nh, nv) = if dc_only {
                (1, 1)
            } else {
                (
                    pixels_per_block(bs, frame.hmax, c.h),
                    pixels_per_block(bs, frame.vmax, c.v),
                )
            };
            CompLayout {
                nh,
                nv,
                h: Ratio::new(bs * frame.hmax, c.h * nh),
                v: Ratio::new(bs * frame.vmax, c.v * nv),
            }
        })
        .collect()
}
