//! `prover bench`: speed figures measured side by side in one run (never in timed tests:
//! machines are shared and noisy, so ratios measured together are what we compare).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use futures::StreamExt;
use lean_bridge::{LeanPool, SandboxMode, TacticResult};
use problems::{ProblemFile, Theorem};
use search::{
    BatchingConfig, BatchingPolicy, BestFirstSearch, CancellationToken, ProofTask, SearchConfig,
    SearchResult,
};

use crate::lean_opts::LeanOpts;
use crate::output::percentile;
use crate::policy::PolicyChoice;
use crate::replay::replay_steps;
use lean_env::LeanEnv;
use lean_env::theorem_context;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand, Debug)]
pub enum BenchWhat {
    /// The Lean bridge: worker start-up, overhead per tactic (round trip minus Lean's own
    /// time), and tactics per second for 1 and 2 workers replaying known proofs.
    Bridge(BridgeBenchArgs),
    /// The search: theorems per minute with --jobs 1 and 2 (heuristic policy), and the
    /// search's own overhead as a share of wall time.
    Search(SearchBenchArgs),
    /// The model: prefill/decode speed on CPU of a random ~100M-parameter InternLM2, against
    /// PyTorch on the same machine, and the speed-up from reusing a shared prompt prefix.
    Model(crate::model_bench::ModelBenchArgs),
    /// The model behind `prover serve`: what the HTTP path adds per request on loopback, and
    /// expansions per minute of two prove processes sharing one server against one process
    /// with the model in-process.
    Serve(crate::serve_bench::ServeBenchArgs),
    /// Long runs: N tactics through one worker and N edits with suggestion requests through
    /// the language server, memory and latency at the start and the end side by side.
    Soak(crate::soak_bench::SoakBenchArgs),
}

#[derive(Args, Debug)]
pub struct BridgeBenchArgs {
    /// Files whose proofs are replayed (default: problems/core).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Rounds of replaying every proof per measurement.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,

    #[command(flatten)]
    pub lean: LeanOpts,
}

#[derive(Args, Debug)]
pub struct SearchBenchArgs {
    /// Files whose theorems are proved (default: problems/core).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Most expansions per theorem.
    #[arg(long, default_value_t = 100)]
    pub expansions: usize,

    #[command(flatten)]
    pub lean: LeanOpts,
}

pub async fn run(args: BenchArgs) -> Result<bool> {
    match args.what {
        BenchWhat::Bridge(a) => bridge(a).await,
        BenchWhat::Search(a) => search_bench(a).await,
        BenchWhat::Model(a) => tokio::task::spawn_blocking(move || crate::model_bench::run(&a))
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r),
        BenchWhat::Serve(a) => crate::serve_bench::run(a).await,
        BenchWhat::Soak(a) => crate::soak_bench::run(a).await,
    }
    .map(|_| true)
}

fn default_files(files: Vec<PathBuf>) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![problems::core_dir()]
    } else {
        files
    }
}

fn load_one_group(lean: &LeanOpts, files: Vec<PathBuf>) -> Result<Vec<ProblemFile>> {
    let files = lean.load(&default_files(files))?;
    let imports = &files[0].header.imports;
    if files.iter().any(|f| &f.header.imports != imports) {
        bail!("benchmark files must share their imports (use --header)");
    }
    Ok(files)
}

/// Replays every proof's steps; returns (tactics run, per-tactic overheads in seconds).
async fn replay_all(
    pool: &LeanPool,
    theorems: &[(&ProblemFile, usize)],
    concurrency: usize,
) -> Result<(usize, Vec<f64>)> {
    let results: Vec<Result<(usize, Vec<f64>)>> = futures::stream::iter(theorems.iter())
        .map(|&(f, i)| async move {
            let t: &Theorem = &f.theorems[i];
            let steps = replay_steps(t).unwrap_or_default();
            let context = theorem_context(f, i, &format!("{}\n{}", t.statement, t.proof.text()));
            // A statement that does not elaborate (or a proof that fails) is skipped: the
            // benchmark measures the bridge, not the problem set.
            let Ok(start) = pool.start(&context, &t.statement).await else {
                return Ok((0, Vec::new()));
            };
            let mut state = start.state.clone();
            let mut n = 0;
            let mut overheads = Vec::new();
            for (tactic, _) in steps {
                // A tactic past the wall clock restarts the worker: stop this proof there.
                let Ok((r, timing)) = pool.run_timed(&state, &tactic).await else {
                    break;
                };
                n += 1;
                if let Some(lean) = timing.lean {
                    overheads.push(timing.round_trip.saturating_sub(lean).as_secs_f64());
                }
                match r {
                    TacticResult::Success { state: s, .. } => state = s,
                    TacticResult::Failed { .. } => break,
                }
            }
            pool.drop_proof(&start.state).await;
            Ok((n, overheads))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut total = 0;
    let mut all = Vec::new();
    for r in results {
        let (n, o) = r?;
        total += n;
        all.extend(o);
    }
    Ok((total, all))
}

async fn bridge(args: BridgeBenchArgs) -> Result<()> {
    let files = load_one_group(&args.lean, args.files)?;
    let theorems = crate::replay::replayable_theorems(&files);
    let imports = files[0].header.imports.clone();
    let near = files[0].path.clone();
    println!(
        "bridge benchmark: {} proofs, imports: {}",
        theorems.len(),
        if imports.is_empty() {
            "core".to_string()
        } else {
            imports.join(" ")
        }
    );

    // Start-up: a fresh worker loading the imports (the REPL is compiled already), with the
    // sandbox as asked and without it, alternating so that both see the same machine.
    let sandbox = args.lean.sandbox;
    println!(
        "sandbox: {} ({})",
        sandbox,
        lean_bridge::sandbox::describe(sandbox)
    );
    let modes = if sandbox == SandboxMode::Off {
        vec![SandboxMode::Off]
    } else {
        vec![sandbox, SandboxMode::Off]
    };
    let mut startups: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for _ in 0..3 {
        for (i, mode) in modes.iter().enumerate() {
            let mut config = args.lean.pool_config(&imports, near.as_deref());
            config.workers = 1;
            config.sandbox = *mode;
            let t = Instant::now();
            let pool = LeanPool::new(config).await?;
            startups[i].push(t.elapsed().as_secs_f64());
            pool.shutdown().await;
        }
    }
    for (mode, times) in modes.iter().zip(&mut startups) {
        times.sort_by(f64::total_cmp);
        println!(
            "worker start-up, sandbox {mode:<7} (median of 3)  {:.3} s",
            times[1]
        );
    }

    let mut rates = Vec::new();
    for (workers, mode) in [(1usize, sandbox), (2, sandbox), (1, SandboxMode::Off)] {
        if mode == SandboxMode::Off && sandbox == SandboxMode::Off && !rates.is_empty() {
            // Unconfined already: the third run would repeat the first.
            break;
        }
        let mut config = args.lean.pool_config(&imports, near.as_deref());
        config.workers = workers;
        config.timed = true;
        config.sandbox = mode;
        let pool = LeanPool::new(config).await?;
        // Warm-up round (contexts cached, code paths hot).
        replay_all(&pool, &theorems, workers).await?;
        let t = Instant::now();
        let mut tactics = 0;
        let mut overheads = Vec::new();
        for _ in 0..args.rounds {
            let (n, o) = replay_all(&pool, &theorems, workers).await?;
            tactics += n;
            overheads.extend(o);
        }
        let secs = t.elapsed().as_secs_f64();
        pool.shutdown().await;
        overheads.sort_by(f64::total_cmp);
        let rate = tactics as f64 / secs;
        rates.push(rate);
        println!(
            "pool of {workers}, sandbox {mode}: {tactics} tactics in {secs:.2} s = {rate:.1} tactics/s; \
             overhead per tactic median {:.3} ms, p90 {:.3} ms ({} timed)",
            percentile(&overheads, 0.5) * 1e3,
            percentile(&overheads, 0.9) * 1e3,
            overheads.len()
        );
    }
    println!(
        "speed-up of 2 workers over 1: {:.2}x (on {} CPU cores)",
        rates[1] / rates[0],
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    Ok(())
}

async fn search_bench(args: SearchBenchArgs) -> Result<()> {
    let files = load_one_group(&args.lean, args.files)?;
    let tasks: Vec<ProofTask> = files
        .iter()
        .flat_map(|f| f.theorems.iter().enumerate().map(move |(i, t)| (f, i, t)))
        .map(|(f, i, t)| ProofTask {
            name: t.name.clone(),
            statement: t.statement.clone(),
            context: theorem_context(f, i, &t.statement),
        })
        .collect();
    let imports = files[0].header.imports.clone();
    let near = files[0].path.clone();
    let search = BestFirstSearch::new(SearchConfig {
        max_expansions: args.expansions,
        ..SearchConfig::default()
    });
    println!(
        "search benchmark: {} theorems, heuristic policy",
        tasks.len()
    );
    let mut per_minute = Vec::new();
    for jobs in [1usize, 2] {
        let mut config = args.lean.pool_config(&imports, near.as_deref());
        config.workers = jobs;
        let pool = Arc::new(LeanPool::new(config).await?);
        let env = Arc::new(LeanEnv::new(pool.clone()));
        let policy = PolicyChoice::heuristic().build(&pool).await?;
        let policy = Arc::new(BatchingPolicy::new(policy, BatchingConfig::default()));
        let mut results: Vec<SearchResult> = Vec::new();
        let t = Instant::now();
        search::run_many(
            &search,
            env,
            policy,
            tasks.clone(),
            jobs,
            &CancellationToken::new(),
            |o| results.push(o.result),
        )
        .await;
        let wall = t.elapsed();
        pool.shutdown().await;
        let proved = results.iter().filter(|r| r.success()).count();
        let time: f64 = results.iter().map(|r| r.time_s).sum();
        let overhead: f64 = results.iter().map(|r| r.stats.search_overhead_s).sum();
        let policy_s: f64 = results.iter().map(|r| r.stats.policy_time_s).sum();
        let env_s: f64 = results.iter().map(|r| r.stats.env_time_s).sum();
        let rate = results.len() as f64 / wall.as_secs_f64() * 60.0;
        per_minute.push(rate);
        println!(
            "--jobs {jobs}: proved {proved}/{} in {:.1} s = {rate:.1} theorems/min; \
             search overhead {:.2}% of search time (Lean {:.1}%, policy {:.1}%)",
            results.len(),
            wall.as_secs_f64(),
            100.0 * overhead / time.max(1e-9),
            100.0 * env_s / time.max(1e-9),
            100.0 * policy_s / time.max(1e-9),
        );
    }
    println!(
        "theorems/min ratio --jobs 2 / --jobs 1: {:.2}x",
        per_minute[1] / per_minute[0]
    );
    Ok(())
}
