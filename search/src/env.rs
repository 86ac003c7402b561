//! The environment the search runs tactics in.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One theorem to prove, in the form Lean needs to start a proof of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofTask {
    /// The theorem's name (`mathd_algebra_478`).
    pub name: String,
    /// The statement as written in a file after the name: binders and type,
    /// e.g. `(a b : ℕ) (h₀ : a < b) : b ≠ 0`.
    pub statement: String,
    /// `open …` / `open_locale …` / `universe …` lines that the statement and its proof
    /// are elaborated under (the imports are fixed when the environment starts).
    pub context: Vec<String>,
}

/// A proof state the environment holds: an opaque handle plus the goals as Lean prints them.
#[derive(Clone, Debug)]
pub struct EnvState<H> {
    pub handle: H,
    /// Goals pretty-printed as Lean shows them (`a b : ℕ,\nh₀ : a < b\n⊢ b ≠ 0`), goals
    /// separated by a blank line. Empty when no goals are left.
    pub goals: String,
    /// Number of goals; 0 means the proof is complete.
    pub num_goals: usize,
}

/// What running one tactic did.
#[derive(Clone, Debug)]
pub enum TacticOutcome<H> {
    /// The tactic succeeded; the new state (with `num_goals == 0` when it closed the proof).
    Success(EnvState<H>),
    /// The tactic failed in Lean (error message), was refused before reaching Lean, or
    /// ran past its per-tactic limit. An ordinary failed edge of the search.
    Failed { message: String },
}

/// The result of checking a complete proof as Lean compiles a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    /// Lean's errors (and our reasons for refusing, e.g. a forbidden axiom).
    pub errors: Vec<String>,
    /// Axioms the proof depends on (`propext`, `quot.sound`, `classical.choice`, …).
    pub axioms: Vec<String>,
}

/// What kind of failure of the environment an [`EnvError`] is: what the search (and other
/// callers) decide on. The words are the search's own; an environment maps its failures onto
/// them and keeps its own error as the [`EnvError`]'s source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvErrorKind {
    /// The state handle no longer exists (the process holding it crashed or was restarted).
    /// The search recovers by starting again and replaying the tactics along the path.
    StateLost,
    /// The statement did not elaborate (or was refused): the task cannot start.
    InvalidStatement,
    /// The environment did not answer in time.
    Timeout,
    /// The environment's process died.
    Crashed,
    /// The environment refused the text before running it.
    Refused,
    /// Anything else (the environment missing, a protocol error, …).
    Other,
}

/// A failure of the environment itself (not of a tactic): its [`kind`](Self::kind), and the
/// environment's own error as its source.
///
/// The message is the source's, after `proof state lost: ` for a lost state (whose source says
/// why it was lost) and `statement does not elaborate: ` for a statement that does not. As it
/// already has the source's words, show it with `{}`: a report of the whole chain (`{:#}`)
/// repeats them.
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", .kind.message_prefix())]
pub struct EnvError {
    kind: EnvErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl EnvErrorKind {
    fn message_prefix(self) -> &'static str {
        match self {
            EnvErrorKind::StateLost => "proof state lost: ",
            EnvErrorKind::InvalidStatement => "statement does not elaborate: ",
            _ => "",
        }
    }
}

impl EnvError {
    /// An error of `kind` caused by `source` (an error, or a message: `"lean is gone"`).
    pub fn new(
        kind: EnvErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        EnvError {
            kind,
            source: source.into(),
        }
    }

    pub fn kind(&self) -> EnvErrorKind {
        self.kind
    }

    /// The environment's own error (for a lost state: why it was lost).
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// The environment's own error, taken out.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.source
    }
}

/// Runs tactics on proof states. Implemented over the Lean bridge in the `lean-env` crate,
/// and by in-memory environments in tests.
///
/// The search may drop a pending future (cancellation, time limit): an implementation must
/// stay usable afterwards (a state whose tactic was abandoned may be reported lost later).
/// A handle may be used again after a tactic ran on it (the search runs several tactics on
/// one state), and handles may be released that the environment already lost.
pub trait ProofEnv: Send + Sync + 'static {
    /// Opaque handle to a state held by the environment.
    type Handle: Clone + Send + Sync + std::fmt::Debug + 'static;

    /// Elaborates the statement and returns the initial state.
    fn start(
        &self,
        task: &ProofTask,
    ) -> impl Future<Output = Result<EnvState<Self::Handle>, EnvError>> + Send;

    /// Runs one tactic on a state.
    fn run_tactic(
        &self,
        state: &Self::Handle,
        tactic: &str,
    ) -> impl Future<Output = Result<TacticOutcome<Self::Handle>, EnvError>> + Send;

    /// Frees states the search no longer needs (best effort).
    fn release(&self, states: Vec<Self::Handle>) -> impl Future<Output = ()> + Send;

    /// The state's first goal alone, as a proof of its own (the state inside a block that
    /// focuses on it). Environments that cannot do this say so.
    fn focus(
        &self,
        state: &Self::Handle,
    ) -> impl Future<Output = Result<EnvState<Self::Handle>, EnvError>> + Send {
        let _ = state;
        async {
            Err(EnvError::new(
                EnvErrorKind::Other,
                "this environment cannot focus on a goal",
            ))
        }
    }

    /// The text of the proof that the tactics, run in order from the start, make: in the
    /// environment's own language (for Lean 3, a `begin … end` block). The search writes no
    /// proof syntax itself; it verifies and reports this text.
    fn proof_text(&self, tactics: &[&str]) -> String;

    /// Checks a complete proof text of the task (one [`ProofEnv::proof_text`] made, or any
    /// other the environment reads) as the environment compiles a whole theorem.
    fn verify(
        &self,
        task: &ProofTask,
        proof: &str,
    ) -> impl Future<Output = Result<Verification, EnvError>> + Send;
}

/// A shared environment is an environment, so one environment can serve many spawned searches.
impl<E: ProofEnv> ProofEnv for Arc<E> {
    type Handle = E::Handle;

    fn start(
        &self,
        task: &ProofTask,
    ) -> impl Future<Output = Result<EnvState<Self::Handle>, EnvError>> + Send {
        E::start(self, task)
    }

    fn run_tactic(
        &self,
        state: &Self::Handle,
        tactic: &str,
    ) -> impl Future<Output = Result<TacticOutcome<Self::Handle>, EnvError>> + Send {
        E::run_tactic(self, state, tactic)
    }

    fn release(&self, states: Vec<Self::Handle>) -> impl Future<Output = ()> + Send {
        E::release(self, states)
    }

    fn focus(
        &self,
        state: &Self::Handle,
    ) -> impl Future<Output = Result<EnvState<Self::Handle>, EnvError>> + Send {
        E::focus(self, state)
    }

    fn proof_text(&self, tactics: &[&str]) -> String {
        E::proof_text(self, tactics)
    }

    fn verify(
        &self,
        task: &ProofTask,
        proof: &str,
    ) -> impl Future<Output = Result<Verification, EnvError>> + Send {
        E::verify(self, task, proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the worker holding it was restarted")]
    struct Restarted;

    #[test]
    fn messages_are_the_kinds_words_and_the_sources() {
        let lost = EnvError::new(EnvErrorKind::StateLost, Restarted);
        assert_eq!(
            lost.to_string(),
            "proof state lost: the worker holding it was restarted"
        );
        let statement = EnvError::new(EnvErrorKind::InvalidStatement, "unknown identifier `x`");
        assert_eq!(
            statement.to_string(),
            "statement does not elaborate: unknown identifier `x`"
        );
        for kind in [
            EnvErrorKind::Timeout,
            EnvErrorKind::Crashed,
            EnvErrorKind::Refused,
            EnvErrorKind::Other,
        ] {
            assert_eq!(
                EnvError::new(kind, "lean is gone").to_string(),
                "lean is gone"
            );
        }
    }

    #[test]
    fn the_source_is_kept_as_it_was() {
        let lost = EnvError::new(EnvErrorKind::StateLost, Restarted);
        assert_eq!(lost.kind(), EnvErrorKind::StateLost);
        assert!(lost.get_ref().downcast_ref::<Restarted>().is_some());
        let source = std::error::Error::source(&lost).unwrap();
        assert!(source.downcast_ref::<Restarted>().is_some());
        assert!(lost.into_inner().downcast::<Restarted>().is_ok());
    }
}
