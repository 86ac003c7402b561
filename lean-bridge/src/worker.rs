//! One Lean process running the REPL, driven by a tokio task.
//!
//! The task owns the process and serves requests one at a time. Every request has a
//! wall-clock limit: past it the process is killed (by pid: only our own child) and a fresh
//! one is started on the next request. A process that dies is noticed on the next read and
//! reported with the end of its stderr. Each process start bumps the worker's *incarnation*;
//! proof states carry the incarnation that made them, so states of a dead process are reported
//! as lost instead of being confused with the new process's states.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};

use crate::error::{LeanError, LeanErrorKind, LostState};
use crate::protocol::{self, Answer, Request, RequestLine, StatsRequest, answer_id, read_answer};
use crate::repl::{RESPONSE_MARKER, join_path};
use crate::sandbox::{Confinement, SandboxMode};

/// How to start a worker's Lean process.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    pub lean: PathBuf,
    /// `LEAN_PATH`: the project's search path plus the compiled REPL's directory.
    pub search_path: Vec<PathBuf>,
    /// The launch file (`import …` + the `prover_repl_serve` command).
    pub launch_file: PathBuf,
    /// Working directory of the process (the project root).
    pub cwd: PathBuf,
    /// Lean's `-M` memory limit in megabytes.
    pub memory_mb: Option<u64>,
    /// How long the imports may take to load.
    pub start_timeout: Duration,
    /// Ask the REPL to time each request (Lean's `timetac`, printed on stderr), so that the
    /// bridge's own overhead can be measured.
    pub timed: bool,
    /// How much of the operating-system sandbox the process must run in.
    pub sandbox: SandboxMode,
    /// What the process may read besides its toolchain and the system's libraries (the search
    /// path, the project, the launch file's directory); it writes only a private temporary
    /// directory made for it.
    pub confinement: Confinement,
}

/// The REPL's response to a command whose answer, when it succeeds, is a `T`.
#[derive(Clone, Debug)]
pub struct Reply<T> {
    /// The JSON object the REPL answered, read by [`Reply::answer`].
    body: Value,
    /// The incarnation of the process that answered.
    pub incarnation: u64,
    /// Wall time from sending the request to reading the answer.
    pub round_trip: Duration,
    /// Time Lean itself reported for the request, when the worker is `timed`.
    pub lean_time: Option<Duration>,
    /// Other lines Lean printed on stdout while handling the request (command messages).
    pub messages: Vec<String>,
    answer: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Reply<T> {
    /// The command's response, or the REPL's error. An answer that reads as neither is a
    /// protocol error (the process is still in step: it answered the request it was asked).
    pub fn answer(&self) -> Result<Answer<T>, LeanError> {
        read_answer(&self.body).map_err(|e| {
            LeanErrorKind::Protocol(format!("unreadable answer ({e}): {}", self.body)).into()
        })
    }
}

impl<T> Reply<T> {
    fn of(raw: Reply<Value>) -> Self {
        Reply {
            body: raw.body,
            incarnation: raw.incarnation,
            round_trip: raw.round_trip,
            lean_time: raw.lean_time,
            messages: raw.messages,
            answer: PhantomData,
        }
    }
}

/// Counters shared between the worker handle and its task.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub requests: AtomicU64,
    pub starts: AtomicU64,
    pub timeouts: AtomicU64,
    pub crashes: AtomicU64,
    /// Requests queued or running.
    pub in_flight: AtomicUsize,
    /// pid of the current process, 0 when none.
    pub pid: AtomicU64,
}

struct Job {
    request: Request,
    timeout: Duration,
    /// The request refers to states of this incarnation.
    incarnation: Option<u64>,
    /// The reply, its answer not read yet (the caller knows what it answers).
    reply: oneshot::Sender<Result<Reply<Value>, LeanError>>,
}

enum Msg {
    Job(Job),
    /// Kill the current process (it is restarted on the next request).
    Restart(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// A handle to one worker. Cheap to clone; the process ends when every handle is dropped or
/// on [`LeanWorker::shutdown`].
#[derive(Clone)]
pub struct LeanWorker {
    tx: mpsc::UnboundedSender<Msg>,
    incarnation: Arc<AtomicU64>,
    pub stats: Arc<WorkerStats>,
}

impl LeanWorker {
    /// Spawns the worker's task. The process starts on the first request (or [`Self::start`]).
    pub fn spawn(spec: WorkerSpec) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let incarnation = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(WorkerStats::default());
        let task = WorkerTask {
            spec,
            rx,
            incarnation: incarnation.clone(),
            stats: stats.clone(),
            proc: None,
            next_id: 1,
        };
        tokio::spawn(task.run());
        LeanWorker {
            tx,
            incarnation,
            stats,
        }
    }

    /// Starts the process now (instead of on the first request) and waits until it is ready.
    pub async fn start(&self) -> Result<(), LeanError> {
        self.request(StatsRequest {}, Duration::from_secs(60), None)
            .await
            .map(|_| ())
    }

    /// The incarnation of the current (or next) process.
    pub fn incarnation(&self) -> u64 {
        self.incarnation.load(Ordering::SeqCst)
    }

    /// Sends one command and waits for its reply (at most `timeout` once it is sent).
    /// `incarnation`: the command is about states of that process (lost if it is gone).
    pub async fn request<C: protocol::Command>(
        &self,
        command: C,
        timeout: Duration,
        incarnation: Option<u64>,
    ) -> Result<Reply<C::Response>, LeanError> {
        let (reply, rx) = oneshot::channel();
        self.stats.in_flight.fetch_add(1, Ordering::SeqCst);
        let sent = self.tx.send(Msg::Job(Job {
            request: command.into(),
            timeout,
            incarnation,
            reply,
        }));
        let result = match sent {
            Ok(()) => rx.await.unwrap_or(Err(LeanErrorKind::Closed.into())),
            Err(_) => Err(LeanErrorKind::Closed.into()),
        };
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        result.map(Reply::of)
    }

    /// Kills the current process; the next request starts a fresh one.
    pub async fn restart(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Restart(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Ends the process and the task; waits until the process is gone.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Resident memory of the current process in KiB (Linux), if it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.stats.pid.load(Ordering::SeqCst);
        if pid == 0 {
            return None;
        }
        rss_kib(pid as u32)
    }
}

/// Resident memory of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The end of a process's stderr, kept for error messages; and Lean's timing lines.
#[derive(Default)]
struct StderrLog {
    tail: VecDeque<String>,
    /// request id → time Lean reported.
    timings: Vec<(u64, Duration)>,
}

const STDERR_TAIL_LINES: usize = 40;
const TIMING_TAG: &str = "PROVER_TIME ";

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<StderrLog>>,
    stderr_done: Arc<tokio::sync::Notify>,
    incarnation: u64,
    /// The process's private temporary directory, removed with it.
    _scratch: Option<tempfile::TempDir>,
}

struct WorkerTask {
    spec: WorkerSpec,
    rx: mpsc::UnboundedReceiver<Msg>,
    incarnation: Arc<AtomicU64>,
    stats: Arc<WorkerStats>,
    proc: Option<Process>,
    next_id: u64,
}

impl WorkerTask {
    async fn run(mut self) {
        while let Some(msg) = self.rx.recv().await {
            match msg {
                Msg::Job(job) => {
                    let result = self.serve(&job.request, job.timeout, job.incarnation).await;
                    let _ = job.reply.send(result);
                }
                Msg::Restart(done) => {
                    self.kill().await;
                    let _ = done.send(());
                }
                Msg::Shutdown(done) => {
                    self.stop().await;
                    let _ = done.send(());
                    return;
                }
            }
        }
        // Every handle was dropped.
        self.stop().await;
    }

    async fn serve(
        &mut self,
        request: &Request,
        timeout: Duration,
        incarnation: Option<u64>,
    ) -> Result<Reply<Value>, LeanError> {
        if let Some(wanted) = incarnation {
            let alive = self.proc.as_ref().map(|p| p.incarnation);
            if alive != Some(wanted) {
                return Err(LeanErrorKind::StateLost(LostState::Restarted(wanted)).into());
            }
        }
        if self.proc.is_none() {
            self.launch().await?;
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let id = self.next_id;
        self.next_id += 1;
        let line = serde_json::to_string(&RequestLine {
            id,
            timed: self.spec.timed,
            request,
        })
        .map_err(|e| LeanErrorKind::Protocol(format!("cannot encode request: {e}")))?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let proc = self.proc.as_mut().expect("launched above");
        let incarnation = proc.incarnation;
        let written = async {
            proc.stdin.write_all(line.as_bytes()).await?;
            proc.stdin.write_all(b"\n").await?;
            proc.stdin.flush().await
        };
        if let Err(e) = written.await {
            return Err(self.lost(format!("writing to Lean failed: {e}")).await);
        }
        let mut messages = Vec::new();
        loop {
            let proc = self.proc.as_mut().expect("launched above");
            let next = tokio::time::timeout_at(deadline, proc.stdout.next_line()).await;
            match next {
                Err(_) => {
                    self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    self.kill().await;
                    return Err(LeanErrorKind::Timeout(timeout).into());
                }
                Ok(Err(e)) => {
                    return Err(self.lost(format!("reading from Lean failed: {e}")).await);
                }
                Ok(Ok(None)) => {
                    // What Lean printed last on stdout is often why it exited (an uncaught
                    // error of the file's commands): keep it with the crash.
                    let tail = messages[messages.len().saturating_sub(5)..].join("\n");
                    return Err(self.lost(tail).await);
                }
                Ok(Ok(Some(line))) => {
                    let round_trip = started.elapsed();
                    let body = match read_response_line(&line, id) {
                        LineRead::Output(text) => {
                            messages.extend(text.map(str::to_string));
                            continue;
                        }
                        LineRead::Response { before, body } => {
                            messages.extend(before.map(str::to_string));
                            body
                        }
                        LineRead::OutOfStep(message) => {
                            // The stream cannot be trusted any more: start afresh.
                            self.kill().await;
                            return Err(LeanErrorKind::Protocol(message).into());
                        }
                    };
                    let lean_time = if self.spec.timed {
                        self.lean_time(id).await
                    } else {
                        None
                    };
                    return Ok(Reply {
                        body,
                        incarnation,
                        round_trip,
                        lean_time,
                        messages,
                        answer: PhantomData,
                    });
                }
            }
        }
    }

    /// Lean's timing line for request `id` (printed on stderr just before the response, but
    /// read by another task: wait briefly for it).
    async fn lean_time(&mut self, id: u64) -> Option<Duration> {
        let proc = self.proc.as_ref()?;
        for _ in 0..50 {
            {
                let mut log = proc.stderr.lock().unwrap();
                if let Some(i) = log.timings.iter().position(|(i, _)| *i == id) {
                    return Some(log.timings.swap_remove(i).1);
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    }

    async fn launch(&mut self) -> Result<(), LeanError> {
        let spec = &self.spec;
        let mut cmd = Command::new(&spec.lean);
        cmd.arg(&spec.launch_file)
            .arg("-j1")
            .current_dir(&spec.cwd)
            .env("LEAN_PATH", join_path(&spec.search_path))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(mb) = spec.memory_mb {
            cmd.arg(format!("-M{mb}"));
        }
        let scratch = if spec.sandbox == SandboxMode::Off {
            None
        } else {
            let dir = tempfile::Builder::new()
                .prefix("prover-lean-")
                .tempdir()
                .map_err(|e| LeanError::io("creating the worker's temporary directory", e))?;
            cmd.env("TMPDIR", dir.path());
            Some(dir)
        };
        let mut confinement = spec.confinement.clone();
        confinement
            .write
            .extend(scratch.iter().map(|d| d.path().to_path_buf()));
        // Last, once the command is configured: the sandbox's plan for starting Lean takes the
        // program, arguments and environment as they are now. The child also gets
        // PR_SET_PDEATHSIG, so no Lean process outlives a killed prover.
        crate::sandbox::confine(cmd.as_std_mut(), spec.sandbox, &confinement)?;
        let mut child = cmd.spawn().map_err(|e| LeanErrorKind::Startup {
            message: format!("cannot run {}: {e}", spec.lean.display()),
        })?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr_pipe = child.stderr.take().expect("piped");
        let stderr = Arc::new(Mutex::new(StderrLog::default()));
        let stderr_done = Arc::new(tokio::sync::Notify::new());
        {
            let stderr = stderr.clone();
            let done = stderr_done.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr_pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = stderr.lock().unwrap();
                    if let Some(t) = parse_timing(&line) {
                        log.timings.push(t);
                        if log.timings.len() > 1000 {
                            log.timings.drain(..500);
                        }
                        continue;
                    }
                    log.tail.push_back(line);
                    if log.tail.len() > STDERR_TAIL_LINES {
                        log.tail.pop_front();
                    }
                }
                done.notify_one();
            });
        }
        let incarnation = self.incarnation.fetch_add(1, Ordering::SeqCst) + 1;
        self.stats.starts.fetch_add(1, Ordering::Relaxed);
        self.stats.pid.store(pid as u64, Ordering::SeqCst);
        self.proc = Some(Process {
            child,
            stdin,
            stdout,
            stderr,
            stderr_done,
            incarnation,
            _scratch: scratch,
        });
        // Wait for the ready line: the imports are loaded.
        let deadline = tokio::time::Instant::now() + spec.start_timeout;
        let start_timeout = spec.start_timeout;
        let mut messages = Vec::new();
        loop {
            let proc = self.proc.as_mut().expect("just set");
            match tokio::time::timeout_at(deadline, proc.stdout.next_line()).await {
                Err(_) => {
                    self.kill().await;
                    return Err(LeanErrorKind::Startup {
                        message: format!(
                            "Lean did not load its imports within {start_timeout:?}{}",
                            render_messages(&messages)
                        ),
                    }
                    .into());
                }
                Ok(Ok(Some(line))) if line.contains(RESPONSE_MARKER) => return Ok(()),
                Ok(Ok(Some(line))) => messages.push(line),
                Ok(_) => {
                    let err = self.lost(String::new()).await;
                    let detail = match err.into_kind() {
                        LeanErrorKind::Crashed { status, stderr } => {
                            format!("Lean exited ({status}){}{}", render_messages(&messages), {
                                if stderr.is_empty() {
                                    String::new()
                                } else {
                                    format!("\n{stderr}")
                                }
                            })
                        }
                        other => other.to_string(),
                    };
                    return Err(LeanErrorKind::Startup { message: detail }.into());
                }
            }
        }
    }

    /// The process is gone (or its pipes broke): reap it and describe what happened.
    async fn lost(&mut self, what: String) -> LeanError {
        let Some(mut proc) = self.proc.take() else {
            return LeanErrorKind::Crashed {
                status: "not running".into(),
                stderr: what,
            }
            .into();
        };
        self.stats.crashes.fetch_add(1, Ordering::Relaxed);
        self.stats.pid.store(0, Ordering::SeqCst);
        let status = match tokio::time::timeout(Duration::from_secs(2), proc.child.wait()).await {
            Ok(Ok(s)) => s.to_string(),
            _ => {
                let _ = proc.child.start_kill();
                let _ = proc.child.wait().await;
                "killed: it stopped answering".to_string()
            }
        };
        // Let the stderr reader drain what the process printed last.
        let _ = tokio::time::timeout(Duration::from_millis(500), proc.stderr_done.notified()).await;
        let mut stderr: Vec<String> = proc.stderr.lock().unwrap().tail.iter().cloned().collect();
        if !what.is_empty() {
            stderr.push(what);
        }
        LeanErrorKind::Crashed {
            status,
            stderr: stderr.join("\n"),
        }
        .into()
    }

    /// Kills the current process, if any (our own child, by pid).
    async fn kill(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            let _ = proc.child.start_kill();
            let _ = proc.child.wait().await;
            self.stats.pid.store(0, Ordering::SeqCst);
        }
    }

    /// Asks the process to end (EOF on its stdin ends the REPL loop), then kills it if needed.
    async fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            let _ = proc.stdin.shutdown().await;
            drop(proc.stdin);
            if tokio::time::timeout(Duration::from_secs(2), proc.child.wait())
                .await
                .is_err()
            {
                let _ = proc.child.start_kill();
                let _ = proc.child.wait().await;
            }
            self.stats.pid.store(0, Ordering::SeqCst);
        }
    }
}

/// Lines Lean prints while running context commands that say nothing useful: the command
/// parser's import step, which the REPL skips on purpose.
/// What one line of a worker's stdout is, read while waiting for the answer to request `id`.
#[derive(Debug, PartialEq)]
pub enum LineRead<'a> {
    /// Output of the file's own commands (`None`: Lean's noise, not worth keeping).
    Output(Option<&'a str>),
    /// The answer, with any output printed just before it on the same line.
    Response {
        before: Option<&'a str>,
        body: Value,
    },
    /// Not an answer to `id`, or not readable: the stream is out of step.
    OutOfStep(String),
}

/// Reads one line of a worker's stdout. Pure, so that it can be fuzzed: the bytes come from a
/// Lean process running the user's file, which may print anything.
pub fn read_response_line(line: &str, id: u64) -> LineRead<'_> {
    // A file's own IO may have printed part of a line just before the answer
    // (`io.put_str "hi"` without a newline): the marker need not start it.
    let Some(at) = line.find(RESPONSE_MARKER) else {
        return LineRead::Output((!is_noise(line)).then_some(line));
    };
    let before = (at > 0).then(|| &line[..at]);
    let json = &line[at + RESPONSE_MARKER.len()..];
    let body: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return LineRead::OutOfStep(format!("unreadable response ({e}): {json}")),
    };
    if !body.is_object() {
        return LineRead::OutOfStep(format!("response is not an object: {json}"));
    }
    if answer_id(&body) != Some(id) {
        // A response to something else means the stream is out of step.
        return LineRead::OutOfStep(format!(
            "expected the response to request {id}, got: {json}"
        ));
    }
    LineRead::Response { before, body }
}

fn is_noise(line: &str) -> bool {
    line.contains("invalid import: init") || line == "module importing disabled"
}

fn render_messages(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(":\n{}", messages.join("\n"))
    }
}

/// Parses `PROVER_TIME 17 0.123ms` (Lean's `timetac` output) into (request id, duration).
pub(crate) fn parse_timing(line: &str) -> Option<(u64, Duration)> {
    let rest = line.strip_prefix(TIMING_TAG)?;
    let mut parts = rest.split_whitespace();
    let id: u64 = parts.next()?.parse().ok()?;
    let t = parts.next()?;
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    let secs: f64 = num.parse().ok()?;
    // Anything can reach stderr (the file's own output): a negative, infinite or NaN time is
    // not a timing line (`from_secs_f64` would panic on it; found by the fuzzer).
    Some((id, Duration::try_from_secs_f64(secs * scale).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_lines() {
        assert_eq!(
            parse_timing("PROVER_TIME 17 0.5ms"),
            Some((17, Duration::from_micros(500)))
        );
        assert_eq!(
            parse_timing("PROVER_TIME 3 1.25s"),
            Some((3, Duration::from_millis(1250)))
        );
        assert_eq!(parse_timing("something else"), None);
        // What the fuzzer found: times no Duration holds are not timing lines (no panic).
        for bad in ["-0.5ms", "1e400s", "NaN", "infs", "-inf", "nanms"] {
            assert_eq!(parse_timing(&format!("PROVER_TIME 1 {bad}")), None, "{bad}");
        }
    }
}
