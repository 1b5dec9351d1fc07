//! The char TF-IDF block: which vocabulary n-grams (3..6 code points) a line holds,
//! and the block's share of the decision value.
//!
//! A line of 135 bytes holds ~500 char n-grams, ~93% of them in a 100k vocabulary, so
//! this block is most of the scoring time. What the layout does about it (each step
//! measured with `examples/stages.rs`; together 2× faster than the Aho-Corasick
//! automaton this replaced):
//! * every n-gram of up to 7 bytes packs into one `u64` (`pack`): on an ASCII line
//!   (nearly all log lines) the n-grams starting at byte `i` are masks of the 8 bytes
//!   loaded at `i`, so no strings are built and the lookups of a line do not depend on
//!   one another (an automaton walk is one chain of dependent loads);
//! * an ASCII n-gram of ≤ 6 chars packs 7 bits a char; the table slot holds that key
//!   and the n-gram's id in one `u64` (8 slots a cache line); ids follow idf, so the
//!   weights (`terms`, read by `dot` once per distinct n-gram) and the per-line counts
//!   of a typical line sit in a few hot cache lines;
//! * counting is branch-light (`LineCounts`): append the id, bump a dense counter.
//!
//! Tried and measured slower: software prefetching of the table, a small "hot" table
//! of the most frequent n-grams in front of the big one (its extra branch costs more
//! than the cache misses it saves), weights inside the table cells, a per-line hash set
//! for the counts. The table builds in milliseconds, where the automaton took ~300 ms
//! of the model load.
//!
//! Longer n-grams (non-ASCII: a 6-char n-gram can take 24 bytes) go to a plain map;
//! only lines with non-ASCII bytes take that path.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::model::BlockSpec;
use crate::ngrams::term_frequency;

/// Longest n-gram (in code points) that `pack` keys: 6 ASCII chars × 7 bits.
const PACKED_CHARS: usize = 6;
/// A table entry: the packed key in the low `KEY_BITS`, the n-gram's id above.
const KEY_BITS: u32 = 45;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
/// Ids fit in what the key leaves of a `u64`; the largest marks a `PREFIX`.
const MAX_IDS: usize = (1 << (64 - KEY_BITS)) - 1;
/// The id of a table entry that is no vocabulary term, only the prefix of longer ones:
/// with every prefix present, a miss at length n ends the search for longer n-grams at
/// the same position (the vocabulary keeps the most frequent n-grams, and a prefix is
/// at least as frequent, so such entries are rare: 1 in the shipped model).
const PREFIX: u32 = MAX_IDS as u32;
/// Table slots per packed vocabulary entry (at least): short probes, misses included.
const SLOTS_PER_KEY: usize = 2;
/// Code point starts remembered on the UTF-8 path (longest n-gram + 1).
const RING: usize = 16;
/// Fibonacci hashing: a multiply spreads the packed bytes over the top bits.
const HASH_MUL: u64 = 0x9E37_79B9_7F4A_7C15;
/// A free table slot (no key is 0: it holds its length).
const EMPTY: u64 = 0;

/// The first 6 bytes of `word` (ASCII, so 7 bits each) side by side in 42 bits, in
/// three shift-and-mask steps (no `pext`: it is slow on some AMD cores). A prefix of
/// `n` chars is then the low `7n` bits.
#[inline]
fn squeeze(word: u64) -> u64 {
    let x = word & 0x0000_7F7F_7F7F_7F7F;
    // byte pairs -> 14-bit fields at bits 0, 16, 32
    let x = (x & 0x0000_007F_007F_007F) | ((x & 0x0000_7F00_7F00_7F00) >> 1);
    (x & 0x3FFF) | ((x >> 2) & (0x3FFF << 14)) | ((x >> 4) & (0x3FFF << 28))
}

/// The key of an ASCII n-gram of `n` ≤ 6 chars: its 7-bit chars, and `n` above them.
#[inline]
fn key_of(squeezed: u64, n: usize) -> u64 {
    (squeezed & ((1 << (7 * n)) - 1)) | ((n as u64) << 42)
}

/// The key of an ASCII n-gram given as bytes.
fn pack(s: &[u8]) -> u64 {
    debug_assert!(s.is_ascii() && s.len() <= PACKED_CHARS);
    let mut word = [0u8; 8];
    word[..s.len()].copy_from_slice(s);
    key_of(squeeze(u64::from_le_bytes(word)), s.len())
}

/// What scoring needs of one vocabulary n-gram: 16 bytes, 4 a cache line.
#[derive(Clone, Copy, Default)]
struct Term {
    idf: f64,
    idf_coef: f64,
}

pub struct CharBlock {
    lo: usize,
    hi: usize,
    /// Open addressing (linear probing, power-of-two size): `id << KEY_BITS | key` per
    /// ASCII vocabulary n-gram, `EMPTY` where free. 8 bytes a slot: 8 share a cache line.
    slots: Vec<u64>,
    shift: u32,
    mask: usize,
    /// Non-ASCII n-grams: bytes → id.
    long: FxHashMap<Box<[u8]>, u32>,
    /// By id. Ids follow idf (most frequent n-grams first), so the terms and counts
    /// a typical line touches share a few cache lines.
    terms: Vec<Term>,
    /// By id: the vocabulary column (parity checks only).
    columns: Vec<u32>,
    sublinear: bool,
    l2: bool,
}

impl CharBlock {
    pub fn new(spec: &BlockSpec, coef: &[f64]) -> Result<Self> {
        let (lo, hi) = spec.ngram_range;
        if lo == 0 || hi < lo || hi >= RING {
            return Err(Error::Model(format!(
                "char block: ngram_range ({lo}, {hi}) is not within 1..{}",
                RING - 1
            )));
        }
        // Only entries a lowercased line can produce (the right number of code points,
        // no ASCII capitals), most frequent first.
        let mut columns: Vec<usize> = (0..spec.vocabulary.len())
            .filter(|&col| {
                let term = &spec.vocabulary[col];
                let n = term.chars().count();
                n >= lo && n <= hi && !term.bytes().any(|b| b.is_ascii_uppercase())
            })
            .collect();
        if columns.len() > MAX_IDS {
            return Err(Error::Model(format!(
                "char block: {} terms; at most {MAX_IDS} are supported",
                columns.len()
            )));
        }
        columns.sort_by(|&a, &b| spec.idf[a].total_cmp(&spec.idf[b]).then(a.cmp(&b)));
        let packable = |t: &str| t.is_ascii() && t.len() <= PACKED_CHARS;
        let terms: FxHashSet<&str> = columns
            .iter()
            .map(|&c| spec.vocabulary[c].as_str())
            .filter(|t| packable(t))
            .collect();
        let prefixes: FxHashSet<&str> = terms
            .iter()
            .flat_map(|t| (lo..t.len()).map(move |n| &t[..n]))
            .filter(|p| !terms.contains(p))
            .collect();
        let size = ((terms.len() + prefixes.len()) * SLOTS_PER_KEY)
            .next_power_of_two()
            .max(16);
        let mut block = Self {
            lo,
            hi,
            slots: vec![EMPTY; size],
            shift: 64 - size.trailing_zeros(),
            mask: size - 1,
            long: FxHashMap::default(),
            terms: Vec::with_capacity(columns.len()),
            columns: Vec::with_capacity(columns.len()),
            sublinear: spec.sublinear_tf,
            l2: spec.norm.as_deref() == Some("l2"),
        };
        for (id, &col) in columns.iter().enumerate() {
            let text = &spec.vocabulary[col];
            if packable(text) {
                block.insert(pack(text.as_bytes()), id as u64);
            } else {
                block.long.insert(text.as_bytes().into(), id as u32);
            }
            block.terms.push(Term {
                idf: spec.idf[col],
                idf_coef: spec.idf[col] * coef[col],
            });
            block.columns.push(col as u32);
        }
        for p in prefixes {
            block.insert(pack(p.as_bytes()), u64::from(PREFIX));
        }
        Ok(block)
    }

    /// Vocabulary entries a line can hit.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(HASH_MUL) >> self.shift) as usize
    }

    fn insert(&mut self, key: u64, id: u64) {
        let mut i = self.home(key);
        while self.slots[i] != EMPTY && self.slots[i] & KEY_MASK != key {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = id << KEY_BITS | key;
    }

    /// The id of a packed n-gram, if it is in the vocabulary.
    #[inline]
    fn find(&self, key: u64) -> Option<u32> {
        let mut i = self.home(key);
        loop {
            debug_assert!(i < self.slots.len());
            // SAFETY: `home` and the wrap-around keep `i` below `slots.len()` = mask + 1.
            let slot = unsafe { *self.slots.get_unchecked(i) };
            if slot & KEY_MASK == key {
                return Some((slot >> KEY_BITS) as u32);
            }
            if slot == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Count every vocabulary n-gram of a line (ASCII-lowercased, valid UTF-8) into
    /// `counts`. `padded` holds the line's `len` bytes and at least 8 more after them:
    /// the ASCII path reads 8 bytes at a time.
    pub fn count(&self, padded: &[u8], len: usize, counts: &mut LineCounts) {
        counts.start(self.terms.len());
        let line = &padded[..len];
        if line.is_ascii() && self.hi <= PACKED_CHARS {
            self.count_ascii(padded, len, counts);
        } else {
            self.count_utf8(line, counts);
        }
    }

    /// ASCII: code points are bytes, so the n-grams at `i` are the first `lo..=hi`
    /// bytes of the word loaded at `i`.
    fn count_ascii(&self, padded: &[u8], len: usize, counts: &mut LineCounts) {
        assert!(padded.len() >= len + 8);
        for i in 0..(len + 1).saturating_sub(self.lo) {
            let chars = squeeze(u64::from_le_bytes(padded[i..i + 8].try_into().unwrap()));
            for n in self.lo..=self.hi.min(len - i) {
                match self.find(key_of(chars, n)) {
                    None => break, // no longer n-gram here can be a term either
                    Some(PREFIX) => {}
                    Some(id) => counts.add(id),
                }
            }
        }
    }

    /// Any UTF-8: walk code point boundaries; an n-gram ends at each boundary for
    /// every length whose start is known.
    fn count_utf8(&self, line: &[u8], counts: &mut LineCounts) {
        if line.is_empty() {
            return;
        }
        // starts[k % RING] = byte offset where code point k (from 0) starts.
        let mut starts = [0usize; RING];
        let mut k = 0usize; // code points seen
        let boundaries = line
            .iter()
            .enumerate()
            .filter(|(_, &b)| b & 0xC0 != 0x80)
            .map(|(i, _)| i)
            .skip(1)
            .chain(std::iter::once(line.len()));
        for end in boundaries {
            k += 1;
            for n in self.lo..=self.hi.min(k) {
                let gram = &line[starts[(k - n) % RING]..end];
                let id = if gram.len() == n && n <= PACKED_CHARS {
                    self.find(pack(gram)) // ASCII
                } else {
                    self.long.get(gram).copied()
                };
                if let Some(id) = id.filter(|&id| id != PREFIX) {
                    counts.add(id);
                }
            }
            starts[k % RING] = end;
        }
    }

    /// The block's term of the decision value: `coef · tfidf`, with the L2 norm
    /// computed in the same pass. Consumes the line's counts.
    pub fn dot(&self, counts: &mut LineCounts) -> f64 {
        let mut ss = 0.0;
        let mut dot = 0.0;
        for k in 0..counts.hits.len() {
            let Some(count) = counts.take(k) else {
                continue; // a repeat: counted at its first occurrence
            };
            let cell = &self.terms[counts.hits[k] as usize];
            let tf = term_frequency(count, self.sublinear);
            let v = tf * cell.idf;
            ss += v * v;
            dot += tf * cell.idf_coef;
        }
        counts.pending = false; // every counter is back to zero
        if self.l2 && ss > 0.0 {
            dot / ss.sqrt()
        } else {
            dot
        }
    }

    /// `(vocabulary column, count)` of the terms counted, sorted (parity checks).
    pub fn term_counts(&self, counts: &LineCounts) -> Vec<(u32, u32)> {
        let mut by_column: FxHashMap<u32, u32> = FxHashMap::default();
        for &id in &counts.hits {
            *by_column.entry(self.columns[id as usize]).or_default() += 1;
        }
        let mut v: Vec<(u32, u32)> = by_column.into_iter().collect();
        v.sort_unstable();
        v
    }

    /// All char n-grams of the lowercased line as strings (parity checks only).
    pub fn ngram_strings(&self, line: &str) -> Vec<String> {
        let chars: Vec<char> = line.chars().map(|c| c.to_ascii_lowercase()).collect();
        let mut out = Vec::new();
        for n in self.lo..=self.hi.min(chars.len()) {
            for w in chars.windows(n) {
                out.push(w.iter().collect());
            }
        }
        out
    }
}

/// Counts of one line's n-gram ids, kept so that counting is branch-light: every hit
/// is appended to `hits` and bumps a dense per-id counter; `dot` then visits `hits`
/// once, taking each id's count at its first occurrence and zeroing it, which also
/// leaves the counters clean for the next line. (A per-line hash set was measured
/// slower: its probe branches mispredict on repeats.)
#[derive(Default)]
pub struct LineCounts {
    /// u32: a line given whole (`predict_proba` has no cap) can hold one n-gram more
    /// than 65,535 times; u16 counters saturated there and scored it wrong.
    counts: Vec<u32>,
    hits: Vec<u32>,
    /// `count` ran and `dot` has not consumed it yet.
    pending: bool,
}

impl LineCounts {
    fn start(&mut self, n_ids: usize) {
        if self.pending {
            for &id in &self.hits {
                self.counts[id as usize] = 0;
            }
        }
        if self.counts.len() < n_ids {
            self.counts = vec![0; n_ids];
        }
        self.hits.clear();
        self.pending = true;
    }

    #[inline]
    fn add(&mut self, id: u32) {
        let c = &mut self.counts[id as usize];
        *c += 1;
        self.hits.push(id);
    }

    /// The count of `hits[k]` if this is its first occurrence still unread.
    #[inline]
    fn take(&mut self, k: usize) -> Option<u32> {
        let c = std::mem::take(&mut self.counts[self.hits[k] as usize]);
        (c != 0).then_some(c)
    }

    /// Vocabulary n-grams in the line, repeats included.
    pub fn hits(&self) -> usize {
        self.hits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_chars_side_by_side_and_the_length() {
        let word = u64::from_le_bytes(*b"abcdefgh");
        let mut want = 0u64;
        for (i, &b) in b"abcdef".iter().enumerate() {
            want |= u64::from(b) << (7 * i);
        }
        assert_eq!(squeeze(word), want);
        assert_eq!(pack(b"abc"), key_of(squeeze(word), 3));
        assert_eq!(
            pack(b"\x7f\x7f\x7f\x7f\x7f\x7f"),
            ((1 << 42) - 1) | (6 << 42)
        );
        // a NUL byte is a char: "ab" and "ab\0" differ by their length
        assert_ne!(pack(b"ab"), pack(b"ab\0"));
        assert_ne!(pack(b"\0"), pack(b"\0\0"));
        assert!(pack(b"\0") != EMPTY && pack(b"\0") & !KEY_MASK == 0);
    }

    fn block(vocabulary: &[&str]) -> CharBlock {
        let spec = BlockSpec {
            ngram_range: (3, 6),
            token_pattern: None,
            lowercase: "ascii".into(),
            vocabulary: vocabulary.iter().map(|t| t.to_string()).collect(),
            idf: (0..vocabulary.len()).map(|i| 1.0 + i as f64).collect(),
            sublinear_tf: false,
            norm: None,
        };
        CharBlock::new(&spec, &vec![1.0; vocabulary.len()]).unwrap()
    }

    fn counted(b: &CharBlock, line: &str) -> Vec<(u32, u32)> {
        let mut padded = line.as_bytes().to_vec();
        padded.extend_from_slice(&[0; 8]);
        let mut c = LineCounts::default();
        b.count(&padded, line.len(), &mut c);
        b.term_counts(&c)
    }

    #[test]
    fn terms_whose_prefix_is_no_term_are_still_found() {
        // "abc" and "abcd" are no terms: the search must not stop there.
        let b = block(&["abcde", "xyz", "é€x", "bcde"]);
        assert_eq!(counted(&b, "abcde abcde"), vec![(0, 2), (3, 2)]);
        assert_eq!(counted(&b, "xyz abcd"), vec![(1, 1)]);
        // the UTF-8 path: non-ASCII terms, and ASCII ones on a non-ASCII line
        assert_eq!(
            counted(&b, "é€xyz abcde"),
            vec![(0, 1), (1, 1), (2, 1), (3, 1)]
        );
    }

    #[test]
    fn line_counts_take_each_id_once_and_restart() {
        let mut c = LineCounts::default();
        c.start(1 << 21);
        for id in [7, 7, 0, 1 << 20, 7] {
            c.add(id);
        }
        let got: Vec<_> = (0..c.hits()).map(|k| c.take(k)).collect();
        assert_eq!(got, vec![Some(3), None, Some(1), Some(1), None]);
        // counted but never consumed: the next line must still start from zero
        c.start(1 << 21);
        c.add(5);
        c.start(1 << 21);
        c.add(5);
        assert_eq!(c.take(0), Some(1));
    }
}
