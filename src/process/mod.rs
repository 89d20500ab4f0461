//! The processing stage: what happens to a decoded image after the decode and before the
//! memory cache, on the worker threads.
//!
//! Owns: the public [`Processor`] trait, a request's chain of processors and its key (every
//! processor's id, in order), running a chain over a decoded image (every frame of an
//! animation) with a panicking processor contained as an error, the memory a run reserves,
//! and the built-in processors (`builtin.rs`). Must not touch: decoding, the caches, the
//! in-flight map or the budget itself: the worker (`pipeline/worker.rs`) decodes the base
//! image once, reserves [`peak_bytes`] from the decode budget, calls [`run`] for each chain
//! its callers want, and stores each result in the memory cache under its own variant.
//!
//! A processed result is a variant of its own: the memory cache and the in-flight map key it
//! by the decode variant plus the chain's key, so the same chain on the same image runs once
//! (callers asking for it at the same time share the run), and different chains on one URL
//! share one download and one decode. The disk cache keeps the original bytes only.

mod builtin;

pub use builtin::{Blur, Circle, Grayscale, RoundedCorners};

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use image::RgbaImage;

use crate::error::Error;
use crate::loaded::{Animation, Frame, Pixels};

/// A step applied to a decoded image before it is cached and handed out: a blur, a tint, a
/// mask, a watermark. Add it to a request with [`Request::process`](crate::Request::process);
/// several run in the order added.
///
/// The loader runs processors on its worker threads, after the decode (for a thumbnail or
/// [`cover`](crate::Request::cover) request, on the small image), inside the decode memory
/// budget, and caches the result in memory under a key that holds every processor's
/// [`id`](Self::id) in order. Loads of the same URL with the same ids share one run; loads
/// with different processors share one download and one decode. For an animation every frame
/// is processed. A processor that panics fails the loads that asked for it with
/// [`Error::Process`], and nothing else.
///
/// ```
/// use std::borrow::Cow;
/// use webimage::{Error, Processor, Request};
/// use webimage::image::RgbaImage;
///
/// /// Inverts the colours, keeping alpha.
/// struct Invert;
///
/// impl Processor for Invert {
///     fn id(&self) -> Cow<'_, str> {
///         "myapp.invert".into()
///     }
///     fn process(&self, mut image: RgbaImage) -> Result<RgbaImage, Error> {
///         for p in image.pixels_mut() {
///             for c in &mut p.0[..3] {
///                 *c = 255 - *c;
///             }
///         }
///         Ok(image)
///     }
/// }
///
/// let request = Request::new("https://example.com/a.jpg").cover(128, 128).process(Invert);
/// # drop(request);
/// ```
pub trait Processor: Send + Sync + 'static {
    /// What this processor does, with every parameter that changes its output
    /// (`"myapp.tint(#ff000080)"`). It is part of the memory-cache key, so two processors
    /// must have the same id only if they make the same pixels from the same input, and an
    /// id must not change while the loader runs. Start it with your app's or crate's name so
    /// it cannot clash with another's (the built-ins start with `webimage.`).
    fn id(&self) -> Cow<'_, str>;

    /// Makes the processed image from `image` (upright straight-alpha RGBA8, after any resize
    /// the request asked for). It may change the size. An error fails the loads that asked
    /// for this processor with that error (the loader puts their URL in it).
    fn process(&self, image: RgbaImage) -> Result<RgbaImage, Error>;
}

/// A request's processors, in order, and its key: each id prefixed by its length, so no two
/// different lists of ids have the same key. Compared and hashed by the key alone; cloning
/// is two reference counts.
#[derive(Clone)]
pub(crate) struct Chain {
    key: Arc<str>,
    processors: Arc<[Arc<dyn Processor>]>,
}

impl Chain {
    /// `chain` (if any) followed by `next`.
    pub(crate) fn then(chain: Option<Chain>, next: Arc<dyn Processor>) -> Chain {
        let mut processors: Vec<Arc<dyn Processor>> = match chain {
            Some(c) => c.processors.to_vec(),
            None => Vec::new(),
        };
        processors.push(next);
        let mut key = String::new();
        for p in &processors {
            let id = p.id();
            key.push_str(&id.len().to_string());
            key.push(':');
            key.push_str(&id);
        }
        Chain {
            key: key.into(),
            processors: processors.into(),
        }
    }

    /// The heap bytes this chain holds of its own: its key's text and the list of processors
    /// (each an `Arc` the request shares), with both allocations' reference counts.
    pub(crate) fn held_bytes(&self) -> u64 {
        let pointers = self.processors.len() * std::mem::size_of::<Arc<dyn Processor>>();
        (self.key.len() + pointers + 2 * 16) as u64
    }

    /// The ids of the processors, in order.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.processors
            .iter()
            .map(|p| p.id().into_owned())
            .collect()
    }
}

impl PartialEq for Chain {
    fn eq(&self, other: &Chain) -> bool {
        Arc::ptr_eq(&self.key, &other.key) || self.key == other.key
    }
}

impl Eq for Chain {}

impl Hash for Chain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// Why a chain did not produce an image.
#[derive(Debug)]
pub(crate) enum ProcessError {
    /// A processor returned this error.
    Failed(Error),
    /// The processor with this id panicked.
    Panicked(String),
}

impl ProcessError {
    /// The error the callers of this chain get (their URL is put in on delivery).
    pub(crate) fn into_error(self) -> Error {
        match self {
            ProcessError::Failed(e) => e,
            ProcessError::Panicked(processor) => Error::Process {
                url: String::new(),
                processor,
                message: "the processor panicked".into(),
            },
        }
    }
}

/// The most memory a run of a chain over `base` holds beyond `base` itself: every processed
/// image of an animation, plus, for the image being processed, its copy and one working
/// buffer of the same size (a blur's intermediate pass). A processor that grows the image
/// uses more than this.
pub(crate) fn peak_bytes(base: &Pixels) -> u64 {
    let largest = match base.frames() {
        Some(frames) => frames
            .iter()
            .map(|f| f.image.as_raw().len() as u64)
            .max()
            .unwrap_or(0),
        None => base.cost(),
    };
    base.cost() + 2 * largest
}

/// Runs `chain` over `base`: over each frame of an animation, delays and loop count kept.
pub(crate) fn run(chain: &Chain, base: &Pixels) -> Result<Pixels, ProcessError> {
    match base {
        Pixels::Still(image) => Ok(Pixels::still(apply(chain, (**image).clone())?)),
        Pixels::Animated(animation) => {
            let mut frames = Vec::with_capacity(animation.frames().len());
            for frame in animation.frames() {
                frames.push(Frame {
                    image: Arc::new(apply(chain, (*frame.image).clone())?),
                    delay: frame.delay,
                });
            }
            match Animation::new(frames, animation.loop_count()) {
                Some(a) => Ok(Pixels::Animated(Arc::new(a))),
                None => Err(ProcessError::Failed(Error::Internal {
                    url: String::new(),
                    message: "an animation without frames".into(),
                })),
            }
        }
    }
}

/// Every processor of `chain` in turn on one image; a panic is contained and named.
fn apply(chain: &Chain, mut image: RgbaImage) -> Result<RgbaImage, ProcessError> {
    for processor in chain.processors.iter() {
        image = match catch_unwind(AssertUnwindSafe(|| processor.process(image))) {
            Ok(Ok(image)) => image,
            Ok(Err(e)) => return Err(ProcessError::Failed(e)),
            Err(_) => return Err(ProcessError::Panicked(processor.id().into_owned())),
        };
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);

    impl Processor for Named {
        fn id(&self) -> Cow<'_, str> {
            self.0.into()
        }
        fn process(&self, image: RgbaImage) -> Result<RgbaImage, Error> {
            Ok(image)
        }
    }

    fn chain(ids: &[&'static str]) -> Chain {
        let mut chain = None;
        for id in ids {
            chain = Some(Chain::then(chain, Arc::new(Named(id))));
        }
        chain.unwrap()
    }

    #[test]
    fn keys_hold_every_id_in_order_and_cannot_collide() {
        assert_eq!(chain(&["a", "b"]), chain(&["a", "b"]));
        assert_ne!(chain(&["a", "b"]), chain(&["b", "a"]));
        assert_ne!(chain(&["a:b"]), chain(&["a", "b"]));
        assert_ne!(chain(&["1:a"]), chain(&["a", ""]));
        assert_eq!(chain(&["x", "y"]).ids(), ["x", "y"]);
    }
}
