//! Options shared by every command that runs Lean, and the problem files they read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use lean_bridge::{LeanPool, PoolConfig, Recycle, SandboxMode};
use problems::{FailedFile, Header, ProblemFile, Theorem};

/// How to find and run Lean.
#[derive(Args, Clone, Debug)]
pub struct LeanOpts {
    /// The Lean 3 executable (or its install directory). Default: $LEAN_HOME, `lean` on PATH,
    /// then elan's Lean 3 toolchains.
    #[arg(long, value_name = "PATH", global = true)]
    pub lean: Option<PathBuf>,

    /// The leanpkg project (directory with leanpkg.toml) whose libraries the problems import,
    /// e.g. a mathlib project. Default: the nearest leanpkg.toml above the problem file, else
    /// Lean's core library only.
    #[arg(long, value_name = "DIR", global = true)]
    pub lean_project: Option<PathBuf>,

    /// Use this file's imports and `open` lines instead of each problem file's own header
    /// (e.g. ../shared/minif2f/mini_import.lean).
    #[arg(long, value_name = "FILE", global = true)]
    pub header: Option<PathBuf>,

    /// Lean worker processes (and proofs in flight). Each loads the imports: with mathlib,
    /// budget 1–3 GB of memory per worker.
    #[arg(long, short = 'j', value_name = "N", global = true)]
    pub jobs: Option<usize>,

    /// Memory limit per Lean process in MB (Lean's -M).
    #[arg(long, value_name = "MB", default_value_t = 8192, global = true)]
    pub memory_mb: u64,

    /// Deterministic limit per tactic, in thousands of Lean heartbeats (0: none).
    #[arg(long, value_name = "N", default_value_t = 50_000, global = true)]
    pub heartbeats: u64,

    /// Wall-clock limit per tactic in seconds (the Lean process is restarted past it).
    #[arg(long, value_name = "SECS", default_value_t = 20.0, global = true)]
    pub tactic_timeout: f64,

    /// Wall-clock limit for loading the imports, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600.0, global = true)]
    pub start_timeout: f64,

    /// Deterministic limit for verifying one proof, in thousands of heartbeats (0: none; the
    /// default is the limit of Lean's editor server).
    #[arg(long, value_name = "N", default_value_t = 100_000, global = true)]
    pub verify_heartbeats: u64,

    /// Wall-clock limit for verifying one proof, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300.0, global = true)]
    pub verify_timeout: f64,

    /// Operating-system sandbox for the Lean processes (Linux): `auto` confines them with what
    /// the kernel offers (Landlock: read only the toolchain and the project, write only a
    /// private temporary directory, start no program, no TCP; a private network namespace) and
    /// says once what is missing; `require` refuses to run Lean unconfined; `off` runs it with
    /// the user's full rights.
    #[arg(long, value_name = "MODE", default_value = "auto", global = true)]
    pub sandbox: SandboxMode,

    /// Replace a worker's Lean process by a fresh one after this many requests, between
    /// proofs (0: never; default 10000, 1500 in the language server). Lean 3 grows slower and
    /// bigger with every tactic it runs; `prover bench soak` measures by how much.
    #[arg(long, value_name = "N", global = true)]
    pub recycle_after: Option<u64>,

    /// Also replace it once its resident memory is above this many MiB (0: never, the
    /// default).
    #[arg(long, value_name = "MIB", global = true)]
    pub recycle_above_mib: Option<u64>,
}

impl LeanOpts {
    /// Worker processes to start: `--jobs`, else the number of CPUs (at most 8).
    pub fn workers(&self) -> usize {
        self.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(8))
                .unwrap_or(1)
        })
    }

    /// The pool configuration for problems with these imports, found from `near` (a problem
    /// file) when no project is given.
    pub fn pool_config(&self, imports: &[String], near: Option<&Path>) -> PoolConfig {
        let project = self.lean_project.clone().or_else(|| {
            near.and_then(lean_bridge::LeanProject::discover)
                .or_else(|| {
                    std::env::current_dir()
                        .ok()
                        .and_then(|d| lean_bridge::LeanProject::discover(&d))
                })
        });
        PoolConfig {
            lean: self.lean.clone(),
            project,
            imports: imports.to_vec(),
            workers: self.workers(),
            memory_mb: (self.memory_mb > 0).then_some(self.memory_mb),
            start_timeout: secs(self.start_timeout),
            tactic_timeout: secs(self.tactic_timeout),
            tactic_heartbeats: self.heartbeats,
            verify_timeout: secs(self.verify_timeout),
            verify_heartbeats: self.verify_heartbeats,
            timed: false,
            sandbox: self.sandbox,
            recycle: self.recycle(),
        }
    }

    /// `--recycle-above-mib` and `--recycle-after` over the pool's defaults.
    pub fn recycle(&self) -> Recycle {
        let default = Recycle::default();
        Recycle {
            after_requests: self.recycle_after.unwrap_or(default.after_requests),
            above_rss_mib: self.recycle_above_mib.unwrap_or(default.above_rss_mib),
        }
    }

    /// These options as command-line arguments, for a prover process this one starts (the
    /// language server of `bench soak`).
    pub fn forwarded_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |flag: &str, value: String| {
            out.push(flag.to_string());
            out.push(value);
        };
        if let Some(l) = &self.lean {
            push("--lean", l.display().to_string());
        }
        if let Some(p) = &self.lean_project {
            push("--lean-project", p.display().to_string());
        }
        if let Some(h) = &self.header {
            push("--header", h.display().to_string());
        }
        if let Some(j) = self.jobs {
            push("--jobs", j.to_string());
        }
        push("--memory-mb", self.memory_mb.to_string());
        push("--sandbox", self.sandbox.to_string());
        // Only what was given: the other process keeps its own defaults.
        if let Some(mib) = self.recycle_above_mib {
            push("--recycle-above-mib", mib.to_string());
        }
        if let Some(n) = self.recycle_after {
            push("--recycle-after", n.to_string());
        }
        out
    }

    /// Starts a pool for these imports, with a clear error when Lean is missing.
    pub async fn pool(&self, imports: &[String], near: Option<&Path>) -> Result<LeanPool> {
        let config = self.pool_config(imports, near);
        let what = if imports.is_empty() {
            "Lean core".to_string()
        } else {
            imports.join(", ")
        };
        LeanPool::new(config)
            .await
            .with_context(|| format!("starting Lean with imports: {what}"))
    }

    /// Loads problem files (directories mean every .lean file below), applying `--header`.
    /// The first file that cannot be read is an error: for commands on one file.
    pub fn load(&self, paths: &[PathBuf]) -> Result<Vec<ProblemFile>> {
        let (files, failed) = self.load_each(paths)?;
        match failed.into_iter().next() {
            Some(f) => Err(f.error.into()),
            None => Ok(files),
        }
    }

    /// Like [`LeanOpts::load`], for runs over many files: a file that cannot be read (not
    /// UTF-8, unreadable) comes back with its reason, for the run to report, and the others load.
    pub fn load_each(&self, paths: &[PathBuf]) -> Result<(Vec<ProblemFile>, Vec<FailedFile>)> {
        if paths.is_empty() {
            bail!("no problem files given");
        }
        let loaded = problems::load_paths_each(paths)?;
        let mut files = loaded.files;
        if let Some(header) = self.load_header()? {
            for f in &mut files {
                apply_header(&header, f);
            }
        }
        Ok((files, loaded.failed))
    }

    /// The `--header` file's header, if one was given.
    pub fn load_header(&self) -> Result<Option<Header>> {
        let Some(header) = &self.header else {
            return Ok(None);
        };
        let h = problems::load_file(header)
            .with_context(|| format!("reading the header file {}", header.display()))?;
        if !h.theorems.is_empty() {
            bail!(
                "{} has theorems; --header takes a file with only imports and open lines",
                header.display()
            );
        }
        Ok(Some(h.header))
    }
}

/// Puts `header` (imports and context lines) in place of `file`'s own; each theorem keeps the
/// context lines it has after the file's header.
pub fn apply_header(header: &Header, file: &mut ProblemFile) {
    let old = file.header.context.clone();
    file.header = header.clone();
    for t in &mut file.theorems {
        let own: Vec<String> = t
            .context
            .iter()
            .skip_while(|l| old.contains(l))
            .cloned()
            .collect();
        t.context = header.context.iter().cloned().chain(own).collect();
    }
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

/// Problem files grouped by their imports: each group runs in its own pool.
pub fn group_by_imports(files: &[ProblemFile]) -> Vec<(Vec<String>, Vec<&ProblemFile>)> {
    let mut groups: Vec<(Vec<String>, Vec<&ProblemFile>)> = Vec::new();
    for f in files {
        match groups.iter_mut().find(|(i, _)| *i == f.header.imports) {
            Some((_, v)) => v.push(f),
            None => groups.push((f.header.imports.clone(), vec![f])),
        }
    }
    groups
}

/// `path:line:col` of a position inside a theorem's proof text.
pub fn proof_location(file: &ProblemFile, t: &Theorem, pos: Option<(u32, u32)>) -> String {
    let path = file
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<input>".into());
    match (&t.proof_span, pos) {
        (Some(span), Some((line, col))) => {
            let l = span.line + line as usize - 1;
            let c = if line == 1 {
                span.col + col as usize
            } else {
                col as usize
            };
            format!("{path}:{l}:{}", c + 1)
        }
        _ => format!("{path}:{}", t.span.line),
    }
}
