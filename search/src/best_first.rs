//! Best-first proof search of one theorem.

use std::collections::HashMap;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use petgraph::stable_graph::NodeIndex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::SearchConfig;
use crate::env::{
    EnvError, EnvErrorKind, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification,
};
use crate::frontier::Frontier;
use crate::policy::{Candidate, Policy, PolicyRequest};
use crate::tree::{EdgeOutcome, NodeStatus, ProofTree, TacticEdge, same_goals};

/// How long the final `release` of states may take before the search gives up on it.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A proof was found and passed verification.
    Proved,
    /// No open state left.
    Exhausted,
    /// `max_expansions` reached.
    ExpansionLimit,
    /// `time_limit_s` reached.
    TimeLimit,
    /// The cancellation token fired.
    Cancelled,
    /// The environment could not start the proof (the statement does not elaborate, …).
    StartFailed,
    /// The policy failed.
    PolicyFailed,
    /// The search task itself failed (panicked); reported by [`crate::run_many`].
    TaskFailed,
}

/// Time and counts of one search. All times are wall-clock seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchStats {
    /// Time spent waiting for the policy (with a batching policy this includes waiting for
    /// the batch to fill and for other searches' batches).
    pub policy_time_s: f64,
    /// Time spent in environment calls: `start`, `run_tactic` (replays included), `verify`
    /// and `release`.
    pub env_time_s: f64,
    /// The part of `env_time_s` spent in `verify`.
    pub verify_time_s: f64,
    /// Wall time outside policy and environment calls: the search's own bookkeeping.
    pub search_overhead_s: f64,
    pub policy_calls: usize,
    /// Tactics run on states (replays not counted).
    pub tactics_run: usize,
    /// Tactics Lean rejected.
    pub tactics_failed: usize,
    /// Tactics whose run ended in an environment error.
    pub tactic_errors: usize,
    /// Tactics that led to a state already in the tree.
    pub duplicates: usize,
    /// Expansions of states asked again, after the tree was exhausted (`rounds`).
    #[serde(default)]
    pub rounds: usize,
    /// Proof states in the tree.
    pub states: usize,
    /// Deepest state in the tree.
    pub max_depth: usize,
    /// `run_tactic` calls that reported the state lost.
    pub states_lost: usize,
    /// Paths replayed from a fresh start after a lost state.
    pub replays: usize,
    /// Replays that did not rebuild the state.
    pub replay_failures: usize,
    /// Proofs checked with `verify`.
    pub verifications: usize,
    /// Proofs that failed verification.
    pub verification_failures: usize,
    /// States handed back with `release` at the end.
    pub released: usize,
    /// Policy calls that failed (each cost an expansion; the state was asked again later).
    #[serde(default)]
    pub policy_failures: usize,
    /// Time to the first state (`start`): in a file, Lean running the commands before the
    /// theorem. Part of `env_time_s`, not of the time limit.
    #[serde(default)]
    pub start_time_s: f64,
}

/// Policy failures on one state after which it is given up (it stays in the tree, unexpanded).
const POLICY_FAILURES_PER_STATE: usize = 2;
/// Policy failures in a row after which the search ends with `PolicyFailed`: the policy is not
/// failing on one state, it is failing.
const POLICY_FAILURES_IN_A_ROW: usize = 3;

/// The outcome of one search, one JSON line per theorem in `prover prove`.
///
/// Success is `proved && verified`. `proved` alone means that some tactic path closed all
/// goals in the environment; when none of those proofs passed verification, `proof` is the
/// last one tried and `error` carries the verifier's reasons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The theorem's name.
    pub name: String,
    /// A tactic path closed all goals.
    pub proved: bool,
    /// `proof` passed `ProofEnv::verify`.
    pub verified: bool,
    /// The proof text ([`ProofEnv::proof_text`]): verified when `verified`, else the last rejected one.
    pub proof: Option<String>,
    /// Axioms the verified proof depends on.
    pub axioms: Vec<String>,
    /// States expanded.
    pub expansions: usize,
    /// Wall time of the whole search, start to release, in seconds.
    pub time_s: f64,
    pub stop_reason: StopReason,
    /// Why there is no verified proof (`None` on success).
    pub error: Option<String>,
    pub stats: SearchStats,
}

impl SearchResult {
    /// A verified proof was found.
    pub fn success(&self) -> bool {
        self.proved && self.verified
    }
}

/// A finished search: its result and its tree.
#[derive(Clone, Debug)]
pub struct SearchOutcome {
    pub result: SearchResult,
    /// `None` when the search ended before the environment produced the initial state.
    pub tree: Option<ProofTree>,
}

/// Best-first proof search with fixed limits. Cheap to clone and share between searches.
#[derive(Clone, Debug, Default)]
pub struct BestFirstSearch {
    config: SearchConfig,
}

impl BestFirstSearch {
    pub fn new(config: SearchConfig) -> Self {
        Self { config }
    }

    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// Searches for a proof of `task`.
    ///
    /// Expands open states in [`crate::Priority`] order: asks `policy` for
    /// `candidates_per_expansion` tactics, runs each in `env`, adds the resulting states to
    /// the tree, and stops at the first proof that passes [`ProofEnv::verify`], at a limit,
    /// or when `cancel` fires (promptly: pending calls are dropped). Never panics on
    /// environment or policy failures: they end up in the result.
    ///
    /// At the end, every state the environment still holds for this search is released.
    pub async fn run<E, P>(
        &self,
        env: &E,
        policy: &P,
        task: Arc<ProofTask>,
        cancel: &CancellationToken,
    ) -> SearchOutcome
    where
        E: ProofEnv,
        P: Policy,
    {
        let _session = PolicySession::new(policy);
        let started = Instant::now();
        let mut run = Run {
            config: &self.config,
            env,
            policy,
            task,
            cancel,
            // Set when the first state exists: the limit counts from there.
            deadline: started,
            clock: Clock::default(),
            stats: SearchStats::default(),
            handles: HashMap::new(),
            spare_handles: Vec::new(),
            expansions: 0,
            verification_error: None,
            rejected_proof: None,
            asked: HashMap::new(),
            tried: HashMap::new(),
            policy_failed: HashMap::new(),
            policy_failures_in_a_row: 0,
            last_policy_error: None,
        };
        let (tree, stop) = run.search().await;
        run.release_all().await;

        let time_s = started.elapsed().as_secs_f64();
        let mut stats = run.stats;
        stats.policy_time_s = run.clock.policy.as_secs_f64();
        stats.env_time_s = run.clock.env.as_secs_f64();
        stats.verify_time_s = run.clock.verify.as_secs_f64();
        stats.search_overhead_s = (time_s - stats.policy_time_s - stats.env_time_s).max(0.0);
        if let Some(tree) = &tree {
            stats.states = tree.state_count();
            stats.max_depth = tree.states().map(|(_, n)| n.depth).max().unwrap_or(0);
        }

        let verified = tree.as_ref().and_then(|t| t.verified_proof());
        let result = match (verified, &tree) {
            (Some(node), Some(tree)) => SearchResult {
                name: run.task.name.clone(),
                proved: true,
                verified: true,
                proof: Some(env.proof_text(&tree.tactics_to(node))),
                axioms: tree
                    .node(node)
                    .verification
                    .as_ref()
                    .map(|v| v.axioms.clone())
                    .unwrap_or_default(),
                expansions: run.expansions,
                time_s,
                stop_reason: StopReason::Proved,
                error: None,
                stats,
            },
            _ => SearchResult {
                name: run.task.name.clone(),
                proved: run.rejected_proof.is_some(),
                verified: false,
                proof: run.rejected_proof,
                axioms: Vec::new(),
                expansions: run.expansions,
                time_s,
                stop_reason: stop.reason,
                error: Some(run.verification_error.unwrap_or(stop.message)),
                stats,
            },
        };
        tracing::debug!(
            name = %result.name,
            proved = result.proved,
            verified = result.verified,
            expansions = result.expansions,
            time_s = result.time_s,
            "search finished"
        );
        SearchOutcome { result, tree }
    }
}

fn duration_from_secs(secs: f64) -> Duration {
    // A negative, NaN or absurd limit must not panic; clamp to [0, ~31 years].
    Duration::try_from_secs_f64(secs.clamp(0.0, 1e9)).unwrap_or(Duration::ZERO)
}

/// Tells the policy that a search is running, until dropped (also on cancellation).
struct PolicySession<'a, P: Policy>(&'a P);

impl<'a, P: Policy> PolicySession<'a, P> {
    fn new(policy: &'a P) -> Self {
        policy.search_started();
        Self(policy)
    }
}

impl<P: Policy> Drop for PolicySession<'_, P> {
    fn drop(&mut self) {
        self.0.search_finished();
    }
}

/// Time spent inside calls, by kind.
#[derive(Default)]
struct Clock {
    policy: Duration,
    env: Duration,
    verify: Duration,
}

/// Why the search loop stopped.
struct Stop {
    reason: StopReason,
    message: String,
}

impl Stop {
    fn new(reason: StopReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// A call cut short by cancellation or the time limit.
#[derive(Clone, Copy, Debug)]
enum Interrupt {
    Cancelled,
    TimeLimit,
}

impl From<Interrupt> for Stop {
    fn from(interrupt: Interrupt) -> Self {
        match interrupt {
            Interrupt::Cancelled => Stop::new(StopReason::Cancelled, "search cancelled"),
            Interrupt::TimeLimit => Stop::new(StopReason::TimeLimit, "time limit reached"),
        }
    }
}

/// What running one tactic on a state came to, after recovery from a lost state.
enum TacticRun<H> {
    /// The environment answered.
    Ran(TacticOutcome<H>, Duration),
    /// The environment failed; the state is still usable.
    EnvFailed(EnvError, Duration),
    /// The state is gone and could not be rebuilt.
    Lost(String, Duration),
}

/// The state of one running search.
struct Run<'a, E: ProofEnv, P: Policy> {
    config: &'a SearchConfig,
    env: &'a E,
    policy: &'a P,
    task: Arc<ProofTask>,
    cancel: &'a CancellationToken,
    deadline: Instant,
    clock: Clock,
    stats: SearchStats,
    /// The environment's handle for each state in the tree.
    handles: HashMap<NodeIndex, E::Handle>,
    /// Handles of states that turned out to be duplicates; released at the end.
    spare_handles: Vec<E::Handle>,
    expansions: usize,
    /// The last verifier complaint, reported when no proof verifies.
    verification_error: Option<String>,
    /// The last proof that failed verification.
    rejected_proof: Option<String>,
    /// How many times each state was asked for candidates, and the tactics run on it.
    asked: HashMap<NodeIndex, usize>,
    tried: HashMap<NodeIndex, HashSet<String>>,
    /// Policy failures per state, and in a row over the whole search.
    policy_failed: HashMap<NodeIndex, usize>,
    policy_failures_in_a_row: usize,
    last_policy_error: Option<String>,
}

impl<E: ProofEnv, P: Policy> Run<'_, E, P> {
    /// Awaits `call` unless cancelled or (with `deadline`) past the time limit first.
    async fn guarded<T>(
        &self,
        call: impl Future<Output = T>,
        deadline: bool,
    ) -> Result<T, Interrupt> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Interrupt::Cancelled),
            _ = tokio::time::sleep_until(self.deadline), if deadline => Err(Interrupt::TimeLimit),
            value = call => Ok(value),
        }
    }

    /// `env.start`, timed and interruptible (by the time limit too, with `deadline`).
    async fn start(
        &mut self,
        deadline: bool,
    ) -> Result<Result<EnvState<E::Handle>, EnvError>, Interrupt> {
        let t0 = Instant::now();
        let result = self.guarded(self.env.start(&self.task), deadline).await;
        self.clock.env += t0.elapsed();
        result
    }

    /// `env.run_tactic`, timed and interruptible.
    async fn run_tactic(
        &mut self,
        handle: &E::Handle,
        tactic: &str,
    ) -> Result<(Result<TacticOutcome<E::Handle>, EnvError>, Duration), Interrupt> {
        let t0 = Instant::now();
        let result = self
            .guarded(self.env.run_tactic(handle, tactic), true)
            .await;
        let elapsed = t0.elapsed();
        self.clock.env += elapsed;
        result.map(|r| (r, elapsed))
    }

    /// The search loop. Returns the tree (`None` if the start failed) and why it stopped.
    async fn search(&mut self) -> (Option<ProofTree>, Stop) {
        // The first start is bounded by the environment's own start limits and by
        // cancellation, not by the search's time limit, which counts from the first state.
        let t0 = Instant::now();
        let first = self.start(false).await;
        self.stats.start_time_s = t0.elapsed().as_secs_f64();
        self.deadline = Instant::now() + duration_from_secs(self.config.time_limit_s);
        let root_state = match first {
            Ok(Ok(state)) => state,
            Ok(Err(e)) => return (None, Stop::new(StopReason::StartFailed, e.to_string())),
            Err(interrupt) => return (None, interrupt.into()),
        };
        let mut tree = ProofTree::new(root_state.goals, root_state.num_goals);
        let root = tree.root();
        self.handles.insert(root, root_state.handle);
        if root_state.num_goals == 0 {
            // Nothing to prove (odd, but then the empty proof is the proof).
            return match self.check_proof(&mut tree, root).await {
                Ok(true) => (Some(tree), Stop::new(StopReason::Proved, "")),
                Ok(false) => (Some(tree), Stop::new(StopReason::Exhausted, "")),
                Err(interrupt) => (Some(tree), interrupt.into()),
            };
        }
        let mut frontier = Frontier::new(self.config.priority);
        if self.config.max_depth > 0 {
            frontier.push(&tree, root);
        }
        let stop = loop {
            if self.cancel.is_cancelled() {
                break Interrupt::Cancelled.into();
            }
            if Instant::now() >= self.deadline {
                break Interrupt::TimeLimit.into();
            }
            if self.expansions >= self.config.max_expansions {
                break Stop::new(
                    StopReason::ExpansionLimit,
                    format!("no proof within {} expansions", self.expansions),
                );
            }
            let next = match frontier.pop(&tree) {
                Some(node) => Some(node),
                None => self.next_round(&mut tree, &mut frontier),
            };
            let Some(node) = next else {
                // The last states were given up because the policy failed on them: that is
                // the policy failing, not the search running out of ideas.
                if self.policy_failures_in_a_row >= POLICY_FAILURES_PER_STATE {
                    break Stop::new(
                        StopReason::PolicyFailed,
                        format!(
                            "{} ({} failures in a row)",
                            self.last_policy_error.clone().unwrap_or_default(),
                            self.policy_failures_in_a_row
                        ),
                    );
                }
                break Stop::new(
                    StopReason::Exhausted,
                    format!(
                        "no proof: search exhausted after {} expansions",
                        self.expansions
                    ),
                );
            };
            self.expansions += 1;
            match self.expand(&mut tree, &mut frontier, node).await {
                Ok(None) => {}
                Ok(Some(stop)) => break stop,
                Err(interrupt) => break interrupt.into(),
            }
        };
        (Some(tree), stop)
    }

    /// With the tree exhausted: reopens the states that may be asked for more candidates
    /// (expanded fewer than `rounds` times, not proved, not too deep) and returns the best of
    /// them, or `None` when there is none.
    fn next_round(&mut self, tree: &mut ProofTree, frontier: &mut Frontier) -> Option<NodeIndex> {
        if self.config.rounds <= 1 {
            return None;
        }
        let sink = tree.failed_sink();
        let again: Vec<NodeIndex> = tree
            .states()
            .filter(|(id, n)| {
                *id != sink
                    && matches!(n.status, NodeStatus::Expanded | NodeStatus::Dead)
                    && n.depth < self.config.max_depth
                    && self.asked.get(id).copied().unwrap_or(0) < self.config.rounds
                    && self.handles.contains_key(id)
            })
            .map(|(id, _)| id)
            .collect();
        for id in again {
            tree.set_status(id, NodeStatus::Open);
            frontier.push(tree, id);
        }
        let node = frontier.pop(tree)?;
        self.stats.rounds += 1;
        Some(node)
    }

    /// Expands one open state. `Ok(Some(_))` ends the search.
    async fn expand(
        &mut self,
        tree: &mut ProofTree,
        frontier: &mut Frontier,
        node: NodeIndex,
    ) -> Result<Option<Stop>, Interrupt> {
        // A state asked again keeps what came of it before.
        let had_children = tree
            .tactics_from(node)
            .iter()
            .any(|(_, _, e)| e.outcome != EdgeOutcome::Failed && e.outcome != EdgeOutcome::Error);
        tree.mark_expanded(node);
        let candidates = match self.propose(tree, node).await? {
            Ok(candidates) => {
                self.policy_failures_in_a_row = 0;
                candidates
            }
            Err(message) => {
                // A failed generation (a server fault after its retries, a GPU out of memory)
                // costs this expansion, not the theorem: the state is asked again later, and
                // given up only when the policy keeps failing on it.
                self.stats.policy_failures += 1;
                self.policy_failures_in_a_row += 1;
                self.last_policy_error = Some(message.clone());
                if let Some(round) = self.asked.get_mut(&node) {
                    *round = round.saturating_sub(1);
                }
                let on_this = self.policy_failed.entry(node).or_insert(0);
                *on_this += 1;
                if self.policy_failures_in_a_row >= POLICY_FAILURES_IN_A_ROW {
                    tree.set_status(node, NodeStatus::Open);
                    return Ok(Some(Stop::new(
                        StopReason::PolicyFailed,
                        format!(
                            "{message} ({} failures in a row)",
                            self.policy_failures_in_a_row
                        ),
                    )));
                }
                if *on_this < POLICY_FAILURES_PER_STATE {
                    tree.set_status(node, NodeStatus::Open);
                    frontier.push(tree, node);
                } else if !had_children {
                    tree.set_status(node, NodeStatus::Dead);
                }
                return Ok(None);
            }
        };

        let mut alive = false;
        for (rank, candidate) in candidates.into_iter().enumerate() {
            let mut edge = TacticEdge {
                tactic: candidate.tactic,
                score: finite_or_worst(candidate.score),
                logprob: candidate.logprob,
                rank,
                env_time_s: 0.0,
                outcome: EdgeOutcome::Success,
                message: None,
            };
            let run = self.run_on(tree, node, &edge.tactic).await?;
            self.stats.tactics_run += 1;
            match run {
                TacticRun::Ran(TacticOutcome::Success(state), elapsed) => {
                    edge.env_time_s = elapsed.as_secs_f64();
                    if state.num_goals == 0 {
                        let (proved, _) = tree.add_state(node, edge, state.goals, 0);
                        self.handles.insert(proved, state.handle);
                        alive = true;
                        if self.check_proof(tree, proved).await? {
                            return Ok(Some(Stop::new(StopReason::Proved, "")));
                        }
                    } else if let Some(known) = tree.find_state(&state.goals) {
                        edge.outcome = EdgeOutcome::Duplicate;
                        self.stats.duplicates += 1;
                        self.spare_handles.push(state.handle);
                        let (_, moved) = tree.add_duplicate(node, known, edge);
                        alive |= tree.node(known).status != NodeStatus::Dead;
                        if moved && tree.node(known).depth < self.config.max_depth {
                            frontier.push(tree, known);
                        }
                    } else {
                        let (child, _) = tree.add_state(node, edge, state.goals, state.num_goals);
                        self.handles.insert(child, state.handle);
                        alive = true;
                        if tree.node(child).depth < self.config.max_depth {
                            frontier.push(tree, child);
                        }
                    }
                }
                TacticRun::Ran(TacticOutcome::Failed { message }, elapsed) => {
                    self.stats.tactics_failed += 1;
                    edge.env_time_s = elapsed.as_secs_f64();
                    edge.outcome = EdgeOutcome::Failed;
                    edge.message = Some(message);
                    tree.add_failed(node, edge);
                }
                TacticRun::EnvFailed(error, elapsed) => {
                    self.stats.tactic_errors += 1;
                    edge.env_time_s = elapsed.as_secs_f64();
                    edge.outcome = EdgeOutcome::Error;
                    edge.message = Some(error.to_string());
                    tree.add_failed(node, edge);
                }
                TacticRun::Lost(message, elapsed) => {
                    self.stats.tactic_errors += 1;
                    edge.env_time_s = elapsed.as_secs_f64();
                    edge.outcome = EdgeOutcome::Error;
                    edge.message = Some(message);
                    tree.add_failed(node, edge);
                    tree.set_status(node, NodeStatus::Dead);
                    return Ok(None);
                }
            }
        }
        if !alive && !had_children {
            tree.set_status(node, NodeStatus::Dead);
        }
        Ok(None)
    }

    /// Asks the policy for candidates for `node`: at most `k`, distinct, non-empty, trimmed.
    /// The inner `Err` is the policy's failure message.
    async fn propose(
        &mut self,
        tree: &ProofTree,
        node: NodeIndex,
    ) -> Result<Result<Vec<Candidate>, String>, Interrupt> {
        let k = self.config.candidates_per_expansion;
        let round = self.asked.entry(node).or_insert(0);
        let skip = *round * k;
        *round += 1;
        let request = PolicyRequest {
            task: self.task.clone(),
            goals: tree.node(node).goals.clone(),
            k,
            skip,
            path: tree
                .tactics_to(node)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        self.stats.policy_calls += 1;
        let t0 = Instant::now();
        let answer = self.guarded(self.policy.propose(vec![request]), true).await;
        self.clock.policy += t0.elapsed();
        let proposals = match answer? {
            Ok(mut batch) => batch.drain(..).next().unwrap_or_default(),
            Err(e) => return Ok(Err(e.to_string())),
        };
        let tried = self.tried.entry(node).or_default();
        let candidates = proposals
            .into_iter()
            .filter_map(|mut c| {
                let trimmed = c.tactic.trim();
                // Distinct, and new to this state (a policy may ignore `skip`).
                if trimmed.is_empty() || !tried.insert(trimmed.to_owned()) {
                    return None;
                }
                if trimmed.len() != c.tactic.len() {
                    c.tactic = trimmed.to_owned();
                }
                Some(c)
            })
            .take(k)
            .collect();
        Ok(Ok(candidates))
    }

    /// Runs `tactic` on `node`'s state. When the environment reports the state lost, rebuilds
    /// it by replaying the path from a fresh start and retries once.
    async fn run_on(
        &mut self,
        tree: &ProofTree,
        node: NodeIndex,
        tactic: &str,
    ) -> Result<TacticRun<E::Handle>, Interrupt> {
        let first = match self.handles.get(&node).cloned() {
            Some(handle) => {
                let (result, elapsed) = self.run_tactic(&handle, tactic).await?;
                match result {
                    Ok(outcome) => return Ok(TacticRun::Ran(outcome, elapsed)),
                    // The source says why the state was lost.
                    Err(error) if error.kind() == EnvErrorKind::StateLost => {
                        error.get_ref().to_string()
                    }
                    Err(error) => return Ok(TacticRun::EnvFailed(error, elapsed)),
                }
            }
            None => "no state held for this node".to_owned(),
        };
        self.stats.states_lost += 1;
        self.handles.remove(&node);
        tracing::debug!(theorem = %self.task.name, %first, "state lost; replaying");
        if let Err(why) = self.replay(tree, node).await? {
            self.stats.replay_failures += 1;
            return Ok(TacticRun::Lost(
                format!("state lost ({first}) and replay failed: {why}"),
                Duration::ZERO,
            ));
        }
        let handle = self.handles[&node].clone();
        let (result, elapsed) = self.run_tactic(&handle, tactic).await?;
        Ok(match result {
            Ok(outcome) => TacticRun::Ran(outcome, elapsed),
            Err(again) if again.kind() == EnvErrorKind::StateLost => {
                self.stats.states_lost += 1;
                self.handles.remove(&node);
                TacticRun::Lost(
                    format!("state lost again after replay: {}", again.get_ref()),
                    elapsed,
                )
            }
            Err(error) => TacticRun::EnvFailed(error, elapsed),
        })
    }

    /// Starts the proof again and replays the tactics from the root to `node`, giving every
    /// state on the path a fresh handle. The inner `Err` says why the replay failed.
    async fn replay(
        &mut self,
        tree: &ProofTree,
        node: NodeIndex,
    ) -> Result<Result<(), String>, Interrupt> {
        self.stats.replays += 1;
        let mut handle = match self.start(true).await? {
            Ok(state) => state.handle,
            Err(e) => return Ok(Err(format!("restart failed: {e}"))),
        };
        self.replace_handle(tree.root(), handle.clone());
        for edge in tree.path_to(node) {
            let Some((_, target)) = tree.endpoints(edge) else {
                return Ok(Err("broken tree path".to_owned()));
            };
            let tactic = &tree.edge(edge).tactic;
            let (result, _) = self.run_tactic(&handle, tactic).await?;
            let state = match result {
                Ok(TacticOutcome::Success(state)) => state,
                Ok(TacticOutcome::Failed { message }) => {
                    return Ok(Err(format!("`{tactic}` failed on replay: {message}")));
                }
                Err(e) => return Ok(Err(format!("`{tactic}` on replay: {e}"))),
            };
            if !same_goals(&state.goals, &tree.node(target).goals) {
                self.spare_handles.push(state.handle);
                return Ok(Err(format!("`{tactic}` led to different goals on replay")));
            }
            handle = state.handle;
            self.replace_handle(target, handle.clone());
        }
        Ok(Ok(()))
    }

    /// Gives `node` a new handle; the old one (lost, or alive in a worker that did not
    /// crash) is released at the end.
    fn replace_handle(&mut self, node: NodeIndex, handle: E::Handle) {
        if let Some(old) = self.handles.insert(node, handle) {
            self.spare_handles.push(old);
        }
    }

    /// Verifies the proof that ends at the proved state `node`; records the verdict in the
    /// tree. Ignores the time limit (a found proof is worth checking), not cancellation.
    async fn check_proof(
        &mut self,
        tree: &mut ProofTree,
        node: NodeIndex,
    ) -> Result<bool, Interrupt> {
        let proof = self.env.proof_text(&tree.tactics_to(node));
        self.stats.verifications += 1;
        let t0 = Instant::now();
        let result = self
            .guarded(self.env.verify(&self.task, &proof), false)
            .await;
        let elapsed = t0.elapsed();
        self.clock.env += elapsed;
        self.clock.verify += elapsed;
        let verification = match result? {
            Ok(verification) => verification,
            Err(e) => Verification {
                ok: false,
                errors: vec![format!("verification could not run: {e}")],
                axioms: Vec::new(),
            },
        };
        let ok = verification.ok;
        if !ok {
            self.stats.verification_failures += 1;
            let reasons = if verification.errors.is_empty() {
                "no reason given".to_owned()
            } else {
                verification.errors.join("; ")
            };
            self.verification_error = Some(format!("proof failed verification: {reasons}"));
            self.rejected_proof = Some(proof);
        }
        tree.set_verification(node, verification);
        Ok(ok)
    }

    /// Releases every state still held (best effort, bounded in time).
    async fn release_all(&mut self) {
        let mut handles: Vec<E::Handle> = std::mem::take(&mut self.spare_handles);
        handles.extend(self.handles.drain().map(|(_, handle)| handle));
        if handles.is_empty() {
            return;
        }
        self.stats.released = handles.len();
        let t0 = Instant::now();
        if tokio::time::timeout(RELEASE_TIMEOUT, self.env.release(handles))
            .await
            .is_err()
        {
            tracing::warn!(theorem = %self.task.name, "releasing proof states timed out");
        }
        self.clock.env += t0.elapsed();
    }
}

/// Scores that are not numbers rank last instead of poisoning the order.
fn finite_or_worst(score: f64) -> f64 {
    if score.is_nan() {
        f64::NEG_INFINITY
    } else {
        score
    }
}
