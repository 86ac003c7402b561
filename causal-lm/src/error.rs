//! The engine's one error type.

use std::path::PathBuf;

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
    #[error("chat template {origin}: {message}")]
    ChatTemplate { origin: String, message: String },
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

impl From<crate::tokenizer::TokenizerError> for ModelError {
    fn from(e: crate::tokenizer::TokenizerError) -> Self {
        ModelError::Tokenizer(e.to_string())
    }
}
