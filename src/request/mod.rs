//! What one caller asks for.
//!
//! Owns: [`Request`] and its builder methods, and mapping a request to its [`Variant`]
//! (defined in `variant.rs`); the plain enums it carries live in `policy.rs`. Must not touch: the queue
//! or the caches; the loader reads a request once and keeps only what the job needs.

use std::fmt;
use std::sync::Arc;

use crate::color::ColorTarget;
use crate::headers::{Header, HeaderRules, Redacted};
use crate::process::{Chain, Processor};
use crate::url_text;
pub(crate) use crate::variant::{Size, Variant};

mod policy;
pub use policy::{CachePolicy, Priority, Store};

/// A progress callback: bytes received so far and the total if the server announced it.
pub(crate) type ProgressFn = Box<dyn FnMut(u64, Option<u64>) + Send>;

/// A preview callback: a preview of the image while it downloads.
pub(crate) type PreviewFn = Box<dyn FnMut(crate::LoadedImage) + Send>;

/// Whether a request overrides [`Config::scale_down_pixels`](crate::Config::scale_down_pixels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScaleDown {
    /// Use the loader's configuration.
    FromConfig,
    /// This request's own cap (`None`: full size).
    Set(Option<u64>),
}

/// One image to load, built from a URL:
///
/// ```
/// use webimage::{Priority, Request};
/// let request = Request::new("https://example.com/cat.jpg")
///     .priority(Priority::High)
///     .header("Authorization", "Bearer abc")
///     .progress(|received, total| println!("{received} of {total:?}"));
/// # drop(request);
/// ```
///
/// Accepted URLs: `http://`, `https://`, `file://`, `data:`, and absolute file paths.
pub struct Request {
    pub(crate) url: String,
    pub(crate) priority: Priority,
    pub(crate) retry_failed: bool,
    pub(crate) headers: Vec<Header>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) preview: Option<PreviewFn>,
    pub(crate) partial_download: bool,
    /// A thumbnail or cover box (`Size::Thumbnail` or `Size::Cover`), the last one asked.
    boxed: Option<Size>,
    scale_down: ScaleDown,
    animated: bool,
    /// This request's colour space; `None`: the loader's.
    color: Option<ColorTarget>,
    chain: Option<Chain>,
    pub(crate) cache_policy: CachePolicy,
    pub(crate) store: Store,
}

impl Request {
    /// A request for `url` at [`Priority::Normal`].
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            url: url.into(),
            priority: Priority::Normal,
            retry_failed: false,
            headers: Vec::new(),
            progress: None,
            preview: None,
            partial_download: false,
            boxed: None,
            scale_down: ScaleDown::FromConfig,
            animated: false,
            color: None,
            chain: None,
            cache_policy: CachePolicy::UseCache,
            store: Store::Both,
        }
    }

    /// Asks for a thumbnail: the image scaled down to fit inside `max_width` x `max_height`
    /// as displayed (after EXIF orientation, so a rotated portrait fits the box upright),
    /// keeping its aspect ratio and never upscaled (a 100x50 image in a 256x256 box stays
    /// 100x50). The side that limits becomes exactly the box's side; the other is rounded to
    /// the nearest pixel (1800x1200 in 200x200 gives 200x133).
    ///
    /// Each box size is its own memory-cache entry, apart from the full-size image; callers
    /// asking for different sizes of one URL at the same time share one download, and each
    /// size is decoded once. JPEGs are decoded at reduced size in the DCT domain (or from
    /// their embedded Exif thumbnail), so a thumbnail of a large photo never holds its
    /// full-size pixels. A thumbnail ignores [`scale_down_pixels`](Self::scale_down_pixels).
    /// It replaces an earlier [`cover`](Self::cover) on the same request.
    ///
    /// A box with a zero side is refused: the load fails at once with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    ///
    /// ```
    /// let request = webimage::Request::new("https://example.com/photo.jpg").thumbnail(256, 256);
    /// # drop(request);
    /// ```
    #[must_use]
    pub fn thumbnail(mut self, max_width: u32, max_height: u32) -> Self {
        self.boxed = Some(Size::Thumbnail {
            width: max_width,
            height: max_height,
        });
        self
    }

    /// Asks for the image to fill a `width` x `height` box exactly, as a grid cell does
    /// (Glide's `centerCrop`, Coil's `Scale.FILL`, `UIView.ContentMode.scaleAspectFill`):
    /// scaled, aspect kept, until it covers the box as displayed (after EXIF orientation),
    /// then cropped to the box around its centre. The result is always exactly
    /// `width` x `height`; an image smaller than the box is scaled up to fill it.
    ///
    /// It is decoded like a [`thumbnail`](Self::thumbnail): a JPEG at reduced size in the DCT
    /// domain (only the DC scans of a progressive file) or from its embedded Exif thumbnail,
    /// so a 12-megapixel photo in a 256x256 cell never exists at full size. Each box is its
    /// own memory-cache entry, apart from thumbnails of the same box; it ignores
    /// [`scale_down_pixels`](Self::scale_down_pixels) and replaces an earlier `thumbnail`.
    /// A box with a zero side is refused with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    ///
    /// ```
    /// let cell = webimage::Request::new("https://example.com/photo.jpg").cover(256, 256);
    /// # drop(cell);
    /// ```
    #[must_use]
    pub fn cover(mut self, width: u32, height: u32) -> Self {
        self.boxed = Some(Size::Cover { width, height });
        self
    }

    /// Asks for every frame of an animated GIF, APNG or WebP
    /// ([`LoadedImage::frames`](crate::LoadedImage::frames)), each the whole canvas as shown
    /// (earlier frames composed under it, disposal applied), with its delay and the loop
    /// count. Without it (the default) an animation loads as its first frame. A thumbnail,
    /// [`cover`](Self::cover), pixel cap or processor applies to every frame.
    ///
    /// Bounded before any frame is decoded: more frames than
    /// [`Config::max_animation_frames`](crate::Config::max_animation_frames), or more pixels
    /// in all frames together (canvas width x height x frames) than
    /// [`Config::max_pixels`](crate::Config::max_pixels), fail with
    /// [`Error::TooLarge`](crate::Error::TooLarge). The memory-cache cost is the bytes of
    /// every frame. An animation and its first frame alone are separate cache entries.
    ///
    /// ```
    /// let request = webimage::Request::new("https://example.com/cat.gif").animated(true);
    /// # drop(request);
    /// ```
    #[must_use]
    pub fn animated(mut self, animated: bool) -> Self {
        self.animated = animated;
        self
    }

    /// Runs `processor` on the decoded image (after the thumbnail, cover or cap) before it is
    /// cached and handed out; call it again to add more, which run in the order added. The
    /// result is cached in memory under a key holding every processor's
    /// [`id`](Processor::id) in order, apart from the unprocessed image. See [`Processor`]
    /// and the built-ins [`Blur`](crate::Blur), [`Grayscale`](crate::Grayscale),
    /// [`RoundedCorners`](crate::RoundedCorners) and [`Circle`](crate::Circle).
    ///
    /// ```
    /// use webimage::{Circle, Request};
    /// let avatar = Request::new("https://example.com/me.jpg").cover(96, 96).process(Circle);
    /// # drop(avatar);
    /// ```
    #[must_use]
    pub fn process(mut self, processor: impl Processor) -> Self {
        self.chain = Some(Chain::then(self.chain.take(), Arc::new(processor)));
        self
    }

    /// Overrides [`Config::color`](crate::Config::color) for this request: the colour space its
    /// pixels are delivered in (an app with windows on an sRGB and a wide-gamut display, say).
    /// Each space is its own memory-cache entry; loads of one URL in different spaces share
    /// one download. Previews while downloading stay in the loader's space.
    ///
    /// ```
    /// use webimage::{ColorTarget, Request};
    /// let wide = Request::new("https://example.com/photo.jpg").color(ColorTarget::DisplayP3);
    /// # drop(wide);
    /// ```
    #[must_use]
    pub fn color(mut self, target: ColorTarget) -> Self {
        self.color = Some(target);
        self
    }

    /// Overrides [`Config::scale_down_pixels`](crate::Config::scale_down_pixels) for this
    /// full-size load: `Some(n)` scales an image with more than `n` pixels down to at most `n`
    /// (aspect kept), `None` loads it at full size whatever the configuration says. Each cap
    /// is its own memory-cache entry. `Some(0)` is refused with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    #[must_use]
    pub fn scale_down_pixels(mut self, max_pixels: Option<u64>) -> Self {
        self.scale_down = ScaleDown::Set(max_pixels);
        self
    }

    /// The variant this request asks for, given the loader's scale-down cap and colour space;
    /// an error message if the request is malformed. Allocates nothing.
    pub(crate) fn variant(
        &self,
        config_cap: Option<u64>,
        config_color: &ColorTarget,
    ) -> Result<Variant, String> {
        let size = match self.boxed {
            Some(Size::Thumbnail { width, height }) if width == 0 || height == 0 => {
                return Err(format!("thumbnail box {width}x{height} has a zero side"));
            }
            Some(Size::Cover { width, height }) if width == 0 || height == 0 => {
                return Err(format!("cover box {width}x{height} has a zero side"));
            }
            Some(size) => size,
            None => {
                let cap = match self.scale_down {
                    ScaleDown::FromConfig => config_cap,
                    ScaleDown::Set(cap) => cap,
                };
                match cap {
                    None => Size::Original,
                    Some(0) => return Err("scale_down_pixels is 0".into()),
                    Some(max_pixels) => Size::ScaledDown { max_pixels },
                }
            }
        };
        Ok(Variant {
            size,
            animated: self.animated,
            color: self.color.as_ref().unwrap_or(config_color).clone(),
            chain: self.chain.clone(),
        })
    }

    /// How this request uses the memory and disk caches; see [`CachePolicy`]. Default
    /// [`CachePolicy::UseCache`].
    #[must_use]
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.cache_policy = policy;
        self
    }

    /// Where to store the result for later loads. Default [`Store::Both`]. Responses marked
    /// `Cache-Control: no-store` are never written to disk.
    #[must_use]
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// Sets the priority. A request that joins a queued download of the same URL raises that
    /// download's priority if its own is higher.
    #[must_use]
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Load the URL even if it is on the failed-URL list (and take it off on success).
    #[must_use]
    pub fn retry_failed(mut self, retry: bool) -> Self {
        self.retry_failed = retry;
        self
    }

    /// Adds a header to the HTTP request. When several callers share one download, the headers
    /// of the caller that started it are sent; callers only share a download (or a
    /// memory-cache entry) when their own headers are the same.
    ///
    /// Credential headers (`Authorization`, `Cookie`, `Proxy-Authorization`, the names in
    /// [`Config::credential_headers`](crate::Config::credential_headers), and any header that
    /// is not known to be harmless: see [`Config::shared_headers`](crate::Config::shared_headers))
    /// scope the request: a keyed digest of their values becomes part of its key, so it
    /// shares a download, a memory-cache entry, a disk-cache entry and a failed-URL entry only
    /// with requests that send the same credentials, and never receives an image fetched with
    /// other credentials or none. They are dropped when a redirect changes the origin, their
    /// values are never written to disk, and `Debug` redacts them. Use
    /// [`credential_header`](Self::credential_header) to mark any other header as one.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header::plain(name, value));
        self
    }

    /// Adds a header whose value is a credential for this request, whatever its name (an
    /// `Accept-Language` that identifies a user, say): treated like `Authorization` in every
    /// way [`header`](Self::header) describes.
    ///
    /// ```
    /// let request = webimage::Request::new("https://example.com/me.png")
    ///     .credential_header("X-Tenant", "acme-7f3e");
    /// assert!(!format!("{request:?}").contains("acme-7f3e"));
    /// ```
    #[must_use]
    pub fn credential_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header::credential(name, value));
        self
    }

    /// Called on a worker thread as bytes arrive, with the bytes received so far and the total
    /// if known. No call starts after this request's completion closure has been called.
    #[must_use]
    pub fn progress(mut self, f: impl FnMut(u64, Option<u64>) + Send + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Called on a worker thread with a preview while a progressive JPEG downloads: once the
    /// bytes so far hold the DC scans of every colour component (in a typical progressive
    /// photo the first 5 to 15% of the file), the picture decoded from them at 1/8 of its
    /// size. Then the completion closure gets the final image as usual.
    ///
    /// - **Size.** The request's final size if that is at most 1/8 of the image (a small
    ///   thumbnail: the preview is then nearly the final image), otherwise the image at 1/8
    ///   (rounded up), upright: draw it stretched into the final image's place. Previews are
    ///   never upscaled.
    /// - **When.** At most one preview decode per download at a time, and not within 0.5 s
    ///   of the previous one; never after this request's completion closure has been called
    ///   (nor after a cancel), never for an image answered from the memory or disk cache, and
    ///   not when the body is already complete. A load that joins a download which has shown
    ///   a preview gets it at once, on the calling thread, before `load` returns.
    /// - **Which images.** Progressive JPEGs only, over `http`/`https`. Baseline JPEGs and
    ///   other formats get no preview (a baseline file arrives top to bottom; a partial decode
    ///   would be a gray image with a strip on top), nor do local files and `data:` URLs,
    ///   which are at hand at once.
    ///
    /// A preview closure must be quick and must not wait for another load of the same loader:
    /// the worker that finishes this load waits for a preview call that is still running
    /// before it calls the completion closure.
    ///
    /// ```
    /// let request = webimage::Request::new("https://example.com/photo.jpg")
    ///     .thumbnail(128, 128)
    ///     .preview(|p| println!("preview {}x{}", p.width(), p.height()));
    /// # drop(request);
    /// ```
    #[must_use]
    pub fn preview(mut self, f: impl FnMut(crate::LoadedImage) + Send + 'static) -> Self {
        self.preview = Some(Box::new(f));
        self
    }

    /// Lets the download stop early, before the whole body has arrived, even when the disk
    /// cache is on. Default `false`.
    ///
    /// A thumbnail (or scale-down cap) of at most 1/8 of a progressive JPEG is decoded from
    /// its DC scans alone, so the download can end as soon as they have arrived: typically 5
    /// to 15% of the bytes on the wire. The loader stops such a download when every caller
    /// sharing it wants such an image and none needs the whole body: with no disk cache, or
    /// a [`Store`] without the disk, that is always so; with the disk cache on, only if every
    /// caller set `partial_download(true)`. A stopped body is never written to the disk cache
    /// (a partial body is not an entry), so a later load of the same URL downloads again;
    /// its decoded thumbnail is cached in memory as usual.
    ///
    /// The thumbnail from a stopped download can differ from the one decoded from the whole
    /// file in one way: DC refinement scans that had not arrived (files written with
    /// successive approximation, such as libjpeg's default progressive script, refine the DC
    /// by one bit late in the file) are missing: a mean difference of 0.56 in 255 measured on
    /// such a file.
    #[must_use]
    pub fn partial_download(mut self, allow: bool) -> Self {
        self.partial_download = allow;
        self
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("url", &url_text::shown(&self.url))
            .field("priority", &self.priority)
            .field("retry_failed", &self.retry_failed)
            // The loader's configuration is not at hand: the default rules, under which only
            // the known-harmless headers are shown.
            .field(
                "headers",
                &Redacted::marked(&self.headers, &HeaderRules::downloads(&[], &[])),
            )
            .field("progress", &self.progress.is_some())
            .field("preview", &self.preview.is_some())
            .field("partial_download", &self.partial_download)
            .field("size", &self.boxed)
            .field("scale_down", &self.scale_down)
            .field("animated", &self.animated)
            .field("color", &self.color)
            .field("processors", &self.chain)
            .field("cache_policy", &self.cache_policy)
            .field("store", &self.store)
            .finish()
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Self {
        Request::new(url)
    }
}

impl From<String> for Request {
    fn from(url: String) -> Self {
        Request::new(url)
    }
}

impl From<&String> for Request {
    fn from(url: &String) -> Self {
        Request::new(url.as_str())
    }
}
