//! A bounded map from template key to `p_look`: each distinct key is scored once.
//!
//! Two generations: lookups go to the young one, then the old one (a hit there is
//! promoted); when the young one holds half the byte budget it becomes the old one
//! and the previous old one is dropped. Keys in use stay (they are promoted every
//! generation), a run of millions of distinct keys keeps memory within the budget,
//! and nothing is counted per lookup beyond a hash (unlike a linked LRU list).
//! The cache is exact: a line's score is a function of its key alone.

use rustc_hash::FxHashMap;

/// Per-thread budget when the caller gives none: ~400K keys of ~100 bytes.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;
/// What one entry costs besides its key bytes (box, value, table slot and slack).
const ENTRY_OVERHEAD: usize = 48;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
    pub bytes: u64,
    pub evictions: u64,
}

impl std::ops::AddAssign for CacheStats {
    fn add_assign(&mut self, o: Self) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.entries += o.entries;
        self.bytes += o.bytes;
        self.evictions += o.evictions;
    }
}

/// `V`: what a key maps to (`p_look`; the transformer modes keep `[p, p_tfidf]`).
pub struct KeyCache<V: Copy = f64> {
    young: FxHashMap<Box<[u8]>, V>,
    old: FxHashMap<Box<[u8]>, V>,
    young_bytes: usize,
    old_bytes: usize,
    /// Bytes one generation may hold (half the budget); 0 = disabled.
    generation_bytes: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl<V: Copy> KeyCache<V> {
    /// A cache of at most `budget_bytes` (0 disables it: every lookup misses).
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            young: FxHashMap::default(),
            old: FxHashMap::default(),
            young_bytes: 0,
            old_bytes: 0,
            generation_bytes: budget_bytes / 2,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.generation_bytes > 0
    }

    pub fn get(&mut self, key: &[u8]) -> Option<V> {
        if let Some(&p) = self.young.get(key) {
            self.hits += 1;
            return Some(p);
        }
        if let Some((k, p)) = self.old.remove_entry(key) {
            self.hits += 1;
            let cost = k.len() + ENTRY_OVERHEAD;
            self.old_bytes -= cost;
            self.put(k, p, cost);
            return Some(p);
        }
        self.misses += 1;
        None
    }

    /// Remember `p` for `key` (call after a `get` that missed).
    pub fn insert(&mut self, key: &[u8], p: V) {
        if !self.enabled() {
            return;
        }
        let cost = key.len() + ENTRY_OVERHEAD;
        if cost > self.generation_bytes {
            return; // a 10 MB line is scored, not kept
        }
        self.put(key.into(), p, cost);
    }

    fn put(&mut self, key: Box<[u8]>, p: V, cost: usize) {
        if self.young_bytes + cost > self.generation_bytes {
            self.evictions += self.old.len() as u64;
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = self.young_bytes;
            self.young_bytes = 0;
        }
        self.young_bytes += cost;
        self.young.insert(key, p);
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            entries: (self.young.len() + self.old.len()) as u64,
            bytes: (self.young_bytes + self.old_bytes) as u64,
            evictions: self.evictions,
        }
    }

    /// Forget every key and zero the counters.
    pub fn clear(&mut self) {
        *self = Self::new(self.generation_bytes * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_promotion() {
        let mut c = KeyCache::new(1 << 20);
        assert_eq!(c.get(b"a"), None);
        c.insert(b"a", 0.25);
        assert_eq!(c.get(b"a"), Some(0.25));
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 1, 1));
    }

    #[test]
    fn stays_within_budget_and_keeps_keys_in_use() {
        let budget = 64 * 1024;
        let mut c = KeyCache::new(budget);
        for i in 0..100_000u32 {
            let k = format!("key {i} with some words");
            if c.get(k.as_bytes()).is_none() {
                c.insert(k.as_bytes(), f64::from(i));
            }
            // one hot key, looked up all along, never leaves
            if c.get(b"hot").is_none() {
                assert!(i == 0, "hot key evicted at {i}");
                c.insert(b"hot", -1.0);
            }
            assert!(c.stats().bytes as usize <= budget);
        }
        assert!(c.stats().evictions > 0);
        assert_eq!(c.get(b"hot"), Some(-1.0));
    }

    #[test]
    fn disabled_and_oversized() {
        let mut c = KeyCache::new(0);
        c.insert(b"a", 1.0);
        assert_eq!(c.get(b"a"), None);
        let mut c = KeyCache::new(256);
        c.insert(&[b'x'; 1000], 1.0);
        assert_eq!(c.get(&[b'x'; 1000]), None);
        assert_eq!(c.stats().entries, 0);
    }
}
