//! Chat templates as published checkpoints define them (InternLM2-chat, Llama-2-chat,
//! Qwen2.5-Instruct; `tests/fixtures/chat_templates/`, each with its source) rendered by us and
//! by transformers (`render_chat_template.py`, run by the Python that
//! `PROVER_TRANSFORMERS_PYTHON` names; `.ci/run` makes one).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use causal_lm::chat_template::{ChatMessage, ChatTemplate};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = causal_lm::testing::fixtures_dir()
        .join("chat_templates")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn template(name: &str) -> ChatTemplate {
    let f = fixture(name);
    let token = |k: &str| f[k].as_str().map(str::to_string);
    ChatTemplate::new(
        f["chat_template"].as_str().unwrap(),
        name,
        token("bos_token"),
        token("eos_token"),
    )
    .unwrap()
}

fn msg(role: &str, content: &str) -> ChatMessage {
    ChatMessage {
        role: role.into(),
        content: content.into(),
    }
}

const STATE: &str = "Given the Lean 3 tactic state, suggest a next tactic:\nn : ℕ\n⊢ n + 0 = n";

/// The conversations every template is rendered on: a prompt as the prover sends it, with a
/// system message, a multi-turn one with and without the generation prompt, content with
/// surrounding whitespace (templates strip it), and roles out of order (templates refuse).
fn conversations() -> Vec<(Vec<ChatMessage>, bool)> {
    vec![
        (vec![msg("user", STATE)], true),
        (
            vec![
                msg("system", "You prove Lean 3 theorems."),
                msg("user", STATE),
            ],
            true,
        ),
        (
            vec![
                msg("user", "a"),
                msg("assistant", "simp"),
                msg("user", "b { c }"),
            ],
            true,
        ),
        (
            vec![
                msg("user", "a"),
                msg("assistant", "simp"),
                msg("user", "b"),
                msg("assistant", "ring"),
            ],
            false,
        ),
        (vec![msg("user", "  padded \n")], true),
        (vec![msg("assistant", "x"), msg("assistant", "y")], true),
    ]
}

#[test]
fn the_prompt_the_prover_sends_renders_as_each_model_expects() {
    // Pinned: what each model's template makes of one user message (checked against
    // transformers below when Python is there).
    let user = [msg("user", "HELLO")];
    assert_eq!(
        template("internlm2").render(&user, true).unwrap(),
        "<s><|im_start|>user\nHELLO<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        template("llama").render(&user, true).unwrap(),
        "<s>[INST] HELLO [/INST]"
    );
    assert_eq!(
        template("qwen").render(&user, true).unwrap(),
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
         assistant.<|im_end|>\n<|im_start|>user\nHELLO<|im_end|>\n<|im_start|>assistant\n"
    );
    // The tokenizer adds its own BOS: the template's is dropped for encoding.
    assert_eq!(
        template("internlm2")
            .render_for_encoding(&user, true)
            .unwrap(),
        "<|im_start|>user\nHELLO<|im_end|>\n<|im_start|>assistant\n"
    );
    // Llama-2's template refuses roles out of order, through its raise_exception.
    let err = template("llama")
        .render(&[msg("assistant", "x"), msg("assistant", "y")], true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("alternate"), "{err}");
}

#[test]
fn a_checkpoint_directory_gives_its_template() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ChatTemplate::from_checkpoint(dir.path()).unwrap().is_none());
    let f = fixture("llama");
    // As tokenizer configs write special tokens: objects with a content.
    let config = json!({
        "bos_token": {"content": "<s>", "lstrip": false},
        "eos_token": "</s>",
        "chat_template": f["chat_template"],
    });
    std::fs::write(dir.path().join("tokenizer_config.json"), config.to_string()).unwrap();
    let t = ChatTemplate::from_checkpoint(dir.path()).unwrap().unwrap();
    assert_eq!(t.bos_token.as_deref(), Some("<s>"));
    assert_eq!(
        t.render(&[msg("user", "HELLO")], true).unwrap(),
        "<s>[INST] HELLO [/INST]"
    );
    // chat_template.jinja beside it wins (transformers ≥ 4.43 saves it there).
    std::fs::write(
        dir.path().join("chat_template.jinja"),
        "[{{ messages[0].content }}]",
    )
    .unwrap();
    let t = ChatTemplate::from_checkpoint(dir.path()).unwrap().unwrap();
    assert_eq!(t.render(&[msg("user", "x")], true).unwrap(), "[x]");
}

fn python() -> Option<PathBuf> {
    std::env::var_os("PROVER_TRANSFORMERS_PYTHON").map(PathBuf::from)
}

fn report(line: &str) {
    if let Some(path) = std::env::var_os("PROVER_TEST_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

#[test]
fn rendering_equals_transformers_on_three_published_templates() {
    const NAME: &str = "rendering_equals_transformers_on_three_published_templates";
    let Some(python) = python() else {
        eprintln!(
            "SKIPPED {NAME}: no Python with transformers (PROVER_TRANSFORMERS_PYTHON names one; \
             .ci/run makes it)"
        );
        report(&format!("python_reference skipped {NAME}"));
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/render_chat_template.py");
    let mut compared = 0;
    for name in ["internlm2", "llama", "qwen"] {
        let f = fixture(name);
        let ours = template(name);
        let convs = conversations();
        let job = json!({
            "template": f["chat_template"],
            "bos_token": f["bos_token"],
            "eos_token": f["eos_token"],
            "conversations": convs.iter().map(|(m, g)| json!({
                "messages": m, "add_generation_prompt": g,
            })).collect::<Vec<_>>(),
        });
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the transformers Python starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(job.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(theirs.len(), convs.len());
        for ((messages, gen_prompt), theirs) in convs.iter().zip(&theirs) {
            let mine = ours.render(messages, *gen_prompt);
            match (&mine, theirs["text"].as_str()) {
                (Ok(a), Some(b)) => assert_eq!(a, b, "{name}: {messages:?}"),
                (Err(_), None) => assert!(theirs["error"].is_string()),
                _ => panic!("{name}: {messages:?}: ours {mine:?}, transformers {theirs}"),
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 18);
    report(&format!("python_reference ran {NAME}"));
}
