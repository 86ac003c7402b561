//! The model as the search's tactic policy: a batch of proof states into tactic candidates,
//! cleaned and scored.

use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use search::{Candidate, Policy, PolicyError, PolicyErrorKind, PolicyRequest};

use causal_lm::{GenRequest, Generation};

use crate::model_load::{Engine, LoadedModel, ModelOpts};
use crate::prompts::PromptVars;

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
            g.set_prefix(&model.tactic.shared_prefix())
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

/// The `{proof}` of a prompt: the tactics so far, one per line, comma-separated as a
/// `begin … end` block writes them.
pub fn proof_so_far(path: &[String]) -> String {
    path.join(",\n")
}

impl Policy for ModelPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        self.propose_each(requests).await.into_iter().collect()
    }

    /// A server answers each prompt on its own, so a prompt whose request failed (after its
    /// retries) fails alone; the local engine decodes the batch together and fails it whole.
    async fn propose_each(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Vec<Result<Vec<Candidate>, PolicyError>> {
        let prompt = &self.model.tactic;
        let k = requests.iter().map(|r| r.k).max().unwrap_or(1).max(1);
        let params = self.opts.params(k, prompt.stop.clone());
        let proofs: Vec<String> = requests.iter().map(|r| proof_so_far(&r.path)).collect();
        let vars_of = |i: usize| PromptVars {
            state: &requests[i].goals,
            name: &requests[i].task.name,
            statement: &requests[i].task.statement,
            proof: &proofs[i],
        };
        let started = Instant::now();
        let generations: Vec<Result<Vec<Generation>, PolicyError>> = match &self.model.engine {
            Engine::Local(generator) => {
                let gen_requests: Vec<GenRequest> = requests
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        GenRequest::with_candidates(prompt.request(&vars_of(i)), r.k.max(1))
                    })
                    .collect();
                let generator = generator.clone();
                let prefix = prompt.shared_prefix();
                let answer = tokio::task::spawn_blocking(move || {
                    let mut g = generator.lock().unwrap_or_else(|e| e.into_inner());
                    // Another user of the same model (formalize) may have changed the prefix.
                    if g.prefix_text() != Some(prefix.as_str()) {
                        g.set_prefix(&prefix)?;
                    }
                    g.generate(&gen_requests, &params)
                })
                .await
                .map_err(|e| PolicyError::new(PolicyErrorKind::Failed, GenerationThreadFailed(e)))
                .and_then(|r| r.map_err(|e| PolicyError::new(PolicyErrorKind::Failed, e)));
                match answer {
                    Ok(all) => all.into_iter().map(Ok).collect(),
                    Err(error) => error.shared(requests.len()),
                }
            }
            Engine::Remote(remote) => {
                // The whole prompt: the server finds the shared prefix in it.
                let prompts: Vec<(String, usize)> = requests
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (prompt.prompt(&vars_of(i)), r.k.max(1)))
                    .collect();
                remote
                    .generate_each(&prompts, &params)
                    .await
                    .into_iter()
                    .map(|r| {
                        r.map_err(|e| {
                            let kind = if e.kind.is_transient() {
                                PolicyErrorKind::Unavailable
                            } else {
                                PolicyErrorKind::Failed
                            };
                            PolicyError::new(kind, e)
                        })
                    })
                    .collect()
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
                let (mut c, dropped) = candidates_from(&gens?);
                all_dropped.extend(dropped);
                c.truncate(r.k.max(1));
                Ok(c)
            })
            .collect();
        *self.last_dropped.lock().unwrap_or_else(|e| e.into_inner()) = all_dropped;
        out
    }
}
