//! What the bindings files pass each other: the Python-visible handles
//! (`Classifier`, `Baseline`, `ReadProgress`) as plain structs, and the line argument
//! (`LineArg`). `classifier.rs`, `baseline.rs`, `bulk.rs` and `bert.rs` take each
//! other's handles as arguments, so the structs live here, below them all; each file
//! adds only its own `#[pymethods]`, and no bindings file imports another.

use std::borrow::Cow;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};

use crate::baseline::Baseline;
use crate::engine::Engine;
use crate::error::Error;
use crate::score::Classifier;
use crate::stream::ReadProgress;

/// The LOOK/SKIP classifier of an exported model file (`look_skip_model.json.gz`).
///
/// `threads=0` uses every core; `threads=1` scores on the calling thread.
/// `max_line_bytes` caps how much of one line `classify_file` scores.
/// `cache_mib` bounds the key cache (all threads together; 0 turns it off): each
/// distinct template key is scored once, later lines of it are a lookup.
/// `json_fields`: a line that is a JSON object is scored on the first of these
/// fields (default `msg`, `message`, `log`; `[]`: JSON lines scored whole).
///
/// `mode`: `tfidf` (the model file alone), or `transformer`, `cascade`, `blend` with
/// `bert` (a `BertClassifier`): see `modes.rs`. `bert_threshold` overrides the
/// export's threshold; `candidate_threshold` is the cascade's TF-IDF threshold;
/// `memo_entries` bounds the transformer's memo of input scores (0: none).
#[pyclass(module = "lookskip_rs", name = "Classifier", frozen)]
pub struct PyClassifier {
    pub(crate) engine: Engine,
    pub(crate) model_path: String,
}

/// The template keys of known-good runs (see `baseline.rs`). Build one with
/// `Baseline(classifier)` + `add_lines`, keep it with `save`, read it back with
/// `Baseline.load(path, classifier)`; `is_new` and the classify calls compare a run
/// with it.
#[pyclass(module = "lookskip_rs", name = "Baseline", frozen)]
pub struct PyBaseline {
    pub(crate) inner: RwLock<Baseline>,
}

impl PyBaseline {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Baseline> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse a baseline made under another classifier's key rules.
    pub(crate) fn check(&self, clf: &Classifier) -> Result<(), Error> {
        self.read().check(&clf.key_fingerprint())
    }

    /// An optional baseline argument, checked against `clf` and held for reading
    /// while a classify call runs (its `Triage` borrows it).
    pub(crate) fn held<'a>(
        baseline: Option<&'a Bound<'_, PyBaseline>>,
        clf: &Classifier,
    ) -> Result<Option<RwLockReadGuard<'a, Baseline>>, Error> {
        baseline
            .map(|b| {
                let b = b.get();
                b.check(clf)?;
                Ok(b.read())
            })
            .transpose()
    }
}

/// Bytes and lines read so far by the `classify_unit` / `Classifier.classify_file`
/// calls it is passed to, readable from another thread while they run (they release
/// the GIL): what a progress bar polls to move within a file. `reset()` between
/// calls; reading it costs a lock and an atomic load, and costs the reader nothing.
#[pyclass(module = "lookskip_rs", name = "ReadProgress", frozen)]
#[derive(Default)]
pub struct PyReadProgress {
    pub(crate) inner: Arc<ReadProgress>,
}

/// The counter inside an optional `ReadProgress` argument.
pub(crate) fn watch(progress: Option<&Bound<'_, PyReadProgress>>) -> Option<Arc<ReadProgress>> {
    progress.map(|p| Arc::clone(&p.get().inner))
}

/// A line given as `str` (scored as is) or `bytes` (decoded lossily: invalid UTF-8 →
/// U+FFFD, as the core decodes).
#[derive(FromPyObject)]
pub(crate) enum LineArg {
    Str(PyBackedStr),
    Bytes(PyBackedBytes),
}

impl AsRef<[u8]> for LineArg {
    fn as_ref(&self) -> &[u8] {
        match self {
            LineArg::Str(s) => s.as_bytes(),
            LineArg::Bytes(b) => b.as_ref(),
        }
    }
}

impl LineArg {
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            LineArg::Str(s) => Cow::Borrowed(s),
            LineArg::Bytes(b) => String::from_utf8_lossy(b),
        }
    }
}
