//! Atomic file writes: every output file (rows, baselines) is written beside its
//! place and renamed into it, so a reader never sees half of one. Its own module,
//! below `rows` and `baseline`, which both use it.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;

use crate::error::Error;

/// Write through a temp file beside `path`, renamed into place only on success.
pub fn write_atomically<T>(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> Result<T, Error>,
) -> Result<T, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    let io_err = |e: io::Error| Error::Io(format!("{}: {e}", path.display()));
    let run = || -> Result<T, Error> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io_err)?);
        let value = body(&mut w)?;
        w.into_inner()
            .map_err(|e| io_err(e.into_error()))?
            .sync_all()
            .map_err(io_err)?;
        fs::rename(&tmp, path).map_err(io_err)?;
        Ok(value)
    };
    let result = run();
    if result.is_err() {
        fs::remove_file(&tmp).ok();
    }
    result
}
