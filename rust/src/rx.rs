//! Compiling the model's regexes in the dialect shared with Python.
//!
//! The contract: Python `re` with `re.ASCII` reads a pattern exactly as Rust's
//! regex engine with Unicode mode off (`(?-u)`, byte-oriented): `\b`, `\s`, `(?i)`
//! are ASCII-only in both, and both return leftmost-first matches. A few escapes
//! mean different things in the two engines; patterns using them are refused at
//! load time instead of silently scoring differently.

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use crate::error::{Error, Result};

/// Escapes that are literals in Python `re` but assertions (or errors) in Rust, or
/// the reverse. `\<`/`\>`: word-start/end in Rust, literal `<`/`>` in Python;
/// `\A`/`\Z`/`\z`: differ in newline handling or existence.
const INCOMPATIBLE_ESCAPES: &[&str] = &["\\<", "\\>", "\\Z", "\\z", "\\A"];

fn check_dialect(what: &str, pattern: &str) -> Result<()> {
    // Walk escapes pairwise so `\\<` (an escaped backslash, then `<`) is not flagged.
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let esc = &pattern[i..i + 2];
            if INCOMPATIBLE_ESCAPES.contains(&esc) {
                return Err(Error::Model(format!(
                    "{what}: escape {esc} reads differently in Python re and Rust regex"
                )));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    // `$` outside a class matches before a final "\n" in Python, only at the end in Rust.
    let mut in_class = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'$' if !in_class => {
                return Err(Error::Model(format!(
                    "{what}: `$` reads differently in Python re and Rust regex"
                )))
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Compile one or more patterns (several = one leftmost-first alternation whose
/// match says which pattern matched, like Python's `(?P<name>…)|…` with `lastgroup`).
pub fn compile_many(what: &str, patterns: &[&str]) -> Result<Regex> {
    for p in patterns {
        check_dialect(what, p)?;
    }
    meta::Builder::new()
        .configure(meta::Config::new().utf8_empty(false))
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build_many(patterns)
        .map_err(|e| Error::Model(format!("{what}: invalid pattern ({e})")))
}

pub fn compile(what: &str, pattern: &str) -> Result<Regex> {
    compile_many(what, &[pattern])
}

/// Number of non-overlapping matches, as Python's `len(re.findall(...))`.
pub fn count(re: &Regex, cache: &mut meta::Cache, hay: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while at <= hay.len() {
        match re.search_with(cache, &Input::new(hay).range(at..)) {
            Some(m) => {
                n += 1;
                // An empty match advances by one position (Python does the same).
                at = if m.is_empty() { m.end() + 1 } else { m.end() };
            }
            None => break,
        }
    }
    n
}

pub fn is_match(re: &Regex, cache: &mut meta::Cache, hay: &[u8]) -> bool {
    re.search_half_with(cache, &Input::new(hay).earliest(true))
        .is_some()
}

/// End of the match anchored at the start (`re.match(...).end()`), if any.
pub fn match_end(re: &Regex, cache: &mut meta::Cache, hay: &[u8]) -> Option<usize> {
    re.search_with(cache, &Input::new(hay).anchored(Anchored::Yes))
        .map(|m| m.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_classes_and_case() {
        let re = compile("t", r"(?i)error|fail").unwrap();
        let mut c = re.create_cache();
        assert_eq!(count(&re, &mut c, b"ERROR x Fail failed"), 3);
        // (?i) is ASCII-only: the Kelvin sign is not a `k`.
        let k = compile("t", r"(?i)k").unwrap();
        let mut c = k.create_cache();
        assert_eq!(count(&k, &mut c, "K\u{212a}k".as_bytes()), 2);
        let s = compile("t", r"\S+").unwrap();
        let mut c = s.create_cache();
        assert_eq!(count(&s, &mut c, "a\u{a0}b c\x1cd\u{85}".as_bytes()), 2);
    }

    #[test]
    fn escaped_quote_is_a_literal() {
        let re = compile("t", r#"^\s*File \"[^\"]*\", line [0-9]+"#).unwrap();
        let mut c = re.create_cache();
        assert!(is_match(&re, &mut c, br#"  File "x.py", line 3"#));
    }

    #[test]
    fn refuses_incompatible_escapes() {
        assert!(compile("t", r"\<a").is_err());
        assert!(compile("t", r"a$").is_err());
        assert!(compile("t", r"[$]\\<").is_ok());
    }

    #[test]
    fn leftmost_first_alternation_reports_pattern() {
        let re = compile_many("t", &["ab", "abc", "[a-z]+"]).unwrap();
        let m = re.find(b"xx abc").unwrap();
        assert_eq!((m.pattern().as_usize(), m.start(), m.end()), (2, 0, 2));
        let m = re.find(b"-- abc").unwrap();
        assert_eq!((m.pattern().as_usize(), m.start(), m.end()), (0, 3, 5));
    }
}
