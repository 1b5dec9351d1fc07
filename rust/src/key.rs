//! The template key: the form every line of one log template shares (`key.rules`).
//!
//! Python joins the ordered rules into `(?P<name>p1)|(?P<name>p2)|…` and replaces each
//! leftmost-first match by the placeholder of the group that matched (or keeps it,
//! for a rule whose placeholder is `null`), then squeezes every run of
//! `key.squeeze_chars` into one space. Here the rules are one multi-pattern regex
//! with the same leftmost-first priority: the match's pattern id is the rule (Python's
//! `lastgroup`), so no capture groups are needed. The squeeze runs in place over the
//! output, after the rules, as in Python.

use regex_automata::meta::{Cache, Regex};
use regex_automata::Input;

use crate::error::Result;
use crate::model::KeySpec;
use crate::rx;

pub struct TemplateKey {
    re: Regex,
    /// `None`: keep the match verbatim.
    placeholders: Vec<Option<Vec<u8>>>,
    squeeze: [bool; 128],
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
        Ok(Self {
            re,
            placeholders,
            squeeze,
        })
    }

    pub fn create_cache(&self) -> Cache {
        self.re.create_cache()
    }

    /// Append the template key of `line` to `out` (which may hold other bytes before).
    pub fn key_into(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let begin = out.len();
        let mut copied = 0;
        let mut at = 0;
        while at <= line.len() {
            let Some(m) = self.re.search_with(cache, &Input::new(line).range(at..)) else {
                break;
            };
            out.extend_from_slice(&line[copied..m.start()]);
            match &self.placeholders[m.pattern().as_usize()] {
                Some(ph) => out.extend_from_slice(ph),
                None => out.extend_from_slice(&line[m.range()]),
            }
            copied = m.end();
            at = if m.is_empty() { m.end() + 1 } else { m.end() };
        }
        if copied < line.len() {
            out.extend_from_slice(&line[copied..]);
        }
        self.squeeze_from(out, begin);
    }

    /// Squeeze runs of the squeeze characters in `out[begin..]` into one space, in place.
    fn squeeze_from(&self, out: &mut Vec<u8>, begin: usize) {
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
        let rules = [
            ("code", None, r#"(?i:\b(?:status|code|exit|exited|errno|rc|ret|return|returned|signal|sig|http)\b[ =:]*-?[0-9]{1,3}\b)|" [1-5][0-9][0-9]\b"#),
            ("uuid", Some("<UUID>"), r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
            ("ipv6", Some("<IP>"), r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}\b)?"),
            ("ipv4", Some("<IP>"), r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?\b"),
            ("hex", Some("<HEX>"), r"\b0[xX][0-9a-fA-F]+\b|\b[0-9]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\b[0-9]+[a-fA-F][0-9a-fA-F]*\b"),
            ("num", Some("<NUM>"), r"[0-9]+(?:\.[0-9]+)*"),
        ];
        KeySpec {
            rules: rules
                .iter()
                .map(|(a, b, c)| (a.to_string(), b.map(str::to_string), c.to_string()))
                .collect(),
            squeeze_chars: " \t".to_string(),
        }
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
