//! Search behaviour on toy proof worlds (see [`crate::testing`]).

mod batching;
mod export;
mod limits;
mod order;
mod overhead;
mod proofs;
mod recovery;

use petgraph::stable_graph::NodeIndex;

use crate::testing::{ToyEnv, ToyPolicy, toy_task};
use crate::{BestFirstSearch, CancellationToken, Priority, ProofTree, SearchConfig, SearchOutcome};

/// Generous limits, best-first.
fn config() -> SearchConfig {
    SearchConfig {
        max_expansions: 100,
        time_limit_s: 1000.0,
        max_depth: 50,
        candidates_per_expansion: 8,
        rounds: 1,
        priority: Priority::CumulativeScore,
    }
}

async fn search(config: SearchConfig, env: &ToyEnv, policy: &ToyPolicy) -> SearchOutcome {
    BestFirstSearch::new(config)
        .run(env, policy, toy_task("toy"), &CancellationToken::new())
        .await
}

/// Goals of the expanded states, in expansion order.
fn expansion_order(tree: &ProofTree) -> Vec<String> {
    let mut expanded: Vec<_> = tree
        .states()
        .filter_map(|(_, n)| n.expanded.map(|order| (order, n.goals.clone())))
        .collect();
    expanded.sort();
    expanded.into_iter().map(|(_, goals)| goals).collect()
}

/// The state with exactly these goals.
fn state(tree: &ProofTree, goals: &str) -> NodeIndex {
    tree.states()
        .find(|(_, n)| n.goals == goals)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no state {goals:?} in the tree"))
}
