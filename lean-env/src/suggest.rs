//! Checked tactic suggestions at a point of a proof, for the editor (`prover lsp`) and the
//! command line.
//!
//! The state at a cursor comes from Lean: the theorem is started and the steps before the
//! cursor are run, focusing on the main goal where the cursor is inside a `{ … }` block
//! ([`problems::Theorem::moves_before`]). The policy then proposes candidates for that
//! state and each one is run in Lean on it, so that every suggestion carries what it really
//! does: closes the goals, leaves these goals, changes nothing, or fails with Lean's error.
//!
//! Generic over [`ProofEnv`] and [`Policy`]: the prover uses [`crate::LeanEnv`] and its own
//! `ProverPolicy`; tests use the search crate's toy worlds.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use problems::{CursorMove, ProblemFile};
use search::{
    CancellationToken, EnvErrorKind, EnvState, Policy, PolicyError, PolicyRequest, ProofEnv,
    ProofTask, TacticOutcome,
};
use serde::Serialize;

use crate::theorem_context;

/// How many candidates to ask for, and how hard to try when Lean loses the state.
#[derive(Clone, Debug)]
pub struct SuggestConfig {
    /// Candidates asked of the policy (each one is run in Lean).
    pub candidates: usize,
    /// How often the cursor state may be rebuilt (start + steps again) after Lean lost it,
    /// e.g. because a candidate ran past the wall-clock limit and its worker was restarted.
    pub max_rebuilds: usize,
}

impl Default for SuggestConfig {
    fn default() -> Self {
        SuggestConfig {
            candidates: 8,
            max_rebuilds: 2,
        }
    }
}

/// What a candidate did when Lean ran it on the state at the cursor.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// No goals are left: the proof is complete after this tactic.
    Closes,
    /// The tactic ran and changed the state; these goals are left (as Lean prints them).
    Leaves { num_goals: usize, goals: String },
    /// The tactic ran but the state is the same as before.
    NoProgress,
    /// Lean rejected it (or it was refused, or ran past its limit).
    Fails { message: String },
}

impl Outcome {
    /// Whether a suggestion with this outcome is worth offering (it ran and did something).
    pub fn is_offered(&self) -> bool {
        matches!(self, Outcome::Closes | Outcome::Leaves { .. })
    }

    /// A short label: `closes the goal`, `leaves 2 goals`, …
    pub fn label(&self, goals_before: usize) -> String {
        match self {
            Outcome::Closes if goals_before > 1 => "closes all goals".into(),
            Outcome::Closes => "closes the goal".into(),
            Outcome::Leaves { num_goals: 1, .. } => "leaves 1 goal".into(),
            Outcome::Leaves { num_goals, .. } => format!("leaves {num_goals} goals"),
            Outcome::NoProgress => "changes nothing".into(),
            Outcome::Fails { .. } => "fails".into(),
        }
    }

    /// Sort class: closing first, then progress, then the rest.
    fn class(&self) -> u8 {
        match self {
            Outcome::Closes => 0,
            Outcome::Leaves { .. } => 1,
            Outcome::NoProgress => 2,
            Outcome::Fails { .. } => 3,
        }
    }
}

/// A candidate with what Lean made of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    pub tactic: String,
    /// The policy's score (higher is better).
    pub score: f64,
    pub logprob: f64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The checked suggestions at one cursor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestions {
    pub theorem: String,
    /// The cursor line (1-based) the state was computed for.
    pub line: usize,
    /// How many top-level steps were run to reach the cursor.
    pub steps_run: usize,
    /// The state at the cursor, as Lean prints it.
    pub goals: String,
    pub num_goals: usize,
    /// Every candidate, ranked: closing ones first, then those that leave goals, each by policy
    /// score; then those that change nothing and those that fail.
    pub suggestions: Vec<Suggestion>,
}

impl Suggestions {
    /// The suggestions worth offering (they ran in Lean and did something), best first.
    pub fn offered(&self) -> impl Iterator<Item = &Suggestion> {
        self.suggestions.iter().filter(|s| s.outcome.is_offered())
    }
}

/// Where a suggestion run is, for progress reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Elaborating the statement.
    Starting,
    /// Running the proof's step `index` (1-based) of `total`, written on `line`.
    Step {
        index: usize,
        total: usize,
        line: usize,
    },
    /// Asking the policy.
    Proposing,
    /// Running candidate `index` (1-based) of `total`.
    Checking {
        index: usize,
        total: usize,
        tactic: String,
    },
}

impl Stage {
    pub fn message(&self) -> String {
        match self {
            Stage::Starting => "elaborating the statement".into(),
            Stage::Step { index, total, line } => {
                format!("running step {index}/{total} (line {line})")
            }
            Stage::Proposing => "asking the policy".into(),
            Stage::Checking {
                index,
                total,
                tactic,
            } => format!("checking {index}/{total}: {}", crate::first_line(tactic)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error("the statement does not elaborate: {0}")]
    Statement(String),
    /// A step above the cursor fails, so there is no state to suggest for.
    #[error("step {index} (line {line}) `{tactic}` fails: {message}")]
    StepFailed {
        index: usize,
        line: usize,
        tactic: String,
        message: String,
    },
    #[error("no goals left at line {line}: the proof is complete above it")]
    NoGoals { line: usize },
    /// The policy failed. Its message already carries its source's (`policy failed: …`), so
    /// the source is not passed on as this error's: a report of the error chain (`{:#}`)
    /// would say it twice.
    #[error("{0}")]
    Policy(PolicyError),
    #[error("Lean: {0}")]
    Env(String),
    #[error("cancelled")]
    Cancelled,
}

impl From<PolicyError> for SuggestError {
    fn from(e: PolicyError) -> Self {
        SuggestError::Policy(e)
    }
}

/// The task for theorem `index` of `file` when its proof as written (`uses`) may cite earlier
/// lemmas of the file: they are put in its context (see [`theorem_context`]).
pub fn theorem_task(file: &ProblemFile, index: usize, uses: &str) -> ProofTask {
    let t = &file.theorems[index];
    ProofTask {
        name: t.name.clone(),
        statement: t.statement.clone(),
        context: theorem_context(file, index, uses),
    }
}

/// The task for suggestions inside theorem `index`: its statement and proof as written may
/// cite earlier lemmas.
pub fn suggestion_task(file: &ProblemFile, index: usize) -> ProofTask {
    let t = &file.theorems[index];
    theorem_task(file, index, &format!("{}\n{}", t.statement, t.proof.text()))
}

/// A place in a proof: 1-based line, 0-based column (none: the start of the line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub line: usize,
    pub col: Option<usize>,
}

impl From<usize> for Cursor {
    fn from(line: usize) -> Self {
        Cursor { line, col: None }
    }
}

/// Checked suggestions for the state of theorem `index` of `file` at `cursor` (a line, or a
/// line and column): the steps before it are run, inside the `{ … }` blocks it is in too
/// ([`problems::Theorem::moves_before`]), the policy proposes `config.candidates` tactics, and
/// each is run on that state. Every state it makes is released before it returns, also when
/// cancelled.
#[allow(clippy::too_many_arguments)]
pub async fn suggest<E, P>(
    env: &E,
    policy: &P,
    file: &ProblemFile,
    index: usize,
    cursor: impl Into<Cursor>,
    config: &SuggestConfig,
    cancel: &CancellationToken,
    mut progress: impl FnMut(Stage) + Send,
) -> Result<Suggestions, SuggestError>
where
    E: ProofEnv,
    P: Policy,
{
    let Cursor { line, col } = cursor.into();
    let theorem = &file.theorems[index];
    let steps = theorem.moves_before(line, col);
    let task = Arc::new(suggestion_task(file, index));
    let mut held = Vec::new();
    let result = run(
        env,
        policy,
        &task,
        &steps,
        line,
        config,
        cancel,
        &mut progress,
        &mut held,
    )
    .await;
    env.release(held).await;
    let (state, suggestions) = result?;
    Ok(Suggestions {
        theorem: theorem.name.clone(),
        line,
        steps_run: steps
            .iter()
            .filter(|m| matches!(m, CursorMove::Run { .. }))
            .count(),
        goals: state.goals,
        num_goals: state.num_goals,
        suggestions,
    })
}

/// The state at the cursor and the ranked, checked candidates.
#[allow(clippy::too_many_arguments)]
async fn run<E: ProofEnv, P: Policy>(
    env: &E,
    policy: &P,
    task: &Arc<ProofTask>,
    steps: &[CursorMove],
    line: usize,
    config: &SuggestConfig,
    cancel: &CancellationToken,
    progress: &mut (impl FnMut(Stage) + Send),
    held: &mut Vec<E::Handle>,
) -> Result<(EnvState<E::Handle>, Vec<Suggestion>), SuggestError> {
    let mut state = reach(env, task, steps, cancel, progress, held).await?;
    if state.num_goals == 0 {
        return Err(SuggestError::NoGoals { line });
    }

    progress(Stage::Proposing);
    let request = PolicyRequest {
        task: task.clone(),
        goals: state.goals.clone(),
        k: config.candidates,
        skip: 0,
        path: Vec::new(),
    };
    let proposed = unless_cancelled(cancel, policy.propose(vec![request]))
        .await??
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut seen = HashSet::new();
    let candidates: Vec<_> = proposed
        .into_iter()
        .filter(|c| !c.tactic.trim().is_empty() && seen.insert(c.tactic.trim().to_string()))
        .take(config.candidates)
        .collect();

    let mut rebuilds = 0;
    let mut suggestions = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        progress(Stage::Checking {
            index: i + 1,
            total: candidates.len(),
            tactic: c.tactic.clone(),
        });
        let outcome = loop {
            match unless_cancelled(cancel, env.run_tactic(&state.handle, &c.tactic)).await? {
                Ok(TacticOutcome::Success(next)) => {
                    held.push(next.handle.clone());
                    break classify(&state, &next);
                }
                Ok(TacticOutcome::Failed { message }) => break Outcome::Fails { message },
                // The state went with its process (an earlier candidate ran past its limit):
                // build it again and retry this candidate.
                Err(e) if e.kind() == EnvErrorKind::StateLost && rebuilds < config.max_rebuilds => {
                    tracing::debug!("cursor state lost ({}); rebuilding it", e.get_ref());
                    rebuilds += 1;
                    let before = state.goals.clone();
                    state = reach(env, task, steps, cancel, &mut |_| {}, held).await?;
                    if !search::tree::same_goals(&before, &state.goals) {
                        return Err(SuggestError::Env(
                            "the state at the cursor changed when it was rebuilt".into(),
                        ));
                    }
                }
                Err(e) => return Err(SuggestError::Env(e.to_string())),
            }
        };
        suggestions.push(Suggestion {
            tactic: c.tactic.clone(),
            score: c.score,
            logprob: c.logprob,
            outcome,
        });
    }
    rank(&mut suggestions);
    Ok((state, suggestions))
}

/// Starts the proof and makes `moves` (steps, and focusing on the main goal where a block
/// starts); every state made is pushed to `held`.
async fn reach<E: ProofEnv>(
    env: &E,
    task: &ProofTask,
    moves: &[CursorMove],
    cancel: &CancellationToken,
    progress: &mut (impl FnMut(Stage) + Send),
    held: &mut Vec<E::Handle>,
) -> Result<EnvState<E::Handle>, SuggestError> {
    progress(Stage::Starting);
    let mut state = match unless_cancelled(cancel, env.start(task)).await? {
        Ok(s) => s,
        Err(e) if e.kind() == EnvErrorKind::InvalidStatement => {
            return Err(SuggestError::Statement(e.get_ref().to_string()));
        }
        Err(e) => return Err(SuggestError::Env(e.to_string())),
    };
    held.push(state.handle.clone());
    let mut run_index = 0;
    for (i, m) in moves.iter().enumerate() {
        let line = match m {
            CursorMove::Run { line, .. } | CursorMove::Focus { line } => *line,
        };
        progress(Stage::Step {
            index: i + 1,
            total: moves.len(),
            line,
        });
        let text = match m {
            CursorMove::Run { text, .. } => text,
            CursorMove::Focus { line } => {
                // A block where no goal is left: Lean says so at the block too.
                if state.num_goals == 0 {
                    return Err(SuggestError::NoGoals { line: *line });
                }
                match unless_cancelled(cancel, env.focus(&state.handle)).await? {
                    Ok(next) => {
                        held.push(next.handle.clone());
                        state = next;
                    }
                    Err(e) => return Err(SuggestError::Env(e.to_string())),
                }
                continue;
            }
        };
        run_index += 1;
        match unless_cancelled(cancel, env.run_tactic(&state.handle, text)).await? {
            Ok(TacticOutcome::Success(next)) => {
                held.push(next.handle.clone());
                state = next;
            }
            Ok(TacticOutcome::Failed { message }) => {
                return Err(SuggestError::StepFailed {
                    index: run_index,
                    line,
                    tactic: text.clone(),
                    message,
                });
            }
            Err(e) => return Err(SuggestError::Env(e.to_string())),
        }
    }
    Ok(state)
}

fn classify<H>(before: &EnvState<H>, after: &EnvState<H>) -> Outcome {
    if after.num_goals == 0 {
        Outcome::Closes
    } else if search::tree::same_goals(&before.goals, &after.goals) {
        Outcome::NoProgress
    } else {
        Outcome::Leaves {
            num_goals: after.num_goals,
            goals: after.goals.clone(),
        }
    }
}

/// Closing first, then leaving goals, then no progress, then failures; within each, by
/// policy score (stable: the policy's order breaks ties).
pub fn rank(suggestions: &mut [Suggestion]) {
    suggestions.sort_by(|a, b| {
        a.outcome
            .class()
            .cmp(&b.outcome.class())
            .then(b.score.total_cmp(&a.score))
    });
}

async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    work: impl Future<Output = T>,
) -> Result<T, SuggestError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(SuggestError::Cancelled),
        v = work => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use search::testing::{ToyEnv, ToyPolicy, ToyStep};

    /// `theorem t … begin step1, step2, <cursor> end` with steps `a` then `b`.
    fn file() -> ProblemFile {
        problems::parse_str(
            "theorem t (p : Prop) : p :=\nbegin\n  a,\n  b,\n\nend\n",
            None,
        )
        .unwrap()
    }

    /// States: `s0` -a-> `s1` -b-> `g1\n\ng2`; on `g1\n\ng2`: `close` closes, `one` leaves
    /// `g2`, `two` leaves two other goals, `same` changes nothing, anything else fails.
    fn world() -> ToyEnv {
        ToyEnv::new("s0", |goals, tactic| match (goals, tactic) {
            ("s0", "a") => ToyStep::To("s1".into()),
            ("s1", "b") => ToyStep::To("g1\n\ng2".into()),
            ("g1\n\ng2", "close") => ToyStep::To(String::new()),
            ("g1\n\ng2", "one") => ToyStep::To("g2".into()),
            ("g1\n\ng2", "two") => ToyStep::To("h1\n\nh2".into()),
            ("g1\n\ng2", "same") => ToyStep::To("g1\n\n  g2".into()),
            (_, t) => ToyStep::Fail(format!("unknown tactic {t}")),
        })
    }

    async fn suggest_at(
        env: &ToyEnv,
        policy: &ToyPolicy,
        line: usize,
    ) -> Result<Suggestions, SuggestError> {
        let mut stages = Vec::new();
        let r = suggest(
            env,
            policy,
            &file(),
            0,
            line,
            &SuggestConfig::default(),
            &CancellationToken::new(),
            |s| stages.push(s),
        )
        .await;
        if r.is_ok() {
            assert_eq!(stages.first(), Some(&Stage::Starting));
        }
        r
    }

    #[tokio::test]
    async fn runs_the_steps_above_the_cursor_and_ranks_by_outcome_then_score() {
        let env = world();
        let policy = ToyPolicy::constant(&[
            ("bogus", -0.1),
            ("same", -0.2),
            ("one", -0.3),
            ("two", -0.25),
            ("close", -2.0),
            ("one", -0.5), // duplicate: checked once
        ]);
        let s = suggest_at(&env, &policy, 5).await.unwrap();
        assert_eq!(s.steps_run, 2);
        assert_eq!(s.goals, "g1\n\ng2");
        assert_eq!(s.num_goals, 2);
        assert_eq!(policy.requested_goals(), vec!["g1\n\ng2".to_string()]);
        let order: Vec<_> = s.suggestions.iter().map(|s| s.tactic.as_str()).collect();
        assert_eq!(order, ["close", "two", "one", "same", "bogus"]);
        assert_eq!(s.suggestions[0].outcome, Outcome::Closes);
        assert_eq!(
            s.suggestions[2].outcome,
            Outcome::Leaves {
                num_goals: 1,
                goals: "g2".into()
            }
        );
        assert_eq!(s.suggestions[3].outcome, Outcome::NoProgress);
        assert!(
            matches!(&s.suggestions[4].outcome, Outcome::Fails { message } if message.contains("unknown tactic bogus"))
        );
        let offered: Vec<_> = s.offered().map(|s| s.tactic.as_str()).collect();
        assert_eq!(offered, ["close", "two", "one"]);
        // start + 2 steps + 4 successful candidates, all released.
        assert_eq!(env.released().len(), 7);
        assert_eq!(env.live_states(), 0);
    }

    #[tokio::test]
    async fn a_cursor_above_the_steps_gets_the_initial_state() {
        let env = world();
        let policy = ToyPolicy::constant(&[("a", -0.1)]);
        let s = suggest_at(&env, &policy, 3).await.unwrap();
        assert_eq!((s.steps_run, s.goals.as_str()), (0, "s0"));
        assert_eq!(s.suggestions[0].tactic, "a");
        assert_eq!(
            s.suggestions[0].outcome,
            Outcome::Leaves {
                num_goals: 1,
                goals: "s1".into()
            }
        );
    }

    #[tokio::test]
    async fn a_failing_step_above_the_cursor_is_reported_with_its_line() {
        let env = ToyEnv::new("s0", |_, t| ToyStep::Fail(format!("no {t}")));
        let policy = ToyPolicy::constant(&[("x", -0.1)]);
        let err = suggest_at(&env, &policy, 5).await.unwrap_err();
        match err {
            SuggestError::StepFailed {
                index,
                line,
                tactic,
                message,
            } => {
                assert_eq!((index, line, tactic.as_str()), (1, 3, "a"));
                assert_eq!(message, "no a");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(env.live_states(), 0);
        assert!(policy.requested_goals().is_empty());
    }

    #[tokio::test]
    async fn no_goals_at_the_cursor_is_an_error() {
        let env = ToyEnv::new("s0", |_, _| ToyStep::To(String::new()));
        let policy = ToyPolicy::constant(&[("x", -0.1)]);
        let err = suggest_at(&env, &policy, 5).await.unwrap_err();
        assert!(matches!(err, SuggestError::NoGoals { line: 5 }), "{err:?}");
    }

    #[tokio::test]
    async fn a_lost_state_is_rebuilt_and_the_candidate_retried() {
        let env = world().crash_on("close", 1);
        let policy = ToyPolicy::constant(&[("one", -0.1), ("close", -0.2)]);
        let s = suggest_at(&env, &policy, 5).await.unwrap();
        let order: Vec<_> = s.suggestions.iter().map(|s| s.tactic.as_str()).collect();
        assert_eq!(order, ["close", "one"]);
        assert_eq!(s.suggestions[0].outcome, Outcome::Closes);
        assert_eq!(env.starts(), 2);
    }

    #[tokio::test]
    async fn policy_failure_is_an_error() {
        let env = world();
        let policy = ToyPolicy::constant(&[]).failing("model not loaded");
        let err = suggest_at(&env, &policy, 5).await.unwrap_err();
        assert_eq!(err.to_string(), "policy failed: model not loaded");
        // As the CLI reports it (the whole chain): the policy's words once.
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            "policy failed: model not loaded"
        );
        assert_eq!(env.live_states(), 0);
    }

    #[tokio::test]
    async fn cancellation_stops_the_run_and_releases_states() {
        let env = world().with_latency(std::time::Duration::from_millis(50));
        let policy = ToyPolicy::constant(&[("one", -0.1), ("two", -0.2), ("close", -0.3)]);
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let err = suggest(
            &env,
            &policy,
            &file(),
            0,
            5,
            &SuggestConfig::default(),
            &cancel,
            move |stage| {
                if matches!(stage, Stage::Checking { index: 2, .. }) {
                    trigger.cancel();
                }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SuggestError::Cancelled));
        // Only the first candidate ran.
        assert_eq!(env.tactic_runs(), 3);
        assert_eq!(env.live_states(), 0);
    }

    #[test]
    fn labels() {
        assert_eq!(Outcome::Closes.label(1), "closes the goal");
        assert_eq!(Outcome::Closes.label(3), "closes all goals");
        let leaves = Outcome::Leaves {
            num_goals: 2,
            goals: String::new(),
        };
        assert_eq!(leaves.label(1), "leaves 2 goals");
    }
}
