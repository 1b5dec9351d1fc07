//! Units of bulk classification (the Python `lookskip.bulk` layer): score the lines of
//! one unit and write its LOOK rows, so Python never touches a line.
//!
//! A unit is the lines that START inside `[start, end)` of a plain file, a whole
//! (possibly gzip) file, or one tar member (`offset`/`size` in the uncompressed tar
//! stream). A line starts at offset 0 and after every `\n`: a unit skips the tail of a
//! line begun before `start` and reads past `end` to finish its own last line, so the
//! units of a file own every line exactly once.
//!
//! Rows are `<n>\t,"prob":<p>,"text":<json>}\n` (a part: the merge adds the unit's
//! line offset) or, with a `prefix`, `<prefix><n>,"prob":…}\n` (final output rows);
//! `n` is `line_offset` plus the line's number within the unit (1-based); with the
//! `Text` style rows are `<name>:<n>:<prob>:<text>\n`. `rows` is the only writer of
//! these rows (`Classifier.classify_file(output=…)` uses it too), whether they go to
//! a file or straight to stdout.
//!
//! A unit that starts a stream refuses binary input (a NUL byte in its first 8 KiB),
//! like `grep`: scoring a core dump line by line helps nobody.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use flate2::read::MultiGzDecoder;

use crate::engine::{Engine, FileSummary, LookLine, Triage};
use crate::error::{Error, Result};
use crate::guard::ShrinkGuard;
use crate::atomic::write_atomically;
use crate::rows::{row_prefix, write_row, RowFormat};
use crate::stream::{
    decompressed, describe_read_error, open_input, read_error, unsupported_compression,
    Compression, ReadProgress, Tallied,
};

const BUF: usize = 1 << 20;
/// A NUL byte in this many first bytes of a stream: binary, not a log. Python's
/// `lookskip.compression.BINARY_PROBE` is this value (`lookskip_rs.BINARY_PROBE`;
/// a test holds them equal for the numpy fallback, which has no extension to ask).
pub const BINARY_PROBE: usize = 8192;
pub const BINARY_ERROR: &str = "binary file (NUL bytes in the first 8 KiB)";
/// First density bucket (lines); buckets double to stay at most `DENSITY_MAX`.
pub const DENSITY_BUCKET: u64 = 16;
pub const DENSITY_MAX: usize = 4096;

/// Where a unit's bytes come from.
#[derive(Clone, Debug)]
pub enum UnitInput {
    /// Lines starting in `[start, end)` of a plain file (`end = None`: to the end).
    /// `listed`: the file's size when the run listed it (0: unknown); a file found
    /// shorter at its end was cut while being read, an error (`guard`).
    Plain {
        path: String,
        start: u64,
        end: Option<u64>,
        listed: u64,
    },
    /// A whole file, plain or gzip (detected from its first bytes), `-` = stdin.
    Whole { path: String },
    /// A whole file that must be gzip (named `.gz`): anything else is an error.
    Gzip { path: String },
    /// `size` bytes at `offset` of the tar stream in `path` (compressed or not: by its
    /// magic bytes).
    TarMember {
        path: String,
        offset: u64,
        size: u64,
    },
}

/// Totals of one unit, with LOOK counts per `bucket` lines for a density chart.
///
/// `error` says why the input could not be read to its end (missing, binary, a gzip
/// stream or an archive cut short); then `lines`/`bytes` are what it gave before.
#[derive(Clone, Debug, Default)]
pub struct UnitSummary {
    pub error: Option<String>,
    pub lines: u64,
    pub look: u64,
    pub written: u64,
    pub bytes: u64,
    pub truncated: u64,
    pub seconds: f64,
    pub density: Vec<u64>,
    pub bucket: u64,
    /// With a baseline: LOOK rows whose key is new; with events: LOOK events.
    pub look_new: u64,
    pub look_events: u64,
}

/// Reads the bytes of the lines that start before `left` runs out, then finishes the
/// last such line (up to and including its `\n`).
struct Owned<R: BufRead> {
    inner: R,
    left: u64,
    last: u8,
    done: bool,
}

impl<R: BufRead> Read for Owned<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left > 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut buf[..want])?;
            if n == 0 {
                self.done = true;
            } else {
                self.left -= n as u64;
                self.last = buf[n - 1];
            }
            return Ok(n);
        }
        if self.last == b'\n' {
            self.done = true;
            return Ok(0);
        }
        let avail = self.inner.fill_buf()?;
        if avail.is_empty() {
            self.done = true;
            return Ok(0);
        }
        let upto = memchr::memchr(b'\n', avail).map_or(avail.len(), |i| i + 1);
        let n = upto.min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.last = buf[n - 1];
        self.inner.consume(n);
        Ok(n)
    }
}

/// Exactly `left` bytes of `inner`; fewer means the archive was cut short.
struct Exact<R: Read> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated archive: member ends {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Skip to the first line that starts at or after `start`; returns its offset.
fn skip_to_line_start<R: BufRead + Seek>(r: &mut R, start: u64) -> io::Result<Option<u64>> {
    if start == 0 {
        return Ok(Some(0));
    }
    r.seek(SeekFrom::Start(start - 1))?;
    let mut pos = start - 1;
    let mut first = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        // The byte before `start` is a `\n`: a line starts right at `start`.
        let found = if first {
            (buf[0] == b'\n').then_some(0)
        } else {
            None
        }
        .or_else(|| memchr::memchr(b'\n', buf));
        first = false;
        match found {
            Some(i) => {
                r.consume(i + 1);
                return Ok(Some(pos + i as u64 + 1));
            }
            None => {
                let n = buf.len();
                pos += n as u64;
                r.consume(n);
            }
        }
    }
}

/// The reader of a unit's owned bytes.
pub fn open_unit(input: &UnitInput) -> io::Result<Box<dyn BufRead + Send>> {
    match input {
        UnitInput::Whole { path } => open_input(path),
        UnitInput::Gzip { path } => {
            let mut r = BufReader::with_capacity(BUF, File::open(path)?);
            let head = r.fill_buf()?;
            if !head.is_empty() && !head.starts_with(&[0x1f, 0x8b]) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt gzip: no gzip header",
                ));
            }
            Ok(Box::new(BufReader::with_capacity(
                BUF,
                MultiGzDecoder::new(r),
            )))
        }
        UnitInput::Plain {
            path,
            start,
            end,
            listed,
        } => {
            let mut r = BufReader::with_capacity(BUF, ShrinkGuard::open(path, *listed)?);
            let left = match skip_to_line_start(&mut r, *start)? {
                None => 0,
                Some(pos) => end.map_or(u64::MAX, |e| e.saturating_sub(pos)),
            };
            Ok(Box::new(BufReader::with_capacity(
                BUF,
                Owned {
                    inner: r,
                    left,
                    last: b'\n',
                    done: left == 0,
                },
            )))
        }
        UnitInput::TarMember { path, offset, size } => {
            let mut file = BufReader::with_capacity(BUF, File::open(path)?);
            let r: Box<dyn Read + Send> = match Compression::sniff(file.fill_buf()?) {
                Some(c) => {
                    let mut d = c.decode(file)?;
                    let skipped = io::copy(&mut (&mut d).take(*offset), &mut io::sink())?;
                    if skipped < *offset {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "truncated archive: member data missing",
                        ));
                    }
                    Box::new(d)
                }
                None => {
                    file.seek(SeekFrom::Start(*offset))?;
                    Box::new(file)
                }
            };
            let r = Exact {
                inner: r,
                left: *size,
            };
            // A member may itself be compressed (`logs.tar!app.log.gz`): read by
            // content, as a file on disk is.
            decompressed(BufReader::with_capacity(BUF, r))
        }
    }
}

fn add_density(d: &mut Vec<u64>, bucket: &mut u64, line_index: u64) {
    let mut j = line_index / *bucket;
    while j as usize >= DENSITY_MAX {
        halve(d, bucket);
        j = line_index / *bucket;
    }
    let j = j as usize;
    if d.len() <= j {
        d.resize(j + 1, 0);
    }
    d[j] += 1;
}

fn halve(d: &mut Vec<u64>, bucket: &mut u64) {
    let merged: Vec<u64> = d.chunks(2).map(|c| c.iter().sum()).collect();
    *d = merged;
    *bucket *= 2;
}

fn starts_stream(input: &UnitInput) -> bool {
    !matches!(input, UnitInput::Plain { start, .. } if *start > 0)
}

/// Why a stream cannot be classified, from its first bytes: a compressed format not
/// read here (named), or binary (a NUL byte in the first 8 KiB, the rule `grep` uses).
pub fn unreadable(reader: &mut dyn BufRead) -> io::Result<Option<String>> {
    let head = reader.fill_buf()?;
    if let Some(why) = unsupported_compression(head) {
        return Ok(Some(why));
    }
    let binary = memchr::memchr(0, &head[..head.len().min(BINARY_PROBE)]).is_some();
    Ok(binary.then(|| BINARY_ERROR.to_string()))
}

/// A whole file classified: totals, how many LOOK rows were kept, and those rows when
/// they were not written to a file.
pub struct FileRows {
    pub summary: FileSummary,
    pub kept: u64,
    pub look_lines: Vec<LookLine>,
}

/// Classify one file (plain or gzip, `-` = stdin) with a unit's rules: binary input
/// refused, a read error (a gzip stream cut short) an error that says after how many
/// lines. The first `max_look` LOOK rows go to `output` (written atomically, rows
/// prefixed by `path`), else into `look_lines`. `progress`, when given, counts the
/// bytes and lines read as they are read (a progress bar polls it).
pub fn classify_file(
    engine: &Engine,
    path: &str,
    threshold: f64,
    max_look: Option<u64>,
    output: Option<&Path>,
    triage: &Triage<'_>,
    progress: Option<Arc<ReadProgress>>,
) -> Result<FileRows> {
    let limit = max_look.unwrap_or(u64::MAX);
    let mut kept = 0u64;
    let mut look_lines = Vec::new();
    let summary = match output {
        None => scan_file(engine, path, threshold, triage, progress, &mut |l| {
            if kept < limit {
                kept += 1;
                look_lines.push(l);
            }
            Ok(())
        })?,
        Some(out) => write_atomically(out, |w| {
            let prefix = row_prefix(path);
            let mut row = Vec::with_capacity(256);
            scan_file(engine, path, threshold, triage, progress, &mut |l| {
                if kept < limit {
                    kept += 1;
                    write_row(&mut row, Some(&prefix), 0, &l)?;
                    w.write_all(&row)?;
                }
                Ok(())
            })
        })?,
    };
    Ok(FileRows {
        summary,
        kept,
        look_lines,
    })
}

fn scan_file(
    engine: &Engine,
    path: &str,
    threshold: f64,
    triage: &Triage<'_>,
    progress: Option<Arc<ReadProgress>>,
    on_look: &mut dyn FnMut(LookLine) -> io::Result<()>,
) -> Result<FileSummary> {
    let fail = |m: String| Error::Io(format!("{path}: {m}"));
    let mut input = open_input(path).map_err(|e| fail(e.to_string()))?;
    match unreadable(&mut input) {
        Ok(None) => {}
        Ok(Some(why)) => return Err(fail(why)),
        Err(e) => return Err(fail(read_error(&e, 0))),
    }
    let (input, tally) = Tallied::watched(input, progress);
    let scored = engine.classify_reader(Box::new(input), threshold, triage, on_look);
    if let Some(e) = tally.error() {
        return Err(fail(read_error(&e, tally.lines())));
    }
    scored.map_err(|e| match e {
        Error::Io(m) => fail(m),
        other => other,
    })
}

/// A unit's owned bytes, opened: from a [`UnitInput`] ([`UnitReader::open`]), or from
/// any reader, e.g. the blocks Python reads from an object store or a zip member
/// (`lookskip_rs.classify_unit(kind="blocks")`), so those lines meet the same line
/// reader, scorer and row writer as a local file's.
pub struct UnitReader {
    /// The bytes, or why they could not be opened.
    pub reader: io::Result<Box<dyn BufRead + Send>>,
    /// They start their stream: binary input is refused from their first bytes.
    pub first: bool,
    /// Read errors are described as an archive's.
    pub archive: bool,
}

impl UnitReader {
    pub fn open(input: &UnitInput) -> Self {
        Self {
            reader: open_unit(input),
            first: starts_stream(input),
            archive: matches!(input, UnitInput::TarMember { .. }),
        }
    }
}

/// Score a unit, writing up to `max_rows` LOOK rows to `out` (all are counted).
///
/// An input that cannot be read to its end gives a summary with `error` set (and
/// the lines read before it); `Err` means the rows could not be written. `progress`
/// as in [`classify_file`].
pub fn classify_unit(
    engine: &Engine,
    unit: UnitReader,
    threshold: f64,
    format: &RowFormat<'_>,
    triage: &Triage<'_>,
    out: &mut dyn Write,
    progress: Option<Arc<ReadProgress>>,
) -> Result<UnitSummary> {
    let start = Instant::now();
    let mut s = UnitSummary {
        bucket: DENSITY_BUCKET,
        ..UnitSummary::default()
    };
    let failed = |mut s: UnitSummary, error: String| -> Result<UnitSummary> {
        s.error = Some(error);
        s.seconds = start.elapsed().as_secs_f64();
        Ok(s)
    };
    // Errors name no path: the caller reports them under the file's name.
    let archive = unit.archive;
    let mut reader = match unit.reader {
        Ok(r) => r,
        Err(e) => return failed(s, describe_read_error(&e, 0, archive)),
    };
    if unit.first {
        match unreadable(&mut reader) {
            Ok(None) => {}
            Ok(Some(why)) => return failed(s, why),
            Err(e) => return failed(s, describe_read_error(&e, 0, archive)),
        }
    }
    let (reader, tally) = Tallied::watched(reader, progress);
    let limit = format.max_rows.unwrap_or(u64::MAX);
    let (mut density, mut bucket) = (Vec::new(), DENSITY_BUCKET);
    let mut written = 0u64;
    let mut row = Vec::with_capacity(256);
    let scored = engine.classify_reader(Box::new(reader), threshold, triage, &mut |l| {
        add_density(&mut density, &mut bucket, l.line_number - 1);
        if written >= limit {
            return Ok(());
        }
        format.write(&mut row, &l)?;
        out.write_all(&row)?;
        written += 1;
        Ok(())
    });
    if let Some(e) = tally.error() {
        s.lines = tally.lines();
        s.bytes = tally.bytes();
        s.written = written;
        return failed(s, describe_read_error(&e, tally.lines(), archive));
    }
    let summary = scored?;
    // Cover every line (trailing buckets without LOOK lines too), within DENSITY_MAX.
    while summary.lines.div_ceil(bucket) as usize > DENSITY_MAX {
        halve(&mut density, &mut bucket);
    }
    density.resize(summary.lines.div_ceil(bucket) as usize, 0);
    s.lines = summary.lines;
    s.look = summary.look;
    s.written = written;
    s.bytes = summary.bytes;
    s.truncated = summary.truncated;
    s.look_new = summary.look_new;
    s.look_events = summary.look_events;
    s.density = density;
    s.bucket = bucket;
    s.seconds = start.elapsed().as_secs_f64();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(data: &[u8], start: u64, end: Option<u64>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, data).unwrap();
        let input = UnitInput::Plain {
            path: p.to_str().unwrap().into(),
            start,
            end,
            listed: 0,
        };
        let mut out = Vec::new();
        open_unit(&input).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn ranges_partition_the_lines_at_every_cut() {
        let data = b"first line\r\nsecond\n\nfourth line is longer\nlast-no-newline";
        for cut in 1..data.len() as u64 {
            let mut got = owned(data, 0, Some(cut));
            got.extend(owned(data, cut, None));
            assert_eq!(got, data.to_vec(), "cut at {cut}");
        }
        for chunk in 1..8u64 {
            let mut got = Vec::new();
            let mut s = 0;
            while s < data.len() as u64 {
                let e = s + chunk;
                got.extend(owned(data, s, (e < data.len() as u64).then_some(e)));
                s = e;
            }
            assert_eq!(got, data.to_vec(), "chunk {chunk}");
        }
        assert!(owned(b"", 0, None).is_empty());
    }

    #[test]
    fn a_long_line_belongs_to_the_range_where_it_starts() {
        let mut data = b"a\n".to_vec();
        data.extend(vec![b'x'; 100]);
        data.extend(b"\nb\n");
        assert_eq!(owned(&data, 0, Some(10)).len(), 2 + 101);
        assert!(owned(&data, 10, Some(50)).is_empty());
        assert_eq!(owned(&data, 50, None), b"b\n");
    }

    #[test]
    fn density_buckets_double_and_cover_all_lines() {
        let (mut d, mut b) = (Vec::new(), DENSITY_BUCKET);
        for i in 0..(DENSITY_MAX as u64 * DENSITY_BUCKET * 3) {
            add_density(&mut d, &mut b, i);
        }
        assert!(d.len() <= DENSITY_MAX);
        assert_eq!(b, DENSITY_BUCKET * 4);
        assert_eq!(
            d.iter().sum::<u64>(),
            DENSITY_MAX as u64 * DENSITY_BUCKET * 3
        );
    }
}
