//! The search's [`ProofEnv`] over the Lean bridge's worker pool.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::file::FileRun;
use lean_bridge::{LeanError, LeanFile, LeanPool, StateRef, TacticResult};
use problems::{Header, ProblemFile};
use search::{EnvError, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification};

/// Runs the search's tactics in Lean. Cheap to clone.
///
/// A task whose name is registered with [`LeanEnv::with_files`] is a theorem of a file: its
/// proof starts at the goal Lean states where the file has it, and a found proof is verified
/// there. Other tasks (a pasted state, a formalized statement) are elaborated from their text.
#[derive(Clone)]
pub struct LeanEnv {
    pool: Arc<LeanPool>,
    files: Arc<HashMap<String, (Arc<LeanFile>, usize)>>,
}

impl LeanEnv {
    pub fn new(pool: Arc<LeanPool>) -> Self {
        LeanEnv {
            pool,
            files: Arc::new(HashMap::new()),
        }
    }

    /// Tasks by name → (file, theorem segment).
    pub fn with_files(pool: Arc<LeanPool>, files: HashMap<String, (Arc<LeanFile>, usize)>) -> Self {
        LeanEnv {
            pool,
            files: Arc::new(files),
        }
    }

    /// This env with one more file theorem: the task named `name` starts where `file`
    /// states its theorem `index` (for suggestions inside a file being edited); `header` as
    /// in [`FileRun::new`].
    pub fn with_theorem(
        &self,
        name: &str,
        file: &ProblemFile,
        index: usize,
        header: Option<&Header>,
    ) -> Self {
        let run = FileRun::new(file, header);
        let mut files = (*self.files).clone();
        files.insert(name.to_string(), (run.lean.clone(), run.segment_of[index]));
        LeanEnv {
            pool: self.pool.clone(),
            files: Arc::new(files),
        }
    }

    pub fn pool(&self) -> &Arc<LeanPool> {
        &self.pool
    }
}

fn state(handle: StateRef, goals: &[String], pp: String) -> EnvState<StateRef> {
    EnvState {
        handle,
        // The whole state as Lean prints it: what the model was trained on, and what dedup
        // compares.
        goals: if goals.is_empty() { String::new() } else { pp },
        num_goals: goals.len(),
    }
}

impl ProofEnv for LeanEnv {
    type Handle = StateRef;

    async fn start(&self, task: &ProofTask) -> Result<EnvState<StateRef>, EnvError> {
        let started = match self.files.get(&task.name) {
            Some((file, segment)) => self.pool.start_file_theorem(file, *segment).await,
            None => self.pool.start(&task.context, &task.statement).await,
        };
        match started {
            Ok(s) => Ok(state(s.state, &s.goals, s.pp)),
            Err(e @ (LeanError::Elaboration { .. } | LeanError::Refused(_))) => {
                Err(EnvError::Statement(e.to_string()))
            }
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }

    async fn run_tactic(
        &self,
        handle: &StateRef,
        tactic: &str,
    ) -> Result<TacticOutcome<StateRef>, EnvError> {
        match self.pool.run(handle, tactic).await {
            Ok(TacticResult::Success {
                state: s,
                goals,
                pp,
            }) => Ok(TacticOutcome::Success(state(s, &goals, pp))),
            Ok(TacticResult::Failed { message, .. }) => Ok(TacticOutcome::Failed { message }),
            Err(LeanError::StateLost(m)) => Err(EnvError::StateLost(m)),
            // The tactic took the worker down with it (wall-clock limit, crash): a failed
            // tactic. Other states on that worker are lost and will be replayed when used.
            Err(e @ (LeanError::Timeout(_) | LeanError::Crashed { .. })) => {
                Ok(TacticOutcome::Failed {
                    message: e.to_string(),
                })
            }
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }

    async fn focus(&self, handle: &StateRef) -> Result<EnvState<StateRef>, EnvError> {
        match self.pool.focus(handle).await {
            Ok(s) => Ok(state(s.state, &s.goals, s.pp)),
            Err(LeanError::StateLost(m)) => Err(EnvError::StateLost(m)),
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }

    async fn release(&self, states: Vec<StateRef>) {
        // States of one search share a proof (one per start or replay): drop whole proofs.
        let mut seen = HashSet::new();
        for s in states {
            if seen.insert((s.worker, s.incarnation, s.proof)) {
                self.pool.drop_proof(&s).await;
            }
        }
    }

    /// A Lean 3 tactic block, `begin … end`, as the file would hold it.
    fn proof_text(&self, tactics: &[&str]) -> String {
        problems::tactic_block(tactics)
    }

    async fn verify(&self, task: &ProofTask, proof: &str) -> Result<Verification, EnvError> {
        let verified = match self.files.get(&task.name) {
            Some((file, segment)) => self.pool.verify_file_theorem(file, *segment, proof).await,
            None => {
                self.pool
                    .verify(&task.context, &task.statement, proof)
                    .await
            }
        };
        match verified {
            Ok(v) => Ok(Verification {
                ok: v.ok,
                errors: v.errors,
                axioms: v.axioms,
            }),
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }
}
