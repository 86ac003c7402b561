//! Search + bridge + real Lean: when the Lean worker holding a search's states dies in the
//! middle of the search, the search replays its path on a fresh worker and still finds (and
//! verifies) the proof.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use heuristic::{HeuristicPolicy, TacticSet};
use lean_bridge::testing::lean_for_test;
use lean_bridge::{LeanPool, PoolConfig, StateRef};
use lean_env::LeanEnv;
use search::{
    BestFirstSearch, CancellationToken, EnvError, EnvState, ProofEnv, ProofTask, SearchConfig,
    TacticOutcome, Verification,
};

/// Kills the Lean process (SIGKILL) before the `kill_at`-th tactic, once.
struct KillingEnv {
    inner: LeanEnv,
    tactics: AtomicUsize,
    kill_at: usize,
}

impl ProofEnv for KillingEnv {
    type Handle = StateRef;

    async fn start(&self, task: &ProofTask) -> Result<EnvState<StateRef>, EnvError> {
        self.inner.start(task).await
    }

    async fn run_tactic(
        &self,
        state: &StateRef,
        tactic: &str,
    ) -> Result<TacticOutcome<StateRef>, EnvError> {
        if self.tactics.fetch_add(1, Ordering::SeqCst) + 1 == self.kill_at {
            for pid in self.inner.pool().pids() {
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        self.inner.run_tactic(state, tactic).await
    }

    async fn release(&self, states: Vec<StateRef>) {
        self.inner.release(states).await
    }

    fn proof_text(&self, tactics: &[&str]) -> String {
        self.inner.proof_text(tactics)
    }

    async fn verify(&self, task: &ProofTask, proof: &str) -> Result<Verification, EnvError> {
        self.inner.verify(task, proof).await
    }
}

#[tokio::test]
async fn a_search_survives_its_lean_worker_dying() {
    let Some(_) = lean_for_test("a_search_survives_its_lean_worker_dying") else {
        return;
    };
    let pool = Arc::new(
        LeanPool::new(PoolConfig {
            workers: 1,
            ..PoolConfig::default()
        })
        .await
        .unwrap(),
    );
    let first_pid = pool.pids();
    let env = KillingEnv {
        inner: LeanEnv::new(pool.clone()),
        tactics: AtomicUsize::new(0),
        kill_at: 3,
    };
    let policy = HeuristicPolicy::new(TacticSet::core());
    let task = ProofTask {
        name: "three_parts".into(),
        statement: "(p q r : Prop) (hp : p) (hq : q) (hr : r) : (p ∧ q) ∧ r".into(),
        context: vec![],
    };
    let outcome = BestFirstSearch::new(SearchConfig::default())
        .run(&env, &policy, Arc::new(task), &CancellationToken::new())
        .await;
    let r = &outcome.result;
    assert!(r.success(), "{r:?}");
    assert!(
        r.stats.states_lost >= 1 && r.stats.replays >= 1,
        "the kill went unnoticed: {:?}",
        r.stats
    );
    // A fresh process serves the rest.
    assert_ne!(pool.pids(), first_pid);
    let h = pool.health(std::time::Duration::from_secs(10)).await;
    assert!(h[0].alive && h[0].crashes >= 1, "{h:?}");
    pool.shutdown().await;
}
