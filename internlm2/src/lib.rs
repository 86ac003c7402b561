//! The InternLM2(-Math) language model run through candle: architecture, loading, generation.
//!
//! - [`model`]: the network (config, forward pass, KV caches), one model in one file.
//! - [`loader`]: finding and reading a checkpoint (local directory or Hugging Face hub id).
//! - [`generate`]: batched greedy / beam / sampling generation ([`Generator`], its
//!   [`GenRequest`]s and [`GenParams`]) with a reusable shared prompt prefix.
//! - [`tokenizer`]: loading the tokenizer of a checkpoint directory.
//!
//! The crate knows nothing of Lean, proofs or command lines: it turns prompts into scored
//! continuations. Errors are [`ModelError`]; there is no `anyhow` and no `clap` here.

pub mod generate;
pub mod loader;
pub mod model;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokenizer;

/// The PyTorch side of the engine benchmark (`prover bench model`): the same model run by
/// `transformers`, timed the same way, for ratios measured side by side.
pub const TORCH_BENCH_SCRIPT: &str = include_str!("../benches/torch_internlm2_bench.py");

use std::path::PathBuf;

pub use generate::{
    FinishReason, GenParams, GenRequest, Generation, Generator, Strategy, TokenGeneration,
};
pub use loader::{LoadOptions, ModelFiles, ModelSource};
pub use model::{Config, KvCache, Model, PrefixKv};

/// Everything that can go wrong while loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {} does not exist or is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("missing file {}: {what}", .path.display())]
    MissingFile { path: PathBuf, what: String },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid {}: {message}", .path.display())]
    InvalidFile { path: PathBuf, message: String },
    #[error("checkpoint in {} lacks tensor `{name}`", .dir.display())]
    MissingTensor { name: String, dir: PathBuf },
    #[error("tensor `{name}` has shape {got:?}, the config implies {expected:?}")]
    TensorShape {
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("{0}")]
    InvalidOption(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("cannot fetch `{id}` from the Hugging Face hub: {message}")]
    Hub { id: String, message: String },
    #[error("invalid generation request: {0}")]
    InvalidRequest(String),
    #[error("device: {0}")]
    Device(String),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

impl From<tokenizer::TokenizerError> for ModelError {
    fn from(e: tokenizer::TokenizerError) -> Self {
        ModelError::Tokenizer(e.to_string())
    }
}
