//! Line normalization: ids, addresses, hex values and numbers become placeholders.
//!
//! Python joins the ordered rules into `(?P<name>p1)|(?P<name>p2)|…` and replaces each
//! leftmost-first match by the placeholder of the group that matched. Here the rules
//! are one multi-pattern regex with the same leftmost-first priority: the match's
//! pattern id is the rule (Python's `lastgroup`), so no capture groups are needed.

use regex_automata::meta::{Cache, Regex};
use regex_automata::Input;

use crate::error::Result;
use crate::rx;

pub struct Normalizer {
    re: Regex,
    placeholders: Vec<Vec<u8>>,
}

impl Normalizer {
    pub fn new(rules: &[(String, String, String)]) -> Result<Self> {
        let patterns: Vec<&str> = rules.iter().map(|(_, _, p)| p.as_str()).collect();
        let re = rx::compile_many("normalization.rules", &patterns)?;
        let placeholders = rules
            .iter()
            .map(|(_, ph, _)| ph.as_bytes().to_vec())
            .collect();
        Ok(Self { re, placeholders })
    }

    pub fn create_cache(&self) -> Cache {
        self.re.create_cache()
    }

    /// Append the normalized `line` to `out`.
    pub fn normalize_into(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u8>) {
        let mut copied = 0;
        let mut at = 0;
        while at <= line.len() {
            let Some(m) = self.re.search_with(cache, &Input::new(line).range(at..)) else {
                break;
            };
            out.extend_from_slice(&line[copied..m.start()]);
            out.extend_from_slice(&self.placeholders[m.pattern().as_usize()]);
            copied = m.end();
            at = if m.is_empty() { m.end() + 1 } else { m.end() };
        }
        if copied < line.len() {
            out.extend_from_slice(&line[copied..]);
        }
    }

    /// The normalized line as a new string (for parity checks; scoring uses `normalize_into`).
    pub fn normalize(&self, line: &str) -> String {
        let mut cache = self.create_cache();
        let mut out = Vec::with_capacity(line.len());
        self.normalize_into(&mut cache, line.as_bytes(), &mut out);
        // Placeholders and untouched spans are whole UTF-8 sequences: matches are ASCII.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_rules() -> Vec<(String, String, String)> {
        [
            ("uuid", "<UUID>", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
            ("ipv6", "<IP>", r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}\b)?"),
            ("ipv4", "<IP>", r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?\b"),
            ("hex", "<HEX>", r"\b0[xX][0-9a-fA-F]+\b|\b[0-9]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\b[0-9]+[a-fA-F][0-9a-fA-F]*\b"),
            ("num", "<NUM>", r"[0-9]+(?:\.[0-9]+)*"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
    }

    #[test]
    fn docstring_example() {
        let n = Normalizer::new(&default_rules()).unwrap();
        assert_eq!(
            n.normalize("blk_-6952295868487656571 from 10.250.19.102:54106 took 0.5s"),
            "blk_-<NUM> from <IP> took <NUM>s"
        );
    }

    #[test]
    fn rules_in_order_and_unicode_untouched() {
        let n = Normalizer::new(&default_rules()).unwrap();
        assert_eq!(
            n.normalize("id 123e4567-e89b-12d3-a456-426614174000 at 0x7fff é 12 fe80::1"),
            "id <UUID> at <HEX> é <NUM> <IP>"
        );
        assert_eq!(n.normalize(""), "");
        assert_eq!(n.normalize("no digits here"), "no digits here");
    }
}
