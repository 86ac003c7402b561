//! Search + bridge + real Lean: when the Lean worker holding a search's states dies in the
//! middle of the search, the search replays its path on a fresh worker and still finds (and
//! verifies) the proof.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use heuristic::{HeuristicPolicy, TacticSet};
use lean_bridge::testing::lean_for_test;
use lean_bridge::{LeanPool, PoolConfig};
use lean_env::LeanEnv;
use search::testing::BeforeEachTactic;
use search::{BestFirstSearch, CancellationToken, ProofTask, SearchConfig};

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
    // Kills the Lean process (SIGKILL) before the third tactic, once.
    let tactics = AtomicUsize::new(0);
    let killed_pool = pool.clone();
    let env = BeforeEachTactic::new(LeanEnv::new(pool.clone()), move |_| {
        if tactics.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            for pid in killed_pool.pids() {
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        Ok(())
    });
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
