//! A fake OpenAI-compatible completions server on a thread (std only): canned tactic
//! completions with log-probabilities, and a fault on every `fail_every`-th completion request
//! (after the start-up probes): a 400 with a JSON error, which the client does not retry.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct FakeApi {
    pub port: u16,
    /// Completion requests answered (probes excluded), and those failed on purpose.
    pub calls: Arc<AtomicUsize>,
    pub failed: Arc<AtomicUsize>,
}

impl FakeApi {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

const TACTICS: [&str; 4] = ["norm_num", "simp", "linarith", "refl"];

/// Starts the server; it runs until the test process ends. `fail_every` 0 never fails.
pub fn start(fail_every: usize) -> FakeApi {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (c, f) = (calls.clone(), failed.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (c, f) = (c.clone(), f.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0u8; len];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let body: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let (status, answer) = if head.starts_with("GET /v1/models") {
                    (
                        200,
                        serde_json::json!({"object": "list", "data": [{"id": "fake"}]}),
                    )
                } else if body["prompt"] == "1" {
                    // The start-up probes: a server without beam search that honours n.
                    let n = if body["use_beam_search"] == true {
                        1
                    } else {
                        2
                    };
                    (200, choices(n))
                } else {
                    let call = c.fetch_add(1, Ordering::SeqCst) + 1;
                    if fail_every > 0 && call.is_multiple_of(fail_every) {
                        f.fetch_add(1, Ordering::SeqCst);
                        (
                            400,
                            serde_json::json!({"error": {"message": "fault on purpose", "type": "invalid_request_error"}}),
                        )
                    } else {
                        (200, choices(body["n"].as_u64().unwrap_or(1) as usize))
                    }
                };
                let text = answer.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            });
        }
    });
    FakeApi {
        port,
        calls,
        failed,
    }
}

fn choices(n: usize) -> serde_json::Value {
    let choices: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let text = TACTICS[i % TACTICS.len()];
            serde_json::json!({
                "index": i, "text": text, "finish_reason": "stop",
                "logprobs": {"tokens": [text], "token_logprobs": [-0.5 - i as f64]},
            })
        })
        .collect();
    serde_json::json!({"choices": choices})
}
