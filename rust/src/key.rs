//! The template key: the form every line of one log template shares (`key.rules`).
//!
//! Python joins the ordered rules into `(?P<name>p1)|(?P<name>p2)|…` and replaces each
//! leftmost-first match by the placeholder of the group that matched (or keeps it,
//! for a rule whose placeholder is `null`), then squeezes every run of
//! `key.squeeze_chars` into one space. Here the rules are one multi-pattern regex
//! with the same leftmost-first priority: the match's pattern id is the rule (Python's
//! `lastgroup`), so no capture groups are needed. The squeeze runs in place over the
//! output, after the rules, as in Python.
//!
//! The shipped rules (`DEFAULT_RULES`, Python's `KEY_RULES`) also have a scanner of
//! their own: one pass over the bytes that hands a position to the regex (anchored
//! there) only where a rule other than `num` could match, and writes `<NUM>` itself
//! for the plain numbers that are most of the matches. Why: a log line holds ~10
//! matches, and each regex search cost ~75 ns (meta or dense DFA alike, measured on
//! the samples), so keying took ~750 ns of the ~950 ns that a cached line costs. The
//! scanner's skips are necessary conditions of the rules (see `needs_regex_*`), so it
//! gives the regex's answer; tests compare the two on generated lines.

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};

use crate::error::Result;
use crate::model::KeySpec;
use crate::rx;

/// The shipped rules, as Python's `lookskip.model.key.KEY_RULES` holds them: a model
/// whose `key.rules` equal these (and squeeze space and tab) is keyed by the scanner.
pub const DEFAULT_RULES: [(&str, Option<&str>, &str); 6] = [
    (
        "code",
        None,
        r#"(?i:\b(?:status|code|exit|exited|errno|rc|ret|return|returned|signal|sig|http)\b[ =:]*-?[0-9]{1,3}\b)|\" [1-5][0-9][0-9]\b"#,
    ),
    (
        "uuid",
        Some("<UUID>"),
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    ),
    (
        "ipv6",
        Some("<IP>"),
        r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}\b)?",
    ),
    (
        "ipv4",
        Some("<IP>"),
        r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?\b",
    ),
    (
        "hex",
        Some("<HEX>"),
        r"\b0[xX][0-9a-fA-F]+\b|\b[0-9]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\b[0-9]+[a-fA-F][0-9a-fA-F]*\b",
    ),
    ("num", Some("<NUM>"), r"[0-9]+(?:\.[0-9]+)*"),
];
/// The words of the `code` rule (it matches them in any case).
const CODE_WORDS: [&[u8]; 12] = [
    b"status",
    b"code",
    b"exit",
    b"exited",
    b"errno",
    b"rc",
    b"ret",
    b"return",
    b"returned",
    b"signal",
    b"sig",
    b"http",
];
const NUM: &[u8] = b"<NUM>";
const SPACE_TAB: [bool; 128] = {
    let mut t = [false; 128];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t
};

/// The key section of a model file that uses the shipped rules.
pub fn shipped_spec() -> KeySpec {
    KeySpec {
        rules: DEFAULT_RULES
            .iter()
            .map(|(n, ph, p)| (n.to_string(), ph.map(str::to_string), p.to_string()))
            .collect(),
        squeeze_chars: " \t".to_string(),
    }
}

pub struct TemplateKey {
    re: Regex,
    /// `None`: keep the match verbatim.
    placeholders: Vec<Option<Vec<u8>>>,
    squeeze: [bool; 128],
    /// The rules are `DEFAULT_RULES`: key with `scan_default`.
    default_rules: bool,
    /// The rules and squeeze characters as text (what a baseline's fingerprint names).
    described: String,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Could `ipv6` match at `i`? It needs 3+ colons in the run of hex digits and colons
/// from `i`, or a `::` in it.
fn ipv6_possible(line: &[u8], i: usize) -> bool {
    let mut colons = 0;
    let mut prev_colon = false;
    for &b in &line[i..] {
        if b == b':' {
            if prev_colon {
                return true;
            }
            colons += 1;
            prev_colon = true;
        } else if is_hex(b) {
            prev_colon = false;
        } else {
            break;
        }
    }
    colons >= 3
}

/// Length of the run of hex digits at `i`, and whether it holds a letter / a digit.
fn hex_run(line: &[u8], i: usize) -> (usize, bool, bool) {
    let (mut n, mut letter, mut digit) = (0, false, false);
    for &b in &line[i..] {
        if b.is_ascii_digit() {
            digit = true;
        } else if is_hex(b) {
            letter = true;
        } else {
            break;
        }
        n += 1;
    }
    (n, letter, digit)
}

/// Could `ipv4` match at `i`: 1-3 digits and three more `.`-groups of 1-3 digits?
fn ipv4_possible(line: &[u8], i: usize) -> bool {
    let mut at = i;
    for group in 0..4 {
        if group > 0 {
            if line.get(at) != Some(&b'.') {
                return false;
            }
            at += 1;
        }
        let digits = line[at.min(line.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return false;
        }
        at += digits.min(3);
    }
    true
}

/// At a digit after a non-word byte: could a rule before `num` (uuid, ipv6, ipv4, hex)
/// match here? (`code` cannot start with a digit.) If not, `num` matches.
fn needs_regex_digit(line: &[u8], i: usize) -> bool {
    if line[i] == b'0' && matches!(line.get(i + 1), Some(b'x' | b'X')) {
        return true;
    }
    let (n, letter, _) = hex_run(line, i);
    letter // hex branches 2 and 3, a uuid or ipv6 group with a letter
        || (n == 8 && line.get(i + 8) == Some(&b'-')) // uuid
        || (n <= 4 && line.get(i + n) == Some(&b':') && ipv6_possible(line, i))
        || ipv4_possible(line, i)
}

/// At a letter after a non-word byte: could `code`, `uuid`, `ipv6` or `hex` match here?
fn needs_regex_letter(line: &[u8], i: usize) -> bool {
    let first = line[i].to_ascii_lowercase();
    if matches!(first, b's' | b'c' | b'e' | b'r' | b'h') {
        let word_len = line[i..].iter().take_while(|&&b| is_word(b)).count();
        let word = &line[i..i + word_len];
        if (2..=8).contains(&word_len) && CODE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            return true;
        }
    }
    if !is_hex(first) {
        return false;
    }
    let (n, _, digit) = hex_run(line, i);
    digit // hex branch 2 (a letter, then a digit), or a group of uuid/ipv6
        || (n == 8 && line.get(i + 8) == Some(&b'-'))
        || (n <= 4 && line.get(i + n) == Some(&b':') && ipv6_possible(line, i))
}

/// At a `"`: could the HTTP-status branch of `code` match?
fn needs_regex_quote(line: &[u8], i: usize) -> bool {
    line.get(i + 1) == Some(&b' ') && matches!(line.get(i + 2), Some(b'1'..=b'5'))
}

/// End of `[0-9]+(?:\.[0-9]+)*` at `i` (greedy, as the regex takes it).
fn num_end(line: &[u8], i: usize) -> usize {
    let digits = |at: usize| line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut end = i + digits(i);
    while line.get(end) == Some(&b'.') {
        let more = digits(end + 1);
        if more == 0 {
            break;
        }
        end += 1 + more;
    }
    end
}

impl TemplateKey {
    pub fn new(spec: &KeySpec) -> Result<Self> {
        let patterns: Vec<&str> = spec.rules.iter().map(|(_, _, p)| p.as_str()).collect();
        let re = rx::compile_many("key.rules", &patterns)?;
        let placeholders = spec
            .rules
            .iter()
            .map(|(_, ph, _)| ph.as_ref().map(|p| p.as_bytes().to_vec()))
            .collect();
        let mut squeeze = [false; 128];
        for b in spec.squeeze_chars.bytes() {
            squeeze[usize::from(b & 0x7f)] = true;
        }
        let default_rules = spec.rules.len() == DEFAULT_RULES.len()
            && spec
                .rules
                .iter()
                .zip(DEFAULT_RULES)
                .all(|((_, ph, p), (_, dph, dp))| ph.as_deref() == dph && p == dp);
        let described =
            serde_json::to_string(&(&spec.rules, &spec.squeeze_chars)).expect("rules serialize");
        Ok(Self {
            re,
            placeholders,
            squeeze,
            default_rules,
            described,
        })
    }

    /// The shipped rules (`DEFAULT_RULES`, squeezing space and tab), built once.
    pub fn shipped() -> &'static TemplateKey {
        static KEYER: std::sync::OnceLock<TemplateKey> = std::sync::OnceLock::new();
        KEYER.get_or_init(|| TemplateKey::new(&shipped_spec()).expect("the shipped rules compile"))
    }

    /// The rules and squeeze characters, as JSON text.
    pub fn describe(&self) -> String {
        self.described.clone()
    }

    /// Whether the model's rules are the shipped ones, keyed by the scanner.
    pub fn fast_path(&self) -> bool {
        self.default_rules
    }

    /// As `key_into`, always through the regex (the scanner's reference in tests).
    pub fn key_into_regex(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let begin = out.len();
        self.rules_by_regex(cache, line, out);
        self.squeeze_from(out, begin);
    }

    pub fn create_cache(&self) -> Cache {
        self.re.create_cache()
    }

    /// Append the template key of `line` to `out` (which may hold other bytes before).
    pub fn key_into(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let begin = out.len();
        if self.default_rules {
            self.scan_default(cache, line, out);
        } else {
            self.rules_by_regex(cache, line, out);
        }
        self.squeeze_from(out, begin);
    }

    fn emit(&self, line: &[u8], m: &regex_automata::Match, out: &mut Vec<u8>) {
        match &self.placeholders[m.pattern().as_usize()] {
            Some(ph) => out.extend_from_slice(ph),
            None => out.extend_from_slice(&line[m.range()]),
        }
    }

    /// The shipped rules in one pass; the regex (anchored) only where it may be needed.
    fn scan_default(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let n = line.len();
        let mut copied = 0;
        let mut i = 0;
        while i < n {
            let b = line[i];
            let after_word = i > 0 && is_word(line[i - 1]);
            let ask_regex = if b.is_ascii_digit() {
                if after_word || !needs_regex_digit(line, i) {
                    // only `num` can match here
                    let end = num_end(line, i);
                    out.extend_from_slice(&line[copied..i]);
                    out.extend_from_slice(NUM);
                    copied = end;
                    i = end;
                    continue;
                }
                true
            } else if b.is_ascii_alphabetic() || b == b'_' {
                if after_word || b == b'_' || !needs_regex_letter(line, i) {
                    // no rule starts inside a run of letters: skip to its end (a digit
                    // may start `num` mid-word, so digits end the run)
                    i += 1;
                    while i < n && (line[i].is_ascii_alphabetic() || line[i] == b'_') {
                        i += 1;
                    }
                    continue;
                }
                true
            } else if b == b'"' {
                needs_regex_quote(line, i)
            } else {
                false
            };
            if ask_regex {
                let input = Input::new(line).range(i..).anchored(Anchored::Yes);
                if let Some(m) = self.re.search_with(cache, &input) {
                    if !m.is_empty() {
                        out.extend_from_slice(&line[copied..i]);
                        self.emit(line, &m, out);
                        copied = m.end();
                        i = m.end();
                        continue;
                    }
                }
            }
            i += 1;
        }
        out.extend_from_slice(&line[copied..]);
    }

    /// Any rules: one leftmost-first search after another.
    fn rules_by_regex(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let mut copied = 0;
        let mut at = 0;
        while at <= line.len() {
            let Some(m) = self.re.search_with(cache, &Input::new(line).range(at..)) else {
                break;
            };
            out.extend_from_slice(&line[copied..m.start()]);
            self.emit(line, &m, out);
            copied = m.end();
            at = if m.is_empty() { m.end() + 1 } else { m.end() };
        }
        if copied < line.len() {
            out.extend_from_slice(&line[copied..]);
        }
    }

    /// Squeeze runs of the squeeze characters in `out[begin..]` into one space, in place.
    fn squeeze_from(&self, out: &mut Vec<u8>, begin: usize) {
        // Most keys have single spaces only: find that out with SIMD searches first.
        if self.squeeze == SPACE_TAB {
            let tail = &out[begin..];
            if memchr::memchr(b'\t', tail).is_none() && memchr::memmem::find(tail, b"  ").is_none()
            {
                return;
            }
        }
        let mut w = begin;
        let mut in_run = false;
        for r in begin..out.len() {
            let b = out[r];
            if b < 128 && self.squeeze[usize::from(b)] {
                if !in_run {
                    out[w] = b' ';
                    w += 1;
                    in_run = true;
                }
            } else {
                out[w] = b;
                w += 1;
                in_run = false;
            }
        }
        out.truncate(w);
    }

    /// The key as a new string (for parity checks; scoring uses `key_into`).
    pub fn key(&self, line: &str) -> String {
        let mut cache = self.create_cache();
        let mut out = Vec::with_capacity(line.len());
        self.key_into(&mut cache, line.as_bytes(), &mut out);
        // Placeholders and untouched spans are whole UTF-8 sequences: matches are ASCII.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_spec() -> KeySpec {
        shipped_spec()
    }

    /// A tiny seeded generator (no dev-dependency): xorshift.
    fn lines(seed: u64, n: usize) -> Vec<Vec<u8>> {
        let alphabet: &[u8] = b"0123456789abcdefABCDEFxX:.-_ \t\"=/gzsSrRhHtT,;[]()";
        let words: [&[u8]; 14] = [
            b"status",
            b"Code",
            b"exit",
            b"ERRNO",
            b"rc",
            b"http",
            b"sig",
            b"1.2.3.4",
            b"fe80::1",
            b"0x1F",
            b"deadbeef-dead-beef-dead-beefdeadbeef",
            b"e1000",
            b"\" 404",
            b"18:01:47,978",
        ];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let len = (next() % 40) as usize;
                let mut l = Vec::new();
                for _ in 0..len {
                    if next() % 4 == 0 {
                        l.extend_from_slice(words[(next() % 14) as usize]);
                    } else {
                        l.push(alphabet[(next() % alphabet.len() as u64) as usize]);
                    }
                }
                l
            })
            .collect()
    }

    #[test]
    fn scanner_equals_the_regex() {
        let k = TemplateKey::new(&default_spec()).unwrap();
        assert!(k.fast_path());
        let mut c = k.create_cache();
        for (i, line) in lines(7, 200_000).into_iter().enumerate() {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            k.key_into(&mut c, &line, &mut a);
            k.key_into_regex(&mut c, &line, &mut b);
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "line {i}: {:?}",
                String::from_utf8_lossy(&line)
            );
        }
    }

    #[test]
    fn other_rules_use_the_regex() {
        let mut spec = default_spec();
        spec.rules.pop();
        assert!(!TemplateKey::new(&spec).unwrap().fast_path());
    }

    #[test]
    fn docstring_examples() {
        let k = TemplateKey::new(&default_spec()).unwrap();
        assert_eq!(
            k.key("blk_-6952295868487656571 from 10.250.19.102:54106  took 0.5s"),
            "blk_-<NUM> from <IP> took <NUM>s"
        );
        assert_eq!(
            k.key("\"GET /a HTTP/1.1\" 404 512 exit code 3"),
            "\"GET /a HTTP/<NUM>\" 404 <NUM> exit code 3"
        );
    }

    #[test]
    fn rules_in_order_squeeze_and_unicode_untouched() {
        let k = TemplateKey::new(&default_spec()).unwrap();
        assert_eq!(
            k.key("id 123e4567-e89b-12d3-a456-426614174000 at 0x7fff \t é 12 fe80::1"),
            "id <UUID> at <HEX> é <NUM> <IP>"
        );
        assert_eq!(k.key(""), "");
        assert_eq!(k.key("\t  lead"), " lead");
        assert_eq!(k.key("status=500 status  2000"), "status=500 status <NUM>");
        // a key is its own key
        let once = k.key("a  1.2.3.4 b\t\tc 0xff status: 404");
        assert_eq!(k.key(&once), once);
    }
}
