//! Generation invariants on the tiny fixture: batching, prefix reuse and chunked prefill change
//! nothing; end-of-sequence, length limits and bad requests behave.

mod common;

use causal_lm::generate::Decoder;
use causal_lm::{FinishReason, GenParams, Model, ModelError, TokenGeneration};
use common::*;

fn decoder<'a>(model: &'a Model, eos: &'a [u32]) -> Decoder<'a> {
    Decoder {
        model,
        prefix: None,
        eos,
        detok: None,
    }
}

fn strategies() -> Vec<GenParams> {
    [
        GenParams::greedy(6),
        GenParams::beam(3, 5),
        GenParams::sample(3, 1.0, 0.95, 5),
    ]
    .into_iter()
    .map(|p| GenParams {
        stop_at_eos: false,
        seed: 11,
        ..p
    })
    .collect()
}

fn assert_same(a: &[Vec<TokenGeneration>], b: &[Vec<TokenGeneration>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "{what}: candidate counts");
        for (c, d) in x.iter().zip(y) {
            assert_eq!(c.tokens, d.tokens, "{what}");
            assert_eq!(c.finish, d.finish, "{what}");
            assert!(
                (c.logprob - d.logprob).abs() < 1e-4,
                "{what}: {} vs {}",
                c.logprob,
                d.logprob
            );
        }
    }
}

fn prompts() -> Vec<Vec<u32>> {
    let r = reference();
    vec![
        ids(&r["sequences"]["a"])[..5].to_vec(),
        ids(&r["sequences"]["b"]),
        ids(&r["sequences"]["a"]),
        ids(&r["sequences"]["long"])[..3].to_vec(),
    ]
}

#[test]
fn batched_equals_one_at_a_time() {
    for cfg in ["standard", "dynamic"] {
        let m = model(cfg);
        let mut prompts = prompts();
        if cfg == "dynamic" {
            // Rows on both sides of max_position_embeddings (16) in one batch.
            prompts.push(ids(&reference()["sequences"]["long"])[..15].to_vec());
        }
        for params in strategies() {
            let batched = decoder(&m, &[]).generate(&prompts, &params).unwrap();
            let single: Vec<Vec<TokenGeneration>> = prompts
                .iter()
                .map(|p| {
                    decoder(&m, &[])
                        .generate(std::slice::from_ref(p), &params)
                        .unwrap()
                        .remove(0)
                })
                .collect();
            assert_same(&batched, &single, &format!("{cfg} {:?}", params.strategy));
        }
    }
}

#[test]
fn chunked_prefill_equals_one_prefill() {
    let m = model("standard");
    for params in strategies() {
        let whole = decoder(&m, &[]).generate(&prompts(), &params).unwrap();
        let chunked = GenParams {
            prefill_chunk_tokens: 8,
            ..params.clone()
        };
        let parts = decoder(&m, &[]).generate(&prompts(), &chunked).unwrap();
        assert_same(&whole, &parts, &format!("{:?}", params.strategy));
    }
}

#[test]
fn shared_prefix_equals_recomputation_and_is_reused_across_calls() {
    let m = model("standard");
    let long = ids(&reference()["sequences"]["long"]);
    let prefix = &long[..20];
    let suffixes: Vec<Vec<u32>> = prompts().iter().map(|p| p[1..].to_vec()).collect();
    let full: Vec<Vec<u32>> = suffixes
        .iter()
        .map(|s| prefix.iter().chain(s).copied().collect())
        .collect();
    let kv = m.build_prefix(prefix).unwrap();
    assert_eq!(kv.len(), 20);
    assert_eq!(kv.tokens(), prefix);
    let with_prefix = Decoder {
        model: &m,
        prefix: Some(&kv),
        eos: &[],
        detok: None,
    };
    for params in strategies() {
        let expected = decoder(&m, &[]).generate(&full, &params).unwrap();
        let first = with_prefix.generate(&suffixes, &params).unwrap();
        let second = with_prefix.generate(&suffixes, &params).unwrap();
        assert_same(&expected, &first, &format!("{:?}", params.strategy));
        assert_same(&first, &second, "second call on the same prefix");
    }
}

#[test]
fn end_of_sequence_ends_a_candidate() {
    let m = model("standard");
    let prompt = ids(&reference()["sequences"]["b"]);
    let free = decoder(&m, &[])
        .generate(std::slice::from_ref(&prompt), &GenParams::greedy(8))
        .unwrap();
    let path = &free[0][0].tokens;
    assert_eq!(path.len(), 8);
    assert_eq!(free[0][0].finish, FinishReason::Length);
    // Declare the third greedy token an end-of-sequence token.
    let eos = [path[2]];
    let first_eos = path.iter().position(|t| *t == eos[0]).unwrap();
    let out = decoder(&m, &eos)
        .generate(std::slice::from_ref(&prompt), &GenParams::greedy(8))
        .unwrap();
    assert_eq!(out[0][0].finish, FinishReason::Eos);
    assert_eq!(out[0][0].tokens, path[..=first_eos].to_vec());
    // Ignored when stop_at_eos is off.
    let ignored = GenParams {
        stop_at_eos: false,
        ..GenParams::greedy(8)
    };
    let out = decoder(&m, &eos)
        .generate(std::slice::from_ref(&prompt), &ignored)
        .unwrap();
    assert_eq!(&out[0][0].tokens, path);

    // Beam search with the same end token: every candidate either ends with it (Eos) or ran to
    // the length limit, and candidates come best first.
    let out = decoder(&m, &eos)
        .generate(&[prompt], &GenParams::beam(4, 6))
        .unwrap();
    assert!(!out[0].is_empty());
    for c in &out[0] {
        match c.finish {
            FinishReason::Eos => {
                assert_eq!(c.tokens.last(), Some(&eos[0]));
                assert!(!c.tokens[..c.tokens.len() - 1].contains(&eos[0]));
            }
            FinishReason::Length => {
                assert_eq!(c.tokens.len(), 6);
                assert!(!c.tokens.contains(&eos[0]));
            }
            FinishReason::Stop => panic!("no stop strings given"),
        }
    }
    assert!(out[0].windows(2).all(|w| w[0].logprob >= w[1].logprob));
}

#[test]
fn bad_requests_are_errors() {
    let m = model("standard");
    let d = decoder(&m, &[]);
    let ok = vec![vec![1u32, 5, 6]];
    let invalid = |r: Result<_, ModelError>| matches!(r, Err(ModelError::InvalidRequest(_)));
    assert!(invalid(d.generate(&[vec![]], &GenParams::greedy(3))));
    assert!(invalid(d.generate(&[vec![1, 5000]], &GenParams::greedy(3))));
    assert!(invalid(d.generate(&ok, &GenParams::greedy(0))));
    assert!(invalid(d.generate(&ok, &GenParams::beam(0, 3))));
    assert!(invalid(d.generate(&ok, &GenParams::sample(2, 1.0, 0.0, 3))));
    let stop = GenParams {
        stop: vec!["\n".into()],
        ..GenParams::greedy(3)
    };
    assert!(
        invalid(d.generate(&ok, &stop)),
        "stop strings need a tokenizer"
    );
    assert!(d.generate(&[], &GenParams::greedy(3)).unwrap().is_empty());
}

#[test]
fn per_prompt_candidate_counts() {
    let m = model("standard");
    let prompts = prompts();
    let counts = [1, 3, 2, 4];
    for params in strategies().into_iter().skip(1) {
        let mixed = decoder(&m, &[])
            .generate_with_counts(&prompts, &counts, &params)
            .unwrap();
        for ((p, &k), got) in prompts.iter().zip(&counts).zip(&mixed) {
            let alone = GenParams {
                num_candidates: k,
                ..params.clone()
            };
            let expected = decoder(&m, &[])
                .generate(std::slice::from_ref(p), &alone)
                .unwrap();
            assert_eq!(got.len(), k, "{:?}", params.strategy);
            assert_same(&expected, std::slice::from_ref(got), "per-prompt k");
        }
    }
    let d = decoder(&m, &[]);
    assert!(
        d.generate_with_counts(&prompts, &[1, 2], &GenParams::beam(2, 3))
            .is_err()
    );
    assert!(
        d.generate_with_counts(&prompts, &[1, 0, 1, 1], &GenParams::beam(2, 3))
            .is_err()
    );
}
