//! The two TF-IDF blocks: which vocabulary columns a line hits, and how often.
//!
//! Scoring never builds n-gram strings:
//! * word n-grams: tokens become ids (only tokens that occur in some vocabulary term
//!   get one), and a 1..3-gram is the packed key of its ids; an n-gram holding an
//!   unknown token cannot be in the vocabulary and is skipped;
//! * char n-grams: see `chargrams.rs`.
//!
//! Counts go to a generation-stamped dense array per thread (`Counts`), so a line
//! costs no allocation. `tfidf_dot` then computes the L2 norm and the dot product
//! with `idf × coef` in one pass over the touched columns.

use regex_automata::meta::{Cache, Regex};
use regex_automata::Input;
use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::model::BlockSpec;
use crate::rx;

/// The token pattern the contract ships; it gets a hand-written scanner (equivalence
/// with the regex is a unit test). Any other pattern runs through the regex engine.
pub const DEFAULT_TOKEN_PATTERN: &str = "<[a-z]+>|[a-z0-9_]+";

#[inline]
fn is_tok(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

pub fn lowercase_ascii_in_place(bytes: &mut [u8]) {
    bytes.make_ascii_lowercase();
}

/// The tf of a term that occurs `count` times: `1 + ln(count)` when sublinear.
#[inline]
pub(crate) fn term_frequency(count: u32, sublinear: bool) -> f64 {
    // Most terms occur once: tf = 1 either way, no logarithm needed.
    if count == 1 {
        1.0
    } else if sublinear {
        1.0 + f64::from(count).ln()
    } else {
        f64::from(count)
    }
}

/// Per-term weights of one block, precomputed at load time and interleaved
/// (`[idf, idf × coef]` side by side) so a term costs one cache line, not two.
pub struct Weights {
    terms: Vec<[f64; 2]>,
    pub sublinear: bool,
    pub l2: bool,
}

impl Weights {
    /// Weights of the given vocabulary columns, in that order (slot i = `columns[i]`).
    fn new(spec: &BlockSpec, coef: &[f64], columns: impl Iterator<Item = usize>) -> Self {
        Self {
            terms: columns
                .map(|c| [spec.idf[c], spec.idf[c] * coef[c]])
                .collect(),
            sublinear: spec.sublinear_tf,
            l2: spec.norm.as_deref() == Some("l2"),
        }
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `coef · tfidf(counts)` over the touched slots, norm and dot product in one pass.
    pub fn tfidf_dot(&self, counts: &Counts) -> f64 {
        let mut ss = 0.0;
        let mut dot = 0.0;
        for &slot in &counts.touched {
            let tf = term_frequency(counts.get_touched(slot), self.sublinear);
            let [idf, idf_coef] = self.terms[slot as usize];
            let v = tf * idf;
            ss += v * v;
            dot += tf * idf_coef;
        }
        if self.l2 && ss > 0.0 {
            dot / ss.sqrt()
        } else {
            dot
        }
    }
}

/// Term counts of one line: a dense array of `generation << 32 | count`, so starting
/// a new line is O(1) instead of clearing the array, and a hit is one memory access.
pub struct Counts {
    cells: Vec<u64>,
    generation: u64,
    pub touched: Vec<u32>,
}

impl Counts {
    pub fn new(n: usize) -> Self {
        Self {
            cells: vec![0; n],
            generation: 1 << 32,
            touched: Vec::new(),
        }
    }

    pub fn reset(&mut self) {
        self.touched.clear();
        self.generation = self.generation.wrapping_add(1 << 32);
        if self.generation == 0 {
            self.cells.iter_mut().for_each(|s| *s = 0);
            self.generation = 1 << 32;
        }
    }

    #[inline]
    pub fn add(&mut self, slot: u32) {
        let cell = &mut self.cells[slot as usize];
        if *cell & !0xffff_ffff != self.generation {
            *cell = self.generation | 1;
            self.touched.push(slot);
        } else {
            *cell += 1;
        }
    }

    #[inline]
    fn get_touched(&self, slot: u32) -> u32 {
        self.cells[slot as usize] as u32
    }

    pub fn get(&self, slot: u32) -> u32 {
        let cell = self.cells[slot as usize];
        if cell & !0xffff_ffff == self.generation {
            cell as u32
        } else {
            0
        }
    }
}

enum Tokenizer {
    Default,
    Regex(Regex),
}

enum WordIndex {
    /// Default tokens never contain a space: a term splits into its tokens, and a
    /// 1..3-gram is the key `id1 | id2 << 21 | id3 << 42` (ids start at 1).
    Packed {
        token_ids: FxHashMap<Box<[u8]>, u64>,
        grams: FxHashMap<u64, u32>,
    },
    /// Anything else: the joined n-gram string is the key.
    Strings(FxHashMap<Box<[u8]>, u32>),
}

const ID_BITS: u32 = 21;

pub struct WordBlock {
    lo: usize,
    hi: usize,
    tokenizer: Tokenizer,
    index: WordIndex,
    pub weights: Weights,
}

impl WordBlock {
    pub fn new(spec: &BlockSpec, coef: &[f64]) -> Result<Self> {
        let (lo, hi) = spec.ngram_range;
        let pattern = spec
            .token_pattern
            .as_deref()
            .unwrap_or(DEFAULT_TOKEN_PATTERN);
        let tokenizer = if pattern == DEFAULT_TOKEN_PATTERN {
            Tokenizer::Default
        } else {
            Tokenizer::Regex(rx::compile("word.token_pattern", pattern)?)
        };
        let index = match tokenizer {
            Tokenizer::Default if hi <= 3 => Self::packed(&spec.vocabulary)?,
            _ => WordIndex::Strings(
                spec.vocabulary
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.as_bytes().into(), i as u32))
                    .collect(),
            ),
        };
        Ok(Self {
            lo,
            hi,
            tokenizer,
            index,
            weights: Weights::new(spec, coef, 0..spec.vocabulary.len()),
        })
    }

    fn packed(vocabulary: &[String]) -> Result<WordIndex> {
        let mut token_ids: FxHashMap<Box<[u8]>, u64> = FxHashMap::default();
        let mut grams = FxHashMap::default();
        grams.reserve(vocabulary.len());
        for (col, term) in vocabulary.iter().enumerate() {
            let mut key = 0u64;
            let mut n = 0;
            for tok in term.split(' ') {
                let next = token_ids.len() as u64 + 1;
                let id = *token_ids.entry(tok.as_bytes().into()).or_insert(next);
                key |= id << (ID_BITS * n);
                n += 1;
            }
            if n > 3 {
                continue; // can never be produced with ngram_range ⊆ 1..3
            }
            grams.insert(key, col as u32);
        }
        if token_ids.len() as u64 >= (1 << ID_BITS) {
            return Err(Error::Model("word block: too many distinct tokens".into()));
        }
        Ok(WordIndex::Packed { token_ids, grams })
    }

    /// Token spans of an already normalized, lowercased line.
    pub fn tokens(&self, cache: Option<&mut Cache>, text: &[u8], out: &mut Vec<(u32, u32)>) {
        out.clear();
        match &self.tokenizer {
            Tokenizer::Default => default_tokens(text, out),
            Tokenizer::Regex(re) => {
                let mut owned;
                let cache = match cache {
                    Some(c) => c,
                    None => {
                        owned = re.create_cache();
                        &mut owned
                    }
                };
                let mut at = 0;
                while at <= text.len() {
                    let Some(m) = re.search_with(cache, &Input::new(text).range(at..)) else {
                        break;
                    };
                    out.push((m.start() as u32, m.end() as u32));
                    at = if m.is_empty() { m.end() + 1 } else { m.end() };
                }
            }
        }
    }

    pub fn token_regex(&self) -> Option<&Regex> {
        match &self.tokenizer {
            Tokenizer::Regex(re) => Some(re),
            Tokenizer::Default => None,
        }
    }

    /// Count the vocabulary n-grams of the token spans into `counts`.
    pub fn count(
        &self,
        text: &[u8],
        spans: &[(u32, u32)],
        ids: &mut Vec<u64>,
        buf: &mut Vec<u8>,
        counts: &mut Counts,
    ) {
        counts.reset();
        let tok = |s: &(u32, u32)| &text[s.0 as usize..s.1 as usize];
        match &self.index {
            WordIndex::Packed { token_ids, grams } => {
                ids.clear();
                ids.extend(
                    spans
                        .iter()
                        .map(|s| token_ids.get(tok(s)).copied().unwrap_or(0)),
                );
                for n in self.lo..=self.hi.min(ids.len()) {
                    for w in ids.windows(n) {
                        if w.contains(&0) {
                            continue;
                        }
                        let key = w
                            .iter()
                            .enumerate()
                            .fold(0u64, |k, (j, id)| k | id << (ID_BITS * j as u32));
                        if let Some(&col) = grams.get(&key) {
                            counts.add(col);
                        }
                    }
                }
            }
            WordIndex::Strings(map) => {
                for n in self.lo..=self.hi.min(spans.len()) {
                    for w in spans.windows(n) {
                        buf.clear();
                        for (j, s) in w.iter().enumerate() {
                            if j > 0 {
                                buf.push(b' ');
                            }
                            buf.extend_from_slice(tok(s));
                        }
                        if let Some(&col) = map.get(&buf[..]) {
                            counts.add(col);
                        }
                    }
                }
            }
        }
    }

    /// All word n-grams as strings, in scikit-learn's order (parity checks only).
    pub fn ngram_strings(&self, text: &[u8], spans: &[(u32, u32)]) -> Vec<String> {
        let toks: Vec<&str> = spans
            .iter()
            .map(|s| std::str::from_utf8(&text[s.0 as usize..s.1 as usize]).unwrap_or("\u{fffd}"))
            .collect();
        let mut out = Vec::new();
        for n in self.lo..=self.hi.min(toks.len()) {
            for w in toks.windows(n) {
                out.push(w.join(" "));
            }
        }
        out
    }
}

/// `<[a-z]+>|[a-z0-9_]+` as `re.findall` reads it: at each position try a placeholder,
/// then a run of word bytes; otherwise move on by one byte (tokens are ASCII, so a
/// byte step never splits a token).
fn default_tokens(text: &[u8], out: &mut Vec<(u32, u32)>) {
    let n = text.len();
    let mut i = 0;
    while i < n {
        let b = text[i];
        if b == b'<' {
            let mut j = i + 1;
            while j < n && text[j].is_ascii_lowercase() {
                j += 1;
            }
            if j > i + 1 && j < n && text[j] == b'>' {
                out.push((i as u32, (j + 1) as u32));
                i = j + 1;
            } else {
                i += 1;
            }
        } else if is_tok(b) {
            let mut j = i + 1;
            while j < n && is_tok(text[j]) {
                j += 1;
            }
            out.push((i as u32, j as u32));
            i = j;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_of(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        default_tokens(text.as_bytes(), &mut out);
        out.iter()
            .map(|s| text[s.0 as usize..s.1 as usize].to_string())
            .collect()
    }

    #[test]
    fn default_tokenizer_equals_the_regex() {
        let re = rx::compile("t", DEFAULT_TOKEN_PATTERN).unwrap();
        let mut cache = re.create_cache();
        for text in [
            "blk_-<num> from <ip> took <num>s",
            "<<num>> <a <b>c <> <x1> a<b>c é<num>é",
            "",
            "___ a-b_c 9",
            "<ab",
            "<hex>:<num>,<uuid>",
        ] {
            let mut want = Vec::new();
            let mut at = 0;
            while let Some(m) = re.search_with(&mut cache, &Input::new(text).range(at..)) {
                want.push(text[m.range()].to_string());
                at = m.end().max(at + 1);
                if at > text.len() {
                    break;
                }
            }
            assert_eq!(spans_of(text), want, "{text:?}");
        }
    }

    #[test]
    fn counts_restart_each_line() {
        let mut c = Counts::new(4);
        c.add(1);
        c.add(1);
        assert_eq!(c.get(1), 2);
        c.reset();
        assert_eq!(c.get(1), 0);
        c.add(3);
        assert_eq!(c.touched, vec![3]);
    }
}
