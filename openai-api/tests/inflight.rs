//! The client's bound on requests in flight, against a server that counts its open requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use openai_api::{ClientConfig, CompletionRequest, CompletionsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every request after 100 ms; records the most requests it held at once.
async fn slow_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (open, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let most_out = most.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (open, most) = (open.clone(), most.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                open.fetch_sub(1, Ordering::SeqCst);
                let body = r#"{"choices":[{"index":0,"text":"x"}]}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, most_out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_requests_are_in_flight_than_allowed() {
    for (limit, expected) in [(2, 2), (6, 6)] {
        let (port, most) = slow_server().await;
        let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}"));
        config.max_inflight = limit;
        let client = CompletionsClient::new(config).unwrap();
        let request = CompletionRequest::new("m", "p");
        let answers = futures_join(&client, &request, 12).await;
        assert!(
            answers
                .iter()
                .all(|a| a.as_ref().is_ok_and(|r| r.choices[0].text == "x"))
        );
        assert_eq!(most.load(Ordering::SeqCst), expected, "limit {limit}");
    }
}

async fn futures_join(
    client: &CompletionsClient,
    request: &CompletionRequest,
    n: usize,
) -> Vec<Result<openai_api::CompletionResponse, openai_api::ApiError>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (c, r) = (client.clone(), request.clone());
        tasks.push(tokio::spawn(async move { c.complete(&r).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
