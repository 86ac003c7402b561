//! The tactic policies the prover can use, behind one type.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use heuristic::{HeuristicPolicy, TacticSet};

use crate::index_cmd::{RetrievalChoice, RetrievalMode};
use lean_bridge::LeanPool;
use search::{Candidate, Policy, PolicyError, PolicyRequest};
use tokio::sync::OnceCell;

use crate::model_load::{LoadedModel, ModelOpts};
use crate::model_policy::ModelPolicy;

/// Which policy proposes tactics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyKind {
    /// Ranked tactics built from the goal and hypotheses; needs no model.
    Heuristic,
    /// The InternLM2-Math model (--model, or --endpoint for a server).
    Model,
    /// The model's candidates and the heuristic's, interleaved.
    #[value(name = "model+heuristic")]
    ModelHeuristic,
}

impl PolicyKind {
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Heuristic => "heuristic",
            PolicyKind::Model => "model",
            PolicyKind::ModelHeuristic => "model+heuristic",
        }
    }

    /// `--policy` when given, else the model when one is given, else the heuristic.
    pub fn or_default(explicit: Option<PolicyKind>, model_given: bool) -> PolicyKind {
        explicit.unwrap_or(if model_given {
            PolicyKind::Model
        } else {
            PolicyKind::Heuristic
        })
    }

    pub fn needs_model(self) -> bool {
        !matches!(self, PolicyKind::Heuristic)
    }
}

/// A policy chosen at run time.
pub enum ProverPolicy {
    Heuristic(HeuristicPolicy),
    Model(ModelPolicy),
    Merged(ModelPolicy, HeuristicPolicy),
}

impl Policy for ProverPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        match self {
            ProverPolicy::Heuristic(p) => p.propose(requests).await,
            ProverPolicy::Model(p) => p.propose(requests).await,
            ProverPolicy::Merged(..) => self.propose_each(requests).await.into_iter().collect(),
        }
    }

    async fn propose_each(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Vec<Result<Vec<Candidate>, PolicyError>> {
        match self {
            ProverPolicy::Heuristic(p) => p.propose_each(requests).await,
            ProverPolicy::Model(p) => p.propose_each(requests).await,
            ProverPolicy::Merged(m, h) => {
                let ks: Vec<usize> = requests.iter().map(|r| r.k).collect();
                let (from_model, from_heuristic) =
                    tokio::join!(m.propose_each(requests.clone()), h.propose_each(requests));
                from_model
                    .into_iter()
                    .zip(from_heuristic)
                    .zip(ks)
                    .map(|((a, b), k)| Ok(interleave(a?, b?, k)))
                    .collect()
            }
        }
    }
}

impl ProverPolicy {
    /// The heuristic part of the policy, if it has one.
    pub fn heuristic(&self) -> Option<&HeuristicPolicy> {
        match self {
            ProverPolicy::Heuristic(h) | ProverPolicy::Merged(_, h) => Some(h),
            ProverPolicy::Model(_) => None,
        }
    }

    /// What the model dropped before Lean in the last call (nothing for the heuristic).
    pub fn take_dropped(&self) -> Vec<crate::model_policy::Dropped> {
        match self {
            ProverPolicy::Heuristic(_) => Vec::new(),
            ProverPolicy::Model(m) | ProverPolicy::Merged(m, _) => m.take_dropped(),
        }
    }
}

/// Alternates the two ranked lists (model first), dropping repeats, up to `k`: the model's
/// log-probabilities and the heuristic's scores are not on one scale, so neither list is
/// allowed to crowd out the other.
pub fn interleave(a: Vec<Candidate>, b: Vec<Candidate>, k: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            break;
        }
        for c in [x, y].into_iter().flatten() {
            if out.len() < k && !out.iter().any(|o| o.tactic == c.tactic) {
                out.push(c);
            }
        }
    }
    out
}

/// The tactics the pool's imports offer, asked of Lean once.
pub async fn detect_tactics(pool: &LeanPool) -> Result<TacticSet> {
    let names = TacticSet::probe_names();
    let flags = pool
        .declared(&names)
        .await
        .context("asking Lean which tactics exist")?;
    Ok(TacticSet::from_declared(&names, &flags))
}

/// The one way every command chooses and loads its policy: the kind, checked against the
/// model options once ([`PolicyChoice::new`]); the model loaded on a blocking thread the first
/// time it is needed and shared by every pool afterwards; the policy built per pool (the
/// heuristic asks that pool's Lean which tactics exist). A load that fails is reported and
/// tried again on the next call (the language server lives on after a bad checkpoint).
#[derive(Clone)]
pub struct PolicyChoice {
    kind: PolicyKind,
    model: ModelOpts,
    loaded: Arc<OnceCell<Option<LoadedModel>>>,
    retrieval: RetrievalChoice,
}

impl PolicyChoice {
    /// `kind` with `model`'s options; an error when the kind needs a model and none is given.
    pub fn new(kind: PolicyKind, model: ModelOpts) -> Result<Self> {
        if kind.needs_model() && !model.given() {
            bail!(
                "--policy {} needs --model DIR|ID (a checkpoint directory or hub id) or --endpoint URL (a completions server)",
                kind.name()
            );
        }
        Ok(PolicyChoice {
            kind,
            model,
            loaded: Arc::new(OnceCell::new()),
            // Built-in uses that do not ask for it (setup's self-check, benches) search with
            // the rules alone.
            retrieval: RetrievalChoice::new(RetrievalMode::Off, Vec::new()),
        })
    }

    /// The heuristic alone (no model options).
    pub fn heuristic() -> Self {
        PolicyChoice::new(PolicyKind::Heuristic, ModelOpts::default())
            .expect("the heuristic needs no model")
    }

    /// The model given with `--model` (loaded once) or `--endpoint` (connected once); `None`
    /// when neither was given.
    pub async fn model(&self) -> Result<Option<&LoadedModel>> {
        let opts = self.model.clone();
        let loaded = self
            .loaded
            .get_or_try_init(|| async move {
                let loaded = opts.load().await?;
                if let Some(m) = &loaded {
                    // Which prompt, said once: the default is only a guess from the name.
                    eprintln!("{}: {}", m.name, m.tactic.describe());
                }
                Ok::<_, anyhow::Error>(loaded)
            })
            .await?;
        Ok(loaded.as_ref())
    }

    /// Loads the model now when the policy needs one, so that a bad checkpoint fails before
    /// any Lean process starts.
    pub async fn prepare(&self) -> Result<()> {
        if self.kind.needs_model() {
            self.model().await?;
        }
        Ok(())
    }

    /// The same choice, with the heuristic retrieving lemmas and tactics as `retrieval` says.
    pub fn with_retrieval(mut self, retrieval: RetrievalChoice) -> Self {
        self.retrieval = retrieval;
        self
    }

    /// The heuristic for one pool: its tactics asked of that pool's Lean, and the retrieval
    /// indexes of its environment when there are any (a failure to open them is reported and
    /// the rules go on alone).
    async fn heuristic_for(&self, pool: &LeanPool) -> Result<HeuristicPolicy> {
        let h = HeuristicPolicy::new(detect_tactics(pool).await?);
        Ok(match self.retrieval.open(pool).await {
            Ok(Some(r)) => h.with_retrieval(r),
            Ok(None) => h,
            Err(e) => {
                eprintln!(
                    "warning: searching without retrieval: {}",
                    crate::output::error_text(&e)
                );
                h
            }
        })
    }

    /// The policy for one pool.
    pub async fn build(&self, pool: &LeanPool) -> Result<ProverPolicy> {
        let model_policy = || async {
            let model = self
                .model()
                .await?
                .context("the policy needs a model and none is loaded")?;
            ModelPolicy::new(model.clone(), self.model.clone())
        };
        Ok(match self.kind {
            PolicyKind::Heuristic => ProverPolicy::Heuristic(self.heuristic_for(pool).await?),
            PolicyKind::Model => ProverPolicy::Model(model_policy().await?),
            PolicyKind::ModelHeuristic => {
                ProverPolicy::Merged(model_policy().await?, self.heuristic_for(pool).await?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: &str, s: f64) -> Candidate {
        Candidate {
            tactic: t.into(),
            logprob: s,
            score: s,
        }
    }

    #[test]
    fn interleaving_alternates_and_drops_repeats() {
        let a = vec![c("simp", -0.1), c("linarith", -0.5), c("ring", -0.9)];
        let b = vec![c("norm_num", -0.2), c("simp", -0.3), c("nlinarith", -1.0)];
        let got: Vec<String> = interleave(a, b, 4).into_iter().map(|c| c.tactic).collect();
        assert_eq!(got, ["simp", "norm_num", "linarith", "ring"]);
    }
}

#[cfg(test)]
mod choice_tests {
    use super::*;

    #[test]
    fn a_model_policy_without_a_model_is_refused_up_front() {
        for kind in [PolicyKind::Model, PolicyKind::ModelHeuristic] {
            let err = PolicyChoice::new(kind, ModelOpts::default())
                .err()
                .expect("refused");
            assert!(
                err.to_string().contains(
                    "needs --model DIR|ID (a checkpoint directory or hub id) or --endpoint URL"
                ),
                "{err}"
            );
        }
        assert!(PolicyChoice::new(PolicyKind::Heuristic, ModelOpts::default()).is_ok());
    }
}
