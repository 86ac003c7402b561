//! Shared helpers of the model tests: the tiny InternLM2 fixture and a toy tokenizer.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use prover::model::loader::{self, LoadOptions, ModelFiles};
use prover::model::{Config, Model};
use tokenizers::models::bpe::BPE;
use tokenizers::{AddedToken, Tokenizer};

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-internlm2")
}

pub fn config(name: &str) -> Config {
    let file = match name {
        "standard" => "config.json",
        "dynamic" => "config_dynamic.json",
        "linear" => "config_linear.json",
        other => panic!("unknown fixture config {other}"),
    };
    loader::read_config(&fixture_dir().join(file)).expect("fixture config")
}

/// The tiny model (f32, CPU) under one of the fixture configs.
pub fn model(name: &str) -> Model {
    let files = ModelFiles::from_dir(&fixture_dir()).expect("fixture files");
    loader::load_model_with_config(&files, &config(name), &LoadOptions::default())
        .expect("fixture model")
}

pub fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join("reference.json")).expect("reference");
    serde_json::from_str(&text).expect("reference json")
}

pub fn reference_logits() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture_dir().join("reference.safetensors"), &Device::Cpu)
        .expect("reference logits")
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("array of ids")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

/// Largest absolute difference of two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A 1024-token character-level tokenizer: `<unk>`=0, `<s>`=1, `</s>`=2, then `\n` and the
/// printable ASCII characters, then filler pieces `<tN>` (one token each).
pub fn toy_tokenizer() -> Tokenizer {
    let mut vocab: HashMap<String, u32> = HashMap::new();
    for (i, s) in ["<unk>", "<s>", "</s>"].iter().enumerate() {
        vocab.insert(s.to_string(), i as u32);
    }
    let mut next = 3u32;
    for c in std::iter::once('\n').chain((32u8..127).map(char::from)) {
        vocab.insert(c.to_string(), next);
        next += 1;
    }
    while next < 1024 {
        vocab.insert(format!("<t{next}>"), next);
        next += 1;
    }
    let bpe = BPE::builder()
        .vocab_and_merges(
            vocab
                .into_iter()
                .collect::<tokenizers::models::bpe::Vocab>(),
            vec![],
        )
        .unk_token("<unk>".to_string())
        .build()
        .expect("toy bpe");
    let mut tok = Tokenizer::new(bpe);
    tok.with_decoder(Some(tokenizers::decoders::fuse::Fuse::new()));
    tok.add_special_tokens([
        AddedToken::from("<unk>", true),
        AddedToken::from("<s>", true),
        AddedToken::from("</s>", true),
    ])
    .expect("special tokens");
    tok
}

/// A checkpoint directory with the fixture's standard config and weights plus the toy
/// tokenizer as `tokenizer.json`.
pub fn checkpoint_with_tokenizer() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture_dir().join(f), dir.path().join(f)).expect("copy fixture");
    }
    toy_tokenizer()
        .save(dir.path().join("tokenizer.json"), false)
        .expect("save tokenizer");
    dir
}
