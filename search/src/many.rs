//! Running the searches of many theorems concurrently.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::best_first::{BestFirstSearch, SearchOutcome, SearchResult, SearchStats, StopReason};
use crate::env::{ProofEnv, ProofTask};
use crate::policy::Policy;

/// Searches proofs of `tasks`, at most `max_concurrent` (at least 1) at a time, each in its
/// own tokio task, all sharing `env` and `policy`. Wrap the policy in a
/// [`crate::BatchingPolicy`] so that the concurrent searches' requests are batched.
///
/// `on_done` gets each outcome as its search finishes (completion order, not input order).
/// When `cancel` fires, running searches stop promptly and report what they have, and
/// searches not started yet are skipped. A search task that panics is reported as a failed
/// result with the panic message, without stopping the others.
pub async fn run_many<E, P, I, F>(
    search: &BestFirstSearch,
    env: Arc<E>,
    policy: Arc<P>,
    tasks: I,
    max_concurrent: usize,
    cancel: &CancellationToken,
    mut on_done: F,
) where
    E: ProofEnv,
    P: Policy,
    I: IntoIterator<Item = ProofTask>,
    F: FnMut(SearchOutcome),
{
    let max_concurrent = max_concurrent.max(1);
    let mut pending = tasks.into_iter();
    let mut running = JoinSet::new();
    let mut names = HashMap::new();
    loop {
        while running.len() < max_concurrent && !cancel.is_cancelled() {
            let Some(task) = pending.next() else { break };
            let name = task.name.clone();
            let (search, env, policy, cancel) =
                (search.clone(), env.clone(), policy.clone(), cancel.clone());
            let handle = running.spawn(async move {
                search
                    .run(env.as_ref(), policy.as_ref(), Arc::new(task), &cancel)
                    .await
            });
            names.insert(handle.id(), name);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        match joined {
            Ok((id, outcome)) => {
                names.remove(&id);
                on_done(outcome);
            }
            Err(error) => {
                let name = names.remove(&error.id()).unwrap_or_default();
                on_done(SearchOutcome {
                    result: SearchResult {
                        name,
                        proved: false,
                        verified: false,
                        proof: None,
                        axioms: Vec::new(),
                        expansions: 0,
                        time_s: 0.0,
                        stop_reason: StopReason::TaskFailed,
                        error: Some(format!("search task failed: {error}")),
                        stats: SearchStats::default(),
                    },
                    tree: None,
                });
            }
        }
    }
}
