//! The closures a caller gets called with while its download is under way: progress and
//! previews.
//!
//! Owns: [`Listener`] (one caller's progress and preview closures behind a per-caller
//! reentrant lock), [`Listeners`] (a task's list of them, with its latest [`Previews`]), calling
//! them, and retiring a listener before its caller's completion closure runs. Must not touch:
//! the in-flight map (`coalesce.rs` adds and removes listeners under its lock), decoding, or
//! the network.
//!
//! Guarantees:
//! - **Never after the completion.** Whoever completes a caller first [`retires`](Listener::retire)
//!   its listener: marks it dead, then takes its lock, which waits out a call running on
//!   another thread (the lock is reentrant, so a closure may still cancel its own load). Every
//!   call checks the mark under the lock, so none starts afterwards.
//! - **Previews in order.** Each set of previews has a sequence number and a listener keeps the
//!   last one it was called with, so a late joiner handed the latest previews on its own thread
//!   and the worker publishing newer ones cannot swap them: an older preview is dropped.
//! - **Panics contained.** A closure that panics is not called again; the caller counts it.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, ReentrantMutex};

use crate::decode::preview::Previews;
use crate::loaded::{LoadedImage, Pixels, Source};
use crate::request::{PreviewFn, ProgressFn, Size};

/// Identifies one caller (one call to `load`).
pub(crate) type SubscriberId = u64;

/// One caller's closures that run during its download.
pub(crate) struct Listener {
    id: SubscriberId,
    alive: AtomicBool,
    /// The size previews are made for, if this caller wants previews.
    preview_size: Option<Size>,
    calls: ReentrantMutex<RefCell<Calls>>,
}

struct Calls {
    progress: Option<ProgressFn>,
    preview: Option<PreviewCall>,
}

struct PreviewCall {
    f: PreviewFn,
    url: Arc<str>,
    /// The sequence number of the last previews delivered (0: none).
    last: u64,
}

/// What one call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Called {
    /// The closure ran.
    Ran,
    /// It was not called (dead, none set, already newer, or already running on this thread).
    Skipped,
    /// It panicked; the listener is dead now.
    Panicked,
}

impl Listener {
    /// The listener of caller `id`, if it has a progress closure or wants previews (of
    /// `variant`, about `url`, the URL as that caller wrote it).
    pub(crate) fn new(
        id: SubscriberId,
        progress: Option<ProgressFn>,
        preview: Option<(PreviewFn, Size, Arc<str>)>,
    ) -> Option<Arc<Listener>> {
        if progress.is_none() && preview.is_none() {
            return None;
        }
        let preview_size = preview.as_ref().map(|(_, v, _)| *v);
        let preview = preview.map(|(f, _, url)| PreviewCall { f, url, last: 0 });
        Some(Arc::new(Listener {
            id,
            alive: AtomicBool::new(true),
            preview_size,
            calls: ReentrantMutex::new(RefCell::new(Calls { progress, preview })),
        }))
    }

    /// Returns once no call of this listener is running on another thread.
    pub(crate) fn quiesce(&self) {
        drop(self.calls.lock());
    }

    /// Stops every later call and waits out one running on another thread. Called before the
    /// caller's completion closure.
    pub(crate) fn retire(&self) {
        self.alive.store(false, Ordering::Release);
        self.quiesce();
    }

    /// Runs `call` on the closures under the lock if the listener is alive and not already
    /// in a call on this thread; a panic kills the listener.
    fn call(&self, call: impl FnOnce(&mut Calls) -> bool) -> Called {
        let guard = self.calls.lock();
        if !self.alive.load(Ordering::Acquire) {
            return Called::Skipped;
        }
        let Ok(mut calls) = guard.try_borrow_mut() else {
            return Called::Skipped; // a closure that causes a call of itself: not twice at once
        };
        match catch_unwind(AssertUnwindSafe(|| call(&mut calls))) {
            Ok(true) => Called::Ran,
            Ok(false) => Called::Skipped,
            Err(_) => {
                self.alive.store(false, Ordering::Release);
                Called::Panicked
            }
        }
    }

    /// Calls the progress closure, if any.
    fn progress(&self, received: u64, total: Option<u64>) -> Called {
        self.call(|calls| match &mut calls.progress {
            Some(progress) => {
                progress(received, total);
                true
            }
            None => false,
        })
    }

    /// Calls the preview closure with its preview from `previews`, unless it was already
    /// called with these or newer ones. The preview is resized here if nobody made its size
    /// yet (it is small: at most 1/64 of the image).
    pub(crate) fn preview(&self, previews: &Previews) -> Called {
        let Some(variant) = self.preview_size else {
            return Called::Skipped;
        };
        self.call(|calls| {
            let Some(preview) = &mut calls.preview else {
                return false;
            };
            if preview.last >= previews.seq {
                return false;
            }
            let Ok(image) = previews.make(variant) else {
                return false;
            };
            preview.last = previews.seq;
            (preview.f)(LoadedImage::new(
                Pixels::Still(image),
                Source::Network,
                preview.url.clone(),
                crate::loaded::Recorded::CONSTANT,
            ));
            true
        })
    }
}

/// The listeners of one task and its latest previews.
#[derive(Default)]
pub(crate) struct Listeners {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    list: Vec<Arc<Listener>>,
    latest: Option<Previews>,
}

impl Listeners {
    /// Adds a caller's listener; returns the latest previews if it wants previews and there
    /// are some, for the caller to be handed at once (outside every lock).
    pub(crate) fn add(&self, listener: Arc<Listener>) -> Option<Previews> {
        let mut inner = self.inner.lock();
        let latest = match listener.preview_size {
            Some(_) => inner.latest.clone(),
            None => None,
        };
        inner.list.push(listener);
        latest
    }

    /// Marks caller `id`'s listener dead and takes it off the list; returns it so it can be
    /// quiesced outside the in-flight lock.
    pub(crate) fn remove(&self, id: SubscriberId) -> Option<Arc<Listener>> {
        let mut inner = self.inner.lock();
        let pos = inner.list.iter().position(|l| l.id == id)?;
        let listener = inner.list.swap_remove(pos);
        listener.alive.store(false, Ordering::Release);
        Some(listener)
    }

    fn snapshot(&self) -> Vec<Arc<Listener>> {
        self.inner.lock().list.clone()
    }

    /// Calls every live progress closure; returns how many panicked. No lock of the list is
    /// held while user code runs, so a closure may cancel its own load.
    pub(crate) fn report(&self, received: u64, total: Option<u64>) -> u64 {
        let listeners = self.snapshot();
        let calls = listeners.iter().map(|l| l.progress(received, total));
        calls.filter(|c| *c == Called::Panicked).count() as u64
    }

    /// The distinct sizes that live listeners want previews at, in the order they joined.
    pub(crate) fn preview_sizes(&self) -> Vec<Size> {
        let inner = self.inner.lock();
        let mut variants: Vec<Size> = Vec::new();
        let live = inner
            .list
            .iter()
            .filter(|l| l.alive.load(Ordering::Acquire));
        for v in live.filter_map(|l| l.preview_size) {
            if !variants.contains(&v) {
                variants.push(v);
            }
        }
        variants
    }

    /// Makes `previews` the latest and calls every live preview closure with its preview;
    /// returns (closures called, closures that panicked).
    pub(crate) fn publish(&self, previews: Previews) -> (u64, u64) {
        let listeners = {
            let mut inner = self.inner.lock();
            inner.latest = Some(previews.clone());
            inner.list.clone()
        };
        let (mut ran, mut panicked) = (0, 0);
        for listener in listeners {
            match listener.preview(&previews) {
                Called::Ran => ran += 1,
                Called::Panicked => panicked += 1,
                Called::Skipped => {}
            }
        }
        (ran, panicked)
    }
}
