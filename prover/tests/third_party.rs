//! The remote policy against a third-party OpenAI-compatible server: llama.cpp's, from PyPI's
//! `llama-cpp-python[server]`, on the tiny checkpoint converted to GGUF
//! (causal-lm/tests/fixtures/tiny-internlm2-gguf). Skipped, loudly, where that package is not
//! installed; `PROVER_LLAMA_CPP_PYTHON` names the Python that has it (default: python3).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use causal_lm::GenParams;
use prover::model_load::ModelOpts;
use prover::remote::Decoding;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> Option<String> {
    let py = std::env::var("PROVER_LLAMA_CPP_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import llama_cpp.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// llama.cpp's server on the tiny checkpoint (GGUF), served as `tiny` on a free port, with
/// `extra` arguments; killed when the first value is dropped. Returns it and its address.
fn llama_cpp_server(py: &str, extra: &[&str]) -> (Killed, String) {
    let gguf =
        causal_lm::testing::fixtures_dir().join("tiny-internlm2-gguf/tiny-internlm2-f32.gguf");
    let port = free_port();
    let server = Killed(
        Command::new(py)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&gguf)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--model_alias",
                "tiny",
                "--n_ctx",
                "2048",
                "--verbose",
                "false",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("llama_cpp.server starts"),
    );
    (server, format!("http://127.0.0.1:{port}"))
}

/// Tells `.ci/run` whether a third-party server test ran.
fn record(outcome: &str, test: &str) {
    if let Ok(path) = std::env::var("PROVER_TEST_REPORT") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "third_party {outcome} {test}");
        }
    }
}

#[test]
fn the_remote_policy_works_against_llama_cpp_server() {
    let Some(py) = python() else {
        record(
            "skipped",
            "the_remote_policy_works_against_llama_cpp_server",
        );
        eprintln!(
            "SKIPPED the_remote_policy_works_against_llama_cpp_server: no Python with llama_cpp.server (pip install 'llama-cpp-python[server]'; PROVER_LLAMA_CPP_PYTHON names it)"
        );
        return;
    };
    record("ran", "the_remote_policy_works_against_llama_cpp_server");
    let (_server, url) = llama_cpp_server(&py, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let remote_opts = ModelOpts {
            endpoint: Some(url.clone()),
            prompt: Some("fewshot".into()),
            request_timeout: 30.0,
            ..ModelOpts::default()
        };
        // It takes a moment to load; until then the address refuses.
        let deadline = Instant::now() + Duration::from_secs(60);
        let remote = loop {
            match remote_opts.load().await {
                Ok(m) => break m.unwrap(),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e:#}"),
            }
        };
        // The only model it serves was chosen; it has no beam search and ignores `n`.
        assert_eq!(remote.name, "tiny");
        let prover::model_load::Engine::Remote(r) = &remote.engine else {
            panic!("not remote")
        };
        assert_eq!(r.decoding(), Decoding::OnePerRequest);
        let local = ModelOpts {
            model: Some(
                causal_lm::testing::tiny_checkpoint_dir()
                    .display()
                    .to_string(),
            ),
            prompt: Some("fewshot".into()),
            ..ModelOpts::default()
        }
        .load()
        .await
        .unwrap()
        .unwrap();
        let prompts = vec![
            "theorem foo : 1 + 1 = 2 :=\n".to_string(),
            "example (p q : Prop) (hp : p) : p ∨ q :=\n".to_string(),
        ];
        // Greedy: the same text as our engine, scores within llama.cpp's arithmetic (its
        // logits differ from PyTorch's by up to about 0.01 on this model).
        let l = local
            .generate(prompts.clone(), GenParams::greedy(8))
            .await
            .unwrap();
        let g = remote
            .generate(prompts.clone(), GenParams::greedy(8))
            .await
            .unwrap();
        for (a, b) in l.iter().zip(&g) {
            // The same tokens, each about as likely. (The random model emits byte tokens that
            // are not UTF-8 together: decoded as a run we show U+FFFD for each byte, like
            // Hugging Face's decoder, llama.cpp decodes them one by one; the texts then differ.)
            assert_eq!(a[0].tokens, b[0].tokens);
            for (x, y) in a[0].token_logprobs.iter().zip(&b[0].token_logprobs) {
                assert!((x - y).abs() < 0.02, "{a:?} vs {b:?}");
            }
            if !a[0].text.contains('\u{FFFD}') {
                assert_eq!(a[0].text, b[0].text);
            }
            assert!(
                (a[0].logprob_norm - b[0].logprob_norm).abs() < 0.02,
                "{a:?} vs {b:?}"
            );
        }
        // Several candidates: one request each, distinct, best summed log-probability first.
        let s = remote
            .generate(prompts.clone(), GenParams::sample(4, 1.0, 1.0, 6))
            .await
            .unwrap();
        for c in &s {
            assert!(!c.is_empty() && c.len() <= 4);
            assert!(c.windows(2).all(|w| w[0].logprob >= w[1].logprob));
            let mut texts: Vec<&str> = c.iter().map(|g| g.text.as_str()).collect();
            texts.dedup();
            assert_eq!(texts.len(), c.len());
            assert!(c.iter().all(|g| g.logprob.is_finite() && g.logprob < 0.0));
        }
    });
}

#[test]
fn llama_cpp_server_through_the_chat_api_gives_what_the_completions_api_gives() {
    const NAME: &str = "llama_cpp_server_through_the_chat_api_gives_what_the_completions_api_gives";
    let Some(py) = python() else {
        record("skipped", NAME);
        eprintln!(
            "SKIPPED {NAME}: no Python with llama_cpp.server (pip install 'llama-cpp-python[server]'; PROVER_LLAMA_CPP_PYTHON names it)"
        );
        return;
    };
    record("ran", NAME);
    // llama.cpp's server renders chat requests in its `chatml` format; the completions client
    // renders its prompts with a template file that writes the same text (a system turn, empty
    // unless given, then the messages, then the assistant's turn).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chatml.jinja");
    std::fs::write(
        &config,
        "<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\
         {% endif %}<|im_end|>\n{% for m in messages %}{% if m.role != 'system' %}\
         <|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}\
         {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    )
    .unwrap();
    let (_server, url) = llama_cpp_server(&py, &["--chat_format", "chatml"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let completions = ModelOpts {
            endpoint: Some(url.clone()),
            prompt: Some("state".into()),
            chat_template: Some(config.display().to_string()),
            request_timeout: 30.0,
            ..ModelOpts::default()
        };
        let chat = ModelOpts {
            chat_template: None,
            api: prover::remote::Api::Chat,
            ..completions.clone()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let a = loop {
            match completions.load().await {
                Ok(m) => break m.unwrap(),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e:#}"),
            }
        };
        let b = chat.load().await.unwrap().unwrap();
        let policy_a = prover::model_policy::ModelPolicy::new(a, completions).unwrap();
        let policy_b = prover::model_policy::ModelPolicy::new(b, chat).unwrap();
        use search::Policy;
        let request = |goals: &str| search::PolicyRequest {
            task: std::sync::Arc::new(search::ProofTask {
                name: "t".into(),
                statement: ": true".into(),
                context: Vec::new(),
            }),
            goals: goals.into(),
            k: 1,
            skip: 0,
            path: Vec::new(),
        };
        let reqs = vec![request("n : ℕ\n⊢ n + 0 = n"), request("⊢ true")];
        let x = policy_a.propose(reqs.clone()).await.unwrap();
        let y = policy_b.propose(reqs).await.unwrap();
        assert_eq!(x.len(), 2);
        assert!(x.iter().any(|c| !c.is_empty()), "{x:?}");
        for (x, y) in x.iter().zip(&y) {
            let xt: Vec<&str> = x.iter().map(|c| c.tactic.as_str()).collect();
            let yt: Vec<&str> = y.iter().map(|c| c.tactic.as_str()).collect();
            assert_eq!(xt, yt);
            for (c, d) in x.iter().zip(y) {
                assert!((c.logprob - d.logprob).abs() < 1e-3, "{c:?} vs {d:?}");
            }
        }
    });
}
