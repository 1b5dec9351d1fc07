//! The exported model document (`docs/model-format.md`): loading and validation.
//!
//! The file is the only thing the Rust side knows about the model: every pattern,
//! n-gram range, vocabulary, idf and coefficient comes from it, so a retrained or
//! re-tuned model needs no rebuild. Validation happens once here, so the scoring
//! code can index without checks failing later.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use crate::error::{Error, Result};

pub const FORMAT: &str = "lookskip-tfidf";
pub const FORMAT_VERSION: u32 = 2;
/// Why version 1 is refused (Python's `lookskip.model.export.OLD_FORMAT_HELP` says the same).
pub const OLD_FORMAT_HELP: &str = "format_version 1 (scores raw lines, before template keys) is no longer read: retrain and export (`lookskip train && lookskip export`) or use the shipped model";

/// One TF-IDF block (`word` or `char`) as exported.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockSpec {
    pub ngram_range: (usize, usize),
    #[serde(default)]
    pub token_pattern: Option<String>,
    #[serde(default = "ascii")]
    pub lowercase: String,
    pub vocabulary: Vec<String>,
    pub idf: Vec<f64>,
    pub sublinear_tf: bool,
    pub norm: Option<String>,
}

fn ascii() -> String {
    "ascii".to_string()
}

/// `handcrafted.patterns` is a JSON object `{name: pattern}`; a list of pairs is accepted too.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Patterns {
    Map(BTreeMap<String, String>),
    Pairs(Vec<(String, String)>),
}

impl Patterns {
    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            Patterns::Map(m) => m.get(name).map(String::as_str),
            Patterns::Pairs(v) => v.iter().find(|(k, _)| k == name).map(|(_, p)| p.as_str()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct HandSpec {
    pub names: Vec<String>,
    pub patterns: Patterns,
    pub struct_punct_chars: String,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// One template-key rule: `[name, placeholder, pattern]`; a `null` placeholder keeps the match.
pub type KeyRule = (String, Option<String>, String);

#[derive(Debug, Clone, Deserialize)]
pub struct KeySpec {
    /// Ordered rules, applied as one leftmost-first alternation.
    pub rules: Vec<KeyRule>,
    /// Characters whose runs become one space after the rules (ASCII).
    pub squeeze_chars: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CoefSpec {
    pub word: Vec<f64>,
    pub char: Vec<f64>,
    pub handcrafted: Vec<f64>,
}

/// The whole document. Unknown fields (e.g. `trained`) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    pub format: String,
    pub format_version: u32,
    #[serde(default = "look")]
    pub positive_label: String,
    pub threshold: f64,
    /// A key matching this is LOOK whatever its score (`p_look` raised to the threshold).
    #[serde(default)]
    pub look_floor: Option<String>,
    pub key: KeySpec,
    pub word: BlockSpec,
    pub char: BlockSpec,
    pub handcrafted: HandSpec,
    pub coef: CoefSpec,
    pub intercept: f64,
    /// How continuation lines join events (`events.rs`); absent in older format-2
    /// files, which get `events::DEFAULT_EVENT_RULE`.
    #[serde(default)]
    pub events: Option<crate::events::EventSpec>,
    /// Claude's answers about templates (`answers.rs`): applied before the score.
    #[serde(default)]
    pub answers: Vec<crate::answers::AnswerSpec>,
}

fn look() -> String {
    "LOOK".to_string()
}

impl ModelSpec {
    /// Read a model file, gzip-compressed (detected by its magic bytes) or plain JSON.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let mut raw = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut raw))
            .map_err(|e| Error::Io(format!("{shown}: {e}")))?;
        let json = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(raw.len() * 4);
            MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| Error::Model(format!("{shown}: corrupt gzip model file ({e})")))?;
            out
        } else {
            raw
        };
        Self::from_json(&json).map_err(|e| match e {
            Error::Model(m) => Error::Model(format!("{shown}: {m}")),
            other => other,
        })
    }

    pub fn from_json(json: &[u8]) -> Result<Self> {
        // Check the format tag first, so a foreign JSON file gets a clear message
        // rather than a complaint about its first missing field.
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            format_version: Option<u32>,
        }
        let head: Head = serde_json::from_slice(json)
            .map_err(|e| Error::Model(format!("not a JSON model file ({e})")))?;
        if head.format.as_deref() != Some(FORMAT) {
            return Err(Error::Model(format!("not a {FORMAT} model file")));
        }
        if head.format_version == Some(1) {
            return Err(Error::Model(OLD_FORMAT_HELP.to_string()));
        }
        if head.format_version != Some(FORMAT_VERSION) {
            return Err(Error::Model(format!(
                "format_version {:?} is not supported (this version reads {FORMAT_VERSION})",
                head.format_version
            )));
        }
        let spec: ModelSpec = serde_json::from_slice(json)
            .map_err(|e| Error::Model(format!("malformed model file ({e})")))?;
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Model(m));
        for (name, block, coef) in [
            ("word", &self.word, &self.coef.word),
            ("char", &self.char, &self.coef.char),
        ] {
            let n = block.vocabulary.len();
            if block.idf.len() != n || coef.len() != n {
                return bad(format!(
                    "{name} block: vocabulary ({n}), idf ({}) and coef ({}) sizes differ",
                    block.idf.len(),
                    coef.len()
                ));
            }
            let (lo, hi) = block.ngram_range;
            if lo == 0 || lo > hi {
                return bad(format!("{name} block: bad ngram_range ({lo}, {hi})"));
            }
            if block.lowercase != "ascii" {
                return bad(format!(
                    "{name} block: lowercase {:?} is not supported",
                    block.lowercase
                ));
            }
            match block.norm.as_deref() {
                None | Some("l2") => {}
                Some(other) => {
                    return bad(format!("{name} block: norm {other:?} is not supported"))
                }
            }
            if block.idf.iter().chain(coef.iter()).any(|v| !v.is_finite()) {
                return bad(format!("{name} block: non-finite idf or coef"));
            }
        }
        if self.word.token_pattern.is_none() {
            return bad("word block: token_pattern missing".into());
        }
        let h = &self.handcrafted;
        let n = h.names.len();
        if h.mean.len() != n || h.scale.len() != n || self.coef.handcrafted.len() != n {
            return bad(format!(
                "handcrafted: names ({n}), mean ({}), scale ({}) and coef ({}) sizes differ",
                h.mean.len(),
                h.scale.len(),
                self.coef.handcrafted.len()
            ));
        }
        if h.scale.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return bad("handcrafted: scale must be finite and non-zero".into());
        }
        if !self.intercept.is_finite() || !self.threshold.is_finite() {
            return bad("intercept and threshold must be finite".into());
        }
        if self.key.rules.is_empty() {
            return bad("key.rules is empty".into());
        }
        if !self.key.squeeze_chars.is_ascii() {
            return bad("key.squeeze_chars must be ASCII".into());
        }
        Ok(())
    }
}
