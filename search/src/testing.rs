//! In-memory proof worlds for tests: a [`ToyEnv`] whose states are strings and whose tactics
//! are rules on them, and a [`ToyPolicy`] that proposes fixed candidates per state.
//!
//! Available in this crate's tests and, with the `testing` feature, to other crates.
//!
//! Goals texts follow Lean's convention: empty means no goals left; several goals are
//! separated by a blank line.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::env::{
    EnvError, EnvErrorKind, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification,
};
use crate::policy::{Candidate, Policy, PolicyError, PolicyErrorKind, PolicyRequest};

/// What a tactic does to a state in a toy world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToyStep {
    /// The new goals text (empty: proof complete).
    To(String),
    /// The tactic fails with this message.
    Fail(String),
}

type Rules = dyn Fn(&str, &str) -> ToyStep + Send + Sync;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Number of goals in a goals text: 0 when empty, else blank-line separated blocks.
pub fn count_goals(goals: &str) -> usize {
    goals
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .count()
}

/// An in-memory [`ProofEnv`]. States live in a map from handle to goals text; a tactic's
/// effect is given by a rule function `(goals, tactic) -> ToyStep`.
///
/// It can simulate a slow Lean (`with_latency`), worker crashes (`crash_on`: all held
/// states are lost and the call reports [`EnvErrorKind::StateLost`]), a failing restart
/// (`fail_starts_after`), and tactics Lean's REPL accepts but the final check rejects
/// (`unsound`), and counts every call.
pub struct ToyEnv {
    start: String,
    rules: Box<Rules>,
    latency: Duration,
    start_latency: Duration,
    states: Mutex<HashMap<u64, String>>,
    next_handle: AtomicU64,
    crash_on: Mutex<HashMap<String, usize>>,
    starts_allowed: Option<usize>,
    unsound: HashSet<String>,
    axioms: Vec<String>,
    starts: AtomicUsize,
    tactic_runs: AtomicUsize,
    verifications: Mutex<Vec<String>>,
    released: Mutex<Vec<u64>>,
}

impl ToyEnv {
    /// A world starting at `start` where `rules(goals, tactic)` says what a tactic does.
    pub fn new(
        start: impl Into<String>,
        rules: impl Fn(&str, &str) -> ToyStep + Send + Sync + 'static,
    ) -> Self {
        Self {
            start: start.into(),
            rules: Box::new(rules),
            latency: Duration::ZERO,
            start_latency: Duration::ZERO,
            states: Mutex::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
            crash_on: Mutex::new(HashMap::new()),
            starts_allowed: None,
            unsound: HashSet::new(),
            axioms: Vec::new(),
            starts: AtomicUsize::new(0),
            tactic_runs: AtomicUsize::new(0),
            verifications: Mutex::new(Vec::new()),
            released: Mutex::new(Vec::new()),
        }
    }

    /// A world given by a table of `(goals, tactic, new goals)`; goals and tactics are
    /// compared up to whitespace runs (as Lean would not care), other tactics fail with
    /// "unknown tactic".
    pub fn from_table(start: impl Into<String>, table: &[(&str, &str, &str)]) -> Self {
        let table: HashMap<(String, String), String> = table
            .iter()
            .map(|(from, tactic, to)| ((squash(from), squash(tactic)), (*to).to_owned()))
            .collect();
        Self::new(start, move |goals, tactic| {
            match table.get(&(squash(goals), squash(tactic))) {
                Some(to) => ToyStep::To(to.clone()),
                None => ToyStep::Fail(format!("unknown tactic `{tactic}`")),
            }
        })
    }

    /// The counting world: the goal `n = N` (one line); tactics `dec` (N-1), `half` (N/2,
    /// fails on odd N), `double` (2N), and `done` (closes `n = 0`, fails otherwise).
    /// The same number is often reached by different paths.
    pub fn counting(start: u64) -> Self {
        Self::new(count_goal(start), |goals, tactic| {
            let Some(n) = goals
                .trim()
                .strip_prefix("n = ")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                return ToyStep::Fail(format!("not a counting goal: {goals}"));
            };
            match tactic.trim() {
                "dec" if n > 0 => ToyStep::To(count_goal(n - 1)),
                "half" if n % 2 == 0 => ToyStep::To(count_goal(n / 2)),
                "half" => ToyStep::Fail(format!("{n} is odd")),
                "double" => ToyStep::To(count_goal(n * 2)),
                "done" if n == 0 => ToyStep::To(String::new()),
                other => ToyStep::Fail(format!("`{other}` does not apply to n = {n}")),
            }
        })
    }

    /// Every `run_tactic` call takes this long (tokio time: use a paused clock in tests).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every `start` takes this long (as Lean running a file up to the theorem).
    pub fn with_start_latency(mut self, latency: Duration) -> Self {
        self.start_latency = latency;
        self
    }

    /// The next `times` runs of `tactic` crash the worker: every held state is lost and the
    /// call reports [`EnvErrorKind::StateLost`].
    pub fn crash_on(self, tactic: &str, times: usize) -> Self {
        lock(&self.crash_on).insert(tactic.to_owned(), times);
        self
    }

    /// `start` succeeds this many times, then fails (a Lean that cannot come back).
    pub fn fail_starts_after(mut self, starts: usize) -> Self {
        self.starts_allowed = Some(starts);
        self
    }

    /// Proofs using `tactic` fail verification (as `sorry` would), though the tactic works
    /// on states.
    pub fn unsound(mut self, tactic: &str) -> Self {
        self.unsound.insert(tactic.to_owned());
        self
    }

    /// Axioms that verified proofs report.
    pub fn with_axioms(mut self, axioms: &[&str]) -> Self {
        self.axioms = axioms.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// Calls to `start`.
    pub fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }

    /// Calls to `run_tactic`.
    pub fn tactic_runs(&self) -> usize {
        self.tactic_runs.load(Ordering::SeqCst)
    }

    /// The proofs given to `verify`, in order.
    pub fn verified_proofs(&self) -> Vec<String> {
        lock(&self.verifications).clone()
    }

    /// Handles passed to `release`.
    pub fn released(&self) -> Vec<u64> {
        lock(&self.released).clone()
    }

    /// Handles currently held (not released, not lost).
    pub fn live_states(&self) -> usize {
        lock(&self.states).len()
    }

    fn hold(&self, goals: String) -> EnvState<u64> {
        let handle = self.next_handle.fetch_add(1, Ordering::SeqCst);
        lock(&self.states).insert(handle, goals.clone());
        EnvState {
            handle,
            num_goals: count_goals(&goals),
            goals,
        }
    }

    /// Runs a whole proof from the start, for `verify`.
    fn check(&self, proof: &str) -> Result<(), String> {
        let tactics = split_proof(proof).ok_or_else(|| "not a toy proof text".to_owned())?;
        let mut goals = self.start.clone();
        for tactic in &tactics {
            if self.unsound.contains(tactic) {
                return Err(format!("`{tactic}` is not sound"));
            }
            if count_goals(&goals) == 0 {
                return Err(format!("no goals left for `{tactic}`"));
            }
            match (self.rules)(&goals, tactic) {
                ToyStep::To(next) => goals = next,
                ToyStep::Fail(message) => return Err(message),
            }
        }
        if count_goals(&goals) == 0 {
            Ok(())
        } else {
            Err(format!("unsolved goals: {goals}"))
        }
    }
}

/// Text with every whitespace run made one space, trimmed.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The toy world's proof text: the tactics as a JSON array of strings. Deliberately no
/// prover's language, so tests see that the search passes proof text through unread.
pub fn toy_proof_text(tactics: &[&str]) -> String {
    serde_json::to_string(tactics).expect("strings serialize")
}

/// The tactics of a toy proof text ([`toy_proof_text`]); None for anything else.
pub fn split_proof(proof: &str) -> Option<Vec<String>> {
    serde_json::from_str(proof).ok()
}

/// The goals text of the counting world for `n`.
pub fn count_goal(n: u64) -> String {
    format!("n = {n}")
}

impl ProofEnv for ToyEnv {
    type Handle = u64;

    fn start(
        &self,
        _task: &ProofTask,
    ) -> impl Future<Output = Result<EnvState<u64>, EnvError>> + Send {
        let starts = self.starts.fetch_add(1, Ordering::SeqCst);
        let result = match self.starts_allowed {
            Some(allowed) if starts >= allowed => {
                Err(EnvError::new(EnvErrorKind::Other, "lean is gone"))
            }
            _ => Ok(self.hold(self.start.clone())),
        };
        let latency = self.start_latency;
        async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            result
        }
    }

    fn run_tactic(
        &self,
        state: &u64,
        tactic: &str,
    ) -> impl Future<Output = Result<TacticOutcome<u64>, EnvError>> + Send {
        let state = *state;
        let tactic = tactic.to_owned();
        async move {
            if !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            self.tactic_runs.fetch_add(1, Ordering::SeqCst);
            let crash = {
                let mut crash_on = lock(&self.crash_on);
                match crash_on.get_mut(&tactic) {
                    Some(times) if *times > 0 => {
                        *times -= 1;
                        true
                    }
                    _ => false,
                }
            };
            if crash {
                lock(&self.states).clear();
                return Err(EnvError::new(
                    EnvErrorKind::StateLost,
                    format!("worker crashed running `{tactic}`"),
                ));
            }
            let Some(goals) = lock(&self.states).get(&state).cloned() else {
                return Err(EnvError::new(
                    EnvErrorKind::StateLost,
                    format!("no state {state}"),
                ));
            };
            Ok(match (self.rules)(&goals, &tactic) {
                ToyStep::To(next) => TacticOutcome::Success(self.hold(next)),
                ToyStep::Fail(message) => TacticOutcome::Failed { message },
            })
        }
    }

    fn release(&self, states: Vec<u64>) -> impl Future<Output = ()> + Send {
        {
            let mut held = lock(&self.states);
            for state in &states {
                held.remove(state);
            }
        }
        lock(&self.released).extend(states);
        async {}
    }

    fn proof_text(&self, tactics: &[&str]) -> String {
        toy_proof_text(tactics)
    }

    fn verify(
        &self,
        _task: &ProofTask,
        proof: &str,
    ) -> impl Future<Output = Result<Verification, EnvError>> + Send {
        lock(&self.verifications).push(proof.to_owned());
        let verification = match self.check(proof) {
            Ok(()) => Verification {
                ok: true,
                errors: Vec::new(),
                axioms: self.axioms.clone(),
            },
            Err(error) => Verification {
                ok: false,
                errors: vec![error],
                axioms: Vec::new(),
            },
        };
        async move { Ok(verification) }
    }
}

type Proposer = dyn Fn(&str) -> Vec<Candidate> + Send + Sync;

/// An in-memory [`Policy`]: a function from goals to ranked candidates. Records the size of
/// every batch it is called with; can be slow (`with_latency`, per batch, as a batched model
/// generation) or fail.
pub struct ToyPolicy {
    propose: Box<Proposer>,
    latency: Duration,
    failure: Option<String>,
    /// With `failure`: only every n-th call fails (0: every call).
    fail_every: usize,
    calls: std::sync::atomic::AtomicUsize,
    batches: Mutex<Vec<usize>>,
    requested_goals: Mutex<Vec<String>>,
}

/// A candidate whose log-probability equals its score.
pub fn candidate(tactic: &str, score: f64) -> Candidate {
    Candidate {
        tactic: tactic.to_owned(),
        logprob: score,
        score,
    }
}

impl ToyPolicy {
    pub fn new(propose: impl Fn(&str) -> Vec<Candidate> + Send + Sync + 'static) -> Self {
        Self {
            propose: Box::new(propose),
            latency: Duration::ZERO,
            failure: None,
            fail_every: 0,
            calls: std::sync::atomic::AtomicUsize::new(0),
            batches: Mutex::new(Vec::new()),
            requested_goals: Mutex::new(Vec::new()),
        }
    }

    /// Candidates `(tactic, score)` per goals text (compared after trimming); none for goals
    /// not in the table.
    pub fn from_table(table: &[(&str, &[(&str, f64)])]) -> Self {
        let table: HashMap<String, Vec<Candidate>> = table
            .iter()
            .map(|(goals, candidates)| {
                (
                    goals.trim().to_owned(),
                    candidates.iter().map(|(t, s)| candidate(t, *s)).collect(),
                )
            })
            .collect();
        Self::new(move |goals| table.get(goals.trim()).cloned().unwrap_or_default())
    }

    /// The same candidates for every state.
    pub fn constant(candidates: &[(&str, f64)]) -> Self {
        let candidates: Vec<Candidate> = candidates.iter().map(|(t, s)| candidate(t, *s)).collect();
        Self::new(move |_| candidates.clone())
    }

    /// Every `propose` call takes this long (tokio time).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every `propose` call fails with `message`.
    pub fn failing(mut self, message: &str) -> Self {
        self.failure = Some(message.to_owned());
        self
    }

    /// Every `n`-th `propose` call (the n-th, 2n-th, …) fails with `message`; the others answer.
    pub fn failing_every(mut self, n: usize, message: &str) -> Self {
        self.failure = Some(message.to_owned());
        self.fail_every = n;
        self
    }

    /// The size of each batch, in call order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        lock(&self.batches).clone()
    }

    /// The goals of every request, in order.
    pub fn requested_goals(&self) -> Vec<String> {
        lock(&self.requested_goals).clone()
    }
}

impl Policy for ToyPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        lock(&self.batches).push(requests.len());
        lock(&self.requested_goals).extend(requests.iter().map(|r| r.goals.clone()));
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if let Some(message) = &self.failure
            && (self.fail_every == 0 || call.is_multiple_of(self.fail_every))
        {
            return Err(PolicyError::new(PolicyErrorKind::Failed, message.clone()));
        }
        Ok(requests
            .iter()
            .map(|r| {
                let candidates = (self.propose)(&r.goals);
                candidates.into_iter().skip(r.skip).take(r.k).collect()
            })
            .collect())
    }
}

/// A task for toy worlds.
pub fn toy_task(name: &str) -> Arc<ProofTask> {
    Arc::new(ProofTask {
        name: name.to_owned(),
        statement: ": true".to_owned(),
        context: Vec::new(),
    })
}

/// Any environment, with `hook` run on each tactic before it: a hook that fails makes the
/// tactic fail with its error, without running it. For fault tests (a process killed before
/// the n-th tactic, an environment that gives up on one tactic).
pub struct BeforeEachTactic<E, F> {
    pub inner: E,
    hook: F,
}

impl<E, F> BeforeEachTactic<E, F>
where
    E: ProofEnv,
    F: Fn(&str) -> Result<(), EnvError> + Send + Sync + 'static,
{
    pub fn new(inner: E, hook: F) -> Self {
        BeforeEachTactic { inner, hook }
    }
}

impl<E, F> ProofEnv for BeforeEachTactic<E, F>
where
    E: ProofEnv,
    F: Fn(&str) -> Result<(), EnvError> + Send + Sync + 'static,
{
    type Handle = E::Handle;

    fn start(
        &self,
        task: &ProofTask,
    ) -> impl Future<Output = Result<EnvState<E::Handle>, EnvError>> + Send {
        self.inner.start(task)
    }

    async fn run_tactic(
        &self,
        state: &E::Handle,
        tactic: &str,
    ) -> Result<TacticOutcome<E::Handle>, EnvError> {
        (self.hook)(tactic)?;
        self.inner.run_tactic(state, tactic).await
    }

    fn release(&self, states: Vec<E::Handle>) -> impl Future<Output = ()> + Send {
        self.inner.release(states)
    }

    fn proof_text(&self, tactics: &[&str]) -> String {
        self.inner.proof_text(tactics)
    }

    fn verify(
        &self,
        task: &ProofTask,
        proof: &str,
    ) -> impl Future<Output = Result<Verification, EnvError>> + Send {
        self.inner.verify(task, proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_proof_inverts_toy_proof_text() {
        for tactics in [
            vec![],
            vec!["simp"],
            vec!["intro x", "{ norm_num,\n  ring }", "exact ⟨a, b⟩"],
        ] {
            let proof = toy_proof_text(&tactics);
            assert_eq!(
                split_proof(&proof),
                Some(tactics.iter().map(|t| t.to_string()).collect())
            );
        }
        assert_eq!(split_proof("by simp"), None);
        assert_eq!(split_proof("[\"simp\""), None);
    }

    #[test]
    fn goals_are_counted_by_blank_lines() {
        assert_eq!(count_goals(""), 0);
        assert_eq!(count_goals("⊢ p"), 1);
        assert_eq!(count_goals("case a\n⊢ p\n\ncase b\n⊢ q"), 2);
    }
}
