//! Parallel scoring: a classifier, its own rayon pool, and one scratch per thread.
//!
//! Lines are scored in chunks; each pool thread keeps its scratch (dense count
//! arrays, regex caches, its share of the key cache) for the life of the engine, so
//! nothing is allocated per line or per batch, and a key scored in one file is not
//! scored again in the next. Files stream through a reader thread that fills the next
//! batch while the pool scores the current one.

use std::io::{self, BufRead};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::BuildHasher;

use crate::baseline::Baseline;
use crate::error::{Error, Result};
use crate::keycache::{CacheStats, DEFAULT_CACHE_BYTES};
use crate::patterns::Patterns;
use crate::score::{decode, Classifier, Scratch, Why};
use crate::stream::{open_input, read_error, Batch, LineReader};

/// Lines per parallel work item: large enough to amortise scheduling, small enough
/// to balance across threads.
const CHUNK: usize = 256;
const BATCH_LINES: usize = 64 * 1024;
const BATCH_BYTES: usize = 8 << 20;
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

pub struct Engine {
    pub clf: Classifier,
    pool: Option<rayon::ThreadPool>,
    scratches: Vec<Mutex<Scratch>>,
    pub max_line_bytes: usize,
}

/// A LOOK line of a file (with `Triage.events`: a LOOK event, from its head line).
#[derive(Clone, Debug, Default)]
pub struct LookLine {
    pub line_number: u64,
    pub p_look: f64,
    pub text: String,
    pub truncated: bool,
    /// `Triage.why`: the top contributions to the score.
    pub why: Option<Vec<Why>>,
    /// `Triage.baseline`: whether the line's template key is absent from the baseline.
    pub new: Option<bool>,
    /// `Triage.events`: the event's last line, and its text (lines joined by `\n`)
    /// when it has more than one line.
    pub event_end: Option<u64>,
    pub event: Option<String>,
    /// Claude's reason, when an answer about the line's template decided its label
    /// (rows say `"source":"claude"`).
    pub reason: Option<String>,
}

/// What to add to LOOK rows beyond `(line, prob, text)`; the default adds nothing
/// and costs nothing. All of it is computed for LOOK rows only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Triage<'a> {
    /// Explain each row with its `why` top contributions (0: no).
    pub why: usize,
    /// Mark each row `new` against this baseline.
    pub baseline: Option<&'a Baseline>,
    /// With a baseline: write only the new rows (all are still counted).
    pub only_new: bool,
    /// Join continuation lines into events: a row per LOOK event (its head line,
    /// `p_look` the highest of its lines, `event_end`, `event`).
    pub events: bool,
    /// Collect the per-key aggregates of the LOOK lines here (`patterns.rs`): the
    /// report and the terminal summary are built from them. Counts every LOOK line
    /// (with `events` too, and past `max_look` or `only_new`).
    pub patterns: Option<&'a Mutex<Patterns>>,
}

/// Totals of one file.
#[derive(Clone, Debug, Default)]
pub struct FileSummary {
    pub lines: u64,
    pub look: u64,
    pub bytes: u64,
    pub truncated: u64,
    pub seconds: f64,
    /// With a baseline: LOOK rows (lines, or events) whose key is new.
    pub look_new: u64,
    /// With events: LOOK events.
    pub look_events: u64,
}

/// Explanations by template key, for one run: a line's `why` is its key's, so a
/// key that repeats is explained once (cleared when it reaches `WHY_CACHE_KEYS`).
type WhyCache = FxHashMap<Vec<u8>, Vec<Why>>;
const WHY_CACHE_KEYS: usize = 1 << 16;

/// The event being read: its lines' text, where its best-scored line is, its score.
struct OpenEvent {
    first: u64,
    end: u64,
    lines: usize,
    head_timestamp: bool,
    p_max: f64,
    truncated: bool,
    text: String,
    head_len: usize,
    best: (usize, usize),
}

impl OpenEvent {
    fn start(n: u64, p: f64, raw: &[u8], truncated: bool, head_timestamp: bool) -> Self {
        let text = decode(raw).into_owned();
        Self {
            first: n,
            end: n,
            lines: 1,
            head_timestamp,
            p_max: p,
            truncated,
            head_len: text.len(),
            best: (0, text.len()),
            text,
        }
    }

    fn extend(&mut self, n: u64, p: f64, raw: &[u8], truncated: bool) {
        self.text.push('\n');
        let at = self.text.len();
        self.text.push_str(&decode(raw));
        if p > self.p_max {
            self.p_max = p;
            self.best = (at, self.text.len());
        }
        self.end = n;
        self.lines += 1;
        self.truncated |= truncated;
    }
}

impl Engine {
    /// `threads == 0`: one per available core. `threads == 1` scores on the calling thread.
    /// The key cache gets `DEFAULT_CACHE_BYTES` in all.
    pub fn new(clf: Classifier, threads: usize, max_line_bytes: usize) -> Result<Self> {
        Self::with_cache(clf, threads, max_line_bytes, DEFAULT_CACHE_BYTES)
    }

    /// As `new`, with a key cache of `cache_bytes` in all, split over the threads (0: off).
    pub fn with_cache(
        clf: Classifier,
        threads: usize,
        max_line_bytes: usize,
        cache_bytes: usize,
    ) -> Result<Self> {
        let threads = if threads == 0 {
            thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("lookskip-{i}"))
                    .build()
                    .map_err(|e| Error::Io(format!("cannot start {threads} threads: {e}")))?,
            )
        } else {
            None
        };
        let per_thread = cache_bytes / threads;
        let scratches = (0..threads)
            .map(|_| Mutex::new(clf.scratch_with_cache(per_thread)))
            .collect();
        Ok(Self {
            clf,
            pool,
            scratches,
            max_line_bytes: max_line_bytes.max(1),
        })
    }

    pub fn threads(&self) -> usize {
        self.scratches.len()
    }

    /// Key-cache counters summed over the threads.
    pub fn cache_stats(&self) -> CacheStats {
        let mut total = CacheStats::default();
        for s in &self.scratches {
            total += s.lock().unwrap_or_else(|p| p.into_inner()).cache.stats();
        }
        total
    }

    /// Empty every thread's key cache and zero its counters.
    pub fn clear_cache(&self) {
        for s in &self.scratches {
            s.lock().unwrap_or_else(|p| p.into_inner()).cache.clear();
        }
    }

    fn score_chunk<L: AsRef<[u8]>>(&self, lines: &[L], out: &mut [f64]) {
        let idx = rayon::current_thread_index().unwrap_or(0) % self.scratches.len();
        let mut s = self.scratches[idx]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (line, o) in lines.iter().zip(out.iter_mut()) {
            *o = self.clf.score(line.as_ref(), &mut s);
        }
    }

    /// `Classifier::explain` of every line, in order (one thread: meant for LOOK rows).
    pub fn explain<L: AsRef<[u8]>>(&self, lines: &[L], top: usize) -> Vec<Vec<Why>> {
        let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
        lines
            .iter()
            .map(|l| self.clf.explain(l.as_ref(), top, &mut s))
            .collect()
    }

    /// Whether each line's scored key is absent from `baseline`.
    pub fn is_new<L: AsRef<[u8]>>(&self, lines: &[L], baseline: &Baseline) -> Vec<bool> {
        let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
        lines
            .iter()
            .map(|l| !baseline.contains_key(&self.clf.baseline_key(l.as_ref(), &mut s)))
            .collect()
    }

    /// Add every line's scored key to `baseline`.
    pub fn add_to_baseline<L: AsRef<[u8]>>(&self, lines: &[L], baseline: &mut Baseline) {
        let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
        for l in lines {
            baseline.add_key(&self.clf.baseline_key(l.as_ref(), &mut s));
        }
    }

    /// `p_look` for every line, in order.
    pub fn predict<L: AsRef<[u8]> + Sync>(&self, lines: &[L]) -> Vec<f64> {
        let mut out = vec![0.0; lines.len()];
        match &self.pool {
            None => self.score_chunk(lines, &mut out),
            Some(pool) => pool.install(|| {
                lines
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(l, o)| self.score_chunk(l, o));
            }),
        }
        out
    }

    /// `p_look` of every line of the batch into `out`; with `hashes = (h, threshold)`,
    /// also the hash of each LOOK line's key into `h` (0 for the others), from the key
    /// the scorer computed anyway (`Patterns` counts keys by it).
    fn score_batch(&self, batch: &Batch, out: &mut Vec<f64>, hashes: Option<(&mut Vec<u64>, f64)>) {
        out.clear();
        out.resize(batch.lines.len(), 0.0);
        let threshold = hashes.as_ref().map_or(f64::INFINITY, |h| h.1);
        let one = |spans: &[crate::stream::LineSpan], o: &mut [f64], h: &mut [u64]| {
            let idx = rayon::current_thread_index().unwrap_or(0) % self.scratches.len();
            let mut s = self.scratches[idx]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for (j, (sp, o)) in spans.iter().zip(o.iter_mut()).enumerate() {
                *o = self.clf.score(&batch.data[sp.start..sp.end], &mut s);
                if *o >= threshold {
                    h[j] = FxBuildHasher.hash_one(s.last_key());
                }
            }
        };
        match (&self.pool, hashes) {
            (None, None) => one(&batch.lines, out, &mut []),
            (None, Some((h, _))) => {
                h.clear();
                h.resize(batch.lines.len(), 0);
                one(&batch.lines, out, h);
            }
            (Some(pool), None) => pool.install(|| {
                batch
                    .lines
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(l, o)| one(l, o, &mut []));
            }),
            (Some(pool), Some((h, _))) => {
                h.clear();
                h.resize(batch.lines.len(), 0);
                pool.install(|| {
                    batch
                        .lines
                        .par_chunks(CHUNK)
                        .zip(out.par_chunks_mut(CHUNK))
                        .zip(h.par_chunks_mut(CHUNK))
                        .for_each(|((l, o), h)| one(l, o, h));
                });
            }
        }
    }

    /// Classify a file (plain/gzip, `-` = stdin), streaming. Every LOOK line (p ≥
    /// `threshold`) goes to `on_look` in line order; its error stops the run.
    pub fn classify_path(
        &self,
        path: &str,
        threshold: f64,
        on_look: &mut dyn FnMut(LookLine) -> io::Result<()>,
    ) -> Result<FileSummary> {
        let input = open_input(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
        self.classify_reader(input, threshold, &Triage::default(), on_look)
            .map_err(|e| match e {
                Error::Io(m) => Error::Io(format!("{path}: {m}")),
                other => other,
            })
    }

    /// The row of a LOOK line or event, with what `triage` asks for; `None` when
    /// `only_new` drops it. `why_text` is the line whose score is explained.
    #[allow(clippy::too_many_arguments)]
    fn triage_row(
        &self,
        mut look: LookLine,
        key_text: &[u8],
        why_text: &[u8],
        triage: &Triage<'_>,
        summary: &mut FileSummary,
        why_cache: &mut WhyCache,
    ) -> Option<LookLine> {
        if triage.why == 0 && triage.baseline.is_none() && self.clf.answers.is_empty() {
            return Some(look);
        }
        let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
        look.reason = self.clf.answer(why_text, &mut s).map(|a| a.reason.clone());
        if triage.why == 0 && triage.baseline.is_none() {
            return Some(look);
        }
        let key = self.clf.scored_key(key_text, &mut s);
        if let Some(b) = triage.baseline {
            let new = !b.contains_key(&crate::baseline::baseline_key(&key));
            summary.look_new += u64::from(new);
            if triage.only_new && !new {
                return None;
            }
            look.new = Some(new);
        }
        if triage.why > 0 {
            let key = if why_text == key_text {
                key
            } else {
                self.clf.scored_key(why_text, &mut s)
            };
            let why = match why_cache.get(&key) {
                Some(w) => w.clone(),
                None => {
                    let w = self.clf.explain_key(&key, triage.why, &mut s);
                    if why_cache.len() >= WHY_CACHE_KEYS {
                        why_cache.clear();
                    }
                    why_cache.insert(key, w.clone());
                    w
                }
            };
            look.why = Some(why);
        }
        Some(look)
    }

    /// A finished event: its row when it is LOOK.
    fn close_event(
        &self,
        e: OpenEvent,
        threshold: f64,
        triage: &Triage<'_>,
        summary: &mut FileSummary,
        why_cache: &mut WhyCache,
    ) -> Option<LookLine> {
        if e.p_max < threshold {
            return None;
        }
        summary.look_events += 1;
        let head = &e.text[..e.head_len];
        let look = LookLine {
            line_number: e.first,
            p_look: e.p_max,
            text: head.to_string(),
            truncated: e.truncated,
            event_end: Some(e.end),
            event: (e.lines > 1).then(|| e.text.clone()),
            ..LookLine::default()
        };
        let best = &e.text[e.best.0..e.best.1];
        self.triage_row(
            look,
            head.as_bytes(),
            best.as_bytes(),
            triage,
            summary,
            why_cache,
        )
    }

    pub fn classify_reader(
        &self,
        input: Box<dyn BufRead + Send>,
        threshold: f64,
        triage: &Triage<'_>,
        on_look: &mut dyn FnMut(LookLine) -> io::Result<()>,
    ) -> Result<FileSummary> {
        let start = Instant::now();
        let mut summary = FileSummary::default();
        let cap = self.max_line_bytes;
        // Two batches in flight: the reader fills one while the pool scores the other;
        // scored batches go back to the reader for reuse, so memory stays flat.
        let (full_tx, full_rx) = sync_channel::<io::Result<Batch>>(1);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(2);
        empty_tx.send(Batch::default()).ok();
        empty_tx.send(Batch::default()).ok();
        let result = thread::scope(|scope| -> Result<()> {
            scope.spawn(move || {
                let mut reader = LineReader::new(input, cap);
                while let Ok(mut batch) = empty_rx.recv() {
                    match reader.fill(&mut batch, BATCH_LINES, BATCH_BYTES) {
                        Ok(true) => {
                            if full_tx.send(Ok(batch)).is_err() {
                                return;
                            }
                        }
                        Ok(false) => return,
                        Err(e) => {
                            full_tx.send(Err(e)).ok();
                            return;
                        }
                    }
                }
            });
            let mut probs = Vec::new();
            let mut hashes = Vec::new();
            let mut outcome = Ok(());
            let mut open: Option<OpenEvent> = None;
            let mut why_cache = WhyCache::default();
            let rule = &self.clf.events;
            for batch in full_rx.iter() {
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        outcome = Err(Error::Io(read_error(&e, 0)));
                        break;
                    }
                };
                let keyed = triage.patterns.map(|_| (&mut hashes, threshold));
                self.score_batch(&batch, &mut probs, keyed);
                if let Some(patterns) = triage.patterns {
                    let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
                    let mut patterns = patterns.lock().unwrap_or_else(|p| p.into_inner());
                    patterns.observe(&batch, &probs, &hashes, threshold, &mut |raw| {
                        self.clf.scored_key(raw, &mut s)
                    });
                }
                summary.lines += batch.lines.len() as u64;
                summary.bytes += batch.raw_bytes;
                for (i, (&p, span)) in probs.iter().zip(&batch.lines).enumerate() {
                    summary.truncated += u64::from(span.truncated);
                    summary.look += u64::from(p >= threshold);
                    let n = batch.first_line + i as u64;
                    let raw = batch.line(i);
                    let row = if triage.events {
                        let joins = open.as_ref().is_some_and(|e| {
                            e.lines < rule.max_lines && rule.continues(raw, e.head_timestamp)
                        });
                        if joins {
                            if let Some(e) = open.as_mut() {
                                e.extend(n, p, raw, span.truncated);
                            }
                            None
                        } else {
                            let next = OpenEvent::start(
                                n,
                                p,
                                raw,
                                span.truncated,
                                rule.has_timestamp(raw),
                            );
                            open.replace(next).and_then(|e| {
                                self.close_event(e, threshold, triage, &mut summary, &mut why_cache)
                            })
                        }
                    } else if p >= threshold {
                        let look = LookLine {
                            line_number: n,
                            p_look: p,
                            text: decode(raw).into_owned(),
                            truncated: span.truncated,
                            ..LookLine::default()
                        };
                        self.triage_row(look, raw, raw, triage, &mut summary, &mut why_cache)
                    } else {
                        None
                    };
                    if let Some(look) = row {
                        if let Err(e) = on_look(look) {
                            outcome = Err(Error::Io(format!("writing results: {e}")));
                            break;
                        }
                    }
                }
                if outcome.is_err() {
                    break;
                }
                // A reader that stopped on an error no longer takes batches back, but its
                // error is still queued behind the batches it sent: keep receiving.
                empty_tx.send(batch).ok();
            }
            if outcome.is_ok() {
                let last = open.take().and_then(|e| {
                    self.close_event(e, threshold, triage, &mut summary, &mut why_cache)
                });
                if let Some(look) = last {
                    if let Err(e) = on_look(look) {
                        outcome = Err(Error::Io(format!("writing results: {e}")));
                    }
                }
            }
            // Dropping the receivers ends the reader thread if it is still running.
            drop(full_rx);
            drop(empty_tx);
            outcome
        });
        result?;
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    }
}
