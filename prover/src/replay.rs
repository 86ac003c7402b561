//! `prover replay`: run known proofs tactic by tactic through the REPL.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use futures::StreamExt;
use lean_bridge::{LeanPool, TacticResult};
use problems::{ProblemFile, Proof, Theorem};
use serde::Serialize;

use crate::lean_opts::{LeanOpts, group_by_imports};
use crate::output::{Progress, print_line};
use lean_env::FileRun;
use lean_env::first_line;

/// Run each known proof step by step (the top-level steps of its `begin … end` block; a `by`
/// proof is one step, a term proof is `exact TERM`) and report whether it reaches "proof
/// complete". Exit status 0 iff every proof does.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Lean files, or directories of them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// One JSON object per theorem (name, file, line, proof kind, complete, steps, failed_step,
    /// error, time_s).
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// What replaying one proof did.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayOutcome {
    pub name: String,
    pub file: String,
    pub line: usize,
    /// How the file proves it: `tactic` (`begin … end`), `by`, `term`, `equations`, `sorry`.
    pub proof: &'static str,
    /// Reached "proof complete".
    pub complete: bool,
    /// Steps that ran.
    pub steps: usize,
    /// Number of steps in the proof.
    pub total_steps: usize,
    /// 1-based index of the step that failed, if one did.
    pub failed_step: Option<usize>,
    pub error: Option<String>,
    pub time_s: f64,
}

/// The theorems of `files` whose complete proofs replay step by step, as (file, index).
pub fn replayable_theorems(files: &[ProblemFile]) -> Vec<(&ProblemFile, usize)> {
    files
        .iter()
        .flat_map(|f| {
            f.theorems
                .iter()
                .enumerate()
                .filter(|(_, t)| t.has_complete_proof() && replay_steps(t).is_some())
                .map(move |(i, _)| (f, i))
        })
        .collect()
}

/// The steps to replay for a proof.
pub fn replay_steps(t: &Theorem) -> Option<Vec<(String, usize)>> {
    match &t.proof {
        Proof::Tactic { steps, .. } => Some(
            steps
                .iter()
                .map(|s| (s.text.clone(), s.span.line))
                .collect(),
        ),
        Proof::By(text) => {
            let tac = text.trim_start().strip_prefix("by").unwrap_or(text).trim();
            Some(vec![(
                tac.to_string(),
                t.proof_span.map(|s| s.line).unwrap_or(t.span.line),
            )])
        }
        Proof::Term(text) => Some(vec![(
            format!("exact ({})", text.trim()),
            t.proof_span.map(|s| s.line).unwrap_or(t.span.line),
        )]),
        Proof::Equations(_) | Proof::Sorry(_) => None,
    }
}

/// Replays theorem `index` of `file`.
pub async fn replay_theorem(
    pool: &LeanPool,
    file: &ProblemFile,
    run: &FileRun,
    index: usize,
) -> ReplayOutcome {
    let t: &Theorem = &file.theorems[index];
    let started = Instant::now();
    let mut out = ReplayOutcome {
        name: t.full_name.clone(),
        file: file
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        line: t.span.line,
        proof: match &t.proof {
            Proof::Tactic { .. } => "tactic",
            Proof::By(_) => "by",
            Proof::Term(_) => "term",
            Proof::Equations(_) => "equations",
            Proof::Sorry(_) => "sorry",
        },
        complete: false,
        steps: 0,
        total_steps: 0,
        failed_step: None,
        error: None,
        time_s: 0.0,
    };
    let Some(steps) = replay_steps(t) else {
        out.error = Some("no tactic proof to replay".into());
        return out;
    };
    out.total_steps = steps.len();
    // The theorem's goal where the file states it (the file runs up to it on a worker).
    let start = match pool
        .start_file_theorem(&run.lean, run.segment_of[index])
        .await
    {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("statement: {e}"));
            out.time_s = started.elapsed().as_secs_f64();
            return out;
        }
    };
    let mut state = start.state.clone();
    let mut goals = start.goals;
    for (i, (tactic, line)) in steps.iter().enumerate() {
        match pool.run(&state, tactic).await {
            Ok(TacticResult::Success {
                state: s, goals: g, ..
            }) => {
                state = s;
                goals = g;
                out.steps = i + 1;
            }
            Ok(TacticResult::Failed { message, .. }) => {
                out.failed_step = Some(i + 1);
                out.error = Some(format!(
                    "step {} (line {line}) `{}`: {}",
                    i + 1,
                    first_line(tactic),
                    first_line(&message)
                ));
                break;
            }
            Err(e) => {
                out.failed_step = Some(i + 1);
                out.error = Some(format!("step {} (line {line}): {e}", i + 1));
                break;
            }
        }
    }
    if out.failed_step.is_none() {
        if goals.is_empty() {
            out.complete = true;
        } else {
            out.error = Some(format!("{} goal(s) left after the last step", goals.len()));
        }
    }
    pool.drop_proof(&start.state).await;
    out.time_s = started.elapsed().as_secs_f64();
    out
}

/// Runs the replay; returns whether every proof completed.
pub async fn run(args: ReplayArgs) -> Result<bool> {
    let (files, unreadable_files) = args.lean.load_each(&args.files)?;
    let total: usize = unreadable_files.len()
        + files
            .iter()
            .map(|f| f.theorems.iter().filter(|t| t.has_proof()).count())
            .sum::<usize>();
    let progress = Progress::new(total as u64, "replaying");
    let mut incomplete = 0usize;
    // A file that cannot be read counts as one failure, with its reason; the others run.
    for f in &unreadable_files {
        incomplete += 1;
        let file = f.path.display().to_string();
        let error = format!("cannot read this file: {}", f.reason());
        let line = if args.jsonl {
            serde_json::to_string(&serde_json::json!({
                "name": file, "file": file, "line": 0, "complete": false, "error": error,
            }))?
        } else {
            format!("{file:<44} FAILED  {error}")
        };
        print_line(&progress, &line);
        progress.inc(false);
    }
    let header = args.lean.load_header()?;
    for (imports, group) in group_by_imports(&files) {
        let pool = args.lean.pool(&imports, group[0].path.as_deref()).await?;
        let pool_ref = &pool;
        let runs: Vec<FileRun> = group
            .iter()
            .map(|f| FileRun::new(f, header.as_ref()))
            .collect();
        let jobs = group.iter().zip(&runs).flat_map(|(f, run)| {
            f.theorems
                .iter()
                .enumerate()
                .filter(|(_, t)| t.has_proof())
                .map(move |(i, _)| (*f, run, i))
        });
        let mut results = futures::stream::iter(jobs)
            .map(|(f, run, i)| replay_theorem(pool_ref, f, run, i))
            .buffered(pool.size() * 2);
        while let Some(o) = results.next().await {
            if !o.complete {
                incomplete += 1;
            }
            let line = if args.jsonl {
                serde_json::to_string(&o)?
            } else if o.complete {
                format!("{:<44} complete ({} steps)", o.name, o.steps)
            } else {
                format!(
                    "{:<44} FAILED  {}:{}: {}",
                    o.name,
                    o.file,
                    o.line,
                    o.error.clone().unwrap_or_default()
                )
            };
            print_line(&progress, &line);
            progress.inc(o.complete);
        }
        drop(results);
        pool.shutdown().await;
    }
    progress.finish();
    if !args.jsonl {
        eprintln!(
            "replayed {}/{} proofs to completion",
            total - incomplete,
            total
        );
    }
    Ok(incomplete == 0)
}
