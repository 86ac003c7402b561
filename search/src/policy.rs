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
    /// How many candidates this state was given before (a later round asks for the ones after
    /// them); 0 the first time. A policy that cannot continue its list may ignore it: the
    /// search drops the tactics it already ran there.
    pub skip: usize,
    /// The tactics run from the theorem's start to this state, in order (empty at the start):
    /// the proof so far, for policies that take it.
    pub path: Vec<String>,
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

/// What kind of failure a [`PolicyError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The policy ran and failed (a model error, its thread panicked).
    Failed,
    /// Nothing is left to answer (a batching task that stopped, a model server that stayed
    /// away through every retry).
    Unavailable,
    /// The answer does not fit the requests (a batch answered with too few lists).
    BadAnswer,
}

/// The policy could not propose tactics: its [`kind`](Self::kind), and the policy's own error as
/// its source. The message is `policy failed: ` and the source's (so, as for
/// [`crate::EnvError`], show it with `{}` rather than as a chain).
#[derive(Debug, thiserror::Error)]
#[error("policy failed: {source}")]
pub struct PolicyError {
    kind: PolicyErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl PolicyError {
    /// An error of `kind` caused by `source` (an error, or a message).
    pub fn new(
        kind: PolicyErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        PolicyError {
            kind,
            source: source.into(),
        }
    }

    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// The policy's own error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// The policy's own error, taken out.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.source
    }

    /// `n` errors of one failure (one per request it failed), sharing its source.
    pub fn shared<T>(self, n: usize) -> Vec<Result<T, PolicyError>> {
        let kind = self.kind;
        let source: Arc<dyn std::error::Error + Send + Sync> = Arc::from(self.source);
        (0..n)
            .map(|_| Err(PolicyError::new(kind, source.clone())))
            .collect()
    }
}

/// Proposes ranked tactics for a batch of states. One call is one batch (for a model: one
/// batched generation), so implementations should process requests together.
pub trait Policy: Send + Sync + 'static {
    /// For each request, candidates ranked best first.
    fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Result<Vec<Vec<Candidate>>, PolicyError>> + Send;

    /// [`Policy::propose`] with a result per request, for policies whose requests can fail one
    /// by one (a server answers each prompt on its own): a batching wrapper then fails only the
    /// searches whose requests failed, not every search in the batch. The default answers all
    /// or none, as `propose` does.
    fn propose_each(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Vec<Result<Vec<Candidate>, PolicyError>>> + Send {
        let n = requests.len();
        let answer = self.propose(requests);
        async move {
            match answer.await {
                Ok(all) => all.into_iter().map(Ok).collect(),
                Err(error) => PolicyError::shared(error, n),
            }
        }
    }

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

    fn propose_each(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Vec<Result<Vec<Candidate>, PolicyError>>> + Send {
        P::propose_each(self, requests)
    }

    fn search_started(&self) {
        P::search_started(self)
    }

    fn search_finished(&self) {
        P::search_finished(self)
    }
}
