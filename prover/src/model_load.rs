//! Loading the model for every command: `ModelOpts` (the command-line options), a checkpoint
//! in this process or a server behind `--endpoint`, and the API key helper `serve` shares.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use causal_lm::chat_template::ChatTemplate;
use causal_lm::{GenParams, GenRequest, Generation, Generator, ModelSource};
use clap::Args;

use crate::prompts::{PromptStyle, TacticPrompt, chat};
use crate::remote::{Api, RemoteModel, RemoteOpts};

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

    /// The server's API the prompts go to: completions (the prompt as written) or chat (the
    /// prompt as the one user message, in the server's chat template; for servers and hosted
    /// APIs that speak only chat). Candidates are scored from the returned token
    /// log-probabilities either way.
    #[arg(long, value_enum, default_value_t = Api::Completions, requires = "endpoint")]
    pub api: Api,

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

    /// The tactic prompt: a built-in (chat: the model card's, in InternLM2's chat template;
    /// fewshot: three worked examples, for base checkpoints; gptf: `[GOAL]{state}[PROOFSTEP]`;
    /// state: the bare state) or a template file whose text is sent as written with
    /// {state}, {name}, {statement} and {proof} (the tactics so far) filled in. Default:
    /// fewshot for checkpoints named "base" or without chat tokens, chat otherwise (a guess
    /// from the name).
    #[arg(long, value_name = "NAME|FILE")]
    pub prompt: Option<String>,

    /// Where a tactic ends (repeatable): replaces the prompt's own stop strings (a built-in
    /// brings its own; a template file's is a newline). Cut by the client too, whatever the
    /// server does with them.
    #[arg(long, value_name = "STR")]
    pub stop: Vec<String>,

    /// Send the tactic prompt inside a chat template, as one user message followed by the
    /// assistant's turn: `checkpoint` (the model's own, from its tokenizer_config.json or
    /// chat_template.jinja; with --model) or a template file (.jinja, or a
    /// tokenizer_config.json). Rendered as transformers' apply_chat_template renders it.
    #[arg(long, value_name = "checkpoint|FILE")]
    pub chat_template: Option<String>,

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
            api: Api::Completions,
            max_inflight: 32,
            request_timeout: 120.0,
            retries: 4,
            prompt: None,
            stop: Vec::new(),
            chat_template: None,
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
            api: self.api,
        })
        .await?;
        let name = remote.model_name().to_string();
        // The server's tokenizer is out of sight: the name decides (chat unless "base").
        let (style, tactic) = self.prompts(&name, true)?;
        let tactic = self.wrap_in_chat_template(tactic, None)?;
        Ok(LoadedModel {
            engine: Engine::Remote(Arc::new(remote)),
            style,
            tactic,
            name,
        })
    }

    fn load_local(&self) -> Result<Option<LoadedModel>> {
        let Some(spec) = &self.model else {
            return Ok(None);
        };
        let opts = crate::model_cli::load_options(self.dtype.as_deref(), &self.device)?;
        let source = ModelSource::parse(spec);
        let dir = causal_lm::loader::resolve(&source, &opts.hub)
            .with_context(|| format!("loading the model {spec}"))?;
        let generator = Generator::load(&ModelSource::Dir(dir.clone()), &opts)
            .with_context(|| format!("loading the model {spec}"))?;
        let has_chat = generator.tokenizer().token_to_id("<|im_start|>").is_some();
        let (style, tactic) = self.prompts(spec, has_chat)?;
        let tactic = self.wrap_in_chat_template(tactic, Some(&dir))?;
        Ok(Some(LoadedModel {
            engine: Engine::Local(Arc::new(Mutex::new(generator))),
            style,
            tactic,
            name: spec.clone(),
        }))
    }

    /// The model card's prompt style and the tactic prompt for a checkpoint: `--prompt` and
    /// `--stop` where given, else the guess from its name and tokenizer.
    pub fn prompts(
        &self,
        name: &str,
        has_chat_tokens: bool,
    ) -> Result<(PromptStyle, TacticPrompt)> {
        let guess = PromptStyle::default_for(name, has_chat_tokens);
        let tactic = match &self.prompt {
            Some(spec) => TacticPrompt::parse(spec)?,
            None => TacticPrompt::builtin(guess.tactic_prompt_name()).expect("a built-in"),
        };
        let style = match tactic.name.as_str() {
            "chat" => PromptStyle::Chat,
            "fewshot" => PromptStyle::Fewshot,
            _ => guess,
        };
        let tactic = if self.stop.is_empty() {
            tactic
        } else {
            if self.stop.iter().any(String::is_empty) {
                anyhow::bail!("--stop: a stop string must not be empty");
            }
            tactic.with_stop(self.stop.clone())
        };
        Ok((style, tactic))
    }

    /// The tactic prompt in the chat template `--chat-template` names, if any; `checkpoint`
    /// is the one in `checkpoint_dir` (a local model's directory).
    pub fn wrap_in_chat_template(
        &self,
        tactic: TacticPrompt,
        checkpoint_dir: Option<&std::path::Path>,
    ) -> Result<TacticPrompt> {
        let Some(spec) = &self.chat_template else {
            return Ok(tactic);
        };
        if self.api == Api::Chat {
            anyhow::bail!(
                "--chat-template with --api chat would wrap the prompt twice: the server applies \
                 its own chat template to chat requests"
            );
        }
        let template = if spec == "checkpoint" {
            let Some(dir) = checkpoint_dir else {
                anyhow::bail!(
                    "--chat-template checkpoint needs --model (a server applies its own template \
                     with --api chat; or name a template file)"
                );
            };
            ChatTemplate::from_checkpoint(dir)?.with_context(|| {
                format!(
                    "--chat-template checkpoint: {} defines no chat template (no chat_template \
                     in tokenizer_config.json, no chat_template.jinja)",
                    dir.display()
                )
            })?
        } else {
            let path = std::path::Path::new(spec);
            if !path.is_file() {
                anyhow::bail!("--chat-template {spec}: neither `checkpoint` nor a file");
            }
            ChatTemplate::from_file(path)?
        };
        tactic
            .with_chat_template(std::sync::Arc::new(template))
            .with_context(|| format!("--chat-template {spec}"))
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
    /// How the model card's prompts (formalization) are wrapped.
    pub style: PromptStyle,
    /// The tactic prompt and its stop strings.
    pub tactic: TacticPrompt,
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
