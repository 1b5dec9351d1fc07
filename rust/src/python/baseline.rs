//! `lookskip_rs.Baseline`: the PyO3 face of `baseline::Baseline`.

use std::path::PathBuf;
use std::sync::RwLock;

use pyo3::prelude::*;

use super::handles::{LineArg, PyBaseline, PyClassifier};
use crate::baseline::Baseline;

#[pymethods]
impl PyBaseline {
    /// An empty baseline for `classifier`'s keys.
    #[new]
    fn new(classifier: &Bound<'_, PyClassifier>) -> Self {
        let fp = classifier.get().engine.clf.key_fingerprint();
        Self {
            inner: RwLock::new(Baseline::new(&fp)),
        }
    }

    /// Add the lines' scored keys (str, or bytes decoded lossily).
    fn add_lines(
        &self,
        py: Python<'_>,
        classifier: &Bound<'_, PyClassifier>,
        lines: Vec<LineArg>,
    ) -> PyResult<()> {
        let engine = &classifier.get().engine;
        self.check(&engine.clf)?;
        py.detach(|| {
            let mut b = self.inner.write().unwrap_or_else(|p| p.into_inner());
            engine.add_to_baseline(&lines, &mut b);
        });
        Ok(())
    }

    /// Add `other`'s keys (both must be made under the same key rules).
    fn merge(&self, other: &Bound<'_, PyBaseline>) -> PyResult<()> {
        let theirs = other.get().read().clone();
        let mut b = self.inner.write().unwrap_or_else(|p| p.into_inner());
        theirs.check(&b.info.fingerprint)?;
        b.merge(&theirs);
        Ok(())
    }

    /// Name a source in the baseline's record (`sources`).
    fn add_source(&self, name: String) {
        let mut b = self.inner.write().unwrap_or_else(|p| p.into_inner());
        b.info.sources.push(name);
    }

    /// Write the keys to `path` (gzip, atomically).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let b = self.read();
        let b: &Baseline = &b;
        Ok(py.detach(|| b.save(&path))?)
    }

    /// A saved baseline, checked against `classifier`'s key rules.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf, classifier: &Bound<'_, PyClassifier>) -> PyResult<Self> {
        let b = py.detach(|| Baseline::load(&path))?;
        b.check(&classifier.get().engine.clf.key_fingerprint())?;
        Ok(Self {
            inner: RwLock::new(b),
        })
    }

    /// Whether each line's key is absent from the baseline.
    fn is_new(
        &self,
        py: Python<'_>,
        classifier: &Bound<'_, PyClassifier>,
        lines: Vec<LineArg>,
    ) -> PyResult<Vec<bool>> {
        let engine = &classifier.get().engine;
        self.check(&engine.clf)?;
        let b = self.read();
        let b: &Baseline = &b;
        Ok(py.detach(|| engine.is_new(&lines, b)))
    }

    fn __len__(&self) -> usize {
        self.read().len()
    }
    /// Lines the keys were read from.
    #[getter]
    fn lines(&self) -> u64 {
        self.read().info.lines
    }
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.read().info.sources.clone()
    }
    #[getter]
    fn fingerprint(&self) -> String {
        self.read().info.fingerprint.clone()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBaseline>()
}
