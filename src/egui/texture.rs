//! The texture loader [`install`](super::install) registers beside [`WebImageLoader`](super::WebImageLoader).
//!
//! Owns: egui textures of the URIs webimage handles, keyed by (URI, texture options, thumbnail
//! box), and freeing them once they are not drawn. Must not touch: loading or decoding; it
//! asks `Context::try_load_image` like egui's `DefaultTextureLoader` does.

use std::collections::HashMap;

use ::egui::load::ImagePoll;
use ::egui::load::{SizeHint, SizedTexture, TextureLoadResult, TextureLoader, TexturePoll};
use ::egui::{Context, TextureHandle, TextureOptions};
use parking_lot::Mutex;

use super::{handles, thumbnail_box};

/// An egui [`TextureLoader`] for the URIs [`WebImageLoader`](super::WebImageLoader) handles
/// (it returns `NotSupported` for the rest, so egui's `DefaultTextureLoader` takes them).
///
/// Unlike the default loader it keeps one texture per (URI, texture options, size), so two
/// sizes of one URL never share a texture, and it frees a texture at the first `end_pass` in
/// which it was not drawn, so a scrolling grid holds textures for what is on screen only.
/// [`install`](super::install) registers it; add it yourself only when you register
/// [`WebImageLoader`](super::WebImageLoader) with `Context::add_image_loader`.
#[derive(Default)]
pub struct WebTextureLoader {
    textures: Mutex<HashMap<String, Vec<Texture>>>,
}

struct Texture {
    options: TextureOptions,
    size: (u32, u32),
    handle: TextureHandle,
    /// Drawn since the last `end_pass`.
    used: bool,
}

impl Texture {
    fn sized(&mut self) -> SizedTexture {
        self.used = true;
        SizedTexture::from_handle(&self.handle)
    }
}

impl TextureLoader for WebTextureLoader {
    fn id(&self) -> &str {
        ::egui::generate_loader_id!(WebTextureLoader)
    }

    fn load(
        &self,
        ctx: &Context,
        uri: &str,
        options: TextureOptions,
        size_hint: SizeHint,
    ) -> TextureLoadResult {
        if !handles(uri) {
            return Err(::egui::load::LoadError::NotSupported);
        }
        let size = thumbnail_box(size_hint, ctx.input(|i| i.max_texture_side));
        let mut textures = self.textures.lock();
        let same_uri = textures.entry(uri.to_string()).or_default();
        if let Some(t) = same_uri
            .iter_mut()
            .find(|t| t.size == size && t.options == options)
        {
            return Ok(TexturePoll::Ready { texture: t.sized() });
        }
        let poll = ctx.try_load_image(uri, size_hint);
        let result = match poll {
            Ok(ImagePoll::Ready { image }) => {
                let name = format!("{uri} @{}x{}", size.0, size.1);
                let handle = ctx.load_texture(name, image, options);
                let mut texture = Texture {
                    options,
                    size,
                    handle,
                    used: true,
                };
                let sized = texture.sized();
                same_uri.push(texture);
                Ok(TexturePoll::Ready { texture: sized })
            }
            // Another size of the same image stands in while this one loads.
            Ok(ImagePoll::Pending { size: pending }) => Ok(same_uri
                .iter_mut()
                .find(|t| t.options == options)
                .map_or(TexturePoll::Pending { size: pending }, |t| {
                    TexturePoll::Ready { texture: t.sized() }
                })),
            Err(e) => Err(e),
        };
        if same_uri.is_empty() {
            textures.remove(uri);
        }
        result
    }

    fn forget(&self, uri: &str) {
        self.textures.lock().remove(uri);
    }

    fn forget_all(&self) {
        self.textures.lock().clear();
    }

    fn end_pass(&self, _pass_index: u64) {
        // Dropping a handle only queues the texture's release; egui frees it with this pass's
        // output, so nothing here re-enters the context (whose lock egui holds now).
        self.textures.lock().retain(|_, same_uri| {
            same_uri.retain_mut(|t| std::mem::replace(&mut t.used, false));
            !same_uri.is_empty()
        });
    }

    fn byte_size(&self) -> usize {
        self.textures
            .lock()
            .values()
            .flatten()
            .map(|t| t.handle.byte_size())
            .sum()
    }
}
