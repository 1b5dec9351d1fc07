//! `lookskip_rs.BertClassifier`: the PyO3 face of [`crate::bert::BertClassifier`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use super::handles::LineArg;
use crate::bert::{device_from_env, BertClassifier};

/// The BERT LOOK/SKIP classifier of an export directory (`lookskip export-transformer`).
///
/// `device`: `auto` (the `LOOKSKIP_DEVICE` variable, else a GPU when this build has
/// one, else the CPU), `cpu`, `metal` or `cuda`. `threads=0` uses every core.
#[pyclass(module = "lookskip_rs", name = "BertClassifier", frozen)]
pub struct PyBertClassifier {
    /// Shared with a `Classifier` that scores in a transformer mode.
    pub(crate) inner: Arc<BertClassifier>,
    export_dir: String,
}

#[pymethods]
impl PyBertClassifier {
    #[new]
    #[pyo3(signature = (export_dir, device = "auto", threads = 0))]
    fn new(py: Python<'_>, export_dir: PathBuf, device: &str, threads: usize) -> PyResult<Self> {
        let inner = Arc::new(
            py.detach(|| BertClassifier::load(&export_dir, device_from_env(device)?, threads))?,
        );
        Ok(Self {
            inner,
            export_dir: export_dir.display().to_string(),
        })
    }

    /// P(LOOK) of each line as a float64 array, in input order.
    #[pyo3(signature = (lines, batch_size = 32))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        lines: Vec<LineArg>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let texts: Vec<Cow<'_, str>> = lines.iter().map(LineArg::text).collect();
        let probs = py.detach(|| {
            let refs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
            self.inner.predict_proba(&refs, batch_size)
        })?;
        Ok(probs
            .into_iter()
            .map(f64::from)
            .collect::<Vec<f64>>()
            .into_pyarray(py))
    }

    #[getter]
    fn export_dir(&self) -> &str {
        &self.export_dir
    }
    #[getter]
    fn device(&self) -> &'static str {
        self.inner.device_name()
    }
    #[getter]
    fn max_length(&self) -> usize {
        self.inner.max_length()
    }
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }
    /// What the export reads: `keys` (`model_input` of the line) or `lines`.
    #[getter]
    fn inputs(&self) -> &str {
        self.inner.inputs()
    }
    #[getter]
    fn threads(&self) -> usize {
        self.inner.threads()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBertClassifier>()
}
