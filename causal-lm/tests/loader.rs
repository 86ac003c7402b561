//! Checkpoint loading: formats, dtypes, and errors for wrong or partial directories.

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use causal_lm::loader::{
    self, HubOptions, LoadOptions, ModelFiles, ModelSource, WeightFiles, fetch_from_hub,
};
use causal_lm::model::RopeScalingKind;
use causal_lm::{Model, ModelError};
use common::*;

fn fixture_tensors() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture_dir().join("model.safetensors"), &Device::Cpu).unwrap()
}

fn load_dir(dir: &Path) -> Result<Model, ModelError> {
    loader::load(
        &ModelSource::Dir(dir.to_path_buf()),
        &LoadOptions::default(),
    )
    .map(|(_, m)| m)
}

fn copy_config(dir: &Path) {
    std::fs::copy(fixture_dir().join("config.json"), dir.join("config.json")).unwrap();
}

fn sample_logits(m: &Model) -> Tensor {
    m.forward_logits(&ids(&reference()["sequences"]["a"]))
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
}

#[test]
fn config_parses_published_fields_and_tolerates_unknown_ones() {
    let cfg = config("standard");
    assert_eq!(cfg.model_type, "internlm2");
    assert_eq!(cfg.architectures, vec!["InternLM2ForCausalLM".to_string()]);
    assert_eq!(cfg.num_kv_heads(), 2);
    assert_eq!(cfg.groups(), 2);
    assert_eq!(cfg.head_dim(), 16);
    assert_eq!(cfg.eos_token_ids(), vec![2]);
    assert_eq!(cfg.bias, Some(false));
    assert_eq!(cfg.attention_biases(), (false, false));
    assert!(cfg.auto_map.contains_key("AutoModelForCausalLM"));
    assert_eq!(cfg.attn_implementation.as_deref(), Some("eager"));
    assert!(
        cfg.extra.contains_key("pretraining_tp"),
        "unknown fields are kept"
    );
    let dynamic = config("dynamic").rope_scaling.unwrap();
    assert_eq!(
        (dynamic.kind, dynamic.factor),
        (RopeScalingKind::Dynamic, 2.0)
    );
    assert_eq!(
        config("linear").rope_scaling.unwrap().kind,
        RopeScalingKind::Linear
    );
}

#[test]
fn sharded_safetensors_equal_single_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    let tensors = fixture_tensors();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let (a, b) = names.split_at(names.len() / 2);
    let mut weight_map = serde_json::Map::new();
    for (file, part) in [
        ("model-00001-of-00002.safetensors", a),
        ("model-00002-of-00002.safetensors", b),
    ] {
        let shard: HashMap<&String, Tensor> =
            part.iter().map(|n| (*n, tensors[*n].clone())).collect();
        candle_core::safetensors::save(&shard, dir.path().join(file)).unwrap();
        for n in part {
            weight_map.insert((*n).clone(), file.into());
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();
    let files = ModelFiles::from_dir(dir.path()).unwrap();
    assert!(matches!(&files.weights, WeightFiles::Safetensors(p) if p.len() == 2));
    let sharded = load_dir(dir.path()).unwrap();
    let single = load_dir(&fixture_dir()).unwrap();
    assert_eq!(
        max_abs_diff(&sample_logits(&sharded), &sample_logits(&single)),
        0.0
    );

    // A shard named in the index but absent is reported by name.
    std::fs::remove_file(dir.path().join("model-00002-of-00002.safetensors")).unwrap();
    match load_dir(dir.path()) {
        Err(ModelError::MissingFile { path, .. }) => {
            assert!(path.ends_with("model-00002-of-00002.safetensors"))
        }
        other => panic!("expected a missing shard, got {other:?}"),
    }
}

#[test]
fn sharded_pytorch_bf16_pickles_load() {
    let dir = fixture_dir().with_file_name("tiny-internlm2-pth");
    let files = ModelFiles::from_dir(&dir).unwrap();
    assert!(matches!(&files.weights, WeightFiles::Pth(p) if p.len() == 2));
    let from_pth = load_dir(&dir).unwrap();
    let reference = load_dir(&fixture_dir()).unwrap();
    // bf16 weights: same model up to bf16 rounding of each weight.
    let diff = max_abs_diff(&sample_logits(&from_pth), &sample_logits(&reference));
    assert!(diff > 0.0 && diff < 0.2, "bf16 vs f32 weights: {diff}");
}

#[test]
fn half_precision_dtypes_run() {
    let reference = sample_logits(&load_dir(&fixture_dir()).unwrap());
    for dtype in [DType::BF16, DType::F16] {
        let opts = LoadOptions {
            dtype,
            ..LoadOptions::default()
        };
        let (_, m) = loader::load(&ModelSource::Dir(fixture_dir()), &opts).unwrap();
        assert_eq!(m.dtype(), dtype);
        let diff = max_abs_diff(&sample_logits(&m), &reference);
        assert!(diff < 0.5, "{dtype:?}: {diff}");
    }
}

#[test]
fn missing_pieces_are_named() {
    // Not a directory.
    let missing = Path::new("/nonexistent/tiny");
    assert!(matches!(load_dir(missing), Err(ModelError::NotADirectory(p)) if p == missing));

    // No config.json.
    let dir = tempfile::tempdir().unwrap();
    match load_dir(dir.path()) {
        Err(e @ ModelError::MissingFile { .. }) => assert!(e.to_string().contains("config.json")),
        other => panic!("{other:?}"),
    }

    // Config but no weights.
    copy_config(dir.path());
    match load_dir(dir.path()) {
        Err(e @ ModelError::MissingFile { .. }) => {
            assert!(e.to_string().contains("model.safetensors"))
        }
        other => panic!("{other:?}"),
    }

    // One tensor missing.
    let mut tensors = fixture_tensors();
    tensors.remove("model.layers.1.feed_forward.w2.weight");
    candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    match load_dir(dir.path()) {
        Err(e @ ModelError::MissingTensor { .. }) => {
            assert!(
                e.to_string()
                    .contains("model.layers.1.feed_forward.w2.weight"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }

    // A config that does not match the tensors.
    let tensors = fixture_tensors();
    candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("config.json")).unwrap())
            .unwrap();
    cfg["intermediate_size"] = 96.into();
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    match load_dir(dir.path()) {
        Err(ModelError::TensorShape {
            name,
            expected,
            got,
        }) => {
            assert!(name.contains("feed_forward"), "{name}");
            assert_ne!(expected, got);
        }
        other => panic!("{other:?}"),
    }

    // Broken JSON, unsupported rope scaling, inconsistent head counts.
    for (text, needle) in [
        ("{\"vocab_size\": ", "config.json"),
        (
            &cfg.to_string().replace(
                "\"rope_scaling\":null",
                "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":2.0}",
            ),
            "yarn",
        ),
        (
            &cfg.to_string()
                .replace("\"num_key_value_heads\":2", "\"num_key_value_heads\":3"),
            "num_key_value_heads",
        ),
    ] {
        std::fs::write(dir.path().join("config.json"), text).unwrap();
        let err = load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn source_parsing() {
    assert_eq!(
        ModelSource::parse("internlm/internlm2-math-7b"),
        ModelSource::Hub {
            id: "internlm/internlm2-math-7b".into(),
            revision: None
        }
    );
    assert_eq!(
        ModelSource::parse("internlm/internlm2-math-7b@v1.0"),
        ModelSource::Hub {
            id: "internlm/internlm2-math-7b".into(),
            revision: Some("v1.0".into())
        }
    );
    let dir = fixture_dir();
    assert_eq!(
        ModelSource::parse(dir.to_str().unwrap()),
        ModelSource::Dir(dir)
    );
    assert!(matches!(
        ModelSource::parse("./missing/dir"),
        ModelSource::Dir(_)
    ));
    assert!(matches!(
        ModelSource::parse("/abs/missing"),
        ModelSource::Dir(_)
    ));
}

#[test]
fn hub_without_network_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of localhost: the download fails the way it does offline.
    let unreachable = HubOptions {
        endpoint: Some("http://127.0.0.1:9".into()),
        cache_dir: Some(cache.path().to_path_buf()),
        offline: false,
    };
    let offline = HubOptions {
        offline: true,
        ..unreachable.clone()
    };
    for opts in [unreachable, offline] {
        match fetch_from_hub("internlm/internlm2-math-7b", None, &opts) {
            Err(e @ ModelError::Hub { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("internlm/internlm2-math-7b"), "{msg}");
            }
            other => panic!("expected a hub error, got {other:?}"),
        }
    }
}
