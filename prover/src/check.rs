//! `prover check`: verify every proof in Lean files, as Lean compiles them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use lean_bridge::LeanPool;
use problems::ProblemFile;

use crate::lean_opts::{LeanOpts, group_by_imports, proof_location};
use crate::output::{Progress, print_line};
use lean_env::FileRun;
use lean_env::first_line;

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
struct CheckRecord {
    name: String,
    file: String,
    line: usize,
    ok: bool,
    error: Option<String>,
    errors: Vec<String>,
    axioms: Vec<String>,
    time_s: f64,
}

impl CheckRecord {
    /// A check that failed before Lean ran it (the file or the command could not be read).
    fn failed(name: String, file: String, line: usize, error: String) -> Self {
        CheckRecord {
            name,
            file,
            line,
            ok: false,
            error: Some(error.clone()),
            errors: vec![error],
            axioms: vec![],
            time_s: 0.0,
        }
    }
}

/// Runs the check; returns whether every proof verified.
///
/// Each file runs through one Lean worker from top to bottom, as `lean` compiles it: the
/// commands between theorems by Lean's own command parser, each theorem checked where it
/// stands. Files with the same imports share a pool and run side by side.
pub async fn run(args: CheckArgs) -> Result<bool> {
    let (files, unreadable_files) = args.lean.load_each(&args.files)?;
    let header = args.lean.load_header()?;
    let total: usize = unreadable_files.len()
        + files
            .iter()
            .map(|f| f.theorems.iter().filter(|t| t.has_proof()).count() + f.unreadable.len())
            .sum::<usize>();
    let without: usize = files
        .iter()
        .map(|f| f.theorems.iter().filter(|t| !t.has_proof()).count())
        .sum();
    let progress = Progress::new(total as u64, "verifying");
    let mut failed = 0usize;
    let mut report = |progress: &Progress, rec: CheckRecord| -> Result<()> {
        if !rec.ok {
            failed += 1;
        }
        if args.jsonl {
            print_line(progress, &serde_json::to_string(&rec)?);
        } else if rec.ok {
            print_line(progress, &format!("{:<44} ok", rec.name));
        } else {
            print_line(
                progress,
                &format!(
                    "{:<44} FAILED  {}",
                    rec.name,
                    rec.error.clone().unwrap_or_default()
                ),
            );
        }
        progress.inc(rec.ok);
        Ok(())
    };
    // A file that cannot be read counts as one failure, with its reason; the others run.
    for f in &unreadable_files {
        let file = f.path.display().to_string();
        let error = format!("{file}: cannot read this file: {}", f.reason());
        report(&progress, CheckRecord::failed(file.clone(), file, 0, error))?;
    }
    for (imports, group) in group_by_imports(&files) {
        let near = group[0].path.as_deref();
        // A theorem the parser could not read is reported with its reason, before Lean starts
        // (so it is reported even where Lean is missing); Lean still runs it.
        for f in &group {
            for u in &f.unreadable {
                let name = u.name.clone().unwrap_or_else(|| format!("line_{}", u.line));
                let error = format!(
                    "{}:{}:{}: cannot read this command: {}",
                    path_of(f),
                    u.line,
                    u.col + 1,
                    u.message
                );
                report(
                    &progress,
                    CheckRecord::failed(name, path_of(f), u.line, error),
                )?;
            }
        }
        let pool = args.lean.pool(&imports, near).await?;
        let pool_ref = &pool;
        let header = header.as_ref();
        // Files run side by side, one per worker; each sends its results as they come.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CheckRecord>();
        let file_jobs: Vec<_> = group
            .iter()
            .map(|f| {
                let tx = tx.clone();
                async move {
                    let run = FileRun::new(f, header);
                    for (i, t) in f.theorems.iter().enumerate() {
                        if !t.has_proof() {
                            continue;
                        }
                        let started = Instant::now();
                        let rec = check_theorem(pool_ref, &run, f, i).await;
                        let _ = tx.send(CheckRecord {
                            time_s: started.elapsed().as_secs_f64(),
                            ..rec
                        });
                    }
                }
            })
            .collect();
        drop(tx);
        let jobs = futures::stream::iter(file_jobs)
            .buffer_unordered(pool.size())
            .collect::<Vec<()>>();
        tokio::pin!(jobs);
        let mut jobs_done = false;
        loop {
            tokio::select! {
                rec = rx.recv() => match rec {
                    Some(rec) => report(&progress, rec)?,
                    None => break,
                },
                _ = &mut jobs, if !jobs_done => jobs_done = true,
            }
        }
        pool.shutdown().await;
    }
    progress.finish();
    if !args.jsonl {
        let skipped = if without > 0 {
            format!(" ({without} without a proof skipped)")
        } else {
            String::new()
        };
        let unreadable = if unreadable_files.is_empty() {
            String::new()
        } else {
            format!(
                "; {} file(s) could not be read, counted as failed",
                unreadable_files.len()
            )
        };
        eprintln!(
            "verified {}/{} proofs{skipped}{unreadable}",
            total - failed,
            total
        );
        eprintln!(
            "sandbox: {}",
            lean_bridge::sandbox::describe(args.lean.sandbox)
        );
    }
    Ok(failed == 0)
}

fn path_of(f: &ProblemFile) -> String {
    f.path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Lean's verdict on theorem `i` of a file, where the file states it.
async fn check_theorem(pool: &LeanPool, run: &FileRun, f: &ProblemFile, i: usize) -> CheckRecord {
    let t = &f.theorems[i];
    let seg = run.segment_of[i];
    let name = if t.full_name.is_empty() {
        t.name.clone()
    } else {
        t.full_name.clone()
    };
    let mut rec = CheckRecord {
        name,
        file: path_of(f),
        line: t.span.line,
        ok: false,
        error: None,
        errors: vec![],
        axioms: vec![],
        time_s: 0.0,
    };
    match pool.file_theorem(&run.lean, seg).await {
        Ok(c) => {
            if !c.full_name.is_empty() && t.kind != problems::DeclKind::Example {
                rec.name = c.full_name.clone();
            }
            rec.ok = c.verified;
            rec.axioms = c.axioms.clone();
            rec.errors = c.errors.clone();
            if let Some(e) = &c.statement_error {
                rec.error = Some(format!(
                    "{}:{}: the statement does not elaborate: {}",
                    rec.file,
                    t.span.line,
                    first_line(e)
                ));
            } else if !c.verified {
                // Lean's own message for the declaration, when it printed one; else ask for
                // the error by elaborating the proof again at the theorem's goal.
                let lean_error = c.messages.iter().find(|m| m.contains(": error:")).cloned();
                let detail = match lean_error {
                    Some(m) => format!(
                        "{}:{}",
                        rec.file,
                        first_line(&m).replacen(": error:", ":", 1)
                    ),
                    None => {
                        let v = pool
                            .verify_file_theorem_unscreened(&run.lean, seg, t.proof.text())
                            .await;
                        match v {
                            Ok(v) if !v.ok && !v.errors.is_empty() => format!(
                                "{}: {}",
                                proof_location(f, t, v.pos),
                                first_line(&v.errors[0])
                            ),
                            _ => format!(
                                "{}: {}",
                                proof_location(f, t, None),
                                c.errors
                                    .first()
                                    .map(|e| first_line(e))
                                    .unwrap_or("not verified")
                            ),
                        }
                    }
                };
                if !c.messages.is_empty() {
                    rec.errors.extend(c.messages.iter().cloned());
                }
                rec.error = Some(detail);
            }
        }
        Err(e) => {
            rec.error = Some(format!(
                "{}:{}: {}",
                rec.file,
                t.span.line,
                first_line(&e.to_string())
            ));
            rec.errors = vec![e.to_string()];
        }
    }
    rec
}
