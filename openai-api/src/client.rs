//! A completions client for long runs against a shared server: a bounded number of requests in
//! flight (the server batches what arrives together), retries with exponential backoff for what
//! passes (a refused connection while the server restarts, a timeout, 429, 5xx, a body that does
//! not parse), and one typed error when the retries are spent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::chat::{ChatCompletionRequest, ChatCompletionResponse};
use crate::wire::{CompletionRequest, CompletionResponse, ModelList, error_message};

/// Where and how to reach the server.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's base address, with or without the `/v1` suffix.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Most requests in flight at once; more wait their turn.
    pub max_inflight: usize,
    /// Limit for one request, connection included.
    pub timeout: Duration,
    /// Attempts after the first for a fault that may pass.
    pub retries: u32,
    /// The first wait before a retry; it doubles for each further one (up to 8 s).
    pub backoff: Duration,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            max_inflight: 16,
            timeout: Duration::from_secs(120),
            retries: 4,
            backoff: Duration::from_millis(250),
        }
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// No connection (refused, reset, no such host).
    Unreachable,
    /// No answer within the time limit.
    Timeout,
    /// The server answered with this status.
    Status(u16),
    /// The answer was not the API's JSON.
    Malformed,
    /// The address is not a usable URL, or the client could not be built.
    Config,
}

impl ApiErrorKind {
    /// Faults that a wait may cure: restarts, overload, a bad answer under load.
    pub fn is_transient(self) -> bool {
        match self {
            ApiErrorKind::Unreachable | ApiErrorKind::Timeout | ApiErrorKind::Malformed => true,
            ApiErrorKind::Status(code) => code == 408 || code == 429 || code >= 500,
            ApiErrorKind::Config => false,
        }
    }
}

/// A failed call, with the address and what the server (or the connection) said.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub url: String,
    pub message: String,
}

impl ApiError {
    fn new(kind: ApiErrorKind, url: &str, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            url: url.to_string(),
            message: message.into(),
        }
    }

    fn from_reqwest(url: &str, e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            ApiErrorKind::Timeout
        } else if e.is_builder() {
            ApiErrorKind::Config
        } else if e.is_decode() || e.is_body() {
            ApiErrorKind::Malformed
        } else {
            ApiErrorKind::Unreachable
        };
        // reqwest's own text is "error sending request for url (…)"; the innermost cause
        // says what happened ("Connection refused (os error 111)").
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = s.to_string();
            source = s.source();
        }
        let message = match kind {
            ApiErrorKind::Timeout => "no answer within the time limit".to_string(),
            _ => message,
        };
        ApiError::new(kind, url, message)
    }
}

/// A client for one server. Cheap to clone; clones share the connection pool and the limit on
/// requests in flight.
#[derive(Clone)]
pub struct CompletionsClient {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    /// `…/v1`, without a trailing slash.
    api_base: String,
    inflight: Arc<Semaphore>,
}

impl CompletionsClient {
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let trimmed = config.base_url.trim_end_matches('/');
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(ApiError::new(
                ApiErrorKind::Config,
                trimmed,
                "not an http:// or https:// address",
            ));
        }
        let api_base = if trimmed.ends_with("/v1") {
            trimmed.to_string()
        } else {
            format!("{trimmed}/v1")
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ApiError::from_reqwest(&api_base, &e))?;
        Ok(CompletionsClient {
            http,
            inflight: Arc::new(Semaphore::new(config.max_inflight.max(1))),
            config: Arc::new(config),
            api_base,
        })
    }

    /// The API's base address (`…/v1`).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `GET /v1/models`, once (no retries: at start-up a dead address should fail at once).
    pub async fn models(&self) -> Result<ModelList, ApiError> {
        let url = format!("{}/models", self.api_base);
        self.send_once(&url, self.http.get(&url)).await
    }

    /// `POST /v1/completions`, retried with backoff while the fault may pass.
    pub async fn complete(
        &self,
        request: &CompletionRequest,
    ) -> Result<CompletionResponse, ApiError> {
        self.complete_timed(request, "").await.map(|(r, _)| r)
    }

    /// [`Self::complete`], also returning the number the server put in the response header
    /// `header` (a server's own timing, where it reports one).
    pub async fn complete_timed(
        &self,
        request: &CompletionRequest,
        header: &str,
    ) -> Result<(CompletionResponse, Option<f64>), ApiError> {
        self.post_retried("completions", request, header).await
    }

    /// `POST /v1/chat/completions`, retried as [`Self::complete`] is.
    pub async fn chat(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ApiError> {
        self.post_retried("chat/completions", request, "")
            .await
            .map(|(r, _)| r)
    }

    async fn post_retried<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        header: &str,
    ) -> Result<(Resp, Option<f64>), ApiError> {
        let url = format!("{}/{path}", self.api_base);
        let _permit = self.inflight.acquire().await.expect("never closed");
        let mut wait = self.config.backoff;
        let mut attempt = 0;
        loop {
            let result = self
                .send_once_with(&url, self.http.post(&url).json(request), header)
                .await;
            match result {
                Err(e) if e.kind.is_transient() && attempt < self.config.retries => {
                    attempt += 1;
                    tracing::warn!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "completion request failed, retrying: {e}"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(8));
                }
                Err(e) if attempt > 0 => {
                    return Err(ApiError {
                        message: format!("{} (after {} attempts)", e.message, attempt + 1),
                        ..e
                    });
                }
                other => return other,
            }
        }
    }

    async fn send_once<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        builder: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        self.send_once_with(url, builder, "").await.map(|(t, _)| t)
    }

    async fn send_once_with<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        mut builder: reqwest::RequestBuilder,
        header: &str,
    ) -> Result<(T, Option<f64>), ApiError> {
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| ApiError::from_reqwest(url, &e))?;
        let status = response.status();
        let reported = (!header.is_empty())
            .then(|| response.headers().get(header))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok());
        let body = response
            .text()
            .await
            .map_err(|e| ApiError::from_reqwest(url, &e))?;
        let parsed = read_answer(url, status.as_u16(), &body)?;
        Ok((parsed, reported))
    }
}

/// A server's answer, read: the API's JSON for a success status, else an error carrying the
/// server's own message. Pure, so that it can be fuzzed: a server may answer anything.
pub fn read_answer<T: serde::de::DeserializeOwned>(
    url: &str,
    status: u16,
    body: &str,
) -> Result<T, ApiError> {
    if !(200..300).contains(&status) {
        let reason = reqwest::StatusCode::from_u16(status)
            .map(|s| s.to_string())
            .unwrap_or_else(|_| status.to_string());
        return Err(ApiError::new(
            ApiErrorKind::Status(status),
            url,
            format!("{reason}: {}", error_message(body)),
        ));
    }
    serde_json::from_str(body).map_err(|e| {
        let short: String = body.chars().take(120).collect();
        ApiError::new(
            ApiErrorKind::Malformed,
            url,
            format!("the answer is not the API's JSON ({e}): {short:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_gain_the_api_prefix_once() {
        for (given, base) in [
            ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
            ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
            ("http://h:1/v1/", "http://h:1/v1"),
        ] {
            let c = CompletionsClient::new(ClientConfig::new(given)).unwrap();
            assert_eq!(c.api_base(), base);
        }
        let e = CompletionsClient::new(ClientConfig::new("localhost:8000"))
            .err()
            .unwrap();
        assert_eq!(e.kind, ApiErrorKind::Config);
    }

    #[test]
    fn only_passing_faults_are_retried() {
        for (kind, transient) in [
            (ApiErrorKind::Unreachable, true),
            (ApiErrorKind::Timeout, true),
            (ApiErrorKind::Malformed, true),
            (ApiErrorKind::Status(429), true),
            (ApiErrorKind::Status(503), true),
            (ApiErrorKind::Status(400), false),
            (ApiErrorKind::Status(401), false),
            (ApiErrorKind::Status(404), false),
            (ApiErrorKind::Config, false),
        ] {
            assert_eq!(kind.is_transient(), transient, "{kind:?}");
        }
    }
}
