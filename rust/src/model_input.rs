//! The transformer's input text of a template key: the twin of Python's
//! `lookskip.transformer.inputs` (`input_from_key`, `model_input`), so the engine can
//! feed candle without Python in the loop. See that module for why each step exists;
//! `tests/test_transformer_inputs.py` checks the two agree on every labeled line.
//!
//! 1. placeholders made one WordPiece token each (`<NUM>`→`#`, `<IP>`→`ip`,
//!    `<HEX>`→`hash`, `<UUID>`→`id`);
//! 2. each run of `#` joined only by punctuation/spaces becomes one `#`;
//! 3. the leading space-separated fields with no letters but a month/weekday name or a
//!    placeholder word are dropped (never the last field); the result is stripped.
//!
//! "Word character" and "whitespace" follow Python's `str` rules (`\w`: alphanumeric
//! or `_`; `str.strip()`: Unicode whitespace plus the ASCII separators 0x1c-0x1f).

use crate::key::TemplateKey;

/// Key placeholder → its one-token form (Python's `COMPACT`).
pub const COMPACT: [(&str, &str); 4] = [
    ("<NUM>", "#"),
    ("<IP>", "ip"),
    ("<HEX>", "hash"),
    ("<UUID>", "id"),
];

const CALENDAR: [&str; 19] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "mon",
    "tue", "wed", "thu", "fri", "sat", "sun",
];
const PLACEHOLDER_WORDS: [&str; 3] = ["ip", "hash", "id"];

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `key` with each placeholder replaced by its one-token form.
pub fn compact_placeholders(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match COMPACT.iter().find(|(p, _)| rest.starts_with(p)) {
            Some((p, r)) => {
                out.push_str(r);
                rest = &rest[p.len()..];
            }
            None => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Each run of `#` joined only by non-word characters becomes one `#` (Python's
/// `#(?:[^\w#]*#)+` → `#`).
pub fn squeeze_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '#' {
            out.push(c);
            i += 1;
            continue;
        }
        // extend over (non-word, non-'#')* '#' groups
        let mut end = i; // index of the last '#' of the run
        let mut j = i + 1;
        loop {
            while j < chars.len() && chars[j] != '#' && !is_word(chars[j]) {
                j += 1;
            }
            if j < chars.len() && chars[j] == '#' {
                end = j;
                j += 1;
            } else {
                break;
            }
        }
        out.push('#');
        i = end + 1;
    }
    out
}

/// Whether a space-separated field is header: only non-word characters, `_`, and
/// whole words that are a month/weekday name or a placeholder word (any case).
fn header_field(field: &str) -> bool {
    let mut run_start: Option<usize> = None;
    let check = |run: &str| -> bool {
        run.chars().all(|c| c == '_')
            || CALENDAR
                .iter()
                .chain(PLACEHOLDER_WORDS.iter())
                .any(|w| run.eq_ignore_ascii_case(w))
    };
    for (i, c) in field.char_indices() {
        if is_word(c) {
            run_start.get_or_insert(i);
        } else if let Some(s) = run_start.take() {
            if !check(&field[s..i]) {
                return false;
            }
        }
    }
    match run_start {
        Some(s) => check(&field[s..]),
        None => true,
    }
}

/// How many leading space-separated fields of `text` are header (never all of them).
pub fn header_length(text: &str) -> usize {
    let fields: Vec<&str> = text.split(' ').collect();
    let mut i = 0;
    while i + 1 < fields.len() && header_field(fields[i]) {
        i += 1;
    }
    i
}

/// `text` without its header fields.
pub fn drop_header(text: &str) -> String {
    let n = header_length(text);
    text.split(' ').skip(n).collect::<Vec<_>>().join(" ")
}

/// The transformer input of a template key (compact, squeezed, header dropped, stripped).
pub fn input_from_key(key: &str) -> String {
    let text = drop_header(&squeeze_numbers(&compact_placeholders(key)));
    text.trim_matches(py_space).to_string()
}

/// The transformer input of a raw line under the shipped key rules (Python's
/// `model_input`).
pub fn model_input(keyer: &TemplateKey, line: &str) -> String {
    input_from_key(&keyer.key(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_doctests() {
        assert_eq!(
            squeeze_numbers("#-#-# #:#:#,# INFO took #.# ms"),
            "# INFO took # ms"
        );
        assert_eq!(
            drop_header("[Sun Dec # #] [error] mod_jk child in error state #"),
            "[error] mod_jk child in error state #"
        );
        assert_eq!(
            drop_header("Jun # # combo sshd(pam_unix)[#]: check pass; user unknown"),
            "combo sshd(pam_unix)[#]: check pass; user unknown"
        );
        let k = TemplateKey::shipped();
        assert_eq!(
            model_input(
                k,
                "2015-10-18 18:01:47,978 INFO [main] org.a.b.MRAppMaster: Created MRAppMaster"
            ),
            "INFO [main] org.a.b.MRAppMaster: Created MRAppMaster"
        );
        assert_eq!(
            model_input(
                k,
                "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: auth failure; rhost=1.2.3.4"
            ),
            "combo sshd(pam_unix)[#]: auth failure; rhost=ip"
        );
    }

    #[test]
    fn edges() {
        assert_eq!(
            compact_placeholders("<NUM><IP> <X> <HEX>x<UUID"),
            "#ip <X> hashx<UUID"
        );
        assert_eq!(squeeze_numbers("# a #"), "# a #");
        assert_eq!(squeeze_numbers("#_#"), "#_#");
        assert_eq!(squeeze_numbers("##"), "#");
        assert!(!header_field("[jan__]"));
        assert!(header_field("__"));
        assert!(header_field("SUN:IP"));
        assert!(!header_field("ipip"));
        assert_eq!(drop_header("# #"), "#");
        assert_eq!(drop_header(""), "");
        assert_eq!(input_from_key(" \x1c a "), "a");
    }
}
