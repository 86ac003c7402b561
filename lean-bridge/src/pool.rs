//! A pool of Lean workers sharing one configuration (Lean binary, project, imports).
//!
//! A proof lives in the worker that started it (Lean's tactic states cannot move between
//! processes), so `start` picks the least loaded worker and every later request for that
//! proof's states goes back to it. Checks that need no state (`verify`, `check_statement`) go
//! to whichever worker has the fewest requests in flight.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::file::{FileTheorem, LeanFile, Segment, relocate_messages};
use crate::repl::CompiledRepl;
use crate::sandbox::{Confinement, SandboxMode};
use crate::screen::{screen, screen_context_line};
use crate::worker::{LeanWorker, Reply, WorkerSpec};
use crate::{LeanError, LeanInstall, LeanProject};
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

    /// The verdict in a `verify` response that elaborated the statement.
    fn from_reply(b: &Map<String, Value>) -> Self {
        if !ok(b) {
            return Verification {
                ok: false,
                errors: vec![get_str(b, "error")],
                axioms: Vec::new(),
                pos: get_pos(b),
            };
        }
        Verification {
            ok: b.get("verified").and_then(Value::as_bool).unwrap_or(false),
            errors: get_strs(b, "errors"),
            axioms: sorted_axioms(b),
            pos: None,
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
            starts.spawn(async move {
                let mut body = Map::new();
                body.insert("cmd".into(), "stats".into());
                w.request(body, timeout, None).await
            });
        }
        while let Some(r) = starts.join_next().await {
            if let Err(e) = r.map_err(|e| LeanError::Startup {
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
                    let root = LeanProject::discover(&p).ok_or_else(|| LeanError::Project {
                        path: p.clone(),
                        message: "no leanpkg.toml in this directory or above it".into(),
                    })?;
                    Some(LeanProject::load(&install, &root)?)
                }
                None => None,
            };
            let repl = CompiledRepl::ensure(&install, sandbox)?;
            Ok::<_, LeanError>((install, project, repl))
        })
        .await
        .map_err(|e| LeanError::Startup {
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
            Err(LeanError::Closed)
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
        let (binders, goal, body) = statement_request("start", context, statement)?;
        let w = self.least_loaded();
        let reply = self.workers[w]
            .request(body, self.config.verify_timeout, None)
            .await?;
        let b = &reply.body;
        if !ok(b) {
            return Err(elaboration_error(b, statement, &binders, &goal));
        }
        let proof = get_u64(b, "proof")?;
        let state = get_u64(b, "state")?;
        self.live_proofs[w].fetch_add(1, Ordering::SeqCst);
        Ok(ProofStart {
            state: StateRef {
                worker: w,
                incarnation: reply.incarnation,
                proof,
                state,
            },
            goals: get_goals(b)?,
            pp: get_str(b, "pp"),
        })
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
        let worker = self
            .workers
            .get(state.worker)
            .ok_or_else(|| LeanError::StateLost(format!("no worker {}", state.worker)))?;
        let body = object(json!({
            "cmd": "run",
            "state": state.state,
            "tactic": tactic,
            "heartbeats": self.config.tactic_heartbeats,
        }));
        let reply = worker
            .request(body, self.config.tactic_timeout, Some(state.incarnation))
            .await
            .inspect_err(|e| {
                if e.is_worker_loss() {
                    self.live_proofs[state.worker].store(0, Ordering::SeqCst);
                }
            })?;
        let timing = timing_of(&reply);
        let b = &reply.body;
        if !ok(b) {
            let message = get_str(b, "error");
            if message.starts_with("unknown state") {
                return Err(LeanError::StateLost(message));
            }
            return Ok((
                TacticResult::Failed {
                    message,
                    pos: get_pos(b),
                },
                timing,
            ));
        }
        Ok((
            TacticResult::Success {
                state: StateRef {
                    state: get_u64(b, "state")?,
                    ..state.clone()
                },
                goals: get_goals(b)?,
                pp: get_str(b, "pp"),
            },
            timing,
        ))
    }

    /// A new proof whose one goal is the main goal of `state`: the state inside a `{ … }`
    /// block written there. Closing its goal completes it. Free it with [`Self::drop_proof`]
    /// like a started proof.
    pub async fn focus(&self, state: &StateRef) -> Result<ProofStart, LeanError> {
        self.check_open()?;
        let worker = self
            .workers
            .get(state.worker)
            .ok_or_else(|| LeanError::StateLost(format!("no worker {}", state.worker)))?;
        let body = object(json!({"cmd": "focus", "state": state.state}));
        let reply = worker
            .request(body, self.config.tactic_timeout, Some(state.incarnation))
            .await?;
        let b = &reply.body;
        if !ok(b) {
            let message = get_str(b, "error");
            if message.starts_with("unknown state") {
                return Err(LeanError::StateLost(message));
            }
            return Err(LeanError::Elaboration { message, pos: None });
        }
        self.live_proofs[state.worker].fetch_add(1, Ordering::SeqCst);
        Ok(ProofStart {
            state: StateRef {
                proof: get_u64(b, "proof")?,
                state: get_u64(b, "state")?,
                ..state.clone()
            },
            goals: get_goals(b)?,
            pp: get_str(b, "pp"),
        })
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
            let body = object(json!({"cmd": "drop", "states": ids}));
            let inc = worker.incarnation();
            let _ = worker
                .request(body, self.config.verify_timeout, Some(inc))
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
        let body = object(json!({"cmd": "drop", "proofs": [state.proof]}));
        if worker
            .request(body, self.config.verify_timeout, Some(state.incarnation))
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
        let (binders, goal, mut body) = statement_request("verify", context, statement)?;
        body.insert("proof".into(), proof.into());
        body.insert("heartbeats".into(), self.config.verify_heartbeats.into());
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(body, self.config.verify_timeout, None)
            .await?;
        let b = &reply.body;
        if !ok(b) && get_str(b, "error").starts_with("statement: ") {
            return Err(elaboration_error(b, statement, &binders, &goal));
        }
        Ok(Verification::from_reply(b))
    }

    /// Elaborates a statement alone. Returns it as Lean prints it, or the error.
    pub async fn check_statement(
        &self,
        context: &[String],
        statement: &str,
    ) -> Result<String, LeanError> {
        self.check_open()?;
        let (binders, goal, body) = statement_request("check", context, statement)?;
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(body, self.config.verify_timeout, None)
            .await?;
        let b = &reply.body;
        if !ok(b) {
            return Err(elaboration_error(b, statement, &binders, &goal));
        }
        Ok(get_str(b, "statement"))
    }

    /// Which of these declarations exist under the pool's imports (e.g.
    /// `tactic.interactive.linarith`: whether `linarith` is available).
    pub async fn declared(&self, names: &[&str]) -> Result<Vec<bool>, LeanError> {
        self.check_open()?;
        let body = object(json!({"cmd": "declared", "names": names}));
        let w = self.least_busy();
        let reply = self.workers[w]
            .request(body, self.config.verify_timeout, None)
            .await?;
        let flags: Vec<bool> = reply
            .body
            .get("declared")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_bool().unwrap_or(false)).collect())
            .unwrap_or_default();
        if flags.len() != names.len() {
            return Err(LeanError::Protocol(format!(
                "asked about {} names, got {} answers",
                names.len(),
                flags.len()
            )));
        }
        Ok(flags)
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
            return Err(LeanError::Protocol(format!(
                "segment {segment} of the file is not a theorem"
            )));
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
        let mut state = self.files[w].lock().await;
        self.run_file_to(w, &mut state, file, segment).await
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
                let body = object(json!({
                    "cmd": "file_reset",
                    "closers": closers,
                    "heartbeats": self.config.verify_heartbeats * 1000,
                }));
                let reply = worker
                    .request(body, self.config.verify_timeout, None)
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
                let (body, first_line) = match seg {
                    Segment::Commands(t) => (
                        object(json!({"cmd": "file_commands", "text": t.text})),
                        t.line,
                    ),
                    Segment::Theorem(t) => {
                        let text = if poisoned.contains_key(&i) {
                            &t.fallback
                        } else {
                            &t.decl.text
                        };
                        (
                            object(json!({
                                "cmd": "file_theorem",
                                "signature": t.signature,
                                "text": text,
                                "fallback": t.fallback,
                                "name": t.name,
                                "example": t.example,
                            })),
                            t.decl.line,
                        )
                    }
                };
                let reply = match worker.request(body, self.config.verify_timeout, None).await {
                    Ok(r) => r,
                    // A proof that runs past the limit or takes Lean down with it: the file is
                    // run again with that theorem's `sorry` fallback, so that the theorems after
                    // it can still be reached.
                    // The theorem asked for crashed once: the cause may lie outside it (memory
                    // left behind by an earlier proof, another process's pressure); a fresh
                    // process tries once more before it counts against the proof.
                    Err(LeanError::Crashed { .. })
                        if i == segment && !crashed_once && !poisoned.contains_key(&i) =>
                    {
                        crashed_once = true;
                        state.key = None;
                        restarted = true;
                        break;
                    }
                    Err(e @ (LeanError::Timeout(_) | LeanError::Crashed { .. }))
                        if matches!(seg, Segment::Theorem(_)) && !poisoned.contains_key(&i) =>
                    {
                        state.key = None;
                        let reason = match &e {
                            LeanError::Timeout(d) => {
                                format!("the proof did not elaborate within {d:?}")
                            }
                            other => format!("Lean stopped on this proof: {other}"),
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
                if reply.incarnation != state.incarnation {
                    // The process was restarted under us (another request timed out).
                    state.key = None;
                    restarted = true;
                    break;
                }
                state.done = i + 1;
                state.closers = seg.text().closers.clone();
                let b = &reply.body;
                let messages = relocate_messages(&reply.messages, first_line);
                if let Segment::Theorem(_) = seg {
                    let mut captured = FileTheorem {
                        segment: i,
                        full_name: get_str(b, "full_name"),
                        goals: get_strs(b, "goals"),
                        statement_error: None,
                        verified: b.get("verified").and_then(Value::as_bool).unwrap_or(false),
                        errors: get_strs(b, "errors"),
                        axioms: sorted_axioms(b),
                        messages,
                        id: b.get("theorem").and_then(Value::as_u64).unwrap_or(0),
                        worker: w,
                        incarnation: reply.incarnation,
                    };
                    if !ok(b) {
                        let message = get_str(b, "error");
                        captured.statement_error = Some(
                            message
                                .strip_prefix("statement: ")
                                .unwrap_or(&message)
                                .to_string(),
                        );
                        captured.errors = vec![message];
                    } else if let Some(reason) = poisoned.get(&i) {
                        captured.verified = false;
                        captured.errors = vec![reason.clone()];
                    }
                    state.captured.insert(i, captured);
                } else if !ok(b) {
                    tracing::debug!(
                        "file command at line {first_line} failed: {}",
                        get_str(b, "error")
                    );
                }
            }
            if restarted {
                continue;
            }
            if let Some(c) = state.captured.get(&segment) {
                return Ok(c.clone());
            }
        }
        Err(LeanError::Protocol(
            "the file could not be run to this theorem".into(),
        ))
    }

    /// [`Self::file_theorem`], with a statement that does not elaborate as the error.
    async fn elaborated_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
    ) -> Result<FileTheorem, LeanError> {
        let c = self.file_theorem(file, segment).await?;
        match &c.statement_error {
            Some(e) => Err(LeanError::Elaboration {
                message: e.clone(),
                pos: None,
            }),
            None => Ok(c),
        }
    }

    /// Starts a proof of a file's theorem at its real goal.
    pub async fn start_file_theorem(
        &self,
        file: &LeanFile,
        segment: usize,
    ) -> Result<ProofStart, LeanError> {
        for _ in 0..3 {
            let c = self.elaborated_file_theorem(file, segment).await?;
            let w = c.worker;
            if let Ok(mut f) = self.files[w].try_lock() {
                f.in_use = true;
            }
            let body = object(json!({"cmd": "start", "theorem": c.id}));
            let reply = match self.workers[w]
                .request(body, self.config.verify_timeout, Some(c.incarnation))
                .await
            {
                Err(LeanError::StateLost(_)) => continue,
                r => r?,
            };
            let b = &reply.body;
            if !ok(b) {
                return Err(LeanError::Elaboration {
                    message: get_str(b, "error"),
                    pos: get_pos(b),
                });
            }
            self.live_proofs[w].fetch_add(1, Ordering::SeqCst);
            return Ok(ProofStart {
                state: StateRef {
                    worker: w,
                    incarnation: reply.incarnation,
                    proof: get_u64(b, "proof")?,
                    state: get_u64(b, "state")?,
                },
                goals: get_goals(b)?,
                pp: get_str(b, "pp"),
            });
        }
        Err(LeanError::StateLost(
            "the worker running the file kept restarting".into(),
        ))
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
            let body = object(json!({
                "cmd": "verify",
                "theorem": c.id,
                "proof": proof,
                "heartbeats": self.config.verify_heartbeats,
            }));
            let reply = match self.workers[c.worker]
                .request(body, self.config.verify_timeout, Some(c.incarnation))
                .await
            {
                Err(LeanError::StateLost(_)) => continue,
                r => r?,
            };
            return Ok(Verification::from_reply(&reply.body));
        }
        Err(LeanError::StateLost(
            "the worker running the file kept restarting".into(),
        ))
    }

    /// Asks every worker how it is. A worker that does not answer within `timeout` is
    /// restarted (its states are lost).
    pub async fn health(&self, timeout: Duration) -> Vec<WorkerHealth> {
        let mut out = Vec::new();
        for (i, w) in self.workers.iter().enumerate() {
            let body = object(json!({"cmd": "stats"}));
            let r = w.request(body, timeout, None).await;
            let s = &w.stats;
            let (states, proofs, error) = match &r {
                Ok(reply) => (
                    reply.body.get("states").and_then(Value::as_u64),
                    reply.body.get("proofs").and_then(Value::as_u64),
                    None,
                ),
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

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Screens and splits a statement, and builds the request body.
fn statement_request(
    cmd: &str,
    context: &[String],
    statement: &str,
) -> Result<(String, String, Map<String, Value>), LeanError> {
    for line in context {
        screen_context_line(line).map_err(|r| LeanError::Refused(r.to_string()))?;
    }
    screen(statement).map_err(|r| LeanError::Refused(r.to_string()))?;
    let (binders, goal) = split_statement(statement).ok_or_else(|| LeanError::Elaboration {
        message: "the statement has no `:` separating binders from the goal".into(),
        pos: None,
    })?;
    let body = object(json!({
        "cmd": cmd,
        "context": context,
        "binders": binders,
        "goal": goal,
    }));
    Ok((binders, goal, body))
}

fn ok(b: &Map<String, Value>) -> bool {
    b.get("ok").and_then(Value::as_bool).unwrap_or(false)
}

fn get_str(b: &Map<String, Value>, k: &str) -> String {
    b.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The axioms a proof uses, in name order (the REPL lists them in the order its walk met them).
fn sorted_axioms(b: &Map<String, Value>) -> Vec<String> {
    let mut axioms = get_strs(b, "axioms");
    axioms.sort();
    axioms
}

fn get_strs(b: &Map<String, Value>, k: &str) -> Vec<String> {
    b.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn get_u64(b: &Map<String, Value>, k: &str) -> Result<u64, LeanError> {
    b.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| LeanError::Protocol(format!("response without `{k}`: {b:?}")))
}

fn get_goals(b: &Map<String, Value>) -> Result<Vec<String>, LeanError> {
    match b.get("goals") {
        Some(Value::Array(a)) => Ok(a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()),
        _ => Err(LeanError::Protocol(format!(
            "response without goals: {b:?}"
        ))),
    }
}

fn get_pos(b: &Map<String, Value>) -> Option<(u32, u32)> {
    let a = b.get("pos")?.as_array()?;
    Some((a.first()?.as_u64()? as u32, a.get(1)?.as_u64()? as u32))
}

fn timing_of(r: &Reply) -> Timing {
    Timing {
        round_trip: r.round_trip,
        lean: r.lean_time,
    }
}

/// An elaboration error with its position mapped from the text the REPL elaborated
/// (`∀ BINDERS,\nGOAL`) back to the statement as written.
fn elaboration_error(
    b: &Map<String, Value>,
    statement: &str,
    binders: &str,
    goal: &str,
) -> LeanError {
    let message = get_str(b, "error");
    let message = message
        .strip_prefix("statement: ")
        .unwrap_or(&message)
        .to_string();
    let pos = get_pos(b).and_then(|p| map_statement_pos(p, statement, binders, goal));
    LeanError::Elaboration { message, pos }
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
