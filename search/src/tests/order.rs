use std::collections::HashSet;

use super::{config, expansion_order, search, state};
use crate::testing::{ToyEnv, ToyPolicy, split_proof};
use crate::{EdgeOutcome, NodeStatus, Priority, SearchConfig, StopReason};

/// Two levels, no proof: R -a(-0.1)-> A, R -b(-0.5)-> B; A's children score -1.0/-1.2,
/// B's -0.1/-0.3.
fn two_level_world() -> (ToyEnv, ToyPolicy) {
    let env = ToyEnv::from_table(
        "R",
        &[
            ("R", "a", "A"),
            ("R", "b", "B"),
            ("A", "a1", "A1"),
            ("A", "a2", "A2"),
            ("B", "b1", "B1"),
            ("B", "b2", "B2"),
        ],
    );
    let policy = ToyPolicy::from_table(&[
        ("R", &[("a", -0.1), ("b", -0.5)]),
        ("A", &[("a1", -1.0), ("a2", -1.2)]),
        ("B", &[("b1", -0.1), ("b2", -0.3)]),
    ]);
    (env, policy)
}

async fn order_with(priority: Priority) -> Vec<String> {
    let (env, policy) = two_level_world();
    let outcome = search(
        SearchConfig {
            priority,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    assert_eq!(outcome.result.stop_reason, StopReason::Exhausted);
    let order = expansion_order(outcome.tree.as_ref().unwrap());
    // The policy saw the states in the same order.
    assert_eq!(policy.requested_goals(), order);
    order
}

#[tokio::test]
async fn best_first_expands_the_highest_cumulative_score_first() {
    // Cumulative: A -0.1, B -0.5, B1 -0.6, B2 -0.8, A1 -1.1, A2 -1.3.
    assert_eq!(
        order_with(Priority::CumulativeScore).await,
        ["R", "A", "B", "B1", "B2", "A1", "A2"]
    );
}

#[tokio::test]
async fn breadth_first_and_depth_first_orders() {
    assert_eq!(
        order_with(Priority::BreadthFirst).await,
        ["R", "A", "B", "A1", "A2", "B1", "B2"]
    );
    assert_eq!(
        order_with(Priority::DepthFirst).await,
        ["R", "A", "A1", "A2", "B", "B1", "B2"]
    );
}

#[tokio::test]
async fn leaves_without_candidates_become_dead() {
    let (env, policy) = two_level_world();
    let outcome = search(config(), &env, &policy).await;
    let tree = outcome.tree.unwrap();
    for leaf in ["A1", "A2", "B1", "B2"] {
        assert_eq!(
            tree.node(state(&tree, leaf)).status,
            NodeStatus::Dead,
            "{leaf}"
        );
    }
    for inner in ["R", "A", "B"] {
        assert_eq!(
            tree.node(state(&tree, inner)).status,
            NodeStatus::Expanded,
            "{inner}"
        );
    }
}

#[tokio::test]
async fn a_state_reached_twice_is_one_node() {
    // `t2` reaches the same goals as `t1`, laid out differently.
    let env = ToyEnv::from_table(
        "R",
        &[
            ("R", "t1", "x : ℕ\n⊢ x = x"),
            ("R", "t2", "x : ℕ  ⊢\tx = x "),
            ("x : ℕ\n⊢ x = x", "refl", ""),
        ],
    );
    let policy = ToyPolicy::from_table(&[
        ("R", &[("t1", -0.5), ("t2", -0.1)]),
        ("x : ℕ\n⊢ x = x", &[("refl", -0.1)]),
        ("x : ℕ  ⊢\tx = x", &[("refl", -0.1)]),
    ]);
    let outcome = search(config(), &env, &policy).await;
    assert!(outcome.result.success(), "{:?}", outcome.result);
    assert_eq!(outcome.result.stats.duplicates, 1);
    let tree = outcome.tree.unwrap();
    // R, the shared state, and the proved state.
    assert_eq!(tree.state_count(), 3);
    let root_edges = tree.tactics_from(tree.root());
    assert_eq!(root_edges.len(), 2);
    assert_eq!(root_edges[0].2.tactic, "t1");
    assert_eq!(root_edges[0].2.outcome, EdgeOutcome::Success);
    assert_eq!(root_edges[1].2.tactic, "t2");
    assert_eq!(root_edges[1].2.outcome, EdgeOutcome::Duplicate);
    assert_eq!(root_edges[0].1, root_edges[1].1);
    // Expanded once: R, then the shared state.
    assert_eq!(policy.requested_goals().len(), 2);
    // The better path (t2, -0.1) became the state's tree parent, so the proof uses it.
    assert_eq!(outcome.result.proof.as_deref(), Some(r#"["t2","refl"]"#));
    // Every state handed out, the duplicate's included, was released.
    assert_eq!(env.live_states(), 0);
    assert_eq!(env.released().len(), 4);
}

#[tokio::test]
async fn an_open_state_found_by_a_better_path_moves_there() {
    // S is first reached below A at -0.1 - 2.0, then below B at -0.2 - 0.1.
    let env = ToyEnv::from_table(
        "R",
        &[
            ("R", "x", "A"),
            ("R", "y", "B"),
            ("A", "p", "S"),
            ("B", "q", "S"),
            ("S", "fin", ""),
        ],
    );
    let policy = ToyPolicy::from_table(&[
        ("R", &[("x", -0.1), ("y", -0.2)]),
        ("A", &[("p", -2.0)]),
        ("B", &[("q", -0.1)]),
        ("S", &[("fin", -0.1)]),
    ]);
    let outcome = search(config(), &env, &policy).await;
    assert!(outcome.result.success());
    assert_eq!(outcome.result.proof.as_deref(), Some(r#"["y","q","fin"]"#));
    let tree = outcome.tree.unwrap();
    let s = tree.node(state(&tree, "S"));
    assert!((s.score - -0.3).abs() < 1e-9, "{}", s.score);
    assert_eq!(s.depth, 2);
    assert_eq!(expansion_order(&tree), ["R", "A", "B", "S"]);
}

#[tokio::test]
async fn counting_world_breadth_first_finds_a_shortest_proof() {
    let env = ToyEnv::counting(6);
    let policy = ToyPolicy::constant(&[
        ("done", -0.1),
        ("half", -0.2),
        ("dec", -0.5),
        ("double", -1.0),
    ]);
    let outcome = search(
        SearchConfig {
            priority: Priority::BreadthFirst,
            max_expansions: 1000,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    assert!(outcome.result.success(), "{:?}", outcome.result);
    // 6 -half-> 3 -dec-> 2 -half-> 1 -dec-> 0 -done-> (or another 5-step path); none shorter.
    let proof = split_proof(&outcome.result.proof.unwrap()).unwrap();
    assert_eq!(proof.len(), 5, "{proof:?}");
    let tree = outcome.tree.unwrap();
    let goals: Vec<_> = tree
        .states()
        .filter(|(_, n)| n.num_goals > 0)
        .map(|(_, n)| n.goals.clone())
        .collect();
    let distinct: HashSet<_> = goals.iter().collect();
    assert_eq!(
        goals.len(),
        distinct.len(),
        "a state was duplicated: {goals:?}"
    );
    assert!(outcome.result.stats.duplicates > 0);
}
