//! The search's [`ProofEnv`] over the Lean bridge's worker pool.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::file::FileRun;
use lean_bridge::{LeanError, LeanErrorKind, LeanFile, LeanPool, StateRef, TacticResult};
use problems::{Header, ProblemFile};
use search::{EnvError, EnvErrorKind, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification};

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
            Err(e) => Err(start_error(e)),
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
            // The tactic took the worker down with it (wall-clock limit, crash): a failed
            // tactic. Other states on that worker are lost and will be replayed when used.
            Err(e)
                if matches!(
                    e.kind(),
                    LeanErrorKind::Timeout(_) | LeanErrorKind::Crashed { .. }
                ) =>
            {
                Ok(TacticOutcome::Failed {
                    message: e.to_string(),
                })
            }
            Err(e) => Err(env_error(e)),
        }
    }

    async fn focus(&self, handle: &StateRef) -> Result<EnvState<StateRef>, EnvError> {
        match self.pool.focus(handle).await {
            Ok(s) => Ok(state(s.state, &s.goals, s.pp)),
            Err(e) => Err(env_error(e)),
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
            Err(e) => Err(env_error(e)),
        }
    }
}

/// [`env_error`], except that a statement Lean rejects or the screen refuses is one the task
/// cannot start from.
fn start_error(e: LeanError) -> EnvError {
    match e.kind() {
        LeanErrorKind::Elaboration { .. } | LeanErrorKind::Refused(_) => {
            EnvError::new(EnvErrorKind::InvalidStatement, e)
        }
        _ => env_error(e),
    }
}

/// The search's kind for a bridge error, with the bridge's error as the source; for a lost
/// state the source is why it was lost (the search says "proof state lost" itself).
fn env_error(e: LeanError) -> EnvError {
    let kind = match e.kind() {
        LeanErrorKind::StateLost(_) => EnvErrorKind::StateLost,
        LeanErrorKind::Timeout(_) => EnvErrorKind::Timeout,
        LeanErrorKind::Crashed { .. } => EnvErrorKind::Crashed,
        LeanErrorKind::Refused(_) => EnvErrorKind::Refused,
        _ => EnvErrorKind::Other,
    };
    match e.into_kind() {
        LeanErrorKind::StateLost(why) => EnvError::new(kind, why),
        other => EnvError::new(kind, LeanError::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lean_bridge::LostState;

    use super::*;

    #[test]
    fn a_lost_state_is_the_searchs_lost_state_with_the_bridges_reason() {
        let lost = LeanError::from(LeanErrorKind::StateLost(LostState::Restarted(1)));
        let message = lost.to_string();
        let e = env_error(lost);
        assert_eq!(e.kind(), EnvErrorKind::StateLost);
        assert_eq!(
            e.get_ref().downcast_ref::<LostState>(),
            Some(&LostState::Restarted(1))
        );
        assert_eq!(e.to_string(), message);
    }

    #[test]
    fn bridge_errors_keep_their_kind_and_stay_the_source() {
        let cases = [
            (
                LeanErrorKind::Timeout(Duration::from_secs(2)),
                EnvErrorKind::Timeout,
            ),
            (
                LeanErrorKind::Crashed {
                    status: "signal: 9".into(),
                    stderr: String::new(),
                },
                EnvErrorKind::Crashed,
            ),
            (
                LeanErrorKind::Refused("no `#`".into()),
                EnvErrorKind::Refused,
            ),
            (
                LeanErrorKind::Protocol("garbage".into()),
                EnvErrorKind::Other,
            ),
            (LeanErrorKind::Closed, EnvErrorKind::Other),
        ];
        for (lean, kind) in cases {
            let lean = LeanError::from(lean);
            let message = lean.to_string();
            let e = env_error(lean);
            assert_eq!(e.kind(), kind, "{message}");
            assert_eq!(e.to_string(), message);
            assert!(e.get_ref().downcast_ref::<LeanError>().is_some());
        }
    }

    #[test]
    fn a_statement_that_does_not_start_is_an_invalid_statement() {
        for lean in [
            LeanErrorKind::Elaboration {
                message: "unknown identifier 'c'".into(),
                pos: Some((1, 20)),
            },
            LeanErrorKind::Refused("`#eval` is not allowed".into()),
        ] {
            let lean = LeanError::from(lean);
            let message = lean.to_string();
            let e = start_error(lean);
            assert_eq!(e.kind(), EnvErrorKind::InvalidStatement);
            assert_eq!(
                e.to_string(),
                format!("statement does not elaborate: {message}")
            );
        }
        let e = start_error(LeanErrorKind::Timeout(Duration::from_secs(1)).into());
        assert_eq!(e.kind(), EnvErrorKind::Timeout);
    }
}
