//! Causal language models run through candle: InternLM2(-Math) and the Llama family (Llama,
//! Llemma, CodeLlama, Mistral; Qwen2), one network whose weight layout `config.json` names.
//!
//! - [`model`]: the network (config, architectures, forward pass, KV caches), in one file.
//! - [`loader`]: finding and reading a checkpoint (local directory or Hugging Face hub id).
//! - [`generate`]: batched greedy / beam / sampling generation ([`Generator`], its
//!   [`GenRequest`]s and [`GenParams`]) with a reusable shared prompt prefix.
//! - [`tokenizer`]: loading the tokenizer of a checkpoint directory.
//! - [`chat_template`]: a checkpoint's chat template, rendered as transformers renders it.
//!
//! The crate knows nothing of Lean, proofs or command lines: it turns prompts into scored
//! continuations. Errors are [`ModelError`]; there is no `anyhow` and no `clap` here.

pub mod chat_template;
pub mod error;
pub mod generate;
pub mod loader;
pub mod model;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokenizer;

/// The PyTorch side of the engine benchmark (`prover bench model`): the same model run by
/// `transformers`, timed the same way, for ratios measured side by side.
pub const TORCH_BENCH_SCRIPT: &str = include_str!("../benches/torch_internlm2_bench.py");

pub use error::{ModelError, Result};
pub use generate::{
    FinishReason, GenParams, GenRequest, Generation, Generator, Strategy, TokenGeneration,
};
pub use loader::{LoadOptions, ModelFiles, ModelSource};
pub use model::{Config, KvCache, Model, PrefixKv};
