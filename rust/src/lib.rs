//! lookskip_rs: the LOOK/SKIP log-line classifier in Rust.
//!
//! The core is plain Rust (usable and tested without Python): `model` loads the
//! exported file, `key` (template keys), `ngrams`/`chargrams`/`features` reproduce the Python
//! transforms, `keycache` scores each distinct key once,
//! `score` computes `p_look`, `stream` reads files, `engine` runs it in parallel.
//! `bulk` scores units of bulk jobs and whole files, `rows` writes their output rows,
//! `patterns` aggregates their LOOK lines per key for the report.
//! `modes` plugs the transformer (`bert`) in where a key gets its probability, reading
//! `model_input` (the twin of Python's `lookskip.transformer.inputs`).
//! `python/` is the thin PyO3 layer (cargo feature `python`, on by default), one file
//! per core area: a new area (as `bert`, behind its own cargo feature) adds its module
//! here and its bindings file there, registered in `python/mod.rs`.

pub mod answers;
pub mod atomic;
pub mod baseline;
#[cfg(feature = "bert")]
pub mod bert;
pub mod bulk;
pub mod chargrams;
pub mod engine;
pub mod error;
pub mod events;
pub mod features;
pub mod guard;
pub mod jsonlog;
pub mod key;
pub mod keycache;
pub mod model;
pub mod model_input;
pub mod modes;
pub mod ngrams;
pub mod patterns;
pub mod rows;
pub mod rx;
pub mod score;
pub mod stream;

#[cfg(feature = "python")]
mod python;

pub use engine::{Engine, FileSummary, LookLine, DEFAULT_MAX_LINE_BYTES};
pub use error::{Error, Result};
pub use score::Classifier;
