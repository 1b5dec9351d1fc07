//! Reading log files line by line without holding them: plain, gzip, xz, bzip2 or
//! zstd (detected by magic bytes, so a `.log` that is really gzip works too), `-` for
//! stdin. A compressed format not read here (lz4, .Z, 7z …) is named as such.
//!
//! Lines are split on `\n` (a `\r` before it is dropped too). A line longer than
//! the cap keeps only its first `cap` bytes for scoring (a code point cut in two
//! decodes to U+FFFD, as in Python); the rest is skipped without being buffered, so one 10 GB line costs no
//! more memory than a short one.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::read::MultiGzDecoder;

use crate::guard::ShrinkGuard;

/// A compressed format read as a stream, known by its magic bytes (never by the name:
/// `app.log` may be gzip, `app.log.gz` may be plain). Concatenated members or frames
/// (`cat a.gz b.gz`, `pzstd`, `pbzip2` output) are read through, as `zcat` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// bzip2: `BZh`, the block size `1`-`9`, then a block (π) or end-of-stream (√π) magic:
/// ten bytes, so a text log that happens to start with "BZh" stays text.
const BZIP2_BLOCKS: [&[u8]; 2] = [
    &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59],
    &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90],
];

impl Compression {
    /// The format a stream whose first bytes are `head` is in, if one read here.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Self::Gzip)
        } else if head.starts_with(XZ_MAGIC) {
            Some(Self::Xz)
        } else if head.starts_with(ZSTD_MAGIC) {
            Some(Self::Zstd)
        } else if head.len() >= 10
            && head.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && BZIP2_BLOCKS.contains(&&head[4..10])
        {
            Some(Self::Bzip2)
        } else {
            None
        }
    }

    /// The decompressed bytes of `r`.
    pub fn decode<R: BufRead + Send + 'static>(self, r: R) -> io::Result<Box<dyn BufRead + Send>> {
        let inner: Box<dyn Read + Send> = match self {
            Self::Gzip => Box::new(MultiGzDecoder::new(r)),
            Self::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
            Self::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        };
        Ok(Box::new(BufReader::with_capacity(BUF, inner)))
    }
}

/// `r` decompressed if it starts with a format read here, else as it is.
pub fn decompressed<R: BufRead + Send + 'static>(mut r: R) -> io::Result<Box<dyn BufRead + Send>> {
    match Compression::sniff(r.fill_buf()?) {
        Some(c) => c.decode(r),
        None => Ok(Box::new(r)),
    }
}

/// Compressed formats recognised but not read: named in the error, so a `.lz4` log is
/// not reported as a "binary file" (Python: `lookskip.compression.UNSUPPORTED`).
const UNSUPPORTED: [(&[u8], &str); 6] = [
    (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
    (&[0x1f, 0x9d], "compress (.Z)"),
    (b"LZIP\x01", "lzip"),
    (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c], "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (&[0x5d, 0x00, 0x00], "lzma (legacy .lzma)"),
];

/// The error for a stream that starts with a compressed format not read here.
pub fn unsupported_compression(head: &[u8]) -> Option<String> {
    UNSUPPORTED
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, name)| {
            format!(
                "{name}-compressed input: a format lookskip does not read (decompress it \
                 first; gzip, xz, bzip2 and zstd are read directly)"
            )
        })
}

/// A read error in words (a gzip stream cut short or damaged says so), with how
/// many complete lines the input gave before it.
pub fn read_error(e: &io::Error, lines: u64) -> String {
    describe_read_error(e, lines, false)
}

pub fn describe_read_error(e: &io::Error, lines: u64, archive: bool) -> String {
    let msg = e.to_string();
    let what = if msg.starts_with("truncated archive") {
        msg
    } else {
        match e.kind() {
            io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof => {
                if archive {
                    format!("truncated or corrupt archive ({msg})")
                } else {
                    format!("corrupt or truncated compressed input ({msg})")
                }
            }
            _ => msg,
        }
    };
    if lines > 0 {
        format!("{what}, after {lines} complete lines")
    } else {
        what
    }
}

const BUF: usize = 1 << 20;

/// Open `path` for line reading; `-` is stdin. Compression is detected from the first
/// bytes (`Compression::sniff`).
pub fn open_input(path: &str) -> io::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(ShrinkGuard::open(path, 0)?)
    };
    decompressed(BufReader::with_capacity(BUF, raw))
}

/// What a reader handed on: complete lines and bytes consumed, and its first error.
///
/// Why: a caller must know that its input failed (a gzip stream or an archive cut
/// short) whatever the consumer does with the error, and how far the input got. The
/// engine's reader thread may end on an error that never reaches the caller (it exits,
/// the scoring side then finds no one to hand the batch back to and stops as if the
/// input had ended), so callers read the verdict from the tally, not from the result.
#[derive(Debug, Default)]
pub struct ReadTally {
    lines: AtomicU64,
    bytes: AtomicU64,
    error: Mutex<Option<io::Error>>,
}

impl ReadTally {
    /// `\n`-terminated lines consumed so far.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// The first read error (kind and message), if the input failed.
    pub fn error(&self) -> Option<io::Error> {
        let guard = self.error.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .map(|e| io::Error::new(e.kind(), e.to_string()))
    }
    fn record(&self, e: &io::Error) {
        let mut guard = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(io::Error::new(e.kind(), e.to_string()));
        }
    }
}

/// Bytes and `\n`-terminated lines read so far by the input being read, for whoever
/// watches (a progress bar).
///
/// Why it reads the input's own [`ReadTally`] instead of counting: a progress bar must
/// move *within* a file (one unit can be minutes of reading), and calling into Python
/// per line or per batch would cost what the Rust path exists to save. The tally
/// already counts every consumed line with relaxed atomics; a watched input registers
/// its tally here when it is opened (one lock per input), and the watcher loads the
/// tally's counters a few times a second: nothing is added per line. The figures may
/// run ahead of scoring by the batches in flight (at most ~16 MiB).
#[derive(Debug, Default)]
pub struct ReadProgress {
    current: Mutex<Option<Arc<ReadTally>>>,
}

impl ReadProgress {
    fn watch(&self, tally: &Arc<ReadTally>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(tally));
    }
    fn read<T>(&self, f: impl FnOnce(&ReadTally) -> T, none: T) -> T {
        let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_deref().map_or(none, f)
    }
    /// Bytes the input being read (the last one opened since `reset`) has consumed.
    pub fn bytes(&self) -> u64 {
        self.read(ReadTally::bytes, 0)
    }
    pub fn lines(&self) -> u64 {
        self.read(ReadTally::lines, 0)
    }
    /// Back to zero: forget the input (the caller does it between inputs).
    pub fn reset(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// A `BufRead` that counts what passes through it into a shared [`ReadTally`].
pub struct Tallied<R: BufRead> {
    inner: R,
    tally: Arc<ReadTally>,
}

impl<R: BufRead> Tallied<R> {
    pub fn new(inner: R) -> (Self, Arc<ReadTally>) {
        let tally = Arc::new(ReadTally::default());
        (
            Self {
                inner,
                tally: Arc::clone(&tally),
            },
            tally,
        )
    }

    /// As [`Tallied::new`], with the tally shown to `watch` (see [`ReadProgress`]).
    pub fn watched(inner: R, watch: Option<Arc<ReadProgress>>) -> (Self, Arc<ReadTally>) {
        let (me, tally) = Self::new(inner);
        if let Some(w) = watch {
            w.watch(&tally);
        }
        (me, tally)
    }
}

impl<R: BufRead> Read for Tallied<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tallied<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let tally = &self.tally;
        match self.inner.fill_buf() {
            Ok(buf) => Ok(buf),
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    tally.record(&e);
                }
                Err(e)
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            // The bytes being consumed are the front of the buffer the last
            // `fill_buf` returned; asking again returns them without reading.
            if let Ok(buf) = self.inner.fill_buf() {
                let seen = &buf[..amt.min(buf.len())];
                let lines = memchr::memchr_iter(b'\n', seen).count() as u64;
                self.tally.lines.fetch_add(lines, Ordering::Relaxed);
            }
            self.tally.bytes.fetch_add(amt as u64, Ordering::Relaxed);
        }
        self.inner.consume(amt);
    }
}

/// One line of a batch: its span in `Batch::data` and whether it was cut.
#[derive(Clone, Copy, Debug)]
pub struct LineSpan {
    pub start: usize,
    pub end: usize,
    pub truncated: bool,
}

/// Many lines packed into one buffer: a batch is the unit of parallel scoring.
#[derive(Default)]
pub struct Batch {
    pub data: Vec<u8>,
    pub lines: Vec<LineSpan>,
    /// Line number (1-based) of the first line.
    pub first_line: u64,
    /// Bytes consumed from the (decompressed) input, terminators included.
    pub raw_bytes: u64,
}

impl Batch {
    pub fn line(&self, i: usize) -> &[u8] {
        let s = self.lines[i];
        &self.data[s.start..s.end]
    }
}

pub struct LineReader<R: BufRead> {
    inner: R,
    cap: usize,
    next_line: u64,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self {
            inner,
            cap: max_line_bytes.max(1),
            next_line: 1,
            done: false,
        }
    }

    /// Fill `batch` (cleared first) with up to `max_lines` lines or about `max_bytes`
    /// of data. Returns false when the input had no more lines.
    pub fn fill(
        &mut self,
        batch: &mut Batch,
        max_lines: usize,
        max_bytes: usize,
    ) -> io::Result<bool> {
        batch.data.clear();
        batch.lines.clear();
        batch.raw_bytes = 0;
        batch.first_line = self.next_line;
        while !self.done && batch.lines.len() < max_lines && batch.data.len() < max_bytes {
            let start = batch.data.len();
            match self.read_line(&mut batch.data)? {
                Some((raw, truncated)) => {
                    batch.raw_bytes += raw;
                    batch.lines.push(LineSpan {
                        start,
                        end: batch.data.len(),
                        truncated,
                    });
                    self.next_line += 1;
                }
                None => self.done = true,
            }
        }
        Ok(!batch.lines.is_empty())
    }

    /// Append the next line (without terminator, capped) to `out`.
    /// Returns (raw bytes consumed, truncated) or None at end of input.
    fn read_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<(u64, bool)>> {
        let start = out.len();
        let mut raw = 0u64;
        let mut kept = 0usize;
        let mut truncated = false;
        let mut terminated = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let (piece, used, found) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = self.cap - kept;
            if piece.len() > room {
                truncated = true;
            }
            let take = piece.len().min(room);
            out.extend_from_slice(&piece[..take]);
            kept += take;
            raw += used as u64;
            self.inner.consume(used);
            if found {
                terminated = true;
                break;
            }
        }
        if raw == 0 {
            return Ok(None);
        }
        if terminated && !truncated && out.len() > start && out[out.len() - 1] == b'\r' {
            out.pop();
        }
        Ok(Some((raw, truncated)))
    }
}

/// Count lines as fast as the input allows (the floor a classifier is compared with).
pub fn count_lines(path: &str) -> io::Result<(u64, u64)> {
    let mut r = open_input(path)?;
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut last = b'\n';
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        lines += memchr::memchr_iter(b'\n', buf).count() as u64;
        last = buf[buf.len() - 1];
        bytes += buf.len() as u64;
        let n = buf.len();
        r.consume(n);
    }
    if last != b'\n' {
        lines += 1;
    }
    Ok((lines, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn compress(kind: Compression, data: &[u8]) -> Vec<u8> {
        match kind {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
        }
    }

    #[test]
    fn every_format_is_sniffed_and_read_through_concatenated_streams() {
        let kinds = [
            Compression::Gzip,
            Compression::Xz,
            Compression::Bzip2,
            Compression::Zstd,
        ];
        for kind in kinds {
            let mut data = compress(kind, b"one\ntwo\n");
            data.extend(compress(kind, b"three\n"));
            assert_eq!(Compression::sniff(&data), Some(kind));
            let mut out = Vec::new();
            decompressed(io::Cursor::new(data))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"one\ntwo\nthree\n", "{kind:?}");
        }
    }

    #[test]
    fn text_that_looks_like_a_magic_stays_text() {
        assert_eq!(Compression::sniff(b"BZh9 is not a bzip2 header\n"), None);
        let mut out = Vec::new();
        decompressed(&b"BZh5 hello\n"[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"BZh5 hello\n");
    }

    #[test]
    fn unsupported_formats_are_named() {
        let lz4 = [0x04, 0x22, 0x4d, 0x18, 0x64, 0x40];
        assert!(unsupported_compression(&lz4)
            .unwrap()
            .starts_with("lz4-compressed input"));
        assert!(unsupported_compression(b"plain text").is_none());
    }

    fn lines_of(data: &[u8], cap: usize) -> Vec<(Vec<u8>, bool)> {
        let mut r = LineReader::new(BufReader::with_capacity(7, data), cap);
        let mut b = Batch::default();
        let mut out = Vec::new();
        while r.fill(&mut b, 3, 1 << 20).unwrap() {
            for (i, s) in b.lines.iter().enumerate() {
                out.push((b.line(i).to_vec(), s.truncated));
            }
        }
        out
    }

    #[test]
    fn splits_on_newline_and_drops_cr() {
        let got = lines_of(b"a\r\nb\n\nc\rd\nlast", 100);
        let want: Vec<(Vec<u8>, bool)> = vec![
            (b"a".to_vec(), false),
            (b"b".to_vec(), false),
            (b"".to_vec(), false),
            (b"c\rd".to_vec(), false),
            (b"last".to_vec(), false),
        ];
        assert_eq!(got, want);
        assert!(lines_of(b"", 10).is_empty());
        assert_eq!(lines_of(b"\n", 10), vec![(b"".to_vec(), false)]);
    }

    #[test]
    fn caps_long_lines() {
        let mut data = "é".repeat(20).into_bytes(); // 40 bytes
        data.extend_from_slice(b"\nshort\n");
        let got = lines_of(&data, 11);
        assert_eq!(got[0], (data[..11].to_vec(), true));
        assert_eq!(got[1], (b"short".to_vec(), false));
    }

    /// A reader that yields `data` and then fails, as a gzip stream cut short does.
    struct FailsAfter<'a> {
        data: &'a [u8],
    }

    impl Read for FailsAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut short"));
            }
            let n = self.data.len().min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_tally_keeps_the_first_read_error_and_the_lines_before_it() {
        let data = b"one\ntwo\nthree\npartial";
        let (r, tally) = Tallied::new(BufReader::with_capacity(5, FailsAfter { data }));
        let mut lr = LineReader::new(r, 100);
        let mut b = Batch::default();
        assert!(lr.fill(&mut b, 2, 1 << 20).unwrap());
        assert!(lr.fill(&mut b, 10, 1 << 20).is_err());
        assert_eq!(tally.lines(), 3);
        assert_eq!(tally.bytes(), data.len() as u64);
        let e = tally.error().expect("the error is kept");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), "cut short");

        let (r, tally) = Tallied::new(BufReader::new(&b"a\nb\n"[..]));
        let mut lr = LineReader::new(r, 100);
        while lr.fill(&mut b, 1, 1 << 20).unwrap() {}
        assert!(tally.error().is_none());
        assert_eq!(tally.lines(), 2);
    }

    #[test]
    fn a_watcher_sees_what_was_read_while_it_is_read() {
        let watch = Arc::new(ReadProgress::default());
        let data = b"one\ntwo\nthree\nno newline";
        let (r, tally) = Tallied::watched(
            BufReader::with_capacity(4, &data[..]),
            Some(Arc::clone(&watch)),
        );
        let mut lr = LineReader::new(r, 100);
        let mut b = Batch::default();
        assert!(lr.fill(&mut b, 1, 1 << 20).unwrap());
        assert_eq!(
            (watch.bytes(), watch.lines()),
            (4, 1),
            "after the first line"
        );
        while lr.fill(&mut b, 1, 1 << 20).unwrap() {}
        assert_eq!(watch.bytes(), data.len() as u64);
        assert_eq!(watch.lines(), tally.lines());
        assert_eq!(watch.lines(), 3);
        watch.reset();
        assert_eq!((watch.bytes(), watch.lines()), (0, 0));
    }

    #[test]
    fn counts_lines_like_wc() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, b"a\nb\nc").unwrap();
        assert_eq!(count_lines(p.to_str().unwrap()).unwrap(), (3, 5));
    }
}
