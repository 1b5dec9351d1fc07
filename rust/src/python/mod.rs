//! The PyO3 layer, one file per core area, mirroring the core's modules (as
//! tokenizers' `bindings/python` mirrors its core crate): `classifier` (the TF-IDF
//! classifier, `template_keys`), `bulk` (units of bulk classification), `bert` (the
//! candle BERT classifier), `error` (the one mapping of core errors to exceptions).
//! Each wrapper converts arguments, releases the GIL, calls the core and converts
//! the answer; the core builds and tests without this module (`--no-default-features`).

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};

mod baseline;
#[cfg(feature = "bert")]
mod bert;
mod bulk;
mod classifier;
mod error;

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

#[pymodule]
fn lookskip_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    classifier::register(m)?;
    bulk::register(m)?;
    baseline::register(m)?;
    #[cfg(feature = "bert")]
    bert::register(m)?;
    Ok(())
}
