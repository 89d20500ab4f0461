//! The memory cache of decoded images.
//!
//! Owns: a strict least-recently-used map from (key, variant) to shared pixels, with a total
//! cost limit and a per-entry limit of a tenth of the total. An entry costs what it holds:
//! its decoded bytes (every frame of an animation), its key's text, and the bookkeeping around
//! them (see [`cost_of`]), so 100,000 one-pixel images or keys of 10 KB cannot hold more
//! memory than the limit says. A variant includes its processors' ids, so a processed image is an entry of its
//! own. Must not touch: decoding, processing or the in-flight map. The lock is held only for
//! the map operation itself, never across decoding or a callback; a hit clones an `Arc`, never
//! the pixels, and looks up by borrowed parts, allocating nothing.
//!
//! Why `lru` and not `quick_cache`: quick_cache's CLOCK-Pro policy evicts newly inserted entries
//! that have not been read again before older ones (measured: with 10 slots full and 0..5 read
//! again, inserting 10..15 evicted 9..13 and kept the untouched 5..8). For an image list that
//! means the images just shown are dropped first; users expect least-recently-used.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use image::RgbaImage;
use lru::LruCache;
use parking_lot::Mutex;

use crate::key::Key;
use crate::loaded::Pixels;
use crate::request::Variant;

/// A memory-cache key: the image key plus the decoded variant.
#[derive(Debug, Clone)]
pub(crate) struct EntryKey {
    pub(crate) key: Key,
    pub(crate) variant: Variant,
}

impl EntryKey {
    pub(crate) fn new(key: Key, variant: Variant) -> Self {
        EntryKey { key, variant }
    }
}

/// A borrowed view of an entry key, so that a lookup by `(&str, &Variant)` allocates nothing.
trait Lookup {
    fn parts(&self) -> (&str, &Variant);
}

impl Lookup for EntryKey {
    fn parts(&self) -> (&str, &Variant) {
        (self.key.as_str(), &self.variant)
    }
}

impl Lookup for (&str, &Variant) {
    fn parts(&self) -> (&str, &Variant) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn Lookup + 'a> for EntryKey {
    fn borrow(&self) -> &(dyn Lookup + 'a) {
        self
    }
}

impl Hash for dyn Lookup + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.parts(), state)
    }
}

/// The key and the variant's size: enough to spread entries (one URL's variants rarely differ
/// in their frames or processors alone), and cheaper than the whole variant on every hit.
/// Equal parts hash equally, as `Eq` needs.
fn hash_parts<H: Hasher>((key, variant): (&str, &Variant), state: &mut H) {
    key.hash(state);
    variant.size.hash(state);
}

impl PartialEq for dyn Lookup + '_ {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let ((a, va), (b, vb)) = (self.parts(), other.parts());
        // The variant first: usually the one size a URL is cached at, a cheap compare.
        va.size == vb.size && a == b && va == vb
    }
}

impl Eq for dyn Lookup + '_ {}

// Must hash and compare exactly like the borrowed view.
impl Hash for EntryKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.parts(), state)
    }
}

impl PartialEq for EntryKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for EntryKey {}

pub(crate) struct MemoryCache {
    limit: u64,
    inner: Mutex<Inner>,
}

struct Inner {
    entries: LruCache<EntryKey, Pixels>,
    cost: u64,
}

/// What an entry holds beside its pixels and its texts: the LRU node (key, value, two
/// links), its slot in the hash table, the `Arc`'d image header, the key's reference counts,
/// and the allocator's own header and rounding for each of those allocations (16 bytes each on
/// glibc; a 1-pixel buffer takes a 32-byte chunk). 100,000 1x1 entries with 60-byte keys held
/// 266 bytes each on the heap (counting allocator) and 360 each in RSS (28 + 64 of it pixels and
/// key); `tests/process/growth.rs` checks the heap side stays under this.
pub(crate) const ENTRY_OVERHEAD: u64 = (size_of::<EntryKey>()
    + size_of::<Pixels>()
    + 2 * size_of::<usize>() // the node's links
    + 2 * size_of::<usize>() // the hash table's slot, at its usual load
    + 16 + size_of::<RgbaImage>() // Arc<RgbaImage>
    + 16 // the key's Arc<str> counts
    + 4 * 16) as u64; // allocator headers and rounding

/// What each frame of an animation holds beside its pixels: the frame itself, its image's
/// `Arc` and header, and their allocations.
const FRAME_OVERHEAD: u64 =
    (size_of::<crate::loaded::Frame>() + 16 + size_of::<RgbaImage>() + 32) as u64;

/// The cost of an entry: its decoded bytes (of every frame), the text of its key and of its
/// processors' chain, and [`ENTRY_OVERHEAD`] (plus [`FRAME_OVERHEAD`] per frame).
pub(crate) fn cost_of(key: &EntryKey, pixels: &Pixels) -> u64 {
    let frames = pixels.frames().map_or(0, |f| f.len() as u64);
    let chain = key.variant.chain.as_ref().map_or(0, |c| c.held_bytes());
    pixels.cost() + key.key.as_str().len() as u64 + chain + ENTRY_OVERHEAD + frames * FRAME_OVERHEAD
}

impl MemoryCache {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryCache {
            limit,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                cost: 0,
            }),
        }
    }

    /// Largest entry that is stored.
    pub(crate) fn entry_limit(&self) -> u64 {
        self.limit / 10
    }

    /// The image for `key` and `variant`, marking it most recently used; also returns the
    /// stored key, so a caller can reuse its text without allocating.
    pub(crate) fn get(&self, key: &str, variant: &Variant) -> Option<(Key, Pixels)> {
        if self.limit == 0 {
            return None;
        }
        let lookup: &dyn Lookup = &(key, variant);
        let mut inner = self.inner.lock();
        let (k, v) = inner.entries.get_key_value(lookup)?;
        Some((k.key.clone(), v.clone()))
    }

    #[cfg(test)]
    /// Whether `key` is cached, without touching its recency.
    pub(crate) fn contains(&self, key: &EntryKey) -> bool {
        let lookup: &dyn Lookup = &(key.key.as_str(), &key.variant);
        self.inner.lock().entries.contains(lookup)
    }

    /// Stores `image` and evicts least-recently-used entries until the total fits. Returns
    /// `false` (and stores nothing) if the image alone is over the per-entry limit.
    pub(crate) fn insert(&self, key: EntryKey, image: Pixels) -> bool {
        let cost = cost_of(&key, &image);
        if self.limit == 0 || cost > self.entry_limit() {
            return false;
        }
        let mut evicted = Vec::new();
        let mut inner = self.inner.lock();
        // Equal keys have equal texts and chains, so the old entry's cost is its own pixels'.
        if let Some((old_key, old)) = inner.entries.push(key, image) {
            inner.cost -= cost_of(&old_key, &old);
            evicted.push((old_key, old));
        }
        inner.cost += cost;
        while inner.cost > self.limit {
            let Some((old_key, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.cost -= cost_of(&old_key, &old);
            evicted.push((old_key, old));
        }
        drop(inner);
        // Evicted pixels are freed here, outside the lock.
        drop(evicted);
        true
    }

    /// Removes every entry.
    pub(crate) fn clear(&self) {
        let entries = {
            let mut inner = self.inner.lock();
            inner.cost = 0;
            std::mem::replace(&mut inner.entries, LruCache::unbounded())
        };
        drop(entries);
    }

    /// Total cost of the cached entries, in bytes ([`cost_of`]).
    pub(crate) fn cost(&self) -> u64 {
        self.inner.lock().cost
    }

    /// Number of cached entries.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Size;
    use std::sync::Arc;

    /// Keys of one length ("http://h/00000" and so on), so that every entry of a test costs the
    /// same.
    fn key(i: u32) -> EntryKey {
        let (_, k) = crate::key::resolve(&format!("http://h/{i:05}"), None).unwrap();
        EntryKey::new(k, Variant::of(Size::Original))
    }

    fn get(cache: &MemoryCache, key: &EntryKey) -> Option<Arc<RgbaImage>> {
        cache
            .get(key.key.as_str(), &key.variant)
            .map(|(_, v)| v.first().clone())
    }

    fn img(bytes: u32) -> Pixels {
        Pixels::still(RgbaImage::new(bytes / 4, 1))
    }

    /// What one entry of `bytes` pixel bytes costs under these keys.
    fn cost(bytes: u32) -> u64 {
        cost_of(&key(0), &img(bytes))
    }

    #[test]
    fn an_entry_costs_its_pixels_its_key_and_its_bookkeeping() {
        let k = key(7);
        assert_eq!(
            cost_of(&k, &img(400)),
            400 + "http://h/00007".len() as u64 + ENTRY_OVERHEAD
        );
        let cache = MemoryCache::new(1 << 20);
        cache.insert(k, img(4));
        assert_eq!(cache.cost(), 4 + 14 + ENTRY_OVERHEAD);
    }

    #[test]
    fn evicts_least_recently_used_first() {
        let cache = MemoryCache::new(10 * cost(100));
        for i in 0..10 {
            assert!(cache.insert(key(i), img(100)));
        }
        // Touch the five oldest; the next five inserts must evict 5..10, not them.
        for i in 0..5 {
            assert!(get(&cache, &key(i)).is_some());
        }
        for i in 10..15 {
            cache.insert(key(i), img(100));
        }
        let present: Vec<u32> = (0..15).filter(|&i| cache.contains(&key(i))).collect();
        assert_eq!(present, vec![0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
        assert_eq!(cache.cost(), 10 * cost(100));
    }

    #[test]
    fn refuses_entries_over_a_tenth_of_the_limit() {
        let cache = MemoryCache::new(10 * cost(100));
        assert!(!cache.insert(key(1), img(104)));
        assert!(cache.insert(key(2), img(100)));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.cost(), cost(100));
    }

    #[test]
    fn many_tiny_images_are_bounded_by_what_they_hold() {
        // 100 KiB would be 25,600 one-pixel images by their pixels alone.
        let cache = MemoryCache::new(100 << 10);
        for i in 0..10_000 {
            cache.insert(key(i), img(4));
        }
        assert!(cache.cost() <= 100 << 10);
        assert_eq!(cache.len() as u64, (100 << 10) / cost(4));
    }

    #[test]
    fn long_keys_cost_their_bytes() {
        let cache = MemoryCache::new(1 << 20);
        let long = |i: u32| {
            let url = format!("http://h/{i:02}?{}", "x".repeat(10_000));
            let (_, k) = crate::key::resolve(&url, None).unwrap();
            EntryKey::new(k, Variant::of(Size::Original))
        };
        for i in 0..1000 {
            cache.insert(long(i), img(4));
        }
        // 1000 keys of 10 KB would be 10 MB; the cache keeps what fits in its 1 MiB.
        assert!(cache.cost() <= 1 << 20);
        assert!(cache.len() < 110, "{}", cache.len());
        assert!(cache.len() > 90, "{}", cache.len());
    }

    #[test]
    fn hit_returns_the_same_allocation() {
        let cache = MemoryCache::new(1 << 20);
        let pixels = img(100);
        cache.insert(key(1), pixels.clone());
        assert!(Arc::ptr_eq(&get(&cache, &key(1)).unwrap(), pixels.first()));
    }

    #[test]
    fn an_animation_costs_every_frame() {
        use crate::loaded::{Animation, Frame, LoopCount};
        let frame = |n: u32| Frame {
            image: Arc::new(RgbaImage::new(n, 1)),
            delay: std::time::Duration::from_millis(10),
        };
        let animation = Animation::new(vec![frame(10), frame(15)], LoopCount::Infinite).unwrap();
        let cache = MemoryCache::new(1 << 20);
        assert!(cache.insert(key(1), Pixels::Animated(Arc::new(animation))));
        assert_eq!(cache.cost(), 100 + 14 + ENTRY_OVERHEAD + 2 * FRAME_OVERHEAD);
        // Same key, other variants: separate entries.
        let mut animated = Variant::of(Size::Original);
        animated.animated = true;
        let k = key(1).key;
        assert!(cache.insert(EntryKey::new(k.clone(), animated.clone()), img(40)));
        assert!(cache.get(k.as_str(), &animated).is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn replacing_an_entry_keeps_the_cost_right() {
        let cache = MemoryCache::new(1 << 20);
        cache.insert(key(1), img(100));
        cache.insert(key(1), img(40));
        assert_eq!(cache.cost(), cost(40));
        cache.clear();
        assert_eq!((cache.cost(), cache.len()), (0, 0));
    }
}
