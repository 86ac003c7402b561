//! The model behind an OpenAI-compatible completions server (`--endpoint`): the same prompts
//! the local engine gets, one request per prompt (the server batches what arrives together),
//! and candidates scored from the returned token log-probabilities as the local engine scores
//! them (summed, and divided by the number of tokens).

use std::time::Duration;

use anyhow::{Result, bail};
use causal_lm::{FinishReason, GenParams, Generation, Strategy};
use openai_api::{
    ApiError, ApiErrorKind, ChatCompletionRequest, ClientConfig, CompletionRequest,
    CompletionResponse, CompletionsClient, OneOrMany,
};

/// Which API of the server the prompts go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// `/v1/completions`: the prompt is sent as written.
    #[default]
    Completions,
    /// `/v1/chat/completions`: the prompt is the one user message; the server wraps it in the
    /// model's chat template (for servers and hosted APIs that speak only chat).
    Chat,
}

/// Where the server is and how to talk to it (from the command line).
#[derive(Clone, Debug)]
pub struct RemoteOpts {
    pub endpoint: String,
    pub served_model: Option<String>,
    pub api_key: Option<String>,
    pub max_inflight: usize,
    pub timeout: Duration,
    pub retries: u32,
    pub api: Api,
}

/// How the server gives several candidates for one prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    /// vLLM's `use_beam_search` (and `prover serve`'s): the beam search the local engine runs.
    Beam,
    /// `n` samples per request.
    Samples,
    /// One completion per request (llama.cpp's server ignores `n`): `n` requests, each its
    /// own seed.
    OnePerRequest,
}

/// A connected server and the model it serves.
pub struct RemoteModel {
    client: CompletionsClient,
    model: String,
    decoding: Decoding,
    api: Api,
}

impl RemoteModel {
    /// Connects, checks the model name and asks how the server decodes. An unreachable server or
    /// an unknown model is one error naming the address and what the server said.
    pub async fn connect(opts: &RemoteOpts) -> Result<Self> {
        let mut config = ClientConfig::new(&opts.endpoint);
        config.api_key = opts.api_key.clone();
        config.max_inflight = opts.max_inflight;
        config.timeout = opts.timeout;
        config.retries = opts.retries;
        let client =
            CompletionsClient::new(config).map_err(|e| anyhow::anyhow!("--endpoint {e}"))?;
        let models = match client.models().await {
            Ok(m) => m,
            Err(e) => match e.kind {
                ApiErrorKind::Unreachable | ApiErrorKind::Timeout => {
                    bail!("cannot reach the model server at {}: {}", e.url, e.message)
                }
                _ => bail!("the model server at {} answered: {}", e.url, e.message),
            },
        };
        let served: Vec<String> = models.data.iter().map(|m| m.id.clone()).collect();
        let model = match &opts.served_model {
            Some(name) if served.iter().any(|s| s == name) => name.clone(),
            Some(name) => bail!(
                "the model server at {} does not serve the model {name:?} (it serves: {})",
                client.api_base(),
                served.join(", ")
            ),
            None => match served.as_slice() {
                [one] => one.clone(),
                [] => bail!("the model server at {} serves no model", client.api_base()),
                many => bail!(
                    "the model server at {} serves several models ({}); choose one with --served-model",
                    client.api_base(),
                    many.join(", ")
                ),
            },
        };
        let mut remote = RemoteModel {
            client,
            model,
            decoding: Decoding::Beam,
            api: opts.api,
        };
        remote.decoding = remote.probe_decoding().await?;
        Ok(remote)
    }

    pub fn model_name(&self) -> &str {
        &self.model
    }

    pub fn decoding(&self) -> Decoding {
        self.decoding
    }

    pub fn api_base(&self) -> &str {
        self.client.api_base()
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// One completion request through the API in use (a chat request's answer read back as
    /// a completion's: the message as the text, its tokens' log-probabilities).
    pub async fn complete(&self, r: &CompletionRequest) -> Result<CompletionResponse, ApiError> {
        match self.api {
            Api::Completions => self.client.complete(r).await,
            Api::Chat => {
                let chat = ChatCompletionRequest::from_completion(r)
                    .expect("the remote model sends one prompt per request");
                Ok(self.client.chat(&chat).await?.into_completion())
            }
        }
    }

    /// Asks for two beams of one token, then for two samples: what comes back says whether the
    /// server runs beam search and honours `n`.
    async fn probe_decoding(&self) -> Result<Decoding> {
        let mut beam = CompletionRequest::new(&self.model, "1");
        beam.max_tokens = Some(1);
        beam.n = Some(2);
        beam.best_of = Some(2);
        beam.temperature = Some(0.0);
        beam.use_beam_search = Some(true);
        match self.complete(&beam).await {
            Ok(r) if r.choices.len() == 2 => return Ok(Decoding::Beam),
            Ok(_) => {}
            Err(e)
                if e.kind == ApiErrorKind::Status(400) || e.kind == ApiErrorKind::Status(422) => {}
            Err(e) => bail!("the model server at {} answered: {}", e.url, e.message),
        }
        let mut sample = CompletionRequest::new(&self.model, "1");
        sample.max_tokens = Some(1);
        sample.n = Some(2);
        sample.temperature = Some(1.0);
        let decoding = match self.complete(&sample).await {
            Ok(r) if r.choices.len() == 2 => Decoding::Samples,
            Ok(_) => Decoding::OnePerRequest,
            Err(e) => bail!("the model server at {} answered: {}", e.url, e.message),
        };
        tracing::warn!(
            "the model server at {} has no beam search; candidates are samples",
            self.api_base()
        );
        Ok(decoding)
    }

    /// The requests that ask for `k` candidates of `prompt` with `params`.
    pub fn requests_for(
        &self,
        prompt: &str,
        k: usize,
        params: &GenParams,
    ) -> Vec<CompletionRequest> {
        let mut r = CompletionRequest::new(&self.model, prompt);
        r.max_tokens = Some(params.max_new_tokens);
        r.logprobs = Some(0);
        if !params.stop.is_empty() {
            r.stop = Some(OneOrMany::Many(params.stop.clone()));
        }
        let k = match params.strategy {
            Strategy::Greedy => 1,
            _ => k.max(1),
        };
        match (params.strategy, self.decoding) {
            (Strategy::Greedy, _) => {
                r.n = Some(1);
                r.temperature = Some(0.0);
            }
            (Strategy::Beam, Decoding::Beam) => {
                r.n = Some(k);
                r.best_of = Some(k);
                r.temperature = Some(0.0);
                r.use_beam_search = Some(true);
            }
            (
                Strategy::Sample {
                    temperature, top_p, ..
                },
                _,
            ) => {
                r.n = Some(k);
                r.temperature = Some(temperature);
                r.top_p = Some(top_p);
                r.seed = Some(params.seed);
            }
            // No beam search there: samples at the model's own temperature.
            (Strategy::Beam, _) => {
                r.n = Some(k);
                r.temperature = Some(1.0);
                r.seed = Some(params.seed);
            }
        }
        if self.decoding == Decoding::OnePerRequest {
            // llama.cpp's server (the one we know that ignores `n`) samples with a repeat
            // penalty, top-k and min-p of its own unless told otherwise: the model's plain
            // distribution is what the other servers and the local engine use.
            for (key, value) in [
                ("repeat_penalty", serde_json::json!(1.0)),
                ("top_k", serde_json::json!(0)),
                ("min_p", serde_json::json!(0.0)),
            ] {
                r.extra.insert(key.into(), value);
            }
            if r.top_p.is_none() {
                r.top_p = Some(1.0);
            }
        }
        if self.decoding == Decoding::OnePerRequest && k > 1 && r.use_beam_search.is_none() {
            let seed = r.seed.unwrap_or(0);
            return (0..k as u64)
                .map(|i| CompletionRequest {
                    n: Some(1),
                    seed: Some(seed.wrapping_add(i)),
                    ..r.clone()
                })
                .collect();
        }
        vec![r]
    }

    /// For each `(prompt, k)`, up to `k` distinct candidates, best summed log-probability first
    /// (the order the local engine returns). The requests go out together.
    pub async fn generate(
        &self,
        requests: &[(String, usize)],
        params: &GenParams,
    ) -> Result<Vec<Vec<Generation>>, ApiError> {
        self.generate_each(requests, params)
            .await
            .into_iter()
            .collect()
    }

    /// [`Self::generate`] with each prompt's own result: one prompt's failure (after its
    /// retries) leaves the others' answers standing.
    pub async fn generate_each(
        &self,
        requests: &[(String, usize)],
        params: &GenParams,
    ) -> Vec<Result<Vec<Generation>, ApiError>> {
        let calls = requests.iter().map(|(prompt, k)| async move {
            let parts = self.requests_for(prompt, *k, params);
            let answers =
                futures::future::try_join_all(parts.iter().map(|r| self.complete(r))).await?;
            let mut gens: Vec<Generation> = answers
                .iter()
                .flat_map(|a| generations_from(a, &params.stop))
                .collect();
            gens.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
            let mut seen = std::collections::HashSet::new();
            gens.retain(|g| seen.insert(g.text.clone()));
            gens.truncate(*k.max(&1));
            Ok::<_, ApiError>(gens)
        });
        futures::future::join_all(calls).await
    }
}

/// The candidates of one answer, scored like the local engine's: the summed log-probability
/// of the generated tokens, and that sum per token. A server that returns no log-probabilities
/// leaves every score 0 (its own order is kept).
///
/// Stop strings are honoured here whatever the server did with them (vLLM's beam search
/// ignores `stop`, vLLM #9253): a completion is cut where the first stop string begins, and
/// scored on the tokens up to the one that completed it, as the local engine scores a
/// candidate that stopped there.
pub fn generations_from(response: &CompletionResponse, stop: &[String]) -> Vec<Generation> {
    response
        .choices
        .iter()
        .map(|c| {
            // Summed in f64 as the server sent them; kept per token as the engine keeps them.
            let mut kept: Vec<f64> = c
                .logprobs
                .as_ref()
                .map(|l| l.token_logprobs.iter().flatten().copied().collect())
                .unwrap_or_default();
            let mut text = c.text.clone();
            let mut finish = match c.finish_reason.as_deref() {
                Some("length") => FinishReason::Length,
                _ => FinishReason::Stop,
            };
            if let Some((cut, end)) = first_stop(&text, stop) {
                text.truncate(cut);
                finish = FinishReason::Stop;
                if let Some(l) = &c.logprobs
                    && let Some(n) = tokens_through(&l.tokens, &c.text, end)
                {
                    kept = l.token_logprobs.iter().take(n).flatten().copied().collect();
                }
            }
            let logprob: f64 = kept.iter().sum();
            let token_logprobs: Vec<f32> = kept.iter().map(|&x| x as f32).collect();
            let tokens = token_logprobs.len();
            Generation {
                text,
                logprob,
                logprob_norm: logprob / tokens.max(1) as f64,
                tokens,
                finish,
                token_ids: Vec::new(),
                token_logprobs,
            }
        })
        .collect()
}

/// Where the first stop string in `text` begins, and where the earliest-ending one ends (the
/// point at which the local engine would have stopped generating).
fn first_stop(text: &str, stop: &[String]) -> Option<(usize, usize)> {
    let found: Vec<(usize, usize)> = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, at + s.len())))
        .collect();
    let cut = found.iter().map(|&(at, _)| at).min()?;
    let end = found.iter().map(|&(_, end)| end).min()?;
    Some((cut, end))
}

/// How many of `tokens` (the completion's token texts, in order) it takes to reach byte `end`
/// of `text`; `None` when the tokens do not spell the text (a server that reports bytes, or
/// none), and the whole answer's tokens are kept.
fn tokens_through(tokens: &[String], text: &str, end: usize) -> Option<usize> {
    if tokens.is_empty() || tokens.concat() != text {
        return None;
    }
    let mut at = 0;
    for (i, t) in tokens.iter().enumerate() {
        at += t.len();
        if at >= end {
            return Some(i + 1);
        }
    }
    Some(tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openai_api::{Choice, LogProbs};

    #[test]
    fn scores_are_the_summed_and_per_token_log_probabilities() {
        let choice = |text: &str, lps: &[f64], finish: &str| Choice {
            index: 0,
            text: text.into(),
            logprobs: Some(LogProbs {
                tokens: lps.iter().map(|_| "t".to_string()).collect(),
                token_logprobs: lps.iter().map(|&x| Some(x)).collect(),
                ..LogProbs::default()
            }),
            finish_reason: Some(finish.into()),
        };
        let response = CompletionResponse {
            id: String::new(),
            object: String::new(),
            created: 0,
            model: "m".into(),
            choices: vec![
                choice("simp", &[-0.5, -1.5], "stop"),
                choice("ring_nf", &[-0.25, -0.25, -0.25, -0.25], "length"),
            ],
            usage: None,
        };
        let g = generations_from(&response, &[]);
        assert_eq!(g[0].logprob, -2.0);
        assert_eq!(g[0].logprob_norm, -1.0);
        assert_eq!(g[0].tokens, 2);
        assert_eq!(g[1].logprob_norm, -0.25);
        assert_eq!(g[1].finish, FinishReason::Length);
    }

    #[test]
    fn a_server_that_ignores_stop_is_cut_at_the_stop_string_and_scored_on_the_kept_tokens() {
        // What vLLM's beam search sends back for the few-shot prompt: the whole max_tokens.
        let tokens = ["norm", "_num", "\n", "---", "\n", "lin", "arith"];
        let lps = [-0.5, -0.25, -0.125, -2.0, -1.0, -3.0, -4.0];
        let response = CompletionResponse {
            id: String::new(),
            object: String::new(),
            created: 0,
            model: "m".into(),
            choices: vec![Choice {
                index: 0,
                text: tokens.concat(),
                logprobs: Some(LogProbs {
                    tokens: tokens.iter().map(|t| t.to_string()).collect(),
                    token_logprobs: lps.iter().map(|&x| Some(x)).collect(),
                    ..LogProbs::default()
                }),
                finish_reason: Some("length".into()),
            }],
            usage: None,
        };
        let g = generations_from(&response, &["\n".to_string()]);
        assert_eq!(g[0].text, "norm_num");
        assert_eq!(g[0].finish, FinishReason::Stop);
        // The tokens up to the one that completed the stop string, as the local engine counts.
        assert_eq!(g[0].tokens, 3);
        assert_eq!(g[0].logprob, -0.875);
        // A multi-character stop string that ends inside a token; the earliest stop wins.
        let g = generations_from(&response, &["---".to_string(), "_nu".to_string()]);
        assert_eq!(g[0].text, "norm");
        assert_eq!(g[0].tokens, 2);
        // Tokens that do not spell the text (bytes): the cut stands, every token is scored.
        let mut odd = response.clone();
        odd.choices[0].logprobs.as_mut().unwrap().tokens[0] = "bytes:\\x6e".into();
        let g = generations_from(&odd, &["\n".to_string()]);
        assert_eq!(g[0].text, "norm_num");
        assert_eq!(g[0].tokens, 7);
        // No stop string in the text: as the server sent it.
        let g = generations_from(&response, &["sorry".to_string()]);
        assert_eq!(g[0].text, tokens.concat());
        assert_eq!(g[0].finish, FinishReason::Length);
    }
}
