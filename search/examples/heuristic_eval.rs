//! Measures the built-in heuristic policy against real Lean 3.
//!
//! Runs `BestFirstSearch` with `HeuristicPolicy` over a `ProofEnv` implemented on
//! `lean_bridge::LeanPool`, on our core problem set or on MiniF2F statements, and prints one
//! line per theorem plus a summary.
//!
//! ```sh
//! # core set (needs Lean 3: LEAN_HOME=/opt/lean3/src)
//! cargo run -p search --release --example heuristic_eval -- core
//! # MiniF2F valid statements under the smaller mathlib header
//! cargo run -p search --release --example heuristic_eval -- minif2f \
//!     --project /opt/minif2f --file /work/shared/minif2f/valid.lean --time-limit 60
//! # print the states along each theorem's own proof (to look at what Lean prints)
//! cargo run -p search --example heuristic_eval -- core --states --only nat_
//! ```
//!
//! Options: `--workers N` (Lean processes, default 2), `--only A,B` (theorems whose name
//! contains one of these), `--limit N`, `--time-limit S` (per theorem), `--expansions N`, `--out FILE`
//! (JSON lines of the search results), `--states`, `--trace` (print the expanded states and
//! their tactics' outcomes for theorems not proved).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lean_bridge::{LeanError, LeanPool, PoolConfig, StateRef, TacticResult};
use search::heuristic::{HeuristicPolicy, TacticSet};
use search::{
    BestFirstSearch, CancellationToken, EnvError, EnvState, ProofEnv, ProofTask, SearchConfig,
    TacticOutcome, Verification, run_many,
};

/// A `ProofEnv` over a pool of Lean workers.
struct LeanEnv {
    pool: LeanPool,
}

fn env_state(state: StateRef, goals: &[String], pp: String) -> EnvState<StateRef> {
    EnvState {
        handle: state,
        goals: if goals.is_empty() { String::new() } else { pp },
        num_goals: goals.len(),
    }
}

impl ProofEnv for LeanEnv {
    type Handle = StateRef;

    async fn start(&self, task: &ProofTask) -> Result<EnvState<StateRef>, EnvError> {
        match self.pool.start(&task.context, &task.statement).await {
            Ok(start) => Ok(env_state(start.state, &start.goals, start.pp)),
            Err(e @ LeanError::Elaboration { .. }) => Err(EnvError::Statement(e.to_string())),
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }

    async fn run_tactic(
        &self,
        state: &StateRef,
        tactic: &str,
    ) -> Result<TacticOutcome<StateRef>, EnvError> {
        match self.pool.run(state, tactic).await {
            Ok(TacticResult::Success { state, goals, pp }) => {
                Ok(TacticOutcome::Success(env_state(state, &goals, pp)))
            }
            Ok(TacticResult::Failed { message, .. }) => Ok(TacticOutcome::Failed { message }),
            Err(LeanError::StateLost(m)) => Err(EnvError::StateLost(m)),
            // The worker was restarted: the tactic failed, and the state is gone with it
            // (the next tactic on it reports it lost).
            Err(e @ (LeanError::Timeout(_) | LeanError::Crashed { .. })) => {
                Ok(TacticOutcome::Failed {
                    message: e.to_string(),
                })
            }
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }

    async fn release(&self, states: Vec<StateRef>) {
        self.pool.drop_states(&states).await;
    }

    async fn verify(&self, task: &ProofTask, proof: &str) -> Result<Verification, EnvError> {
        match self
            .pool
            .verify(&task.context, &task.statement, proof)
            .await
        {
            Ok(v) => Ok(Verification {
                ok: v.ok,
                errors: v.errors,
                axioms: v.axioms,
            }),
            Err(e @ LeanError::Elaboration { .. }) => Err(EnvError::Statement(e.to_string())),
            Err(e) => Err(EnvError::Other(e.to_string())),
        }
    }
}

struct Args {
    set: String,
    file: Option<PathBuf>,
    project: Option<PathBuf>,
    workers: usize,
    only: Option<String>,
    limit: Option<usize>,
    time_limit: f64,
    expansions: usize,
    out: Option<PathBuf>,
    states: bool,
    trace: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        set: String::new(),
        file: None,
        project: None,
        workers: 2,
        only: None,
        limit: None,
        time_limit: 300.0,
        expansions: SearchConfig::default().max_expansions,
        out: None,
        states: false,
        trace: false,
    };
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--file" => args.file = Some(value()?.into()),
            "--project" => args.project = Some(value()?.into()),
            "--workers" => args.workers = value()?.parse().map_err(|e| format!("{e}"))?,
            "--only" => args.only = Some(value()?),
            "--limit" => args.limit = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--time-limit" => args.time_limit = value()?.parse().map_err(|e| format!("{e}"))?,
            "--expansions" => args.expansions = value()?.parse().map_err(|e| format!("{e}"))?,
            "--out" => args.out = Some(value()?.into()),
            "--states" => args.states = true,
            "--trace" => args.trace = true,
            s if !s.starts_with("--") && args.set.is_empty() => args.set = s.to_owned(),
            s => return Err(format!("unknown argument {s}")),
        }
    }
    if args.set != "core" && args.set != "minif2f" {
        return Err("first argument: core or minif2f".into());
    }
    Ok(args)
}

/// The theorems to search, with the imports their workers need.
fn load(args: &Args) -> Result<(Vec<problems::Theorem>, Vec<String>), String> {
    let paths = match (&args.file, args.set.as_str()) {
        (Some(f), _) => vec![f.clone()],
        (None, "core") => vec![problems::core_dir()],
        (None, _) => vec![problems::shared_minif2f_valid().ok_or("no MiniF2F valid.lean")?],
    };
    let files = problems::load_paths(&paths).map_err(|e| e.to_string())?;
    let mut theorems: Vec<problems::Theorem> = files
        .into_iter()
        .flat_map(|f| f.theorems)
        .filter(|t| {
            args.only
                .as_ref()
                .is_none_or(|o| o.split(',').any(|o| t.name.contains(o)))
        })
        .collect();
    if let Some(n) = args.limit {
        theorems.truncate(n);
    }
    let mut imports = Vec::new();
    if args.set == "minif2f" {
        // MiniF2F's own header imports all of mathlib; the smaller header is what our
        // compiled project has. Its `open_locale` lines replace the file's context.
        let header = problems::shared_minif2f_valid()
            .and_then(|p| p.parent().map(|d| d.join("mini_import.lean")))
            .ok_or("no mini_import.lean next to valid.lean")?;
        let file = problems::load_file(&header).map_err(|e| e.to_string())?;
        imports = file.header.imports.clone();
        for t in &mut theorems {
            t.context = file.header.context.clone();
        }
    }
    Ok((theorems, imports))
}

fn task_of(t: &problems::Theorem) -> ProofTask {
    ProofTask {
        name: t.name.clone(),
        statement: t.statement.clone(),
        context: t.context.clone(),
    }
}

/// Prints the state before each top-level step of every theorem's own proof.
async fn print_states(env: &LeanEnv, theorems: &[problems::Theorem]) {
    for t in theorems {
        println!("==== {}", t.name);
        let task = task_of(t);
        let mut state = match env.start(&task).await {
            Ok(s) => s,
            Err(e) => {
                println!("start failed: {e}");
                continue;
            }
        };
        for step in t.steps() {
            println!("{}\n---- {}", state.goals, step.text);
            match env.run_tactic(&state.handle, &step.text).await {
                Ok(TacticOutcome::Success(s)) => state = s,
                Ok(TacticOutcome::Failed { message }) => {
                    println!("failed: {message}");
                    break;
                }
                Err(e) => {
                    println!("error: {e}");
                    break;
                }
            }
        }
        println!("{}", state.goals);
    }
}

/// The expanded states of a tree in expansion order, with each tactic's outcome.
fn print_tree(tree: &search::ProofTree) {
    let mut expanded: Vec<_> = tree
        .states()
        .filter_map(|(id, n)| n.expanded.map(|e| (e, id, n)))
        .collect();
    expanded.sort_by_key(|(e, _, _)| *e);
    for (e, id, node) in expanded {
        println!(
            "  -- #{e} depth {} score {:.2}\n    {}",
            node.depth,
            node.score,
            node.goals.replace('\n', "\n    ")
        );
        for (_, _, edge) in tree.tactics_from(id) {
            let message = edge.message.as_deref().unwrap_or("");
            let message: String = message
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(70)
                .collect();
            println!(
                "     {:>6.2} {:?} {} {}",
                edge.score, edge.outcome, edge.tactic, message
            );
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("heuristic_eval: {e}");
            std::process::exit(2);
        }
    };
    let (theorems, imports) = match load(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("heuristic_eval: {e}");
            std::process::exit(1);
        }
    };
    let loading = Instant::now();
    let pool = match LeanPool::new(PoolConfig {
        project: args.project.clone(),
        imports,
        workers: args.workers,
        ..PoolConfig::default()
    })
    .await
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("heuristic_eval: starting Lean: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("Lean workers ready in {:.1?}", loading.elapsed());

    let names = TacticSet::probe_names();
    let tactics = match pool.declared(&names).await {
        Ok(flags) => TacticSet::from_declared(&names, &flags),
        Err(e) => {
            eprintln!("heuristic_eval: asking Lean for tactics: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("tactics: {}", tactics.names().collect::<Vec<_>>().join(" "));
    let env = Arc::new(LeanEnv { pool });

    if args.states {
        print_states(&env, &theorems).await;
        env.pool.shutdown().await;
        return;
    }

    let policy = Arc::new(HeuristicPolicy::new(tactics));
    let search = BestFirstSearch::new(SearchConfig {
        max_expansions: args.expansions,
        time_limit_s: args.time_limit,
        ..SearchConfig::default()
    });
    let mut out = args.out.as_ref().map(|p| match std::fs::File::create(p) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heuristic_eval: {}: {e}", p.display());
            std::process::exit(1);
        }
    });
    let started = Instant::now();
    let total = theorems.len();
    let (mut proved, mut elaborated, mut done) = (0, 0, 0);
    run_many(
        &search,
        env.clone(),
        policy,
        theorems.iter().map(task_of),
        args.workers,
        &CancellationToken::new(),
        |outcome| {
            let r = &outcome.result;
            done += 1;
            if r.stop_reason != search::StopReason::StartFailed {
                elaborated += 1;
            }
            if r.success() {
                proved += 1;
            }
            let proof = r.proof.as_deref().unwrap_or("").replace('\n', " ");
            println!(
                "[{done}/{total}] {} {} exp={} {:.1}s {:?} {}",
                if r.success() { "PROVED" } else { "failed" },
                r.name,
                r.expansions,
                r.time_s,
                r.stop_reason,
                if r.success() {
                    proof
                } else {
                    r.error
                        .clone()
                        .unwrap_or_default()
                        .chars()
                        .take(120)
                        .collect()
                },
            );
            if args.trace
                && !r.success()
                && let Some(tree) = &outcome.tree
            {
                print_tree(tree);
            }
            if let Some(f) = out.as_mut() {
                let _ = writeln!(f, "{}", serde_json::to_string(r).unwrap_or_default());
            }
        },
    )
    .await;
    println!(
        "proved {proved}/{elaborated} (of {total} theorems, {} did not elaborate) in {:.1?}",
        total - elaborated,
        started.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(10), env.pool.shutdown())
        .await
        .ok();
}
