//! Output rows, the twin of Python's `lookskip.classify.rows`: one writer of the
//! `{"file","line","prob","text"}` JSONL rows (and of the part rows the merge
//! completes), and the atomic file writes every output goes through.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::engine::LookLine;
use crate::error::Error;

/// How a unit writes its rows (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct RowFormat<'a> {
    pub prefix: Option<&'a [u8]>,
    pub line_offset: u64,
    pub max_rows: Option<u64>,
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

/// Write through a temp file beside `path`, renamed into place only on success.
pub fn write_atomically<T>(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> Result<T, Error>,
) -> Result<T, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    let io_err = |e: io::Error| Error::Io(format!("{}: {e}", path.display()));
    let run = || -> Result<T, Error> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io_err)?);
        let value = body(&mut w)?;
        w.into_inner()
            .map_err(|e| io_err(e.into_error()))?
            .sync_all()
            .map_err(io_err)?;
        fs::rename(&tmp, path).map_err(io_err)?;
        Ok(value)
    };
    let result = run();
    if result.is_err() {
        fs::remove_file(&tmp).ok();
    }
    result
}
