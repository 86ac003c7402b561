//! The `prover generate` and `prover bench model` commands on the tiny fixture model with a
//! toy character-level tokenizer.

use std::process::Command;

use causal_lm::testing::{checkpoint_with_tokenizer, toy_generator};
use causal_lm::{GenParams, GenRequest};

fn prover() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prover"))
}

#[test]
fn cli_generate_prints_jsonl_candidates() {
    let dir = checkpoint_with_tokenizer();
    let out = prover()
        .args(["generate", "--model"])
        .arg(dir.path())
        .args([
            "--prompt",
            "ab",
            "--beams",
            "3",
            "--max-tokens",
            "4",
            "--jsonl",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert!(l["text"].is_string());
        let (lp, norm, n) = (
            l["logprob"].as_f64().unwrap(),
            l["logprob_norm"].as_f64().unwrap(),
            l["tokens"].as_u64().unwrap(),
        );
        assert!(lp < 0.0 && (1..=4).contains(&n));
        assert!((norm - lp / n as f64).abs() < 1e-9);
    }
    // Same candidates as the library gives.
    let lib = toy_generator()
        .generate(&[GenRequest::new("ab")], &GenParams::beam(3, 4))
        .unwrap();
    for (l, c) in lines.iter().zip(&lib[0]) {
        assert_eq!(l["text"].as_str().unwrap(), c.text);
    }

    let out = prover()
        .args(["generate", "--model"])
        .arg(dir.path())
        .args([
            "--prompt",
            "ab",
            "--samples",
            "2",
            "--temperature",
            "0.7",
            "--top-p",
            "0.9",
        ])
        .args(["--max-tokens", "3", "--stop", "\n"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("#1 logprob="), "{text}");
}

#[test]
fn cli_reports_bad_input_without_panicking() {
    let dir = checkpoint_with_tokenizer();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--model".into(), "/nonexistent/model".into()],
            "does not exist",
        ),
        (
            vec![
                "--model".into(),
                dir.path().display().to_string(),
                "--dtype".into(),
                "f8".into(),
            ],
            "dtype",
        ),
        (
            vec![
                "--model".into(),
                dir.path().display().to_string(),
                "--device".into(),
                "tpu".into(),
            ],
            "device",
        ),
        (
            vec![
                "--model".into(),
                dir.path().display().to_string(),
                "--max-tokens".into(),
                "0".into(),
            ],
            "max_new_tokens",
        ),
    ];
    for (args, needle) in cases {
        let out = prover()
            .arg("generate")
            .args(&args)
            .args(["--prompt", "x"])
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("backtrace"), "{err}");
    }
}

#[test]
fn bench_runs_without_pytorch() {
    let out = prover()
        .args([
            "bench",
            "model",
            "--tiny",
            "--repeats",
            "1",
            "--decode-tokens",
            "4",
        ])
        .args(["--prompt-tokens", "16", "--prefix-tokens", "32"])
        .args(["--python", "/nonexistent/python"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("prefill (16 tokens)"), "{stdout}");
    assert!(
        stdout.contains("PyTorch comparison unavailable"),
        "{stdout}"
    );
    assert!(stdout.contains("prefix reuse"), "{stdout}");
}

#[test]
fn gpu_bench_path_runs_on_the_cpu_when_tiny() {
    let out = prover()
        .args(["bench", "model", "--gpu", "cpu", "--tiny", "--repeats", "1"])
        .args([
            "--decode-tokens",
            "4",
            "--prompt-tokens",
            "8",
            "--gpu-batches",
            "1,2",
            "--prefix-tokens",
            "32",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("copy bandwidth"), "{stdout}");
    // One row per batch size, then the beam-search lines.
    assert!(stdout.lines().any(|l| l.starts_with("2 ")), "{stdout}");
    assert_eq!(
        stdout.matches("beam search, width 32").count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains("prefix reuse"), "{stdout}");
    // Without --tiny the CPU is refused with a reason.
    let out = prover()
        .args(["bench", "model", "--gpu", "cpu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wants an accelerator"));
}

#[test]
fn cli_generate_runs_a_llama_checkpoint() {
    // Through the binary, text in and text out (the network against PyTorch is
    // causal-lm/tests/llama.rs).
    let dir = causal_lm::testing::tiny_llama_dir();
    let out = prover()
        .args(["generate", "--model"])
        .arg(&dir)
        .args([
            "--prompt",
            "theorem foo : 1 + 1 = 2 :=",
            "--max-tokens",
            "6",
            "--greedy",
            "--jsonl",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!(line["logprob"].as_f64().unwrap() < 0.0);
    // The same text as the library's greedy path on the same checkpoint.
    let files = causal_lm::ModelFiles::from_dir(&dir).unwrap();
    let model = causal_lm::loader::load_model(&files, &Default::default()).unwrap();
    let tokenizer = causal_lm::tokenizer::load_tokenizer(&dir).unwrap();
    let lib = causal_lm::Generator::new(model, tokenizer)
        .generate(
            &[GenRequest::new("theorem foo : 1 + 1 = 2 :=")],
            &GenParams::greedy(6),
        )
        .unwrap();
    assert_eq!(line["text"].as_str().unwrap(), lib[0][0].text);
}
