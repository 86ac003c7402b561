//! The model card's prompts as the prover builds them, token for token against references
//! produced by the `sentencepiece` library (`causal-lm/tests/fixtures/make_tokenizer_fixtures.py` encodes
//! these exact strings), through the chat template's special tokens.

use std::path::PathBuf;

use causal_lm::tokenizer::load_tokenizer;
use prover::prompts::{PromptVars, TacticPrompt, card as prompts, chat};

/// A built-in tactic prompt for a state.
fn builtin(name: &str, state: &str) -> String {
    TacticPrompt::builtin(name).unwrap().prompt(&PromptVars {
        state,
        ..PromptVars::default()
    })
}

fn fixture() -> PathBuf {
    causal_lm::testing::tiny_checkpoint_dir()
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
        builtin("chat", STATE),
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
    let fewshot = builtin("fewshot", STATE);
    assert_eq!(fewshot.matches("Tactic state:\n---\n").count(), 4);
    assert!(fewshot.ends_with(&format!(
        "Tactic state:\n---\n{STATE}\n---\nNext tactic:\n---\n"
    )));
    assert_eq!(
        TacticPrompt::builtin("fewshot").unwrap().stop,
        ["---", "\n"]
    );
    assert_eq!(TacticPrompt::builtin("chat").unwrap().stop, ["<|im_end|>"]);
}

#[test]
fn prompts_tokenize_as_sentencepiece_does() {
    let tok = load_tokenizer(&fixture()).unwrap();
    let im_start = tok.token_to_id("<|im_start|>").unwrap();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    let texts = [
        builtin("chat", STATE),
        chat(&prompts::formalize(
            "Show that for every real number x, x^2 is nonnegative.",
        )),
        chat(&prompts::informalize(
            "theorem sq_nonneg_example (x : ℝ) : 0 ≤ x ^ 2",
        )),
        builtin("fewshot", "n : ℕ,\nh₀ : n % 5 = 3\n⊢ 2 * n % 5 = 1"),
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

#[test]
fn every_built_in_prompt_is_pinned_byte_for_byte() {
    use prover::prompts::{BUILTIN_PROMPTS, FEWSHOT_EXAMPLES};
    let fewshot = TacticPrompt::builtin("fewshot").unwrap();
    assert_eq!(
        builtin("fewshot", STATE),
        format!("{FEWSHOT_EXAMPLES}Tactic state:\n---\n{STATE}\n---\nNext tactic:\n---\n")
    );
    // The shared parts are where they were before templates (the engine and the server split
    // prompts there, and the split decides the tokens).
    assert_eq!(fewshot.shared_prefix(), FEWSHOT_EXAMPLES);
    assert_eq!(
        TacticPrompt::builtin("chat").unwrap().shared_prefix(),
        "<|im_start|>user\nGiven the Lean 3 tactic state, suggest a next tactic:\n"
    );
    assert_eq!(builtin("gptf", STATE), format!("[GOAL]{STATE}[PROOFSTEP]"));
    assert_eq!(builtin("state", STATE), STATE);
    for (name, _) in BUILTIN_PROMPTS {
        let p = TacticPrompt::builtin(name).unwrap();
        assert!(!p.stop.is_empty(), "{name}");
        assert_eq!(TacticPrompt::parse(name).unwrap(), p);
    }
    assert!(TacticPrompt::builtin("other").is_none());
}

#[test]
fn a_template_file_is_sent_as_written_with_its_placeholders_filled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.txt");
    std::fs::write(
        &path,
        "/- {{lean 3}} -/ theorem {name} {statement} :=\nbegin\n{proof}\n-- state:\n{state}\n",
    )
    .unwrap();
    let p = TacticPrompt::parse(path.to_str().unwrap()).unwrap();
    assert_eq!(p.stop, ["\n"], "a file's default stop string is a newline");
    let vars = PromptVars {
        state: "⊢ true",
        name: "t",
        statement: ": true",
        proof: &prover::model_policy::proof_so_far(&["intro h".into(), "simp at h".into()]),
    };
    assert_eq!(
        p.prompt(&vars),
        "/- {lean 3} -/ theorem t : true :=\nbegin\nintro h,\nsimp at h\n-- state:\n⊢ true\n"
    );
    assert_eq!(p.shared_prefix(), "/- {lean 3} -/ theorem ");
    assert_eq!(
        format!("{}{}", p.shared_prefix(), p.request(&vars)),
        p.prompt(&vars)
    );
    assert_eq!(p.clone().with_stop(vec!["end".into()]).stop, ["end"]);
    // Mistakes are errors that say what is wrong.
    for (text, needle) in [
        ("no placeholder here", "no {state} placeholder"),
        ("{state} {goal}", "unknown placeholder {goal}"),
        ("{state", "without its"),
        ("{state} }", "without its"),
    ] {
        std::fs::write(&path, text).unwrap();
        let e = TacticPrompt::parse(path.to_str().unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains(needle), "{text}: {e:#}");
    }
    let e = TacticPrompt::parse("no-such-prompt").unwrap_err();
    assert!(e.to_string().contains("chat, fewshot, gptf, state"), "{e}");
}

fn published_template(name: &str) -> std::sync::Arc<causal_lm::chat_template::ChatTemplate> {
    let path = causal_lm::testing::fixtures_dir()
        .join("chat_templates")
        .join(format!("{name}.json"));
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let token = |k: &str| f[k].as_str().map(str::to_string);
    std::sync::Arc::new(
        causal_lm::chat_template::ChatTemplate::new(
            f["chat_template"].as_str().unwrap(),
            name,
            token("bos_token"),
            token("eos_token"),
        )
        .unwrap(),
    )
}

#[test]
fn a_prompt_in_a_chat_template_is_one_user_message_and_keeps_its_shared_part() {
    let vars = PromptVars {
        state: "n : ℕ\n⊢ n + 0 = n",
        name: "t",
        statement: ": true",
        proof: "",
    };
    // The bare state in InternLM2's template is the built-in chat layout without the
    // model card's sentence; the template's BOS is left to the tokenizer.
    let p = TacticPrompt::builtin("state")
        .unwrap()
        .with_chat_template(published_template("internlm2"))
        .unwrap();
    assert_eq!(
        p.prompt(&vars),
        "<|im_start|>user\nn : ℕ\n⊢ n + 0 = n<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(p.shared_prefix(), "<|im_start|>user\n");
    assert_eq!(
        format!("{}{}", p.shared_prefix(), p.request(&vars)),
        p.prompt(&vars)
    );
    assert!(p.describe().contains("in the chat template of internlm2"));
    // The few-shot prompt in Llama-2's template: the examples stay the shared part (computed
    // once), the template strips the message's trailing newline, as transformers does.
    let few = TacticPrompt::builtin("fewshot").unwrap();
    let wrapped = few
        .clone()
        .with_chat_template(published_template("llama"))
        .unwrap();
    assert_eq!(
        wrapped.prompt(&vars),
        format!("[INST] {} [/INST]", few.prompt(&vars).trim())
    );
    assert_eq!(
        wrapped.shared_prefix(),
        format!("[INST] {}", few.shared_prefix())
    );
    assert_eq!(
        format!("{}{}", wrapped.shared_prefix(), wrapped.request(&vars)),
        wrapped.prompt(&vars)
    );
}
