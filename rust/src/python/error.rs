//! The one mapping of the core's errors to Python exceptions: I/O → `OSError`, a bad
//! model or argument → `ValueError`.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::PyErr;

use crate::error::Error;

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(m) => PyOSError::new_err(m),
            Error::Model(m) => PyValueError::new_err(m),
        }
    }
}

#[cfg(feature = "bert")]
impl From<crate::bert::BertError> for PyErr {
    fn from(e: crate::bert::BertError) -> Self {
        PyValueError::new_err(e.0)
    }
}
