//! Measures the search's own cost. Ignored by default (timing depends on the machine);
//! run with `cargo test -p search --release -- --ignored --nocapture overhead`.

use std::time::Duration;

use super::config;
use crate::testing::{ToyEnv, ToyPolicy, toy_task};
use crate::{BestFirstSearch, CancellationToken, SearchConfig};

async fn measure(latency: Duration, expansions: usize) -> crate::SearchResult {
    // `double` and `dec` keep the world growing; `half` often meets known states.
    let env = ToyEnv::counting(1_000_003).with_latency(latency);
    let policy = ToyPolicy::constant(&[
        ("double", -0.3),
        ("dec", -0.2),
        ("half", -0.25),
        ("done", -0.1),
    ]);
    let config = SearchConfig {
        max_expansions: expansions,
        max_depth: 10_000,
        ..config()
    };
    BestFirstSearch::new(config)
        .run(&env, &policy, toy_task("bench"), &CancellationToken::new())
        .await
        .result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore = "timing measurement"]
async fn overhead() {
    let result = measure(Duration::ZERO, 20_000).await;
    let s = &result.stats;
    println!(
        "no latency: {} expansions, {} tactics, {} states in {:.3} s; overhead {:.3} s = {:.1} us per expansion",
        result.expansions,
        s.tactics_run,
        s.states,
        result.time_s,
        s.search_overhead_s,
        1e6 * s.search_overhead_s / result.expansions as f64
    );
    let result = measure(Duration::from_millis(1), 300).await;
    let s = &result.stats;
    println!(
        "1 ms per tactic: {} expansions in {:.3} s; env {:.3} s, policy {:.3} s, overhead {:.4} s = {:.2}%",
        result.expansions,
        result.time_s,
        s.env_time_s,
        s.policy_time_s,
        s.search_overhead_s,
        100.0 * s.search_overhead_s / result.time_s
    );
    assert!(s.search_overhead_s / result.time_s < 0.05);
}
