//! BERT LOOK/SKIP classifier run with candle: the second, more precise model of the
//! cascade, loaded from the directory `lookskip export-transformer` writes
//! (`model.safetensors`, `config.json`, `tokenizer.json`).
//!
//! The encoder ([`encoder`]) is BERT built from candle tensors, reading the tensor
//! names of candle-transformers' `BertModel`, plus the pooler and classification head
//! of `BertForSequenceClassification`. Why not candle-transformers' `BertModel`
//! itself: on CPU it is several times slower than torch, for reasons measured with
//! `perf` (see `benchmarks/bench_bert.py` and the module docs of [`encoder`] and
//! [`kernels`]): AVX2-only matrix kernels, scalar libm `erf`/`exp`, one fresh
//! allocation per elementwise op, an additive mask over padded keys, and a full last
//! layer when only [CLS] is read. Lines are also sorted by token length so each batch
//! is padded only to its own longest line.

use std::fmt;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;
use tokenizers::Tokenizer;

mod encoder;
mod kernels;

use encoder::{BertConfig, Encoder, Head};

/// Lines longer than this (bytes) are cut before tokenising: the model reads only the
/// first `max_length` tokens anyway, and a 10 MB line must not cost 10 MB of work.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct BertError(pub String);

impl fmt::Display for BertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BertError {}

impl From<candle_core::Error> for BertError {
    fn from(e: candle_core::Error) -> Self {
        BertError(format!("candle: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, BertError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(BertError(msg.into()))
}

/// The device named by `name` (`auto`, `cpu`, `metal`, `cuda`); `auto` takes a GPU
/// when the extension was built with its feature and one is present, else the CPU.
pub fn select_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => {
            if !candle_core::utils::cuda_is_available() {
                return err("device cuda: this build has no CUDA support (cargo feature `cuda`)");
            }
            Ok(Device::new_cuda(0)?)
        }
        "metal" => {
            if !candle_core::utils::metal_is_available() {
                return err(
                    "device metal: this build has no Metal support (cargo feature `metal`)",
                );
            }
            Ok(Device::new_metal(0)?)
        }
        "auto" | "" => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(0) {
                    return Ok(d);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok(d);
                }
            }
            Ok(Device::Cpu)
        }
        other => err(format!("unknown device {other:?} (auto, cpu, metal, cuda)")),
    }
}

/// The device from `LOOKSKIP_DEVICE` when `requested` is `auto`.
pub fn device_from_env(requested: &str) -> Result<Device> {
    let name = if requested == "auto" || requested.is_empty() {
        std::env::var("LOOKSKIP_DEVICE").unwrap_or_else(|_| "auto".to_string())
    } else {
        requested.to_string()
    };
    select_device(name.trim())
}

pub struct BertClassifier {
    encoder: Encoder,
    head: Head,
    tokenizer: Tokenizer,
    device: Device,
    max_length: usize,
    pad_id: u32,
    threshold: f64,
    /// `lookskip_inputs` of config.json: `keys` or `lines` (the default).
    inputs: String,
    pool: rayon::ThreadPool,
}

impl BertClassifier {
    /// Load an export directory onto `device`; `threads` = 0 uses every core.
    pub fn load(dir: &Path, device: Device, threads: usize) -> Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| BertError(format!("{}: {e}", dir.join(name).display())))
        };
        let raw: serde_json::Value = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| BertError(format!("config.json: {e}")))?;
        let config: BertConfig = serde_json::from_value(raw.clone())
            .map_err(|e| BertError(format!("config.json is not a BERT config: {e}")))?;
        let max_length = raw
            .get("max_length")
            .and_then(|v| v.as_u64())
            .unwrap_or(128)
            .min(config.max_position_embeddings as u64) as usize;
        let threshold = raw.get("threshold").and_then(|v| v.as_f64()).unwrap_or(0.5);
        let inputs = raw
            .get("lookskip_inputs")
            .and_then(|v| v.as_str())
            .unwrap_or("lines")
            .to_string();
        if inputs != "keys" && inputs != "lines" {
            return err(format!(
                "config.json: unknown lookskip_inputs {inputs:?} (keys or lines)"
            ));
        }
        if !(0.0..=1.0).contains(&threshold) {
            return err(format!(
                "config.json: threshold {threshold} must be from 0 to 1"
            ));
        }
        if max_length < 2 {
            return err(format!(
                "config.json: max_length {max_length} (at most max_position_embeddings) leaves no room for [CLS] and [SEP]"
            ));
        }
        let n_labels = raw
            .get("id2label")
            .and_then(|v| v.as_object())
            .map(|m| m.len())
            .unwrap_or(2);
        if n_labels != 2 {
            return err(format!(
                "config.json: {n_labels} labels, expected 2 (SKIP, LOOK)"
            ));
        }
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return err(format!("{}: no such file", weights.display()));
        }
        // SAFETY (mmap): the export is read-only while loaded; tensors are copied out.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device)? };
        let encoder = Encoder::load(vb.pp("bert"), &config)?;
        let head = Head::load(&vb, config.hidden_size, 2)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| BertError(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| BertError(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("lookskip-bert-{i}"))
            .build()
            .map_err(|e| BertError(format!("thread pool: {e}")))?;
        Ok(Self {
            encoder,
            head,
            tokenizer,
            device,
            max_length,
            pad_id: config.pad_token_id as u32,
            threshold,
            inputs,
            pool,
        })
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The decision threshold recorded at training time.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// What the export reads: `keys` (the template key made short) or `lines`.
    pub fn inputs(&self) -> &str {
        &self.inputs
    }

    pub fn device_name(&self) -> &'static str {
        match self.device {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
            Device::Metal(_) => "metal",
        }
    }

    /// Token ids of each line (truncated to `max_length`, with [CLS]/[SEP]).
    pub fn encode(&self, lines: &[&str]) -> Result<Vec<Vec<u32>>> {
        self.pool.install(|| {
            lines
                .par_iter()
                .map(|line| {
                    self.tokenizer
                        .encode(cap_line(line), true)
                        .map(|e| e.get_ids().to_vec())
                        .map_err(|e| BertError(format!("tokenizer: {e}")))
                })
                .collect()
        })
    }

    /// P(LOOK) of one batch of token-id sequences, padded to its longest sequence.
    pub fn forward_ids(&self, ids: &[&[u32]]) -> Result<Vec<f32>> {
        let n = ids.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let lengths: Vec<usize> = ids.iter().map(|s| s.len().max(1)).collect();
        let width = lengths.iter().copied().max().unwrap_or(1);
        let mut flat = vec![self.pad_id; n * width];
        for (i, s) in ids.iter().enumerate() {
            flat[i * width..i * width + s.len()].copy_from_slice(s);
        }
        let input_ids = Tensor::from_vec(flat, (n, width), &self.device)?;
        let cls = self.encoder.cls(&input_ids, &lengths)?;
        self.head.positive_proba(&cls)
    }

    /// P(LOOK) per line, in input order.
    pub fn predict_proba(&self, lines: &[&str], batch_size: usize) -> Result<Vec<f32>> {
        let ids = self.encode(lines)?;
        self.predict_ids(&ids, batch_size)
    }

    /// Lines are sorted by token count and cut into batches of `batch_size`, so a
    /// batch pads to the longest of similar lines, not to the longest of the input;
    /// on the CPU whole batches run in parallel, one per thread, because one BERT
    /// batch's matrices are too small to split across threads efficiently.
    pub fn predict_ids(&self, ids: &[Vec<u32>], batch_size: usize) -> Result<Vec<f32>> {
        let batch_size = batch_size.max(1);
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let chunks: Vec<&[usize]> = order.chunks(batch_size).collect();
        let run = |chunk: &&[usize]| -> Result<Vec<f32>> {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            self.forward_ids(&batch)
        };
        let results: Vec<Result<Vec<f32>>> = if matches!(self.device, Device::Cpu) {
            self.pool.install(|| chunks.par_iter().map(run).collect())
        } else {
            chunks.iter().map(run).collect()
        };
        let mut out = vec![0f32; ids.len()];
        for (chunk, probs) in chunks.iter().zip(results) {
            for (&i, p) in chunk.iter().zip(probs?) {
                out[i] = p;
            }
        }
        Ok(out)
    }
}

/// Transformer inputs in batches of this many (sorted by token length first).
pub const BATCH_SIZE: usize = 32;

/// The engine's transformer modes score inputs through this (`modes.rs`).
impl crate::modes::InputScorer for BertClassifier {
    fn score_inputs(&self, inputs: &[&str]) -> std::result::Result<Vec<f64>, String> {
        self.predict_proba(inputs, BATCH_SIZE)
            .map(|p| p.into_iter().map(f64::from).collect())
            .map_err(|e| e.0)
    }
}

fn cap_line(line: &str) -> &str {
    if line.len() <= MAX_LINE_BYTES {
        return line;
    }
    let mut end = MAX_LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}
