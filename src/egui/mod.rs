//! egui integration (feature `egui`): `ui.image("https://…")` loads through webimage.
//!
//! Owns: [`WebImageLoader`] (an [`egui::load::ImageLoader`]), the
//! texture loader that [`install`] registers beside it (`texture.rs`), the mapping from egui's
//! [`SizeHint`] to a thumbnail box, and the per-pass bookkeeping that cancels loads nobody
//! asked for. Must not touch: loader internals; it uses the public API only
//! ([`ImageLoader::load`], [`Request::thumbnail`], [`Token::cancel`], [`LoadedImage`],
//! [`Error`]), like any app would.
//!
//! ```no_run
//! # fn setup(ctx: &egui::Context) -> Result<(), webimage::Error> {
//! use std::sync::Arc;
//! let loader = Arc::new(webimage::ImageLoader::new(webimage::Config { lifo: true, ..Default::default() })?);
//! webimage::egui::install(ctx, loader);
//! // Then, in any `ui`: ui.image("https://example.com/cat.jpg");
//! # Ok(()) }
//! ```
//!
//! # How a URI is loaded
//!
//! - **Sizes.** egui's [`SizeHint`] is in physical pixels (egui has applied
//!   `pixels_per_point`). `Size { w, h, .. }` becomes [`Request::thumbnail(w, h)`], `Width(w)`
//!   a box `w` wide and unbounded in height, `Height(h)` the reverse, and `Scale(_)` (egui's
//!   "original size") a box of the context's `max_texture_side`, so a texture never exceeds
//!   what the GPU takes. A 12-megapixel photo in a 128-point cell at 2x is decoded straight to
//!   fit 256x256. Each box is a separate entry here, in webimage's memory cache and as a
//!   texture.
//! - **Cache hits** are `Ready` in the same pass: webimage answers a memory-cache hit on the
//!   calling thread, before [`ImageLoader::load`] returns.
//! - **Misses** return `Pending { size: None }`; the completion (on a worker thread) converts
//!   the pixels there and calls `ctx.request_repaint()`. Errors become
//!   [`LoadError::Loading`] with webimage's message and are kept while the cell stays on
//!   screen (no retry loop); a URL on webimage's failed-URL list fails again at once later.
//! - **Other URIs** (egui's `bytes://`, `.svg` files, unknown schemes) return
//!   [`LoadError::NotSupported`], so egui's other loaders still handle them. Handled:
//!   `http://`, `https://`, `file://` and `data:` (not `data:image/svg`).
//!
//! # Off-screen cancellation
//!
//! egui asks only for the images it draws, every pass. A load whose (URI, size) was not asked
//! for during a pass is cancelled at that pass's `end_pass` with [`Token::cancel`]: a queued
//! download is never sent and a running one stops reading. A fast-scrolled grid therefore
//! downloads only what stayed on screen long enough; with [`Config::lifo`](crate::Config::lifo)
//! the newest visible cells start first.
//!
//! # Memory
//!
//! webimage's memory cache holds the decoded `Arc<RgbaImage>` (unpremultiplied RGBA8), bounded
//! by `Config::memory_cache_bytes`. egui needs its own `Arc<ColorImage>` (premultiplied
//! `Color32`), so each delivery is converted once with `ColorImage::from_rgba_unmultiplied`:
//! one allocation, one pass over the pixels, no intermediate buffer. The two do not share
//! memory; the `ColorImage` is short-lived:
//!
//! - this loader keeps a converted image only while its (URI, size) is asked for every pass,
//!   and drops it at the first `end_pass` nobody asked (with the texture loader below, that is
//!   one pass after the texture was made), so it holds at most the images of two passes;
//! - egui's texture manager drops its `Arc` once the backend has uploaded the texture.
//!
//! So CPU memory stays bounded by webimage's memory cache plus the images on screen, with no
//! LRU of converted images here. A pending load's completion holds a clone of the `Context` (to
//! repaint) until it completes or is cancelled; `ctx.forget_all_images()` before dropping a
//! context cancels them all at once. Scrolling back to an evicted cell is a memory-cache hit in
//! webimage and one conversion, in the same pass.
//!
//! # Textures
//!
//! egui's `DefaultTextureLoader` keys textures by URI alone (except `.svg`) and never frees
//! them, so a scrolling grid keeps every texture it ever showed, and two sizes of one URL would
//! share the first size's texture. [`install`] therefore also registers a texture loader of
//! its own, tried before the default one for the URIs this loader handles: it keys textures by
//! (URI, texture options, thumbnail box), frees a texture at the first `end_pass` that did not
//! draw it, and, while a new size of a URI is loading, shows the texture of another size of
//! the same URI instead of nothing (a window being resized does not flash placeholders).
//!
//! `forget(uri)` / `Context::forget_image` drop every size of `uri` here and cancel its loads;
//! webimage's own caches are not cleared (an app calling `forget_image` every frame, as egui
//! users do to free textures, must not turn every frame into a download). Use
//! [`ImageLoader::clear_memory`] or the disk cache's methods to refetch.

mod texture;

use std::collections::HashMap;
use std::sync::Arc;

use ::egui::load::{ImageLoadResult, ImagePoll, LoadError, SizeHint};
use ::egui::{ColorImage, Context};
use parking_lot::Mutex;

use crate::{Error, ImageLoader, LoadedImage, Request, Token};

pub use texture::WebTextureLoader;

/// An egui [`ImageLoader`](::egui::load::ImageLoader) backed by a webimage [`ImageLoader`]:
/// bounded worker pool, one download per URL, thumbnails decoded at the size egui asks for,
/// cost-limited caches, and loads cancelled once egui stops asking for them. Register it with
/// [`install`] (which also registers the matching texture loader).
pub struct WebImageLoader {
    loader: Arc<ImageLoader>,
    state: Mutex<HashMap<String, Vec<Entry>>>,
}

/// One (URI, box) this loader has been asked for.
struct Entry {
    size: (u32, u32),
    slot: Arc<Mutex<Slot>>,
    token: Token,
    /// Asked for since the last `end_pass`.
    seen: bool,
}

/// Where a completion leaves its result.
#[derive(Default)]
struct Slot {
    result: Option<Result<Arc<ColorImage>, LoadError>>,
    /// `load` has returned: a completion from now on comes from a worker and must wake egui.
    returned: bool,
}

/// Registers a [`WebImageLoader`] for `loader` on `ctx`, with a texture loader keyed by size
/// that frees textures no longer drawn. Both are tried before loaders added earlier, and pass
/// on URIs they do not handle. Returns the image loader (for [`WebImageLoader::loader`]'s
/// stats, for example).
pub fn install(ctx: &Context, loader: Arc<ImageLoader>) -> Arc<WebImageLoader> {
    let images = Arc::new(WebImageLoader::new(loader));
    ctx.add_image_loader(images.clone());
    ctx.add_texture_loader(Arc::new(WebTextureLoader::default()));
    images
}

impl WebImageLoader {
    /// The loader `ctx.add_image_loader` takes; [`install`] is the usual way to register it.
    pub fn new(loader: Arc<ImageLoader>) -> WebImageLoader {
        WebImageLoader {
            loader,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// The webimage loader behind this one (for its stats and caches).
    pub fn loader(&self) -> &Arc<ImageLoader> {
        &self.loader
    }

    /// Loads still waiting for their result.
    pub fn pending(&self) -> usize {
        self.state
            .lock()
            .values()
            .flatten()
            .filter(|e| e.slot.lock().result.is_none())
            .count()
    }

    /// Starts loading `uri` at `size` and records it in `state`; the caller holds the lock
    /// (a completion never takes it, so a memory-cache hit completing right here is fine).
    fn start(
        &self,
        state: &mut HashMap<String, Vec<Entry>>,
        ctx: &Context,
        uri: &str,
        size: (u32, u32),
    ) -> Arc<Mutex<Slot>> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        // egui textures are sRGB, whatever the loader's colour space.
        let request = Request::new(uri)
            .thumbnail(size.0, size.1)
            .color(crate::ColorTarget::Srgb);
        let (done, wake) = (slot.clone(), ctx.clone());
        let token = self.loader.load(request, move |result| {
            let result = match result {
                Ok(image) => Ok(Arc::new(color_image(&image))),
                // Cancelled by `end_pass` or `forget` (possibly inside egui's own lock): the
                // entry is gone, nobody waits, and `ctx` must not be touched.
                Err(Error::Cancelled { .. }) => return,
                Err(e) => Err(LoadError::Loading(e.to_string())),
            };
            let wake_egui = {
                let mut slot = done.lock();
                slot.result = Some(result);
                slot.returned
            };
            if wake_egui {
                wake.request_repaint();
            }
        });
        slot.lock().returned = true;
        let entry = Entry {
            size,
            slot: slot.clone(),
            token,
            seen: true,
        };
        state.entry(uri.to_string()).or_default().push(entry);
        slot
    }

    fn cancel(entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            entry.token.cancel();
        }
    }
}

impl ::egui::load::ImageLoader for WebImageLoader {
    fn id(&self) -> &str {
        ::egui::generate_loader_id!(WebImageLoader)
    }

    fn load(&self, ctx: &Context, uri: &str, size_hint: SizeHint) -> ImageLoadResult {
        if !handles(uri) {
            return Err(LoadError::NotSupported);
        }
        let size = thumbnail_box(size_hint, ctx.input(|i| i.max_texture_side));
        let slot = {
            let mut state = self.state.lock();
            let existing = state
                .get_mut(uri)
                .and_then(|sizes| sizes.iter_mut().find(|e| e.size == size))
                .map(|entry| {
                    entry.seen = true;
                    entry.slot.clone()
                });
            match existing {
                Some(slot) => slot,
                None => self.start(&mut state, ctx, uri, size),
            }
        };
        let slot = slot.lock();
        match &slot.result {
            None => Ok(ImagePoll::Pending { size: None }),
            Some(Ok(image)) => Ok(ImagePoll::Ready {
                image: image.clone(),
            }),
            Some(Err(e)) => Err(e.clone()),
        }
    }

    fn forget(&self, uri: &str) {
        let removed = self.state.lock().remove(uri);
        Self::cancel(removed.into_iter().flatten());
    }

    fn forget_all(&self) {
        let removed = std::mem::take(&mut *self.state.lock());
        Self::cancel(removed.into_values().flatten());
    }

    fn end_pass(&self, _pass_index: u64) {
        let mut unseen = Vec::new();
        {
            let mut state = self.state.lock();
            state.retain(|_, sizes| {
                let mut i = 0;
                while i < sizes.len() {
                    if sizes[i].seen {
                        sizes[i].seen = false;
                        i += 1;
                    } else {
                        unseen.push(sizes.swap_remove(i));
                    }
                }
                !sizes.is_empty()
            });
        }
        // egui holds its context lock here; a cancelled completion does not touch `ctx`.
        Self::cancel(unseen);
    }

    fn byte_size(&self) -> usize {
        self.state
            .lock()
            .values()
            .flatten()
            .map(|e| match &e.slot.lock().result {
                Some(Ok(image)) => image.pixels.len() * 4,
                _ => 0,
            })
            .sum()
    }

    fn has_pending(&self) -> bool {
        self.pending() > 0
    }
}

/// Whether webimage loads `uri` (and no better-suited egui loader should).
pub(crate) fn handles(uri: &str) -> bool {
    let lower = |n: usize| uri.get(..n).map(str::to_ascii_lowercase);
    let scheme = |s: &str| lower(s.len()).as_deref() == Some(s);
    if scheme("data:") {
        return !scheme("data:image/svg");
    }
    (scheme("http://") || scheme("https://") || scheme("file://"))
        && !::egui::load::has_extension(uri.split('?').next().unwrap_or(uri), "svg")
}

/// The thumbnail box for egui's size hint, in physical pixels, never over `max_side`.
pub(crate) fn thumbnail_box(hint: SizeHint, max_side: usize) -> (u32, u32) {
    let max = u32::try_from(max_side).unwrap_or(u32::MAX).max(1);
    let side = |n: u32| n.clamp(1, max);
    match hint {
        SizeHint::Size { width, height, .. } => (side(width), side(height)),
        SizeHint::Width(w) => (side(w), max),
        SizeHint::Height(h) => (max, side(h)),
        SizeHint::Scale(_) => (max, max),
    }
}

/// egui's premultiplied copy of webimage's pixels: one allocation, one pass.
fn color_image(image: &LoadedImage) -> ColorImage {
    let pixels = image.image();
    let size = [pixels.width() as usize, pixels.height() as usize];
    ColorImage::from_rgba_unmultiplied(size, pixels.as_raw())
}
