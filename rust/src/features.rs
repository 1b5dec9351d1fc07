//! The handcrafted features (`lookskip/model/features.py`), from the exported patterns.
//!
//! A feature is known by its name; the model file says which names, in which column
//! order, and carries every regex. Counting semantics follow Python: `n_chars` and
//! `length` count code points, regex counts are non-overlapping `finditer` counts.

use crate::error::{Error, Result};
use crate::model::HandSpec;
use crate::rx::{Pattern, PatternCache, Use};

/// Every feature this implementation knows, in `features.FEATURE_NAMES` order.
pub const FEATURE_NAMES: [&str; 17] = [
    "has_level",
    "has_stack",
    "has_negative",
    "n_negative",
    "has_path",
    "n_hex",
    "has_repeated_punct",
    "n_kv",
    "uppercase_ratio",
    "digit_ratio",
    "struct_punct",
    "word_count",
    "n_allcaps",
    "unique_ratio",
    "leading_ws",
    "n_emphasis",
    "length",
];

/// The regexes, by their key in `handcrafted.patterns`.
const PATTERN_KEYS: [&str; 11] = [
    "LEVEL",
    "STACK",
    "NEGATIVE",
    "PATH",
    "HEX",
    "REPEATED_PUNCT",
    "KV",
    "ALLCAPS",
    "EMPHASIS",
    "TOKEN",
    "LEADING_WS",
];
const LEVEL: usize = 0;
const STACK: usize = 1;
const NEGATIVE: usize = 2;
const PATH: usize = 3;
const HEX: usize = 4;
const REPEATED_PUNCT: usize = 5;
const KV: usize = 6;
const ALLCAPS: usize = 7;
const EMPHASIS: usize = 8;
const TOKEN: usize = 9;
const LEADING_WS: usize = 10;

/// Which regexes each feature needs.
fn needs(feature: &str) -> &'static [usize] {
    match feature {
        "has_level" => &[LEVEL],
        "has_stack" => &[STACK],
        "has_negative" | "n_negative" => &[NEGATIVE],
        "has_path" => &[PATH],
        "n_hex" => &[HEX],
        "has_repeated_punct" => &[REPEATED_PUNCT],
        "n_kv" => &[KV],
        "n_allcaps" => &[ALLCAPS],
        "n_emphasis" => &[EMPHASIS],
        "word_count" | "unique_ratio" => &[TOKEN],
        "leading_ws" => &[LEADING_WS],
        _ => &[],
    }
}

/// How each pattern is used (features that only ask whether it matches, or count).
fn usage(key: usize) -> Use {
    match key {
        LEVEL | STACK | PATH | REPEATED_PUNCT => Use::Match,
        _ => Use::Count,
    }
}

/// These patterns, as shipped, get byte scanners (equal by construction, and tested
/// against the regex); any other pattern under those keys runs through the regex
/// engine. `\b[A-Z]{2,}\b` and the hex pattern match only whole ASCII word runs, so
/// one pass over the word runs counts both.
const DEFAULT_TOKEN: &str = r"\S+";
const DEFAULT_LEADING_WS: &str = r"^[ \t]*";
const DEFAULT_ALLCAPS: &str = r"\b[A-Z]{2,}\b";
const DEFAULT_HEX: &str = r"\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b";

pub struct Features {
    /// Column order of the model: index into `FEATURE_NAMES` per column.
    order: Vec<usize>,
    patterns: Vec<Option<Pattern>>,
    fast_token: bool,
    fast_leading: bool,
    fast_allcaps: bool,
    fast_hex: bool,
    struct_ascii: [bool; 128],
    struct_other: Vec<char>,
}

/// Per-thread state: one regex cache per pattern and a token span buffer.
pub struct FeatureScratch {
    caches: Vec<Option<PatternCache>>,
    spans: Vec<(usize, usize)>,
}

#[inline]
fn is_space(b: u8) -> bool {
    // Python `\s` under re.ASCII and Rust `(?-u)\s`: [\t\n\v\f\r ].
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// What the shipped ALLCAPS and HEX patterns count, from one pass over the maximal
/// ASCII word runs (`[A-Za-z0-9_]+`). Both patterns start and end with `\b`, so a
/// match is always a whole run: `\b[A-Z]{2,}\b` a run of 2+ capitals,
/// `\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b` a `0x` number or 8+ hex digits.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
struct WordRuns {
    allcaps: usize,
    hex: usize,
}

impl WordRuns {
    fn of(line: &[u8]) -> Self {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut out = Self::default();
        let mut i = 0;
        let n = line.len();
        while i < n {
            if !is_word(line[i]) {
                i += 1;
                continue;
            }
            let start = i;
            let (mut caps, mut hex) = (true, true);
            while i < n && is_word(line[i]) {
                caps &= line[i].is_ascii_uppercase();
                hex &= line[i].is_ascii_hexdigit();
                i += 1;
            }
            let run = &line[start..i];
            out.allcaps += usize::from(caps && run.len() >= 2);
            let prefixed = run.len() >= 3
                && run[0] == b'0'
                && (run[1] == b'x' || run[1] == b'X')
                && run[2..].iter().all(u8::is_ascii_hexdigit);
            out.hex += usize::from((hex && run.len() >= 8) || prefixed);
        }
        out
    }
}

#[inline]
fn count_chars(bytes: &[u8]) -> usize {
    // Code points of valid UTF-8 = bytes that are not continuation bytes.
    bytes.iter().filter(|&&b| (b & 0xc0) != 0x80).count()
}

impl Features {
    pub fn new(spec: &HandSpec) -> Result<Self> {
        let mut order = Vec::with_capacity(spec.names.len());
        let mut wanted = [false; PATTERN_KEYS.len()];
        for name in &spec.names {
            let Some(i) = FEATURE_NAMES.iter().position(|n| n == name) else {
                return Err(Error::Model(format!(
                    "handcrafted feature {name:?} is not known to this version"
                )));
            };
            order.push(i);
            for &k in needs(name) {
                wanted[k] = true;
            }
        }
        let mut patterns = Vec::with_capacity(PATTERN_KEYS.len());
        let (mut fast_token, mut fast_leading) = (false, false);
        let (mut fast_allcaps, mut fast_hex) = (false, false);
        for (k, key) in PATTERN_KEYS.iter().enumerate() {
            if !wanted[k] {
                patterns.push(None);
                continue;
            }
            let pattern = spec
                .patterns
                .get(key)
                .ok_or_else(|| Error::Model(format!("handcrafted.patterns: {key} missing")))?;
            if k == TOKEN && pattern == DEFAULT_TOKEN {
                fast_token = true;
            }
            if k == LEADING_WS && pattern == DEFAULT_LEADING_WS {
                fast_leading = true;
            }
            fast_allcaps |= k == ALLCAPS && pattern == DEFAULT_ALLCAPS;
            fast_hex |= k == HEX && pattern == DEFAULT_HEX;
            patterns.push(Some(Pattern::new(
                &format!("handcrafted.patterns.{key}"),
                pattern,
                usage(k),
            )?));
        }
        let mut struct_ascii = [false; 128];
        let mut struct_other = Vec::new();
        for ch in spec.struct_punct_chars.chars() {
            if ch.is_ascii() {
                struct_ascii[ch as usize] = true;
            } else {
                struct_other.push(ch);
            }
        }
        Ok(Self {
            order,
            patterns,
            fast_token,
            fast_leading,
            fast_allcaps,
            fast_hex,
            struct_ascii,
            struct_other,
        })
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.order.iter().map(|&i| FEATURE_NAMES[i]).collect()
    }

    pub fn scratch(&self) -> FeatureScratch {
        FeatureScratch {
            caches: self
                .patterns
                .iter()
                .map(|r| r.as_ref().map(Pattern::create_cache))
                .collect(),
            spans: Vec::new(),
        }
    }

    fn rx<'a>(
        &'a self,
        s: &'a mut FeatureScratch,
        k: usize,
    ) -> (&'a Pattern, &'a mut PatternCache) {
        // Both are Some for every pattern a configured feature needs (checked in `new`).
        (
            self.patterns[k].as_ref().expect("pattern compiled"),
            s.caches[k].as_mut().expect("cache"),
        )
    }

    fn count(&self, s: &mut FeatureScratch, k: usize, line: &[u8], lowered: &[u8]) -> usize {
        let (re, cache) = self.rx(s, k);
        re.count(cache, line, lowered)
    }

    fn is_match(&self, s: &mut FeatureScratch, k: usize, line: &[u8], lowered: &[u8]) -> f64 {
        let (re, cache) = self.rx(s, k);
        f64::from(u8::from(re.is_match(cache, line, lowered)))
    }

    /// The raw (unscaled) features of one valid UTF-8 line, in the model's column
    /// order, written to `out` (cleared first). `lowered` is the line with ASCII
    /// letters lowercased (the scorer has it already, for the char block).
    pub fn compute(&self, s: &mut FeatureScratch, line: &[u8], lowered: &[u8], out: &mut Vec<f64>) {
        out.clear();
        let mut all = [f64::NAN; FEATURE_NAMES.len()];
        let n_code_points = count_chars(line);
        let n_chars = n_code_points.max(1) as f64;
        let (mut upper, mut digits, mut structp) = (0usize, 0usize, 0usize);
        for &b in line {
            upper += usize::from(b.is_ascii_uppercase());
            digits += usize::from(b.is_ascii_digit());
            structp += usize::from(b < 128 && self.struct_ascii[b as usize]);
        }
        if !self.struct_other.is_empty() {
            let text = String::from_utf8_lossy(line);
            structp += text
                .chars()
                .filter(|c| self.struct_other.contains(c))
                .count();
        }
        let n_neg = |s: &mut FeatureScratch| self.count(s, NEGATIVE, line, lowered);
        let mut word_runs: Option<WordRuns> = None;
        let mut neg_cache = None;
        let mut tokens_cache: Option<(usize, usize)> = None;
        for &f in &self.order {
            if !all[f].is_nan() {
                continue;
            }
            all[f] = match f {
                0 => self.is_match(s, LEVEL, line, lowered),
                1 => self.is_match(s, STACK, line, lowered),
                2 | 3 => {
                    let n = *neg_cache.get_or_insert_with(|| n_neg(s));
                    if f == 2 {
                        f64::from(u8::from(n > 0))
                    } else {
                        (n as f64).ln_1p()
                    }
                }
                4 => self.is_match(s, PATH, line, lowered),
                5 if self.fast_hex => {
                    (word_runs.get_or_insert_with(|| WordRuns::of(line)).hex as f64).ln_1p()
                }
                5 => (self.count(s, HEX, line, lowered) as f64).ln_1p(),
                6 => self.is_match(s, REPEATED_PUNCT, line, lowered),
                7 => (self.count(s, KV, line, lowered) as f64).ln_1p(),
                8 => upper as f64 / n_chars,
                9 => digits as f64 / n_chars,
                10 => (structp as f64).ln_1p(),
                11 | 13 => {
                    let (n, distinct) =
                        *tokens_cache.get_or_insert_with(|| self.tokens(s, line, lowered));
                    if f == 11 {
                        (n as f64).ln_1p()
                    } else {
                        distinct as f64 / n.max(1) as f64
                    }
                }
                12 if self.fast_allcaps => {
                    (word_runs.get_or_insert_with(|| WordRuns::of(line)).allcaps as f64).ln_1p()
                }
                12 => (self.count(s, ALLCAPS, line, lowered) as f64).ln_1p(),
                14 => (self.leading(s, line, lowered) as f64).ln_1p(),
                15 => (self.count(s, EMPHASIS, line, lowered) as f64).ln_1p(),
                16 => (n_code_points as f64).ln_1p(),
                _ => unreachable!("feature index"),
            };
        }
        out.extend(self.order.iter().map(|&f| all[f]));
    }

    /// Number of `TOKEN` matches and of distinct ones.
    fn tokens(&self, s: &mut FeatureScratch, line: &[u8], lowered: &[u8]) -> (usize, usize) {
        let mut spans = std::mem::take(&mut s.spans);
        spans.clear();
        if self.fast_token {
            let mut i = 0;
            let n = line.len();
            while i < n {
                while i < n && is_space(line[i]) {
                    i += 1;
                }
                let start = i;
                while i < n && !is_space(line[i]) {
                    i += 1;
                }
                if i > start {
                    spans.push((start, i));
                }
            }
        } else {
            let (re, cache) = self.rx(s, TOKEN);
            re.spans(cache, line, lowered, &mut spans);
        }
        let n = spans.len();
        spans.sort_unstable_by(|a, b| line[a.0..a.1].cmp(&line[b.0..b.1]));
        let distinct = if n == 0 {
            0
        } else {
            1 + spans
                .windows(2)
                .filter(|w| line[w[0].0..w[0].1] != line[w[1].0..w[1].1])
                .count()
        };
        s.spans = spans;
        (n, distinct)
    }

    /// Code points matched by `LEADING_WS` at the start of the line (0 if none).
    fn leading(&self, s: &mut FeatureScratch, line: &[u8], lowered: &[u8]) -> usize {
        if self.fast_leading {
            return line
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
        }
        let (re, cache) = self.rx(s, LEADING_WS);
        re.match_end(cache, line, lowered)
            .map_or(0, |end| count_chars(&line[..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rx;

    /// Strings over an alphabet chosen to hit every edge of the word-run patterns.
    fn generated(n: usize) -> Vec<Vec<u8>> {
        let alphabet = b"0xXaAfFgG9_ -.:\t\xc3\xa9Z";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = (state % 24) as usize;
                (0..len)
                    .map(|i| alphabet[((state >> (i % 50)) as usize + i * 7) % alphabet.len()])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn word_runs_count_what_the_shipped_regexes_count() {
        let caps = rx::compile("t", DEFAULT_ALLCAPS).unwrap();
        let hex = rx::compile("t", DEFAULT_HEX).unwrap();
        let (mut cc, mut hc) = (caps.create_cache(), hex.create_cache());
        let mut lines: Vec<Vec<u8>> = [
            "ERROR at 0x1f and 0X_ 0xg DEADBEEF deadbeef1 cafe_babe AB A é_AB ABé",
            "0x 0x0 00000000 0000000 x0x1 ABC_DEF _AB AB9 deadbeefZ",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        lines.extend(generated(5000));
        for line in &lines {
            let want = WordRuns {
                allcaps: rx::count(&caps, &mut cc, line),
                hex: rx::count(&hex, &mut hc, line),
            };
            assert_eq!(
                WordRuns::of(line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
