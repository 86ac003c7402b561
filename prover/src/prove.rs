//! `prover prove`: best-first proof search over Lean files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use search::{
    BatchingConfig, BatchingPolicy, BestFirstSearch, CancellationToken, ProofTask, SearchConfig,
    SearchResult, StopReason,
};
use serde::{Deserialize, Serialize};

use crate::index_cmd::{RetrievalChoice, RetrievalMode};
use crate::lean_opts::{LeanOpts, group_by_imports};
use crate::model_load::ModelOpts;
use crate::output::{Progress, print_line};
use crate::policy::{PolicyChoice, PolicyKind};
use crate::results::ResultsFile;
use crate::shard::Shard;
use lean_env::FileRun;
use lean_env::LeanEnv;
use lean_env::theorem_context;

/// Search for proofs of the theorems in Lean files (their own proofs, if any, are ignored).
/// Each result is appended to the output file as soon as its search ends; `--resume` skips
/// the theorems already there. Exit status 0 iff every attempted theorem was proved.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// Lean files, or directories of them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Where tactics come from (default: the model when --model or --endpoint is given, else
    /// the heuristic).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyKind>,

    /// Whether the heuristic also proposes lemmas and tactics retrieved from the project's
    /// indexes (`prover index`): `auto` builds the declaration index on first use, `built`
    /// uses only indexes already built, `off` keeps to the rules. The theorems being proved are
    /// never retrieved.
    #[arg(long, value_enum, default_value_t = RetrievalMode::Auto)]
    pub retrieval: RetrievalMode,

    /// Most proof states expanded per theorem.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub expansions: usize,

    /// Tactic candidates asked for per expanded state.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 8)]
    pub samples: usize,

    /// How many times a state may be asked for candidates: when the whole tree has failed
    /// with time and expansions left, the states are asked again, best first, for the
    /// candidates after those they gave (`-k` more each time: the heuristic's retrieved
    /// lemmas and tactics, then its further rules). 1: never.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub rounds: usize,

    /// Wall-clock limit per theorem's search, in seconds, from its first state: the time Lean
    /// takes to reach the theorem in its file (running the commands and proofs before it) is
    /// not counted, and is reported as `start_time_s`.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub timeout: f64,

    /// Most tactics in a proof.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_depth: usize,

    /// Results file (JSON lines, one per theorem).
    #[arg(long, short, value_name = "FILE", default_value = "results.jsonl")]
    pub output: PathBuf,

    /// Continue an interrupted run: skip theorems already in the output file.
    #[arg(long)]
    pub resume: bool,

    /// Start the output file over if it already has results.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,

    /// Only these theorems (repeatable).
    #[arg(long = "theorem", value_name = "NAME")]
    pub theorems: Vec<String>,

    /// Attempt only shard I of N (0 <= I < N): a deterministic split by theorem name, the
    /// same on every machine, so N processes with 0/N … N-1/N cover the input exactly once
    /// (Slurm arrays, Kubernetes Indexed Jobs; merge their results with `prover report`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// Write each search tree here as NAME.json and NAME.dot (and NAME.svg when Graphviz's
    /// `dot` is installed), the proof path highlighted.
    #[arg(long, value_name = "DIR")]
    pub tree_dir: Option<PathBuf>,

    #[command(flatten)]
    pub model: ModelOpts,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// One line of the results file.
#[derive(Serialize, Deserialize)]
pub struct ProveRecord {
    #[serde(flatten)]
    pub result: SearchResult,
    pub file: String,
    pub policy: String,
    /// The proof's steps the heuristic retrieved rather than made from its rules, each as
    /// `source: tactic` (`premise retrieval: rw nat.succ_le_iff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrieved: Vec<String>,
}

/// The steps of `proof` that `heuristic` retrieved, with where from.
fn retrieved_steps(
    heuristic: Option<&heuristic::HeuristicPolicy>,
    proof: Option<&str>,
) -> Vec<String> {
    let (Some(h), Some(proof)) = (heuristic, proof) else {
        return Vec::new();
    };
    proof
        .lines()
        .map(|l| l.trim().trim_end_matches(',').trim())
        .filter(|l| !l.is_empty() && *l != "begin" && *l != "end")
        .filter_map(|t| match h.source_of(t) {
            heuristic::Source::Rules => None,
            source => Some(format!("{}: {t}", source.as_str())),
        })
        .collect()
}

/// Runs the searches; returns whether every attempted theorem was proved.
pub async fn run(args: ProveArgs, cancel: CancellationToken) -> Result<bool> {
    let (files, unreadable_files) = args.lean.load_each(&args.files)?;
    let (mut out, done) = ResultsFile::open(&args.output, args.resume, args.overwrite)?;
    // A file that cannot be read is reported with its reason, in the results too (without a
    // theorem name, so --resume tries it again), and the other files run.
    for f in &unreadable_files {
        let file = f.path.display().to_string();
        let reason = f.reason();
        out.append(&serde_json::json!({ "file": file, "unreadable": reason }))?;
        eprintln!("{file}: not attempted: cannot read this file: {reason}");
    }
    let wanted: HashSet<&str> = args.theorems.iter().map(String::as_str).collect();
    for name in &wanted {
        if !files
            .iter()
            .any(|f| f.theorems.iter().any(|t| t.name == *name))
        {
            bail!("no theorem named {name} in the given files");
        }
    }
    let config = SearchConfig {
        max_expansions: args.expansions,
        time_limit_s: args.timeout,
        max_depth: args.max_depth,
        candidates_per_expansion: args.samples,
        rounds: args.rounds.max(1),
        ..SearchConfig::default()
    };
    let search = BestFirstSearch::new(config);
    if let Some(dir) = &args.tree_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }

    // Theorems to attempt, grouped by imports (one Lean pool per group).
    let mut plan = Vec::new();
    let mut total = 0usize;
    let mut skipped = 0usize;
    let header = args.lean.load_header()?;
    for (imports, group) in group_by_imports(&files) {
        let mut tasks = Vec::new();
        let mut located = HashMap::new();
        for f in &group {
            let run = FileRun::new(f, header.as_ref());
            let file = f
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            for (i, t) in f.theorems.iter().enumerate() {
                if !wanted.is_empty()
                    && !wanted.contains(t.name.as_str())
                    && !wanted.contains(t.full_name.as_str())
                {
                    continue;
                }
                if args.shard.is_some_and(|s| !s.contains(&t.full_name)) {
                    continue;
                }
                if done.contains(&t.full_name) {
                    skipped += 1;
                    continue;
                }
                // The search starts from the goal Lean states where the file has the theorem.
                located.insert(t.full_name.clone(), (run.lean.clone(), run.segment_of[i]));
                tasks.push((
                    ProofTask {
                        name: t.full_name.clone(),
                        statement: t.statement.clone(),
                        // Earlier lemmas the statement mentions; the proof is not known yet.
                        context: theorem_context(f, i, &t.statement),
                    },
                    file.clone(),
                ));
            }
        }
        total += tasks.len();
        if !tasks.is_empty() {
            plan.push((imports, group[0].path.clone(), tasks, located));
        }
    }
    if skipped > 0 {
        eprintln!(
            "resuming: {skipped} theorem(s) already in {}",
            args.output.display()
        );
    }

    // The model loads once (before Lean starts, so a bad checkpoint fails fast) and serves
    // every pool.
    let policy_kind = PolicyKind::or_default(args.policy, args.model.given());
    let exclude: Vec<String> = files
        .iter()
        .flat_map(|f| f.theorems.iter().map(|t| t.full_name.clone()))
        .collect();
    let policy_choice = PolicyChoice::new(policy_kind, args.model.clone())?
        .with_retrieval(RetrievalChoice::new(args.retrieval, exclude));
    policy_choice.prepare().await?;

    let progress = Progress::new(total as u64, "proving");
    let started = Instant::now();
    let mut attempted = 0usize;
    let mut proved = 0usize;
    for (imports, near, tasks, located) in plan {
        if cancel.is_cancelled() {
            break;
        }
        let pool = Arc::new(args.lean.pool(&imports, near.as_deref()).await?);
        let env = Arc::new(LeanEnv::with_files(pool.clone(), located));
        let policy = policy_choice.build(&pool).await?;
        let heuristic = policy.heuristic().cloned();
        let policy = Arc::new(BatchingPolicy::new(policy, BatchingConfig::default()));
        let files_of: BTreeMap<String, String> = tasks
            .iter()
            .map(|(t, f)| (t.name.clone(), f.clone()))
            .collect();
        let concurrent = pool.size();
        let mut write_error = None;
        search::run_many(
            &search,
            env,
            policy,
            tasks.into_iter().map(|(t, _)| t),
            concurrent,
            &cancel,
            |outcome| {
                let result = outcome.result;
                if result.stop_reason == StopReason::Cancelled {
                    // Not finished: leave it for --resume.
                    return;
                }
                attempted += 1;
                if result.success() {
                    proved += 1;
                }
                if let (Some(dir), Some(tree)) = (&args.tree_dir, &outcome.tree)
                    && let Err(e) = search::write_tree_files(tree, &result.name, dir)
                {
                    progress
                        .bar()
                        .suspend(|| eprintln!("warning: {}: {e}", result.name));
                }
                let line = summary_line(&result);
                let record = ProveRecord {
                    file: files_of.get(&result.name).cloned().unwrap_or_default(),
                    policy: policy_kind.name().to_string(),
                    retrieved: retrieved_steps(heuristic.as_ref(), result.proof.as_deref()),
                    result,
                };
                if let Err(e) = out.append(&record) {
                    write_error.get_or_insert(e);
                }
                print_line(&progress, &line);
                progress.inc(record.result.success());
                progress.set_message(format!("proved {proved}/{attempted}"));
            },
        )
        .await;
        pool.shutdown().await;
        if let Some(e) = write_error {
            return Err(e);
        }
    }
    progress.finish();
    let elapsed = started.elapsed().as_secs_f64();
    if cancel.is_cancelled() {
        eprintln!(
            "interrupted: {attempted} of {total} theorem(s) finished; run again with --resume"
        );
    }
    print_summary(&args, elapsed)?;
    if !unreadable_files.is_empty() {
        eprintln!(
            "{} file(s) could not be read and were not attempted (in {} as \"unreadable\")",
            unreadable_files.len(),
            args.output.display()
        );
    }
    Ok(proved == attempted && unreadable_files.is_empty() && !cancel.is_cancelled())
}

fn summary_line(r: &SearchResult) -> String {
    if r.success() {
        format!(
            "{:<44} proved in {:.1}s ({} expansions)",
            r.name, r.time_s, r.expansions
        )
    } else {
        let why = r.error.as_deref().map(lean_env::first_line).unwrap_or("");
        format!(
            "{:<44} not proved ({:?}, {} expansions, {:.1}s){}{}",
            r.name,
            r.stop_reason,
            r.expansions,
            r.time_s,
            if why.is_empty() { "" } else { ": " },
            why
        )
    }
}

/// Prints the table for the results file (this run and resumed ones).
fn print_summary(args: &ProveArgs, elapsed: f64) -> Result<()> {
    let text = std::fs::read_to_string(&args.output).unwrap_or_default();
    let wanted: HashSet<&str> = args.theorems.iter().map(String::as_str).collect();
    let records: Vec<ProveRecord> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &ProveRecord| wanted.is_empty() || wanted.contains(r.result.name.as_str()))
        .collect();
    let summary = Summary::of(records.iter().map(|r| &r.result));
    eprintln!("{}", summary.table(elapsed));
    eprintln!(
        "sandbox: {}",
        lean_bridge::sandbox::describe(args.lean.sandbox)
    );
    Ok(())
}

/// Figures over a set of results.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub attempted: usize,
    pub proved: usize,
    pub median_time_to_proof_s: Option<f64>,
    pub policy_s: f64,
    pub lean_s: f64,
    pub search_s: f64,
    /// The last tactic of each proof, counted.
    pub closing_tactics: Vec<(String, usize)>,
    /// Policy calls that failed (each cost one expansion), and the theorems the policy's
    /// failures ended.
    pub policy_failures: usize,
    pub ended_by_policy: usize,
}

impl Summary {
    pub fn of<'a>(results: impl Iterator<Item = &'a SearchResult>) -> Self {
        let mut s = Summary::default();
        let mut times = Vec::new();
        let mut closing: BTreeMap<String, usize> = BTreeMap::new();
        for r in results {
            s.attempted += 1;
            s.policy_s += r.stats.policy_time_s;
            s.lean_s += r.stats.env_time_s;
            s.search_s += r.stats.search_overhead_s;
            s.policy_failures += r.stats.policy_failures;
            if r.stop_reason == StopReason::PolicyFailed {
                s.ended_by_policy += 1;
            }
            if r.success() {
                s.proved += 1;
                times.push(r.time_s);
                if let Some(last) = r.proof.as_deref().and_then(last_tactic) {
                    *closing.entry(last).or_default() += 1;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        s.median_time_to_proof_s = median(&times);
        let mut closing: Vec<_> = closing.into_iter().collect();
        closing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.closing_tactics = closing;
        s
    }

    pub fn table(&self, wall_s: f64) -> String {
        let rate = if self.attempted > 0 {
            100.0 * self.proved as f64 / self.attempted as f64
        } else {
            0.0
        };
        let total = self.policy_s + self.lean_s + self.search_s;
        let pct = |x: f64| if total > 0.0 { 100.0 * x / total } else { 0.0 };
        let mut t = String::new();
        t.push_str("─────────────────────────────────────────────\n");
        t.push_str(&format!(
            "proved              {}/{}\n",
            self.proved, self.attempted
        ));
        t.push_str(&format!("pass rate           {rate:.1}%\n"));
        match self.median_time_to_proof_s {
            Some(m) => t.push_str(&format!("median time/proof   {m:.2}s\n")),
            None => t.push_str("median time/proof   -\n"),
        }
        t.push_str(&format!("wall time (run)     {wall_s:.1}s\n"));
        t.push_str(&format!(
            "time split          model/policy {:.1}s ({:.0}%), Lean {:.1}s ({:.0}%), search {:.2}s ({:.1}%)\n",
            self.policy_s,
            pct(self.policy_s),
            self.lean_s,
            pct(self.lean_s),
            self.search_s,
            pct(self.search_s)
        ));
        if self.policy_failures > 0 {
            t.push_str(&format!(
                "policy failures     {} (each cost an expansion); {} theorem(s) ended by them\n",
                self.policy_failures, self.ended_by_policy
            ));
        }
        if !self.closing_tactics.is_empty() {
            let top: Vec<String> = self
                .closing_tactics
                .iter()
                .take(8)
                .map(|(tac, n)| format!("{tac} ×{n}"))
                .collect();
            t.push_str(&format!("closing tactics     {}\n", top.join(", ")));
        }
        t.push_str("─────────────────────────────────────────────");
        t
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The last tactic of a `begin … end` proof.
fn last_tactic(proof: &str) -> Option<String> {
    let body = proof.trim().strip_prefix("begin")?.strip_suffix("end")?;
    let steps: Vec<&str> = body
        .split(",\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    steps.last().map(|s| s.trim_end_matches(',').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, ok: bool, time: f64, proof: Option<&str>) -> SearchResult {
        SearchResult {
            name: name.into(),
            proved: ok,
            verified: ok,
            proof: proof.map(str::to_string),
            axioms: vec![],
            expansions: 3,
            time_s: time,
            stop_reason: if ok {
                StopReason::Proved
            } else {
                StopReason::Exhausted
            },
            error: None,
            stats: Default::default(),
        }
    }

    #[test]
    fn summary_counts_and_median() {
        let rs = [
            result("a", true, 1.0, Some("begin\n  intro h,\n  simp\nend")),
            result("b", false, 9.0, None),
            result("c", true, 3.0, Some("begin\n  linarith\nend")),
            result("d", true, 2.0, Some("begin\n  split,\n  simp\nend")),
        ];
        let s = Summary::of(rs.iter());
        assert_eq!(s.attempted, 4);
        assert_eq!(s.proved, 3);
        assert_eq!(s.median_time_to_proof_s, Some(2.0));
        assert_eq!(
            s.closing_tactics,
            vec![("simp".to_string(), 2), ("linarith".to_string(), 1)]
        );
        assert!(s.table(10.0).contains("proved              3/4"));
        assert!(s.table(10.0).contains("75.0%"));
    }

    #[test]
    fn median_of_even_and_empty() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
    }
}
