//! `prover bench soak`: does a long run wear the prover down? Many tactics through one Lean
//! worker, and many edits and suggestion requests through the language server, with memory
//! and latency at the start and at the end printed side by side (lean-gym's REPL was reported
//! to slow down with use: this is how we would know whether ours does).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use lean_bridge::{LeanPool, TacticResult};
use problems::Theorem;
use serde_json::{Value, json};

use crate::lean_opts::LeanOpts;
use crate::replay::{replay_steps, replayable_theorems};
use lean_env::theorem_context;

#[derive(Args, Debug)]
pub struct SoakBenchArgs {
    /// Tactics run through one worker (0: skip this part).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub tactics: usize,

    /// Edits, each followed by a suggestion request, sent to the language server (0: skip).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub lsp_requests: usize,

    /// Files whose theorems the tactics run on (default: problems/core).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// Tactics a search tries on most states: most fail, which is the common case to measure.
const PROBES: &[&str] = &[
    "simp",
    "refl",
    "assumption",
    "intros",
    "split",
    "trivial",
    "contradiction",
    "exact dec_trivial",
    "simp at *",
    "norm_num",
    "linarith",
    "cc",
];

/// Each round's latencies against the first round's, tactic by tactic (the same tactic on the
/// same state, so the ratio is the slow-down itself, not a change of workload).
fn print_rounds(rounds: &[Vec<f64>]) {
    println!(
        "{:>6}  {:>8}  {:>10}  {:>10}  {:>22}",
        "round", "tactics", "median ms", "p90 ms", "paired ratio to round 1"
    );
    let first = &rounds[0];
    for (k, r) in rounds.iter().enumerate() {
        let mut ratios: Vec<f64> = r
            .iter()
            .zip(first)
            .filter(|(_, b)| **b > 0.0)
            .map(|(a, b)| a / b)
            .collect();
        let mut sorted = r.clone();
        let (median, p90) = summarize(&mut sorted);
        let (ratio, _) = summarize(&mut ratios);
        println!(
            "{:>6}  {:>8}  {median:>10.2}  {p90:>10.2}  {ratio:>22.2}",
            k + 1,
            r.len()
        );
    }
}

/// One sample of a long run: where it was, how much memory, how fast.
struct Sample {
    done: usize,
    rss_mib: f64,
    /// Median and 90th percentile of the latencies since the previous sample, in ms.
    median_ms: f64,
    p90_ms: f64,
}

fn summarize(latencies: &mut [f64]) -> (f64, f64) {
    latencies.sort_by(f64::total_cmp);
    (
        crate::output::percentile(latencies, 0.5),
        crate::output::percentile(latencies, 0.9),
    )
}

fn print_samples(what: &str, unit: &str, samples: &[Sample]) {
    println!(
        "{:>10}  {:>9}  {:>12}  {:>12}",
        unit, "RSS MiB", "median ms", "p90 ms"
    );
    for s in samples {
        println!(
            "{:>10}  {:>9.1}  {:>12.2}  {:>12.2}",
            s.done, s.rss_mib, s.median_ms, s.p90_ms
        );
    }
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        println!(
            "{what}: end/start RSS {:.2}× ({:.1} → {:.1} MiB), median latency {:.2}× ({:.2} → {:.2} ms), \
             p90 {:.2}×",
            last.rss_mib / first.rss_mib,
            first.rss_mib,
            last.rss_mib,
            last.median_ms / first.median_ms,
            first.median_ms,
            last.median_ms,
            last.p90_ms / first.p90_ms,
        );
    }
}

pub async fn run(args: SoakBenchArgs) -> Result<()> {
    if args.tactics > 0 {
        worker_soak(&args).await?;
    }
    if args.lsp_requests > 0 {
        let lean = args.lean.clone();
        let n = args.lsp_requests;
        tokio::task::spawn_blocking(move || lsp_soak(&lean, n))
            .await
            .context("the language-server soak stopped")??;
    }
    Ok(())
}

/// N tactics through one worker: every core proof's steps, and the probes on each state, one
/// theorem after another (each proof dropped when done, as the search does), over and over.
async fn worker_soak(args: &SoakBenchArgs) -> Result<()> {
    let files = args.lean.load(&if args.files.is_empty() {
        vec![problems::core_dir()]
    } else {
        args.files.clone()
    })?;
    let theorems = replayable_theorems(&files);
    if theorems.is_empty() {
        bail!("no theorem with a tactic proof in the given files");
    }
    let imports = files[0].header.imports.clone();
    let mut config = args.lean.pool_config(&imports, files[0].path.as_deref());
    config.workers = 1;
    let loading = Instant::now();
    let pool = LeanPool::new(config).await?;
    pool.health(Duration::from_secs(600)).await;
    let start_s = loading.elapsed().as_secs_f64();
    let recycle = pool.config().recycle;
    println!(
        "worker soak: {} tactics through one worker on {} theorems (recycle: {}); the worker \
         started in {start_s:.2}s (what each recycling costs)",
        args.tactics,
        theorems.len(),
        recycle.describe()
    );
    // Rounds over the same theorems: the same tactics in the same order each round, so a
    // round's latencies compare with the first round's tactic by tactic.
    let every = (args.tactics / 10).max(1);
    let mut rss_samples: Vec<(usize, f64)> = Vec::new();
    let mut rounds: Vec<Vec<f64>> = Vec::new();
    let mut done = 0usize;
    let mut failed_starts = 0usize;
    let started = Instant::now();
    let starts_before = pool.health(Duration::from_secs(10)).await[0].starts;
    let rss_now = || async {
        pool.health(Duration::from_secs(10))
            .await
            .first()
            .and_then(|h| h.rss_kib)
            .unwrap_or(0) as f64
            / 1024.0
    };
    'run: loop {
        rounds.push(Vec::new());
        let round = rounds.last_mut().expect("just pushed");
        for &(f, i) in &theorems {
            let t: &Theorem = &f.theorems[i];
            let context = theorem_context(f, i, &format!("{}\n{}", t.statement, t.proof.text()));
            let Ok(start) = pool.start(&context, &t.statement).await else {
                failed_starts += 1;
                continue;
            };
            let mut state = start.state.clone();
            let steps = replay_steps(t).unwrap_or_default();
            for (step, _) in steps {
                for tactic in PROBES.iter().copied().chain([step.as_str()]) {
                    let began = Instant::now();
                    let result = pool.run(&state, tactic).await;
                    round.push(began.elapsed().as_secs_f64() * 1e3);
                    done += 1;
                    if done.is_multiple_of(every) || done == 1 {
                        rss_samples.push((done, rss_now().await));
                    }
                    if done >= args.tactics {
                        pool.drop_proof(&start.state).await;
                        break 'run;
                    }
                    // The proof's own step moves on; a probe that succeeds is left behind.
                    if tactic == step
                        && let Ok(TacticResult::Success { state: s, .. }) = result
                    {
                        state = s;
                    }
                }
            }
            pool.drop_proof(&start.state).await;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let health = pool.health(Duration::from_secs(10)).await;
    let restarts = health[0].starts.saturating_sub(starts_before);
    println!(
        "{done} tactics in {elapsed:.1}s ({:.0}/s); {restarts} worker restart(s) ({} recycled); \
         {failed_starts} start(s) failed; states held at the end: {}",
        done as f64 / elapsed,
        pool.recycled(),
        health[0]
            .states
            .map_or("unknown".to_string(), |s| s.to_string())
    );
    println!("{:>10}  {:>9}", "tactics", "RSS MiB");
    for (n, rss) in &rss_samples {
        println!("{n:>10}  {rss:>9.1}");
    }
    print_rounds(&rounds);
    if let (Some(first), Some(last)) = (rss_samples.get(1), rss_samples.last()) {
        println!(
            "worker: RSS {:.1} MiB after {} tactics, {:.1} MiB after {} ({:.2}×)",
            first.1,
            first.0,
            last.1,
            last.0,
            last.1 / first.1
        );
    }
    pool.shutdown().await;
    Ok(())
}

/// The language server: open a file, then N times: edit the theorem (a new statement each
/// time, so no cached answer serves it) and ask for completions in its proof.
fn lsp_soak(lean: &LeanOpts, requests: usize) -> Result<()> {
    let exe = std::env::current_exe().context("finding the prover binary")?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("soak.lean");
    let text = |i: usize| {
        format!(
            "theorem soak_{i} (p q : Prop) (hp : p) (hq : q) (n : ℕ) (h : n = {i}) : p ∧ (q ∧ n = {i}) :=\nbegin\n  split,\n  \nend\n"
        )
    };
    std::fs::write(&path, text(0))?;
    let mut cmd = Command::new(exe);
    cmd.arg("lsp")
        .args(lean.forwarded_args())
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = LspProcess::start(cmd)?;
    let uri = format!("file://{}", path.display());
    server.call(
        "initialize",
        json!({"processId": std::process::id(), "rootUri": null, "capabilities": {}}),
    )?;
    server.notify("initialized", json!({}))?;
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "lean", "version": 0, "text": text(0)}}),
    )?;
    println!("language-server soak: {requests} edits, each followed by a completion request");
    let every = (requests / 10).max(1);
    let mut samples = Vec::new();
    let mut window = Vec::new();
    let mut empty = 0usize;
    let started = Instant::now();
    for i in 1..=requests {
        server.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": i}, "contentChanges": [{"text": text(i)}]}),
        )?;
        let began = Instant::now();
        let list = server.call(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 2}}),
        )?;
        window.push(began.elapsed().as_secs_f64() * 1e3);
        if list["items"].as_array().is_none_or(|a| a.is_empty()) {
            empty += 1;
        }
        if i.is_multiple_of(every) || i == 1 {
            let (median_ms, p90_ms) = summarize(&mut window);
            samples.push(Sample {
                done: i,
                rss_mib: tree_rss_kib(server.pid()) as f64 / 1024.0,
                median_ms,
                p90_ms,
            });
            window.clear();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.call("shutdown", Value::Null)?;
    server.notify("exit", Value::Null)?;
    server.wait()?;
    println!(
        "{requests} requests in {elapsed:.1}s ({:.1}/s); {empty} answered without suggestions; \
         RSS is the server's and its Lean workers' together",
        requests as f64 / elapsed
    );
    let (_, steady) = samples.split_first().context("no samples")?;
    print_samples("language server", "requests", steady);
    Ok(())
}

/// Resident memory of a process and every process below it, in KiB (Linux).
fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = lean_bridge::worker::rss_kib(pid).unwrap_or(0);
    // Children are listed by the thread that started them: read every thread's list.
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            total += tree_rss_kib(child);
        }
    }
    total
}

/// A language server on the other end of a pipe, spoken to in LSP's framing.
struct LspProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl LspProcess {
    fn start(mut cmd: Command) -> Result<Self> {
        let mut child = cmd.spawn().context("starting prover lsp")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(LspProcess {
            child,
            stdin,
            stdout,
            next_id: 1,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let body = serde_json::to_string(message)?;
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.stdin.flush()?;
        Ok(())
    }

    fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// Sends a request and reads messages until its response; the server's own requests
    /// (progress tokens, configuration) are answered with null.
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            let message = self.read()?;
            if message.get("method").is_some() {
                if let Some(their_id) = message.get("id") {
                    let answer = json!({"jsonrpc": "2.0", "id": their_id, "result": null});
                    self.send(&answer)?;
                }
                continue;
            }
            if message["id"] == json!(id) {
                if let Some(e) = message.get("error") {
                    bail!("{method}: the language server answered an error: {e}");
                }
                return Ok(message["result"].clone());
            }
        }
    }

    fn read(&mut self) -> Result<Value> {
        let mut length = None;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("the language server closed its output");
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                length = Some(v.trim().parse::<usize>()?);
            }
        }
        let mut body = vec![0; length.context("a message without Content-Length")?];
        self.stdout.read_exact(&mut body)?;
        Ok(serde_json::from_slice(&body)?)
    }

    fn wait(mut self) -> Result<()> {
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        bail!("the language server did not exit after `exit`")
    }
}
