//! The compiled classifier: `p_look` of a line, as `docs/model-format.md` defines it.
//!
//! Every block reads the line's template key, never the line, so `p_look` is a
//! function of the key: `score` computes the key and looks it up in the thread's
//! `KeyCache` before scoring it. Most lines of a real log repeat a template, so most
//! lines cost a key and a lookup.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use regex_automata::meta::Cache;

use crate::answers::{Answer, Answers};
use crate::baseline::key_hash;
use crate::chargrams::{CharBlock, LineCounts};
use crate::error::Result;
use crate::events::EventRule;
use crate::features::{FeatureScratch, Features};
use crate::jsonlog::JsonFields;
use crate::key::TemplateKey;
use crate::keycache::KeyCache;
use crate::model::ModelSpec;
use crate::model_input::input_from_key;
use crate::modes::{Inputs, KeyParts, Transformer};
use crate::ngrams::{Counts, WordBlock};

/// `(vocabulary column, count)` pairs of one block, sorted by column.
pub type TermCounts = Vec<(u32, u32)>;

pub struct Classifier {
    pub threshold: f64,
    pub positive_label: String,
    intercept: f64,
    keyer: TemplateKey,
    /// `look_floor`: keys it matches score at least `threshold`.
    floor: Option<regex_automata::meta::Regex>,
    word: WordBlock,
    char: CharBlock,
    features: Features,
    /// `coef / scale` and `mean` of the handcrafted block.
    hand_coef: Vec<f64>,
    hand_mean: Vec<f64>,
    hand_scale: Vec<f64>,
    n_word: usize,
    n_char: usize,
    /// Seconds spent loading and compiling the model.
    pub load_seconds: f64,
    /// JSON-lines logs: which field of a JSON object line is scored (`jsonlog.rs`).
    pub json: JsonFields,
    /// How continuation lines join events (`events.rs`).
    pub events: EventRule,
    /// Term names, idf and coefficients, read only to explain a score (`explain`).
    why: WhyTables,
    /// Claude's answers about templates: a key one matches scores 1 (LOOK) or 0 (SKIP),
    /// whatever the model and the floor say.
    pub answers: Answers,
}

/// What `explain` needs beyond the scoring tables: terms by vocabulary column.
struct WhyTables {
    word: Vec<(String, f64, f64)>,
    char: Vec<(String, f64, f64)>,
    word_tf: (bool, bool),
    char_tf: (bool, bool),
}

/// A line the mode cache did not know: its cache id (key or scored text), what
/// TF-IDF's model says about its key, and its transformer input when it needs one.
pub struct ModeMiss {
    pub id: Vec<u8>,
    pub parts: KeyParts,
    pub input: Option<String>,
}

/// One contribution to a line's decision value: `term` (`word:…`, `char:…`,
/// `feature:…`, `look_floor`) and its signed share of `z` (coefficient × value).
pub type Why = (String, f64);

/// Per-thread working memory: reused for every line, so scoring allocates nothing
/// (but for a new key's cache entry).
impl Scratch {
    /// The key of the line `Classifier::score` scored last with this scratch (the
    /// report's per-key aggregates hash it instead of keying the line again).
    pub fn last_key(&self) -> &[u8] {
        &self.key
    }
}

pub struct Scratch {
    key_re: Cache,
    token_cache: Option<Cache>,
    /// The line's key, then (lowercased) the word block's input.
    key: Vec<u8>,
    word_input: Vec<u8>,
    pub cache: KeyCache,
    /// The transformer modes' cache (`modes.rs`): key (or line) → `[p, p_tfidf]`.
    pub mode_cache: KeyCache<[f64; 2]>,
    lower: Vec<u8>,
    spans: Vec<(u32, u32)>,
    ids: Vec<u64>,
    buf: Vec<u8>,
    word_counts: Counts,
    char_counts: LineCounts,
    features: FeatureScratch,
    raw_features: Vec<f64>,
}

impl Classifier {
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let start = Instant::now();
        let spec = ModelSpec::load(path)?;
        let mut clf = Self::from_spec(&spec)?;
        clf.load_seconds = start.elapsed().as_secs_f64();
        Ok(clf)
    }

    pub fn from_spec(spec: &ModelSpec) -> Result<Self> {
        let start = Instant::now();
        let keyer = TemplateKey::new(&spec.key)?;
        let answers = Answers::new(&spec.answers, &spec.positive_label)?;
        let floor = match &spec.look_floor {
            Some(p) => Some(crate::rx::compile("look_floor", p)?),
            None => None,
        };
        // The char automaton is the slowest part to build: overlap it with the rest.
        let (char, rest) = rayon::join(
            || CharBlock::new(&spec.char, &spec.coef.char),
            || -> Result<(WordBlock, Features)> {
                Ok((
                    WordBlock::new(&spec.word, &spec.coef.word)?,
                    Features::new(&spec.handcrafted)?,
                ))
            },
        );
        let char = char?;
        let (word, features) = rest?;
        let h = &spec.handcrafted;
        Ok(Self {
            threshold: spec.threshold,
            positive_label: spec.positive_label.clone(),
            intercept: spec.intercept,
            keyer,
            floor,
            word,
            char,
            features,
            hand_coef: spec.coef.handcrafted.clone(),
            hand_mean: h.mean.clone(),
            hand_scale: h.scale.clone(),
            n_word: spec.word.vocabulary.len(),
            n_char: spec.char.vocabulary.len(),
            load_seconds: start.elapsed().as_secs_f64(),
            json: JsonFields::default(),
            events: EventRule::new(&spec.events.clone().unwrap_or_default())?,
            answers,
            why: WhyTables {
                word: terms(&spec.word, &spec.coef.word),
                char: terms(&spec.char, &spec.coef.char),
                word_tf: (
                    spec.word.sublinear_tf,
                    spec.word.norm.as_deref() == Some("l2"),
                ),
                char_tf: (
                    spec.char.sublinear_tf,
                    spec.char.norm.as_deref() == Some("l2"),
                ),
            },
        })
    }

    /// Working memory for one thread, with a key cache of `DEFAULT_CACHE_BYTES`.
    pub fn scratch(&self) -> Scratch {
        self.scratch_with_cache(crate::keycache::DEFAULT_CACHE_BYTES)
    }

    /// Working memory for one thread whose key cache holds at most `cache_bytes`
    /// (0: no cache, every line scored from its key).
    pub fn scratch_with_cache(&self, cache_bytes: usize) -> Scratch {
        Scratch {
            key_re: self.keyer.create_cache(),
            token_cache: self.word.token_regex().map(|r| r.create_cache()),
            key: Vec::with_capacity(256),
            word_input: Vec::with_capacity(256),
            cache: KeyCache::new(cache_bytes),
            mode_cache: KeyCache::new(cache_bytes),
            lower: Vec::with_capacity(256),
            spans: Vec::with_capacity(64),
            ids: Vec::with_capacity(64),
            buf: Vec::new(),
            word_counts: Counts::new(self.n_word),
            char_counts: LineCounts::default(),
            features: self.features.scratch(),
            raw_features: Vec::with_capacity(self.features.len()),
        }
    }

    pub fn feature_names(&self) -> Vec<&'static str> {
        self.features.names()
    }

    pub fn vocabulary_sizes(&self) -> (usize, usize) {
        (self.n_word, self.n_char)
    }

    /// `p_look` of one line (bytes; invalid UTF-8 is decoded lossily first): its key's,
    /// from the cache when the key was scored before.
    pub fn score(&self, line: &[u8], s: &mut Scratch) -> f64 {
        let line = decode(line);
        let line = self.json.scored_text(&line);
        s.key.clear();
        self.keyer
            .key_into(&mut s.key_re, line.as_bytes(), &mut s.key);
        if let Some(p) = s.cache.get(&s.key) {
            return p;
        }
        let key = std::mem::take(&mut s.key);
        let p = self.key_proba(&key, s);
        s.cache.insert(&key, p);
        s.key = key;
        p
    }

    /// `p_look` of a key: Claude's answer when one matches the key (1 or 0), else the
    /// logistic of its decision, raised to the threshold where `look_floor` matches.
    pub fn key_proba(&self, key: &[u8], s: &mut Scratch) -> f64 {
        if let Some(a) = self.answers.find(key) {
            return if a.look { 1.0 } else { 0.0 };
        }
        let z = self.key_decision(key, s);
        let p = 1.0 / (1.0 + (-z).exp());
        match &self.floor {
            Some(re) if re.is_match(key) => p.max(self.threshold),
            _ => p,
        }
    }

    /// A line in a transformer mode: `Ok([p, p_tfidf])` when its key (or, for a
    /// transformer that reads whole lines, its scored text) is in the mode cache,
    /// else `Err(id)`, the cache id it missed (the key stays in the scratch for
    /// [`Classifier::mode_miss`]).
    pub fn mode_lookup(
        &self,
        line: &[u8],
        t: &Transformer,
        s: &mut Scratch,
    ) -> std::result::Result<[f64; 2], Vec<u8>> {
        let line = decode(line);
        let scored = self.json.scored_text(&line);
        s.key.clear();
        self.keyer
            .key_into(&mut s.key_re, scored.as_bytes(), &mut s.key);
        let id: &[u8] = match t.inputs {
            Inputs::Keys => &s.key,
            Inputs::Lines => scored.as_bytes(),
        };
        match s.mode_cache.get(id) {
            Some(v) => Ok(v),
            None => Err(id.to_vec()),
        }
    }

    /// What scoring the line `mode_lookup` just missed needs: what this model says
    /// about its key, and its transformer input when the mode asks for one.
    pub fn mode_miss(&self, t: &Transformer, id: Vec<u8>, s: &mut Scratch) -> ModeMiss {
        let key = std::mem::take(&mut s.key);
        let parts = self.key_parts(&key, t.mode.uses_tfidf(), s);
        let input = t.needs_transformer(&parts).then(|| match t.inputs {
            Inputs::Keys => input_from_key(&decode(&key)),
            Inputs::Lines => decode(&id).into_owned(),
        });
        s.key = key;
        ModeMiss { id, parts, input }
    }

    /// What this model says about a key in a transformer mode: Claude's answer, the
    /// logistic probability (`with_p`; NaN otherwise), whether the floor matches.
    pub fn key_parts(&self, key: &[u8], with_p: bool, s: &mut Scratch) -> KeyParts {
        let answer = self.answers.find(key).map(|a| a.look);
        let p_raw = if answer.is_none() && with_p {
            1.0 / (1.0 + (-self.key_decision(key, s)).exp())
        } else {
            f64::NAN
        };
        let floor = self.floor.as_ref().is_some_and(|re| re.is_match(key));
        KeyParts {
            answer,
            p_raw,
            floor,
        }
    }

    /// The answer that applies to `line`'s key, if any (rows name it as their source).
    pub fn answer(&self, line: &[u8], s: &mut Scratch) -> Option<&Answer> {
        if self.answers.is_empty() {
            return None;
        }
        let key = self.scored_key(line, s);
        self.answers.find(&key)
    }

    /// The decision value `z` of a valid UTF-8 line (its key's).
    pub fn decision(&self, line: &[u8], s: &mut Scratch) -> f64 {
        let mut key = std::mem::take(&mut s.key);
        key.clear();
        self.keyer.key_into(&mut s.key_re, line, &mut key);
        let z = self.key_decision(&key, s);
        s.key = key;
        z
    }

    /// The decision value `z` of a template key: every block reads the key.
    pub fn key_decision(&self, line: &[u8], s: &mut Scratch) -> f64 {
        // word block: lowercase, tokens, n-grams
        s.word_input.clear();
        s.word_input.extend_from_slice(line);
        s.word_input.make_ascii_lowercase();
        self.word
            .tokens(s.token_cache.as_mut(), &s.word_input, &mut s.spans);
        self.word.count(
            &s.word_input,
            &s.spans,
            &mut s.ids,
            &mut s.buf,
            &mut s.word_counts,
        );
        let word = self.word.weights.tfidf_dot(&s.word_counts);
        // char block: the key, ASCII-lowercased
        s.lower.clear();
        s.lower.extend_from_slice(line);
        s.lower.make_ascii_lowercase();
        // The char block reads 8 bytes at a time: pad past the line's end.
        s.lower.extend_from_slice(&[0; 8]);
        self.char.count(&s.lower, line.len(), &mut s.char_counts);
        let char = self.char.dot(&mut s.char_counts);
        // handcrafted
        self.features.compute(
            &mut s.features,
            line,
            &s.lower[..line.len()],
            &mut s.raw_features,
        );
        let mut hand = 0.0;
        for (i, x) in s.raw_features.iter().enumerate() {
            hand += self.hand_coef[i] * ((x - self.hand_mean[i]) / self.hand_scale[i]);
        }
        self.intercept + word + char + hand
    }

    /// The template key of the text a line is scored on (a JSON line's message).
    pub fn scored_key(&self, line: &[u8], s: &mut Scratch) -> Vec<u8> {
        let line = decode(line);
        let line = self.json.scored_text(&line);
        let mut key = Vec::with_capacity(line.len());
        self.keyer
            .key_into(&mut s.key_re, line.as_bytes(), &mut key);
        key
    }

    /// The key a baseline holds for a line: its scored key, calendar words masked
    /// (`baseline::baseline_key`).
    pub fn baseline_key(&self, line: &[u8], s: &mut Scratch) -> Vec<u8> {
        crate::baseline::baseline_key(&self.scored_key(line, s))
    }

    /// Names what baseline keys are made from (key rules, JSON fields, the calendar
    /// mask): a baseline built under another fingerprint cannot be compared.
    pub fn key_fingerprint(&self) -> String {
        let mut text = self.keyer.describe();
        text.push('\u{1}');
        text.push_str(crate::baseline::BASELINE_KEY_RULE);
        text.push('\u{1}');
        text.push_str(&self.json.fields.join("\u{2}"));
        format!("{:016x}", key_hash(text.as_bytes()))
    }

    /// The `top` largest contributions (by magnitude) to a line's decision value `z`:
    /// each word and char n-gram's `coef × tfidf` and each handcrafted feature's
    /// `coef × scaled value`, plus `look_floor` (what it added to reach the threshold)
    /// when the floor decided. Their sum over all terms, plus the intercept, is `z`.
    /// Only asked for LOOK rows, so scoring speed is unchanged when nobody asks.
    pub fn explain(&self, line: &[u8], top: usize, s: &mut Scratch) -> Vec<Why> {
        let key = self.scored_key(line, s);
        self.explain_key(&key, top, s)
    }

    /// `explain` of a template key (a line's explanation is its key's, as its score is).
    pub fn explain_key(&self, key: &[u8], top: usize, s: &mut Scratch) -> Vec<Why> {
        // The scoring pass itself, in this thread's scratch: `z`, and the terms it hit.
        let z = self.key_decision(key, s);
        let mut word: TermCounts = s
            .word_counts
            .touched
            .iter()
            .map(|&t| (t, s.word_counts.get(t)))
            .collect();
        word.sort_unstable();
        let char = self.char.term_counts(&s.char_counts);
        // (block, index, weight): names are formatted only for the `top` kept.
        let mut all: Vec<(u8, u32, f64)> = Vec::with_capacity(word.len() + char.len() + 17);
        for (block, counts, tables, (sublinear, l2)) in [
            (0u8, &word, &self.why.word, self.why.word_tf),
            (1u8, &char, &self.why.char, self.why.char_tf),
        ] {
            let start = all.len();
            let mut ss = 0.0;
            for &(c, n) in counts.iter() {
                let v = crate::ngrams::term_frequency(n, sublinear) * tables[c as usize].1;
                ss += v * v;
                all.push((block, c, v));
            }
            let norm = if l2 && ss > 0.0 { ss.sqrt() } else { 1.0 };
            for t in &mut all[start..] {
                t.2 = tables[t.1 as usize].2 * t.2 / norm;
            }
        }
        for (i, x) in s.raw_features.iter().enumerate() {
            let w = self.hand_coef[i] * ((x - self.hand_mean[i]) / self.hand_scale[i]);
            if w != 0.0 {
                all.push((2, i as u32, w));
            }
        }
        let by_size = |a: &(u8, u32, f64), b: &(u8, u32, f64)| {
            b.2.abs()
                .total_cmp(&a.2.abs())
                .then_with(|| (a.0, a.1).cmp(&(b.0, b.1)))
        };
        if all.len() > top && top > 0 {
            all.select_nth_unstable_by(top - 1, by_size);
        }
        all.truncate(top);
        all.sort_unstable_by(by_size);
        let names = self.features.names();
        let mut out: Vec<Why> = all
            .into_iter()
            .map(|(block, i, w)| {
                let term = match block {
                    0 => format!("word:{}", self.why.word[i as usize].0),
                    1 => format!("char:{}", self.why.char[i as usize].0),
                    _ => format!("feature:{}", names[i as usize]),
                };
                (term, w)
            })
            .collect();
        if let Some(re) = &self.floor {
            let floor_z = (self.threshold / (1.0 - self.threshold)).ln();
            if z < floor_z && re.is_match(key) {
                out.insert(0, ("look_floor".to_string(), floor_z - z));
            }
        }
        for w in &mut out {
            w.1 = (w.1 * 1e4).round() / 1e4;
        }
        out
    }

    // --- the transforms one by one, for parity checks against Python -------------

    /// The template key of a line (what every block reads).
    pub fn template_key(&self, line: &str) -> String {
        self.keyer.key(line)
    }

    /// Whether the key rules are the shipped ones, keyed by the scanner.
    pub fn key_scanner(&self) -> bool {
        self.keyer.fast_path()
    }

    /// Word n-grams of a key (`line` is taken as a key, as Python's `word_ngrams`).
    pub fn word_ngrams(&self, line: &str) -> Vec<String> {
        let mut s = self.scratch_with_cache(0);
        s.word_input.clear();
        s.word_input.extend_from_slice(line.as_bytes());
        s.word_input.make_ascii_lowercase();
        self.word
            .tokens(s.token_cache.as_mut(), &s.word_input, &mut s.spans);
        self.word.ngram_strings(&s.word_input, &s.spans)
    }

    pub fn char_ngrams(&self, line: &str) -> Vec<String> {
        self.char.ngram_strings(line)
    }

    pub fn line_features(&self, line: &str) -> Vec<f64> {
        let mut s = self.features.scratch();
        let mut out = Vec::new();
        let lowered = line.to_ascii_lowercase();
        self.features
            .compute(&mut s, line.as_bytes(), lowered.as_bytes(), &mut out);
        out
    }

    /// Vocabulary columns (and counts) a key hits in the word and char blocks.
    pub fn term_counts(&self, line: &str) -> (TermCounts, TermCounts) {
        let mut s = self.scratch_with_cache(0);
        self.key_decision(line.as_bytes(), &mut s);
        let mut word: TermCounts = s
            .word_counts
            .touched
            .iter()
            .map(|&t| (t, s.word_counts.get(t)))
            .collect();
        word.sort_unstable();
        (word, self.char.term_counts(&s.char_counts))
    }
}

fn terms(block: &crate::model::BlockSpec, coef: &[f64]) -> Vec<(String, f64, f64)> {
    block
        .vocabulary
        .iter()
        .zip(&block.idf)
        .zip(coef)
        .map(|((t, &idf), &c)| (t.clone(), idf, c))
        .collect()
}

/// Lossy UTF-8 (U+FFFD for each maximal invalid subpart, as Python's `errors="replace"`).
pub fn decode(line: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-sized model whose `p_look` can be worked out on paper.
    fn toy() -> Classifier {
        let doc = serde_json::json!({
            "format": "lookskip-tfidf", "format_version": 2, "positive_label": "LOOK",
            "threshold": 0.5,
            "key": {"rules": [["num", "<NUM>", "[0-9]+(?:\\.[0-9]+)*"]], "squeeze_chars": " \t"},
            "word": {"ngram_range": [1, 3], "token_pattern": "<[a-z]+>|[a-z0-9_]+",
                     "lowercase": "ascii", "vocabulary": ["error", "disk", "error disk", "<num>"],
                     "idf": [1.5, 2.0, 3.0, 1.0], "sublinear_tf": true, "norm": "l2"},
            "char": {"ngram_range": [3, 6], "lowercase": "ascii", "vocabulary": ["err", "ERR"],
                     "idf": [1.0, 9.0], "sublinear_tf": true, "norm": "l2"},
            "handcrafted": {"names": ["length"], "patterns": {}, "struct_punct_chars": "[]",
                            "mean": [1.0], "scale": [2.0]},
            "coef": {"word": [1.0, -0.5, 2.0, 4.0], "char": [0.5, 100.0], "handcrafted": [0.25]},
            "intercept": -1.0,
            "trained": {}
        });
        let spec = ModelSpec::from_json(doc.to_string().as_bytes()).unwrap();
        Classifier::from_spec(&spec).unwrap()
    }

    #[test]
    fn score_follows_the_format_definition() {
        let clf = toy();
        let mut s = clf.scratch();
        let line = "ERROR disk error";
        // word: error ×2, disk ×1, "error disk" ×1 (sublinear tf, l2 over the kept terms)
        let tf2 = 1.0 + 2f64.ln();
        let v = [tf2 * 1.5, 2.0, 3.0];
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let word = (v[0] * 1.0 + v[1] * -0.5 + v[2] * 2.0) / norm;
        // char: "err" ×2 on the lowercased line → one term, normalised to 1; "ERR" never occurs
        let char = 0.5;
        let hand = 0.25 * ((17f64).ln() - 1.0) / 2.0;
        let z = -1.0 + word + char + hand;
        let want = 1.0 / (1.0 + (-z).exp());
        let got = clf.score(line.as_bytes(), &mut s);
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        // the same scratch, reused, gives the same answer; a fresh line starts from zero
        assert_eq!(clf.score(line.as_bytes(), &mut s), got);
        let (w, c) = clf.term_counts(line);
        assert_eq!(w, vec![(0, 2), (1, 1), (2, 1)]);
        assert_eq!(c, vec![(0, 2)]);
    }

    #[test]
    fn empty_line_and_invalid_utf8() {
        let clf = toy();
        let mut s = clf.scratch();
        // empty: both blocks zero, length ln1p(0) = 0
        let z: f64 = -1.0 + 0.25 * (0.0 - 1.0) / 2.0;
        let want = 1.0 / (1.0 + (-z).exp());
        assert!((clf.score(b"", &mut s) - want).abs() < 1e-15);
        assert_eq!(
            clf.score(b"disk \xff 42", &mut s),
            clf.score("disk \u{fffd} 42".as_bytes(), &mut s)
        );
        assert_eq!(clf.template_key("disk  4.2 at 7"), "disk <NUM> at <NUM>");
    }

    #[test]
    fn rejects_inconsistent_models() {
        let bad = br#"{"format": "lookskip-tfidf", "format_version": 3}"#;
        assert!(ModelSpec::from_json(bad)
            .unwrap_err()
            .to_string()
            .contains("format_version"));
        let old = br#"{"format": "lookskip-tfidf", "format_version": 1}"#;
        assert!(ModelSpec::from_json(old)
            .unwrap_err()
            .to_string()
            .contains("lookskip train && lookskip export"));
        assert!(ModelSpec::from_json(b"[1, 2").is_err());
    }
}
