//! `prover serve` and the remote policy (`--endpoint`) on the tiny checkpoint: the same
//! candidates and scores as the in-process engine, 4xx answers to bad requests, and the
//! client's behaviour under faults (a fake server that fails on purpose).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use causal_lm::{GenParams, Generation};
use prover::model_load::{LoadedModel, ModelOpts};
use prover::model_policy::ModelPolicy;
use search::{Policy, PolicyErrorKind, PolicyRequest, ProofTask};
use support::serve::{ServeProcess, http, tiny_checkpoint};

fn local_opts() -> ModelOpts {
    ModelOpts {
        model: Some(tiny_checkpoint().display().to_string()),
        prompt: Some("fewshot".into()),
        ..ModelOpts::default()
    }
}

fn remote_opts(url: &str) -> ModelOpts {
    ModelOpts {
        endpoint: Some(url.to_string()),
        served_model: Some("tiny".into()),
        prompt: Some("fewshot".into()),
        request_timeout: 20.0,
        retries: 2,
        ..ModelOpts::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn assert_same(local: &[Vec<Generation>], remote: &[Vec<Generation>], what: &str) {
    assert_eq!(local.len(), remote.len(), "{what}");
    for (l, r) in local.iter().zip(remote) {
        let lt: Vec<&str> = l.iter().map(|g| g.text.as_str()).collect();
        let rt: Vec<&str> = r.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(lt, rt, "{what}");
        for (a, b) in l.iter().zip(r) {
            assert!(
                (a.logprob - b.logprob).abs() < 1e-4,
                "{what}: {a:?} vs {b:?}"
            );
            assert!(
                (a.logprob_norm - b.logprob_norm).abs() < 1e-4,
                "{what}: {a:?} vs {b:?}"
            );
            assert_eq!(a.tokens, b.tokens, "{what}");
        }
    }
}

fn request(goals: &str, k: usize) -> PolicyRequest {
    PolicyRequest {
        task: Arc::new(ProofTask {
            name: "t".into(),
            statement: ": true".into(),
            context: Vec::new(),
        }),
        goals: goals.into(),
        k,
        skip: 0,
        path: Vec::new(),
    }
}

#[test]
fn remote_candidates_and_scores_equal_the_in_process_engine() {
    let server = ServeProcess::start(&[]);
    let rt = runtime();
    rt.block_on(async {
        let local: LoadedModel = local_opts().load().await.unwrap().unwrap();
        let remote: LoadedModel = remote_opts(&server.url()).load().await.unwrap().unwrap();
        assert_eq!(remote.name, "tiny");
        let prompts = vec![
            "theorem foo : 1 + 1 = 2 :=\n".to_string(),
            "example (p q : Prop) (hp : p) : p ∨ q :=\n".to_string(),
        ];
        let mut sample = GenParams::sample(3, 1.0, 0.95, 6);
        sample.seed = 7;
        for (what, params) in [
            ("greedy", GenParams::greedy(8)),
            ("beam", GenParams::beam(4, 6)),
            ("sample", sample),
        ] {
            let l = local
                .generate(prompts.clone(), params.clone())
                .await
                .unwrap();
            let r = remote.generate(prompts.clone(), params).await.unwrap();
            assert!(l.iter().all(|c| !c.is_empty()));
            assert_same(&l, &r, what);
        }
        // Through the policy: the shared few-shot prefix cached on both sides, the same
        // ranked, screened candidates.
        let lp = ModelPolicy::new(local, local_opts()).unwrap();
        let rp = ModelPolicy::new(remote, remote_opts(&server.url())).unwrap();
        let reqs = vec![request("n : ℕ\n⊢ n + 0 = n", 4), request("⊢ true", 3)];
        let a = lp.propose(reqs.clone()).await.unwrap();
        let b = rp.propose(reqs).await.unwrap();
        assert_eq!(a.len(), 2);
        for (x, y) in a.iter().zip(&b) {
            let xt: Vec<&str> = x.iter().map(|c| c.tactic.as_str()).collect();
            let yt: Vec<&str> = y.iter().map(|c| c.tactic.as_str()).collect();
            assert_eq!(xt, yt);
            for (c, d) in x.iter().zip(y) {
                assert!((c.score - d.score).abs() < 1e-4, "{c:?} vs {d:?}");
                assert!((c.logprob - d.logprob).abs() < 1e-4, "{c:?} vs {d:?}");
            }
        }
    });
    // Everything the policy sent was decoded, with the shared prefix recognised.
    let (status, health) = http(server.port, "GET", "/health", "").unwrap();
    assert_eq!(status, 200);
    let h: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert!(h["prompts"].as_u64().unwrap() >= 8, "{h}");
}

#[test]
fn a_llama_checkpoint_is_served_as_the_in_process_engine_runs_it() {
    let dir = causal_lm::testing::tiny_llama_dir();
    let server = ServeProcess::start_model(&dir, &[]);
    let rt = runtime();
    rt.block_on(async {
        let local_opts = ModelOpts {
            model: Some(dir.display().to_string()),
            ..local_opts()
        };
        let local: LoadedModel = local_opts.load().await.unwrap().unwrap();
        let remote: LoadedModel = remote_opts(&server.url()).load().await.unwrap().unwrap();
        let prompts = vec!["theorem foo : 1 + 1 = 2 :=\n".to_string()];
        for (what, params) in [
            ("greedy", GenParams::greedy(8)),
            ("beam", GenParams::beam(4, 6)),
        ] {
            let l = local
                .generate(prompts.clone(), params.clone())
                .await
                .unwrap();
            let r = remote.generate(prompts.clone(), params).await.unwrap();
            assert!(l.iter().all(|c| !c.is_empty()));
            assert_same(&l, &r, what);
        }
    });
}

#[test]
fn the_chat_api_gives_the_candidates_the_completions_api_gives() {
    // The server wraps chat requests in a chat template (InternLM2's, as published); the
    // completions client wraps its prompts in the same template itself. Same text reaches the
    // engine either way, so the same candidates and scores come back.
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("chat.jinja");
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            causal_lm::testing::fixtures_dir().join("chat_templates/internlm2.json"),
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(&template, published["chat_template"].as_str().unwrap()).unwrap();
    let template = template.display().to_string();
    let server = ServeProcess::start(&["--chat-template", &template]);
    let completions = ModelOpts {
        prompt: Some("state".into()),
        chat_template: Some(template.clone()),
        ..remote_opts(&server.url())
    };
    let chat = ModelOpts {
        prompt: Some("state".into()),
        api: prover::remote::Api::Chat,
        ..remote_opts(&server.url())
    };
    let rt = runtime();
    rt.block_on(async {
        let a = ModelPolicy::new(completions.load().await.unwrap().unwrap(), completions).unwrap();
        let b = ModelPolicy::new(chat.load().await.unwrap().unwrap(), chat).unwrap();
        let reqs = vec![request("n : ℕ\n⊢ n + 0 = n", 4), request("⊢ true", 3)];
        let x = a.propose(reqs.clone()).await.unwrap();
        let y = b.propose(reqs).await.unwrap();
        assert_eq!(x.len(), 2);
        assert!(x.iter().any(|c| !c.is_empty()), "{x:?}");
        for (x, y) in x.iter().zip(&y) {
            let xt: Vec<&str> = x.iter().map(|c| c.tactic.as_str()).collect();
            let yt: Vec<&str> = y.iter().map(|c| c.tactic.as_str()).collect();
            assert_eq!(xt, yt);
            for (c, d) in x.iter().zip(y) {
                assert!((c.logprob - d.logprob).abs() < 1e-4, "{c:?} vs {d:?}");
            }
        }
    });
    // The chat answer itself, as a chat client reads it.
    let (status, body) = http(
        server.port,
        "POST",
        "/v1/chat/completions",
        r#"{"model":"tiny","messages":[{"role":"user","content":"⊢ true"}],"max_tokens":4,"n":2,"use_beam_search":true,"logprobs":true}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"].as_array().unwrap().len(), 2);
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert!(
        v["choices"][0]["logprobs"]["content"][0]["logprob"].is_f64(),
        "{v}"
    );
    // Without a template, chat requests are refused with what to do.
    let plain = ServeProcess::start(&[]);
    let (status, body) = http(
        plain.port,
        "POST",
        "/v1/chat/completions",
        r#"{"model":"tiny","messages":[{"role":"user","content":"x"}]}"#,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("--chat-template"), "{body}");
}

#[test]
fn bad_requests_get_4xx_with_a_message_and_the_server_keeps_serving() {
    let server = ServeProcess::start(&[]);
    let p = server.port;
    let cases = [
        ("{not json", 400, "not a completion request"),
        (r#"{"model":"tiny"}"#, 400, "prompt"),
        (r#"{"model":"other","prompt":"x"}"#, 404, "serves \"tiny\""),
        (
            r#"{"model":"tiny","prompt":"x","n":0}"#,
            400,
            "n (and best_of)",
        ),
        (
            r#"{"model":"tiny","prompt":"x","n":1000}"#,
            400,
            "n (and best_of)",
        ),
        (
            r#"{"model":"tiny","prompt":"","max_tokens":2}"#,
            400,
            "must not be empty",
        ),
        (
            r#"{"model":"tiny","prompt":"x","max_tokens":0}"#,
            400,
            "max_tokens",
        ),
        (
            r#"{"model":"tiny","prompt":"x","max_tokens":200000}"#,
            400,
            "maximum context length",
        ),
        (
            r#"{"model":"tiny","prompt":"x","stop":[""]}"#,
            400,
            "stop strings",
        ),
        (r#"{"model":"tiny","prompt":"x","top_p":2}"#, 400, "top_p"),
        (
            r#"{"model":"tiny","prompt":"x","stream":true}"#,
            400,
            "streaming",
        ),
    ];
    for (body, code, needle) in cases {
        let (status, answer) = http(p, "POST", "/v1/completions", body).unwrap();
        let answer = answer.as_str();
        assert_eq!(status, code, "{body}: {answer}");
        let e: serde_json::Value = serde_json::from_str(answer).unwrap();
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let (status, _) = http(p, "POST", "/v1/chat/nothing", "{}").unwrap();
    assert_eq!(status, 404);
    let big = format!(r#"{{"model":"tiny","prompt":"{}"}}"#, "a".repeat(5 << 20));
    let (status, answer) = http(p, "POST", "/v1/completions", &big).unwrap();
    assert_eq!(status, 413);
    // Every refusal is JSON, the body-size one and a wrong method included.
    let e: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("larger than the limit"), "{msg}");
    let (status, answer) = http(p, "GET", "/v1/completions", "").unwrap();
    assert_eq!(status, 405);
    let e: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("POST"),
        "{e}"
    );
    // Still serving, and the two prompts of one request come back in order.
    let (status, answer) = http(
        p,
        "POST",
        "/v1/completions",
        r#"{"model":"tiny","prompt":["ab","cd"],"max_tokens":3,"temperature":0,"n":2,"logprobs":0}"#,
    )
    .unwrap();
    let answer = answer.as_str();
    assert_eq!(status, 200, "{answer}");
    let r: openai_api::CompletionResponse = serde_json::from_str(answer).unwrap();
    assert_eq!(r.choices.len(), 4);
    assert_eq!(r.choices[0].text, r.choices[1].text);
    assert_eq!(r.choices[3].index, 3);
    assert_eq!(
        r.choices[0].logprobs.as_ref().unwrap().token_logprobs.len(),
        3
    );
    assert_eq!(r.usage.unwrap().completion_tokens, 12);
}

#[test]
fn an_api_key_is_required_when_configured() {
    // SAFETY: no other test of this file reads or writes this variable.
    unsafe { std::env::set_var("PROVER_TEST_SERVE_KEY", "s3cret") };
    let server = ServeProcess::start(&["--api-key-env", "PROVER_TEST_SERVE_KEY"]);
    let (status, body) = http(server.port, "GET", "/v1/models", "").unwrap();
    assert_eq!(status, 401, "{body}");
    let rt = runtime();
    rt.block_on(async {
        let no_key = remote_opts(&server.url()).load().await.err().unwrap();
        assert!(format!("{no_key:#}").contains("API key"), "{no_key:#}");
        let opts = ModelOpts {
            api_key_env: Some("PROVER_TEST_SERVE_KEY".into()),
            ..remote_opts(&server.url())
        };
        let model = opts.load().await.unwrap().unwrap();
        let out = model
            .generate(vec!["ab".into()], GenParams::greedy(2))
            .await
            .unwrap();
        assert_eq!(out[0].len(), 1);
    });
}

#[test]
fn a_standard_client_works_with_the_server() {
    // curl, as a user would try it first.
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: curl is not installed");
        return;
    }
    let server = ServeProcess::start(&[]);
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"model":"tiny","prompt":"theorem foo :","max_tokens":4,"n":2,"use_beam_search":true}"#,
            &format!("{}/v1/completions", server.url()),
        ])
        .output()
        .unwrap();
    let r: openai_api::CompletionResponse =
        serde_json::from_slice(&out.stdout).expect("an API answer");
    assert_eq!(r.choices.len(), 2);
    assert_ne!(r.choices[0].text, r.choices[1].text);
}

/// A server that misbehaves on purpose: `/v1/models` answers, the completion route answers
/// as `behaviour` says for the first `faults` calls and well afterwards.
#[derive(Clone, Copy)]
enum Fault {
    Status500,
    Garbage,
    Hang,
    /// Never a fault, but `stop` is ignored: every completion runs on past its first line, as
    /// vLLM's beam search answers (vLLM #9253).
    IgnoresStop,
}

async fn fake_server(fault: Fault, faults: usize) -> (u16, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body (Content-Length).
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let (status, body) = if text.starts_with("GET /v1/models") {
                    (
                        200,
                        r#"{"object":"list","data":[{"id":"tiny"}]}"#.to_string(),
                    )
                } else {
                    // The probes at start-up (beam, then samples) always succeed.
                    let probe = text.contains(r#""prompt":"1""#);
                    let call = if probe {
                        usize::MAX
                    } else {
                        counter.fetch_add(1, Ordering::SeqCst)
                    };
                    if let Fault::IgnoresStop = fault {
                        let choices: Vec<String> = [
                            (["norm", "_num", "\n", "---", "\n", "lin", "arith"], -0.5),
                            (["simp", " at", " h", "\n", "exact", " h", "\n"], -0.25),
                        ]
                        .iter()
                        .enumerate()
                        .map(|(i, (tokens, lp))| {
                            let text: String = tokens.concat();
                            let tokens: Vec<String> =
                                tokens.iter().map(|t| format!("{t:?}")).collect();
                            let lps = vec![lp.to_string(); tokens.len()];
                            format!(
                                r#"{{"index":{i},"text":{text:?},"finish_reason":"length","logprobs":{{"tokens":[{}],"token_logprobs":[{}]}}}}"#,
                                tokens.join(","),
                                lps.join(",")
                            )
                        })
                        .collect();
                        (200, format!(r#"{{"choices":[{}]}}"#, choices.join(",")))
                    } else if call < faults + 2 {
                        match fault {
                            Fault::Status500 => (500, "Internal Server Error".to_string()),
                            Fault::Garbage => (200, "<html>oops</html>".to_string()),
                            Fault::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                            Fault::IgnoresStop => unreachable!(),
                        }
                    } else {
                        let n = if text.contains("use_beam_search") {
                            2
                        } else {
                            1
                        };
                        let choices: Vec<String> = (0..n)
                            .map(|i| {
                                format!(
                                    r#"{{"index":{i},"text":"simp{i}","finish_reason":"stop","logprobs":{{"tokens":["a","b"],"token_logprobs":[-0.5,-0.{i}5]}}}}"#
                                )
                            })
                            .collect();
                        (200, format!(r#"{{"choices":[{}]}}"#, choices.join(",")))
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, calls)
}

fn fault_opts(port: u16) -> ModelOpts {
    ModelOpts {
        request_timeout: 1.0,
        retries: 2,
        ..remote_opts(&format!("http://127.0.0.1:{port}"))
    }
}

#[test]
fn passing_faults_are_retried_and_lasting_ones_cost_only_that_request() {
    let rt = runtime();
    rt.block_on(async {
        for fault in [Fault::Status500, Fault::Garbage, Fault::Hang] {
            // Two bad answers then good ones: the retries (2) carry the request through.
            let (port, _) = fake_server(fault, 0).await;
            let model = fault_opts(port).load().await.unwrap().unwrap();
            let policy = ModelPolicy::new(model, fault_opts(port)).unwrap();
            let got = policy.propose(vec![request("⊢ true", 2)]).await.unwrap();
            assert_eq!(got[0][0].tactic, "simp0");
            // (-0.5 - 0.05) / 2 tokens: summed and length-normalised as the engine scores.
            assert!((got[0][0].score + 0.275).abs() < 1e-12, "{:?}", got[0]);
            // Faults that outlast the retries: a policy error for this request, typed.
            let (port, _) = fake_server(fault, 100).await;
            let model = fault_opts(port).load().await.unwrap().unwrap();
            let policy = ModelPolicy::new(model, fault_opts(port)).unwrap();
            let started = Instant::now();
            let err = policy
                .propose(vec![request("⊢ true", 2)])
                .await
                .err()
                .unwrap();
            assert_eq!(err.kind(), PolicyErrorKind::Unavailable, "{err}");
            assert!(err.to_string().contains("after 3 attempts"), "{err}");
            // Three attempts of at most 1 s plus 0.25 + 0.5 s of waiting.
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    });
}

#[test]
fn start_up_errors_name_the_address_and_what_the_server_said() {
    let rt = runtime();
    rt.block_on(async {
        // Nothing listens there.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let e = fault_opts(port).load().await.err().unwrap();
        let msg = format!("{e:#}");
        assert!(
            msg.starts_with("cannot reach the model server at http://127.0.0.1:"),
            "{msg}"
        );
        assert!(msg.ends_with("Connection refused (os error 111)"), "{msg}");
        assert!(!msg.contains('\n'));
        // A name the server does not serve.
        let (port, _) = fake_server(Fault::Status500, 0).await;
        let opts = ModelOpts {
            served_model: Some("internlm2-math-7b".into()),
            ..fault_opts(port)
        };
        let msg = format!("{:#}", opts.load().await.err().unwrap());
        assert!(
            msg.contains("does not serve the model \"internlm2-math-7b\" (it serves: tiny)"),
            "{msg}"
        );
    });
}

/// The server's counters (`/health`).
fn health_of(port: u16) -> serde_json::Value {
    serde_json::from_str(&http(port, "GET", "/health", "").unwrap().1).unwrap()
}

/// Sends a long request (seconds of beam search on the tiny model) and returns once the server
/// has taken it; the handle gives its status and body.
fn busy_model(port: u16) -> std::thread::JoinHandle<(u16, String)> {
    let long = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/v1/completions",
            r#"{"model":"tiny","prompt":"theorem foo :","max_tokens":1500,"n":8,"use_beam_search":true}"#,
        )
        .unwrap()
    });
    while health_of(port)["requests"].as_u64().unwrap() < 1 {
        std::thread::sleep(Duration::from_millis(10));
    }
    long
}

#[test]
fn a_request_whose_client_left_is_never_decoded() {
    use std::io::Write;
    let server = ServeProcess::start(&["--max-batch", "1"]);
    let port = server.port;
    let health = || health_of(port);
    // A long request keeps the model busy ...
    let long = busy_model(port);
    // ... while a second one queues and its client hangs up.
    let body = r#"{"model":"tiny","prompt":"B","max_tokens":1500,"temperature":0}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    while health()["requests"].as_u64().unwrap() < 2 {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    drop(s);
    let (status, _) = long.join().unwrap();
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = health();
        if h["dropped_client_gone"] == 1 {
            assert_eq!(h["prompts"], 1, "{h}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the abandoned request was decoded: {h}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn requests_that_arrive_together_are_decoded_together() {
    let server = ServeProcess::start(&[]);
    let port = server.port;
    let health = || health_of(port);
    let long = busy_model(port);
    // Six clients at once while the model is busy: they queue, then go in one batch.
    let short: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!(
                    r#"{{"model":"tiny","prompt":"goal {i}","max_tokens":4,"temperature":0,"logprobs":0}}"#
                );
                http(port, "POST", "/v1/completions", &body).unwrap()
            })
        })
        .collect();
    for s in short {
        let (status, body) = s.join().unwrap();
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(long.join().unwrap().0, 200);
    let h = health();
    assert_eq!(h["prompts"], 7, "{h}");
    assert!(h["largest_batch"].as_u64().unwrap() >= 2, "{h}");
    assert!(h["batches"].as_u64().unwrap() < 7, "{h}");
}

#[test]
fn the_openai_python_package_works_with_the_server() {
    let py = std::env::var("PROVER_OPENAI_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = std::process::Command::new(&py)
        .args(["-c", "import openai"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!(
            "SKIPPED the_openai_python_package_works_with_the_server: no Python with the openai package (pip install openai; PROVER_OPENAI_PYTHON names it)"
        );
        return;
    }
    let server = ServeProcess::start(&[]);
    let script = format!(
        r#"
import json
from openai import OpenAI
c = OpenAI(base_url="{}/v1", api_key="unused")
print(json.dumps([m.id for m in c.models.list().data]))
r = c.completions.create(model="tiny", prompt="theorem foo :", max_tokens=4, n=3,
                         logprobs=0, extra_body={{"use_beam_search": True}})
print(json.dumps([[ch.text, sum(ch.logprobs.token_logprobs)] for ch in r.choices]))
try:
    c.completions.create(model="nope", prompt="x", max_tokens=1)
except Exception as e:
    print(type(e).__name__)
"#,
        server.url()
    );
    let o = std::process::Command::new(&py)
        .args(["-c", &script])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"["tiny"]"#);
    let choices: Vec<(String, f64)> = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(choices.len(), 3);
    assert!(choices.windows(2).all(|w| w[0].1 >= w[1].1), "{choices:?}");
    assert_eq!(lines[2], "NotFoundError");
}

fn send_sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Queued requests behind a busy model: `count` short ones, each in its thread.
fn short_requests(port: u16, count: usize) -> Vec<std::thread::JoinHandle<(u16, String)>> {
    (0..count)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!(
                    r#"{{"model":"tiny","prompt":"queued {i}","max_tokens":4,"temperature":0}}"#
                );
                http(port, "POST", "/v1/completions", &body).unwrap()
            })
        })
        .collect()
}

#[test]
fn sigterm_drains_the_requests_in_flight_and_exits_0() {
    let mut server = ServeProcess::start(&["--max-batch", "1"]);
    let port = server.port;
    let long = busy_model(port);
    let queued = short_requests(port, 2);
    while health_of(port)["requests"].as_u64().unwrap() < 3 {
        std::thread::sleep(Duration::from_millis(10));
    }
    send_sigterm(server.pid());
    // Every accepted request is answered with its completion ...
    for r in std::iter::once(long).chain(queued) {
        let (status, body) = r.join().unwrap();
        assert_eq!(status, 200, "{body}");
        let c: openai_api::CompletionResponse = serde_json::from_str(&body).unwrap();
        assert!(!c.choices.is_empty());
    }
    // ... and the server exits 0.
    let status = server.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(http(port, "GET", "/health", "").is_err(), "still accepting");
}

#[test]
fn requests_still_waiting_after_the_drain_time_get_a_json_503() {
    let mut server = ServeProcess::start(&["--max-batch", "1", "--drain-timeout", "0.2"]);
    let port = server.port;
    let long = busy_model(port);
    let queued = short_requests(port, 2);
    while health_of(port)["requests"].as_u64().unwrap() < 3 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let signalled = Instant::now();
    send_sigterm(server.pid());
    for r in std::iter::once(long).chain(queued) {
        let (status, body) = r.join().unwrap();
        let e: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status, 503, "{body}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("shutting down"),
            "{body}"
        );
    }
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status:?}");
    // It did not wait for the long beam search to end.
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "{:?}",
        signalled.elapsed()
    );
}

#[test]
fn a_server_that_ignores_stop_still_gives_one_line_tactics_scored_on_the_kept_tokens() {
    let rt = runtime();
    rt.block_on(async {
        let (port, _) = fake_server(Fault::IgnoresStop, 0).await;
        let model = fault_opts(port).load().await.unwrap().unwrap();
        let policy = ModelPolicy::new(model, fault_opts(port)).unwrap();
        let got = policy.propose(vec![request("⊢ true", 2)]).await.unwrap();
        let tactics: Vec<&str> = got[0].iter().map(|c| c.tactic.as_str()).collect();
        assert_eq!(tactics, ["simp at h", "norm_num"], "{:?}", got[0]);
        // Scored on the tokens up to the newline that ended each (4 and 3 of 7): the per-token
        // mean is the one token log-probability each choice has.
        assert!((got[0][0].score + 0.25).abs() < 1e-9, "{:?}", got[0]);
        assert!((got[0][1].score + 0.5).abs() < 1e-9, "{:?}", got[0]);
    });
}
