use std::time::Duration;

use super::{config, search};
use crate::testing::{ToyEnv, ToyPolicy, toy_task};
use crate::{BestFirstSearch, CancellationToken, EdgeOutcome, NodeStatus, StopReason};

/// R has a failing tactic, a dead end and a two-step proof.
fn branching_world() -> (ToyEnv, ToyPolicy) {
    let env = ToyEnv::from_table(
        "a b : ℕ\n⊢ a + b = b + a",
        &[
            (
                "a b : ℕ\n⊢ a + b = b + a",
                "intros",
                "a b : ℕ\n⊢ a + b = b + a",
            ),
            (
                "a b : ℕ\n⊢ a + b = b + a",
                "induction a",
                "case zero\n⊢ 0 + b = b + 0\n\ncase succ\n⊢ a.succ + b = b + a.succ",
            ),
            (
                "case zero\n⊢ 0 + b = b + 0\n\ncase succ\n⊢ a.succ + b = b + a.succ",
                "simp",
                "case succ\n⊢ a.succ + b = b + a.succ",
            ),
            (
                "case succ\n⊢ a.succ + b = b + a.succ",
                "rw [nat.succ_add, add_comm]",
                "",
            ),
        ],
    )
    .with_axioms(&["propext"]);
    let policy = ToyPolicy::from_table(&[
        (
            "a b : ℕ\n⊢ a + b = b + a",
            &[("ring_nf", -0.05), ("intros", -0.1), ("induction a", -0.3)],
        ),
        (
            "case zero\n⊢ 0 + b = b + 0\n\ncase succ\n⊢ a.succ + b = b + a.succ",
            &[("simp", -0.2)],
        ),
        (
            "case succ\n⊢ a.succ + b = b + a.succ",
            &[("linarith", -0.1), ("rw [nat.succ_add, add_comm]", -0.4)],
        ),
    ]);
    (env, policy)
}

#[tokio::test]
async fn the_proof_is_the_tactic_path_to_no_goals_and_is_verified() {
    let (env, policy) = branching_world();
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    let expected = r#"["induction a","simp","rw [nat.succ_add, add_comm]"]"#;
    assert!(result.proved && result.verified && result.success());
    assert_eq!(result.stop_reason, StopReason::Proved);
    assert_eq!(result.proof.as_deref(), Some(expected));
    assert_eq!(result.error, None);
    assert_eq!(result.axioms, ["propext"]);
    assert_eq!(env.verified_proofs(), [expected]);
    // ring_nf and linarith failed; intros led back to the root.
    assert_eq!(result.stats.tactics_failed, 2);
    assert_eq!(result.stats.duplicates, 1);
    assert_eq!(result.stats.verifications, 1);

    let tree = outcome.tree.unwrap();
    let proved = tree.verified_proof().unwrap();
    assert_eq!(tree.node(proved).status, NodeStatus::Proved);
    assert_eq!(tree.node(proved).num_goals, 0);
    assert_eq!(tree.node(proved).depth, 3);
    assert!((tree.node(proved).score - -0.9).abs() < 1e-9);
    let root_tactics = tree.tactics_from(tree.root());
    assert_eq!(root_tactics[0].2.outcome, EdgeOutcome::Failed);
    assert_eq!(root_tactics[0].1, tree.failed_sink());
    assert_eq!(
        root_tactics[0].2.message.as_deref(),
        Some("unknown tactic `ring_nf`")
    );
    // `intros` changed nothing: an edge from the root to itself.
    assert_eq!(root_tactics[1].1, tree.root());
    assert_eq!(root_tactics[1].2.outcome, EdgeOutcome::Duplicate);
}

/// `cheat` closes the goal at once and scores best, but fails verification.
fn world_with_cheat(honest_proof: bool) -> (ToyEnv, ToyPolicy) {
    let mut table = vec![("R", "cheat", ""), ("R", "a", "A"), ("A", "cheat", "")];
    if honest_proof {
        table.push(("A", "b", ""));
    }
    let env = ToyEnv::from_table("R", &table).unsound("cheat");
    let policy = ToyPolicy::from_table(&[
        ("R", &[("cheat", -0.01), ("a", -0.5)]),
        ("A", &[("cheat", -0.01), ("b", -0.5)]),
    ]);
    (env, policy)
}

#[tokio::test]
async fn a_proof_failing_verification_is_not_reported_and_the_search_goes_on() {
    let (env, policy) = world_with_cheat(true);
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    assert!(result.success(), "{result:?}");
    assert_eq!(result.proof.as_deref(), Some(r#"["a","b"]"#));
    // Both cheats were checked and rejected before the honest proof.
    assert_eq!(result.stats.verifications, 3);
    assert_eq!(result.stats.verification_failures, 2);
    assert_eq!(
        env.verified_proofs(),
        [r#"["cheat"]"#, r#"["a","cheat"]"#, r#"["a","b"]"#]
    );
    let tree = outcome.tree.unwrap();
    let rejected: Vec<_> = tree
        .states()
        .filter(|(_, n)| n.verification.as_ref().is_some_and(|v| !v.ok))
        .collect();
    assert_eq!(rejected.len(), 2);
    assert!(rejected.iter().all(|(_, n)| n.status == NodeStatus::Proved));
}

#[tokio::test]
async fn only_rejected_proofs_make_a_failure_with_the_verifier_reason() {
    let (env, policy) = world_with_cheat(false);
    let outcome = search(config(), &env, &policy).await;
    let result = &outcome.result;
    assert!(result.proved);
    assert!(!result.verified);
    assert!(!result.success());
    assert_eq!(result.stop_reason, StopReason::Exhausted);
    assert_eq!(result.proof.as_deref(), Some(r#"["a","cheat"]"#));
    let error = result.error.as_deref().unwrap();
    assert!(
        error.contains("failed verification") && error.contains("`cheat` is not sound"),
        "{error}"
    );
    assert!(outcome.tree.unwrap().verified_proof().is_none());
}

#[tokio::test]
async fn a_statement_that_does_not_start_is_a_failure() {
    let env = ToyEnv::counting(3).fail_starts_after(0);
    let policy = ToyPolicy::constant(&[("dec", -0.1)]);
    let outcome = search(config(), &env, &policy).await;
    assert_eq!(outcome.result.stop_reason, StopReason::StartFailed);
    assert!(outcome.tree.is_none());
    assert!(
        outcome
            .result
            .error
            .as_deref()
            .unwrap()
            .contains("lean is gone")
    );
    assert!(policy.batch_sizes().is_empty());
}

#[tokio::test]
async fn a_failed_generation_costs_an_expansion_not_the_theorem() {
    // Every third call fails: each failure costs its expansion, the state is asked again, and
    // the search goes on to the proof the policy's answers lead to.
    let env = ToyEnv::counting(3);
    let candidates = [("dec", -0.1), ("done", -0.2)];
    let policy = ToyPolicy::constant(&candidates).failing_every(3, "server fault");
    let outcome = search(config(), &env, &policy).await;
    assert_eq!(
        outcome.result.stop_reason,
        StopReason::Proved,
        "{:?}",
        outcome.result
    );
    let stats = &outcome.result.stats;
    assert!(stats.policy_failures >= 1, "{stats:?}");
    assert_eq!(stats.policy_calls, outcome.result.expansions);
    // The same world without faults: the same proof, in fewer expansions.
    let clean = search(config(), &env, &ToyPolicy::constant(&candidates)).await;
    assert_eq!(clean.result.proof, outcome.result.proof);
    assert_eq!(
        clean.result.expansions + stats.policy_failures,
        outcome.result.expansions
    );
}

#[tokio::test]
async fn a_policy_that_keeps_failing_ends_the_search() {
    let env = ToyEnv::counting(3);
    let policy = ToyPolicy::constant(&[("dec", -0.1)]).failing("out of memory");
    let outcome = search(config(), &env, &policy).await;
    assert_eq!(outcome.result.stop_reason, StopReason::PolicyFailed);
    assert!(
        outcome
            .result
            .error
            .as_deref()
            .unwrap()
            .contains("out of memory")
    );
    // The root was asked twice, then given up: the policy kept failing.
    assert_eq!(outcome.result.stats.policy_failures, 2);
    assert_eq!(outcome.result.expansions, 2);
    let tree = outcome.tree.unwrap();
    assert_eq!(tree.node(tree.root()).status, NodeStatus::Dead);
    assert_eq!(env.live_states(), 0);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_a_running_search_promptly() {
    // A tactic takes 100 s; the search is cancelled 3 s in, while the first one runs.
    let env = ToyEnv::counting(1).with_latency(Duration::from_secs(100));
    let policy = ToyPolicy::constant(&[("double", -0.1)]);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        trigger.cancel();
    });
    let outcome = BestFirstSearch::new(config())
        .run(&env, &policy, toy_task("t"), &cancel)
        .await;
    let result = &outcome.result;
    assert_eq!(result.stop_reason, StopReason::Cancelled);
    assert!((result.time_s - 3.0).abs() < 1e-3, "{}", result.time_s);
    assert_eq!(result.stats.tactics_run, 0);
    assert_eq!(result.expansions, 1);
    // What it had is returned: the root, released.
    assert_eq!(outcome.tree.unwrap().state_count(), 1);
    assert_eq!(env.live_states(), 0);
}

#[tokio::test]
async fn a_search_cancelled_before_it_starts_does_nothing() {
    let (env, policy) = branching_world();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = BestFirstSearch::new(config())
        .run(&env, &policy, toy_task("t"), &cancel)
        .await;
    assert_eq!(outcome.result.stop_reason, StopReason::Cancelled);
    assert!(policy.batch_sizes().is_empty());
    assert_eq!(env.tactic_runs(), 0);
}
