use std::time::Duration;

use super::{config, search};
use crate::testing::{ToyEnv, ToyPolicy, candidate, split_proof, toy_task};
use crate::{
    BestFirstSearch, CancellationToken, Candidate, Policy, PolicyError, PolicyRequest,
    SearchConfig, StopReason,
};

/// `s0 -step-> s1 -step-> … -step-> s{n}`, and `fin` closes `s{n}`: proofs have n+1 tactics.
fn chain(n: usize) -> (ToyEnv, ToyPolicy) {
    let env = ToyEnv::new("s0", move |goals, tactic| {
        let i: usize = goals.trim_start_matches('s').parse().unwrap();
        match tactic {
            "step" if i < n => crate::testing::ToyStep::To(format!("s{}", i + 1)),
            "fin" if i == n => crate::testing::ToyStep::To(String::new()),
            _ => crate::testing::ToyStep::Fail("no".into()),
        }
    });
    let policy = ToyPolicy::constant(&[("step", -0.1), ("fin", -0.2)]);
    (env, policy)
}

#[tokio::test]
async fn stops_at_the_expansion_limit() {
    // `double` always succeeds with a new state: the search never runs out of states.
    let env = ToyEnv::counting(1);
    let policy = ToyPolicy::constant(&[("double", -0.1)]);
    let outcome = search(
        SearchConfig {
            max_expansions: 5,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    let result = &outcome.result;
    assert_eq!(result.stop_reason, StopReason::ExpansionLimit);
    assert!(!result.proved && !result.verified && result.proof.is_none());
    assert_eq!(result.expansions, 5);
    assert_eq!(result.stats.policy_calls, 5);
    assert_eq!(result.stats.tactics_run, 5);
    assert_eq!(result.stats.states, 6);
    assert_eq!(result.stats.max_depth, 5);
    assert_eq!(env.tactic_runs(), 5);
    assert!(result.error.as_deref().unwrap().contains("5 expansions"));
}

#[tokio::test]
async fn depth_limit_bounds_proof_length() {
    // The proof needs 11 tactics.
    let (env, policy) = chain(10);
    let outcome = search(
        SearchConfig {
            max_depth: 10,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    assert_eq!(outcome.result.stop_reason, StopReason::Exhausted);
    assert!(!outcome.result.proved);
    let tree = outcome.tree.unwrap();
    assert_eq!(tree.states().map(|(_, n)| n.depth).max(), Some(10));
    // The state at the limit is kept but never expanded.
    assert!(
        tree.states()
            .all(|(_, n)| n.depth < 10 || n.expanded.is_none())
    );
    assert_eq!(outcome.result.expansions, 10);

    let (env, policy) = chain(10);
    let outcome = search(
        SearchConfig {
            max_depth: 11,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    assert!(outcome.result.success(), "{:?}", outcome.result);
    let proof = split_proof(&outcome.result.proof.unwrap()).unwrap();
    assert_eq!(proof.iter().filter(|t| t.contains("step")).count(), 10);
    assert_eq!(proof.last().map(String::as_str), Some("fin"));
}

/// A policy that ignores `k` and always proposes the same six candidates.
struct Chatty;

impl Policy for Chatty {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        let candidates: Vec<_> = [
            ("dec", -0.1),
            (" dec ", -0.2),
            ("", -0.2),
            ("double", -0.3),
            ("half", -0.4),
            ("done", -0.5),
        ]
        .iter()
        .map(|(t, s)| candidate(t, *s))
        .collect();
        Ok(requests.iter().map(|_| candidates.clone()).collect())
    }
}

#[tokio::test]
async fn candidates_per_expansion_limits_tactics_and_drops_repeats() {
    let env = ToyEnv::counting(3);
    let outcome = BestFirstSearch::new(SearchConfig {
        max_expansions: 1,
        candidates_per_expansion: 2,
        ..config()
    })
    .run(&env, &Chatty, toy_task("t"), &CancellationToken::new())
    .await;
    let tree = outcome.tree.unwrap();
    let tried: Vec<_> = tree
        .tactics_from(tree.root())
        .into_iter()
        .map(|(_, _, e)| (e.tactic.clone(), e.rank))
        .collect();
    // " dec " repeats "dec" and "" is no tactic: the first two distinct tactics run.
    assert_eq!(tried, [("dec".to_owned(), 0), ("double".to_owned(), 1)]);
    assert_eq!(outcome.result.stats.tactics_run, 2);
}

#[tokio::test(start_paused = true)]
async fn stops_at_the_time_limit() {
    // Each tactic takes 1 s; the limit hits in the middle of the sixth.
    let env = ToyEnv::counting(1).with_latency(Duration::from_secs(1));
    let policy = ToyPolicy::constant(&[("double", -0.1)]);
    let outcome = search(
        SearchConfig {
            time_limit_s: 5.5,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    let result = &outcome.result;
    assert_eq!(result.stop_reason, StopReason::TimeLimit);
    assert!((result.time_s - 5.5).abs() < 1e-3, "{}", result.time_s);
    assert_eq!(result.stats.tactics_run, 5);
    assert_eq!(result.expansions, 6);
    assert!((result.stats.env_time_s - 5.5).abs() < 1e-3);
    assert!(result.error.as_deref().unwrap().contains("time limit"));
}

#[tokio::test(start_paused = true)]
async fn reaching_the_first_state_is_not_counted_in_the_time_limit() {
    // Starting takes 4 s (Lean running the file up to the theorem), each tactic 1 s: the
    // 5.5 s of search still run five tactics, and the start is reported on its own.
    let env = ToyEnv::counting(1)
        .with_latency(Duration::from_secs(1))
        .with_start_latency(Duration::from_secs(4));
    let policy = ToyPolicy::constant(&[("double", -0.1)]);
    let outcome = search(
        SearchConfig {
            time_limit_s: 5.5,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    let result = &outcome.result;
    assert_eq!(result.stop_reason, StopReason::TimeLimit);
    assert_eq!(result.stats.tactics_run, 5);
    assert!((result.stats.start_time_s - 4.0).abs() < 1e-3, "{result:?}");
    assert!((result.time_s - 9.5).abs() < 1e-3, "{}", result.time_s);
    assert!((result.stats.env_time_s - 9.5).abs() < 1e-3);
    // A start slower than the whole limit still gets its search.
    let env = ToyEnv::counting(1).with_start_latency(Duration::from_secs(60));
    let policy = ToyPolicy::constant(&[("fin", -0.1)]);
    let outcome = search(
        SearchConfig {
            time_limit_s: 5.0,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    assert_ne!(outcome.result.stop_reason, StopReason::TimeLimit);
    assert!(outcome.result.stats.tactics_run > 0);
}

#[tokio::test(start_paused = true)]
async fn time_is_split_between_policy_env_and_overhead() {
    let env = ToyEnv::counting(1).with_latency(Duration::from_secs(1));
    let policy = ToyPolicy::constant(&[("double", -0.1), ("half", -0.2)])
        .with_latency(Duration::from_millis(500));
    let outcome = search(
        SearchConfig {
            max_expansions: 3,
            ..config()
        },
        &env,
        &policy,
    )
    .await;
    let stats = &outcome.result.stats;
    // 3 expansions of 2 tactics each.
    assert_eq!(stats.tactics_run, 6);
    assert!((stats.policy_time_s - 1.5).abs() < 1e-3, "{stats:?}");
    assert!((stats.env_time_s - 6.0).abs() < 1e-3, "{stats:?}");
    assert!((outcome.result.time_s - 7.5).abs() < 1e-3, "{stats:?}");
    // The paused clock does not move during the search's own work.
    assert!(stats.search_overhead_s < 1e-3, "{stats:?}");
}

#[tokio::test]
async fn exhausted_states_are_asked_again_for_the_candidates_after_their_first_k() {
    let env = ToyEnv::from_table("R", &[("R", "good", "A"), ("A", "done", "")]);
    let policy = ToyPolicy::from_table(&[
        ("R", &[("bad1", -0.1), ("bad2", -0.2), ("good", -0.3)]),
        ("A", &[("done", -0.1)]),
    ]);
    let limits = |rounds| SearchConfig {
        candidates_per_expansion: 2,
        rounds,
        ..config()
    };
    // One round: `good` is third, past k = 2, and the tree runs out.
    let once = search(limits(1), &env, &policy).await.result;
    assert_eq!(once.stop_reason, StopReason::Exhausted);
    assert_eq!(once.stats.rounds, 0);
    // Two rounds: the root is asked again and gives `good` (skipping what it gave first).
    let twice = search(limits(2), &env, &policy).await.result;
    assert_eq!(twice.stop_reason, StopReason::Proved, "{twice:?}");
    assert_eq!(twice.stats.rounds, 1);
    assert!(twice.proof.as_deref().unwrap().contains("good"));
    // Nothing was run twice on a state.
    assert_eq!(twice.stats.tactics_run, 4);
}

/// A policy that proposes `dec` and records the path each request came with.
struct PathRecorder(std::sync::Mutex<Vec<(String, Vec<String>)>>);

impl Policy for PathRecorder {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        let mut seen = self.0.lock().unwrap();
        for r in &requests {
            seen.push((r.goals.clone(), r.path.clone()));
        }
        Ok(requests
            .iter()
            .map(|_| vec![candidate("dec", -0.1)])
            .collect())
    }
}

#[tokio::test]
async fn each_request_carries_the_proof_so_far() {
    let env = ToyEnv::counting(3);
    let policy = PathRecorder(std::sync::Mutex::new(Vec::new()));
    let outcome = BestFirstSearch::new(config())
        .run(&env, &policy, toy_task("t"), &CancellationToken::new())
        .await;
    assert_eq!(outcome.result.stats.policy_calls, 4);
    let seen = policy.0.into_inner().unwrap();
    // Counting down from 3 by `dec` alone: the states 3, 2, 1, 0 are asked with 0, 1, 2 and 3
    // `dec`s behind them.
    let paths: Vec<usize> = seen.iter().map(|(_, p)| p.len()).collect();
    assert_eq!(paths, [0, 1, 2, 3], "{seen:?}");
    assert!(seen.iter().all(|(_, p)| p.iter().all(|t| t == "dec")));
}
