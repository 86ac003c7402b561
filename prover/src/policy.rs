//! The tactic policies `prove` can use, behind one type.

use anyhow::{Context, Result};
use clap::ValueEnum;
use lean_bridge::LeanPool;
use search::heuristic::{HeuristicPolicy, TacticSet};
use search::{Candidate, Policy, PolicyError, PolicyRequest};

/// Which policy proposes tactics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyKind {
    /// Ranked tactics built from the goal and hypotheses; needs no model.
    Heuristic,
}

impl PolicyKind {
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Heuristic => "heuristic",
        }
    }
}

/// A policy chosen at run time.
pub enum ProverPolicy {
    Heuristic(HeuristicPolicy),
}

impl Policy for ProverPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        match self {
            ProverPolicy::Heuristic(p) => p.propose(requests).await,
        }
    }
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

pub async fn build_policy(kind: PolicyKind, pool: &LeanPool) -> Result<ProverPolicy> {
    match kind {
        PolicyKind::Heuristic => Ok(ProverPolicy::Heuristic(HeuristicPolicy::new(
            detect_tactics(pool).await?,
        ))),
    }
}
