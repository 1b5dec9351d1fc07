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
use crate::modes::Transformer;
use crate::patterns::Patterns;
use crate::score::{decode, Classifier, ModeMiss, Scratch, Why};
use crate::stream::{read_error, Batch, LineReader};

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
    /// A transformer mode (`modes.rs`); None: TF-IDF alone.
    pub transformer: Option<Transformer>,
}

/// A LOOK line of a file (with `Triage.events`: a LOOK event, from its head line).
#[derive(Clone, Debug, Default)]
pub struct LookLine {
    pub line_number: u64,
    pub p_look: f64,
    /// `cascade`/`blend` modes: TF-IDF's probability beside the mode's (`prob_tfidf`).
    pub p_tfidf: Option<f64>,
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
            transformer: None,
        })
    }

    /// Score in a transformer mode from now on (`modes.rs`).
    pub fn with_transformer(mut self, t: Transformer) -> Self {
        self.clear_cache();
        self.transformer = Some(t);
        self
    }

    /// The default threshold: the mode's, else the model's.
    pub fn threshold(&self) -> f64 {
        self.transformer
            .as_ref()
            .map_or(self.clf.threshold, |t| t.threshold)
    }

    pub fn threads(&self) -> usize {
        self.scratches.len()
    }

    /// Key-cache counters summed over the threads.
    pub fn cache_stats(&self) -> CacheStats {
        let mut total = CacheStats::default();
        for s in &self.scratches {
            let s = s.lock().unwrap_or_else(|p| p.into_inner());
            total += match self.transformer {
                None => s.cache.stats(),
                Some(_) => s.mode_cache.stats(),
            };
        }
        total
    }

    /// Empty every thread's key cache (and the transformer's memo) and zero their
    /// counters.
    pub fn clear_cache(&self) {
        for s in &self.scratches {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            s.cache.clear();
            s.mode_cache.clear();
        }
        if let Some(t) = &self.transformer {
            t.clear();
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

    /// `p_look` for every line, in order (the mode's, in a transformer mode).
    pub fn predict<L: AsRef<[u8]> + Sync>(&self, lines: &[L]) -> Result<Vec<f64>> {
        let mut out = vec![0.0; lines.len()];
        if let Some(t) = &self.transformer {
            let mut tfidf = vec![0.0; lines.len()];
            self.score_mode(t, lines, &mut out, &mut tfidf)?;
            return Ok(out);
        }
        match &self.pool {
            None => self.score_chunk(lines, &mut out),
            Some(pool) => pool.install(|| {
                lines
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(l, o)| self.score_chunk(l, o));
            }),
        }
        Ok(out)
    }

    /// `predict`, with TF-IDF's probabilities beside the mode's when the mode reads them
    /// (`cascade`, `blend`: rows carry `prob_tfidf`); None otherwise.
    pub fn predict_pair<L: AsRef<[u8]> + Sync>(
        &self,
        lines: &[L],
    ) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        match &self.transformer {
            Some(t) if t.mode.uses_tfidf() => {
                let mut out = vec![0.0; lines.len()];
                let mut tfidf = vec![0.0; lines.len()];
                self.score_mode(t, lines, &mut out, &mut tfidf)?;
                Ok((out, Some(tfidf)))
            }
            _ => Ok((self.predict(lines)?, None)),
        }
    }

    /// The transformer modes' scoring of `lines` (`modes.rs`): each thread looks its
    /// chunk's lines up in its mode cache and gathers the misses (each cache id once);
    /// the inputs of all misses are then scored in one call (the transformer's memo
    /// answers those it has seen; BERT batches the rest by token length), and each
    /// miss gets its mode probability, cached by the thread that missed it.
    /// `tfidf` gets TF-IDF's probability (NaN in `transformer` mode).
    fn score_mode<L: AsRef<[u8]> + Sync>(
        &self,
        t: &Transformer,
        lines: &[L],
        out: &mut [f64],
        tfidf: &mut [f64],
    ) -> Result<()> {
        struct Miss {
            slot: usize,
            lines: Vec<usize>,
            miss: ModeMiss,
        }
        let n = self.scratches.len();
        let chunk = |base: usize, ls: &[L], o: &mut [f64], tf: &mut [f64]| -> Vec<Miss> {
            let slot = rayon::current_thread_index().unwrap_or(0) % n;
            let mut s = self.scratches[slot]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut misses: Vec<Miss> = Vec::new();
            let mut seen: FxHashMap<Vec<u8>, usize> = FxHashMap::default();
            for (j, line) in ls.iter().enumerate() {
                match self.clf.mode_lookup(line.as_ref(), t, &mut s) {
                    Ok([p, q]) => {
                        o[j] = p;
                        tf[j] = q;
                    }
                    Err(id) => match seen.get(&id) {
                        Some(&k) => misses[k].lines.push(base + j),
                        None => {
                            seen.insert(id.clone(), misses.len());
                            let miss = self.clf.mode_miss(t, id, &mut s);
                            misses.push(Miss {
                                slot,
                                lines: vec![base + j],
                                miss,
                            });
                        }
                    },
                }
            }
            misses
        };
        let misses: Vec<Miss> = match &self.pool {
            None => chunk(0, lines, out, tfidf),
            Some(pool) => pool.install(|| {
                lines
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .zip(tfidf.par_chunks_mut(CHUNK))
                    .enumerate()
                    .map(|(c, ((l, o), tf))| chunk(c * CHUNK, l, o, tf))
                    .collect::<Vec<Vec<Miss>>>()
                    .into_iter()
                    .flatten()
                    .collect()
            }),
        };
        if misses.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = misses
            .iter()
            .filter_map(|m| m.miss.input.as_deref())
            .collect();
        let probs = if texts.is_empty() {
            Vec::new()
        } else {
            t.score(&texts)?
        };
        let mut probs = probs.into_iter();
        for m in &misses {
            let q = m.miss.input.as_ref().and_then(|_| probs.next());
            let p = t.combine(&m.miss.parts, q);
            let p_tfidf = if t.mode.uses_tfidf() {
                t.p_tfidf(&m.miss.parts)
            } else {
                f64::NAN
            };
            for &i in &m.lines {
                out[i] = p;
                tfidf[i] = p_tfidf;
            }
            self.scratches[m.slot]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .mode_cache
                .insert(&m.miss.id, [p, p_tfidf]);
        }
        Ok(())
    }

    /// `p_look` of every line of the batch into `out` (the mode's: TF-IDF's beside it in
    /// `tfidf` for the modes that read it); with `hashes = (h, threshold)`, also the hash
    /// of each LOOK line's key into `h` (0 for the others), from the key the scorer
    /// computed anyway (`Patterns` counts keys by it; the transformer modes key their
    /// LOOK lines once more for it).
    fn score_batch(
        &self,
        batch: &Batch,
        out: &mut Vec<f64>,
        tfidf: &mut Vec<f64>,
        hashes: Option<(&mut Vec<u64>, f64)>,
    ) -> Result<()> {
        out.clear();
        out.resize(batch.lines.len(), 0.0);
        if let Some(t) = &self.transformer {
            tfidf.clear();
            tfidf.resize(batch.lines.len(), f64::NAN);
            let views: Vec<&[u8]> = batch
                .lines
                .iter()
                .map(|sp| &batch.data[sp.start..sp.end])
                .collect();
            self.score_mode(t, &views, out, tfidf)?;
            if let Some((h, threshold)) = hashes {
                h.clear();
                h.resize(batch.lines.len(), 0);
                let mut s = self.scratches[0].lock().unwrap_or_else(|p| p.into_inner());
                for (i, &p) in out.iter().enumerate() {
                    if p >= threshold {
                        let key = self.clf.scored_key(batch.line(i), &mut s);
                        h[i] = FxBuildHasher.hash_one(key.as_slice());
                    }
                }
            }
            return Ok(());
        }
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
        Ok(())
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

    /// Classify a stream, batch by batch: every LOOK line (p ≥ `threshold`), or
    /// event with `triage.events`, goes to `on_look` in line order, with what
    /// `triage` asks for; an error of `on_look` (its rows could not be written) stops
    /// the run. The one per-file loop of the core: `bulk::classify_unit` (units of
    /// bulk runs) and `bulk::classify_file` (the library call) both read through it.
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
            let mut probs_tfidf = Vec::new();
            let with_tfidf = self
                .transformer
                .as_ref()
                .is_some_and(|t| t.mode.uses_tfidf());
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
                if let Err(e) = self.score_batch(&batch, &mut probs, &mut probs_tfidf, keyed) {
                    outcome = Err(e);
                    break;
                }
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
                            p_tfidf: with_tfidf.then(|| probs_tfidf[i]),
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
