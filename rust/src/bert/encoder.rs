//! A BERT encoder for inference, built from candle tensors and the fused kernels of
//! [`super::kernels`]. It reads the same tensor names as candle-transformers'
//! `BertModel` (the layout `lookskip export-transformer` writes), but is arranged for
//! classification on a CPU:
//! * Q, K and V are one matrix product (weights concatenated at load), with the
//!   1/√d attention scale folded into the Q weights;
//! * padding is handled inside the softmax from each line's length (no additive mask
//!   tensor, no -inf arithmetic), and a batch of equal lengths needs none;
//! * bias + GELU, and bias + residual + LayerNorm, are single in-place passes;
//! * the last layer computes queries, attention output and feed-forward for the
//!   [CLS] position only — the classifier reads nothing else — which removes most of
//!   one layer's work and gives exactly the same [CLS] vector.
//!
//! On a GPU device the same arithmetic runs with candle's stock ops.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::kernels::{BiasGelu, MaskedSoftmax, ResidualLayerNorm};
use super::{err, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_types() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// y = x·Wᵀ + b with Wᵀ stored contiguous, plus a host copy of b for the fused kernels.
struct Dense {
    wt: Tensor,
    b: Tensor,
    b_host: Vec<f32>,
}

impl Dense {
    fn from(w: Tensor, b: Tensor) -> Result<Self> {
        let wt = w.t()?.contiguous()?;
        let b_host = b.to_dtype(DType::F32)?.to_vec1()?;
        Ok(Self { wt, b, b_host })
    }
    fn load(vb: &VarBuilder, inp: usize, out: usize) -> Result<Self> {
        Self::from(vb.get((out, inp), "weight")?, vb.get(out, "bias")?)
    }
    /// x·Wᵀ without the bias (a fused kernel adds it).
    fn matmul(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.wt)?)
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.matmul(x)?.broadcast_add(&self.b)?)
    }
}

struct Norm {
    gamma: Tensor,
    beta: Tensor,
    gamma_host: Vec<f32>,
    beta_host: Vec<f32>,
    eps: f64,
}

impl Norm {
    fn load(vb: &VarBuilder, size: usize, eps: f64) -> Result<Self> {
        let gamma = vb.get(size, "weight")?;
        let beta = vb.get(size, "bias")?;
        Ok(Self {
            gamma_host: gamma.to_vec1()?,
            beta_host: beta.to_vec1()?,
            gamma,
            beta,
            eps,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::layer_norm(
            x,
            &self.gamma,
            &self.beta,
            self.eps as f32,
        )?)
    }
    /// LayerNorm(x·Wᵀ + b + residual), in place on the CPU.
    fn residual(&self, y: Tensor, dense: &Dense, residual: &Tensor, cpu: bool) -> Result<Tensor> {
        if cpu {
            let y = y.contiguous()?;
            let op = ResidualLayerNorm {
                bias: &dense.b_host,
                gamma: &self.gamma_host,
                beta: &self.beta_host,
                eps: self.eps as f32,
            };
            y.inplace_op2(&residual.contiguous()?, &op)?;
            Ok(y)
        } else {
            self.forward(&(y.broadcast_add(&dense.b)? + residual)?)
        }
    }
}

struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    inter: Dense,
    out: Dense,
    out_norm: Norm,
}

pub struct Encoder {
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    emb_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    cpu: bool,
}

impl Encoder {
    /// Load from `vb` rooted at the BERT prefix (`bert.`).
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Self> {
        if cfg.hidden_act != "gelu" {
            return err(format!(
                "hidden_act {:?} not supported (gelu)",
                cfg.hidden_act
            ));
        }
        if cfg.hidden_size == 0 || cfg.num_attention_heads == 0 {
            return err("hidden_size and num_attention_heads must be positive");
        }
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return err("hidden_size is not a multiple of num_attention_heads");
        }
        let h = cfg.hidden_size;
        let head_dim = h / cfg.num_attention_heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let emb = vb.pp("embeddings");
        let word = emb
            .pp("word_embeddings")
            .get((cfg.vocab_size, h), "weight")?;
        let position = emb
            .pp("position_embeddings")
            .get((cfg.max_position_embeddings, h), "weight")?;
        let token_type0 = emb
            .pp("token_type_embeddings")
            .get((cfg.type_vocab_size, h), "weight")?
            .narrow(0, 0, 1)?;
        let emb_norm = Norm::load(&emb.pp("LayerNorm"), h, cfg.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention.self");
            let get = |name: &str| -> Result<(Tensor, Tensor)> {
                let p = a.pp(name);
                Ok((p.get((h, h), "weight")?, p.get(h, "bias")?))
            };
            let (wq, bq) = get("query")?;
            let (wk, bk) = get("key")?;
            let (wv, bv) = get("value")?;
            let w = Tensor::cat(&[(wq * scale)?, wk, wv], 0)?;
            let b = Tensor::cat(&[(bq * scale)?, bk, bv], 0)?;
            layers.push(Layer {
                qkv: Dense::from(w, b)?,
                attn_out: Dense::load(&l.pp("attention.output.dense"), h, h)?,
                attn_norm: Norm::load(&l.pp("attention.output.LayerNorm"), h, cfg.layer_norm_eps)?,
                inter: Dense::load(&l.pp("intermediate.dense"), h, cfg.intermediate_size)?,
                out: Dense::load(&l.pp("output.dense"), cfg.intermediate_size, h)?,
                out_norm: Norm::load(&l.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type0,
            emb_norm,
            layers,
            heads: cfg.num_attention_heads,
            head_dim,
            hidden: h,
            cpu: matches!(vb.device(), Device::Cpu),
        })
    }

    /// The final [CLS] vectors, (batch, hidden), of `ids` (batch, width) whose rows
    /// hold `lengths[i]` real tokens followed by padding.
    pub fn cls(&self, ids: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let (n, width) = ids.dims2()?;
        let h = self.hidden;
        let ragged = lengths.iter().any(|&l| l != width);
        let mask = if !ragged || self.cpu {
            None
        } else {
            let mut m = vec![0f32; n * width];
            for (i, &len) in lengths.iter().enumerate() {
                m[i * width + len.min(width)..(i + 1) * width].fill(f32::MIN);
            }
            Some(Tensor::from_vec(m, (n, 1, 1, width), ids.device())?)
        };
        let x = self
            .word
            .embedding(&ids.flatten_all()?)?
            .reshape((n, width, h))?;
        let pos = self.position.narrow(0, 0, width)?;
        let x = x.broadcast_add(&pos)?.broadcast_add(&self.token_type0)?;
        let mut x = self.emb_norm.forward(&x.reshape((n * width, h))?)?;
        let last = self.layers.len().saturating_sub(1);
        for (li, layer) in self.layers.iter().enumerate() {
            x = self.layer(layer, &x, n, width, lengths, mask.as_ref(), li == last)?;
        }
        // after the last layer x holds one row per line: its [CLS] vector
        Ok(x)
    }

    #[allow(clippy::too_many_arguments)]
    fn layer(
        &self,
        l: &Layer,
        x: &Tensor,
        n: usize,
        width: usize,
        lengths: &[usize],
        mask: Option<&Tensor>,
        cls_only: bool,
    ) -> Result<Tensor> {
        let (hd, nh, h) = (self.head_dim, self.heads, self.hidden);
        let qkv = l.qkv.forward(x)?; // (n·width, 3h)
        let qkv = qkv
            .reshape((n, width, 3, nh, hd))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let k = qkv.get(1)?; // (n, nh, width, hd)
        let v = qkv.get(2)?;
        let q = if cls_only {
            qkv.get(0)?.narrow(2, 0, 1)?
        } else {
            qkv.get(0)?
        };
        let q_len = if cls_only { 1 } else { width };
        let scores = q.contiguous()?.matmul(&k.t()?)?; // (n, nh, q_len, width)
        let probs = if self.cpu {
            let s = scores.contiguous()?;
            s.inplace_op1(&MaskedSoftmax {
                lengths,
                rows_per_item: nh * q_len,
            })?;
            s
        } else {
            let s = match mask {
                Some(m) => scores.broadcast_add(m)?,
                None => scores,
            };
            candle_nn::ops::softmax_last_dim(&s)?
        };
        let ctx = probs.matmul(&v)?; // (n, nh, q_len, hd)
        let ctx = ctx.transpose(1, 2)?.contiguous()?.reshape((n * q_len, h))?;
        let residual = if cls_only {
            x.reshape((n, width, h))?.narrow(1, 0, 1)?.reshape((n, h))?
        } else {
            x.clone()
        };
        let a = l
            .attn_norm
            .residual(l.attn_out.matmul(&ctx)?, &l.attn_out, &residual, self.cpu)?;
        let inter = l.inter.matmul(&a)?;
        let inter = if self.cpu {
            let t = inter.contiguous()?;
            t.inplace_op1(&BiasGelu(&l.inter.b_host))?;
            t
        } else {
            inter.broadcast_add(&l.inter.b)?.gelu_erf()?
        };
        l.out_norm
            .residual(l.out.matmul(&inter)?, &l.out, &a, self.cpu)
    }
}

/// BERT pooler + classification head: softmax(W_c · tanh(W_p · cls + b_p) + b_c).
pub struct Head {
    pooler: candle_nn::Linear,
    classifier: candle_nn::Linear,
}

impl Head {
    pub fn load(vb: &VarBuilder, hidden: usize, labels: usize) -> Result<Self> {
        Ok(Self {
            pooler: candle_nn::linear(hidden, hidden, vb.pp("bert.pooler.dense"))?,
            classifier: candle_nn::linear(hidden, labels, vb.pp("classifier"))?,
        })
    }
    /// P(class 1) per row of `cls`.
    pub fn positive_proba(&self, cls: &Tensor) -> Result<Vec<f32>> {
        let pooled = self.pooler.forward(cls)?.tanh()?;
        let logits = self.classifier.forward(&pooled)?;
        let probs = candle_nn::ops::softmax(&logits, D::Minus1)?;
        Ok(probs
            .narrow(1, 1, 1)?
            .squeeze(1)?
            .to_dtype(DType::F32)?
            .to_vec1()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hidden: usize, heads: usize, layers: usize, vocab: usize, pos: usize) -> BertConfig {
        BertConfig {
            vocab_size: vocab,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: hidden * 2,
            hidden_act: "gelu".into(),
            max_position_embeddings: pos,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
        }
    }

    /// Every config.json shape, however wrong, is an `Err` or a working encoder: never
    /// a panic (hidden_size and num_attention_heads 0 once divided by zero).
    #[test]
    fn any_config_loads_or_errs_and_never_panics() {
        let mut checked = 0;
        for hidden in [0, 1, 2, 4] {
            for heads in [0, 1, 2, 3] {
                for layers in [0, 1] {
                    for vocab in [0, 1, 5] {
                        for pos in [0, 1, 4] {
                            let cfg = config(hidden, heads, layers, vocab, pos);
                            let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
                            let Ok(enc) = Encoder::load(vb, &cfg) else {
                                continue;
                            };
                            checked += 1;
                            let ids = Tensor::new(&[[0u32, 1, 2]], &Device::Cpu).unwrap();
                            let _ = enc.cls(&ids, &[3]); // an Err is fine, a panic is not
                        }
                    }
                }
            }
        }
        assert!(checked > 0, "some configs are valid and were run");
        let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
        let e = Encoder::load(vb, &config(0, 0, 1, 5, 4)).err().unwrap();
        assert!(e.0.contains("must be positive"), "{}", e.0);
    }
}
