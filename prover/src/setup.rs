//! `prover setup`: Lean 3.51.1, a mathlib 3 project of the prover's own, its `.olean` files
//! for the headers in use, the REPL, and a self-check, so that MiniF2F runs with no other flag.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lean_bridge::make::{Compile, CompileOutcome, missing_error, not_fresh, project_closure};
use lean_bridge::olean::OleanStatus;
use lean_bridge::repl::CompiledRepl;
use lean_bridge::{LeanInstall, LeanPool, LeanProject, PoolConfig, SandboxMode};
use lean_env::LeanEnv;
use lean_setup::mathlib::{Checkout, CheckoutAction};
use lean_setup::toolchain::{LeanOrigin, ensure_lean};
use lean_setup::{MATHLIB_GIT, MATHLIB_REV, cache};
use search::{BestFirstSearch, CancellationToken, ProofTask, SearchConfig};

use crate::policy::PolicyChoice;

/// The imports compiled when no --header is given: those of MiniF2F's smaller header
/// (`../shared/minif2f/mini_import.lean`, the header the README's MiniF2F commands use), about
/// 500 mathlib files.
pub const DEFAULT_IMPORTS: &[&str] = &[
    "tactic",
    "algebra.big_operators.basic",
    "algebra.big_operators.intervals",
    "algebra.geom_sum",
    "algebra.group_power.basic",
    "data.finset.basic",
    "data.int.gcd",
    "data.int.modeq",
    "data.int.parity",
    "data.nat.choose.basic",
    "data.nat.digits",
    "data.nat.factorial.basic",
    "data.nat.modeq",
    "data.nat.parity",
    "data.nat.prime",
    "data.rat.basic",
    "data.real.basic",
];

/// Make this machine ready to prove: find Lean 3 (or install it with elan), clone mathlib 3
/// at its final commit into the prover's own directory, get the `.olean` files the headers
/// need (mathlib's published cache when online, else compiled, resumably), compile the REPL,
/// and check that a theorem is proved under each header. Every command then finds this
/// project for files that need mathlib, without --lean-project. Run it again at any time: it
/// does only what is missing, and continues an interrupted compile.
#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Header files (imports and `open` lines) whose imports must be compiled (repeatable).
    /// Default: the imports of MiniF2F's smaller header, ../shared/minif2f/mini_import.lean
    /// (about 500 mathlib files, 30–40 minutes to compile on 2 cores).
    #[arg(long = "header", value_name = "FILE")]
    pub headers: Vec<PathBuf>,

    /// Report what is there and what is missing; change nothing. Exit status 0 iff ready.
    #[arg(long)]
    pub check: bool,

    /// Where mathlib is cloned from: a URL, or the path of a local clone or mirror (works
    /// offline).
    #[arg(long, value_name = "URL|PATH", default_value = MATHLIB_GIT)]
    pub mathlib_git: String,

    /// The mathlib commit to check out (default: mathlib 3's final commit, which Lean 3.51.1
    /// compiles).
    #[arg(long, value_name = "REV", default_value = MATHLIB_REV)]
    pub mathlib_rev: String,

    /// The project directory. Default: $PROVER_HOME/mathlib ($PROVER_HOME defaults to the
    /// platform's data directory, e.g. ~/.local/share/prover); commands find it there.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Never download mathlib's published .olean files; compile what the headers need.
    #[arg(long)]
    pub no_download: bool,

    /// Download the .olean archive (`<commit>.tar.xz`) from this address instead of
    /// mathlib's (a mirror); leanproject is then not used.
    #[arg(long, value_name = "URL")]
    pub cache_url: Option<String>,

    /// The Lean 3 executable (or its install directory). Default: $LEAN_HOME, `lean` on PATH,
    /// then elan's Lean 3 toolchains; when none is found and elan is installed, setup installs
    /// leanprover-community/lean:3.51.1 with it.
    #[arg(long, value_name = "PATH")]
    pub lean: Option<PathBuf>,

    /// Threads for compiling (Lean's -j). Default: the number of CPUs.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Operating-system sandbox for Lean (`auto`, `require` or `off`), as for every command;
    /// the compile may write only the project's source directory.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub sandbox: SandboxMode,
}

/// One header to make ready: its imports and `open` lines, and what to call it.
struct HeaderSpec {
    label: String,
    imports: Vec<String>,
    context: Vec<String>,
}

fn headers_of(args: &SetupArgs) -> Result<Vec<HeaderSpec>> {
    if args.headers.is_empty() {
        return Ok(vec![HeaderSpec {
            label: "the default imports (MiniF2F's mini_import)".into(),
            imports: DEFAULT_IMPORTS.iter().map(|s| s.to_string()).collect(),
            context: vec!["open_locale big_operators".into(), "open_locale nat".into()],
        }]);
    }
    args.headers
        .iter()
        .map(|path| {
            let file = problems::load_file(path)
                .with_context(|| format!("reading the header file {}", path.display()))?;
            Ok(HeaderSpec {
                label: path.display().to_string(),
                imports: file.header.imports,
                context: file.header.context,
            })
        })
        .collect()
}

fn step(what: &str, text: impl std::fmt::Display) {
    eprintln!("{what:<14}{text}");
}

/// Runs setup (or its check); returns whether the machine is ready.
pub async fn run(args: SetupArgs, cancel: CancellationToken) -> Result<bool> {
    let headers = headers_of(&args)?;
    let dir = args
        .project
        .clone()
        .unwrap_or_else(lean_bridge::locate::setup_project_dir);
    let checkout = Checkout {
        dir: dir.clone(),
        git: args.mathlib_git.clone(),
        rev: args.mathlib_rev.clone(),
    };
    if args.check {
        return check(&args, &headers, &checkout).await;
    }

    // 1. Lean.
    let lean_arg = args.lean.clone();
    let (install, origin) =
        tokio::task::spawn_blocking(move || ensure_lean(lean_arg.as_deref(), false)).await??;
    step(
        "Lean",
        format!(
            "{} at {}{}",
            install.version,
            install.lean.display(),
            match origin {
                LeanOrigin::Found => "",
                LeanOrigin::InstalledWithElan => " (installed now with elan)",
            }
        ),
    );
    if install.version != "3.51.1" {
        eprintln!(
            "warning: mathlib 3's final commit is compiled with Lean 3.51.1; this is {}",
            install.version
        );
    }

    // 2. mathlib, checked out and configured.
    let c = checkout.clone();
    let action = tokio::task::spawn_blocking(move || c.ensure()).await??;
    step(
        "mathlib",
        format!(
            "{} at {}{}",
            dir.display(),
            short(&checkout.rev),
            match &action {
                CheckoutAction::Present => String::new(),
                CheckoutAction::Cloned => format!(" (cloned now from {})", checkout.git),
                CheckoutAction::Moved { from } => format!(" (moved from {})", short(from)),
            }
        ),
    );
    if checkout.configure()? {
        step("leanpkg.path", "written (as `leanpkg configure` writes it)");
    }
    let project = LeanProject::load(&install, &dir)?;

    // 3. The .olean files of every header's closure.
    let mut all_imports: Vec<String> = Vec::new();
    for h in &headers {
        for m in &h.imports {
            if !all_imports.contains(m) {
                all_imports.push(m.clone());
            }
        }
    }
    let (closure, files) = project_closure(&project, &all_imports);
    if !closure.missing.is_empty() {
        return Err(missing_error(&project, &closure.missing).into());
    }
    let left = not_fresh(&files, &install.version, true);
    step(
        ".olean files",
        format!(
            "{} mathlib files in the import closure of {} header(s); {} compiled, {} to go",
            files.len(),
            headers.len(),
            files.len() - left.len(),
            left.len()
        ),
    );
    let corrupt = left
        .iter()
        .filter(|(_, s)| *s == OleanStatus::Corrupt)
        .count();
    if corrupt > 0 {
        step(
            "",
            format!("{corrupt} cut short by an interrupted run: removed, compiled again"),
        );
    }
    if !left.is_empty() && !args.no_download {
        let (d, rev, url) = (dir.clone(), checkout.rev.clone(), args.cache_url.clone());
        let fetched =
            tokio::task::spawn_blocking(move || cache::fetch(&d, &rev, url.as_deref())).await?;
        match fetched {
            Ok(via) => step(
                "",
                format!(
                    "mathlib's published cache unpacked ({})",
                    match via {
                        cache::CacheVia::Leanproject => "leanproject get-cache",
                        cache::CacheVia::Download => "downloaded",
                    }
                ),
            ),
            Err(e) => step(
                "",
                format!(
                    "{}; compiling instead",
                    crate::output::one_line(&e.to_string(), 200)
                ),
            ),
        }
    }
    let compiled = compile(&args, &install, &project, &closure.roots, &files, &cancel).await?;
    if !compiled {
        return Ok(false);
    }

    // 4. The REPL, and a theorem proved under each header, through the sandbox.
    let (i, sandbox) = (install.clone(), args.sandbox);
    tokio::task::spawn_blocking(move || CompiledRepl::ensure(&i, sandbox)).await??;
    step("REPL", "compiled");
    let mut ok = true;
    for h in &headers {
        ok &= self_check(&args, &install, &dir, h, &cancel).await?;
    }
    if ok {
        let default_dir = lean_bridge::locate::setup_project_dir();
        let found = dir.canonicalize().ok() == default_dir.canonicalize().ok();
        eprintln!(
            "\nready. {}",
            if found {
                "Commands find this project for files that need mathlib; for example:\n  \
                 prover prove ../shared/minif2f/valid.lean --header ../shared/minif2f/mini_import.lean"
                    .to_string()
            } else {
                format!(
                    "Pass --lean-project {} (or set PROVER_HOME so that it is $PROVER_HOME/mathlib).",
                    dir.display()
                )
            }
        );
    }
    Ok(ok)
}

/// Compiles what is left, with a bar; `Ok(false)` when stopped or failed (said why).
async fn compile(
    args: &SetupArgs,
    install: &LeanInstall,
    project: &LeanProject,
    roots: &[PathBuf],
    files: &[PathBuf],
    cancel: &CancellationToken,
) -> Result<bool> {
    let own_roots: Vec<PathBuf> = roots
        .iter()
        .filter(|r| r.starts_with(&project.root))
        .cloned()
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, cancel) = (stop.clone(), cancel.clone());
        tokio::spawn(async move {
            cancel.cancelled().await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let job_install = install.clone();
    let job_project = project.clone();
    let job_files = files.to_vec();
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let sandbox = args.sandbox;
    let stop_flag = stop.clone();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let job = Compile {
            install: &job_install,
            project: &job_project,
            files: job_files,
            roots: own_roots,
            threads,
            memory_mb: None,
            sandbox,
        };
        let bar = ProgressBar::new(job.files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} compiling mathlib [{bar:30}] {pos}/{len} files, {elapsed} (ETA {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        let mut first = None;
        let result = job.run(
            |p| {
                // The ETA counts only what this run compiles.
                let base = *first.get_or_insert(p.done);
                bar.set_length((p.total - base) as u64);
                bar.set_position((p.done - base) as u64);
            },
            &stop_flag,
        );
        bar.finish_and_clear();
        result
    })
    .await??;
    watcher.abort();
    let took = started.elapsed().as_secs_f64();
    match outcome {
        CompileOutcome::Done { compiled } => {
            if compiled > 0 {
                step(
                    "",
                    format!("compiled {compiled} file(s) in {}", minutes(took)),
                );
            }
            Ok(true)
        }
        CompileOutcome::Stopped { left, removed } => {
            eprintln!(
                "stopped after {}: {left} of {} file(s) left to compile{}; run `prover setup` \
                 again to continue",
                minutes(took),
                files.len(),
                if removed > 0 {
                    format!(" ({removed} cut short, removed)")
                } else {
                    String::new()
                }
            );
            Ok(false)
        }
        CompileOutcome::Failed { left, output } => {
            eprintln!(
                "error: compiling the headers' imports failed; {left} file(s) left\n{output}"
            );
            Ok(false)
        }
    }
}

/// A statement elaborates under the header and a small theorem is proved and verified, by the
/// heuristic policy in a sandboxed worker as every run is.
async fn self_check(
    args: &SetupArgs,
    install: &LeanInstall,
    dir: &Path,
    header: &HeaderSpec,
    cancel: &CancellationToken,
) -> Result<bool> {
    let config = PoolConfig {
        lean: Some(install.lean.clone()),
        project: Some(dir.to_path_buf()),
        imports: header.imports.clone(),
        workers: 1,
        sandbox: args.sandbox,
        ..PoolConfig::default()
    };
    let started = Instant::now();
    let pool = Arc::new(
        LeanPool::new(config)
            .await
            .with_context(|| format!("self-check: starting Lean under {}", header.label))?,
    );
    let policy = PolicyChoice::heuristic().build(&pool).await?;
    let env = LeanEnv::new(pool.clone());
    let search = BestFirstSearch::new(SearchConfig {
        max_expansions: 20,
        time_limit_s: 120.0,
        ..SearchConfig::default()
    });
    let task = Arc::new(ProofTask {
        name: "prover_setup_check".into(),
        statement: "(a b : ℕ) (h₀ : a ≤ b) : a < b + 1".into(),
        context: header.context.clone(),
    });
    let outcome = search.run(&env, &policy, task, cancel).await;
    pool.shutdown().await;
    let r = outcome.result;
    if r.success() {
        step(
            "self-check",
            format!(
                "{}: Lean started, a statement elaborated and was proved ({}) in {:.1}s",
                header.label,
                crate::output::one_line(r.proof.as_deref().unwrap_or(""), 60),
                started.elapsed().as_secs_f64()
            ),
        );
        Ok(true)
    } else {
        eprintln!(
            "self-check failed under {}: {:?}{}",
            header.label,
            r.stop_reason,
            r.error.map(|e| format!(": {e}")).unwrap_or_default()
        );
        Ok(false)
    }
}

/// `--check`: what is there and what is missing, changing nothing.
async fn check(args: &SetupArgs, headers: &[HeaderSpec], checkout: &Checkout) -> Result<bool> {
    let lean_arg = args.lean.clone();
    let found = tokio::task::spawn_blocking(move || ensure_lean(lean_arg.as_deref(), true)).await?;
    let mut ready = true;
    let install = match found {
        Ok((install, _)) => {
            step(
                "Lean",
                format!("{} at {}", install.version, install.lean.display()),
            );
            Some(install)
        }
        Err(e) => {
            step("Lean", format!("missing: {e}"));
            ready = false;
            None
        }
    };
    let c = checkout.clone();
    let head = tokio::task::spawn_blocking(move || c.head()).await?;
    match &head {
        Some(h) if *h == checkout.rev => step(
            "mathlib",
            format!("{} at {}", checkout.dir.display(), short(h)),
        ),
        Some(h) => {
            step(
                "mathlib",
                format!(
                    "{} at {}, not {} (setup would move it)",
                    checkout.dir.display(),
                    short(h),
                    short(&checkout.rev)
                ),
            );
            ready = false;
        }
        None => {
            step(
                "mathlib",
                format!("missing: no checkout at {}", checkout.dir.display()),
            );
            ready = false;
        }
    }
    if head.is_some() && !checkout.is_configured() {
        step("leanpkg.path", "missing");
        ready = false;
    }
    if let (Some(install), Some(_)) = (&install, &head)
        && checkout.is_configured()
    {
        let project = LeanProject::load(install, &checkout.dir)?;
        for h in headers {
            let (closure, files) = project_closure(&project, &h.imports);
            let left = not_fresh(&files, &install.version, true);
            let corrupt = left
                .iter()
                .filter(|(_, s)| *s == OleanStatus::Corrupt)
                .count();
            let mut text = format!(
                "{}: {}/{} files compiled",
                h.label,
                files.len() - left.len(),
                files.len()
            );
            if corrupt > 0 {
                text.push_str(&format!(", {corrupt} cut short"));
            }
            if !closure.missing.is_empty() {
                text.push_str(&format!(", {} imports not found", closure.missing.len()));
            }
            step(".olean files", text);
            ready &= left.is_empty() && closure.missing.is_empty();
        }
    }
    eprintln!(
        "{}",
        if ready {
            "ready"
        } else {
            "not ready: run `prover setup` (with the same options) to finish"
        }
    );
    Ok(ready)
}

fn short(rev: &str) -> &str {
    &rev[..rev.len().min(10)]
}

fn minutes(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.1} min", secs / 60.0)
    }
}
