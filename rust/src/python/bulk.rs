//! `lookskip_rs.classify_unit` and `ReadProgress`: the PyO3 face of `bulk::classify_unit`
//! and of `stream::ReadProgress`.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::baseline::PyBaseline;
use super::classifier::PyClassifier;
use crate::bulk::{classify_unit as run, UnitInput};
use crate::engine::Triage;
use crate::error::Error;
use crate::rows::RowFormat;
use crate::stream::ReadProgress;

/// Bytes and lines read so far by the `classify_unit` / `Classifier.classify_file`
/// calls it is passed to, readable from another thread while they run (they release
/// the GIL): what a progress bar polls to move within a file. `reset()` between
/// calls; reading it costs a lock and an atomic load, and costs the reader nothing.
#[pyclass(module = "lookskip_rs", name = "ReadProgress", frozen)]
#[derive(Default)]
pub struct PyReadProgress {
    pub(crate) inner: Arc<ReadProgress>,
}

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

/// The counter inside an optional `ReadProgress` argument.
pub(crate) fn watch(progress: Option<&Bound<'_, PyReadProgress>>) -> Option<Arc<ReadProgress>> {
    progress.map(|p| Arc::clone(&p.get().inner))
}

/// Classify one unit of a bulk job (see `lookskip.bulk`), writing its LOOK rows to
/// `rows_path` (truncated, or appended to with `append`; the caller renames it into
/// place). Row numbers are `line_offset` + the line's number in the unit.
///
/// `kind`: `plain` (lines starting in `[start, end)` of a plain file that had `size`
/// bytes when listed: found shorter, it was cut while read, an error), `whole`
/// (plain or compressed file, by its magic bytes; `-` = stdin), `gz` (must be gzip) or
/// `tar` (`size` bytes at `offset` of the tar stream, compressed or not). Returns the
/// unit's totals and density buckets.
/// `why`, `baseline`, `only_new`, `events`: what the rows add (`engine::Triage`).
/// `progress` (a `ReadProgress`) counts the unit's bytes and lines as they are read.
#[pyfunction]
#[pyo3(signature = (classifier, kind, path, rows_path, start = 0, end = None, offset = 0,
                    size = 0, threshold = None, max_look = None, prefix = None,
                    line_offset = 0, append = false, why = 0, baseline = None,
                    only_new = false, events = false, progress = None))]
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
) -> PyResult<Bound<'py, PyDict>> {
    let progress = watch(progress);
    let input = match kind {
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
    };
    let engine = &classifier.get().engine;
    let threshold = threshold.unwrap_or(engine.threshold());
    if let Some(b) = baseline {
        b.get().check(&engine.clf)?;
    }
    let guard = baseline.map(|b| b.get().read());
    let triage = Triage {
        why,
        baseline: guard.as_deref(),
        only_new,
        events,
    };
    let s = py.detach(|| -> Result<_, Error> {
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
        let s = run(
            engine, &input, threshold, &format, &triage, &mut w, progress,
        )?;
        w.flush().map_err(io_err)?;
        Ok(s)
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
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReadProgress>()?;
    m.add_function(wrap_pyfunction!(classify_unit, m)?)
}
