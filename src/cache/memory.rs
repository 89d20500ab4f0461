//! The memory cache of decoded images.
//!
//! Owns: a strict least-recently-used map from (key, variant) to shared pixels, with a total
//! cost limit (decoded bytes: every frame of an animation) and a per-entry limit of a tenth of
//! the total. A variant includes its processors' ids, so a processed image is an entry of its
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

/// The cost of an entry: its decoded bytes (of every frame).
pub(crate) fn cost_of(pixels: &Pixels) -> u64 {
    pixels.cost()
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
        let cost = cost_of(&image);
        if self.limit == 0 || cost > self.entry_limit() {
            return false;
        }
        let mut evicted = Vec::new();
        let mut inner = self.inner.lock();
        if let Some(old) = inner.entries.put(key, image) {
            inner.cost -= cost_of(&old);
        }
        inner.cost += cost;
        while inner.cost > self.limit {
            let Some((_, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.cost -= cost_of(&old);
            evicted.push(old);
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

    /// Total cost of the cached entries, in bytes.
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
    use image::RgbaImage;
    use std::sync::Arc;

    fn key(s: &str) -> EntryKey {
        let (_, k) = crate::key::resolve(&format!("http://h/{s}"), None).unwrap();
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

    #[test]
    fn evicts_least_recently_used_first() {
        let cache = MemoryCache::new(1000);
        for i in 0..10 {
            assert!(cache.insert(key(&i.to_string()), img(100)));
        }
        // Touch the five oldest; the next five inserts must evict 5..10, not them.
        for i in 0..5 {
            assert!(get(&cache, &key(&i.to_string())).is_some());
        }
        for i in 10..15 {
            cache.insert(key(&i.to_string()), img(100));
        }
        let present: Vec<i32> = (0..15)
            .filter(|i| cache.contains(&key(&i.to_string())))
            .collect();
        assert_eq!(present, vec![0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
        assert_eq!(cache.cost(), 1000);
    }

    #[test]
    fn refuses_entries_over_a_tenth_of_the_limit() {
        let cache = MemoryCache::new(1000);
        assert!(!cache.insert(key("big"), img(104)));
        assert!(cache.insert(key("ok"), img(100)));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.cost(), 100);
    }

    #[test]
    fn hit_returns_the_same_allocation() {
        let cache = MemoryCache::new(1000);
        let pixels = img(100);
        cache.insert(key("a"), pixels.clone());
        assert!(Arc::ptr_eq(
            &get(&cache, &key("a")).unwrap(),
            pixels.first()
        ));
    }

    #[test]
    fn an_animation_costs_every_frame() {
        use crate::loaded::{Animation, Frame, LoopCount};
        let frame = |n: u32| Frame {
            image: Arc::new(RgbaImage::new(n, 1)),
            delay: std::time::Duration::from_millis(10),
        };
        let animation = Animation::new(vec![frame(10), frame(15)], LoopCount::Infinite).unwrap();
        let cache = MemoryCache::new(1000);
        assert!(cache.insert(key("anim"), Pixels::Animated(Arc::new(animation))));
        assert_eq!(cache.cost(), 100);
        // Same key, other variants: separate entries.
        let (_, k) = crate::key::resolve("http://h/anim", None).unwrap();
        let mut animated = Variant::of(Size::Original);
        animated.animated = true;
        assert!(cache.insert(EntryKey::new(k.clone(), animated.clone()), img(40)));
        assert!(cache.get(k.as_str(), &animated).is_some());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn replacing_an_entry_keeps_the_cost_right() {
        let cache = MemoryCache::new(1000);
        cache.insert(key("a"), img(100));
        cache.insert(key("a"), img(40));
        assert_eq!(cache.cost(), 40);
        cache.clear();
        assert_eq!((cache.cost(), cache.len()), (0, 0));
    }
}
