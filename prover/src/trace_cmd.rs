//! `prover trace`: training and evaluation data from Lean files (and from the proofs `prove`
//! found), one JSON line per theorem in LeanDojo's format.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use futures::StreamExt;
use lean_trace::found::splice_proofs;
use lean_trace::{FileTrace, TracedTheorem, Tracer};
use problems::ProblemFile;
use search::CancellationToken;

use crate::lean_opts::{LeanOpts, group_by_imports};
use crate::output::{Progress, print_line};
use crate::results::ResultsFile;

/// Trace Lean files: for every theorem with a tactic proof, every tactic step as Lean runs it
/// (nested `{ … }` blocks, `;` chains and `by` terms included), the states before and after as
/// Lean prints them, and the premises each step names: the identifiers resolved to full
/// declaration names as Lean resolves them there (namespaces, `open`, `export`; hypotheses and
/// local names excluded), each with the file and position where it is declared. One JSON line
/// per theorem with LeanDojo's field names (`full_name`, `file_path`, `start`, `end`,
/// `traced_tactics` with `tactic`, `annotated_tactic`, `state_before`, `state_after`;
/// premises with `full_name`, `def_path`, `def_pos`), appended as each file is done.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Lean files, or directories of them (every .lean file below).
    #[arg(value_name = "FILE|DIR", required_unless_present = "found")]
    pub files: Vec<PathBuf>,

    /// Trace the proofs `prover prove` found (its results files), each in its theorem's file,
    /// instead of the files' own proofs.
    #[arg(long, value_name = "RESULTS")]
    pub found: Vec<PathBuf>,

    /// Where the records go (JSON lines).
    #[arg(long, short, value_name = "FILE", default_value = "traces.jsonl")]
    pub output: PathBuf,

    /// Continue an interrupted run: skip the files already traced.
    #[arg(long)]
    pub resume: bool,

    /// Start the output file over if it already has records.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,

    /// Check the records: replay every traced step, in order, where the file states its
    /// theorem: on the state the theorem's own proof reached (exact), or, for a state that
    /// replay did not reach (inside a `;` chain), on its first goal read back from the
    /// printed text; compare what it leaves with `state_after`, and check that every premise
    /// is a declaration. Prints the counts; the exit status is 1 if a step replayed in context
    /// went elsewhere or a premise is missing.
    #[arg(long)]
    pub replay: bool,

    /// Wall-clock limit for Lean's run of one file, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800.0)]
    pub file_timeout: f64,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// One file to trace: its parsed text, and for found proofs the theorems to keep.
struct Job {
    file: ProblemFile,
    keep: Option<HashSet<String>>,
}

/// The figures a run reports.
#[derive(Default)]
struct Totals {
    files: usize,
    failed: usize,
    theorems: usize,
    steps: usize,
    premises: usize,
    unresolved: usize,
    export: Duration,
    resolve: Duration,
    peak_rss_kib: u64,
}

pub async fn run(args: TraceArgs, cancel: CancellationToken) -> Result<bool> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut unreadable_files = Vec::new();
    if !args.files.is_empty() {
        let (files, failed) = args.lean.load_each(&args.files)?;
        unreadable_files = failed;
        for file in files {
            jobs.push(Job { file, keep: None });
        }
    }
    for results in &args.found {
        jobs.extend(found_jobs(results, &args.lean)?);
    }
    let (mut out, _) = ResultsFile::open(&args.output, args.resume, args.overwrite)?;
    let done_path = PathBuf::from(format!("{}.files", args.output.display()));
    let (already_files, already_theorems) = if args.resume {
        (read_lines(&done_path), traced_theorems(&args.output))
    } else {
        let _ = std::fs::remove_file(&done_path);
        (HashSet::new(), HashSet::new())
    };
    let key = |j: &Job| {
        let found = if j.keep.is_some() { " (found)" } else { "" };
        format!("{}{found}", path_key(&j.file))
    };
    let before = jobs.len();
    jobs.retain(|j| !already_files.contains(&key(j)));
    if before > jobs.len() {
        eprintln!(
            "resuming: {} file(s) already traced in {}",
            before - jobs.len(),
            args.output.display()
        );
    }
    let mut done_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&done_path)
        .with_context(|| format!("opening {}", done_path.display()))?;
    let files: Vec<ProblemFile> = jobs.iter().map(|j| j.file.clone()).collect();
    let header = args.lean.load_header()?;
    let progress = Progress::new((jobs.len() + unreadable_files.len()) as u64, "tracing");
    let started = Instant::now();
    let mut totals = Totals::default();
    // A file that is not traced is reported with its reason and counted; the others run.
    let not_traced = |totals: &mut Totals, file: &str, why: &str| {
        totals.files += 1;
        totals.failed += 1;
        print_line(&progress, &format!("{file}: not traced: {why}"));
        progress.inc(false);
    };
    for f in &unreadable_files {
        let why = format!("cannot read this file: {}", f.reason());
        not_traced(&mut totals, &f.path.display().to_string(), &why);
    }
    let mut replayed = lean_trace::ReplayStats::default();
    let keeps: HashMap<String, Option<HashSet<String>>> =
        jobs.iter().map(|j| (key(j), j.keep.clone())).collect();
    for (imports, group) in group_by_imports(&files) {
        if cancel.is_cancelled() {
            break;
        }
        // A group whose Lean does not start (an import that does not load, a timeout) is
        // reported and the run goes on with the other files; --resume tries it again.
        let pool = match args.lean.pool(&imports, group[0].path.as_deref()).await {
            Ok(pool) => Arc::new(pool),
            Err(e) => {
                for f in &group {
                    not_traced(&mut totals, &path_key(f), &crate::output::error_text(&e));
                }
                continue;
            }
        };
        let tracer = Arc::new(Tracer {
            install: pool.install().clone(),
            project: pool.project().cloned(),
            sandbox: args.lean.sandbox,
            memory_mb: (args.lean.memory_mb > 0).then_some(args.lean.memory_mb),
            export_timeout: Duration::from_secs_f64(args.file_timeout.max(1.0)),
        });
        let jobs_here: Vec<&ProblemFile> = group.clone();
        let mut stream = futures::stream::iter(jobs_here.into_iter().map(|f| {
            let (pool, tracer, header) = (pool.clone(), tracer.clone(), header.clone());
            let replay = args.replay;
            async move {
                let r = tracer.trace_file(&pool, f, header.as_ref()).await;
                let checked = match (&r, replay) {
                    (Ok(trace), true) => Some(
                        tracer
                            .replay_file(&pool, f, header.as_ref(), &trace.theorems)
                            .await,
                    ),
                    _ => None,
                };
                (f, r, checked)
            }
        }))
        .buffer_unordered(pool.size());
        while let Some((f, r, checked)) = tokio::select! {
            next = stream.next() => next,
            _ = cancel.cancelled() => None,
        } {
            let job_key = path_key(f);
            let found_key = format!("{job_key} (found)");
            let (k, keep) = match keeps.get(&found_key) {
                Some(keep) => (found_key.clone(), keep.clone()),
                None => (job_key.clone(), None),
            };
            totals.files += 1;
            match r {
                Ok(trace) => {
                    let line = record_trace(
                        &mut out,
                        &trace,
                        keep.as_ref(),
                        &already_theorems,
                        &mut totals,
                    )?;
                    print_line(&progress, &format!("{k}: {line}"));
                    writeln!(done_file, "{k}")
                        .and_then(|_| done_file.sync_data())
                        .with_context(|| format!("writing {}", done_path.display()))?;
                }
                Err(e) => {
                    totals.failed += 1;
                    print_line(&progress, &format!("{k}: not traced: {e}"));
                }
            }
            match checked {
                Some(Ok(stats)) => replayed.add(stats),
                Some(Err(e)) => {
                    totals.failed += 1;
                    print_line(&progress, &format!("{k}: not replayed: {e}"));
                }
                None => {}
            }
            progress.inc(true);
        }
        drop(stream);
        pool.shutdown().await;
    }
    progress.finish();
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "traced {} file(s) ({} failed) in {elapsed:.1}s: {} theorem(s), {} tactic step(s), {} premise(s); \
         {} name(s) resolved to nothing; Lean's export {:.1}s, name resolution {:.1}s; peak memory of one export {} MiB",
        totals.files,
        totals.failed,
        totals.theorems,
        totals.steps,
        totals.premises,
        totals.unresolved,
        totals.export.as_secs_f64(),
        totals.resolve.as_secs_f64(),
        totals.peak_rss_kib / 1024
    );
    let mut ok = totals.failed == 0 && !cancel.is_cancelled();
    if args.replay {
        eprintln!(
            "replayed {} step(s): {} reached their state_after; in the theorem's own proof {} of {} \
             ({} went elsewhere or failed); from the state's text {} of {} ({} went elsewhere, \
             {} acted on more than the first goal, {} did not read back into the same goal); \
             {} premise(s), {} not a declaration{}",
            replayed.steps,
            replayed.reached,
            replayed.in_context_reached,
            replayed.in_context,
            replayed.wrong.len(),
            replayed.reached - replayed.in_context_reached,
            replayed.steps - replayed.in_context,
            replayed.from_text_differs.len(),
            replayed.several_goals,
            replayed.not_readable,
            replayed.premises,
            replayed.premises_missing.len(),
            if replayed.premises_missing.is_empty() {
                String::new()
            } else {
                format!(" ({})", replayed.premises_missing.join(", "))
            }
        );
        for (theorem, tactic, why) in replayed.wrong.iter().take(20) {
            eprintln!("  {theorem}: `{tactic}` {why}");
        }
        for (theorem, tactic, why) in replayed.from_text_differs.iter().take(5) {
            eprintln!("  from text: {theorem}: `{tactic}` {why}");
        }
        if std::env::var_os("PROVER_TRACE_SHOW_UNREADABLE").is_some() {
            for (theorem, tactic, why) in &replayed.not_readable_examples {
                eprintln!("  not readable: {theorem}: `{tactic}`: {why}");
            }
        }
        ok &= replayed.wrong.is_empty() && replayed.premises_missing.is_empty();
    }
    if cancel.is_cancelled() {
        eprintln!("interrupted: run again with --resume to continue");
    }
    Ok(ok)
}

/// Appends a file's records; returns the line to print for it.
fn record_trace(
    out: &mut ResultsFile,
    trace: &FileTrace,
    keep: Option<&HashSet<String>>,
    already: &HashSet<(String, String)>,
    totals: &mut Totals,
) -> Result<String> {
    let mut n = 0;
    let mut steps = 0;
    for t in &trace.theorems {
        if keep.is_some_and(|k| !k.contains(&t.full_name)) {
            continue;
        }
        if already.contains(&(t.file_path.clone(), t.full_name.clone())) {
            continue;
        }
        out.append(t)?;
        n += 1;
        steps += t.traced_tactics.len();
        totals.premises += t
            .traced_tactics
            .iter()
            .map(|s| s.annotated_tactic.1.len())
            .sum::<usize>();
    }
    totals.theorems += n;
    totals.steps += steps;
    totals.unresolved += trace.unresolved;
    totals.export += trace.export_time;
    totals.resolve += trace.resolve_time;
    totals.peak_rss_kib = totals
        .peak_rss_kib
        .max(trace.export_peak_rss_kib.unwrap_or(0));
    Ok(format!(
        "{n} theorem(s), {steps} step(s) (Lean {:.1}s, names {:.1}s)",
        trace.export_time.as_secs_f64(),
        trace.resolve_time.as_secs_f64()
    ))
}

/// The files of the proofs in `prove` results, each with its found proofs spliced in.
fn found_jobs(results: &Path, lean: &LeanOpts) -> Result<Vec<Job>> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("reading {}", results.display()))?;
    let mut by_file: HashMap<PathBuf, HashMap<String, String>> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let verified = v["proved"].as_bool() == Some(true) && v["verified"].as_bool() == Some(true);
        let (Some(name), Some(proof), Some(file)) =
            (v["name"].as_str(), v["proof"].as_str(), v["file"].as_str())
        else {
            continue;
        };
        if verified && !file.is_empty() {
            by_file
                .entry(PathBuf::from(file))
                .or_default()
                .insert(name.to_string(), proof.to_string());
        }
    }
    let mut jobs = Vec::new();
    let mut paths: Vec<_> = by_file.keys().cloned().collect();
    paths.sort();
    for path in paths {
        let mut files = lean.load(std::slice::from_ref(&path)).with_context(|| {
            format!(
                "reading {} (named in {})",
                path.display(),
                results.display()
            )
        })?;
        let Some(file) = files.pop() else { continue };
        let (text, names) = splice_proofs(&file, &by_file[&path]);
        let mut spliced = problems::parse_str(&text, Some(&path))
            .with_context(|| format!("re-reading {} with the found proofs", path.display()))?;
        spliced.header = file.header.clone();
        for (t, old) in spliced.theorems.iter_mut().zip(&file.theorems) {
            t.context = old.context.clone();
        }
        jobs.push(Job {
            file: spliced,
            keep: Some(names.into_iter().collect()),
        });
    }
    Ok(jobs)
}

/// A file as the progress lines and the `.files` sidecar name it.
fn path_key(f: &ProblemFile) -> String {
    f.path
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn read_lines(path: &Path) -> HashSet<String> {
    std::fs::File::open(path)
        .map(|f| {
            std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .collect()
        })
        .unwrap_or_default()
}

/// (file, theorem) pairs already in an output file.
fn traced_theorems(path: &Path) -> HashSet<(String, String)> {
    let Ok(f) = std::fs::File::open(path) else {
        return HashSet::new();
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<TracedTheorem>(&l).ok())
        .map(|t| (t.file_path, t.full_name))
        .collect()
}
