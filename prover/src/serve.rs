//! `prover serve`: the project's engine (InternLM2, the Llama family) behind the
//! OpenAI-compatible API (`/v1/completions`, `/v1/chat/completions`, `/v1/models`, `/health`),
//! so that one GPU machine serves the Lean machines without Python.
//!
//! A chat request is a completion request whose prompt is its conversation rendered by the
//! model's chat template (`--chat-template`, else the checkpoint's own), as transformers
//! renders it; the answer is the completion's, in the chat format.
//!
//! One thread owns the model. Requests queue for it; whenever it is free it takes everything
//! queued (up to `--max-batch` prompts) and decodes prompts that share settings in one batch,
//! so requests that arrive together are decoded together. Prompts that begin with a prompt
//! style's shared prefix (the tactic prompts of every search) reuse that prefix's KV cache, as
//! in-process search does; the prompt is split where the in-process engine splits it, so the
//! answers are the same. A request whose client went away before its batch started is dropped
//! unseen. Malformed or oversized requests are answered 4xx with a message and never reach the
//! model; every answer that is not a completion is an OpenAI-style JSON error.
//!
//! Shutdown (Ctrl-C, SIGTERM) drains: the server stops accepting connections, the requests it
//! has accepted are decoded and answered, and it exits 0. A request still waiting when the
//! drain time (`--drain-timeout`) is over gets a 503 JSON answer instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use causal_lm::chat_template::{ChatMessage, ChatTemplate};
use causal_lm::{GenParams, GenRequest, Generation, Generator, ModelSource, Strategy};
use clap::Args;
use openai_api::{
    ChatCompletionRequest, ChatCompletionResponse, Choice, CompletionRequest, CompletionResponse,
    ErrorBody, LogProbs, ModelCard, ModelList, Usage,
};
use search::CancellationToken;
use tokenizers::Tokenizer;
use tokio::sync::{mpsc, oneshot};

use crate::prompts::TacticPrompt;

/// Arguments of `prover serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The checkpoint: a local directory or a Hugging Face hub id.
    #[arg(long, value_name = "DIR|ID")]
    pub model: String,

    /// The name clients ask for (default: --model as given).
    #[arg(long, value_name = "NAME")]
    pub served_model_name: Option<String>,

    /// Address to listen on; 0.0.0.0 opens the server to other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,

    /// cpu, cuda[:N] or metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Weights' type (default: bf16 on GPU, f32 on CPU).
    #[arg(long, value_name = "f32|f16|bf16")]
    pub dtype: Option<String>,

    /// An environment variable holding the API key clients must send (as a bearer token).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,

    /// Most prompts decoded together in one batch.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_batch: usize,

    /// Most completions one request may ask for (n, or the beam width).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_n: usize,

    /// Most tokens of prompt plus completion (default: the model's max_position_embeddings).
    #[arg(long, value_name = "TOKENS")]
    pub max_model_len: Option<usize>,

    /// On Ctrl-C or SIGTERM, seconds to finish the requests already accepted; those still
    /// waiting after it are answered 503 (as JSON) and the server exits 0.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub drain_timeout: f64,

    /// The chat template of /v1/chat/completions: a .jinja file or a tokenizer_config.json
    /// (default: the checkpoint's own; without one, chat requests are refused).
    #[arg(long, value_name = "FILE")]
    pub chat_template: Option<std::path::PathBuf>,
}

/// One prompt waiting for the model.
struct Job {
    /// The part after the shared prefix (the whole prompt when there is none).
    prompt: String,
    /// Which of [`known_prefixes`] the prompt begins with.
    prefix: Option<usize>,
    k: usize,
    params: GenParams,
    reply: oneshot::Sender<Result<Vec<Generation>, String>>,
}

/// What the server has done, for `/health` and the benchmark.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    prompts: AtomicU64,
    batches: AtomicU64,
    largest_batch: AtomicU64,
    dropped_gone: AtomicU64,
    rejected: AtomicU64,
}

struct AppState {
    served_name: String,
    api_key: Option<String>,
    tokenizer: Tokenizer,
    /// Tokens the engine puts before a prompt without a prefix.
    bos: usize,
    max_model_len: usize,
    max_n: usize,
    prefixes: Vec<String>,
    chat_template: Option<ChatTemplate>,
    jobs: mpsc::UnboundedSender<Job>,
    counters: Arc<Counters>,
    next_id: AtomicU64,
    created: u64,
    /// Cancelled when the drain time after a shutdown signal is over.
    give_up: CancellationToken,
}

/// The prompt prefixes worth a KV cache: the shared part of every tactic prompt, per style,
/// longest first.
fn known_prefixes() -> Vec<String> {
    let mut p: Vec<String> = ["fewshot", "chat"]
        .iter()
        .filter_map(|name| TacticPrompt::builtin(name))
        .map(|t| t.shared_prefix())
        .collect();
    p.sort_by_key(|s| std::cmp::Reverse(s.len()));
    p
}

/// A refused request: its status and message.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::NOT_FOUND => "not_found_error",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request_error",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.kind(), self.message.clone());
        (self.status, axum::Json(body)).into_response()
    }
}

/// A request turned into engine settings.
pub(crate) struct Plan {
    pub(crate) prompts: Vec<String>,
    /// Each prompt's tokens as the engine sees them (BOS included).
    pub(crate) prompt_tokens: Vec<usize>,
    /// Completions asked for per prompt.
    pub(crate) n: usize,
    /// Candidates the engine makes per prompt (1 for greedy; copied up to `n`).
    pub(crate) k: usize,
    pub(crate) params: GenParams,
    pub(crate) logprobs: bool,
}

impl AppState {
    fn authorize(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(key) = &self.api_key else {
            return Ok(());
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given == Some(key.as_str()) {
            Ok(())
        } else {
            Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                message: "a valid API key is required (Authorization: Bearer …)".into(),
            })
        }
    }

    fn plan(&self, req: CompletionRequest) -> Result<Plan, Refusal> {
        let limits = RequestLimits {
            served_name: &self.served_name,
            max_n: self.max_n,
            max_model_len: self.max_model_len,
            bos: self.bos,
        };
        plan_request(req, &limits, &|text| {
            self.tokenizer
                .encode(text, false)
                .map(|e| e.len())
                .map_err(|e| e.to_string())
        })
    }

    fn job(
        &self,
        prompt: &str,
        plan: &Plan,
    ) -> (Job, oneshot::Receiver<Result<Vec<Generation>, String>>) {
        let prefix = self
            .prefixes
            .iter()
            .position(|p| prompt.len() > p.len() && prompt.starts_with(p.as_str()));
        let rest = prefix.map_or(prompt, |i| &prompt[self.prefixes[i].len()..]);
        let (reply, answer) = oneshot::channel();
        (
            Job {
                prompt: rest.to_string(),
                prefix,
                k: plan.k,
                params: plan.params.clone(),
                reply,
            },
            answer,
        )
    }

    /// A chat request's conversation as the model's chat template writes it, with the
    /// assistant's turn opened (its BOS left to the tokenizer, as for every prompt).
    fn render_chat(&self, chat: &ChatCompletionRequest) -> Result<String, Refusal> {
        let Some(template) = &self.chat_template else {
            return Err(Refusal::bad(
                "this model has no chat template, so chat requests cannot be answered; use \
                 /v1/completions, or start the server with --chat-template FILE",
            ));
        };
        render_conversation(template, &chat.messages)
    }

    fn logprobs_of(&self, g: &Generation) -> LogProbs {
        let mut offset = 0;
        let mut out = LogProbs::default();
        for (&id, &lp) in g.token_ids.iter().zip(&g.token_logprobs) {
            let text = self
                .tokenizer
                .decode(&[id], false)
                .ok()
                .or_else(|| self.tokenizer.id_to_token(id))
                .unwrap_or_default();
            out.text_offset.push(offset);
            offset += text.len();
            out.tokens.push(text);
            out.token_logprobs.push(Some(lp as f64));
        }
        out
    }
}

/// A chat request's messages as `template` writes them, the assistant's turn opened (its BOS
/// left to the tokenizer). Pure, so that it can be fuzzed.
pub(crate) fn render_conversation(
    template: &ChatTemplate,
    messages: &[openai_api::ChatMessage],
) -> Result<String, Refusal> {
    if messages.is_empty() {
        return Err(Refusal::bad("messages must not be empty"));
    }
    let messages: Vec<ChatMessage> = messages
        .iter()
        .map(|m| ChatMessage {
            role: m.role.clone(),
            content: m.content.clone().unwrap_or_default(),
        })
        .collect();
    template.render_for_encoding(&messages, true).map_err(|e| {
        Refusal::bad(format!(
            "the conversation does not fit the chat template: {e}"
        ))
    })
}

/// What a request is checked against.
pub struct RequestLimits<'a> {
    pub served_name: &'a str,
    pub max_n: usize,
    pub max_model_len: usize,
    /// Tokens the engine puts before a prompt.
    pub bos: usize,
}

/// Checks a request and chooses the decoding: beam search for `use_beam_search`, greedy at
/// temperature 0, otherwise `n` distinct samples (the engine's sampling). Pure (the tokenizer
/// is handed in), so that it can be fuzzed: the request comes from anyone on the network.
pub(crate) fn plan_request(
    req: CompletionRequest,
    limits: &RequestLimits,
    count_tokens: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<Plan, Refusal> {
    if req.model != limits.served_name {
        return Err(Refusal {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "the model {:?} does not exist here; this server serves {:?}",
                req.model, limits.served_name
            ),
        });
    }
    if req.stream == Some(true) {
        return Err(Refusal::bad(
            "streaming is not supported; leave out \"stream\"",
        ));
    }
    let prompts = req.prompt.into_vec();
    if prompts.is_empty() || prompts.iter().any(String::is_empty) {
        return Err(Refusal::bad("the prompt must not be empty"));
    }
    if prompts.len() > 64 {
        return Err(Refusal::bad(format!(
            "{} prompts in one request; at most 64",
            prompts.len()
        )));
    }
    let n = req.n.unwrap_or(1);
    let width = req.best_of.unwrap_or(n).max(n);
    if n == 0 || width > limits.max_n {
        return Err(Refusal::bad(format!(
            "n (and best_of) must be between 1 and {} (asked: n = {n}, best_of = {width})",
            limits.max_n
        )));
    }
    let max_tokens = req.max_tokens.unwrap_or(16);
    if max_tokens == 0 {
        return Err(Refusal::bad("max_tokens must be at least 1"));
    }
    let temperature = req.temperature.unwrap_or(1.0);
    let top_p = req.top_p.unwrap_or(1.0);
    if !(temperature.is_finite() && temperature >= 0.0) {
        return Err(Refusal::bad("temperature must be a number ≥ 0"));
    }
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(Refusal::bad("top_p must be in (0, 1]"));
    }
    let stop = req.stop.map(|s| s.into_vec()).unwrap_or_default();
    if stop.iter().any(String::is_empty) {
        return Err(Refusal::bad("stop strings must not be empty"));
    }
    if stop.len() > 16 {
        return Err(Refusal::bad("at most 16 stop strings"));
    }
    let mut prompt_tokens = Vec::with_capacity(prompts.len());
    for p in &prompts {
        let tokens = count_tokens(p)
            .map_err(|e| Refusal::bad(format!("the prompt cannot be tokenized: {e}")))?
            + limits.bos;
        prompt_tokens.push(tokens);
        if tokens + max_tokens > limits.max_model_len {
            return Err(Refusal::bad(format!(
                "this model's maximum context length is {} tokens; the prompt has {tokens} and max_tokens asks for {max_tokens} more",
                limits.max_model_len
            )));
        }
    }
    let (mut params, k) = if req.use_beam_search == Some(true) {
        (GenParams::beam(width, max_tokens), width)
    } else if temperature == 0.0 {
        (GenParams::greedy(max_tokens), 1)
    } else {
        (GenParams::sample(n, temperature, top_p, max_tokens), n)
    };
    params.stop = stop;
    params.seed = req.seed.unwrap_or(0);
    if let Strategy::Beam = params.strategy {
        params.num_candidates = width;
    }
    Ok(Plan {
        prompts,
        prompt_tokens,
        n,
        k,
        params,
        logprobs: req.logprobs.is_some(),
    })
}

/// Which endpoint a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Completions,
    Chat,
}

/// An answer in the format of the endpoint asked.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Answer {
    Completion(CompletionResponse),
    Chat(ChatCompletionResponse),
}

async fn completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(state, headers, body, Endpoint::Completions).await
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(state, headers, body, Endpoint::Chat).await
}

async fn respond(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    endpoint: Endpoint,
) -> Response {
    state.counters.requests.fetch_add(1, Ordering::Relaxed);
    // A body over the limit, or one cut short, is answered as JSON like every other refusal
    // (axum's own answer is plain text).
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            state.counters.rejected.fetch_add(1, Ordering::Relaxed);
            let message = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the request body is larger than the limit of {BODY_LIMIT} bytes")
            } else {
                format!("cannot read the request body: {}", rejection.body_text())
            };
            return Refusal {
                status: rejection.status(),
                message,
            }
            .into_response();
        }
    };
    let answered = tokio::select! {
        a = answer(&state, &headers, &body, endpoint) => a,
        // The drain time after a shutdown signal is over: answer rather than be cut off.
        _ = state.give_up.cancelled() => Err(Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the server is shutting down; send the request again to another server \
                      or after it restarts"
                .into(),
        }),
    };
    match answered {
        Ok((r, engine)) => {
            let mut response = axum::Json(r).into_response();
            // The time the request spent queued and decoding, so that a client can tell what
            // the HTTP path (connection, JSON both ways, checks) adds to it.
            let ms = format!("{:.3}", engine.as_secs_f64() * 1e3);
            if let Ok(v) = HeaderValue::from_str(&ms) {
                response.headers_mut().insert(ENGINE_MS_HEADER, v);
            }
            response
        }
        Err(refusal) => {
            state.counters.rejected.fetch_add(1, Ordering::Relaxed);
            refusal.into_response()
        }
    }
}

/// The response header with a request's time in the queue and the model, in milliseconds.
pub const ENGINE_MS_HEADER: &str = "x-prover-engine-ms";

/// The answer to a completion or chat request, and the time it spent queued and decoding.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: Endpoint,
) -> Result<(Answer, std::time::Duration), Refusal> {
    state.authorize(headers)?;
    let req = match endpoint {
        Endpoint::Completions => serde_json::from_slice(body)
            .map_err(|e| Refusal::bad(format!("the body is not a completion request: {e}")))?,
        Endpoint::Chat => {
            let chat: ChatCompletionRequest = serde_json::from_slice(body)
                .map_err(|e| Refusal::bad(format!("the body is not a chat request: {e}")))?;
            let prompt = state.render_chat(&chat)?;
            chat.into_completion(prompt)
        }
    };
    let (response, engine) = complete(state, req).await?;
    let answer = match endpoint {
        Endpoint::Completions => Answer::Completion(response),
        Endpoint::Chat => Answer::Chat(ChatCompletionResponse::from_completion(response)),
    };
    Ok((answer, engine))
}

/// Decodes a checked completion request.
async fn complete(
    state: &AppState,
    req: CompletionRequest,
) -> Result<(CompletionResponse, std::time::Duration), Refusal> {
    let plan = state.plan(req)?;
    let queued = Instant::now();
    let mut answers = Vec::with_capacity(plan.prompts.len());
    for p in &plan.prompts {
        let (job, answer) = state.job(p, &plan);
        state.jobs.send(job).map_err(|_| Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the model thread has stopped".into(),
        })?;
        answers.push(answer);
    }
    let mut results = Vec::with_capacity(answers.len());
    for answer in answers {
        results.push(
            answer
                .await
                .map_err(|_| "the model thread dropped the request".to_string())
                .and_then(|r| r)
                .map_err(|message| Refusal {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message,
                })?,
        );
    }
    let engine = queued.elapsed();
    let mut choices = Vec::new();
    let mut usage = Usage::default();
    for (generations, tokens) in results.into_iter().zip(&plan.prompt_tokens) {
        usage.prompt_tokens += tokens;
        // Greedy makes one candidate; a request for n gets it n times, as other servers do.
        let picked: Vec<&Generation> = if plan.k == 1 {
            generations.iter().cycle().take(plan.n).collect()
        } else {
            generations.iter().take(plan.n).collect()
        };
        for g in picked {
            usage.completion_tokens += g.tokens;
            choices.push(Choice {
                index: choices.len(),
                text: g.text.clone(),
                logprobs: plan.logprobs.then(|| state.logprobs_of(g)),
                finish_reason: Some(
                    match g.finish {
                        causal_lm::FinishReason::Length => "length",
                        _ => "stop",
                    }
                    .into(),
                ),
            });
        }
    }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    let response = CompletionResponse {
        id: format!("cmpl-{}", state.next_id.fetch_add(1, Ordering::Relaxed)),
        object: "text_completion".into(),
        created: unix_now(),
        model: state.served_name.clone(),
        choices,
        usage: Some(usage),
    };
    Ok((response, engine))
}

async fn models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = state.authorize(&headers) {
        return r.into_response();
    }
    axum::Json(ModelList {
        object: "list".into(),
        data: vec![ModelCard {
            id: state.served_name.clone(),
            object: "model".into(),
            created: state.created,
            owned_by: "prover".into(),
        }],
    })
    .into_response()
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let c = &state.counters;
    axum::Json(serde_json::json!({
        "status": "ok",
        "model": state.served_name,
        "requests": c.requests.load(Ordering::Relaxed),
        "prompts": c.prompts.load(Ordering::Relaxed),
        "batches": c.batches.load(Ordering::Relaxed),
        "largest_batch": c.largest_batch.load(Ordering::Relaxed),
        "dropped_client_gone": c.dropped_gone.load(Ordering::Relaxed),
        "rejected": c.rejected.load(Ordering::Relaxed),
    }))
    .into_response()
}

/// The largest request body accepted, in bytes.
const BODY_LIMIT: usize = 4 << 20;

async fn method_not_allowed() -> Response {
    Refusal {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "method not allowed: /v1/completions and /v1/chat/completions take POST, \
                  /v1/models and /health take GET"
            .into(),
    }
    .into_response()
}

async fn not_found() -> Response {
    Refusal {
        status: StatusCode::NOT_FOUND,
        message: "no such route; this server has POST /v1/completions, POST \
                  /v1/chat/completions, GET /v1/models, GET /health"
            .into(),
    }
    .into_response()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The model thread: takes everything queued, drops what nobody waits for any more, decodes
/// each group of prompts with equal settings and prefix in one batch.
fn decode_loop(
    mut generator: Generator,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    prefixes: Vec<String>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch.max(1) {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let before = batch.len();
        batch.retain(|j| !j.reply.is_closed());
        counters
            .dropped_gone
            .fetch_add((before - batch.len()) as u64, Ordering::Relaxed);
        let mut groups: Vec<Vec<Job>> = Vec::new();
        for job in batch {
            match groups
                .iter_mut()
                .find(|g| g[0].params == job.params && g[0].prefix == job.prefix)
            {
                Some(g) => g.push(job),
                None => groups.push(vec![job]),
            }
        }
        for group in groups {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters
                .prompts
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            counters
                .largest_batch
                .fetch_max(group.len() as u64, Ordering::Relaxed);
            let result = (|| {
                match group[0].prefix {
                    Some(i) if generator.prefix_text() != Some(prefixes[i].as_str()) => {
                        generator.set_prefix(&prefixes[i])?
                    }
                    Some(_) => {}
                    None => generator.clear_prefix(),
                }
                let requests: Vec<GenRequest> = group
                    .iter()
                    .map(|j| GenRequest::with_candidates(j.prompt.clone(), j.k))
                    .collect();
                generator.generate(&requests, &group[0].params)
            })();
            match result {
                Ok(outs) => {
                    for (job, out) in group.into_iter().zip(outs) {
                        let _ = job.reply.send(Ok(out));
                    }
                }
                Err(e) => {
                    tracing::error!("generation failed: {e}");
                    for job in group {
                        let _ = job.reply.send(Err(format!("generation failed: {e}")));
                    }
                }
            }
        }
    }
}

/// A server bound to its address with its model loaded, not yet serving.
pub struct BoundServer {
    listener: tokio::net::TcpListener,
    app: Router,
    pub addr: SocketAddr,
    pub served_name: String,
    give_up: CancellationToken,
}

impl BoundServer {
    /// Serves until `cancel`, then drains: no new connection is accepted, the requests in
    /// flight are answered (those still waiting after `drain` with a 503), and it returns.
    pub async fn serve(self, cancel: CancellationToken, drain: std::time::Duration) -> Result<()> {
        let give_up = self.give_up.clone();
        let signalled = cancel.clone();
        tokio::spawn(async move {
            signalled.cancelled().await;
            tokio::time::sleep(drain).await;
            give_up.cancel();
        });
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await
            .context("the HTTP server failed")
    }
}

/// Binds the address (so a taken port fails before the model loads), loads the model and
/// starts the model thread.
pub async fn bind(args: &ServeArgs) -> Result<BoundServer> {
    let api_key = crate::model_load::api_key_from(args.api_key_env.as_deref())?;
    if args.max_n == 0 || args.max_batch == 0 {
        bail!("--max-n and --max-batch must be at least 1");
    }
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&(args.host.as_str(), args.port))
                .ok()
                .and_then(|mut a| a.next())
                .context("no such address")
        })
        .with_context(|| format!("--host {} --port {}", args.host, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let load_opts = crate::model_cli::load_options(args.dtype.as_deref(), &args.device)?;
    let spec = args.model.clone();
    let (dir, generator) = tokio::task::spawn_blocking(move || {
        let dir = causal_lm::loader::resolve(&ModelSource::parse(&spec), &load_opts.hub)
            .with_context(|| format!("loading the model {spec}"))?;
        let generator = Generator::load(&ModelSource::Dir(dir.clone()), &load_opts)
            .with_context(|| format!("loading the model {spec}"))?;
        anyhow::Ok((dir, generator))
    })
    .await
    .context("the model loading thread failed")??;
    let chat_template = match &args.chat_template {
        Some(path) => Some(ChatTemplate::from_file(path)?),
        None => ChatTemplate::from_checkpoint(&dir)?,
    };
    let config = generator.model().config();
    let max_model_len = args.max_model_len.unwrap_or(config.max_position_embeddings);
    let bos = usize::from(config.bos_token_id.is_some());
    let tokenizer = generator.tokenizer().clone();
    let counters = Arc::new(Counters::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let prefixes = known_prefixes();
    {
        let (prefixes, counters, max_batch) = (prefixes.clone(), counters.clone(), args.max_batch);
        std::thread::Builder::new()
            .name("model".into())
            .spawn(move || decode_loop(generator, rx, prefixes, max_batch, counters))
            .context("starting the model thread")?;
    }
    let served_name = args.served_model_name.clone().unwrap_or(args.model.clone());
    let give_up = CancellationToken::new();
    let state = Arc::new(AppState {
        served_name: served_name.clone(),
        api_key,
        tokenizer,
        bos,
        max_model_len,
        max_n: args.max_n,
        prefixes,
        chat_template,
        jobs: tx,
        counters,
        next_id: AtomicU64::new(0),
        created: unix_now(),
        give_up: give_up.clone(),
    });
    let app = Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state);
    Ok(BoundServer {
        listener,
        app,
        addr: local,
        served_name,
        give_up,
    })
}

/// Runs the server until Ctrl-C. Prints `listening on http://HOST:PORT` once it accepts.
pub async fn run(args: ServeArgs, cancel: CancellationToken) -> Result<bool> {
    let server = bind(&args).await?;
    println!("listening on http://{}", server.addr);
    eprintln!(
        "serving {} as {:?} at http://{}/v1 (batches of up to {} prompts)",
        args.model, server.served_name, server.addr, args.max_batch
    );
    if !(args.drain_timeout >= 0.0 && args.drain_timeout.is_finite()) {
        bail!("--drain-timeout must be a number of seconds, 0 or more");
    }
    let drain = std::time::Duration::from_secs_f64(args.drain_timeout);
    let stopping = cancel.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        eprintln!("shutting down: finishing the requests in flight (at most {drain:?})");
    });
    server.serve(cancel, drain).await?;
    eprintln!("stopped");
    Ok(true)
}
