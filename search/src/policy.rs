//! The policy that proposes tactics.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::env::ProofTask;

/// One request to the policy: a proof state of a theorem, and how many candidates to return.
#[derive(Clone, Debug)]
pub struct PolicyRequest {
    pub task: Arc<ProofTask>,
    /// The goals as Lean prints them (the tactic state).
    pub goals: String,
    /// How many candidates are wanted.
    pub k: usize,
}

/// A proposed tactic with its scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub tactic: String,
    /// Summed log-probability of the tactic's tokens (or a heuristic's equivalent).
    pub logprob: f64,
    /// The score the search ranks by: log-probability normalized by length. Higher is better;
    /// always `<= 0` for models.
    pub score: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy failed: {0}")]
    Failed(String),
}

/// Proposes ranked tactics for a batch of states. One call is one batch (for a model: one
/// batched generation), so implementations should process requests together.
pub trait Policy: Send + Sync + 'static {
    /// For each request, candidates ranked best first.
    fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Result<Vec<Vec<Candidate>>, PolicyError>> + Send;

    /// Called by a search when it starts using this policy. A hint for batching wrappers
    /// (see [`crate::BatchingPolicy`]): they flush a batch early once every running search
    /// is waiting. The default does nothing.
    fn search_started(&self) {}

    /// Called when a search that called [`Policy::search_started`] ends (also when it is
    /// dropped mid-way). The default does nothing.
    fn search_finished(&self) {}
}

/// A shared policy is a policy, so one policy (e.g. one [`crate::BatchingPolicy`]) can serve
/// many spawned searches.
impl<P: Policy> Policy for Arc<P> {
    fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Result<Vec<Vec<Candidate>>, PolicyError>> + Send {
        P::propose(self, requests)
    }

    fn search_started(&self) {
        P::search_started(self)
    }

    fn search_finished(&self) {
        P::search_finished(self)
    }
}
