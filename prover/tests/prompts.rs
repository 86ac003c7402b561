//! The model card's prompts as the prover builds them, token for token against references
//! produced by the `sentencepiece` library (`internlm2/tests/fixtures/make_tokenizer_fixtures.py` encodes
//! these exact strings), through the chat template's special tokens.

use std::path::PathBuf;

use internlm2::tokenizer::load_tokenizer;
use prover::model_policy::{PromptStyle, chat, prompts};

fn fixture() -> PathBuf {
    internlm2::testing::tiny_checkpoint_dir()
}

/// The sentencepiece ids of `text`, from the reference file; fails when the reference does
/// not have this exact text (so a change to a prompt shows up here).
fn reference_ids(text: &str) -> Vec<u32> {
    let raw = std::fs::read_to_string(fixture().join("tokenizer_reference.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let case = v["encode"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"] == text)
        .unwrap_or_else(|| panic!("no reference encoding for {text:?}"));
    case["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as u32)
        .collect()
}

fn ours(text: &str) -> Vec<u32> {
    let tok = load_tokenizer(&fixture()).unwrap();
    tok.encode(text, false).unwrap().get_ids().to_vec()
}

const STATE: &str = "p q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q";

#[test]
fn prompts_are_the_model_cards_words() {
    assert_eq!(
        PromptStyle::Chat.prompt(STATE),
        format!(
            "<|im_start|>user\nGiven the Lean 3 tactic state, suggest a next tactic:\n{STATE}<|im_end|>\n<|im_start|>assistant\n"
        )
    );
    assert_eq!(
        chat(&prompts::formalize("Show 1 = 1.")),
        "<|im_start|>user\nConvert this natural langauge statement into a Lean 3 theorem statement:Show 1 = 1.<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        chat(&prompts::informalize("theorem t : 1 = 1")),
        "<|im_start|>user\nConvert this Lean 3 theorem statement into natural language:theorem t : 1 = 1<|im_end|>\n<|im_start|>assistant\n"
    );
    // Few-shot: three worked examples, then the request in the same format.
    let fewshot = PromptStyle::Fewshot.prompt(STATE);
    assert_eq!(fewshot.matches("Tactic state:\n---\n").count(), 4);
    assert!(fewshot.ends_with(&format!(
        "Tactic state:\n---\n{STATE}\n---\nNext tactic:\n---\n"
    )));
    assert_eq!(PromptStyle::Fewshot.stop_strings(), ["---", "\n"]);
}

#[test]
fn prompts_tokenize_as_sentencepiece_does() {
    let tok = load_tokenizer(&fixture()).unwrap();
    let im_start = tok.token_to_id("<|im_start|>").unwrap();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    let texts = [
        PromptStyle::Chat.prompt(STATE),
        chat(&prompts::formalize(
            "Show that for every real number x, x^2 is nonnegative.",
        )),
        chat(&prompts::informalize(
            "theorem sq_nonneg_example (x : ℝ) : 0 ≤ x ^ 2",
        )),
        PromptStyle::Fewshot.prompt("n : ℕ,\nh₀ : n % 5 = 3\n⊢ 2 * n % 5 = 1"),
    ];
    for text in &texts {
        let ids = ours(text);
        assert_eq!(ids, reference_ids(text), "{text:?}");
        if text.starts_with("<|im_start|>") {
            // The template's markers are single special tokens: user turn, end, assistant turn.
            let starts: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == im_start).collect();
            let ends: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == im_end).collect();
            assert_eq!(starts.len(), 2, "{text:?}");
            assert_eq!(ends.len(), 1, "{text:?}");
            assert_eq!(starts[0], 0);
            assert!(starts[0] < ends[0] && ends[0] < starts[1]);
        }
    }
}
