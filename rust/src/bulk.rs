//! Units of bulk classification (the Python `lookskip.bulk` layer): score the lines of
//! one unit and write its LOOK rows, so Python never touches a line.
//!
//! A unit is the lines that START inside `[start, end)` of a plain file, a whole
//! (possibly gzip) file, or one tar member (`offset`/`size` in the uncompressed tar
//! stream). A line starts at offset 0 and after every `\n`: a unit skips the tail of a
//! line begun before `start` and reads past `end` to finish its own last line, so the
//! units of a file own every line exactly once.
//!
//! Rows are `<n>\t,"prob":<p>,"text":<json>}\n` (a part: the merge adds the unit's
//! line offset) or, with a `prefix`, `<prefix><n>,"prob":…}\n` (final output rows);
//! `n` is `line_offset` plus the line's number within the unit (1-based). `write_row` is the
//! only writer of these rows (`Classifier.classify_file(output=…)` uses it too).
//!
//! A unit that starts a stream refuses binary input (a NUL byte in its first 8 KiB),
//! like `grep`: scoring a core dump line by line helps nobody.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::time::Instant;

use flate2::read::MultiGzDecoder;

use crate::engine::Engine;
use crate::error::Result;
use crate::stream::{open_input, Tallied};

/// A read error in words (a gzip stream cut short or damaged says so), with how
/// many complete lines the input gave before it.
pub fn read_error(e: &io::Error, lines: u64) -> String {
    describe_read_error(e, lines, false)
}

fn describe_read_error(e: &io::Error, lines: u64, archive: bool) -> String {
    let msg = e.to_string();
    let what = if msg.starts_with("truncated archive") {
        msg
    } else {
        match e.kind() {
            io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof => {
                if archive {
                    format!("truncated or corrupt archive ({msg})")
                } else {
                    format!("corrupt or truncated compressed input ({msg})")
                }
            }
            _ => msg,
        }
    };
    if lines > 0 {
        format!("{what}, after {lines} complete lines")
    } else {
        what
    }
}

const BUF: usize = 1 << 20;
const BINARY_PROBE: usize = 8192;
pub const BINARY_ERROR: &str = "binary file (NUL bytes in the first 8 KiB)";
/// First density bucket (lines); buckets double to stay at most `DENSITY_MAX`.
pub const DENSITY_BUCKET: u64 = 16;
pub const DENSITY_MAX: usize = 4096;

/// Where a unit's bytes come from.
#[derive(Clone, Debug)]
pub enum UnitInput {
    /// Lines starting in `[start, end)` of a plain file (`end = None`: to the end).
    Range {
        path: String,
        start: u64,
        end: Option<u64>,
    },
    /// A whole file, plain or gzip (detected from its first bytes), `-` = stdin.
    Whole { path: String },
    /// A whole file that must be gzip (named `.gz`): anything else is an error.
    Gzip { path: String },
    /// `size` bytes at `offset` of the (gzip-compressed if `gz`) tar stream in `path`.
    TarMember {
        path: String,
        gz: bool,
        offset: u64,
        size: u64,
    },
}

/// Totals of one unit, with LOOK counts per `bucket` lines for a density chart.
///
/// `error` says why the input could not be read to its end (missing, binary, a gzip
/// stream or an archive cut short); then `lines`/`bytes` are what it gave before.
#[derive(Clone, Debug, Default)]
pub struct UnitSummary {
    pub error: Option<String>,
    pub lines: u64,
    pub look: u64,
    pub written: u64,
    pub bytes: u64,
    pub truncated: u64,
    pub seconds: f64,
    pub density: Vec<u64>,
    pub bucket: u64,
}

/// Reads the bytes of the lines that start before `left` runs out, then finishes the
/// last such line (up to and including its `\n`).
struct Owned<R: BufRead> {
    inner: R,
    left: u64,
    last: u8,
    done: bool,
}

impl<R: BufRead> Read for Owned<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left > 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut buf[..want])?;
            if n == 0 {
                self.done = true;
            } else {
                self.left -= n as u64;
                self.last = buf[n - 1];
            }
            return Ok(n);
        }
        if self.last == b'\n' {
            self.done = true;
            return Ok(0);
        }
        let avail = self.inner.fill_buf()?;
        if avail.is_empty() {
            self.done = true;
            return Ok(0);
        }
        let upto = memchr::memchr(b'\n', avail).map_or(avail.len(), |i| i + 1);
        let n = upto.min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.last = buf[n - 1];
        self.inner.consume(n);
        Ok(n)
    }
}

/// Exactly `left` bytes of `inner`; fewer means the archive was cut short.
struct Exact<R: Read> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated archive: member ends {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Skip to the first line that starts at or after `start`; returns its offset.
fn skip_to_line_start<R: BufRead + Seek>(r: &mut R, start: u64) -> io::Result<Option<u64>> {
    if start == 0 {
        return Ok(Some(0));
    }
    r.seek(SeekFrom::Start(start - 1))?;
    let mut pos = start - 1;
    let mut first = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        // The byte before `start` is a `\n`: a line starts right at `start`.
        let found = if first {
            (buf[0] == b'\n').then_some(0)
        } else {
            None
        }
        .or_else(|| memchr::memchr(b'\n', buf));
        first = false;
        match found {
            Some(i) => {
                r.consume(i + 1);
                return Ok(Some(pos + i as u64 + 1));
            }
            None => {
                let n = buf.len();
                pos += n as u64;
                r.consume(n);
            }
        }
    }
}

/// The reader of a unit's owned bytes.
pub fn open_unit(input: &UnitInput) -> io::Result<Box<dyn BufRead + Send>> {
    match input {
        UnitInput::Whole { path } => open_input(path),
        UnitInput::Gzip { path } => {
            let mut r = BufReader::with_capacity(BUF, File::open(path)?);
            let head = r.fill_buf()?;
            if !head.is_empty() && !head.starts_with(&[0x1f, 0x8b]) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt gzip: no gzip header",
                ));
            }
            Ok(Box::new(BufReader::with_capacity(
                BUF,
                MultiGzDecoder::new(r),
            )))
        }
        UnitInput::Range { path, start, end } => {
            let mut r = BufReader::with_capacity(BUF, File::open(path)?);
            let left = match skip_to_line_start(&mut r, *start)? {
                None => 0,
                Some(pos) => end.map_or(u64::MAX, |e| e.saturating_sub(pos)),
            };
            Ok(Box::new(BufReader::with_capacity(
                BUF,
                Owned {
                    inner: r,
                    left,
                    last: b'\n',
                    done: left == 0,
                },
            )))
        }
        UnitInput::TarMember {
            path,
            gz,
            offset,
            size,
        } => {
            let file = File::open(path)?;
            let mut r: Box<dyn Read + Send> = if *gz {
                let mut d = MultiGzDecoder::new(BufReader::with_capacity(BUF, file));
                let skipped = io::copy(&mut (&mut d).take(*offset), &mut io::sink())?;
                if skipped < *offset {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "truncated archive: member data missing",
                    ));
                }
                Box::new(d)
            } else {
                let mut f = file;
                f.seek(SeekFrom::Start(*offset))?;
                Box::new(f)
            };
            r = Box::new(Exact {
                inner: r,
                left: *size,
            });
            // A member may itself be gzip (`logs.tar!app.log.gz`): read by content,
            // as a file on disk is.
            let mut member = BufReader::with_capacity(BUF, r);
            if member.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
                return Ok(Box::new(BufReader::with_capacity(
                    BUF,
                    MultiGzDecoder::new(member),
                )));
            }
            Ok(Box::new(member))
        }
    }
}

fn add_density(d: &mut Vec<u64>, bucket: &mut u64, line_index: u64) {
    let mut j = line_index / *bucket;
    while j as usize >= DENSITY_MAX {
        halve(d, bucket);
        j = line_index / *bucket;
    }
    let j = j as usize;
    if d.len() <= j {
        d.resize(j + 1, 0);
    }
    d[j] += 1;
}

fn halve(d: &mut Vec<u64>, bucket: &mut u64) {
    let merged: Vec<u64> = d.chunks(2).map(|c| c.iter().sum()).collect();
    *d = merged;
    *bucket *= 2;
}

/// How a unit writes its rows (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct RowFormat<'a> {
    pub prefix: Option<&'a [u8]>,
    pub line_offset: u64,
    pub max_rows: Option<u64>,
}

fn starts_stream(input: &UnitInput) -> bool {
    !matches!(input, UnitInput::Range { start, .. } if *start > 0)
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
/// `row` becomes `<prefix><n>,"prob":<p>,"text":<json>}\n`, or without a prefix the
/// part row `<n>\t,"prob":…}\n` that the merge completes.
pub fn write_row(
    row: &mut Vec<u8>,
    prefix: Option<&[u8]>,
    line: u64,
    prob: f64,
    text: &str,
) -> io::Result<()> {
    row.clear();
    match prefix {
        Some(p) => {
            row.extend_from_slice(p);
            write!(row, "{line}")?;
        }
        None => write!(row, "{line}\t")?,
    }
    row.extend_from_slice(b",\"prob\":");
    serde_json::to_writer(&mut *row, &prob).map_err(io::Error::other)?;
    row.extend_from_slice(b",\"text\":");
    serde_json::to_writer(&mut *row, text).map_err(io::Error::other)?;
    row.extend_from_slice(b"}\n");
    Ok(())
}

/// Binary input: a NUL byte in the first 8 KiB of a stream (the rule `grep` uses).
pub fn is_binary(reader: &mut dyn BufRead) -> io::Result<bool> {
    let head = reader.fill_buf()?;
    Ok(memchr::memchr(0, &head[..head.len().min(BINARY_PROBE)]).is_some())
}

/// Score a unit, writing up to `max_rows` LOOK rows to `out` (all are counted).
///
/// An input that cannot be read to its end gives a summary with `error` set (and
/// the lines read before it); `Err` means the rows could not be written.
pub fn classify_unit(
    engine: &Engine,
    input: &UnitInput,
    threshold: f64,
    format: &RowFormat<'_>,
    out: &mut dyn Write,
) -> Result<UnitSummary> {
    let start = Instant::now();
    let mut s = UnitSummary {
        bucket: DENSITY_BUCKET,
        ..UnitSummary::default()
    };
    let failed = |mut s: UnitSummary, error: String| -> Result<UnitSummary> {
        s.error = Some(error);
        s.seconds = start.elapsed().as_secs_f64();
        Ok(s)
    };
    // Errors name no path: the caller reports them under the file's name.
    let archive = matches!(input, UnitInput::TarMember { .. });
    let mut reader = match open_unit(input) {
        Ok(r) => r,
        Err(e) => return failed(s, describe_read_error(&e, 0, archive)),
    };
    if starts_stream(input) {
        match is_binary(&mut reader) {
            Ok(false) => {}
            Ok(true) => return failed(s, BINARY_ERROR.into()),
            Err(e) => return failed(s, describe_read_error(&e, 0, archive)),
        }
    }
    let (reader, tally) = Tallied::new(reader);
    let limit = format.max_rows.unwrap_or(u64::MAX);
    let offset = format.line_offset;
    let (mut density, mut bucket) = (Vec::new(), DENSITY_BUCKET);
    let mut written = 0u64;
    let mut row = Vec::with_capacity(256);
    let scored = engine.classify_reader(Box::new(reader), threshold, &mut |l| {
        add_density(&mut density, &mut bucket, l.line_number - 1);
        if written >= limit {
            return Ok(());
        }
        write_row(
            &mut row,
            format.prefix,
            offset + l.line_number,
            l.p_look,
            &l.text,
        )?;
        out.write_all(&row)?;
        written += 1;
        Ok(())
    });
    if let Some(e) = tally.error() {
        s.lines = tally.lines();
        s.bytes = tally.bytes();
        s.written = written;
        return failed(s, describe_read_error(&e, tally.lines(), archive));
    }
    let summary = scored?;
    // Cover every line (trailing buckets without LOOK lines too), within DENSITY_MAX.
    while summary.lines.div_ceil(bucket) as usize > DENSITY_MAX {
        halve(&mut density, &mut bucket);
    }
    density.resize(summary.lines.div_ceil(bucket) as usize, 0);
    s.lines = summary.lines;
    s.look = summary.look;
    s.written = written;
    s.bytes = summary.bytes;
    s.truncated = summary.truncated;
    s.density = density;
    s.bucket = bucket;
    s.seconds = start.elapsed().as_secs_f64();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(data: &[u8], start: u64, end: Option<u64>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, data).unwrap();
        let input = UnitInput::Range {
            path: p.to_str().unwrap().into(),
            start,
            end,
        };
        let mut out = Vec::new();
        open_unit(&input).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn ranges_partition_the_lines_at_every_cut() {
        let data = b"first line\r\nsecond\n\nfourth line is longer\nlast-no-newline";
        for cut in 1..data.len() as u64 {
            let mut got = owned(data, 0, Some(cut));
            got.extend(owned(data, cut, None));
            assert_eq!(got, data.to_vec(), "cut at {cut}");
        }
        for chunk in 1..8u64 {
            let mut got = Vec::new();
            let mut s = 0;
            while s < data.len() as u64 {
                let e = s + chunk;
                got.extend(owned(data, s, (e < data.len() as u64).then_some(e)));
                s = e;
            }
            assert_eq!(got, data.to_vec(), "chunk {chunk}");
        }
        assert!(owned(b"", 0, None).is_empty());
    }

    #[test]
    fn a_long_line_belongs_to_the_range_where_it_starts() {
        let mut data = b"a\n".to_vec();
        data.extend(vec![b'x'; 100]);
        data.extend(b"\nb\n");
        assert_eq!(owned(&data, 0, Some(10)).len(), 2 + 101);
        assert!(owned(&data, 10, Some(50)).is_empty());
        assert_eq!(owned(&data, 50, None), b"b\n");
    }

    #[test]
    fn density_buckets_double_and_cover_all_lines() {
        let (mut d, mut b) = (Vec::new(), DENSITY_BUCKET);
        for i in 0..(DENSITY_MAX as u64 * DENSITY_BUCKET * 3) {
            add_density(&mut d, &mut b, i);
        }
        assert!(d.len() <= DENSITY_MAX);
        assert_eq!(b, DENSITY_BUCKET * 4);
        assert_eq!(
            d.iter().sum::<u64>(),
            DENSITY_MAX as u64 * DENSITY_BUCKET * 3
        );
    }
}

/// The Python binding: `lookskip_rs.classify_unit(classifier, kind, path, rows_path, …)`.
#[cfg(feature = "python")]
pub mod python {
    use std::fs::OpenOptions;
    use std::io::{BufWriter, Write};
    use std::path::PathBuf;

    use pyo3::exceptions::{PyOSError, PyValueError};
    use pyo3::prelude::*;
    use pyo3::types::PyDict;

    use super::{classify_unit as run, RowFormat, UnitInput};
    use crate::error::Error;
    use crate::python::PyClassifier;

    fn to_py(e: Error) -> PyErr {
        match e {
            Error::Io(m) => PyOSError::new_err(m),
            Error::Model(m) => PyValueError::new_err(m),
        }
    }

    /// Classify one unit of a bulk job (see `lookskip.bulk`), writing its LOOK rows to
    /// `rows_path` (truncated, or appended to with `append`; the caller renames it into
    /// place). Row numbers are `line_offset` + the line's number in the unit.
    ///
    /// `kind`: `range` (lines starting in `[start, end)` of a plain file), `whole`
    /// (plain or gzip file, `-` = stdin), `gz` (must be gzip) or `tar` (`size` bytes at
    /// `offset` of the tar stream, gzip-compressed if `gz`). Returns the unit's totals and density buckets.
    #[pyfunction]
    #[pyo3(signature = (classifier, kind, path, rows_path, start = 0, end = None, offset = 0,
                        size = 0, gz = false, threshold = None, max_look = None, prefix = None,
                        line_offset = 0, append = false))]
    #[allow(clippy::too_many_arguments)]
    fn classify_unit<'py>(
        py: Python<'py>,
        classifier: &Bound<'py, PyClassifier>,
        kind: &str,
        path: String,
        rows_path: PathBuf,
        start: u64,
        end: Option<u64>,
        offset: u64,
        size: u64,
        gz: bool,
        threshold: Option<f64>,
        max_look: Option<u64>,
        prefix: Option<Vec<u8>>,
        line_offset: u64,
        append: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let input = match kind {
            "range" => UnitInput::Range { path, start, end },
            "whole" => UnitInput::Whole { path },
            "gz" => UnitInput::Gzip { path },
            "tar" => UnitInput::TarMember {
                path,
                gz,
                offset,
                size,
            },
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown unit kind {other:?}"
                )))
            }
        };
        let engine = &classifier.get().engine;
        let threshold = threshold.unwrap_or(engine.clf.threshold);
        let s = py
            .detach(|| -> Result<_, Error> {
                let io_err = |e: std::io::Error| Error::Io(format!("{}: {e}", rows_path.display()));
                let file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(&rows_path)
                    .map_err(io_err)?;
                let mut w = BufWriter::with_capacity(1 << 20, file);
                let format = RowFormat {
                    prefix: prefix.as_deref(),
                    line_offset,
                    max_rows: max_look,
                };
                let s = run(engine, &input, threshold, &format, &mut w)?;
                w.flush().map_err(io_err)?;
                Ok(s)
            })
            .map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("lines", s.lines)?;
        d.set_item("look", s.look)?;
        d.set_item("written", s.written)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("truncated", s.truncated)?;
        d.set_item("seconds", s.seconds)?;
        d.set_item("density", s.density)?;
        d.set_item("bucket", s.bucket)?;
        d.set_item("error", s.error)?;
        Ok(d)
    }

    pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add_function(wrap_pyfunction!(classify_unit, m)?)
    }
}
