//! The built-in formats, one file per decoder family behind [`FormatDecoder`](super::FormatDecoder).
//!
//! Owns: nothing but the list of files. Must not touch: the registry's order of steps (sniff,
//! probe, limit, decode, resize), which `decode/mod.rs` owns.

pub(super) mod bmp;
pub(super) mod gif_palette;
mod ico_entries;
pub(super) mod image_rs;
pub(super) mod jpeg;
#[cfg(feature = "jxl")]
pub(super) mod jxl;
mod png_trns;
#[cfg(feature = "svg")]
pub(crate) mod svg;
pub(super) mod tga;
mod tiff_colors;
pub(super) mod webp;
