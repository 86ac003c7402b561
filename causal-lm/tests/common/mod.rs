//! Shared helpers of the model tests: the tiny InternLM2 fixture and a toy tokenizer.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};
use causal_lm::loader::{self, LoadOptions, ModelFiles};
use causal_lm::{Config, Model};

pub fn fixture_dir() -> PathBuf {
    causal_lm::testing::tiny_checkpoint_dir()
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
