//! The PyO3 layer, one file per core area, mirroring the core's modules (as
//! tokenizers' `bindings/python` mirrors its core crate): `classifier` (the TF-IDF
//! classifier, `template_keys`), `bulk` (units of bulk classification), `bert` (the
//! candle BERT classifier), `error` (the one mapping of core errors to exceptions).
//! Each wrapper converts arguments, releases the GIL, calls the core and converts
//! the answer; the core builds and tests without this module (`--no-default-features`).
//! The handle structs they pass each other live in `handles`, below them all.

use pyo3::prelude::*;

mod baseline;
#[cfg(feature = "bert")]
mod bert;
mod bulk;
mod classifier;
mod error;
mod handles;

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
