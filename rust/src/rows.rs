//! Output rows, the twin of Python's `lookskip.classify.rows`: one writer of the
//! `{"file","line","prob","text"}` JSONL rows (and of the part rows the merge
//! completes), and of the `file:line:prob:text` rows of `--format text`, so rows on
//! stdout are written by the same code, at the same speed, as rows to `--output`.

use std::io::{self, Write};

use crate::engine::LookLine;

/// Which rows: JSON lines (`--format jsonl`, the `--output` rows) or
/// `file:line:prob:text` (`--format text`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowStyle {
    #[default]
    Jsonl,
    Text,
}

/// How a unit writes its rows (see the module docs). `prefix`: for `Jsonl` the
/// row start `row_prefix(file)` (none: part rows); for `Text` the file's name as
/// text rows print it (control characters escaped by Python's `rows.text_name`).
#[derive(Clone, Debug, Default)]
pub struct RowFormat<'a> {
    pub prefix: Option<&'a [u8]>,
    pub line_offset: u64,
    pub max_rows: Option<u64>,
    pub style: RowStyle,
}

impl RowFormat<'_> {
    /// Write `look`'s row into `row` (cleared first), in this format.
    pub fn write(&self, row: &mut Vec<u8>, look: &LookLine) -> io::Result<()> {
        match (self.style, self.prefix) {
            (RowStyle::Text, Some(name)) => write_text_row(row, name, self.line_offset, look),
            (RowStyle::Text, None) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "text rows need the file's name (prefix)",
            )),
            (RowStyle::Jsonl, prefix) => write_row(row, prefix, self.line_offset, look),
        }
    }
}

/// Decimals of `prob` in text rows (Python's `rows.PROB_DECIMALS`).
pub const PROB_DECIMALS: usize = 4;

/// The one Rust writer of text rows (Python's twin: `lookskip.classify.rows.text_row`):
/// `<name>:<n>:<prob, 4 decimals>:[new] <text>\n` (`[new] ` only for a new row), then
/// grep-style context lines: the event's other lines as `<name>-<n+k>-<line>` and the
/// `why` as `<name>-<n>-why: <term> <+w.ww>, …`.
pub fn write_text_row(
    row: &mut Vec<u8>,
    name: &[u8],
    line_offset: u64,
    look: &LookLine,
) -> io::Result<()> {
    let line = line_offset + look.line_number;
    row.clear();
    row.extend_from_slice(name);
    write!(row, ":{line}:{:.*}:", PROB_DECIMALS, look.p_look)?;
    if look.new == Some(true) {
        row.extend_from_slice(b"[new] ");
    }
    row.extend_from_slice(look.text.as_bytes());
    row.push(b'\n');
    if let Some(event) = look.event.as_deref().filter(|e| !e.is_empty()) {
        for (k, cont) in event.split('\n').skip(1).enumerate() {
            row.extend_from_slice(name);
            write!(row, "-{}-", line + k as u64 + 1)?;
            row.extend_from_slice(cont.as_bytes());
            row.push(b'\n');
        }
    }
    if let Some(why) = look.why.as_deref().filter(|w| !w.is_empty()) {
        row.extend_from_slice(name);
        write!(row, "-{line}-why: ")?;
        for (i, (term, w)) in why.iter().enumerate() {
            if i > 0 {
                row.extend_from_slice(b", ");
            }
            write!(row, "{term} {w:+.2}")?;
        }
        row.push(b'\n');
    }
    Ok(())
}

/// `{"file":<json>,"line":` — the start of every output row of `file`.
pub fn row_prefix(file: &str) -> Vec<u8> {
    let mut p = b"{\"file\":".to_vec();
    // Serializing a &str into a Vec cannot fail.
    serde_json::to_writer(&mut p, file).expect("JSON string");
    p.extend_from_slice(b",\"line\":");
    p
}

/// The one Rust writer of output rows (Python's twin: `lookskip.classify.rows`):
/// `row` becomes `<prefix><n>,"prob":<p>[,"prob_tfidf":<q>][,"source":"claude","reason":<r>][,"event_end":<m>][,"new":<b>][,"why":[[t,w],…]],"text":<json>[,"event":<json>]}\n`,
/// or without a prefix the part row `<n>\t,"prob":…}\n` that the merge completes.
/// `n` and `m` are `line_offset` plus the unit's line numbers.
pub fn write_row(
    row: &mut Vec<u8>,
    prefix: Option<&[u8]>,
    line_offset: u64,
    look: &LookLine,
) -> io::Result<()> {
    let line = line_offset + look.line_number;
    row.clear();
    match prefix {
        Some(p) => {
            row.extend_from_slice(p);
            write!(row, "{line}")?;
        }
        None => write!(row, "{line}\t")?,
    }
    let json = |row: &mut Vec<u8>, v: &dyn erased::Json| v.write(row);
    row.extend_from_slice(b",\"prob\":");
    json(row, &look.p_look)?;
    if let Some(p) = look.p_tfidf {
        row.extend_from_slice(b",\"prob_tfidf\":");
        json(row, &p)?;
    }
    if let Some(reason) = &look.reason {
        row.extend_from_slice(b",\"source\":\"claude\",\"reason\":");
        json(row, &reason.as_str())?;
    }
    if let Some(end) = look.event_end {
        write!(row, ",\"event_end\":{}", line_offset + end)?;
    }
    if let Some(new) = look.new {
        write!(row, ",\"new\":{new}")?;
    }
    if let Some(why) = &look.why {
        row.extend_from_slice(b",\"why\":");
        json(row, why)?;
    }
    row.extend_from_slice(b",\"text\":");
    json(row, &look.text.as_str())?;
    if let Some(event) = &look.event {
        row.extend_from_slice(b",\"event\":");
        json(row, &event.as_str())?;
    }
    row.extend_from_slice(b"}\n");
    Ok(())
}

mod erased {
    use std::io;

    /// A value serde_json writes (the writer takes a trait object, so one closure
    /// serves every field's type).
    pub trait Json {
        fn write(&self, out: &mut Vec<u8>) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut Vec<u8>) -> io::Result<()> {
            serde_json::to_writer(out, self).map_err(io::Error::other)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(p: f64, text: &str) -> LookLine {
        LookLine {
            line_number: 3,
            p_look: p,
            text: text.into(),
            ..LookLine::default()
        }
    }

    fn text_row(l: &LookLine) -> String {
        let mut row = Vec::new();
        write_text_row(&mut row, b"a.log", 10, l).unwrap();
        String::from_utf8(row).unwrap()
    }

    #[test]
    fn text_rows_round_as_python_does() {
        // Python: f"{p:.4f}" rounds the exact binary value, ties to even.
        assert_eq!(text_row(&look(0.03125, "x")), "a.log:13:0.0312:x\n");
        assert_eq!(text_row(&look(0.09375, "x")), "a.log:13:0.0938:x\n");
        assert_eq!(text_row(&look(1.0, "x")), "a.log:13:1.0000:x\n");
        assert_eq!(text_row(&look(0.123_456, "x")), "a.log:13:0.1235:x\n");
    }

    #[test]
    fn text_rows_add_new_event_and_why_lines() {
        let mut l = look(0.5, "head");
        l.new = Some(true);
        l.event = Some("head\n  at x\n  at y".into());
        l.why = Some(vec![("word:error".into(), 1.234), ("feature:x".into(), -0.001)]);
        assert_eq!(
            text_row(&l),
            "a.log:13:0.5000:[new] head\na.log-14-  at x\na.log-15-  at y\n\
             a.log-13-why: word:error +1.23, feature:x -0.00\n"
        );
        l.new = Some(false);
        l.event = None;
        l.why = Some(vec![]);
        assert_eq!(text_row(&l), "a.log:13:0.5000:head\n");
    }

    #[test]
    fn text_rows_need_a_name() {
        let f = RowFormat {
            style: RowStyle::Text,
            ..RowFormat::default()
        };
        assert!(f.write(&mut Vec::new(), &look(0.5, "x")).is_err());
    }
}
