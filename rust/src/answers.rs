//! Claude's answers about templates, carried in the model file (`answers`), applied
//! before the model's own score.
//!
//! An answer labels a *template*: a template key's tokens (split on spaces) where a
//! token `<*>` stands for any one token. A key with the same number of tokens and the
//! same token at every other position matches it; a template without `<*>` matches
//! its exact key. The most specific match wins (most literal tokens, then the earlier
//! answer). The twin of Python's `lookskip.model.answers`; the parity tests hold the
//! two equal.
//!
//! Matching runs once per distinct key (the key cache keeps the result), so a few
//! thousand answers cost nothing per line.

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The wildcard token of a template.
pub const WILDCARD: &[u8] = b"<*>";

/// One answer as the model file has it.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerSpec {
    pub template: String,
    pub label: String,
    #[serde(default)]
    pub reason: String,
}

/// One answer, compiled.
#[derive(Debug, Clone)]
pub struct Answer {
    pub look: bool,
    pub reason: String,
}

/// A template's tokens: `Some(token)` must match, `None` is the wildcard.
type Pattern = Vec<Option<Vec<u8>>>;

#[derive(Debug, Default)]
pub struct Answers {
    list: Vec<Answer>,
    /// Templates without a wildcard: normalized key → answer index.
    exact: FxHashMap<Vec<u8>, usize>,
    /// Templates with one: by token count, most literal tokens first.
    patterns: FxHashMap<usize, Vec<(Pattern, usize)>>,
}

fn tokens(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    key.split(|&b| b == b' ').filter(|t| !t.is_empty())
}

impl Answers {
    pub fn new(specs: &[AnswerSpec], positive_label: &str) -> Result<Self> {
        let mut out = Answers::default();
        for (i, spec) in specs.iter().enumerate() {
            let look = if spec.label == positive_label {
                true
            } else if spec.label == "SKIP" {
                false
            } else {
                return Err(Error::Model(format!(
                    "answers[{i}]: label {:?} is neither {positive_label} nor SKIP",
                    spec.label
                )));
            };
            let toks: Vec<&[u8]> = tokens(spec.template.as_bytes()).collect();
            if toks.is_empty() {
                return Err(Error::Model(format!("answers[{i}]: empty template")));
            }
            out.list.push(Answer {
                look,
                reason: spec.reason.clone(),
            });
            if toks.contains(&WILDCARD) {
                let pattern = toks
                    .iter()
                    .map(|t| (*t != WILDCARD).then(|| t.to_vec()))
                    .collect();
                out.patterns
                    .entry(toks.len())
                    .or_default()
                    .push((pattern, i));
            } else {
                out.exact.entry(toks.join(&b' ')).or_insert(i);
            }
        }
        for list in out.patterns.values_mut() {
            // stable: equal specificity keeps file order
            list.sort_by_key(|(p, _)| std::cmp::Reverse(p.iter().filter(|t| t.is_some()).count()));
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The answer that applies to template key `key`, if any.
    pub fn find(&self, key: &[u8]) -> Option<&Answer> {
        if self.list.is_empty() {
            return None;
        }
        let toks: Vec<&[u8]> = tokens(key).collect();
        if let Some(&i) = self.exact.get(&toks.join(&b' ')) {
            return Some(&self.list[i]);
        }
        let candidates = self.patterns.get(&toks.len())?;
        candidates
            .iter()
            .find(|(pattern, _)| {
                pattern
                    .iter()
                    .zip(&toks)
                    .all(|(p, t)| p.as_deref().is_none_or(|p| p == *t))
            })
            .map(|(_, i)| &self.list[*i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(template: &str, label: &str) -> AnswerSpec {
        AnswerSpec {
            template: template.into(),
            label: label.into(),
            reason: format!("r {template}"),
        }
    }

    #[test]
    fn exact_and_wildcard_most_specific_first() {
        let a = Answers::new(
            &[
                spec("status <*> <*> <*>", "SKIP"),
                spec("status installed <*> <*>", "LOOK"),
                spec("dpkg: error processing", "LOOK"),
            ],
            "LOOK",
        )
        .unwrap();
        assert!(a.find(b"status installed libc6 <NUM>").unwrap().look);
        assert!(!a.find(b"status unpacked libc6 <NUM>").unwrap().look);
        assert!(a.find(b" dpkg:  error processing").unwrap().look);
        assert!(a.find(b"status installed libc6").is_none());
        assert!(a.find(b"something else").is_none());
    }

    #[test]
    fn bad_label_and_empty_template_are_errors() {
        assert!(Answers::new(&[spec("a", "MAYBE")], "LOOK").is_err());
        assert!(Answers::new(&[spec("  ", "LOOK")], "LOOK").is_err());
    }
}
