//! The InternLM2-Math model as the search's tactic policy, and the prompts of the model card.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use search::{Candidate, Policy, PolicyError, PolicyErrorKind, PolicyRequest};

use internlm2::{GenParams, GenRequest, Generation, Generator, ModelSource};

use crate::remote::{RemoteModel, RemoteOpts};

/// The chat template of the chat checkpoints (no system prompt).
pub fn chat(prompt: &str) -> String {
    format!("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n")
}

/// The model card's prompts, word for word (the misspelling "langauge" is the model's own
/// training prompt).
pub mod prompts {
    pub const NEXT_TACTIC: &str = "Given the Lean 3 tactic state, suggest a next tactic:\n";
    pub const FORMALIZE: &str =
        "Convert this natural langauge statement into a Lean 3 theorem statement:";
    pub const INFORMALIZE: &str = "Convert this Lean 3 theorem statement into natural language:";

    /// Natural language → a Lean 3 statement.
    pub fn formalize(informal: &str) -> String {
        format!("{FORMALIZE}{informal}")
    }

    /// A Lean 3 statement (`theorem name binders : goal`) → natural language.
    pub fn informalize(statement: &str) -> String {
        format!("{INFORMALIZE}{statement}")
    }
}

/// Three worked examples in the layout of InternLM-Math's MiniF2F search script for the base
/// checkpoints (a Lean 4 evaluation with Lean 4 examples). Ours are Lean 3 (core Lean and
/// mathlib-style steps), not MiniF2F problems.
pub const FEWSHOT_EXAMPLES: &str = "Tactic state:\n---\np q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q\n---\nNext tactic:\n---\nexact ⟨hp, hq⟩\n---\n\n\
Tactic state:\n---\nx : ℝ,\nh₀ : 2 * x + 3 = 7\n⊢ x = 2\n---\nNext tactic:\n---\nlinarith\n---\n\n\
Tactic state:\n---\nn : ℕ\n⊢ n + 0 = n\n---\nNext tactic:\n---\nsimp\n---\n\n";

/// How the tactic prompt is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PromptStyle {
    /// The chat template around the model card's "suggest a next tactic" prompt (chat
    /// checkpoints: internlm2-math-7b/-20b).
    Chat,
    /// Three worked examples then `Tactic state:\n---\n{state}\n---\nNext tactic:\n---\n`,
    /// stopping at `---` or a newline (base checkpoints).
    Fewshot,
}

impl PromptStyle {
    /// The default for a checkpoint: few-shot for `-base` checkpoints and for tokenizers
    /// without the chat tokens, chat otherwise.
    pub fn default_for(source: &str, has_chat_tokens: bool) -> Self {
        if source.to_ascii_lowercase().contains("base") || !has_chat_tokens {
            PromptStyle::Fewshot
        } else {
            PromptStyle::Chat
        }
    }

    /// The part shared by every request (computed once, its KV cache reused).
    pub fn shared_prefix(self) -> String {
        match self {
            PromptStyle::Chat => format!("<|im_start|>user\n{}", prompts::NEXT_TACTIC),
            PromptStyle::Fewshot => FEWSHOT_EXAMPLES.to_string(),
        }
    }

    /// What follows the shared prefix for a state.
    pub fn request(self, state: &str) -> String {
        match self {
            PromptStyle::Chat => format!("{state}<|im_end|>\n<|im_start|>assistant\n"),
            PromptStyle::Fewshot => {
                format!("Tactic state:\n---\n{state}\n---\nNext tactic:\n---\n")
            }
        }
    }

    /// The full prompt for a state (prefix + request).
    pub fn prompt(self, state: &str) -> String {
        format!("{}{}", self.shared_prefix(), self.request(state))
    }

    pub fn stop_strings(self) -> Vec<String> {
        match self {
            PromptStyle::Chat => vec!["<|im_end|>".into()],
            PromptStyle::Fewshot => vec!["---".into(), "\n".into()],
        }
    }
}

/// Model options shared by every command that runs the model.
#[derive(Args, Clone, Debug)]
pub struct ModelOpts {
    /// The checkpoint: a local directory (config.json, tokenizer, *.safetensors or
    /// pytorch_model-*.bin) or a Hugging Face hub id (internlm/internlm2-math-7b).
    #[arg(long, value_name = "DIR|ID", conflicts_with = "endpoint")]
    pub model: Option<String>,

    /// Ask an OpenAI-compatible completions server for candidates instead of loading a model
    /// here: `prover serve`, vLLM, SGLang, LMDeploy or llama.cpp's server, e.g.
    /// http://gpu-host:8000 (the /v1 suffix is optional).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// The model name on the server (default: the one model it serves).
    #[arg(long, value_name = "NAME", requires = "endpoint")]
    pub served_model: Option<String>,

    /// An environment variable holding the server's API key (sent as a bearer token).
    #[arg(long, value_name = "VAR", requires = "endpoint")]
    pub api_key_env: Option<String>,

    /// Most requests in flight to the server at once (it batches what arrives together).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_inflight: usize,

    /// Seconds a request to the server may take before it counts as lost and is retried.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub request_timeout: f64,

    /// Retries of a request to the server that failed in a way that may pass (refused
    /// connection, timeout, 429, 5xx, a garbled answer), waiting 0.25 s, 0.5 s, 1 s, …
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub retries: u32,

    /// Prompt style (default: fewshot for -base checkpoints, chat otherwise).
    #[arg(long, value_enum)]
    pub prompt: Option<PromptStyle>,

    /// Weights' type (default: bf16 on GPU, f32 on CPU).
    #[arg(long, value_name = "f32|f16|bf16")]
    pub dtype: Option<String>,

    /// cpu, cuda[:N] or metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Sample candidates at this temperature instead of beam search.
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,

    /// Nucleus sampling threshold (with --temperature).
    #[arg(long, value_name = "P", default_value_t = 0.95)]
    pub top_p: f64,

    /// Most tokens per generation (default: 96 for a tactic, 256 for a statement or its
    /// reading).
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<usize>,
}

impl Default for ModelOpts {
    /// The command-line defaults, without a model.
    fn default() -> Self {
        ModelOpts {
            model: None,
            endpoint: None,
            served_model: None,
            api_key_env: None,
            max_inflight: 32,
            request_timeout: 120.0,
            retries: 4,
            prompt: None,
            dtype: None,
            device: "cpu".into(),
            temperature: None,
            top_p: 0.95,
            max_tokens: None,
        }
    }
}

impl ModelOpts {
    /// Whether a model was given, here (`--model`) or behind a server (`--endpoint`).
    pub fn given(&self) -> bool {
        self.model.is_some() || self.endpoint.is_some()
    }

    /// Loads the model (on a blocking thread) or connects to its server; `None` when neither
    /// `--model` nor `--endpoint` was given.
    pub async fn load(&self) -> Result<Option<LoadedModel>> {
        if let Some(url) = &self.endpoint {
            return self.connect(url).await.map(Some);
        }
        let opts = self.clone();
        tokio::task::spawn_blocking(move || opts.load_local())
            .await
            .context("the model loading thread failed")?
    }

    async fn connect(&self, url: &str) -> Result<LoadedModel> {
        let api_key = api_key_from(self.api_key_env.as_deref())?;
        if !(self.request_timeout.is_finite() && self.request_timeout > 0.0) {
            anyhow::bail!("--request-timeout must be a positive number of seconds");
        }
        let remote = RemoteModel::connect(&RemoteOpts {
            endpoint: url.to_string(),
            served_model: self.served_model.clone(),
            api_key,
            max_inflight: self.max_inflight.max(1),
            timeout: std::time::Duration::from_secs_f64(self.request_timeout),
            retries: self.retries,
        })
        .await?;
        let name = remote.model_name().to_string();
        // The server's tokenizer is out of sight: the name decides (chat unless "base").
        let style = self
            .prompt
            .unwrap_or_else(|| PromptStyle::default_for(&name, true));
        Ok(LoadedModel {
            engine: Engine::Remote(Arc::new(remote)),
            style,
            name,
        })
    }

    fn load_local(&self) -> Result<Option<LoadedModel>> {
        let Some(spec) = &self.model else {
            return Ok(None);
        };
        let opts = crate::model_cli::load_options(self.dtype.as_deref(), &self.device)?;
        let source = ModelSource::parse(spec);
        let generator =
            Generator::load(&source, &opts).with_context(|| format!("loading the model {spec}"))?;
        let has_chat = generator.tokenizer().token_to_id("<|im_start|>").is_some();
        let style = self
            .prompt
            .unwrap_or_else(|| PromptStyle::default_for(spec, has_chat));
        Ok(Some(LoadedModel {
            engine: Engine::Local(Arc::new(Mutex::new(generator))),
            style,
            name: spec.clone(),
        }))
    }

    /// Generation settings for `k` tactic candidates.
    pub fn params(&self, k: usize, stop: Vec<String>) -> GenParams {
        self.params_with(k, stop, 96)
    }

    /// Generation settings for `k` candidates, with `max_tokens` unless `--max-tokens` says.
    pub fn params_with(&self, k: usize, stop: Vec<String>, max_tokens: usize) -> GenParams {
        let max_tokens = self.max_tokens.unwrap_or(max_tokens);
        let mut p = match self.temperature {
            Some(t) => GenParams::sample(k, t, self.top_p, max_tokens),
            None => GenParams::beam(k, max_tokens),
        };
        p.stop = stop;
        p
    }
}

/// The API key in the environment variable `--api-key-env` names (client and server alike).
pub fn api_key_from(var: Option<&str>) -> Result<Option<String>> {
    var.map(|var| {
        std::env::var(var).map_err(|_| {
            anyhow::anyhow!("--api-key-env {var}: the environment variable {var} is not set")
        })
    })
    .transpose()
}

/// Where generation runs.
#[derive(Clone)]
pub enum Engine {
    /// In this process, one batch at a time.
    Local(Arc<Mutex<Generator>>),
    /// On an OpenAI-compatible server, many requests in flight.
    Remote(Arc<RemoteModel>),
}

/// A loaded (or connected) model, shareable between tasks.
#[derive(Clone)]
pub struct LoadedModel {
    pub engine: Engine,
    pub style: PromptStyle,
    pub name: String,
}

impl LoadedModel {
    /// A model-card prompt as this checkpoint takes it: in the chat template for chat
    /// checkpoints, as is for base ones.
    pub fn wrap(&self, prompt: &str) -> String {
        match self.style {
            PromptStyle::Chat => chat(prompt),
            PromptStyle::Fewshot => format!("{prompt}\n"),
        }
    }

    /// Where a free-text answer to [`Self::wrap`] ends.
    pub fn answer_stops(&self) -> Vec<String> {
        match self.style {
            PromptStyle::Chat => vec!["<|im_end|>".into()],
            PromptStyle::Fewshot => vec!["\n\n".into()],
        }
    }

    /// Generates for full prompts (no shared prefix) on a blocking thread, or on the server.
    pub async fn generate(
        &self,
        prompts: Vec<String>,
        params: GenParams,
    ) -> Result<Vec<Vec<Generation>>> {
        let generator = match &self.engine {
            Engine::Local(g) => g.clone(),
            Engine::Remote(remote) => {
                let k = params.num_candidates;
                let requests: Vec<(String, usize)> = prompts.into_iter().map(|p| (p, k)).collect();
                return Ok(remote.generate(&requests, &params).await?);
            }
        };
        tokio::task::spawn_blocking(move || {
            let mut g = generator.lock().unwrap_or_else(|e| e.into_inner());
            g.clear_prefix();
            let requests: Vec<GenRequest> = prompts.into_iter().map(GenRequest::new).collect();
            g.generate(&requests, &params)
        })
        .await
        .context("the generation thread failed")?
        .map_err(anyhow::Error::from)
    }
}

/// Cleans a generated tactic: trims it, drops code fences, a `begin`/`end` wrapper and
/// trailing commas. `None` when nothing is left.
pub fn clean_tactic(text: &str) -> Option<String> {
    let mut t = text.trim();
    for fence in ["```lean", "```"] {
        t = t.strip_prefix(fence).unwrap_or(t).trim();
        t = t.strip_suffix("```").unwrap_or(t).trim();
    }
    if let Some(inner) = t.strip_prefix("begin")
        && (inner.starts_with(char::is_whitespace) || inner.is_empty())
    {
        t = inner.trim();
        t = t.strip_suffix("end").unwrap_or(t).trim();
    }
    let t = t.trim_end_matches([',', ';']).trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A generation that did not become a candidate, and why (shown by `prover suggest`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Dropped {
    pub text: String,
    pub logprob_norm: f64,
    pub reason: String,
}

/// Turns generations into ranked candidates: cleaned, refused text dropped before it reaches
/// Lean, duplicates merged (keeping the best score), best first. Also returns what was
/// dropped.
pub fn candidates_from(generations: &[Generation]) -> (Vec<Candidate>, Vec<Dropped>) {
    let mut out: Vec<Candidate> = Vec::new();
    let mut dropped = Vec::new();
    for g in generations {
        let drop = |reason: String| Dropped {
            text: g.text.clone(),
            logprob_norm: g.logprob_norm,
            reason,
        };
        let Some(tactic) = clean_tactic(&g.text) else {
            dropped.push(drop("empty".into()));
            continue;
        };
        if let Err(refusal) = lean_bridge::screen::screen(&tactic) {
            dropped.push(drop(refusal.to_string()));
            continue;
        }
        match out.iter_mut().find(|c| c.tactic == tactic) {
            Some(c) if c.score < g.logprob_norm => {
                c.score = g.logprob_norm;
                c.logprob = g.logprob;
            }
            Some(_) => {}
            None => out.push(Candidate {
                tactic,
                logprob: g.logprob,
                score: g.logprob_norm,
            }),
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    (out, dropped)
}

/// The model as a tactic policy. One `propose` call is one batched generation (the search's
/// `BatchingPolicy` merges the requests of concurrent searches into it); the shared prompt
/// prefix is computed once and reused.
pub struct ModelPolicy {
    model: LoadedModel,
    opts: ModelOpts,
    /// What the last `propose` call dropped before Lean.
    last_dropped: Mutex<Vec<Dropped>>,
}

impl ModelPolicy {
    pub fn new(model: LoadedModel, opts: ModelOpts) -> Result<Self> {
        if let Engine::Local(generator) = &model.engine {
            let mut g = generator.lock().unwrap_or_else(|e| e.into_inner());
            g.set_prefix(&model.style.shared_prefix())
                .context("computing the shared prompt prefix")?;
        }
        Ok(ModelPolicy {
            model,
            opts,
            last_dropped: Mutex::new(Vec::new()),
        })
    }

    /// The generations the last `propose` call dropped before Lean (empty or refused text).
    pub fn take_dropped(&self) -> Vec<Dropped> {
        std::mem::take(&mut *self.last_dropped.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The model's generation thread ended without an answer (it panicked or was cancelled).
#[derive(Debug, thiserror::Error)]
#[error("generation thread: {0}")]
struct GenerationThreadFailed(#[source] tokio::task::JoinError);

impl Policy for ModelPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        let style = self.model.style;
        let k = requests.iter().map(|r| r.k).max().unwrap_or(1).max(1);
        let params = self.opts.params(k, style.stop_strings());
        let started = Instant::now();
        let generations = match &self.model.engine {
            Engine::Local(generator) => {
                let gen_requests: Vec<GenRequest> = requests
                    .iter()
                    .map(|r| GenRequest::with_candidates(style.request(&r.goals), r.k.max(1)))
                    .collect();
                let generator = generator.clone();
                tokio::task::spawn_blocking(move || {
                    let mut g = generator.lock().unwrap_or_else(|e| e.into_inner());
                    // Another user of the same model (formalize) may have changed the prefix.
                    let prefix = style.shared_prefix();
                    if g.prefix_text() != Some(prefix.as_str()) {
                        g.set_prefix(&prefix)?;
                    }
                    g.generate(&gen_requests, &params)
                })
                .await
                .map_err(|e| PolicyError::new(PolicyErrorKind::Failed, GenerationThreadFailed(e)))?
                .map_err(|e| PolicyError::new(PolicyErrorKind::Failed, e))?
            }
            Engine::Remote(remote) => {
                // The whole prompt: the server finds the shared prefix in it.
                let prompts: Vec<(String, usize)> = requests
                    .iter()
                    .map(|r| (style.prompt(&r.goals), r.k.max(1)))
                    .collect();
                remote.generate(&prompts, &params).await.map_err(|e| {
                    let kind = if e.kind.is_transient() {
                        PolicyErrorKind::Unavailable
                    } else {
                        PolicyErrorKind::Failed
                    };
                    PolicyError::new(kind, e)
                })?
            }
        };
        tracing::debug!(
            batch = requests.len(),
            secs = started.elapsed().as_secs_f64(),
            "model batch"
        );
        let mut all_dropped = Vec::new();
        let out = requests
            .iter()
            .zip(generations)
            .map(|(r, gens)| {
                let (mut c, dropped) = candidates_from(&gens);
                all_dropped.extend(dropped);
                c.truncate(r.k.max(1));
                c
            })
            .collect();
        *self.last_dropped.lock().unwrap_or_else(|e| e.into_inner()) = all_dropped;
        Ok(out)
    }
}
