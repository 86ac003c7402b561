//! A pool of Lean workers sharing one configuration (Lean binary, project, imports).
//!
//! A proof lives in the worker that started it (Lean's tactic states cannot move between
//! processes), so `start` picks the least loaded worker and every later request for that
//! proof's states goes back to it. Checks that need no state (`verify`, `check_statement`) go
//! to whichever worker has the fewest requests in flight.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{LeanError, LeanErrorKind, LostState};
use crate::file::{FileTheorem, LeanFile, Segment, relocate_messages};
use crate::locate::{LeanInstall, LeanProject};
use crate::protocol::{
    CapturedTheorem, CheckRequest, DeclPlace, DeclarationsRequest, DeclarationsResponse,
    DeclaredRequest, DoneResponse, DropRequest, ErrorResponse, FileCommandsRequest,
    FileResetRequest, FileTheoremRequest, FileTheoremResponse, FocusRequest, ProofResponse,
    ReplErrorKind, ResolveRequest, RunRequest, StartRequest, StateResponse, Statement,
    StatementAtTheorem, StatementText, StatsRequest, VerifyRequest, VerifyResponse,
};
use crate::repl::CompiledRepl;
use crate::sandbox::{Confinement, SandboxMode};
use crate::screen::{screen, screen_context_line};
use crate::worker::{LeanWorker, Reply, WorkerSpec};
use problems::split_statement;

/// Everything a pool needs to start its workers.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// `--lean`: the Lean binary or its install directory. Otherwise LEAN_HOME, PATH, elan.
    pub lean: Option<PathBuf>,
    /// A directory (or file) inside the leanpkg project to run in; `None` for core Lean only.
    pub project: Option<PathBuf>,
    /// Modules every worker imports (`tactic`, `data.real.basic`, …).
    pub imports: Vec<String>,
    /// Number of Lean processes.
    pub workers: usize,
    /// Lean's `-M` limit per worker, in megabytes.
    pub memory_mb: Option<u64>,
    /// How long loading the imports may take.
    pub start_timeout: Duration,
    /// Wall-clock limit of a tactic (the backstop behind the heartbeat limit).
    pub tactic_timeout: Duration,
    /// Deterministic per-tactic limit, in thousands of heartbeats (Lean's `try_for`); 0: none.
    pub tactic_heartbeats: u64,
    /// Wall-clock limit of starting a proof, checking a statement, or verifying a proof.
    pub verify_timeout: Duration,
    /// Deterministic limit for elaborating a whole proof in `verify`, in thousands of
    /// heartbeats; 0: none. The default, 100 000, is the limit Lean's editor server uses.
    pub verify_heartbeats: u64,
    /// Measure Lean's own time per request (for benchmarks).
    pub timed: bool,
    /// `--sandbox`: how much operating-system confinement the workers must run in.
    pub sandbox: SandboxMode,
    /// When a worker's process is replaced by a fresh one, between proofs.
    pub recycle: Recycle,
}

/// When a worker's Lean process is replaced by a fresh one. Only a worker that holds no proof
/// and runs no request is recycled, when a new proof or file is about to start on it, so no
/// state is lost; the cost is loading the imports again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recycle {
    /// After this many requests to one process (0: never).
    pub after_requests: u64,
    /// Once its resident memory is above this many MiB (0: never).
    pub above_rss_mib: u64,
}

impl Recycle {
    pub const NEVER: Recycle = Recycle {
        after_requests: 0,
        above_rss_mib: 0,
    };

    /// The bounds in words, for start-up lines and benchmarks.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.after_requests > 0 {
            parts.push(format!("after {} requests", self.after_requests));
        }
        if self.above_rss_mib > 0 {
            parts.push(format!("above {} MiB resident", self.above_rss_mib));
        }
        if parts.is_empty() {
            "never".into()
        } else {
            parts.join(" or ")
        }
    }

    fn is_due(&self, requests: u64, rss_kib: impl FnOnce() -> Option<u64>) -> bool {
        (self.after_requests > 0 && requests >= self.after_requests)
            || (self.above_rss_mib > 0
                && rss_kib().is_some_and(|kib| kib > self.above_rss_mib * 1024))
    }
}

impl Default for Recycle {
    /// Set from `prover bench soak` and a MiniF2F run (README, "Long runs"): every tactic
    /// leaves a Lean 3 process a little bigger and slower (about 11 KiB and +0.8 µs per tactic
    /// on core Lean, 22 KiB and +2.7 µs with mathlib's imports), while a fresh process costs
    /// its start (0.3 s on core, 2.3 s with mathlib's imports) and, for a file's theorem, running
    /// the file again up to it. Many short tactics (the language server) gain from a fresh
    /// process every 1,500 requests, which it sets; a MiniF2F run with mathlib lost a little at
    /// that bound (9.4 against 10.3 tactics/s), so batch commands only bound long runs.
    fn default() -> Self {
        Recycle {
            after_requests: 10_000,
            above_rss_mib: 0,
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            lean: None,
            project: None,
            imports: Vec::new(),
            workers: 1,
            memory_mb: Some(8192),
            start_timeout: Duration::from_secs(300),
            tactic_timeout: Duration::from_secs(20),
            tactic_heartbeats: 50_000,
            verify_timeout: Duration::from_secs(120),
            verify_heartbeats: 100_000,
            timed: false,
            sandbox: SandboxMode::Auto,
            recycle: Recycle::default(),
        }
    }
}

/// A proof state held by one worker.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateRef {
    pub worker: usize,
    pub incarnation: u64,
    pub proof: u64,
    pub state: u64,
}

/// A started proof: its first state and goals.
#[derive(Clone, Debug)]
pub struct ProofStart {
    pub state: StateRef,
    /// One pretty-printed goal per entry, as Lean shows it.
    pub goals: Vec<String>,
    /// The whole state as Lean prints it (`2 goals` header and blank lines between goals).
    pub pp: String,
}

/// What running a tactic did.
#[derive(Clone, Debug, PartialEq)]
pub enum TacticResult {
    /// The tactic ran; `goals` is empty when the proof is complete. `pp` is the whole state
    /// as Lean prints it.
    Success {
        state: StateRef,
        goals: Vec<String>,
        pp: String,
    },
    /// Lean's error, a refusal, or the heartbeat limit.
    Failed {
        message: String,
        pos: Option<(u32, u32)>,
    },
}

impl TacticResult {
    pub fn is_complete(&self) -> bool {
        matches!(self, TacticResult::Success { goals, .. } if goals.is_empty())
    }
}

/// The verdict on a complete proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    pub errors: Vec<String>,
    pub axioms: Vec<String>,
    /// Where in the proof text the (first) error is, as (line, column): line 1-based, column
    /// 0-based in characters, as Lean counts.
    pub pos: Option<(u32, u32)>,
}

impl Verification {
    /// A proof refused before it reached Lean.
    fn refused(reason: String) -> Self {
        Verification {
            ok: false,
            errors: vec![reason],
            axioms: Vec::new(),
            pos: None,
        }
    }

    /// The verdict in a `verify` answer whose statement elaborated.
    fn from_answer(answer: Result<VerifyResponse, ErrorResponse>) -> Self {
        match answer {
            Ok(v) => Verification {
                ok: v.verified,
                errors: v.errors,
                axioms: sorted(v.axioms),
                pos: None,
            },
            Err(e) => Verification {
                ok: false,
                errors: vec![e.error],
                axioms: Vec::new(),
                pos: e.pos,
            },
        }
    }
}

/// Timing of one request, for benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    pub round_trip: Duration,
    /// What Lean reported for its own work (only with `PoolConfig::timed`).
    pub lean: Option<Duration>,
}

/// A worker's health, from [`LeanPool::health`].
#[derive(Clone, Debug, Serialize)]
pub struct WorkerHealth {
    pub worker: usize,
    pub alive: bool,
    pub rss_kib: Option<u64>,
    pub states: Option<u64>,
    pub proofs: Option<u64>,
    pub requests: u64,
    pub starts: u64,
    pub timeouts: u64,
    pub crashes: u64,
    pub error: Option<String>,
}

/// N Lean workers with one configuration.
pub struct LeanPool {
    workers: Vec<LeanWorker>,
    /// Live proofs per worker, for choosing where to start the next.
    live_proofs: Vec<AtomicUsize>,
    config: PoolConfig,
    install: LeanInstall,
    project: Option<LeanProject>,
    closed: AtomicBool,
    /// Which file each worker is running and how far it got.
    files: Vec<tokio::sync::Mutex<WorkerFile>>,
    /// Theorem segments (by file key) whose proof ran past the time limit: later runs of the
    /// file use their `sorry` fallback.
    poisoned: std::sync::Mutex<HashMap<String, HashMap<usize, String>>>,
    /// Per worker: the incarnation last seen and its request count then, to count the
    /// requests each process has served (for recycling).
    served_base: Vec<std::sync::Mutex<(u64, u64)>>,
    recycled: AtomicU64,
}

/// How far a worker's process has run a file.
#[derive(Default)]
struct WorkerFile {
    /// The process this is about; a restarted worker starts over.
    incarnation: u64,
    key: Option<String>,
    /// Segments run so far.
    done: usize,
    /// Closers of the last segment run (to leave the file).
    closers: String,
    captured: HashMap<usize, FileTheorem>,
    /// Segments `start`ed at least once since the process began: their file is still needed.
    in_use: bool,
}

impl LeanPool {
    /// Finds Lean and the project, compiles the REPL if needed, and starts every worker
    /// (loading the imports), so that a missing Lean or a bad import is reported here.
    pub async fn new(config: PoolConfig) -> Result<Self, LeanError> {
        let pool = Self::prepare(config).await?;
        let mut starts = tokio::task::JoinSet::new();
        for w in &pool.workers {
            let w = w.clone();
            let timeout = pool.config.start_timeout;
            starts.spawn(async move { w.request(StatsRequest {}, timeout, None).await });
        }
        while let Some(r) = starts.join_next().await {
            if let Err(e) = r.map_err(|e| LeanErrorKind::Startup {
                message: e.to_string(),
            })? {
                pool.shutdown().await;
                return Err(e);
            }
        }
        Ok(pool)
    }

    /// Like [`Self::new`] but starts the processes lazily, on their first request.
    pub async fn prepare(config: PoolConfig) -> Result<Self, LeanError> {
        let lean_opt = config.lean.clone();
        let project_opt = config.project.clone();
        let imports = config.imports.clone();
        let sandbox = config.sandbox;
        crate::sandbox::warn_missing_once(sandbox);
        if sandbox == SandboxMode::Require {
            // Refused here, before any process starts, with what is missing.
            crate::sandbox::Prepared::new(sandbox, &Confinement::default())?;
        }
        let (install, project, repl) = tokio::task::spawn_blocking(move || {
            let install = LeanInstall::find(lean_opt.as_deref())?;
            let project = match project_opt {
                Some(p) => {
                    let root = LeanProject::discover(&p).ok_or_else(|| LeanErrorKind::Project {
                        path: p.clone(),
                        message: "no leanpkg.toml in this directory or above it".into(),
                    })?;
                    let named = LeanProject::load(&install, &root)?;
                    Some(instead_of_incomplete(&install, named, &imports)?)
                }
                None => match setup_project_for(&install, &imports)? {
                    Some(root) => Some(LeanProject::load(&install, &root)?),
                    None => None,
                },
            };
            let repl = CompiledRepl::ensure(&install, sandbox)?;
            Ok::<_, LeanError>((install, project, repl))
        })
        .await
        .map_err(|e| LeanErrorKind::Startup {
            message: e.to_string(),
        })??;
        let launch_file = repl.launch_file(&config.imports)?;
        let (mut search_path, cwd) = match &project {
            Some(p) => (p.search_path.clone(), p.root.clone()),
            None => (
                crate::locate::core_search_path(&install)?,
                std::env::temp_dir(),
            ),
        };
        search_path.push(repl.dir.clone());
        // What a worker reads: its search path, the project, the launch file. Not its working
        // directory when that is the system's temporary directory.
        let mut read = search_path.clone();
        read.extend(project.iter().map(|p| p.root.clone()));
        read.extend(launch_file.parent().map(Path::to_path_buf));
        let spec = WorkerSpec {
            lean: install.lean.clone(),
            search_path,
            launch_file,
            cwd,
            memory_mb: config.memory_mb,
            start_timeout: config.start_timeout,
            timed: config.timed,
            sandbox: config.sandbox,
            confinement: Confinement::for_lean(&install.lean, &read, &[]),
        };
        let n = config.workers.max(1);
        let workers = (0..n).map(|_| LeanWorker::spawn(spec.clone())).collect();
        Ok(LeanPool {
            workers,
            live_proofs: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            config,
            install,
            project,
            closed: AtomicBool::new(false),
            files: (0..n)
                .map(|_| tokio::sync::Mutex::new(WorkerFile::default()))
                .collect(),
            poisoned: std::sync::Mutex::new(HashMap::new()),
            served_base: (0..n).map(|_| std::sync::Mutex::new((0, 0))).collect(),
            recycled: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    pub fn install(&self) -> &LeanInstall {
        &self.install
    }

    pub fn project(&self) -> Option<&LeanProject> {
        self.project.as_ref()
    }

    pub fn size(&self) -> usize {
        self.workers.len()
    }

    fn check_open(&self) -> Result<(), LeanError> {
        if self.closed.load(Ordering::SeqCst) {
            Err(LeanErrorKind::Closed.into())
        } else {
            Ok(())
        }
    }

    fn least_busy(&self) -> usize {
        (0..self.workers.len())
            .min_by_key(|&i| {
                (
                    self.workers[i].stats.in_flight.load(Ordering::SeqCst),
                    self.live_proofs[i].load(Ordering::SeqCst),
                )
            })
            .unwrap_or(0)
    }

    fn least_loaded(&self) -> usize {
        (0..self.workers.len())
            .min_by_key(|&i| {
                (
                    self.live_proofs[i].load(Ordering::SeqCst),
                    self.workers[i].stats.in_flight.load(Ordering::SeqCst),
                )
            })
            .unwrap_or(0)
    }

    /// Elaborates `statement` (`(a b : ℕ) (h₀ : a < b) : b ≠ 0`) under the `context` lines
    /// (`open …`, `open_locale …`) and returns the initial proof state.
    pub async fn start(
        &self,
        context: &[String],
        statement: &str,
    ) -> Result<ProofStart, LeanError> {
        self.check_open()?;
        let text = statement_text(context, statement)?;
        let w = self.least_loaded();
        self.recycle_if_due(w).await;
        let request = StartRequest {
            statement: Statement::Text(text.clone()),
        };
        let reply = self.workers[w]
            .request(request, self.config.verify_timeout, None)
            .await?;
        let started = match reply.answer()? {
            Ok(started) => started,
            Err(e) => return Err(elaboration_error(e, statement, &text)),
        };
        self.live_proofs[w].fetch_add(1, Ordering::SeqCst);
        Ok(proof_start(w, reply.incarnation, started))
    }

    /// Runs one tactic on a state. Refused text and Lean's errors are `Ok(Failed)`; a lost
    /// state or a wall-clock timeout (which restarts the worker) are errors.
    pub async fn run(&self, state: &StateRef, tactic: &str) -> Result<TacticResult, LeanError> {
        self.run_timed(state, tactic).await.map(|(r, _)| r)
    }

    /// [`Self::run`], also returning how long it took.
    pub async fn run_timed(
        &self,
        state: &StateRef,
        tactic: &str,
    ) -> Result<(TacticResult, Timing), LeanError> {
        self.check_open()?;
        if let Err(r) = screen(tactic) {
            return Ok((
                TacticResult::Failed {
                    message: r.to_string(),
                    pos: None,
                },
                Timing::default(),
            ));
        }
        self.run_screened(state, tactic).await
    }

    /// [`Self::run`] without the screen, for the tests that show what the operating-system
    /// sandbox stops when a text gets past the screen. Never for text from a model.
    #[doc(hidden)]
    pub async fn run_unscreened(
        &self,
        state: &StateRef,
        tactic: &str,
    ) -> Result<TacticResult, LeanError> {
        self.check_open()?;
        self.run_screened(state, tactic).await.map(|(r, _)| r)
    }

    /// Runs a tactic text that has passed the screen (or a test's text).
    async fn run_screened(
        &self,
        state: &StateRef,
        tactic: &str,
    ) -> Result<(TacticResult, Timing), LeanError> {
        let Some(worker) = self.workers.get(state.worker) else {
            return Err(LeanErrorKind::StateLost(LostState::NoSuchWorker(state.worker)).into());
        };
        let request = RunRequest {
            state: state.state,
            tactic: tactic.to_string(),
            heartbeats: self.config.tactic_heartbeats,
        };
        let reply = worker
            .request(request, self.config.tactic_timeout, Some(state.incarnation))
            .await
            .inspect_err(|e| {
                if e.is_worker_loss() {
                    self.live_proofs[state.worker].store(0, Ordering::SeqCst);
                }
            })?;
        let timing = timing_of(&reply);
        Ok((tactic_result(reply.answer()?, state)?, timing))
    }

    /// A new proof whose one goal is the main goal of `state`: the state inside a `{ … }`
    /// block written there. Closing its goal completes it. Free it with [`Self::drop_proof`]
    /// like a started proof.
    pub async fn focus(&self, state: &StateRef) -> Result<ProofStart, LeanError> {
        self.check_open()?;
        let Some(worker) = self.workers.get(state.worker) else {
            return Err(LeanErrorKind::StateLost(LostState::NoSuchWorker(state.worker)).into());
        };
        let request = FocusRequest { state: state.state };
        let reply = worker
            .request(request, self.config.tactic_timeout, Some(state.incarnation))
            .await?;
        let focused = focus_result(reply.answer()?, state)?;
        self.live_proofs[state.worker].fetch_add(1, Ordering::SeqCst);
        Ok(focused)
    }

    /// Frees states (best effort: states of a restarted worker are gone already).
    pub async fn drop_states(&self, states: &[StateRef]) {
        for (w, worker) in self.workers.iter().enumerate() {
            let ids: Vec<u64> = states
                .iter()
                .filter(|s| s.worker == w && s.incarnation == worker.incarnation())
                .map(|s| s.state)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let request = DropRequest {
                states: ids,
                ..DropRequest::default()
            };
            let inc = worker.incarnation();
            let _ = worker
                .request(request, self.config.verify_timeout, Some(inc))
                .await;
        }
    }

    /// Frees a whole proof: every state it made.
    pub async fn drop_proof(&self, state: &StateRef) {
        let Some(worker) = self.workers.get(state.worker) else {
            return;
        };
        if state.incarnation != worker.incarnation() {
            return;
        }
        let request = DropRequest {
            proofs: vec![state.proof],
            ..DropRequest::default()
        };
        if worker
            .request(request, self.config.verify_timeout, Some(state.incarnation))
            .await
            .is_ok()
        {
            let live = &self.live_proofs[state.worker];
            let _ = live.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
    }

    /// Checks a complete proof (`begin … end`, `by …`, or a term) of `statement` as Lean
    /// compiles a theorem: elaborated with the binders in scope, checked by the kernel, and
    /// using no `sorry` and no axioms beyond `propext`, `quot.sound`, `classical.choice`.
    pub async fn verify(
        &self,
        context: &[String],
        statement: &str,
        proof: &str,
    ) -> Result<Verification, LeanError> {
        self.check_open()?;
        if let Err(r) = screen(proof) {
            return Ok(Verification::refused(r.to_string()));
        }
        let text = statement_text(context, statement)?;
        let request = VerifyRequest {
            statement: Statement::Text(text.clone()),
            proof: proof.to_string(),
            heartbeats: self.config.verify_heartbeats,
        };
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(request, self.config.verify_timeout, None)
            .await?;
        verify_result(reply.answer()?, statement, &text)
    }

    /// Elaborates a statement alone. Returns it as Lean prints it, or the error.
    pub async fn check_statement(
        &self,
        context: &[String],
        statement: &str,
    ) -> Result<String, LeanError> {
        self.check_open()?;
        let text = statement_text(context, statement)?;
        let request = CheckRequest {
            statement: text.clone(),
        };
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(request, self.config.verify_timeout, None)
            .await?;
        match reply.answer()? {
            Ok(checked) => Ok(checked.statement),
            Err(e) => Err(elaboration_error(e, statement, &text)),
        }
    }

    /// Which of these declarations exist under the pool's imports (e.g.
    /// `tactic.interactive.linarith`: whether `linarith` is available).
    pub async fn declared(&self, names: &[&str]) -> Result<Vec<bool>, LeanError> {
        self.check_open()?;
        let request = DeclaredRequest {
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(request, self.config.verify_timeout, None)
            .await?;
        // An error answer has no flags: the count below says so.
        let flags = reply.answer()?.map(|d| d.declared).unwrap_or_default();
        if flags.len() != names.len() {
            return Err(LeanErrorKind::Protocol(format!(
                "asked about {} names, got {} answers",
                names.len(),
                flags.len()
            ))
            .into());
        }
        Ok(flags)
    }

    /// `limit` of the declarations the imports hold (not meta, not Lean's auxiliaries), from
    /// `offset`, each with its type as Lean prints it and where it is declared; and how many
    /// there are in all. The order is fixed for one set of imports.
    pub async fn declarations(
        &self,
        offset: u64,
        limit: u64,
        timeout: Duration,
    ) -> Result<DeclarationsResponse, LeanError> {
        self.check_open()?;
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(DeclarationsRequest { offset, limit }, timeout, None)
            .await?;
        reply
            .answer()?
            .map_err(|e| LeanErrorKind::Protocol(e.error).into())
    }

    // ---- files ----

    /// Runs `file` on a worker up to and including theorem segment `segment` (each worker runs
    /// a file once, forwards; a worker that already passed it answers at once) and returns what
    /// Lean made of that theorem.
    pub async fn file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
    ) -> Result<FileTheorem, LeanError> {
        self.check_open()?;
        if !matches!(file.segments.get(segment), Some(Segment::Theorem(_))) {
            return Err(LeanErrorKind::Protocol(format!(
                "segment {segment} of the file is not a theorem"
            ))
            .into());
        }
        // A worker that has it already, else the least busy of those that can go on to it
        // (proofs of one file spread over the workers that follow it), else one for a new
        // file.
        let mut can_go_on = Vec::new();
        for (w, f) in self.files.iter().enumerate() {
            if let Ok(f) = f.try_lock() {
                let current = f.incarnation == self.workers[w].incarnation();
                if current && f.key.as_deref() == Some(&file.key) {
                    if let Some(c) = f.captured.get(&segment) {
                        return Ok(c.clone());
                    }
                    if f.done <= segment {
                        can_go_on.push((w, segment - f.done));
                    }
                }
            }
        }
        let choice = can_go_on.into_iter().min_by_key(|&(w, gap)| {
            (
                self.live_proofs[w].load(Ordering::SeqCst),
                self.workers[w].stats.in_flight.load(Ordering::SeqCst),
                gap,
            )
        });
        let w = match choice {
            Some((w, _)) => w,
            None => self.worker_for_new_file(),
        };
        // A worker due for a fresh process gets it now, while it holds no proof; it then runs
        // the file again up to this theorem.
        self.recycle_if_due(w).await;
        let mut state = self.files[w].lock().await;
        self.run_file_to(w, &mut state, file, segment).await
    }

    /// Replaces worker `w`'s process by a fresh one when it is due ([`Recycle`]) and idle: no
    /// live proof, no request in flight.
    async fn recycle_if_due(&self, w: usize) {
        let recycle = self.config.recycle;
        if recycle == Recycle::NEVER
            || self.live_proofs[w].load(Ordering::SeqCst) > 0
            || self.workers[w].stats.in_flight.load(Ordering::SeqCst) > 0
        {
            return;
        }
        let worker = &self.workers[w];
        let requests = worker.stats.requests.load(Ordering::Relaxed);
        let served = {
            let mut base = self.served_base[w].lock().unwrap();
            if base.0 != worker.incarnation() {
                *base = (worker.incarnation(), requests);
            }
            requests - base.1
        };
        if recycle.is_due(served, || worker.rss_kib()) {
            tracing::info!(
                "recycling worker {w} after {served} requests (bound: {})",
                recycle.describe()
            );
            worker.restart().await;
            self.recycled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many times a worker was recycled ([`Recycle`]).
    pub fn recycled(&self) -> u64 {
        self.recycled.load(Ordering::Relaxed)
    }

    /// A worker to start a new file on: one holding no file in use, else the least loaded.
    fn worker_for_new_file(&self) -> usize {
        (0..self.workers.len())
            .min_by_key(|&i| {
                let in_use = self.files[i].try_lock().map(|f| f.in_use).unwrap_or(true);
                (
                    in_use,
                    self.live_proofs[i].load(Ordering::SeqCst),
                    self.workers[i].stats.in_flight.load(Ordering::SeqCst),
                )
            })
            .unwrap_or(0)
    }

    async fn run_file_to(
        &self,
        w: usize,
        state: &mut WorkerFile,
        file: &LeanFile,
        segment: usize,
    ) -> Result<FileTheorem, LeanError> {
        let worker = &self.workers[w];
        // A few rounds: a proof that runs past the time limit restarts the process, and the
        // file is run again with that proof replaced by `sorry`.
        let mut crashed_once = false;
        for _round in 0..4 {
            let current = state.incarnation == worker.incarnation() && state.key.is_some();
            if current
                && state.key.as_deref() == Some(&file.key)
                && let Some(c) = state.captured.get(&segment)
            {
                return Ok(c.clone());
            }
            let same_file = current && state.key.as_deref() == Some(&file.key);
            if !same_file || state.done > segment {
                let closers = if current {
                    std::mem::take(&mut state.closers)
                } else {
                    String::new()
                };
                let request = FileResetRequest {
                    closers,
                    heartbeats: self.config.verify_heartbeats * 1000,
                };
                let reply = worker
                    .request(request, self.config.verify_timeout, None)
                    .await?;
                *state = WorkerFile {
                    incarnation: reply.incarnation,
                    key: Some(file.key.clone()),
                    ..WorkerFile::default()
                };
            }
            let poisoned = self
                .poisoned
                .lock()
                .unwrap()
                .get(&file.key)
                .cloned()
                .unwrap_or_default();
            let mut restarted = false;
            while state.done <= segment {
                let i = state.done;
                let seg = &file.segments[i];
                let first_line = seg.text().line;
                let timeout = self.config.verify_timeout;
                let sent = match seg {
                    Segment::Commands(t) => {
                        let request = FileCommandsRequest {
                            text: t.text.clone(),
                        };
                        let reply = worker.request(request, timeout, None).await;
                        reply.map(SegmentReply::Commands)
                    }
                    Segment::Theorem(t) => {
                        let text = if poisoned.contains_key(&i) {
                            &t.fallback
                        } else {
                            &t.decl.text
                        };
                        let request = FileTheoremRequest {
                            signature: t.signature.clone(),
                            text: text.clone(),
                            fallback: t.fallback.clone(),
                            name: t.name.clone(),
                            example: t.example,
                        };
                        let reply = worker.request(request, timeout, None).await;
                        reply.map(SegmentReply::Theorem)
                    }
                };
                let reply = match sent {
                    Ok(r) => r,
                    // A proof that runs past the limit or takes Lean down with it: the file is
                    // run again with that theorem's `sorry` fallback, so that the theorems after
                    // it can still be reached.
                    // The theorem asked for crashed once: the cause may lie outside it (memory
                    // left behind by an earlier proof, another process's pressure); a fresh
                    // process tries once more before it counts against the proof.
                    Err(e)
                        if matches!(e.kind(), LeanErrorKind::Crashed { .. })
                            && i == segment
                            && !crashed_once
                            && !poisoned.contains_key(&i) =>
                    {
                        crashed_once = true;
                        state.key = None;
                        restarted = true;
                        break;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            LeanErrorKind::Timeout(_) | LeanErrorKind::Crashed { .. }
                        ) && matches!(seg, Segment::Theorem(_))
                            && !poisoned.contains_key(&i) =>
                    {
                        state.key = None;
                        let reason = match e.kind() {
                            LeanErrorKind::Timeout(d) => {
                                format!("the proof did not elaborate within {d:?}")
                            }
                            _ => format!("Lean stopped on this proof: {e}"),
                        };
                        self.poisoned
                            .lock()
                            .unwrap()
                            .entry(file.key.clone())
                            .or_default()
                            .insert(i, reason);
                        if i == segment {
                            return Err(e);
                        }
                        restarted = true;
                        break;
                    }
                    Err(e) => {
                        state.key = None;
                        return Err(e);
                    }
                };
                if reply.incarnation() != state.incarnation {
                    // The process was restarted under us (another request timed out).
                    state.key = None;
                    restarted = true;
                    break;
                }
                let captured = match &reply {
                    SegmentReply::Theorem(reply) => match reply.answer() {
                        Ok(answer) => {
                            let messages = relocate_messages(&reply.messages, first_line);
                            let mut captured =
                                FileTheorem::of(answer, i, messages, w, reply.incarnation);
                            if let Some(reason) = poisoned.get(&i)
                                && captured.statement_error.is_none()
                            {
                                captured.verified = false;
                                captured.errors = vec![reason.clone()];
                            }
                            Some(captured)
                        }
                        Err(e) => {
                            state.key = None;
                            return Err(e);
                        }
                    },
                    SegmentReply::Commands(reply) => match reply.answer() {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => {
                            tracing::debug!(
                                "file command at line {first_line} failed: {}",
                                e.error
                            );
                            None
                        }
                        Err(e) => {
                            state.key = None;
                            return Err(e);
                        }
                    },
                };
                state.done = i + 1;
                state.closers = seg.text().closers.clone();
                if let Some(captured) = captured {
                    state.captured.insert(i, captured);
                }
            }
            if restarted {
                continue;
            }
            if let Some(c) = state.captured.get(&segment) {
                return Ok(c.clone());
            }
        }
        Err(LeanErrorKind::Protocol("the file could not be run to this theorem".into()).into())
    }

    /// [`Self::file_theorem`], with a statement that does not elaborate as the error.
    async fn elaborated_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
    ) -> Result<FileTheorem, LeanError> {
        let c = self.file_theorem(file, segment).await?;
        match &c.statement_error {
            Some(e) => Err(LeanErrorKind::Elaboration {
                message: e.clone(),
                pos: None,
            }
            .into()),
            None => Ok(c),
        }
    }

    /// Starts a proof of a file's theorem at its real goal.
    pub async fn start_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
    ) -> Result<ProofStart, LeanError> {
        self.start_where_file_states(file, segment, |theorem| {
            Statement::Captured(CapturedTheorem { theorem })
        })
        .await
    }

    /// Starts a proof of `statement` (`(x : ℕ) (h : 0 < x) : …`, e.g. a tactic state read back
    /// into a statement) where the file states theorem `segment`: its namespaces, `open` lines
    /// and earlier declarations are in scope.
    pub async fn start_at_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
        statement: &str,
        universes: &[String],
    ) -> Result<ProofStart, LeanError> {
        let (binders, goal) =
            split_statement(statement).ok_or_else(|| LeanErrorKind::Elaboration {
                message: format!("not a statement (no `:` outside brackets): {statement}"),
                pos: None,
            })?;
        self.start_where_file_states(file, segment, |theorem| {
            Statement::AtTheorem(StatementAtTheorem {
                theorem,
                binders: binders.clone(),
                goal: goal.clone(),
                universes: universes.to_vec(),
            })
        })
        .await
    }

    /// Starts a proof of `statement(captured theorem id)` on the worker that has run `file`
    /// up to theorem `segment`, running the file again on a worker that restarted meanwhile.
    async fn start_where_file_states(
        &self,
        file: &LeanFile,
        segment: usize,
        statement: impl Fn(u64) -> Statement,
    ) -> Result<ProofStart, LeanError> {
        for _ in 0..3 {
            let c = self.elaborated_file_theorem(file, segment).await?;
            let w = c.worker;
            if let Ok(mut f) = self.files[w].try_lock() {
                f.in_use = true;
            }
            let request = StartRequest {
                statement: statement(c.id),
            };
            let reply = match self.workers[w]
                .request(request, self.config.verify_timeout, Some(c.incarnation))
                .await
            {
                Err(e) if matches!(e.kind(), LeanErrorKind::StateLost(_)) => continue,
                r => r?,
            };
            let started = reply.answer()?.map_err(|e| LeanErrorKind::Elaboration {
                message: e.error,
                pos: e.pos,
            })?;
            self.live_proofs[w].fetch_add(1, Ordering::SeqCst);
            return Ok(proof_start(w, reply.incarnation, started));
        }
        Err(LeanErrorKind::StateLost(LostState::FileWorkerKeptRestarting).into())
    }

    /// Checks a complete proof of a file's theorem where the file states it, as
    /// [`Self::verify`] does for a statement given as text. `proof` is untrusted (screened).
    pub async fn verify_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
        proof: &str,
    ) -> Result<Verification, LeanError> {
        self.check_open()?;
        if let Err(r) = screen(proof) {
            return Ok(Verification::refused(r.to_string()));
        }
        self.verify_file_theorem_unscreened(file, segment, proof)
            .await
    }

    /// [`Self::verify_file_theorem`] for text from the user's own file (trusted, like the rest
    /// of the file): used to get Lean's message for a proof of the file that failed.
    pub async fn verify_file_theorem_unscreened(
        &self,
        file: &LeanFile,
        segment: usize,
        proof: &str,
    ) -> Result<Verification, LeanError> {
        for _ in 0..3 {
            let c = self.elaborated_file_theorem(file, segment).await?;
            let request = VerifyRequest {
                statement: Statement::Captured(CapturedTheorem { theorem: c.id }),
                proof: proof.to_string(),
                heartbeats: self.config.verify_heartbeats,
            };
            let reply = match self.workers[c.worker]
                .request(request, self.config.verify_timeout, Some(c.incarnation))
                .await
            {
                Err(e) if matches!(e.kind(), LeanErrorKind::StateLost(_)) => continue,
                r => r?,
            };
            return Ok(Verification::from_answer(reply.answer()?));
        }
        Err(LeanErrorKind::StateLost(LostState::FileWorkerKeptRestarting).into())
    }

    /// The declarations `names` (dotted text, as written in a tactic) stand for where the file
    /// states theorem `segment`, as Lean resolves them there (namespaces, `open`, `export`, the
    /// file's earlier declarations); `None` for a name that is no declaration there.
    pub async fn resolve_at_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
        names: &[String],
    ) -> Result<Vec<Option<DeclPlace>>, LeanError> {
        for _ in 0..3 {
            let c = self.elaborated_file_theorem(file, segment).await?;
            let request = ResolveRequest {
                theorem: c.id,
                names: names.to_vec(),
            };
            let reply = match self.workers[c.worker]
                .request(request, self.config.verify_timeout, Some(c.incarnation))
                .await
            {
                Err(e) if matches!(e.kind(), LeanErrorKind::StateLost(_)) => continue,
                r => r?,
            };
            let resolved = reply
                .answer()?
                .map_err(|e| LeanError::from(LeanErrorKind::Protocol(e.error)))?
                .resolved;
            if resolved.len() != names.len() {
                return Err(LeanErrorKind::Protocol(format!(
                    "asked to resolve {} names, got {} answers",
                    names.len(),
                    resolved.len()
                ))
                .into());
            }
            return Ok(resolved);
        }
        Err(LeanErrorKind::StateLost(LostState::FileWorkerKeptRestarting).into())
    }

    /// Asks every worker how it is. A worker that does not answer within `timeout` is
    /// restarted (its states are lost).
    pub async fn health(&self, timeout: Duration) -> Vec<WorkerHealth> {
        let mut out = Vec::new();
        for (i, w) in self.workers.iter().enumerate() {
            let r = w.request(StatsRequest {}, timeout, None).await;
            let s = &w.stats;
            let (states, proofs, error) = match &r {
                Ok(reply) => {
                    let stats = reply.answer().ok().and_then(Result::ok);
                    (
                        stats.and_then(|s| s.states),
                        stats.and_then(|s| s.proofs),
                        None,
                    )
                }
                Err(e) => (None, None, Some(e.to_string())),
            };
            out.push(WorkerHealth {
                worker: i,
                alive: r.is_ok(),
                rss_kib: w.rss_kib(),
                states,
                proofs,
                requests: s.requests.load(Ordering::Relaxed),
                starts: s.starts.load(Ordering::Relaxed),
                timeouts: s.timeouts.load(Ordering::Relaxed),
                crashes: s.crashes.load(Ordering::Relaxed),
                error,
            });
        }
        out
    }

    /// pids of the running Lean processes.
    pub fn pids(&self) -> Vec<u32> {
        self.workers
            .iter()
            .map(|w| w.stats.pid.load(Ordering::SeqCst) as u32)
            .filter(|&p| p != 0)
            .collect()
    }

    /// Ends every worker's process and waits for them to exit.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for w in &self.workers {
            w.shutdown().await;
        }
    }
}

/// What a worker answered a segment of a file.
enum SegmentReply {
    Commands(Reply<DoneResponse>),
    Theorem(Reply<FileTheoremResponse>),
}

impl SegmentReply {
    fn incarnation(&self) -> u64 {
        match self {
            SegmentReply::Commands(r) => r.incarnation,
            SegmentReply::Theorem(r) => r.incarnation,
        }
    }
}

impl FileTheorem {
    /// What a `file_theorem` answer says of segment `segment`, run by worker `worker`'s process
    /// `incarnation`.
    fn of(
        answer: Result<FileTheoremResponse, ErrorResponse>,
        segment: usize,
        messages: Vec<String>,
        worker: usize,
        incarnation: u64,
    ) -> Self {
        match answer {
            Ok(t) => FileTheorem {
                segment,
                full_name: t.full_name,
                goals: t.goals,
                statement_error: None,
                verified: t.own_proof.verified,
                errors: t.own_proof.errors,
                axioms: sorted(t.own_proof.axioms),
                messages,
                id: t.theorem,
                worker,
                incarnation,
            },
            // The statement did not elaborate where the file states it.
            Err(e) => FileTheorem {
                segment,
                full_name: String::new(),
                goals: Vec::new(),
                statement_error: Some(lean_message(&e).to_string()),
                verified: false,
                errors: vec![e.error],
                axioms: Vec::new(),
                messages,
                id: 0,
                worker,
                incarnation,
            },
        }
    }
}

/// What the REPL's answer to `run` on `state` says: the tactic's result, or that the state is
/// lost (the REPL no longer holds it: it was dropped). Any other error is the tactic's failure.
/// The project a pool uses when none was named: the one `prover setup` made, when Lean's core
/// library lacks one of the imports (a file that needs mathlib).
fn setup_project_for(
    install: &LeanInstall,
    imports: &[String],
) -> Result<Option<PathBuf>, LeanError> {
    if imports.is_empty() {
        return Ok(None);
    }
    let Some(root) = LeanProject::from_setup() else {
        return Ok(None);
    };
    let core = crate::locate::core_search_path(install)?;
    if imports.iter().all(|m| crate::make::has_module(&core, m)) {
        return Ok(None);
    }
    tracing::info!(project = %root.display(), "using the mathlib project of `prover setup`");
    Ok(Some(root))
}

/// `project`, or the project `prover setup` made when `project` lacks one of the imports and
/// that one has them all (a directory with a `leanpkg.toml` whose dependencies were never
/// fetched, such as MiniF2F's, is found above the problem files before anything else).
fn instead_of_incomplete(
    install: &LeanInstall,
    project: LeanProject,
    imports: &[String],
) -> Result<LeanProject, LeanError> {
    let Some(missing) = imports
        .iter()
        .find(|m| !crate::make::has_module(&project.search_path, m))
    else {
        return Ok(project);
    };
    let Some(root) = LeanProject::from_setup() else {
        return Ok(project);
    };
    let setup = LeanProject::load(install, &root)?;
    if setup.root == project.root
        || !imports
            .iter()
            .all(|m| crate::make::has_module(&setup.search_path, m))
    {
        return Ok(project);
    }
    static NOTED: std::sync::Once = std::sync::Once::new();
    NOTED.call_once(|| {
        eprintln!(
            "note: {} has no `{missing}`; using the project of `prover setup` ({}), which has every import",
            project.root.display(),
            setup.root.display()
        );
    });
    Ok(setup)
}

fn tactic_result(
    answer: Result<StateResponse, ErrorResponse>,
    state: &StateRef,
) -> Result<TacticResult, LeanError> {
    match answer {
        Ok(ran) => Ok(TacticResult::Success {
            state: StateRef {
                state: ran.state,
                ..state.clone()
            },
            goals: ran.goals,
            pp: ran.pp,
        }),
        Err(e) if e.is(ReplErrorKind::UnknownState) => Err(not_in_repl(e)),
        Err(e) => Ok(TacticResult::Failed {
            message: e.error,
            pos: e.pos,
        }),
    }
}

/// The REPL does not hold the state a request named (it was dropped).
fn not_in_repl(e: ErrorResponse) -> LeanError {
    LeanErrorKind::StateLost(LostState::NotInRepl(e.error)).into()
}

/// What the REPL's answer to `focus` on `state` says: the new proof, a lost state, or why the
/// goal cannot be focused on.
fn focus_result(
    answer: Result<ProofResponse, ErrorResponse>,
    state: &StateRef,
) -> Result<ProofStart, LeanError> {
    match answer {
        Ok(focused) => Ok(proof_start(state.worker, state.incarnation, focused)),
        Err(e) if e.is(ReplErrorKind::UnknownState) => Err(not_in_repl(e)),
        Err(e) => Err(LeanErrorKind::Elaboration {
            message: e.error,
            pos: None,
        }
        .into()),
    }
}

/// What the REPL's answer to `verify` of `statement` (sent as `text`) says: a statement that
/// does not elaborate is an error; anything else is the verdict on the proof.
fn verify_result(
    answer: Result<VerifyResponse, ErrorResponse>,
    statement: &str,
    text: &StatementText,
) -> Result<Verification, LeanError> {
    match answer {
        Err(e) if e.is(ReplErrorKind::Statement) => Err(elaboration_error(e, statement, text)),
        answer => Ok(Verification::from_answer(answer)),
    }
}

/// A new proof a worker answered `start` or `focus` with.
fn proof_start(worker: usize, incarnation: u64, started: ProofResponse) -> ProofStart {
    ProofStart {
        state: StateRef {
            worker,
            incarnation,
            proof: started.proof,
            state: started.state,
        },
        goals: started.goals,
        pp: started.pp,
    }
}

/// Screens and splits a statement into what the REPL elaborates.
fn statement_text(context: &[String], statement: &str) -> Result<StatementText, LeanError> {
    for line in context {
        screen_context_line(line).map_err(|r| LeanErrorKind::Refused(r.to_string()))?;
    }
    screen(statement).map_err(|r| LeanErrorKind::Refused(r.to_string()))?;
    let (binders, goal) = split_statement(statement).ok_or_else(|| LeanErrorKind::Elaboration {
        message: "the statement has no `:` separating binders from the goal".into(),
        pos: None,
    })?;
    Ok(StatementText {
        context: context.to_vec(),
        binders,
        goal,
    })
}

/// The axioms a proof uses, in name order (the REPL lists them in the order its walk met them).
fn sorted(mut axioms: Vec<String>) -> Vec<String> {
    axioms.sort();
    axioms
}

fn timing_of<T>(r: &Reply<T>) -> Timing {
    Timing {
        round_trip: r.round_trip,
        lean: r.lean_time,
    }
}

/// Lean's message in an error answer, without the `statement: ` the REPL puts before a
/// statement's error (for readers of a proof's list of errors).
fn lean_message(e: &ErrorResponse) -> &str {
    e.error.strip_prefix("statement: ").unwrap_or(&e.error)
}

/// An elaboration error with its position mapped from the text the REPL elaborated
/// (`∀ BINDERS,\nGOAL`) back to the statement as written.
fn elaboration_error(e: ErrorResponse, statement: &str, text: &StatementText) -> LeanError {
    let pos = e
        .pos
        .and_then(|p| map_statement_pos(p, statement, &text.binders, &text.goal));
    LeanErrorKind::Elaboration {
        message: lean_message(&e).to_string(),
        pos,
    }
    .into()
}

/// Maps a (line, column) of the elaborated text back to (line, column) in `statement`.
/// Lean's lines are 1-based and its columns count characters from 0.
pub(crate) fn map_statement_pos(
    (line, col): (u32, u32),
    statement: &str,
    binders: &str,
    goal: &str,
) -> Option<(u32, u32)> {
    let prefix = if binders.trim().is_empty() {
        ""
    } else {
        "∀ "
    };
    let elaborated = if prefix.is_empty() {
        goal.to_string()
    } else {
        format!("{prefix}{binders},\n{goal}")
    };
    // Character offset in the elaborated text.
    let mut offset = 0usize;
    for (i, l) in elaborated.split('\n').enumerate() {
        if i + 1 == line as usize {
            offset += col as usize;
            break;
        }
        offset += l.chars().count() + 1;
    }
    let binders_len = binders.chars().count();
    let prefix_len = prefix.chars().count();
    let (part, within) = if prefix.is_empty() {
        (goal, offset)
    } else if offset < prefix_len + binders_len {
        (binders, offset.saturating_sub(prefix_len))
    } else {
        (goal, offset.saturating_sub(prefix_len + binders_len + 2))
    };
    let start = statement.find(part)?;
    let before: String = statement[..start].to_string();
    let target: String = before.chars().chain(part.chars().take(within)).collect();
    let line = target.matches('\n').count() as u32 + 1;
    let col = target.rsplit('\n').next().unwrap_or("").chars().count() as u32;
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> StateRef {
        StateRef {
            worker: 0,
            incarnation: 1,
            proof: 2,
            state: 5,
        }
    }

    fn error(message: &str, kind: Option<ReplErrorKind>) -> ErrorResponse {
        ErrorResponse {
            error: message.into(),
            pos: None,
            error_kind: kind,
        }
    }

    #[test]
    fn an_unknown_state_is_lost_and_other_errors_are_failed_tactics() {
        let lost = tactic_result(
            Err(error("unknown state 5", Some(ReplErrorKind::UnknownState))),
            &state(),
        )
        .unwrap_err();
        assert!(matches!(
            lost.kind(),
            LeanErrorKind::StateLost(LostState::NotInRepl(m)) if m == "unknown state 5"
        ));
        assert_eq!(lost.to_string(), "proof state lost: unknown state 5");
        // The kind decides, not the words: Lean's own message may say anything.
        let failed = tactic_result(Err(error("unknown state 5", None)), &state()).unwrap();
        assert_eq!(
            failed,
            TacticResult::Failed {
                message: "unknown state 5".into(),
                pos: None
            }
        );
        let ran = StateResponse {
            state: 6,
            goals: vec![],
            pp: "no goals".into(),
        };
        assert!(tactic_result(Ok(ran), &state()).unwrap().is_complete());
    }

    #[test]
    fn focusing_on_an_unknown_state_is_a_lost_state() {
        let lost = focus_result(
            Err(error("unknown state 5", Some(ReplErrorKind::UnknownState))),
            &state(),
        )
        .unwrap_err();
        assert!(matches!(lost.kind(), LeanErrorKind::StateLost(_)), "{lost}");
        let no_goals =
            focus_result(Err(error("no goals: nothing to focus on", None)), &state()).unwrap_err();
        assert!(
            matches!(no_goals.kind(), LeanErrorKind::Elaboration { .. }),
            "{no_goals}"
        );
    }

    #[test]
    fn only_a_statement_error_of_verify_is_an_error() {
        let st = "(a : ℕ) : a = c";
        let text = statement_text(&[], st).unwrap();
        let bad = ErrorResponse {
            error: "statement: unknown identifier 'c'".into(),
            pos: Some((2, 4)),
            error_kind: Some(ReplErrorKind::Statement),
        };
        let err = verify_result(Err(bad), st, &text).unwrap_err();
        assert!(
            matches!(err.kind(), LeanErrorKind::Elaboration { message, pos: Some((1, 14)) }
                if message == "unknown identifier 'c'"),
            "{err:?}"
        );
        // A proof's own error, whatever it says, is the verdict.
        let proof_error = error("statement: not really", None);
        let v = verify_result(Err(proof_error), st, &text).unwrap();
        assert!(!v.ok);
        assert_eq!(v.errors, ["statement: not really"]);
        let verified = VerifyResponse {
            verified: true,
            errors: vec![],
            axioms: vec!["quot.sound".into(), "propext".into()],
        };
        let v = verify_result(Ok(verified), st, &text).unwrap();
        assert!(v.ok);
        assert_eq!(v.axioms, ["propext", "quot.sound"]);
    }

    #[test]
    fn positions_map_back_to_the_statement() {
        let st = "(a b : ℕ) (h₀ : a < c) :\n  b ≠ 0";
        let (b, g) = split_statement(st).unwrap();
        // Lean reports `c` at column 22 of "∀ (a b : ℕ) (h₀ : a < c),": 2 + 20.
        assert_eq!(map_statement_pos((1, 22), st, &b, &g), Some((1, 20)));
        // Something in the goal, line 2 of the elaborated text.
        assert_eq!(map_statement_pos((2, 4), st, &b, &g), Some((2, 6)));
        let st = ": foo = 1";
        let (b, g) = split_statement(st).unwrap();
        assert_eq!(map_statement_pos((1, 0), st, &b, &g), Some((1, 2)));
    }
}
