//! Text-level generation (`Generator`) with a toy character-level tokenizer on the tiny
//! fixture model.

use causal_lm::loader::{LoadOptions, ModelSource};
use causal_lm::testing::{checkpoint_with_tokenizer, toy_generator};
use causal_lm::{FinishReason, GenParams, GenRequest, Generator};

fn generator() -> Generator {
    toy_generator()
}

#[test]
fn stop_strings_cut_the_text() {
    let g = generator();
    let req = [GenRequest::new("ab")];
    let free = g.generate(&req, &GenParams::greedy(12)).unwrap();
    let text = free[0][0].text.clone();
    assert_eq!(free[0][0].tokens, 12);
    assert!(text.chars().count() >= 6, "{text:?}");
    // Stop at a piece of the free-running text that starts after its first character.
    let start = text.char_indices().nth(2).unwrap().0;
    let end = text.char_indices().nth(4).unwrap().0;
    let stop = text[start..end].to_string();
    let cut = text.find(&stop).unwrap();
    let params = GenParams {
        stop: vec!["never-there".into(), stop.clone()],
        ..GenParams::greedy(12)
    };
    let out = g.generate(&req, &params).unwrap();
    assert_eq!(out[0][0].finish, FinishReason::Stop);
    assert_eq!(out[0][0].text, text[..cut]);
    assert!(out[0][0].tokens < 12);
    // The score covers exactly the generated tokens.
    assert!((out[0][0].logprob_norm - out[0][0].logprob / out[0][0].tokens as f64).abs() < 1e-12);
}

#[test]
fn text_prefix_equals_whole_prompt() {
    let mut g = generator();
    let whole = [GenRequest::new("xyz\nab"), GenRequest::new("xyz\nq")];
    for params in [
        GenParams::greedy(6),
        GenParams::beam(3, 4),
        GenParams::sample(3, 1.0, 0.9, 4),
    ] {
        g.clear_prefix();
        let expected = g.generate(&whole, &params).unwrap();
        g.set_prefix("xyz\n").unwrap();
        assert_eq!(g.prefix_text(), Some("xyz\n"));
        let got = g
            .generate(&[GenRequest::new("ab"), GenRequest::new("q")], &params)
            .unwrap();
        assert_eq!(expected.len(), got.len());
        for (e, o) in expected.iter().zip(&got) {
            assert_eq!(e.len(), o.len());
            for (a, b) in e.iter().zip(o) {
                assert_eq!(a.text, b.text);
                assert!((a.logprob - b.logprob).abs() < 1e-4);
            }
        }
    }
}

#[test]
fn generator_loads_from_a_directory() {
    let dir = checkpoint_with_tokenizer();
    let g = Generator::load(
        &ModelSource::Dir(dir.path().to_path_buf()),
        &LoadOptions::default(),
    )
    .unwrap();
    let out = g
        .generate(&[GenRequest::new("hi")], &GenParams::beam(4, 3))
        .unwrap();
    assert_eq!(out[0].len(), 4);
    let texts: std::collections::HashSet<_> = out[0].iter().map(|c| &c.text).collect();
    assert_eq!(texts.len(), 4, "distinct candidates");
}

#[test]
fn generator_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Generator>();
    let g = std::sync::Arc::new(generator());
    let handles: Vec<_> = ["ab", "cd"]
        .into_iter()
        .map(|p| {
            let g = g.clone();
            std::thread::spawn(move || g.generate(&[GenRequest::new(p)], &GenParams::greedy(3)))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap()[0].len(), 1);
    }
}

#[test]
fn every_generated_token_carries_its_own_log_probability() {
    let g = generator();
    let req = [GenRequest::new("ab"), GenRequest::new("q\n")];
    for params in [
        GenParams::greedy(7),
        GenParams::beam(3, 5),
        GenParams::sample(3, 1.0, 0.9, 6),
    ] {
        for gens in g.generate(&req, &params).unwrap() {
            for c in gens {
                assert_eq!(c.token_ids.len(), c.tokens, "{params:?}");
                assert_eq!(c.token_logprobs.len(), c.tokens, "{params:?}");
                assert!(c.token_logprobs.iter().all(|lp| *lp <= 0.0));
                let sum: f64 = c.token_logprobs.iter().map(|&lp| lp as f64).sum();
                // What a server reports per token adds up to the engine's own score.
                assert!((sum - c.logprob).abs() < 1e-9, "{sum} vs {}", c.logprob);
            }
        }
    }
}
