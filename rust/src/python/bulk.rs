//! `lookskip_rs.classify_unit` and `ReadProgress`: the PyO3 face of `bulk::classify_unit`
//! and of `stream::ReadProgress`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::{PyBrokenPipeError, PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::handles::{watch, PyBaseline, PyClassifier, PyReadProgress};
use crate::bulk::{classify_unit as run, open_unit, UnitInput, UnitReader};
use crate::engine::Triage;
use crate::error::Error;
use crate::patterns::Patterns;
use crate::rows::{RowFormat, RowStyle};

#[pymethods]
impl PyReadProgress {
    #[new]
    fn new() -> Self {
        Self::default()
    }
    #[getter]
    fn bytes(&self) -> u64 {
        self.inner.bytes()
    }
    #[getter]
    fn lines(&self) -> u64 {
        self.inner.lines()
    }
    /// `(bytes, lines)` read so far.
    fn snapshot(&self) -> (u64, u64) {
        (self.inner.bytes(), self.inner.lines())
    }
    fn reset(&self) {
        self.inner.reset();
    }
    fn __repr__(&self) -> String {
        format!(
            "ReadProgress(bytes={}, lines={})",
            self.inner.bytes(),
            self.inner.lines()
        )
    }
}

/// Where a unit's rows go: a file path, or an open file descriptor (`sys.stdout`'s:
/// rows straight to stdout, written by the same writer as rows to a file).
#[derive(FromPyObject)]
enum Sink {
    Fd(i32),
    Path(PathBuf),
}

impl Sink {
    /// Run `body` with a buffered writer on the sink, flushed at the end. A file is
    /// truncated, or appended to with `append`; a descriptor is borrowed, never
    /// closed. A reader that went away (`| head`) is `BrokenPipeError`, as a Python
    /// write to it would be, so the caller can stop quietly.
    fn write<T>(
        &self,
        append: bool,
        body: impl FnOnce(&mut dyn Write) -> Result<T, Error>,
    ) -> PyResult<T> {
        let shown = match self {
            Sink::Fd(fd) => format!("fd {fd}"),
            Sink::Path(p) => p.display().to_string(),
        };
        let io_err = |e: io::Error| Error::Io(format!("{shown}: {e}"));
        let owned;
        let borrowed;
        let file: &File = match self {
            Sink::Path(path) => {
                owned = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(path)
                    .map_err(io_err)?;
                &owned
            }
            Sink::Fd(fd) => {
                borrowed = ManuallyDrop::new(borrow_fd(*fd).map_err(io_err)?);
                &borrowed
            }
        };
        let mut w = Watched {
            inner: BufWriter::with_capacity(1 << 20, file),
            broken: false,
        };
        let value = body(&mut w).and_then(|v| w.flush().map(|()| v).map_err(io_err));
        match value {
            Err(e) if w.broken => Err(PyBrokenPipeError::new_err(e.to_string())),
            other => Ok(other?),
        }
    }
}

/// A writer that remembers whether the reader went away (`EPIPE`).
struct Watched<W: Write> {
    inner: W,
    broken: bool,
}

impl<W: Write> Watched<W> {
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe) {
            self.broken = true;
        }
        r
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let r = self.inner.write_all(buf);
        self.note(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

/// A `File` on a descriptor the caller keeps open (the caller's `ManuallyDrop`
/// never closes it).
#[cfg(unix)]
fn borrow_fd(fd: i32) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(9)); // EBADF
    }
    // SAFETY: the caller (Python) holds `fd` open for the whole call, and the File
    // is wrapped in ManuallyDrop, so it is never closed here.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(not(unix))]
fn borrow_fd(_fd: i32) -> io::Result<File> {
    Err(io::Error::other("rows to a file descriptor need a Unix system"))
}

/// Classify one unit of a bulk job (see `lookskip.bulk`), writing its LOOK rows to
/// `rows_path`: a path (truncated, or appended to with `append`; the caller renames
/// it into place) or an open file descriptor (an int: `sys.stdout.fileno()`, rows
/// straight to stdout). Row numbers are `line_offset` + the line's number in the unit.
/// `fmt`: `jsonl` (JSON rows; `prefix` their start, none for part rows) or `text`
/// (`file:line:prob:text`; `prefix` the file's name as text rows print it).
///
/// `kind`: `plain` (lines starting in `[start, end)` of a plain file that had `size`
/// bytes when listed: found shorter, it was cut while read, an error), `whole`
/// (plain or compressed file, by its magic bytes; `-` = stdin), `gz` (must be gzip),
/// `tar` (`size` bytes at `offset` of the tar stream, compressed or not) or `blocks`
/// (the unit's owned bytes are the `bytes` items of the iterator `blocks`, e.g. what
/// Python reads through fsspec or zipfile; `path` unused; `start > 0`: they do not
/// start their stream). An exception the iterator raises ends the unit with its
/// message as the error. Returns the unit's totals and density buckets.
/// `why`, `baseline`, `only_new`, `events`: what the rows add (`engine::Triage`).
/// `progress` (a `ReadProgress`) counts the unit's bytes and lines as they are read.
/// `patterns`: also return `patterns`, the per-key aggregates of the unit's LOOK
/// lines as JSON (`patterns.rs`; line numbers within the unit).
#[pyfunction]
#[pyo3(signature = (classifier, kind, path, rows_path, start = 0, end = None, offset = 0,
                    size = 0, threshold = None, max_look = None, prefix = None,
                    line_offset = 0, append = false, why = 0, baseline = None,
                    only_new = false, events = false, progress = None, fmt = "jsonl",
                    patterns = false, blocks = None))]
#[allow(clippy::too_many_arguments)]
fn classify_unit<'py>(
    py: Python<'py>,
    classifier: &Bound<'py, PyClassifier>,
    kind: &str,
    path: String,
    rows_path: Sink,
    start: u64,
    end: Option<u64>,
    offset: u64,
    size: u64,
    threshold: Option<f64>,
    max_look: Option<u64>,
    prefix: Option<Vec<u8>>,
    line_offset: u64,
    append: bool,
    why: usize,
    baseline: Option<&Bound<'py, PyBaseline>>,
    only_new: bool,
    events: bool,
    progress: Option<&Bound<'py, PyReadProgress>>,
    fmt: &str,
    patterns: bool,
    blocks: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let progress = watch(progress);
    let aggregates = patterns.then(|| Mutex::new(Patterns::new()));
    let style = match fmt {
        "jsonl" => RowStyle::Jsonl,
        "text" => RowStyle::Text,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown row format {other:?} (jsonl or text)"
            )))
        }
    };
    // Opened inside `detach` below: opening a FIFO blocks until its writer comes,
    // which may be a Python thread that needs the GIL.
    let input = match (kind, blocks) {
        ("blocks", Some(blocks)) => Source::Blocks(blocks),
        ("blocks", None) => return Err(PyValueError::new_err("kind='blocks' needs blocks")),
        _ => Source::Input(unit_input(kind, path, start, end, offset, size)?),
    };
    let engine = &classifier.get().engine;
    let threshold = threshold.unwrap_or(engine.threshold());
    let guard = PyBaseline::held(baseline, &engine.clf)?;
    let triage = Triage {
        why,
        baseline: guard.as_deref(),
        only_new,
        events,
        patterns: aggregates.as_ref(),
    };
    let format = RowFormat {
        prefix: prefix.as_deref(),
        line_offset,
        max_rows: max_look,
        style,
    };
    let s = py.detach(|| {
        rows_path.write(append, |w| {
            let unit = match input {
                Source::Input(input) => UnitReader::open(&input),
                Source::Blocks(blocks) => UnitReader {
                    reader: Ok(Box::new(PyBlocks::new(blocks))),
                    first: start == 0,
                    archive: false,
                },
            };
            run(engine, unit, threshold, &format, &triage, w, progress)
        })
    })?;
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
    d.set_item("look_new", s.look_new)?;
    d.set_item("look_events", s.look_events)?;
    if let Some(a) = &aggregates {
        let a = a.lock().unwrap_or_else(|p| p.into_inner());
        d.set_item("patterns", a.to_json())?;
    }
    Ok(d)
}

/// Where `classify_unit`'s bytes come from: a unit Rust opens, or Python's blocks.
enum Source {
    Input(UnitInput),
    Blocks(Py<PyAny>),
}

/// The bytes of a Python iterator of `bytes` blocks, read with the GIL taken per
/// block (a few MiB). A `BufRead` itself, serving each block where it lies: wrapped in
/// a `BufReader`, every byte was copied once more.
struct PyBlocks {
    blocks: Py<PyAny>,
    block: Vec<u8>,
    at: usize,
    done: bool,
}

impl PyBlocks {
    fn new(blocks: Py<PyAny>) -> Self {
        Self {
            blocks,
            block: Vec::new(),
            at: 0,
            done: false,
        }
    }

    /// The next block, None at the end; an exception is a read error with its message.
    fn next_block(&self) -> io::Result<Option<Vec<u8>>> {
        Python::attach(|py| match self.blocks.bind(py).call_method0("__next__") {
            Ok(b) => match b.cast::<PyBytes>() {
                Ok(b) => Ok(Some(b.as_bytes().to_vec())),
                Err(e) => Err(io::Error::other(PyErr::from(e).value(py).to_string())),
            },
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => Ok(None),
            Err(e) => Err(io::Error::other(e.value(py).to_string())),
        })
    }
}

impl BufRead for PyBlocks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.block.len() && !self.done {
            let next = self.next_block();
            self.done = !matches!(next, Ok(Some(_)));
            if let Some(b) = next? {
                (self.block, self.at) = (b, 0);
            }
        }
        Ok(&self.block[self.at.min(self.block.len())..])
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }
}

impl Read for PyBlocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.fill_buf()?;
        let n = buf.len().min(got.len());
        buf[..n].copy_from_slice(&got[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The `UnitInput` a unit's `kind` and numbers name (see `classify_unit`).
fn unit_input(
    kind: &str,
    path: String,
    start: u64,
    end: Option<u64>,
    offset: u64,
    size: u64,
) -> PyResult<UnitInput> {
    Ok(match kind {
        "plain" => UnitInput::Plain {
            path,
            start,
            end,
            listed: size,
        },
        "whole" => UnitInput::Whole { path },
        "gz" => UnitInput::Gzip { path },
        "tar" => UnitInput::TarMember { path, offset, size },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown unit kind {other:?}"
            )))
        }
    })
}

/// `(lines, bytes)` a unit owns, as `classify_unit` would count them, without
/// scoring (a newline count: memchr over the unit's bytes). Why: the units of one
/// large file can then be scored at once, each knowing its first line's number.
#[pyfunction]
#[pyo3(signature = (kind, path, start = 0, end = None, offset = 0, size = 0))]
fn count_unit_lines(
    py: Python<'_>,
    kind: &str,
    path: String,
    start: u64,
    end: Option<u64>,
    offset: u64,
    size: u64,
) -> PyResult<(u64, u64)> {
    let input = unit_input(kind, path, start, end, offset, size)?;
    let shown = format!("{input:?}");
    py.detach(|| -> io::Result<(u64, u64)> {
        let mut r = open_unit(&input)?;
        let (mut lines, mut bytes, mut last) = (0u64, 0u64, b'\n');
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            lines += memchr::memchr_iter(b'\n', buf).count() as u64;
            bytes += buf.len() as u64;
            last = buf[buf.len() - 1];
            let n = buf.len();
            r.consume(n);
        }
        Ok((lines + u64::from(last != b'\n'), bytes))
    })
    .map_err(|e| Error::Io(format!("{shown}: {e}")).into())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReadProgress>()?;
    m.add("BINARY_PROBE", crate::bulk::BINARY_PROBE)?;
    m.add("BINARY_ERROR", crate::bulk::BINARY_ERROR)?;
    m.add_function(wrap_pyfunction!(count_unit_lines, m)?)?;
    m.add_function(wrap_pyfunction!(classify_unit, m)?)
}
