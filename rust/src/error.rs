//! One error type for the core; the Python layer maps it to `OSError` / `ValueError`.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Reading a file failed (missing, unreadable, corrupt compression).
    Io(String),
    /// The model file is not a valid lookskip model.
    Model(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(m) | Error::Model(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
