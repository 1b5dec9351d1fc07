//! Per-key aggregates of the LOOK lines of a unit or file, collected while it is
//! classified: what `report.html` and `lookskip classify --summary` are built from,
//! so neither re-reads the rows (on a 540 MB file with 1.4M LOOK rows, re-reading
//! them in Python took half of a `classify --output` run).
//!
//! For each distinct scored key of a LOOK line: its count, its `p_look` (a line's
//! score is its key's), first/last line number and the first bytes of those lines
//! (where a timestamp is, read in Python), and up to three examples (the key's 1st,
//! 3rd and 10th line) with `CONTEXT` lines before and after. Before-lines come from
//! the batch itself or, at a batch's start, from the last lines of the previous
//! batch; after-lines are added as the next lines stream by. Memory is bounded: at
//! most `MAX_KEYS` keys are kept (the LOOK lines of the others are counted as
//! `other`), texts are cut to `TEXT_BYTES`, keys to `KEY_BYTES`. Keys are told apart by
//! the 64-bit hash of the key the scorer computed anyway (`Engine::score_batch`), so a
//! LOOK line is keyed again only when its key is new (1.5 µs a LOOK line saved; two
//! keys sharing a hash would be counted as one). An even sample of
//! LOOK lines' heads (every `time_step`-th, at most `2 * TIME_SAMPLES`) gives the
//! report its LOOK-over-time chart.
//!
//! Python's twin (the fallback paths) is `lookskip.bulk.patterns.PatternAggregator`;
//! `tests/test_patterns.py` holds the two equal.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::score::decode;
use crate::stream::Batch;

pub const MAX_KEYS: usize = 10_000;
pub const CONTEXT: usize = 3;
/// Which occurrences of a key become its examples (1-based).
pub const EXAMPLE_AT: [u64; 3] = [1, 3, 10];
pub const TEXT_BYTES: usize = 240;
pub const KEY_BYTES: usize = 400;
pub const HEAD_BYTES: usize = 80;
pub const TIME_SAMPLES: usize = 2048;

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Example {
    pub line: u64,
    pub text: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct KeyStats {
    pub key: String,
    pub count: u64,
    pub p: f64,
    pub first: u64,
    pub last: u64,
    pub first_head: String,
    pub last_head: String,
    pub examples: Vec<Example>,
}

#[derive(Serialize, Debug, Default)]
pub struct Patterns {
    pub keys: Vec<KeyStats>,
    /// LOOK lines whose key was not kept (`MAX_KEYS` reached).
    pub other: u64,
    /// `(line, head)` of every `time_step`-th LOOK line.
    pub times: Vec<(u64, String)>,
    pub time_step: u64,
    #[serde(skip)]
    index: FxHashMap<u64, usize>,
    #[serde(skip)]
    recent: VecDeque<String>,
    /// `(key, example)` still collecting after-lines.
    #[serde(skip)]
    waiting: Vec<(usize, usize)>,
    #[serde(skip)]
    looks: u64,
}

/// The first `n` bytes of a line, decoded as every row text is (lossy UTF-8).
fn cut(raw: &[u8], n: usize) -> String {
    decode(&raw[..raw.len().min(n)]).into_owned()
}

impl Patterns {
    pub fn new() -> Self {
        Self {
            time_step: 1,
            ..Self::default()
        }
    }

    /// Take a scored batch: `hashes[i]` is the hash of LOOK line `i`'s key, `key_of`
    /// gives a LOOK line's scored key (asked once per new key).
    pub fn observe(
        &mut self,
        batch: &Batch,
        probs: &[f64],
        hashes: &[u64],
        threshold: f64,
        key_of: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) {
        let n = batch.lines.len();
        for (i, &p) in probs.iter().enumerate().take(n) {
            let raw = batch.line(i);
            if !self.waiting.is_empty() {
                self.follow(raw);
            }
            if p >= threshold {
                let line = batch.first_line + i as u64;
                self.look(batch, i, line, p, hashes[i], key_of);
            }
        }
        for i in n.saturating_sub(CONTEXT)..n {
            if self.recent.len() == CONTEXT {
                self.recent.pop_front();
            }
            self.recent.push_back(cut(batch.line(i), TEXT_BYTES));
        }
    }

    fn follow(&mut self, raw: &[u8]) {
        let text = cut(raw, TEXT_BYTES);
        let keys = &mut self.keys;
        self.waiting.retain(|&(k, e)| {
            let ex = &mut keys[k].examples[e];
            ex.after.push(text.clone());
            ex.after.len() < CONTEXT
        });
    }

    fn before(&self, batch: &Batch, i: usize) -> Vec<String> {
        let from_recent = CONTEXT.saturating_sub(i).min(self.recent.len());
        let mut out: Vec<String> = self
            .recent
            .iter()
            .skip(self.recent.len() - from_recent)
            .cloned()
            .collect();
        out.extend((i.saturating_sub(CONTEXT)..i).map(|j| cut(batch.line(j), TEXT_BYTES)));
        out
    }

    fn look(
        &mut self,
        batch: &Batch,
        i: usize,
        line: u64,
        p: f64,
        hash: u64,
        key_of: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) {
        let raw = batch.line(i);
        self.time_step = self.time_step.max(1); // `default()` starts it at 0
        if self.looks.is_multiple_of(self.time_step) {
            self.times.push((line, cut(raw, HEAD_BYTES)));
            if self.times.len() >= 2 * TIME_SAMPLES {
                self.times = self.times.iter().step_by(2).cloned().collect();
                self.time_step *= 2;
            }
        }
        self.looks += 1;
        let k = match self.index.get(&hash) {
            Some(&k) => k,
            None => {
                if self.keys.len() >= MAX_KEYS {
                    self.other += 1;
                    return;
                }
                let key = key_of(raw);
                self.keys.push(KeyStats {
                    key: cut(&key, KEY_BYTES),
                    count: 0,
                    p,
                    first: line,
                    last: line,
                    first_head: cut(raw, HEAD_BYTES),
                    last_head: String::new(),
                    examples: Vec::new(),
                });
                self.index.insert(hash, self.keys.len() - 1);
                self.keys.len() - 1
            }
        };
        let before = {
            let s = &self.keys[k];
            EXAMPLE_AT
                .contains(&(s.count + 1))
                .then(|| self.before(batch, i))
        };
        let s = &mut self.keys[k];
        s.count += 1;
        s.last = line;
        s.last_head.clear();
        s.last_head
            .push_str(&decode(&raw[..raw.len().min(HEAD_BYTES)]));
        if let Some(before) = before {
            s.examples.push(Example {
                line,
                text: cut(raw, TEXT_BYTES),
                before,
                after: Vec::new(),
            });
            self.waiting.push((k, s.examples.len() - 1));
        }
    }

    /// The aggregates as JSON (what Python reads: `lookskip.bulk.patterns`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::LineSpan;

    fn batch(lines: &[&str], first_line: u64) -> Batch {
        let mut b = Batch {
            first_line,
            ..Batch::default()
        };
        for l in lines {
            let start = b.data.len();
            b.data.extend_from_slice(l.as_bytes());
            b.lines.push(LineSpan {
                start,
                end: b.data.len(),
                truncated: false,
            });
        }
        b
    }

    #[test]
    fn context_spans_batches() {
        let mut p = Patterns::new();
        let mut key = |raw: &[u8]| raw.split(|&c| c == b' ').next().unwrap_or(&[]).to_vec();
        let b1 = batch(&["a 1", "b 2", "ERR x"], 1);
        p.observe(&b1, &[0.0, 0.0, 1.0], &[0, 0, 7], 0.5, &mut key);
        let b2 = batch(&["c 3", "ERR y", "d 4", "e 5", "f 6"], 4);
        p.observe(
            &b2,
            &[0.0, 1.0, 0.0, 0.0, 0.0],
            &[0, 7, 0, 0, 0],
            0.5,
            &mut key,
        );
        assert_eq!(p.keys.len(), 1);
        let k = &p.keys[0];
        assert_eq!((k.count, k.first, k.last), (2, 3, 5));
        let e = &k.examples[0];
        assert_eq!(e.before, vec!["a 1", "b 2"]);
        assert_eq!(e.after, vec!["c 3", "ERR y", "d 4"]);
        assert_eq!(p.times.len(), 2);
    }
}
