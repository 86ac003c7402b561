use super::{config, search, state};
use crate::testing::{BeforeEachTactic, ToyEnv, ToyPolicy, toy_task};
use crate::{
    BestFirstSearch, CancellationToken, EdgeOutcome, EnvError, EnvErrorKind, NodeStatus, StopReason,
};

/// R -t1-> S1 -t2-> S2 -fin-> done, and a worse route R -u1-> T -fin-> done.
fn world() -> (ToyEnv, ToyPolicy) {
    let env = ToyEnv::from_table(
        "R",
        &[
            ("R", "t1", "S1"),
            ("S1", "t2", "S2"),
            ("S2", "fin", ""),
            ("R", "u1", "T"),
            ("T", "fin", ""),
        ],
    );
    let policy = ToyPolicy::from_table(&[
        ("R", &[("t1", -0.1), ("u1", -2.0)]),
        ("S1", &[("t2", -0.1)]),
        ("S2", &[("fin", -0.1)]),
        ("T", &[("fin", -0.1)]),
    ]);
    (env, policy)
}

#[tokio::test]
async fn a_lost_state_is_rebuilt_by_replaying_its_path() {
    let (env, policy) = world();
    // The worker crashes the first time t2 runs, losing every state.
    let env = env.crash_on("t2", 1);
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    assert!(result.success(), "{result:?}");
    assert_eq!(result.proof.as_deref(), Some(r#"["t1","t2","fin"]"#));
    assert_eq!(result.stats.states_lost, 1);
    assert_eq!(result.stats.replays, 1);
    assert_eq!(result.stats.replay_failures, 0);
    assert_eq!(env.starts(), 2);
    // t1, u1, t2 (crash), t1 (replay), t2 (retry), fin.
    assert_eq!(env.tactic_runs(), 6);
    // The retried tactic is one edge, not two.
    let tree = outcome.tree.unwrap();
    let s1 = state(&tree, "S1");
    let edges = tree.tactics_from(s1);
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].2.outcome, EdgeOutcome::Success);
    assert_eq!(env.live_states(), 0);
}

#[tokio::test]
async fn a_state_that_cannot_be_rebuilt_is_dead_and_the_search_goes_on() {
    let (env, policy) = world();
    // The crash is followed by a restart failure.
    let env = env.crash_on("t2", 1).fail_starts_after(1);
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    // S1's replay failed, and so did T's: the crash took its state too.
    assert_eq!(result.stats.states_lost, 2);
    assert_eq!(result.stats.replay_failures, 2);
    let tree = outcome.tree.as_ref().unwrap();
    let s1 = state(tree, "S1");
    assert_eq!(tree.node(s1).status, NodeStatus::Dead);
    let edges = tree.tactics_from(s1);
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].2.outcome, EdgeOutcome::Error);
    assert_eq!(
        edges[0].2.message.as_deref(),
        Some(
            "state lost (worker crashed running `t2`) and replay failed: restart failed: lean is gone"
        )
    );
    // Nothing is left.
    assert_eq!(tree.node(state(tree, "T")).status, NodeStatus::Dead);
    assert_eq!(result.stop_reason, StopReason::Exhausted);
    assert!(!result.proved);
}

#[tokio::test]
async fn a_replayed_state_reaches_the_other_branch_too() {
    let (env, policy) = world();
    // t2 crashes twice: once on the original state, once on the replayed one.
    let env = env.crash_on("t2", 2);
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    let tree = outcome.tree.as_ref().unwrap();
    let s1 = state(tree, "S1");
    assert_eq!(tree.node(s1).status, NodeStatus::Dead);
    assert_eq!(
        tree.tactics_from(s1)[0].2.message.as_deref(),
        Some("state lost again after replay: worker crashed running `t2`")
    );
    // T's state was lost in the second crash; it is replayed from a new start and the
    // other route proves the theorem.
    assert!(result.success(), "{result:?}");
    assert_eq!(result.proof.as_deref(), Some(r#"["u1","fin"]"#));
    assert_eq!(result.stats.states_lost, 3);
    assert_eq!(result.stats.replays, 2);
    assert_eq!(env.starts(), 3);
}

#[tokio::test]
async fn only_a_lost_state_is_replayed() {
    for (kind, replays) in [
        (EnvErrorKind::StateLost, 1),
        (EnvErrorKind::Timeout, 0),
        (EnvErrorKind::Crashed, 0),
        (EnvErrorKind::Other, 0),
    ] {
        let (env, policy) = world();
        // `t2` makes the environment fail with `kind`.
        let env = BeforeEachTactic::new(env, move |tactic| match tactic {
            "t2" => Err(EnvError::new(kind, "the environment gave up on t2")),
            _ => Ok(()),
        });
        let outcome = BestFirstSearch::new(config())
            .run(&env, &policy, toy_task("toy"), &CancellationToken::new())
            .await;
        let result = &outcome.result;
        assert_eq!(result.stats.replays, replays, "{kind:?}");
        // t2 never runs, so the other route proves the theorem either way.
        assert_eq!(result.proof.as_deref(), Some(r#"["u1","fin"]"#), "{kind:?}");
        let tree = outcome.tree.as_ref().unwrap();
        let edge = &tree.tactics_from(state(tree, "S1"))[0].2;
        assert_eq!(edge.outcome, EdgeOutcome::Error, "{kind:?}");
        let expected = match kind {
            EnvErrorKind::StateLost => {
                "state lost again after replay: the environment gave up on t2"
            }
            _ => "the environment gave up on t2",
        };
        assert_eq!(edge.message.as_deref(), Some(expected), "{kind:?}");
    }
}
