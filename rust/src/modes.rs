//! Classification modes beyond TF-IDF: the transformer (candle BERT, `bert/`) plugged
//! in where a distinct key gets its probability, behind the engine's key cache.
//!
//! * `tfidf`: the TF-IDF model alone (no [`Transformer`] at all);
//! * `transformer`: the transformer's `p_look` for every line;
//! * `cascade`: TF-IDF finds candidates (`p_tfidf >= candidate_threshold`), the
//!   transformer decides them; a line TF-IDF does not flag keeps its TF-IDF score,
//!   scaled below the mode's threshold (the transformer never saw it);
//! * `blend`: [`blend`] of the two probabilities (one small rule, Python's twin is
//!   `lookskip.classify.modes.blend`).
//!
//! In every mode Claude's answers (model-file `answers`) decide their keys (1 or 0)
//! and the keyword floor (`look_floor`) raises a matching key to the mode's
//! threshold, as they do for TF-IDF. Each distinct transformer input is scored once:
//! the engine's key cache holds each key's final scores, and [`Transformer`] keeps a
//! bounded memo of input → transformer probability, which the Python layer fills
//! from and saves to the persistent score cache (`lookskip.transformer.scorecache`).
//! The engine collects a batch's unseen inputs and scores them in one call, which
//! the BERT classifier sorts by token length and cuts into padded batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tfidf,
    Transformer,
    Cascade,
    Blend,
}

impl Mode {
    pub const NAMES: [&'static str; 4] = ["tfidf", "transformer", "cascade", "blend"];

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "tfidf" => Ok(Mode::Tfidf),
            "transformer" => Ok(Mode::Transformer),
            "cascade" => Ok(Mode::Cascade),
            "blend" => Ok(Mode::Blend),
            other => Err(Error::Model(format!(
                "unknown mode {other:?} (tfidf, transformer, cascade, blend)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Tfidf => "tfidf",
            Mode::Transformer => "transformer",
            Mode::Cascade => "cascade",
            Mode::Blend => "blend",
        }
    }

    /// Whether the mode reads TF-IDF's probability (rows then carry `prob_tfidf`).
    pub fn uses_tfidf(self) -> bool {
        matches!(self, Mode::Cascade | Mode::Blend)
    }
}

/// The blend mode's rule: the mean of the two probabilities. Its threshold is the
/// same rule applied to the two models' thresholds.
pub fn blend(p_tfidf: f64, p_transformer: f64) -> f64 {
    0.5 * (p_tfidf + p_transformer)
}

/// What scores transformer inputs (the candle BERT classifier; a test double in
/// Rust unit tests).
pub trait InputScorer: Send + Sync {
    /// P(LOOK) of each input, in order.
    fn score_inputs(&self, inputs: &[&str]) -> std::result::Result<Vec<f64>, String>;
}

impl<T: InputScorer + ?Sized> InputScorer for std::sync::Arc<T> {
    fn score_inputs(&self, inputs: &[&str]) -> std::result::Result<Vec<f64>, String> {
        (**self).score_inputs(inputs)
    }
}

/// What TF-IDF's model says about a key: Claude's answer, its logistic probability
/// (not computed in `transformer` mode), whether the keyword floor matches.
#[derive(Clone, Copy, Debug)]
pub struct KeyParts {
    pub answer: Option<bool>,
    pub p_raw: f64,
    pub floor: bool,
}

/// What the transformer reads: the template key made short (`model_input`), or the
/// scored line itself (an export trained on raw lines; then the key cache is keyed
/// by line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inputs {
    Keys,
    Lines,
}

/// Counters of the transformer's memo.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformerStats {
    /// Inputs the encoder actually scored.
    pub scored: u64,
    /// Inputs answered by the memo (loaded from the persistent cache, or scored earlier).
    pub memo_hits: u64,
    pub entries: u64,
    /// Memo restarts (it was full).
    pub resets: u64,
}

pub struct Transformer {
    scorer: Box<dyn InputScorer>,
    pub mode: Mode,
    pub inputs: Inputs,
    /// The mode's threshold: the floor raises matching keys to it.
    pub threshold: f64,
    /// TF-IDF's model threshold (what `p_tfidf` is floored to, as in `tfidf` mode).
    pub tfidf_threshold: f64,
    /// `cascade`: TF-IDF's candidate threshold.
    pub candidate_threshold: f64,
    /// input → (p, fresh: not yet handed to `take_new`).
    memo: Mutex<FxHashMap<Box<str>, (f64, bool)>>,
    max_entries: usize,
    scored: AtomicU64,
    memo_hits: AtomicU64,
    resets: AtomicU64,
}

impl Transformer {
    /// `max_entries` bounds the memo (0: no memo, every call scores its inputs).
    pub fn new(
        scorer: Box<dyn InputScorer>,
        mode: Mode,
        inputs: Inputs,
        threshold: f64,
        tfidf_threshold: f64,
        candidate_threshold: f64,
        max_entries: usize,
    ) -> Self {
        Self {
            scorer,
            mode,
            inputs,
            threshold,
            tfidf_threshold,
            candidate_threshold,
            memo: Mutex::new(FxHashMap::default()),
            max_entries,
            scored: AtomicU64::new(0),
            memo_hits: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        }
    }

    /// TF-IDF's own probability of a key (what `tfidf` mode gives it).
    pub fn p_tfidf(&self, k: &KeyParts) -> f64 {
        match k.answer {
            Some(look) => f64::from(u8::from(look)),
            None if k.floor => k.p_raw.max(self.tfidf_threshold),
            None => k.p_raw,
        }
    }

    /// Whether the key needs the transformer's probability at all.
    pub fn needs_transformer(&self, k: &KeyParts) -> bool {
        k.answer.is_none()
            && (self.mode != Mode::Cascade || self.p_tfidf(k) >= self.candidate_threshold)
    }

    /// The mode's probability of a key; `p_transformer` is given iff
    /// `needs_transformer`.
    pub fn combine(&self, k: &KeyParts, p_transformer: Option<f64>) -> f64 {
        if let Some(look) = k.answer {
            return f64::from(u8::from(look));
        }
        let q = p_transformer.unwrap_or(0.0);
        let p = match self.mode {
            Mode::Tfidf => self.p_tfidf(k),
            Mode::Transformer => q,
            Mode::Blend => blend(k.p_raw, q),
            Mode::Cascade => match p_transformer {
                Some(q) => q,
                // TF-IDF says SKIP: below the mode's threshold, ordered as TF-IDF's.
                None => {
                    let scale = if self.candidate_threshold > 0.0 {
                        (self.threshold / self.candidate_threshold).min(1.0)
                    } else {
                        1.0
                    };
                    self.p_tfidf(k) * scale
                }
            },
        };
        if k.floor {
            p.max(self.threshold)
        } else {
            p
        }
    }

    /// P(LOOK) of each input: from the memo, else scored (each distinct input once,
    /// all of them in one call to the scorer).
    pub fn score(&self, inputs: &[&str]) -> Result<Vec<f64>> {
        let mut out = vec![f64::NAN; inputs.len()];
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        // distinct unseen inputs in first-seen order, and where each one goes
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut texts: Vec<&str> = Vec::new();
        let mut slots: Vec<Vec<usize>> = Vec::new();
        let mut hits = 0u64;
        for (i, &text) in inputs.iter().enumerate() {
            if let Some(&(p, _)) = memo.get(text) {
                out[i] = p;
                hits += 1;
                continue;
            }
            let k = *index.entry(text).or_insert_with(|| {
                texts.push(text);
                slots.push(Vec::new());
                texts.len() - 1
            });
            slots[k].push(i);
        }
        self.memo_hits.fetch_add(hits, Ordering::Relaxed);
        if texts.is_empty() {
            return Ok(out);
        }
        let probs = self
            .scorer
            .score_inputs(&texts)
            .map_err(|e| Error::Model(format!("transformer: {e}")))?;
        if probs.len() != texts.len() {
            return Err(Error::Model("transformer: wrong number of scores".into()));
        }
        self.scored.fetch_add(texts.len() as u64, Ordering::Relaxed);
        if self.max_entries > 0 && memo.len() + texts.len() > self.max_entries {
            memo.clear();
            self.resets.fetch_add(1, Ordering::Relaxed);
        }
        for ((text, p), slot) in texts.iter().zip(probs).zip(&slots) {
            for &i in slot {
                out[i] = p;
            }
            if self.max_entries > 0 && memo.len() < self.max_entries {
                memo.insert((*text).into(), (p, true));
            }
        }
        Ok(out)
    }

    /// Add scores from the persistent cache (within the memo's bound); returns how
    /// many were taken.
    pub fn load(&self, entries: impl IntoIterator<Item = (String, f64)>) -> usize {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        for (text, p) in entries {
            if memo.len() >= self.max_entries {
                break;
            }
            memo.entry(text.into_boxed_str()).or_insert((p, false));
            n += 1;
        }
        n
    }

    /// The scores computed since the last call (for the persistent cache).
    pub fn take_new(&self) -> Vec<(String, f64)> {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (text, v) in memo.iter_mut() {
            if v.1 {
                v.1 = false;
                out.push((text.to_string(), v.0));
            }
        }
        out
    }

    pub fn stats(&self) -> TransformerStats {
        TransformerStats {
            scored: self.scored.load(Ordering::Relaxed),
            memo_hits: self.memo_hits.load(Ordering::Relaxed),
            entries: self.memo.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
            resets: self.resets.load(Ordering::Relaxed),
        }
    }

    /// Forget the memo and zero the counters.
    pub fn clear(&self) {
        self.memo.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.scored.store(0, Ordering::Relaxed);
        self.memo_hits.store(0, Ordering::Relaxed);
        self.resets.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P = input length / 100: enough to check memo and combination rules.
    struct ByLength;
    impl InputScorer for ByLength {
        fn score_inputs(&self, inputs: &[&str]) -> std::result::Result<Vec<f64>, String> {
            Ok(inputs.iter().map(|t| t.len() as f64 / 100.0).collect())
        }
    }

    fn t(mode: Mode, max_entries: usize) -> Transformer {
        Transformer::new(
            Box::new(ByLength),
            mode,
            Inputs::Keys,
            0.5,
            0.6,
            0.2,
            max_entries,
        )
    }

    #[test]
    fn each_distinct_input_is_scored_once() {
        let tr = t(Mode::Transformer, 100);
        let got = tr.score(&["ab", "abc", "ab"]).unwrap();
        assert_eq!(got, vec![0.02, 0.03, 0.02]);
        assert_eq!(tr.stats().scored, 2);
        tr.score(&["abc", "ab"]).unwrap();
        assert_eq!(tr.stats().scored, 2);
        assert_eq!(tr.take_new().len(), 2);
        assert!(tr.take_new().is_empty());
        let other = t(Mode::Transformer, 100);
        assert_eq!(other.load(vec![("ab".to_string(), 0.02)]), 1);
        other.score(&["ab"]).unwrap();
        assert_eq!(other.stats().scored, 0);
        let off = t(Mode::Transformer, 0);
        off.score(&["ab"]).unwrap();
        off.score(&["ab"]).unwrap();
        assert_eq!(off.stats().scored, 2);
    }

    #[test]
    fn combination_rules() {
        let k = |p_raw, floor| KeyParts {
            answer: None,
            p_raw,
            floor,
        };
        let cascade = t(Mode::Cascade, 10);
        assert!(!cascade.needs_transformer(&k(0.1, false)));
        assert!(cascade.needs_transformer(&k(0.1, true))); // floored to 0.6
        assert!(cascade.combine(&k(0.19, false), None) < 0.5);
        assert_eq!(cascade.combine(&k(0.3, false), Some(0.9)), 0.9);
        assert_eq!(cascade.combine(&k(0.3, true), Some(0.1)), 0.5);
        let b = t(Mode::Blend, 10);
        assert_eq!(b.combine(&k(0.2, false), Some(0.6)), blend(0.2, 0.6));
        let answered = KeyParts {
            answer: Some(false),
            p_raw: 0.9,
            floor: true,
        };
        assert!(!b.needs_transformer(&answered));
        assert_eq!(b.combine(&answered, None), 0.0);
    }
}
