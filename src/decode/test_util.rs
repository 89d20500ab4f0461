//! Helpers the decoders' unit tests share: the test corpus's paths, image differences, the
//! fuzz tests' deterministic generator, and the per-thread counting allocator of the
//! library's unit-test binary.
//!
//! Owns: test-only helpers (compiled under `cfg(test)`). Must not touch: any decoder.

use std::path::PathBuf;

use image::RgbaImage;

/// A deterministic generator (xorshift) for the mutation tests: the same seed, the same cases.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A file of the repository's test corpus (`tests/data/corpus/<rel>`), which must exist.
pub(crate) fn corpus(rel: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus")
        .join(rel);
    assert!(path.exists(), "test data missing: {}", path.display());
    path
}

/// Mean absolute difference per channel sample (0..255) between two equally sized images.
pub(crate) fn mad(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// A counting allocator for this test binary: per thread, so tests running
/// in parallel do not see each other's allocations.
pub(crate) mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub(crate) struct Counting;

    thread_local! {
        static CURRENT: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(delta: isize) {
        let _ = CURRENT.try_with(|c| {
            let now = c.get() + delta;
            c.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    }

    // SAFETY: every call forwards to `System` unchanged; the counters are
    // plain thread-local cells without destructors.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// Runs `f` and returns its result and the most bytes this thread had
    /// allocated at once above the level when `f` started.
    pub(crate) fn peak_during<T>(f: impl FnOnce() -> T) -> (T, u64) {
        let base = CURRENT.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let r = f();
        let peak = PEAK.with(Cell::get);
        (r, (peak - base).max(0) as u64)
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;
