//! The handcrafted features (`lookskip/model/features.py`), from the exported patterns.
//!
//! A feature is known by its name; the model file says which names, in which column
//! order, and carries every regex. Counting semantics follow Python: `n_chars` and
//! `length` count code points, regex counts are non-overlapping `finditer` counts.

use regex_automata::meta::{Cache, Regex};

use crate::error::{Error, Result};
use crate::model::HandSpec;
use crate::rx;

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

/// `\S+` and `^[ \t]*` as shipped get byte scanners (equal by construction, and tested);
/// any other pattern under those keys runs through the regex engine.
const DEFAULT_TOKEN: &str = r"\S+";
const DEFAULT_LEADING_WS: &str = r"^[ \t]*";

pub struct Features {
    /// Column order of the model: index into `FEATURE_NAMES` per column.
    order: Vec<usize>,
    regexes: Vec<Option<Regex>>,
    fast_token: bool,
    fast_leading: bool,
    struct_ascii: [bool; 128],
    struct_other: Vec<char>,
}

/// Per-thread state: one regex cache per pattern and a token span buffer.
pub struct FeatureScratch {
    caches: Vec<Option<Cache>>,
    spans: Vec<(usize, usize)>,
}

#[inline]
fn is_space(b: u8) -> bool {
    // Python `\s` under re.ASCII and Rust `(?-u)\s`: [\t\n\v\f\r ].
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
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
        let mut regexes = Vec::with_capacity(PATTERN_KEYS.len());
        let mut fast_token = false;
        let mut fast_leading = false;
        for (k, key) in PATTERN_KEYS.iter().enumerate() {
            if !wanted[k] {
                regexes.push(None);
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
            regexes.push(Some(rx::compile(
                &format!("handcrafted.patterns.{key}"),
                pattern,
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
            regexes,
            fast_token,
            fast_leading,
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
                .regexes
                .iter()
                .map(|r| r.as_ref().map(Regex::create_cache))
                .collect(),
            spans: Vec::new(),
        }
    }

    fn rx<'a>(&'a self, s: &'a mut FeatureScratch, k: usize) -> (&'a Regex, &'a mut Cache) {
        // Both are Some for every pattern a configured feature needs (checked in `new`).
        (
            self.regexes[k].as_ref().expect("pattern compiled"),
            s.caches[k].as_mut().expect("cache"),
        )
    }

    fn count(&self, s: &mut FeatureScratch, k: usize, line: &[u8]) -> usize {
        let (re, cache) = self.rx(s, k);
        rx::count(re, cache, line)
    }

    fn is_match(&self, s: &mut FeatureScratch, k: usize, line: &[u8]) -> f64 {
        let (re, cache) = self.rx(s, k);
        f64::from(u8::from(rx::is_match(re, cache, line)))
    }

    /// The raw (unscaled) features of one valid UTF-8 line, in the model's column
    /// order, written to `out` (cleared first).
    pub fn compute(&self, s: &mut FeatureScratch, line: &[u8], out: &mut Vec<f64>) {
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
        let n_neg = |s: &mut FeatureScratch| self.count(s, NEGATIVE, line);
        let mut neg_cache = None;
        let mut tokens_cache: Option<(usize, usize)> = None;
        for &f in &self.order {
            if !all[f].is_nan() {
                continue;
            }
            all[f] = match f {
                0 => self.is_match(s, LEVEL, line),
                1 => self.is_match(s, STACK, line),
                2 | 3 => {
                    let n = *neg_cache.get_or_insert_with(|| n_neg(s));
                    if f == 2 {
                        f64::from(u8::from(n > 0))
                    } else {
                        (n as f64).ln_1p()
                    }
                }
                4 => self.is_match(s, PATH, line),
                5 => (self.count(s, HEX, line) as f64).ln_1p(),
                6 => self.is_match(s, REPEATED_PUNCT, line),
                7 => (self.count(s, KV, line) as f64).ln_1p(),
                8 => upper as f64 / n_chars,
                9 => digits as f64 / n_chars,
                10 => (structp as f64).ln_1p(),
                11 | 13 => {
                    let (n, distinct) = *tokens_cache.get_or_insert_with(|| self.tokens(s, line));
                    if f == 11 {
                        (n as f64).ln_1p()
                    } else {
                        distinct as f64 / n.max(1) as f64
                    }
                }
                12 => (self.count(s, ALLCAPS, line) as f64).ln_1p(),
                14 => (self.leading(s, line) as f64).ln_1p(),
                15 => (self.count(s, EMPHASIS, line) as f64).ln_1p(),
                16 => (n_code_points as f64).ln_1p(),
                _ => unreachable!("feature index"),
            };
        }
        out.extend(self.order.iter().map(|&f| all[f]));
    }

    /// Number of `TOKEN` matches and of distinct ones.
    fn tokens(&self, s: &mut FeatureScratch, line: &[u8]) -> (usize, usize) {
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
            let mut at = 0;
            while at <= line.len() {
                let Some(m) = re.search_with(cache, &regex_automata::Input::new(line).range(at..))
                else {
                    break;
                };
                spans.push((m.start(), m.end()));
                at = if m.is_empty() { m.end() + 1 } else { m.end() };
            }
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
    fn leading(&self, s: &mut FeatureScratch, line: &[u8]) -> usize {
        if self.fast_leading {
            return line
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
        }
        let (re, cache) = self.rx(s, LEADING_WS);
        rx::match_end(re, cache, line).map_or(0, |end| count_chars(&line[..end]))
    }
}
