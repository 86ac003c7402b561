//! The OpenAI-compatible completions API (`/v1/completions`, `/v1/chat/completions`,
//! `/v1/models`) as vLLM, SGLang,
//! LMDeploy, llama.cpp's server and `prover serve` speak it: the wire types ([`wire`], [`chat`]) and a
//! client ([`CompletionsClient`]) that bounds the requests in flight, retries what a restart or
//! an overloaded server causes, and turns every failure into a typed [`ApiError`].
//!
//! It knows neither Lean nor a model: prompts in, texts and token log-probabilities out.

pub mod chat;
pub mod client;
pub mod wire;

pub use chat::{
    ChatChoice, ChatCompletionRequest, ChatCompletionResponse, ChatLogProbs, ChatMessage,
    TokenLogProb,
};
pub use client::{ApiError, ApiErrorKind, ClientConfig, CompletionsClient, read_answer};
pub use wire::{
    Choice, CompletionRequest, CompletionResponse, ErrorBody, ErrorDetail, LogProbs, ModelCard,
    ModelList, OneOrMany, Usage,
};
