use std::sync::Arc;
use std::time::Duration;

use super::config;
use crate::testing::{ToyEnv, ToyPolicy, candidate, count_goal, toy_task};
use crate::{
    BatchingConfig, BatchingError, BatchingPolicy, BestFirstSearch, CancellationToken, Candidate,
    Policy, PolicyError, PolicyErrorKind, PolicyRequest, ProofTask, SearchOutcome, StopReason,
    run_many,
};

fn counting_policy() -> ToyPolicy {
    ToyPolicy::constant(&[("done", -0.1), ("half", -0.2), ("dec", -0.5)])
}

fn task(name: &str) -> ProofTask {
    toy_task(name).as_ref().clone()
}

#[tokio::test(start_paused = true)]
async fn concurrent_searches_share_batches() {
    let policy = Arc::new(BatchingPolicy::new(
        counting_policy(),
        BatchingConfig::default(),
    ));
    let env = Arc::new(ToyEnv::counting(12));
    let mut outcomes = Vec::new();
    run_many(
        &BestFirstSearch::new(config()),
        env,
        policy.clone(),
        ["a", "b", "c", "d"].map(task),
        4,
        &CancellationToken::new(),
        |outcome| outcomes.push(outcome),
    )
    .await;
    assert_eq!(outcomes.len(), 4);
    let mut names: Vec<_> = outcomes.iter().map(|o| o.result.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert!(outcomes.iter().all(|o| o.result.success()));

    let requests: usize = outcomes.iter().map(|o| o.result.stats.policy_calls).sum();
    let inner = policy.inner().batch_sizes();
    let stats = policy.stats();
    assert_eq!(inner.iter().sum::<usize>(), requests);
    assert_eq!(stats.requests, requests);
    assert_eq!(stats.batches, inner.len());
    // The four identical searches advance in lockstep: every batch holds all four.
    assert_eq!(stats.largest_batch, 4);
    assert_eq!(inner.len() * 4, requests, "{inner:?}");
    assert_eq!(policy.active_searches(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_slow_search_does_not_hold_up_the_others() {
    let policy = Arc::new(BatchingPolicy::new(
        counting_policy(),
        BatchingConfig::default(),
    ));
    let slow_env = Arc::new(ToyEnv::counting(12).with_latency(Duration::from_secs(10)));
    let fast_env = Arc::new(ToyEnv::counting(12));
    let spawn = |env: Arc<ToyEnv>, name: &str| {
        let (policy, task) = (policy.clone(), toy_task(name));
        tokio::spawn(async move {
            BestFirstSearch::new(config())
                .run(
                    env.as_ref(),
                    policy.as_ref(),
                    task,
                    &CancellationToken::new(),
                )
                .await
        })
    };
    let slow = spawn(slow_env, "slow");
    let fast = spawn(fast_env, "fast");
    let fast: SearchOutcome = fast.await.unwrap();
    let slow: SearchOutcome = slow.await.unwrap();
    assert!(fast.result.success() && slow.result.success());
    // The fast search waits at most the idle time (2 ms) per expansion for the slow one.
    let fast_stats = &fast.result.stats;
    assert!(
        fast.result.time_s <= 0.002 * fast_stats.policy_calls as f64 + 1e-6,
        "{:?}",
        fast.result
    );
    assert!(slow.result.time_s >= 10.0 * slow.result.stats.tactics_run as f64);
}

#[tokio::test]
async fn each_caller_gets_the_answers_to_its_own_requests() {
    let echo = ToyPolicy::new(|goals| vec![candidate(&format!("tactic for {goals}"), -1.0)]);
    let policy = Arc::new(BatchingPolicy::new(
        echo,
        BatchingConfig {
            max_batch_size: 4,
            idle_wait_ms: 20.0,
            max_wait_ms: 100.0,
        },
    ));
    let request = |n: u64| PolicyRequest {
        task: toy_task("t"),
        goals: count_goal(n),
        k: 1,
        skip: 0,
        path: Vec::new(),
    };
    let mut callers = Vec::new();
    for caller in 0..6u64 {
        let policy = policy.clone();
        // Callers ask for one or two states at once.
        let requests: Vec<_> = (0..1 + caller % 2)
            .map(|i| request(caller * 10 + i))
            .collect();
        callers.push(tokio::spawn(async move {
            let expected: Vec<_> = requests
                .iter()
                .map(|r| format!("tactic for {}", r.goals))
                .collect();
            let answer = policy.propose(requests).await.unwrap();
            let got: Vec<_> = answer.into_iter().map(|c| c[0].tactic.clone()).collect();
            assert_eq!(got, expected);
        }));
    }
    for caller in callers {
        caller.await.unwrap();
    }
    let sizes = policy.inner().batch_sizes();
    assert_eq!(sizes.iter().sum::<usize>(), 9);
    assert!(sizes.iter().all(|&s| s <= 4), "{sizes:?}");
    assert!(sizes.len() < 6, "{sizes:?}");
}

#[tokio::test]
async fn a_failing_inner_policy_fails_every_search_in_the_batch() {
    let policy = Arc::new(BatchingPolicy::new(
        counting_policy().failing("device lost"),
        BatchingConfig::default(),
    ));
    let mut outcomes = Vec::new();
    run_many(
        &BestFirstSearch::new(config()),
        Arc::new(ToyEnv::counting(5)),
        policy,
        ["a", "b", "c"].map(task),
        3,
        &CancellationToken::new(),
        |outcome| outcomes.push(outcome.result),
    )
    .await;
    assert_eq!(outcomes.len(), 3);
    for result in outcomes {
        assert_eq!(result.stop_reason, StopReason::PolicyFailed);
        let error = result.error.as_deref().unwrap();
        assert!(
            error.starts_with("policy failed: device lost") && error.ends_with("in a row)"),
            "{error}"
        );
        assert_eq!(result.stats.policy_failures, 2);
    }
}

#[tokio::test]
async fn every_caller_gets_the_inner_policys_kind_and_source() {
    let policy = BatchingPolicy::new(
        counting_policy().failing("device lost"),
        BatchingConfig::default(),
    );
    let request = PolicyRequest {
        task: toy_task("a"),
        goals: count_goal(3),
        k: 2,
        skip: 0,
        path: Vec::new(),
    };
    let (first, second) = tokio::join!(
        policy.propose(vec![request.clone()]),
        policy.propose(vec![request])
    );
    for error in [first.unwrap_err(), second.unwrap_err()] {
        assert_eq!(error.kind(), PolicyErrorKind::Failed);
        assert_eq!(error.get_ref().to_string(), "device lost");
        assert_eq!(error.to_string(), "policy failed: device lost");
    }
}

/// A policy that answers one candidate list whatever it is asked.
struct OneList;

impl Policy for OneList {
    async fn propose(
        &self,
        _requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        Ok(vec![vec![candidate("done", -0.1)]])
    }
}

#[tokio::test]
async fn an_answer_that_does_not_fit_the_batch_is_a_bad_answer() {
    let policy = BatchingPolicy::new(OneList, BatchingConfig::default());
    let request = PolicyRequest {
        task: toy_task("a"),
        goals: count_goal(3),
        k: 2,
        skip: 0,
        path: Vec::new(),
    };
    let error = policy
        .propose(vec![request.clone(), request])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), PolicyErrorKind::BadAnswer);
    assert!(matches!(
        error.get_ref().downcast_ref::<BatchingError>(),
        Some(BatchingError::WrongAnswerCount {
            answered: 1,
            asked: 2
        })
    ));
    assert_eq!(
        error.to_string(),
        "policy failed: policy answered 1 of 2 requests in a batch"
    );
}

#[tokio::test(start_paused = true)]
async fn run_many_limits_concurrency_and_honours_cancellation() {
    let policy = Arc::new(BatchingPolicy::new(
        ToyPolicy::constant(&[("double", -0.1)]),
        BatchingConfig::default(),
    ));
    let env = Arc::new(ToyEnv::counting(1).with_latency(Duration::from_secs(1)));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        trigger.cancel();
    });
    let mut outcomes = Vec::new();
    run_many(
        &BestFirstSearch::new(config()),
        env,
        policy.clone(),
        ["a", "b", "c", "d", "e"].map(task),
        2,
        &cancel,
        |outcome| outcomes.push(outcome.result),
    )
    .await;
    // Two searches ran and were cancelled; the other three never started.
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|r| r.stop_reason == StopReason::Cancelled)
    );
    assert!(
        outcomes.iter().all(|r| (r.time_s - 2.5).abs() < 0.01),
        "{outcomes:?}"
    );
    assert_eq!(policy.active_searches(), 0);
}

/// A policy whose requests fail one by one: a request for a task named `bad…` fails, the
/// others get one candidate.
struct FailsSome;

impl Policy for FailsSome {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        self.propose_each(requests).await.into_iter().collect()
    }

    async fn propose_each(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Vec<Result<Vec<Candidate>, PolicyError>> {
        requests
            .iter()
            .map(|r| {
                if r.task.name.starts_with("bad") {
                    Err(PolicyError::new(
                        PolicyErrorKind::Unavailable,
                        "server fault",
                    ))
                } else {
                    Ok(vec![candidate("done", -0.1)])
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn a_request_that_fails_fails_only_its_caller_not_the_batch() {
    let policy = Arc::new(BatchingPolicy::new(
        FailsSome,
        BatchingConfig {
            idle_wait_ms: 5_000.0,
            max_wait_ms: 5_000.0,
            ..BatchingConfig::default()
        },
    ));
    let request = |name: &str| PolicyRequest {
        task: toy_task(name),
        goals: count_goal(3),
        k: 2,
        skip: 0,
        path: Vec::new(),
    };
    // Three callers in one batch (the middle one asking two states, one of which fails).
    for _ in 0..3 {
        policy.search_started();
    }
    let (a, b, c) = tokio::join!(
        policy.propose(vec![request("a")]),
        policy.propose(vec![request("b"), request("bad")]),
        policy.propose(vec![request("c")]),
    );
    assert_eq!(policy.stats().batches, 1);
    assert_eq!(a.unwrap()[0][0].tactic, "done");
    assert_eq!(b.unwrap_err().kind(), PolicyErrorKind::Unavailable);
    assert_eq!(c.unwrap()[0][0].tactic, "done");
}
