//! `prover check`: verify every proof in Lean files, as Lean compiles them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use crate::lean_opts::{LeanOpts, first_line, group_by_imports, proof_location, theorem_context};
use crate::output::{Progress, print_line};

/// Verify every theorem that has a proof: elaborated as Lean compiles the file, checked by the
/// kernel, with no sorry and only the standard axioms. Exit status 0 iff all verify.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Lean files, or directories of them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// One JSON object per theorem (name, file, line, ok, error, errors, axioms, time_s).
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub lean: LeanOpts,
}

#[derive(Serialize)]
struct CheckRecord<'a> {
    name: &'a str,
    file: String,
    line: usize,
    ok: bool,
    error: Option<String>,
    errors: Vec<String>,
    axioms: Vec<String>,
    time_s: f64,
}

/// Runs the check; returns whether every proof verified.
pub async fn run(args: CheckArgs) -> Result<bool> {
    let files = args.lean.load(&args.files)?;
    let total: usize = files
        .iter()
        .map(|f| f.theorems.iter().filter(|t| t.has_proof()).count())
        .sum();
    let without: usize = files
        .iter()
        .map(|f| f.theorems.iter().filter(|t| !t.has_proof()).count())
        .sum();
    let progress = Progress::new(total as u64, "verifying");
    let mut failed = 0usize;
    for (imports, group) in group_by_imports(&files) {
        let near = group[0].path.as_deref();
        let pool = args.lean.pool(&imports, near).await?;
        let jobs = group.iter().flat_map(|f| {
            f.theorems
                .iter()
                .enumerate()
                .filter(|(_, t)| t.has_proof())
                .map(move |(i, t)| (*f, i, t))
        });
        let pool_ref = &pool;
        let mut results = futures::stream::iter(jobs)
            .map(|(file, i, t)| async move {
                let started = Instant::now();
                let uses = format!("{}\n{}", t.statement, t.proof.text());
                let context = theorem_context(file, i, &uses);
                let v = pool_ref
                    .verify(&context, &t.statement, t.proof.text())
                    .await;
                (file, t, v, started.elapsed())
            })
            .buffered(pool.size());
        while let Some((file, t, v, took)) = results.next().await {
            let (ok, errors, axioms, pos) = match v {
                Ok(v) => (v.ok, v.errors, v.axioms, v.pos),
                Err(e) => (false, vec![e.to_string()], vec![], None),
            };
            if !ok {
                failed += 1;
            }
            let location = proof_location(file, t, pos);
            let error = errors
                .first()
                .map(|e| format!("{location}: {}", first_line(e)));
            if args.jsonl {
                let rec = CheckRecord {
                    name: &t.name,
                    file: file
                        .path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    line: t.span.line,
                    ok,
                    error: error.clone(),
                    errors,
                    axioms,
                    time_s: took.as_secs_f64(),
                };
                print_line(&progress, &serde_json::to_string(&rec)?);
            } else if ok {
                print_line(&progress, &format!("{:<44} ok", t.name));
            } else {
                print_line(
                    &progress,
                    &format!("{:<44} FAILED  {}", t.name, error.unwrap_or_default()),
                );
            }
            progress.inc(ok);
        }
        drop(results);
        pool.shutdown().await;
    }
    progress.finish();
    if !args.jsonl {
        let skipped = if without > 0 {
            format!(" ({without} without a proof skipped)")
        } else {
            String::new()
        };
        eprintln!("verified {}/{} proofs{skipped}", total - failed, total);
    }
    Ok(failed == 0)
}
