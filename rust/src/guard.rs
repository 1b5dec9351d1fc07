//! A regular file that must not shrink while it is read.
//!
//! Why: logrotate's `copytruncate` (or anyone's `: > app.log`) cuts a file to zero
//! while a reader is inside it. The next `read` then simply returns 0, which looks
//! exactly like the end of the file, and a run would report a third of the file as
//! the whole of it with no error. A plain end of file is only trusted when the file
//! is still at least as long as what was read, and as long as it was when the run
//! listed it; otherwise the read fails with a reason, and the unit says after how
//! many lines. Pipes and devices (no meaningful length) are never checked.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

pub struct ShrinkGuard {
    file: File,
    pos: u64,
    /// The length the file must still have at its end: its length when opened, or
    /// when listed (`listed`), whichever is larger; `None` for non-regular files.
    expect: Option<u64>,
}

impl ShrinkGuard {
    /// Open `path`; `listed` is its size when the run listed it (0: unknown).
    pub fn open(path: &str, listed: u64) -> io::Result<Self> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let expect = meta.is_file().then(|| meta.len().max(listed));
        Ok(Self {
            file,
            pos: 0,
            expect,
        })
    }

    fn check_end(&self) -> io::Result<()> {
        let Some(expect) = self.expect else {
            return Ok(());
        };
        let now = self.file.metadata()?.len();
        if now < expect.max(self.pos) {
            return Err(io::Error::other(format!(
                "file shrank while being read (now {now} bytes, was {} bytes; \
                 truncated, e.g. by log rotation)",
                expect.max(self.pos)
            )));
        }
        Ok(())
    }
}

impl Read for ShrinkGuard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.check_end()?;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ShrinkGuard {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_cut_while_read_is_an_error_not_an_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, vec![b'a'; 1000]).unwrap();
        let path = p.to_str().unwrap();

        let mut g = ShrinkGuard::open(path, 0).unwrap();
        let mut buf = [0u8; 600];
        assert_eq!(g.read(&mut buf).unwrap(), 600);
        std::fs::File::create(&p).unwrap().write_all(b"new\n").unwrap(); // copytruncate
        let e = g.read(&mut buf).unwrap_err();
        assert!(e.to_string().contains("shrank while being read"), "{e}");

        // Cut between listing (1000 bytes) and opening: the end is not trusted either.
        let mut g = ShrinkGuard::open(path, 1000).unwrap();
        assert_eq!(g.read(&mut buf).unwrap(), 4);
        assert!(g.read(&mut buf).is_err());

        // A file read to its real end is fine.
        let mut g = ShrinkGuard::open(path, 4).unwrap();
        let mut all = Vec::new();
        g.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"new\n");
    }
}
