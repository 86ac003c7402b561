//! The InternLM2 language model: tokenizer, network and generation.
pub mod tokenizer;
