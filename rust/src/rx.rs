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
use regex_syntax::hir::{Hir, HirKind, Look};

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
            // Bytes, not `&pattern[i..i + 2]`: the escaped character may be non-ASCII,
            // and a str slice inside it panics (a model file must never panic).
            let esc = &bytes[i..i + 2];
            if INCOMPATIBLE_ESCAPES.iter().any(|e| e.as_bytes() == esc) {
                let esc = String::from_utf8_lossy(esc);
                return Err(Error::Model(format!(
                    "{what}: escape {esc} reads differently in Python re and Rust regex"
                )));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    if !pattern.is_ascii() {
        return Err(Error::Model(format!(
            "{what}: patterns are ASCII-only (the dialect shared with Python re)"
        )));
    }
    // `$` outside a class matches before a final "\n" in Python, only at the end in Rust;
    // in multi-line mode both read it alike (at the end and before every "\n"), so a
    // pattern that opens with a flag group holding `m` (`(?m)`, `(?im)`) may use it.
    if multi_line(pattern) {
        return Ok(());
    }
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

/// Whether the pattern opens with a bare flag group that turns multi-line mode on.
fn multi_line(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            flags.contains('m') && flags.bytes().all(|b| b.is_ascii_alphabetic())
        })
}

/// The engine settings of the shared dialect: byte-oriented, Unicode off, and empty
/// matches allowed inside a UTF-8 sequence (Python steps by code point, but every
/// pattern here is ASCII-only, so no match can start inside one).
fn builder() -> meta::Builder {
    let mut b = meta::Builder::new();
    b.configure(meta::Config::new().utf8_empty(false))
        .syntax(syntax::Config::new().unicode(false).utf8(false));
    b
}

/// Compile one or more patterns (several = one leftmost-first alternation whose
/// match says which pattern matched, like Python's `(?P<name>…)|…` with `lastgroup`).
pub fn compile_many(what: &str, patterns: &[&str]) -> Result<Regex> {
    for p in patterns {
        check_dialect(what, p)?;
    }
    builder()
        .build_many(patterns)
        .map_err(|e| {
            let why = match e.syntax_error() {
                Some(syntax) => one_line(syntax),
                None => one_line(&e),
            };
            Error::Model(format!("{what}: invalid pattern ({why})"))
        })
}

/// A regex error on one line: regex-syntax draws the pattern and a caret over several
/// lines, ending with `error: <what is wrong>`, which is the part kept.
fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
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

/// How a handcrafted pattern is used: its count, or only whether it matches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Count,
    Match,
}

/// A handcrafted pattern compiled the fastest exact way for its use. Two rewrites,
/// each applied only where it provably gives the same answers:
/// * `(?i)body` whose body has no ASCII capital, no `\x` escape and no inline flag
///   group runs as `body` on the ASCII-lowercased line (`lowered`): same matches, same
///   offsets, but literal prefilters work again (a case-insensitive alternation of
///   40 words has thousands of case variants, too many for a prefilter);
/// * for `Use::Match`, a top-level alternation with some branches anchored at `^` is
///   split in two regexes: the anchored branches otherwise make every position a
///   possible start and switch the prefilter off (STACK: 220 → 40 ns a line).
pub struct Pattern {
    main: Regex,
    anchored: Option<Regex>,
    lowered: bool,
}

pub struct PatternCache {
    main: meta::Cache,
    anchored: Option<meta::Cache>,
}

impl Pattern {
    pub fn new(what: &str, pattern: &str, usage: Use) -> Result<Self> {
        check_dialect(what, pattern)?;
        let (body, lowered) = match caseless_body(pattern) {
            Some(body) => (body, true),
            None => (pattern, false),
        };
        let invalid = |e: &dyn std::fmt::Display| {
            Error::Model(format!("{what}: invalid pattern ({})", one_line(e)))
        };
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(body)
            .map_err(|e| invalid(&e))?;
        let build = |h: &Hir| builder().build_from_hir(h).map_err(|e| invalid(&e));
        if usage == Use::Match {
            if let HirKind::Alternation(branches) = hir.kind() {
                let (anchored, free): (Vec<Hir>, Vec<Hir>) =
                    branches.iter().cloned().partition(starts_anchored);
                if !anchored.is_empty() && !free.is_empty() {
                    return Ok(Self {
                        main: build(&Hir::alternation(free))?,
                        anchored: Some(build(&Hir::alternation(anchored))?),
                        lowered,
                    });
                }
            }
        }
        Ok(Self {
            main: build(&hir)?,
            anchored: None,
            lowered,
        })
    }

    pub fn create_cache(&self) -> PatternCache {
        PatternCache {
            main: self.main.create_cache(),
            anchored: self.anchored.as_ref().map(Regex::create_cache),
        }
    }

    fn hay<'a>(&self, line: &'a [u8], lowered: &'a [u8]) -> &'a [u8] {
        if self.lowered {
            lowered
        } else {
            line
        }
    }

    /// Non-overlapping matches in the line (`lowered` = the line, ASCII-lowercased).
    pub fn count(&self, cache: &mut PatternCache, line: &[u8], lowered: &[u8]) -> usize {
        debug_assert!(self.anchored.is_none(), "a split pattern cannot count");
        count(&self.main, &mut cache.main, self.hay(line, lowered))
    }

    pub fn is_match(&self, cache: &mut PatternCache, line: &[u8], lowered: &[u8]) -> bool {
        let hay = self.hay(line, lowered);
        is_match(&self.main, &mut cache.main, hay)
            || match (&self.anchored, &mut cache.anchored) {
                (Some(re), Some(c)) => is_match(re, c, hay),
                _ => false,
            }
    }

    /// Spans of the non-overlapping matches, appended to `out` (as `re.finditer`).
    pub fn spans(
        &self,
        cache: &mut PatternCache,
        line: &[u8],
        lowered: &[u8],
        out: &mut Vec<(usize, usize)>,
    ) {
        let hay = self.hay(line, lowered);
        let mut at = 0;
        while at <= hay.len() {
            let Some(m) = self
                .main
                .search_with(&mut cache.main, &Input::new(hay).range(at..))
            else {
                break;
            };
            out.push((m.start(), m.end()));
            at = if m.is_empty() { m.end() + 1 } else { m.end() };
        }
    }

    /// End of the match anchored at the start (`re.match(...).end()`), if any.
    pub fn match_end(
        &self,
        cache: &mut PatternCache,
        line: &[u8],
        lowered: &[u8],
    ) -> Option<usize> {
        match_end(&self.main, &mut cache.main, self.hay(line, lowered))
    }
}

/// The body of a `(?i)` pattern that matches the same on an ASCII-lowercased line
/// without the flag (see `Pattern`); None where that is not certain.
fn caseless_body(pattern: &str) -> Option<&str> {
    let body = pattern.strip_prefix("(?i)")?;
    let plain = !body.bytes().any(|b| b.is_ascii_uppercase())
        && !body.contains("\\x")
        && body
            .match_indices("(?")
            .all(|(i, _)| body[i..].starts_with("(?:"));
    plain.then_some(body)
}

fn starts_anchored(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Look(Look::Start) => true,
        HirKind::Concat(parts) => parts.first().is_some_and(starts_anchored),
        HirKind::Capture(c) => starts_anchored(&c.sub),
        _ => false,
    }
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
    fn an_escaped_non_ascii_character_is_an_error_not_a_panic() {
        for p in ["\\é", "a\\é", "\\\u{1F600}x", "[\\é]"] {
            assert!(compile("t", p).is_err(), "{p}");
            assert!(Pattern::new("t", p, Use::Count).is_err(), "{p}");
        }
        for e in [compile("t", "(").err(), Pattern::new("t", "a(", Use::Count).err()] {
            let e = e.unwrap().to_string();
            assert_eq!(e, "t: invalid pattern (unclosed group)");
        }
    }

    #[test]
    fn dollar_only_in_multi_line_mode() {
        assert!(compile("t", r"error$").is_err());
        for p in [r"(?m)error$", r"(?im)error$"] {
            let re = compile("t", p).unwrap();
            let mut c = re.create_cache();
            // As Python's re.M: at the end and before every "\n".
            assert!(is_match(&re, &mut c, b"an error"));
            assert!(is_match(&re, &mut c, b"an error\nnext"));
            assert!(!is_match(&re, &mut c, b"an errors"));
        }
        assert!(compile("t", r"(?m:x)error$").is_err());
    }

    #[test]
    fn refuses_incompatible_escapes() {
        assert!(compile("t", r"\<a").is_err());
        assert!(compile("t", r"a$").is_err());
        assert!(compile("t", r"[$]\\<").is_ok());
    }

    #[test]
    fn rewritten_patterns_answer_like_the_plain_ones() {
        let lines = [
            "  at org.Foo.bar(Foo.java:12)",
            "Caused by: x",
            "ERROR Cannot open file; TIMED OUT",
            "at x(",
            "no match here",
            "Traceback (most recent call last):",
            "\tat a.b(c)",
            "",
        ];
        let cases = [
            (r"(?i)error|fatal|warn", Use::Match),
            (r"(?i)\b(?:cannot|timed out|can't)\b", Use::Count),
            (
                r"Caused by:|^\s*at [A-Za-z_$][A-Za-z0-9_$.<>]*\(|Traceback",
                Use::Match,
            ),
            (r"(?i)[A-Z]+rror", Use::Count), // capitals in the body: not rewritten
            (r"(?i)a(?-i)t", Use::Count),    // inline flags: not rewritten
        ];
        for (pattern, usage) in cases {
            let plain = compile("t", pattern).unwrap();
            let mut pc = plain.create_cache();
            let fast = Pattern::new("t", pattern, usage).unwrap();
            let mut fc = fast.create_cache();
            for line in lines {
                let lowered = line.to_ascii_lowercase();
                let (l, lo) = (line.as_bytes(), lowered.as_bytes());
                assert_eq!(fast.is_match(&mut fc, l, lo), is_match(&plain, &mut pc, l));
                if usage == Use::Count {
                    assert_eq!(fast.count(&mut fc, l, lo), count(&plain, &mut pc, l));
                }
            }
        }
        assert!(caseless_body(r"(?i)[A-Z]").is_none());
        assert!(caseless_body(r"(?i)\x41").is_none());
        assert_eq!(caseless_body(r"(?i)(?:a|b)"), Some("(?:a|b)"));
        let split = Pattern::new("t", cases[2].0, Use::Match).unwrap();
        assert!(split.anchored.is_some());
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
