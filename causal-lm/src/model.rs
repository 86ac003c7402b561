//! InternLM2 (and InternLM2-Math) as the published checkpoints define it, and the Llama family
//! (Llama, Llemma, CodeLlama, Mistral; Qwen2) that shares its network.
//!
//! The network: token embedding, `num_hidden_layers` pre-norm decoder layers (RMSNorm →
//! grouped-query attention with rotary embeddings → residual, RMSNorm → SwiGLU → residual), a final
//! RMSNorm and an output head. The architectures differ only in how the checkpoint lays the weights
//! out ([`Architecture`]): InternLM2 packs queries, keys and values into one `attention.wqkv`
//! weight whose rows come in `num_key_value_heads` groups, each holding the group's
//! `num_attention_heads / num_key_value_heads` query heads, then its key head, then its value head;
//! Llama keeps `self_attn.q_proj`/`k_proj`/`v_proj` apart, and is packed into that grouped order at
//! load time, so one forward pass (and one generation path) serves both.
//!
//! Tensor layout inside attention: we keep queries as `(kv_heads, rows, seq, groups, head_dim)` so the
//! query heads that share a key/value head become extra rows of one matmul against that head's keys.
//! Keys and values are therefore never repeated per query head. A shared prompt prefix ([`PrefixKv`])
//! is stored once, as `(kv_heads, prefix_len, head_dim)`, and every row of every batch attends to it
//! through one matmul with all rows folded together, so it is neither copied per row nor recomputed.
//! Per-row caches ([`KvCache`]) are left-padded: row `r` has `pads[r]` unused slots at the front.

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, IndexOp, Module, Tensor};
use candle_nn::{Activation, Embedding, RmsNorm, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

fn default_model_type() -> String {
    "internlm2".to_string()
}
fn default_hidden_act() -> Activation {
    Activation::Silu
}
fn default_max_position_embeddings() -> usize {
    2048
}
fn default_initializer_range() -> f64 {
    0.02
}
fn default_rms_norm_eps() -> f64 {
    1e-6
}
fn default_true() -> bool {
    true
}
fn default_bos() -> Option<u32> {
    Some(1)
}
fn default_eos() -> Option<TokenIds> {
    Some(TokenIds::One(2))
}
fn default_rope_theta() -> f64 {
    10_000.0
}

/// `config.json` of an InternLM2 checkpoint. Defaults follow `configuration_internlm2.py`;
/// the architecture sizes are required. Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub auto_map: BTreeMap<String, serde_json::Value>,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Defaults to `num_attention_heads` (no grouping) when absent or null.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: Activation,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_initializer_range")]
    pub initializer_range: f64,
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_true")]
    pub use_cache: bool,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default = "default_bos")]
    pub bos_token_id: Option<u32>,
    #[serde(default = "default_eos")]
    pub eos_token_id: Option<TokenIds>,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// InternLM2: whether `wqkv` and `wo` carry biases (`true` by default in the reference config
    /// class, `false` in the published checkpoints). See [`Config::attention_biases`].
    #[serde(default)]
    pub bias: Option<bool>,
    /// Llama/Mistral: whether the four attention projections carry biases (default `false`).
    #[serde(default)]
    pub attention_bias: Option<bool>,
    /// Llama: whether the feed-forward projections carry biases (default `false`).
    #[serde(default)]
    pub mlp_bias: bool,
    /// Size of one attention head when it is not `hidden_size / num_attention_heads`
    /// (some Llama-family configs state it).
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// Mistral (and Qwen2 with `use_sliding_window`): each token attends to at most this many
    /// tokens. Not implemented as a window: sequences longer than it are refused.
    #[serde(default)]
    pub sliding_window: Option<usize>,
    /// Qwen2: whether `sliding_window` is in effect.
    #[serde(default)]
    pub use_sliding_window: Option<bool>,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// transformers 5's form of the two above: `{"rope_type": "default", "rope_theta": …}` or
    /// a scaling entry with its `rope_theta`. When present it wins; see [`Config::rope`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<serde_json::Value>,
    #[serde(default)]
    pub attn_implementation: Option<String>,
    #[serde(default)]
    pub torch_dtype: Option<String>,
    #[serde(default)]
    pub transformers_version: Option<String>,
    /// Fields this crate does not use (e.g. `pretraining_tp`), kept so nothing is silently dropped.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A token id or a list of them (`eos_token_id` is a list in some configs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// `rope_scaling` entry: `{"type": "dynamic", "factor": 2.0}` (`rope_type` accepted as well), or
/// Llama 3.1's `{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
/// "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    #[serde(rename = "type", alias = "rope_type")]
    pub kind: RopeScalingKind,
    pub factor: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_freq_factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_freq_factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_max_position_embeddings: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RopeScalingKind {
    /// Positions divided by `factor`.
    Linear,
    /// Dynamic NTK: past `max_position_embeddings`, the rotary base grows with the sequence length.
    Dynamic,
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    Llama3,
}

/// How a checkpoint names and lays out the network's weights (the network is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `InternLM2ForCausalLM`: packed `attention.wqkv`, `feed_forward.w1/w3/w2`, `output`.
    InternLM2,
    /// `LlamaForCausalLM` and `MistralForCausalLM`: `self_attn.q_proj/k_proj/v_proj/o_proj`,
    /// `mlp.gate_proj/up_proj/down_proj`, `lm_head`.
    Llama,
    /// `Qwen2ForCausalLM`: Llama's names, with biases on the query, key and value projections.
    Qwen2,
}

impl Architecture {
    /// The architectures `config.json` may name, as `architectures` or `model_type` spells them.
    pub const SUPPORTED: &'static str = "InternLM2ForCausalLM (internlm2), LlamaForCausalLM (llama), \
         MistralForCausalLM (mistral), Qwen2ForCausalLM (qwen2)";

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "InternLM2ForCausalLM" | "internlm2" => Some(Architecture::InternLM2),
            "LlamaForCausalLM" | "llama" | "MistralForCausalLM" | "mistral" => {
                Some(Architecture::Llama)
            }
            "Qwen2ForCausalLM" | "qwen2" => Some(Architecture::Qwen2),
            _ => None,
        }
    }
}

impl Config {
    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The weight layout, from `architectures` (first recognised entry), else `model_type`.
    pub fn architecture(&self) -> Result<Architecture> {
        self.architectures
            .iter()
            .find_map(|a| Architecture::from_name(a))
            .or_else(|| Architecture::from_name(&self.model_type))
            .ok_or_else(|| {
                let named = if self.architectures.is_empty() {
                    format!("model_type {:?}", self.model_type)
                } else {
                    format!("architectures {:?}", self.architectures)
                };
                ModelError::Config(format!(
                    "unsupported model: config.json names {named}; supported: {}",
                    Architecture::SUPPORTED
                ))
            })
    }

    /// The rotary base and scaling in effect: from `rope_parameters` when the config has it
    /// (transformers 5 writes only that), else from `rope_theta` and `rope_scaling`.
    pub fn rope(&self) -> Result<(f64, Option<RopeScaling>)> {
        let Some(params) = &self.rope_parameters else {
            return Ok((self.rope_theta, self.rope_scaling));
        };
        let bad = |m: String| ModelError::Config(format!("rope_parameters: {m}"));
        let theta = match params.get("rope_theta") {
            None => self.rope_theta,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| bad(format!("rope_theta {v} is not a number")))?,
        };
        let kind = params.get("rope_type").or_else(|| params.get("type"));
        if kind.is_none_or(|k| k == "default") {
            return Ok((theta, None));
        }
        let scaling = serde_json::from_value::<RopeScaling>(params.clone())
            .map_err(|e| bad(e.to_string()))?;
        Ok((theta, Some(scaling)))
    }

    /// Which attention projections carry biases: (query/key/value, output).
    pub fn attention_biases(&self) -> (bool, bool) {
        match self.architecture() {
            Ok(Architecture::InternLM2) => {
                let b = self.bias.unwrap_or(true);
                (b, b)
            }
            Ok(Architecture::Qwen2) => (true, false),
            _ => {
                let b = self.attention_bias.unwrap_or(false);
                (b, b)
            }
        }
    }

    /// The longest sequence the network runs as the checkpoint defines it: Mistral's (or an
    /// enabled Qwen2) sliding window, which is not implemented, bounds it.
    pub fn window(&self) -> Option<usize> {
        match self.architecture() {
            Ok(Architecture::Qwen2) if self.use_sliding_window != Some(true) => None,
            Ok(Architecture::InternLM2) => None,
            _ => self.sliding_window,
        }
    }

    /// Query heads per key/value head.
    pub fn groups(&self) -> usize {
        self.num_attention_heads / self.num_kv_heads()
    }

    pub fn eos_token_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default()
    }

    /// Checks the sizes fit together; the forward pass relies on these.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.vocab_size == 0 || self.hidden_size == 0 || self.num_hidden_layers == 0 {
            return bad("vocab_size, hidden_size and num_hidden_layers must be positive".into());
        }
        let (heads, kv) = (self.num_attention_heads, self.num_kv_heads());
        if heads == 0 || kv == 0 || heads % kv != 0 {
            return bad(format!(
                "num_attention_heads ({heads}) must be a positive multiple of num_key_value_heads ({kv})"
            ));
        }
        self.architecture()?;
        if self.head_dim == Some(0)
            || (self.head_dim.is_none() && !self.hidden_size.is_multiple_of(heads))
            || !self.head_dim().is_multiple_of(2)
        {
            return bad(format!(
                "hidden_size ({}) must split into {heads} heads of even size",
                self.hidden_size
            ));
        }
        let (rope_theta, rope_scaling) = self.rope()?;
        if rope_theta.is_nan() || rope_theta <= 0.0 {
            return bad(format!("rope_theta must be positive, got {rope_theta}"));
        }
        if let Some(s) = rope_scaling
            && !(s.factor >= 1.0 || (s.kind == RopeScalingKind::Linear && s.factor > 0.0))
        {
            return bad(format!("rope_scaling factor {} is out of range", s.factor));
        }
        if let Some(s) = rope_scaling
            && s.kind == RopeScalingKind::Llama3
        {
            let (low, high) = (s.low_freq_factor, s.high_freq_factor);
            let ok = matches!((low, high), (Some(l), Some(h)) if l > 0.0 && h > l)
                && s.original_max_position_embeddings.is_some_and(|n| n > 0);
            if !ok {
                return bad(
                    "llama3 rope_scaling needs low_freq_factor < high_freq_factor (both \
                     positive) and original_max_position_embeddings"
                        .into(),
                );
            }
        }
        if self.max_position_embeddings == 0 {
            return bad("max_position_embeddings must be positive".into());
        }
        Ok(())
    }

    /// Every tensor name the checkpoint must provide, with its shape.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (h, i, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let hd = self.head_dim();
        let (q, kv) = (self.num_attention_heads * hd, self.num_kv_heads() * hd);
        let names = Names::of(self.architecture().unwrap_or(Architecture::InternLM2));
        let (qkv_bias, o_bias) = self.attention_biases();
        let mut out = vec![
            (format!("{}.weight", names.embed), vec![v, h]),
            ("model.norm.weight".to_string(), vec![h]),
        ];
        if !self.tie_word_embeddings {
            out.push((format!("{}.weight", names.head), vec![v, h]));
        }
        for l in 0..self.num_hidden_layers {
            let p = format!("model.layers.{l}");
            out.push((format!("{p}.{}.weight", names.attention_norm), vec![h]));
            let projections: Vec<(&str, usize)> = match names.qkv {
                Qkv::Packed(wqkv) => vec![(wqkv, q + 2 * kv)],
                Qkv::Split(wq, wk, wv) => vec![(wq, q), (wk, kv), (wv, kv)],
            };
            for (name, rows) in projections {
                let name = format!("{p}.{}.{name}", names.attention);
                out.push((format!("{name}.weight"), vec![rows, h]));
                if qkv_bias {
                    out.push((format!("{name}.bias"), vec![rows]));
                }
            }
            let wo = format!("{p}.{}.{}", names.attention, names.wo);
            out.push((format!("{wo}.weight"), vec![h, q]));
            if o_bias {
                out.push((format!("{wo}.bias"), vec![h]));
            }
            out.push((format!("{p}.{}.weight", names.ffn_norm), vec![h]));
            let [gate, up, down] = names.ffn;
            let ffn = |w: &str| format!("{p}.{}.{w}", names.feed_forward);
            out.push((format!("{}.weight", ffn(gate)), vec![i, h]));
            out.push((format!("{}.weight", ffn(up)), vec![i, h]));
            out.push((format!("{}.weight", ffn(down)), vec![h, i]));
            if self.mlp_bias {
                out.push((format!("{}.bias", ffn(gate)), vec![i]));
                out.push((format!("{}.bias", ffn(up)), vec![i]));
                out.push((format!("{}.bias", ffn(down)), vec![h]));
            }
        }
        out
    }
}

/// Query/key/value projections as a checkpoint stores them.
#[derive(Debug, Clone, Copy)]
enum Qkv {
    /// One weight, rows grouped per key/value head (InternLM2's `wqkv`).
    Packed(&'static str),
    /// Three weights: all query heads, all key heads, all value heads.
    Split(&'static str, &'static str, &'static str),
}

/// The tensor names of one architecture (under `model.`, and per layer under `model.layers.N.`).
#[derive(Debug, Clone, Copy)]
struct Names {
    embed: &'static str,
    head: &'static str,
    attention_norm: &'static str,
    attention: &'static str,
    qkv: Qkv,
    wo: &'static str,
    ffn_norm: &'static str,
    feed_forward: &'static str,
    /// Gate, up, down.
    ffn: [&'static str; 3],
}

impl Names {
    fn of(arch: Architecture) -> Self {
        match arch {
            Architecture::InternLM2 => Names {
                embed: "model.tok_embeddings",
                head: "output",
                attention_norm: "attention_norm",
                attention: "attention",
                qkv: Qkv::Packed("wqkv"),
                wo: "wo",
                ffn_norm: "ffn_norm",
                feed_forward: "feed_forward",
                ffn: ["w1", "w3", "w2"],
            },
            Architecture::Llama | Architecture::Qwen2 => Names {
                embed: "model.embed_tokens",
                head: "lm_head",
                attention_norm: "input_layernorm",
                attention: "self_attn",
                qkv: Qkv::Split("q_proj", "k_proj", "v_proj"),
                wo: "o_proj",
                ffn_norm: "post_attention_layernorm",
                feed_forward: "mlp",
                ffn: ["gate_proj", "up_proj", "down_proj"],
            },
        }
    }
}

/// Rotary position embedding (rotate-half convention), computed in f32 the way the reference
/// implementation does so positions far out still agree with it.
#[derive(Debug, Clone)]
struct Rotary {
    head_dim: usize,
    base: f32,
    scaling: Option<RopeScaling>,
    max_position_embeddings: usize,
}

impl Rotary {
    fn new(cfg: &Config) -> Self {
        // `Model::load` validated the config, so `rope` succeeds here.
        let (theta, scaling) = cfg.rope().unwrap_or((cfg.rope_theta, cfg.rope_scaling));
        Self {
            head_dim: cfg.head_dim(),
            base: theta as f32,
            scaling,
            max_position_embeddings: cfg.max_position_embeddings,
        }
    }

    fn inv_freq(&self, base: f32) -> Vec<f32> {
        let dim = self.head_dim as f32;
        let inv_freq = (0..self.head_dim / 2).map(|i| 1.0 / base.powf((2 * i) as f32 / dim));
        match self.scaling {
            Some(
                s @ RopeScaling {
                    kind: RopeScalingKind::Llama3,
                    ..
                },
            ) => {
                // Wavelengths shorter than the original context / high_freq_factor are kept,
                // longer than context / low_freq_factor are divided by the factor, and those
                // between are interpolated (validated: both factors and the context are set).
                let factor = s.factor as f32;
                let low = s.low_freq_factor.unwrap_or(1.0) as f32;
                let high = s.high_freq_factor.unwrap_or(4.0) as f32;
                let context = s.original_max_position_embeddings.unwrap_or(8192) as f32;
                let (low_wavelen, high_wavelen) = (context / low, context / high);
                inv_freq
                    .map(|f| {
                        let wavelen = 2.0 * std::f32::consts::PI / f;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / factor
                        } else {
                            let smooth = (context / wavelen - low) / (high - low);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect()
            }
            _ => inv_freq.collect(),
        }
    }

    /// The base in effect for a sequence whose length (including this step) is `seq_len`.
    fn base_for(&self, seq_len: usize) -> f32 {
        match self.scaling {
            Some(RopeScaling {
                kind: RopeScalingKind::Dynamic,
                factor,
                ..
            }) if seq_len > self.max_position_embeddings => {
                let factor = factor as f32;
                let dim = self.head_dim as f32;
                let ratio = factor * seq_len as f32 / self.max_position_embeddings as f32;
                self.base * (ratio - (factor - 1.0)).powf(dim / (dim - 2.0))
            }
            _ => self.base,
        }
    }

    /// `cos` and `sin` of shape `(rows, seq, head_dim / 2)` for `positions[r * seq + j]`;
    /// `seq_lens[r]` is row `r`'s total length after this step (it selects the dynamic NTK base).
    fn cos_sin(
        &self,
        positions: &[u32],
        seq_lens: &[usize],
        seq: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<(Tensor, Tensor)> {
        let half = self.head_dim / 2;
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        let mut cached: Option<(f32, Vec<f32>)> = None;
        for (r, &seq_len) in seq_lens.iter().enumerate() {
            let base = self.base_for(seq_len);
            if cached.as_ref().is_none_or(|(b, _)| *b != base) {
                cached = Some((base, self.inv_freq(base)));
            }
            let inv_freq = &cached.as_ref().expect("set above").1;
            for &pos in &positions[r * seq..(r + 1) * seq] {
                let pos = match self.scaling {
                    Some(RopeScaling {
                        kind: RopeScalingKind::Linear,
                        factor,
                        ..
                    }) => pos as f32 / factor as f32,
                    _ => pos as f32,
                };
                for &f in inv_freq {
                    let angle = f * pos;
                    cos.push(angle.cos());
                    sin.push(angle.sin());
                }
            }
        }
        let shape = (seq_lens.len(), seq, half);
        let cos = Tensor::from_vec(cos, shape, device)?.to_dtype(dtype)?;
        let sin = Tensor::from_vec(sin, shape, device)?.to_dtype(dtype)?;
        Ok((cos, sin))
    }
}

/// Keys and values of a prompt prefix shared by every row of every batch:
/// per layer `(kv_heads, len, head_dim)`.
#[derive(Debug, Clone)]
pub struct PrefixKv {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    tokens: Vec<u32>,
}

impl PrefixKv {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The prefix's token ids (starting with BOS when the caller put it there).
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }
}

/// Per-row key/value cache of a batch, left-padded: row `r` starts at slot `pads[r]`.
/// Buffers are `(kv_heads, rows, capacity, head_dim)` per layer; `len` slots are filled.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    rows: usize,
    capacity: usize,
    len: usize,
    pads: Vec<usize>,
    prefix_len: usize,
}

impl KvCache {
    /// An empty cache for `pads.len()` rows, for use after a prefix of `prefix_len` tokens
    /// (0 without prefix). `capacity` is a hint; the cache grows when it runs out.
    pub fn new(
        model: &Model,
        pads: Vec<usize>,
        capacity: usize,
        prefix_len: usize,
    ) -> Result<Self> {
        let cfg = &model.cfg;
        let rows = pads.len();
        let capacity = capacity.max(1);
        let shape = (cfg.num_kv_heads(), rows, capacity, cfg.head_dim());
        let mut k = Vec::with_capacity(cfg.num_hidden_layers);
        let mut v = Vec::with_capacity(cfg.num_hidden_layers);
        for _ in 0..cfg.num_hidden_layers {
            k.push(Tensor::zeros(shape, model.dtype, &model.device)?);
            v.push(Tensor::zeros(shape, model.dtype, &model.device)?);
        }
        Ok(Self {
            k,
            v,
            rows,
            capacity,
            len: 0,
            pads,
            prefix_len,
        })
    }

    /// Filled slots (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn pads(&self) -> &[usize] {
        &self.pads
    }

    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// Tokens of row `r` held in this cache (its prefix not counted).
    pub fn row_len(&self, r: usize) -> usize {
        self.len.saturating_sub(self.pads[r])
    }

    /// A new cache whose row `i` is a copy of row `rows[i]` of this one (rows may repeat):
    /// beam reordering, expanding a prompt into several candidates, dropping finished rows.
    pub fn select_rows(&self, rows: &[u32]) -> Result<KvCache> {
        if let Some(&bad) = rows.iter().find(|&&r| r as usize >= self.rows) {
            return Err(ModelError::InvalidRequest(format!(
                "row {bad} out of range for a cache of {} rows",
                self.rows
            )));
        }
        let device = self.k.first().map(|t| t.device().clone());
        let device = device.unwrap_or(Device::Cpu);
        let index = Tensor::from_slice(rows, rows.len(), &device)?;
        let pick = |ts: &[Tensor]| -> Result<Vec<Tensor>> {
            ts.iter()
                .map(|t| Ok(t.index_select(&index, 1)?))
                .collect::<Result<Vec<_>>>()
        };
        Ok(KvCache {
            k: pick(&self.k)?,
            v: pick(&self.v)?,
            rows: rows.len(),
            capacity: self.capacity,
            len: self.len,
            pads: rows.iter().map(|&r| self.pads[r as usize]).collect(),
            prefix_len: self.prefix_len,
        })
    }

    /// Stacks the rows of several caches (same prefix), right-aligning their contents.
    pub fn concat_rows(caches: &[KvCache]) -> Result<KvCache> {
        let Some(first) = caches.first() else {
            return Err(ModelError::InvalidRequest(
                "no caches to concatenate".into(),
            ));
        };
        if caches.iter().any(|c| c.prefix_len != first.prefix_len) {
            return Err(ModelError::InvalidRequest(
                "caches built on different prefixes".into(),
            ));
        }
        let len = caches.iter().map(|c| c.len).max().unwrap_or(0);
        let spare = caches.iter().map(|c| c.capacity - c.len).max().unwrap_or(0);
        let capacity = len + spare;
        let layers = first.k.len();
        let mut k = Vec::with_capacity(layers);
        let mut v = Vec::with_capacity(layers);
        for l in 0..layers {
            let align = |t: &Tensor, c: &KvCache| -> Result<Tensor> {
                let shift = len - c.len;
                let filled = t.narrow(2, 0, c.len)?;
                Ok(filled.pad_with_zeros(2, shift, capacity - len)?)
            };
            let ks = caches
                .iter()
                .map(|c| align(&c.k[l], c))
                .collect::<Result<Vec<_>>>()?;
            let vs = caches
                .iter()
                .map(|c| align(&c.v[l], c))
                .collect::<Result<Vec<_>>>()?;
            k.push(Tensor::cat(&ks, 1)?);
            v.push(Tensor::cat(&vs, 1)?);
        }
        let pads = caches
            .iter()
            .flat_map(|c| c.pads.iter().map(move |p| p + (len - c.len)))
            .collect::<Vec<_>>();
        Ok(KvCache {
            k,
            v,
            rows: pads.len(),
            capacity,
            len,
            pads,
            prefix_len: first.prefix_len,
        })
    }

    fn reserve(&mut self, extra: usize) -> Result<()> {
        if self.len + extra <= self.capacity {
            return Ok(());
        }
        // Grow geometrically so a long generation reallocates only a few times.
        let new_capacity = (self.len + extra).max(self.capacity * 3 / 2);
        let grow = |t: &Tensor| -> Result<Tensor> {
            Ok(t.pad_with_zeros(2, 0, new_capacity - self.capacity)?)
        };
        self.k = self.k.iter().map(grow).collect::<Result<_>>()?;
        self.v = self.v.iter().map(grow).collect::<Result<_>>()?;
        self.capacity = new_capacity;
        Ok(())
    }
}

/// What every layer needs to know about the current step.
struct Step {
    rows: usize,
    seq: usize,
    cos: Tensor,
    sin: Tensor,
    /// Additive mask `(1, rows, seq, 1, slots)` over the per-row cache, `None` when all visible.
    mask: Option<Tensor>,
}

/// One layer's share of the shared prefix: keys and values `(kv_heads, prefix_len, head_dim)`.
type PrefixLayer<'a> = Option<(&'a Tensor, &'a Tensor)>;

#[derive(Debug, Clone)]
struct Attention {
    /// Query and key rows of `wqkv` (value rows removed), still in the grouped order, so the
    /// projection output reshapes for free to `(.., kv_heads, groups + 1, head_dim)`.
    w_qk: Tensor,
    b_qk: Option<Tensor>,
    w_v: Tensor,
    b_v: Option<Tensor>,
    wo: Tensor,
    b_o: Option<Tensor>,
    kv_heads: usize,
    groups: usize,
    head_dim: usize,
    scale: f64,
}

fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let y = x.matmul(&w.t()?)?;
    Ok(match b {
        Some(b) => y.broadcast_add(b)?,
        None => y,
    })
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &Config, names: &Names) -> Result<Self> {
        let (kv_heads, groups, head_dim) = (cfg.num_kv_heads(), cfg.groups(), cfg.head_dim());
        let hidden = cfg.hidden_size;
        let q_width = kv_heads * groups * head_dim;
        let (qkv_bias, o_bias) = cfg.attention_biases();
        // Both layouts become `(kv_heads, groups + 2, head_dim, ..)`: per key/value head, its
        // query heads, its key head, its value head (InternLM2's packed order). In a split layout
        // query head `h` belongs to key/value head `h / groups`, as transformers' `repeat_kv` has it.
        let get = |name: String, rows: usize, cols: Option<usize>| -> Result<Tensor> {
            Ok(match cols {
                Some(cols) => vb.get((rows, cols), &name)?,
                None => vb.get(rows, &name)?,
            })
        };
        let grouped = |what: &str, cols: Option<usize>| -> Result<Tensor> {
            let shape = |lead: &[usize]| -> Vec<usize> {
                [lead, &cols.into_iter().collect::<Vec<_>>()].concat()
            };
            match names.qkv {
                Qkv::Packed(wqkv) => {
                    let rows = kv_heads * (groups + 2) * head_dim;
                    let t = get(format!("{wqkv}.{what}"), rows, cols)?;
                    Ok(t.reshape(shape(&[kv_heads, groups + 2, head_dim]))?)
                }
                Qkv::Split(wq, wk, wv) => {
                    let kv_rows = kv_heads * head_dim;
                    let q = get(format!("{wq}.{what}"), q_width, cols)?
                        .reshape(shape(&[kv_heads, groups, head_dim]))?;
                    let k = get(format!("{wk}.{what}"), kv_rows, cols)?
                        .reshape(shape(&[kv_heads, 1, head_dim]))?;
                    let v = get(format!("{wv}.{what}"), kv_rows, cols)?
                        .reshape(shape(&[kv_heads, 1, head_dim]))?;
                    Ok(Tensor::cat(&[q, k, v], 1)?)
                }
            }
        };
        let wqkv = grouped("weight", Some(hidden))?;
        let w_qk = wqkv
            .narrow(1, 0, groups + 1)?
            .reshape((kv_heads * (groups + 1) * head_dim, hidden))?;
        let w_v = wqkv
            .narrow(1, groups + 1, 1)?
            .reshape((kv_heads * head_dim, hidden))?;
        let (b_qk, b_v) = if qkv_bias {
            let b = grouped("bias", None)?;
            let b_qk = b
                .narrow(1, 0, groups + 1)?
                .reshape(kv_heads * (groups + 1) * head_dim)?;
            let b_v = b.narrow(1, groups + 1, 1)?.reshape(kv_heads * head_dim)?;
            (Some(b_qk), Some(b_v))
        } else {
            (None, None)
        };
        let b_o = if o_bias {
            Some(vb.get(hidden, &format!("{}.bias", names.wo))?)
        } else {
            None
        };
        Ok(Self {
            w_qk,
            b_qk,
            w_v,
            b_v,
            wo: vb.get((hidden, q_width), &format!("{}.weight", names.wo))?,
            b_o,
            kv_heads,
            groups,
            head_dim,
            scale: 1.0 / (head_dim as f64).sqrt(),
        })
    }

    /// `x`: `(rows * seq, hidden)`. Writes this step's keys/values at slot `slot` of `k_buf`/`v_buf`.
    fn forward(
        &self,
        x: &Tensor,
        step: &Step,
        prefix: PrefixLayer,
        k_buf: &Tensor,
        v_buf: &Tensor,
        slot: usize,
    ) -> Result<Tensor> {
        let (rows, seq) = (step.rows, step.seq);
        let (kvh, g, hd) = (self.kv_heads, self.groups, self.head_dim);
        let qk = linear(x, &self.w_qk, self.b_qk.as_ref())?;
        let qk = qk.reshape((rows, seq, kvh * (g + 1), hd))?;
        let qk = candle_nn::rotary_emb::rope_thd(&qk, &step.cos, &step.sin)?;
        let qk = qk.reshape((rows, seq, kvh, g + 1, hd))?;
        // (kv_heads, rows, seq, groups, head_dim), scaled here rather than on the larger scores.
        let q = qk
            .narrow(3, 0, g)?
            .permute((2, 0, 1, 3, 4))?
            .affine(self.scale, 0.0)?;
        let k = qk
            .narrow(3, g, 1)?
            .permute((2, 0, 1, 3, 4))?
            .contiguous()?
            .reshape((kvh, rows, seq, hd))?;
        let v = linear(x, &self.w_v, self.b_v.as_ref())?
            .reshape((rows, seq, kvh, hd))?
            .permute((2, 0, 1, 3))?
            .contiguous()?;
        k_buf.slice_set(&k, 2, slot)?;
        v_buf.slice_set(&v, 2, slot)?;
        let slots = slot + seq;
        let keys = k_buf.narrow(2, 0, slots)?;
        let values = v_buf.narrow(2, 0, slots)?;

        let q_rows = q.reshape((kvh, rows, seq * g, hd))?;
        let mut scores = q_rows.matmul(&keys.t()?)?;
        if let Some(mask) = &step.mask {
            scores = scores
                .reshape((kvh, rows, seq, g, slots))?
                .broadcast_add(mask)?
                .reshape((kvh, rows, seq * g, slots))?;
        }
        let out = match prefix {
            None => candle_nn::ops::softmax_last_dim(&scores)?.matmul(&values)?,
            Some((pk, pv)) => {
                let plen = pk.dim(1)?;
                let q_all = q.reshape((kvh, rows * seq * g, hd))?;
                let prefix_scores = q_all
                    .matmul(&pk.t()?)?
                    .reshape((kvh, rows, seq * g, plen))?;
                let probs =
                    candle_nn::ops::softmax_last_dim(&Tensor::cat(&[prefix_scores, scores], 3)?)?;
                let from_prefix = probs
                    .narrow(3, 0, plen)?
                    .contiguous()?
                    .reshape((kvh, rows * seq * g, plen))?
                    .matmul(pv)?
                    .reshape((kvh, rows, seq * g, hd))?;
                let from_rows = probs
                    .narrow(3, plen, slots)?
                    .contiguous()?
                    .matmul(&values)?;
                (from_prefix + from_rows)?
            }
        };
        let out = out
            .reshape((kvh, rows, seq, g, hd))?
            .permute((1, 2, 0, 3, 4))?
            .contiguous()?
            .reshape((rows * seq, kvh * g * hd))?;
        linear(&out, &self.wo, self.b_o.as_ref())
    }
}

#[derive(Debug, Clone)]
struct FeedForward {
    /// `w1` (gate) and `w3` (up) stacked, so both come out of one matmul.
    w13: Tensor,
    b13: Option<Tensor>,
    w2: Tensor,
    b2: Option<Tensor>,
    intermediate: usize,
    act: Activation,
}

impl FeedForward {
    fn load(vb: VarBuilder, cfg: &Config, names: &Names) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let [gate, up, down] = names.ffn;
        let w1 = vb.get((i, h), &format!("{gate}.weight"))?;
        let w3 = vb.get((i, h), &format!("{up}.weight"))?;
        let (b13, b2) = if cfg.mlp_bias {
            let b1 = vb.get(i, &format!("{gate}.bias"))?;
            let b3 = vb.get(i, &format!("{up}.bias"))?;
            let b2 = vb.get(h, &format!("{down}.bias"))?;
            (Some(Tensor::cat(&[b1, b3], 0)?), Some(b2))
        } else {
            (None, None)
        };
        Ok(Self {
            w13: Tensor::cat(&[w1, w3], 0)?,
            b13,
            w2: vb.get((h, i), &format!("{down}.weight"))?,
            b2,
            intermediate: i,
            act: cfg.hidden_act,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gate_up = linear(x, &self.w13, self.b13.as_ref())?;
        let gate = gate_up.narrow(1, 0, self.intermediate)?.apply(&self.act)?;
        let up = gate_up.narrow(1, self.intermediate, self.intermediate)?;
        linear(&(gate * up)?, &self.w2, self.b2.as_ref())
    }
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    attention_norm: RmsNorm,
    attention: Attention,
    ffn_norm: RmsNorm,
    feed_forward: FeedForward,
}

impl DecoderLayer {
    fn load(vb: VarBuilder, cfg: &Config, names: &Names) -> Result<Self> {
        let norm = |name: &str| candle_nn::rms_norm(cfg.hidden_size, cfg.rms_norm_eps, vb.pp(name));
        Ok(Self {
            attention_norm: norm(names.attention_norm)?,
            attention: Attention::load(vb.pp(names.attention), cfg, names)?,
            ffn_norm: norm(names.ffn_norm)?,
            feed_forward: FeedForward::load(vb.pp(names.feed_forward), cfg, names)?,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        step: &Step,
        prefix: PrefixLayer,
        k_buf: &Tensor,
        v_buf: &Tensor,
        slot: usize,
    ) -> Result<Tensor> {
        let h = self.attention_norm.forward(x)?;
        let x = (x + self
            .attention
            .forward(&h, step, prefix, k_buf, v_buf, slot)?)?;
        let h = self.ffn_norm.forward(&x)?;
        Ok((&x + self.feed_forward.forward(&h)?)?)
    }
}

/// The InternLM2 causal language model.
#[derive(Debug, Clone)]
pub struct Model {
    cfg: Config,
    tok_embeddings: Embedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    output: Tensor,
    rotary: Rotary,
    dtype: DType,
    device: Device,
}

impl Model {
    /// Builds the model from checkpoint tensors named as the config's architecture names them
    /// (InternLM2: `model.tok_embeddings.weight`, `model.layers.N.attention.wqkv.weight`, …,
    /// `output.weight`; Llama: `model.embed_tokens.weight`, `…self_attn.q_proj.weight`, …,
    /// `lm_head.weight`).
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        cfg.validate()?;
        let names = Names::of(cfg.architecture()?);
        let vm = vb.pp("model");
        let tok_embeddings =
            candle_nn::embedding(cfg.vocab_size, cfg.hidden_size, vb.pp(names.embed))?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| DecoderLayer::load(vm.pp(format!("layers.{l}")), cfg, &names))
            .collect::<Result<Vec<_>>>()?;
        let norm = candle_nn::rms_norm(cfg.hidden_size, cfg.rms_norm_eps, vm.pp("norm"))?;
        let head = format!("{}.weight", names.head);
        let output = if cfg.tie_word_embeddings {
            tok_embeddings.embeddings().clone()
        } else {
            vb.get((cfg.vocab_size, cfg.hidden_size), &head)?
        };
        Ok(Self {
            cfg: cfg.clone(),
            tok_embeddings,
            layers,
            norm,
            output,
            rotary: Rotary::new(cfg),
            dtype: vb.dtype(),
            device: vb.device().clone(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs `input` (`(rows, seq)` token ids, u32) after what `cache` already holds (and after
    /// `prefix`, which must be the one the cache was created for). Returns the final-norm hidden
    /// states `(rows, seq, hidden)`; apply [`Model::logits`] to the positions you need.
    /// Columns that fall in a row's left padding may hold any token id; their output is garbage.
    pub fn forward(
        &self,
        input: &Tensor,
        cache: &mut KvCache,
        prefix: Option<&PrefixKv>,
    ) -> Result<Tensor> {
        let (rows, seq) = input.dims2()?;
        let prefix_len = prefix.map_or(0, PrefixKv::len);
        if rows != cache.rows || prefix_len != cache.prefix_len {
            return Err(ModelError::InvalidRequest(format!(
                "input of {rows} rows after a {prefix_len}-token prefix does not fit a cache of {} rows after {} tokens",
                cache.rows, cache.prefix_len
            )));
        }
        if seq == 0 {
            return Err(ModelError::InvalidRequest("empty input".into()));
        }
        let slot = cache.len;
        let slots = slot + seq;
        if let Some(window) = self.cfg.window()
            && prefix_len + slots > window
        {
            return Err(ModelError::InvalidRequest(format!(
                "a sequence of {} tokens is longer than the model's sliding window ({window}), \
                 which this engine does not implement",
                prefix_len + slots
            )));
        }
        cache.reserve(seq)?;

        let mut positions = Vec::with_capacity(rows * seq);
        let mut seq_lens = Vec::with_capacity(rows);
        for &pad in &cache.pads {
            for t in slot..slots {
                positions.push((prefix_len + t.saturating_sub(pad)) as u32);
            }
            seq_lens.push(prefix_len + slots.saturating_sub(pad));
        }
        let (cos, sin) =
            self.rotary
                .cos_sin(&positions, &seq_lens, seq, self.dtype, &self.device)?;

        let needs_mask = seq > 1 || cache.pads.iter().any(|&p| p > 0);
        let mask = if needs_mask {
            let mut m = Vec::with_capacity(rows * seq * slots);
            for &pad in &cache.pads {
                for t in slot..slots {
                    // Padding slots attend to themselves only, which keeps them finite.
                    m.extend((0..slots).map(|s| {
                        if (s >= pad && s <= t) || s == t {
                            0f32
                        } else {
                            f32::NEG_INFINITY
                        }
                    }));
                }
            }
            let m = Tensor::from_vec(m, (1, rows, seq, 1, slots), &self.device)?;
            Some(m.to_dtype(self.dtype)?)
        } else {
            None
        };
        let step = Step {
            rows,
            seq,
            cos,
            sin,
            mask,
        };

        let mut x = self
            .tok_embeddings
            .forward(&input.flatten_all()?)?
            .reshape((rows * seq, self.cfg.hidden_size))?;
        for (l, layer) in self.layers.iter().enumerate() {
            let prefix = prefix.map(|p| (&p.k[l], &p.v[l]));
            x = layer.forward(&x, &step, prefix, &cache.k[l], &cache.v[l], slot)?;
        }
        cache.len = slots;
        let x = self.norm.forward(&x)?;
        Ok(x.reshape((rows, seq, self.cfg.hidden_size))?)
    }

    /// Output-head logits for hidden states `(.., hidden)` → `(.., vocab)`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        // Callers pass rows picked out of a longer sequence (each prompt's last position);
        // the CUDA matmul needs them contiguous (the CPU one does not care).
        Ok(hidden.contiguous()?.broadcast_matmul(&self.output.t()?)?)
    }

    /// Hidden states → log-probabilities in f32 `(.., vocab)`.
    pub fn log_probs(&self, hidden: &Tensor) -> Result<Tensor> {
        let logits = self.logits(hidden)?.to_dtype(DType::F32)?;
        Ok(candle_nn::ops::log_softmax(&logits, D::Minus1)?)
    }

    /// Logits `(seq, vocab)` of one token sequence run from scratch (no prefix, no reuse).
    pub fn forward_logits(&self, tokens: &[u32]) -> Result<Tensor> {
        let input = Tensor::from_slice(tokens, (1, tokens.len()), &self.device)?;
        let mut cache = KvCache::new(self, vec![0], tokens.len(), 0)?;
        let hidden = self.forward(&input, &mut cache, None)?;
        self.logits(&hidden.i(0)?)
    }

    /// Computes the keys and values of `tokens` once, to be shared by later batches.
    pub fn build_prefix(&self, tokens: &[u32]) -> Result<PrefixKv> {
        if tokens.is_empty() {
            return Err(ModelError::InvalidRequest("empty prefix".into()));
        }
        let input = Tensor::from_slice(tokens, (1, tokens.len()), &self.device)?;
        let mut cache = KvCache::new(self, vec![0], tokens.len(), 0)?;
        self.forward(&input, &mut cache, None)?;
        let squeeze = |t: &Tensor| -> Result<Tensor> {
            Ok(t.narrow(2, 0, tokens.len())?.squeeze(1)?.contiguous()?)
        };
        Ok(PrefixKv {
            k: cache.k.iter().map(squeeze).collect::<Result<_>>()?,
            v: cache.v.iter().map(squeeze).collect::<Result<_>>()?,
            tokens: tokens.to_vec(),
        })
    }
}
