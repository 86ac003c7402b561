//! Llama-family checkpoints (Llama, Mistral, Qwen2) through the same network and generation
//! path as InternLM2, against PyTorch: checkpoints made and saved by transformers with
//! reference outputs from the same PyTorch models (tests/fixtures/make_tiny_llama.py).

mod common;

use std::path::PathBuf;

use candle_core::{D, Device, IndexOp, Tensor};
use causal_lm::generate::Decoder;
use causal_lm::loader::{self, LoadOptions, ModelFiles};
use causal_lm::model::{Architecture, RopeScalingKind};
use causal_lm::{GenParams, KvCache, Model};
use common::{ids, max_abs_diff};

fn dir(name: &str) -> PathBuf {
    causal_lm::testing::fixtures_dir().join(name)
}

fn load(name: &str, config: &str) -> Model {
    let files = ModelFiles::from_dir(&dir(name)).expect("fixture files");
    let cfg = loader::read_config(&dir(name).join(config)).expect("fixture config");
    loader::load_model_with_config(&files, &cfg, &LoadOptions::default()).expect("fixture model")
}

fn reference(name: &str, config: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir(name).join("reference.json")).expect("reference");
    let all: serde_json::Value = serde_json::from_str(&text).expect("reference json");
    all[config].clone()
}

/// Every (checkpoint, config, logits file) the fixtures hold.
const CASES: [(&str, &str, &str); 4] = [
    ("tiny-llama", "config.json", "reference.safetensors"),
    (
        "tiny-llama",
        "config_llama3.json",
        "reference_llama3.safetensors",
    ),
    ("tiny-qwen2", "config.json", "reference.safetensors"),
    ("tiny-mistral", "config.json", "reference.safetensors"),
];

fn decoder(model: &Model) -> Decoder<'_> {
    Decoder {
        model,
        prefix: None,
        eos: &[],
        detok: None,
    }
}

#[test]
fn configs_name_their_architecture_and_layout() {
    let cfg = |name: &str, file: &str| loader::read_config(&dir(name).join(file)).unwrap();
    let llama = cfg("tiny-llama", "config.json");
    assert_eq!(llama.architecture().unwrap(), Architecture::Llama);
    assert_eq!(llama.attention_biases(), (false, false));
    assert_eq!(llama.window(), None);
    let llama3 = cfg("tiny-llama", "config_llama3.json");
    assert_eq!(
        llama3.rope().unwrap().1.map(|s| s.kind),
        Some(RopeScalingKind::Llama3)
    );
    // transformers 5 writes rope_parameters and no rope_theta.
    let qwen = cfg("tiny-qwen2", "config.json");
    assert_eq!(qwen.architecture().unwrap(), Architecture::Qwen2);
    assert_eq!(qwen.attention_biases(), (true, false));
    assert!(qwen.tie_word_embeddings);
    assert_eq!(qwen.rope().unwrap(), (10_000.0, None));
    let mistral = cfg("tiny-mistral", "config.json");
    assert_eq!(mistral.architecture().unwrap(), Architecture::Llama);
    assert_eq!((mistral.head_dim(), mistral.hidden_size), (32, 64));
    assert_eq!(mistral.window(), Some(48));
}

#[test]
fn an_unknown_architecture_is_refused_with_the_supported_ones_named() {
    let text = std::fs::read_to_string(dir("tiny-llama").join("config.json")).unwrap();
    let text = text
        .replace("LlamaForCausalLM", "GPTNeoXForCausalLM")
        .replace("\"llama\"", "\"gpt_neox\"");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.json");
    std::fs::write(&path, text).unwrap();
    let err = loader::read_config(&path).unwrap_err().to_string();
    assert!(err.contains("GPTNeoXForCausalLM"), "{err}");
    assert!(err.contains("LlamaForCausalLM"), "{err}");
}

#[test]
fn logits_match_pytorch() {
    for (name, config, tensors) in CASES {
        let m = load(name, config);
        let reference = reference(name, config);
        let logits = candle_core::safetensors::load(dir(name).join(tensors), &Device::Cpu).unwrap();
        for seq in ["a", "long"] {
            let tokens = ids(&reference["sequences"][seq]);
            let ours = m.forward_logits(&tokens).unwrap();
            let diff = max_abs_diff(&ours, &logits[seq]);
            assert!(diff < 1e-4, "{name}/{config}/{seq}: max |Δlogit| = {diff}");
        }
    }
}

#[test]
fn llama3_scaling_changes_the_logits() {
    // Guards the test above against a fixture where the scaling would not matter.
    let tokens = ids(&reference("tiny-llama", "config.json")["sequences"]["a"]);
    let plain = load("tiny-llama", "config.json")
        .forward_logits(&tokens)
        .unwrap();
    let scaled = load("tiny-llama", "config_llama3.json")
        .forward_logits(&tokens)
        .unwrap();
    assert!(max_abs_diff(&plain, &scaled) > 0.1);
}

#[test]
fn greedy_path_and_log_probabilities_match_pytorch() {
    for (name, config, _) in CASES {
        let m = load(name, config);
        for case in reference(name, config)["greedy"].as_array().unwrap() {
            let prompt = ids(&case["prompt"]);
            let expected = ids(&case["tokens"]);
            let params = GenParams {
                stop_at_eos: false,
                ..GenParams::greedy(expected.len())
            };
            let out = decoder(&m).generate(&[prompt], &params).unwrap();
            let ours = &out[0][0];
            assert_eq!(ours.tokens, expected, "{name}/{config}");
            let theirs: Vec<f64> = case["logprobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            for (i, (a, b)) in ours.token_logprobs.iter().zip(&theirs).enumerate() {
                assert!(
                    (*a as f64 - b).abs() < 1e-4,
                    "{name}/{config} token {i}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn beam_search_matches_pytorch() {
    for (name, config, _) in CASES {
        let m = load(name, config);
        for case in reference(name, config)["beam"].as_array().unwrap() {
            let prompt = ids(&case["prompt"]);
            let params = GenParams {
                stop_at_eos: false,
                ..GenParams::beam(
                    case["width"].as_u64().unwrap() as usize,
                    case["max_new_tokens"].as_u64().unwrap() as usize,
                )
            };
            let out = decoder(&m).generate(&[prompt], &params).unwrap();
            let expected = case["candidates"].as_array().unwrap();
            assert_eq!(out[0].len(), expected.len());
            for (ours, theirs) in out[0].iter().zip(expected) {
                assert_eq!(ours.tokens, ids(&theirs["tokens"]), "{name}/{config}");
                let lp = theirs["logprob"].as_f64().unwrap();
                assert!((ours.logprob - lp).abs() < 1e-4, "{} vs {lp}", ours.logprob);
            }
        }
    }
}

#[test]
fn cached_decoding_and_a_shared_prefix_equal_full_recomputation() {
    for (name, config, _) in CASES {
        let m = load(name, config);
        let tokens = ids(&reference(name, config)["sequences"]["long"])[..24].to_vec();
        let prefix = m.build_prefix(&tokens[..6]).unwrap();
        let mut cache = KvCache::new(&m, vec![0], 4, prefix.len()).unwrap();
        let first = Tensor::from_slice(&tokens[6..10], (1, 4), m.device()).unwrap();
        m.forward(&first, &mut cache, Some(&prefix)).unwrap();
        for t in 10..tokens.len() {
            let input = Tensor::from_slice(&tokens[t..t + 1], (1, 1), m.device()).unwrap();
            let hidden = m.forward(&input, &mut cache, Some(&prefix)).unwrap();
            let ours = m.logits(&hidden.i(0).unwrap()).unwrap().i(0).unwrap();
            let full = m.forward_logits(&tokens[..=t]).unwrap().i(t).unwrap();
            let diff = max_abs_diff(&ours, &full);
            assert!(diff < 1e-4, "{name}/{config} step {t}: {diff}");
        }
        // And the log-softmax agrees at the last step (what scores candidates).
        let lp = candle_nn::ops::log_softmax(&m.forward_logits(&tokens).unwrap(), D::Minus1);
        assert!(lp.is_ok());
    }
}

#[test]
fn a_sequence_longer_than_the_sliding_window_is_refused_not_miscomputed() {
    let m = load("tiny-mistral", "config.json");
    let window = m.config().window().unwrap();
    let tokens: Vec<u32> = (0..window as u32 + 1).map(|i| 3 + i % 200).collect();
    let err = m.forward_logits(&tokens).unwrap_err().to_string();
    assert!(err.contains("sliding window"), "{err}");
    assert!(m.forward_logits(&tokens[..window]).is_ok());
}
