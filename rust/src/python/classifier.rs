//! `lookskip_rs.Classifier`, `template_keys`, `count_lines`: the PyO3 face of
//! `score::Classifier` and `engine::Engine`.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList};

use super::handles::{watch, LineArg, PyBaseline, PyClassifier, PyReadProgress};
use crate::bulk;
use crate::engine::{Engine, LookLine, Triage, DEFAULT_MAX_LINE_BYTES};
use crate::jsonlog::{JsonFields, DEFAULT_JSON_FIELDS, LEVEL_FIELDS};
use crate::key::{TemplateKey, DEFAULT_RULES};
use crate::keycache::DEFAULT_CACHE_BYTES;
use crate::modes::{blend as blend_rule, InputScorer, Inputs, Mode, Transformer};
use crate::patterns::Patterns;
use crate::score::{Classifier, TermCounts};

/// Transformer inputs the memo remembers (an entry is ~100 bytes): a run's distinct
/// inputs, and what the persistent score cache loads.
pub const DEFAULT_MEMO_ENTRIES: usize = 1 << 20;

#[pymethods]
impl PyClassifier {
    #[new]
    #[pyo3(signature = (model_path, threads = 0, max_line_bytes = DEFAULT_MAX_LINE_BYTES,
                        cache_mib = DEFAULT_CACHE_BYTES >> 20, json_fields = None,
                        mode = "tfidf", bert = None, bert_threshold = None,
                        candidate_threshold = 0.2, memo_entries = DEFAULT_MEMO_ENTRIES))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model_path: PathBuf,
        threads: usize,
        max_line_bytes: usize,
        cache_mib: usize,
        json_fields: Option<Vec<String>>,
        mode: &str,
        bert: Option<Bound<'_, PyAny>>,
        bert_threshold: Option<f64>,
        candidate_threshold: f64,
        memo_entries: usize,
    ) -> PyResult<Self> {
        let mode = Mode::parse(mode)?;
        let scorer = transformer_scorer(mode, bert.as_ref())?;
        for (name, t) in [
            ("bert_threshold", bert_threshold.unwrap_or(0.5)),
            ("candidate_threshold", candidate_threshold),
        ] {
            if !(0.0..=1.0).contains(&t) {
                return Err(PyValueError::new_err(format!(
                    "{name} {t} must be from 0 to 1"
                )));
            }
        }
        let engine = py.detach(|| {
            let mut clf = Classifier::load(&model_path)?;
            if let Some(fields) = json_fields {
                clf.json = JsonFields::new(fields);
            }
            Engine::with_cache(clf, threads, max_line_bytes, cache_mib << 20)
        })?;
        let engine = match scorer {
            None => engine,
            Some((scorer, export_threshold, inputs)) => {
                let bert_thr = bert_threshold.unwrap_or(export_threshold);
                let tfidf_thr = engine.clf.threshold;
                let threshold = match mode {
                    Mode::Blend => blend_rule(tfidf_thr, bert_thr),
                    _ => bert_thr,
                };
                engine.with_transformer(Transformer::new(
                    scorer,
                    mode,
                    inputs,
                    threshold,
                    tfidf_thr,
                    candidate_threshold,
                    memo_entries,
                ))
            }
        };
        Ok(Self {
            engine,
            model_path: model_path.display().to_string(),
        })
    }

    /// The default threshold: the mode's (see `modes.rs`), else the model file's.
    #[getter]
    fn threshold(&self) -> f64 {
        self.engine.threshold()
    }
    /// The model file's own threshold, whatever the mode.
    #[getter]
    fn tfidf_threshold(&self) -> f64 {
        self.engine.clf.threshold
    }
    /// `tfidf`, `transformer`, `cascade` or `blend`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.engine
            .transformer
            .as_ref()
            .map_or("tfidf", |t| t.mode.name())
    }
    /// The transformer's counters (None in `tfidf` mode): `scored` (inputs the encoder
    /// actually scored), `memo_hits`, `entries`, `resets`.
    fn transformer_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(t) = &self.engine.transformer else {
            return Ok(None);
        };
        let s = t.stats();
        let d = PyDict::new(py);
        d.set_item("scored", s.scored)?;
        d.set_item("memo_hits", s.memo_hits)?;
        d.set_item("entries", s.entries)?;
        d.set_item("resets", s.resets)?;
        d.set_item("threshold", t.threshold)?;
        d.set_item("candidate_threshold", t.candidate_threshold)?;
        Ok(Some(d))
    }
    /// Give the transformer scores kept from earlier runs (`[(input, p)]`, the
    /// persistent score cache); returns how many it took (its memo is bounded).
    fn load_transformer_scores(&self, py: Python<'_>, entries: Vec<(String, f64)>) -> usize {
        match &self.engine.transformer {
            None => 0,
            Some(t) => py.detach(|| t.load(entries)),
        }
    }
    /// The transformer scores computed since the last call, `[(input, p)]`: what the
    /// persistent score cache adds.
    fn take_transformer_scores(&self, py: Python<'_>) -> Vec<(String, f64)> {
        match &self.engine.transformer {
            None => Vec::new(),
            Some(t) => py.detach(|| t.take_new()),
        }
    }
    #[getter]
    fn positive_label(&self) -> &str {
        &self.engine.clf.positive_label
    }
    #[getter]
    fn threads(&self) -> usize {
        self.engine.threads()
    }
    #[getter]
    fn max_line_bytes(&self) -> usize {
        self.engine.max_line_bytes
    }
    #[getter]
    fn model_path(&self) -> &str {
        &self.model_path
    }
    /// Seconds it took to read, validate and compile the model file.
    #[getter]
    fn load_seconds(&self) -> f64 {
        self.engine.clf.load_seconds
    }
    #[getter]
    fn feature_names(&self) -> Vec<&'static str> {
        self.engine.clf.feature_names()
    }
    /// (word vocabulary size, char vocabulary size)
    #[getter]
    fn vocabulary_sizes(&self) -> (usize, usize) {
        self.engine.clf.vocabulary_sizes()
    }

    /// `p_look` of each line (str, or bytes decoded lossily), as a float64 array.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        lines: Vec<LineArg>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(py.detach(|| self.engine.predict(&lines))?.into_pyarray(py))
    }

    /// `(p_look, p_tfidf)` of each line: the mode's probabilities, and TF-IDF's beside
    /// them in the `cascade` and `blend` modes (None otherwise), as float64 arrays.
    #[allow(clippy::type_complexity)]
    fn predict_proba_pair<'py>(
        &self,
        py: Python<'py>,
        lines: Vec<LineArg>,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, Option<Bound<'py, PyArray1<f64>>>)> {
        let (p, tfidf) = py.detach(|| self.engine.predict_pair(&lines))?;
        Ok((p.into_pyarray(py), tfidf.map(|t| t.into_pyarray(py))))
    }

    /// Classify a log file (plain or gzip; `-` = stdin) without loading it whole.
    ///
    /// Returns a dict of totals (`lines`, `look`, `bytes`, `truncated`, `seconds`)
    /// and `look_lines`: `(line_number, p_look, text)` of the first `max_look` LOOK
    /// lines (all when None). With `output`, those rows are written there instead
    /// (atomically; `{"file","line","prob","text"}` JSONL, `file` = `path` as given)
    /// and `look_lines` stays empty, so memory stays flat. `progress` (a
    /// `ReadProgress`) counts the bytes and lines read as they are read.
    ///
    /// Triage (`why`, `baseline`, `only_new`, `events`: see `engine::Triage`) adds
    /// `look_new` and `look_events` to the totals, and the rows become
    /// `(line_number, p_look, text, extra)` with `extra` the row's added fields.
    /// `patterns`: also return `patterns`, the per-key aggregates of the LOOK lines
    /// as JSON (`patterns.rs`).
    #[pyo3(signature = (path, threshold = None, max_look = None, output = None, why = 0,
                        baseline = None, only_new = false, events = false, progress = None,
                        patterns = false))]
    #[allow(clippy::too_many_arguments)]
    fn classify_file<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        threshold: Option<f64>,
        max_look: Option<u64>,
        output: Option<PathBuf>,
        why: usize,
        baseline: Option<&Bound<'py, PyBaseline>>,
        only_new: bool,
        events: bool,
        progress: Option<&Bound<'py, PyReadProgress>>,
        patterns: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let threshold = threshold.unwrap_or(self.engine.threshold());
        let aggregates = patterns.then(|| std::sync::Mutex::new(Patterns::new()));
        let shown = path.display().to_string();
        let progress = watch(progress);
        let guard = PyBaseline::held(baseline, &self.engine.clf)?;
        let triage = Triage {
            why,
            baseline: guard.as_deref(),
            only_new,
            events,
            patterns: aggregates.as_ref(),
        };
        let plain = why == 0
            && baseline.is_none()
            && !events
            && self.engine.clf.answers.is_empty()
            && !self
                .engine
                .transformer
                .as_ref()
                .is_some_and(|t| t.mode.uses_tfidf());
        let rows = py.detach(|| {
            bulk::classify_file(
                &self.engine,
                &shown,
                threshold,
                max_look,
                output.as_deref(),
                &triage,
                progress,
            )
        })?;
        let (summary, kept, look_lines) = (rows.summary, rows.kept, rows.look_lines);
        let d = PyDict::new(py);
        d.set_item("path", &shown)?;
        d.set_item("lines", summary.lines)?;
        d.set_item("look", summary.look)?;
        d.set_item("bytes", summary.bytes)?;
        d.set_item("truncated", summary.truncated)?;
        d.set_item("seconds", summary.seconds)?;
        d.set_item("threshold", threshold)?;
        d.set_item("look_kept", kept)?;
        d.set_item("look_new", summary.look_new)?;
        d.set_item("look_events", summary.look_events)?;
        if let Some(a) = &aggregates {
            let a = a.lock().unwrap_or_else(|p| p.into_inner());
            d.set_item("patterns", a.to_json())?;
        }
        let rows = PyList::empty(py);
        for l in look_lines {
            if plain {
                rows.append((l.line_number, l.p_look, l.text))?;
            } else {
                let extra = row_extra(py, &l)?;
                rows.append((l.line_number, l.p_look, l.text, extra))?;
            }
        }
        d.set_item("look_lines", rows)?;
        Ok(d)
    }

    /// The `top` largest signed contributions to each line's decision value, as
    /// `[(term, weight)]` (`word:…`, `char:…`, `feature:…`, `look_floor`): why the
    /// model scored it so. Meant for LOOK rows (it costs a full scoring per line).
    #[pyo3(signature = (lines, top = 5))]
    fn explain(&self, py: Python<'_>, lines: Vec<LineArg>, top: usize) -> Vec<Vec<(String, f64)>> {
        py.detach(|| self.engine.explain(&lines, top))
    }
    /// Names the key rules and JSON fields: baselines are comparable only under one.
    #[getter]
    fn key_fingerprint(&self) -> String {
        self.engine.clf.key_fingerprint()
    }
    /// The JSON fields a JSON object line's message is read from.
    #[getter]
    fn json_fields(&self) -> Vec<String> {
        self.engine.clf.json.fields.clone()
    }
    /// The text a line is scored on: a JSON object line's `"<level> <message>"`.
    fn scored_text(&self, line: &str) -> String {
        self.engine.clf.json.scored_text(line).into_owned()
    }

    /// How many answers about templates the model carries (`answers.rs`).
    #[getter]
    fn n_answers(&self) -> usize {
        self.engine.clf.answers.len()
    }

    /// Claude's answer about `line`'s template, if one applies: `(label, reason)`.
    fn answer(&self, line: &str) -> Option<(String, String)> {
        let clf = &self.engine.clf;
        if clf.answers.is_empty() {
            return None;
        }
        let mut s = clf.scratch_with_cache(0);
        clf.answer(line.as_bytes(), &mut s).map(|a| {
            let label = if a.look {
                clf.positive_label.as_str()
            } else {
                "SKIP"
            };
            (label.to_string(), a.reason.clone())
        })
    }

    /// The template key of a line: what every block of the model reads.
    fn template_key(&self, line: &str) -> String {
        self.engine.clf.template_key(line)
    }
    /// Whether this model's key rules are the shipped ones (keyed by the fast scanner).
    #[getter]
    fn key_scanner(&self) -> bool {
        self.engine.clf.key_scanner()
    }
    /// Key-cache counters over all threads: `hits`, `misses` (= keys scored),
    /// `entries`, `bytes`, `evictions`.
    fn cache_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.engine.cache_stats();
        let d = PyDict::new(py);
        d.set_item("hits", s.hits)?;
        d.set_item("misses", s.misses)?;
        d.set_item("entries", s.entries)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("evictions", s.evictions)?;
        Ok(d)
    }
    /// Empty the key cache and zero its counters (for benchmarks and parity checks).
    fn clear_cache(&self) {
        self.engine.clear_cache();
    }
    /// Word n-grams of a key in scikit-learn's order, for parity checks.
    fn word_ngrams(&self, line: &str) -> Vec<String> {
        self.engine.clf.word_ngrams(line)
    }
    /// Char n-grams of a key in scikit-learn's order, for parity checks.
    fn char_ngrams(&self, line: &str) -> Vec<String> {
        self.engine.clf.char_ngrams(line)
    }
    /// The raw handcrafted features of a key in the model's column order (see `feature_names`).
    fn line_features(&self, line: &str) -> Vec<f64> {
        self.engine.clf.line_features(line)
    }
    /// `([(word column, count)], [(char column, count)])` of the vocabulary terms a key hits.
    fn term_counts(&self, line: &str) -> (TermCounts, TermCounts) {
        self.engine.clf.term_counts(line)
    }

    fn __repr__(&self) -> String {
        format!(
            "Classifier({:?}, threads={})",
            self.model_path,
            self.engine.threads()
        )
    }
}

/// The fields a row adds beyond `(line, prob, text)`, as a dict.
fn row_extra<'py>(py: Python<'py>, l: &LookLine) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    if let Some(p) = l.p_tfidf {
        d.set_item("prob_tfidf", p)?;
    }
    if let Some(reason) = &l.reason {
        d.set_item("source", "claude")?;
        d.set_item("reason", reason)?;
    }
    if let Some(end) = l.event_end {
        d.set_item("event_end", end)?;
    }
    if let Some(new) = l.new {
        d.set_item("new", new)?;
    }
    if let Some(why) = &l.why {
        d.set_item("why", why.clone())?;
    }
    if let Some(event) = &l.event {
        d.set_item("event", event)?;
    }
    Ok(d)
}

/// `(lines, bytes)` of a file (plain/gzip, `-` = stdin): the I/O floor for benchmarks.
#[pyfunction]
fn count_lines(py: Python<'_>, path: PathBuf) -> PyResult<(u64, u64)> {
    let shown = path.display().to_string();
    py.detach(|| crate::stream::count_lines(&shown))
        .map_err(|e| PyOSError::new_err(format!("{shown}: {e}")))
}

/// Template keys of `lines` under the shipped rules (`DEFAULT_KEY_RULES`, which
/// `lookskip.model.key.KEY_RULES` must equal): Python's `template_keys`, faster.
#[pyfunction]
fn template_keys(py: Python<'_>, lines: Vec<PyBackedStr>) -> Vec<String> {
    py.detach(|| {
        let keyer = TemplateKey::shipped();
        let mut cache = keyer.create_cache();
        lines
            .iter()
            .map(|l| {
                let mut out = Vec::with_capacity(l.len());
                keyer.key_into(&mut cache, l.as_bytes(), &mut out);
                String::from_utf8(out)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            })
            .collect()
    })
}

/// The transformer half of a mode: the BERT classifier as an input scorer, its
/// threshold and what it reads; None for `tfidf`.
type ModeScorer = (Box<dyn InputScorer>, f64, Inputs);

fn transformer_scorer(mode: Mode, bert: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ModeScorer>> {
    if mode == Mode::Tfidf {
        return Ok(None);
    }
    let Some(bert) = bert else {
        return Err(PyValueError::new_err(format!(
            "mode {} needs a transformer (bert=lookskip_rs.BertClassifier(export_dir))",
            mode.name()
        )));
    };
    bert_scorer(bert).map(Some)
}

#[cfg(feature = "bert")]
fn bert_scorer(bert: &Bound<'_, PyAny>) -> PyResult<ModeScorer> {
    let b: PyRef<'_, super::bert::PyBertClassifier> = bert.extract()?;
    let inner = std::sync::Arc::clone(&b.inner);
    let inputs = if inner.inputs() == "keys" {
        Inputs::Keys
    } else {
        Inputs::Lines
    };
    let threshold = inner.threshold();
    let scorer: Box<dyn InputScorer> = Box::new(inner);
    Ok((scorer, threshold, inputs))
}

#[cfg(not(feature = "bert"))]
fn bert_scorer(_bert: &Bound<'_, PyAny>) -> PyResult<ModeScorer> {
    Err(PyValueError::new_err(
        "lookskip_rs was built without BERT (cargo feature `bert`); rebuild with scripts/setup",
    ))
}

/// The transformer inputs of raw lines under the shipped key rules: Python's
/// `lookskip.transformer.inputs.model_inputs`, the Rust twin the engine uses.
#[pyfunction]
fn model_inputs(py: Python<'_>, lines: Vec<PyBackedStr>) -> Vec<String> {
    py.detach(|| {
        let keyer = TemplateKey::shipped();
        lines
            .iter()
            .map(|l| crate::model_input::model_input(keyer, l))
            .collect()
    })
}

/// The blend mode's rule (`modes::blend`), for parity with Python's twin.
#[pyfunction]
fn blend(p_tfidf: f64, p_transformer: f64) -> f64 {
    blend_rule(p_tfidf, p_transformer)
}

/// Register the classifier's class and functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyClassifier>()?;
    m.add_function(wrap_pyfunction!(count_lines, m)?)?;
    m.add_function(wrap_pyfunction!(template_keys, m)?)?;
    m.add_function(wrap_pyfunction!(model_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(blend, m)?)?;
    m.add("MODES", Mode::NAMES.to_vec())?;
    m.add("DEFAULT_KEY_RULES", DEFAULT_RULES.to_vec())?;
    m.add("DEFAULT_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES)?;
    m.add("DEFAULT_JSON_FIELDS", DEFAULT_JSON_FIELDS.to_vec())?;
    m.add("LEVEL_FIELDS", LEVEL_FIELDS.to_vec())?;
    let (c, t, h, n) = crate::events::DEFAULT_EVENT_RULE;
    let rule = PyDict::new(m.py());
    rule.set_item("continuation", c)?;
    rule.set_item("timestamp", t)?;
    rule.set_item("head_bytes", h)?;
    rule.set_item("max_lines", n)?;
    m.add("DEFAULT_EVENT_RULE", rule)?;
    Ok(())
}
