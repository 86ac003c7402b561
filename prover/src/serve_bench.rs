//! `prover bench serve`: the model behind `prover serve` against the model in-process, side by
//! side in one run. Two figures:
//!
//! 1. What the HTTP path adds to a request on loopback: the client's round trip minus the time
//!    the server reports the request spent queued and decoding (`x-prover-engine-ms`).
//! 2. Search throughput: expansions per minute of one `prove` process with the model loaded
//!    in-process, and of two `prove` processes (the two halves, `--shard 0/2` and `1/2`)
//!    sharing one server.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use openai_api::{ClientConfig, CompletionRequest, CompletionsClient};
use search::CancellationToken;

use crate::serve::{ENGINE_MS_HEADER, ServeArgs};

#[derive(Args, Debug)]
pub struct ServeBenchArgs {
    /// Files whose theorems are proved (default: problems/core).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The checkpoint served and loaded (a directory or hub id).
    #[arg(
        long,
        value_name = "DIR|ID",
        required_unless_present = "random_weights"
    )]
    pub model: Option<String>,

    /// Instead of --model: random weights of a ~125M-parameter InternLM2 (hidden 512, 8
    /// layers) with the real vocabulary, the tokenizer taken from this directory (e.g.
    /// ../shared/internlm2), so that the model's share of the time is not negligible on a CPU.
    #[arg(long, value_name = "TOKENIZER_DIR", conflicts_with = "model")]
    pub random_weights: Option<PathBuf>,

    /// cpu, cuda[:N] or metal[:N] (for the server and the in-process model alike).
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Weights' type (default: bf16 on GPU, f32 on CPU).
    #[arg(long, value_name = "f32|f16|bf16")]
    pub dtype: Option<String>,

    /// Requests timed for the HTTP overhead.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,

    /// Most expansions per theorem in the throughput runs.
    #[arg(long, default_value_t = 20)]
    pub expansions: usize,

    /// Searches at once per prove process.
    #[arg(short, long, default_value_t = 2)]
    pub jobs: usize,

    /// Candidates per expansion.
    #[arg(short = 'k', long, default_value_t = 4)]
    pub samples: usize,

    /// Most tokens per tactic.
    #[arg(long, default_value_t = 24)]
    pub max_tokens: usize,

    /// The prove runs' policy: model, or model+heuristic (a tiny random model rarely makes a
    /// tactic Lean accepts, and its searches end after one expansion; the heuristic's
    /// candidates keep them going).
    #[arg(long, default_value = "model+heuristic")]
    pub policy: String,

    /// Prompt style for both (chat or fewshot).
    #[arg(long, default_value = "fewshot")]
    pub prompt: String,

    /// Tokens the model may take in the server (prompt and tactic; default: the model's own
    /// limit).
    #[arg(long, value_name = "TOKENS")]
    pub max_model_len: Option<usize>,

    /// Only the HTTP overhead (no Lean needed).
    #[arg(long)]
    pub overhead_only: bool,

    /// Further arguments for every `prove` run (after `--`), e.g. -- --lean-project DIR.
    #[arg(last = true)]
    pub prove_args: Vec<String>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    let i = ((xs.len() - 1) as f64 * p).round() as usize;
    xs[i]
}

/// Writes the random checkpoint of `--random-weights` into `dir`.
fn random_checkpoint(tokenizer_dir: &Path, dir: &Path) -> Result<()> {
    let mut cfg = crate::model_bench::shaped_config(512, 8, 8, 2, 1408, 92544);
    cfg.bos_token_id = Some(1);
    crate::model_bench::write_random_checkpoint(&cfg, dir)?;
    for f in ["tokenizer.model", "tokenizer_config.json"] {
        let from = tokenizer_dir.join(f);
        if from.exists() {
            std::fs::copy(&from, dir.join(f))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(())
}

pub async fn run(mut args: ServeBenchArgs) -> Result<()> {
    let cancel = CancellationToken::new();
    let random_dir = tempfile::tempdir()?;
    if let Some(tok) = &args.random_weights {
        random_checkpoint(tok, random_dir.path())?;
        args.model = Some(random_dir.path().display().to_string());
    }
    let model = args
        .model
        .clone()
        .context("--model or --random-weights is needed")?;
    let serve_args = ServeArgs {
        model: model.clone(),
        served_model_name: Some("bench".into()),
        host: "127.0.0.1".into(),
        port: 0,
        device: args.device.clone(),
        dtype: args.dtype.clone(),
        api_key_env: None,
        max_batch: 64,
        max_n: 64,
        max_model_len: args.max_model_len,
        drain_timeout: 0.0,
        chat_template: None,
    };
    let server = crate::serve::bind(&serve_args).await?;
    let url = format!("http://{}", server.addr);
    let serving = tokio::spawn(server.serve(cancel.clone(), std::time::Duration::ZERO));
    println!("server: {model} at {url} on {}", args.device);

    overhead(&url, args.requests).await?;
    if !args.overhead_only {
        throughput(&args, &url).await?;
    }
    cancel.cancel();
    let _ = serving.await;
    Ok(())
}

/// Sequential one-token requests: round trip, the server's own time, and their difference.
async fn overhead(url: &str, requests: usize) -> Result<()> {
    let client = CompletionsClient::new(ClientConfig::new(url))?;
    let mut round_trip = Vec::new();
    let mut engine = Vec::new();
    let mut added = Vec::new();
    for i in 0..requests + 5 {
        let mut r = CompletionRequest::new("bench", format!("theorem t{i} : {i} + 0 = {i} :="));
        r.max_tokens = Some(1);
        r.temperature = Some(0.0);
        r.logprobs = Some(0);
        let t = Instant::now();
        let (_, server_ms) = client.complete_timed(&r, ENGINE_MS_HEADER).await?;
        let total = t.elapsed().as_secs_f64() * 1e3;
        let server_ms = server_ms.context("the server reported no engine time")?;
        if i >= 5 {
            round_trip.push(total);
            engine.push(server_ms);
            added.push(total - server_ms);
        }
    }
    println!("HTTP path on loopback ({requests} one-token requests, one at a time):");
    println!(
        "  round trip   median {:.3} ms    engine (queue + model) median {:.3} ms",
        median(round_trip),
        median(engine)
    );
    let (m, p90) = (median(added.clone()), percentile(added, 0.9));
    println!(
        "  added by HTTP, JSON and checks: median {m:.3} ms, p90 {p90:.3} ms (goal < 2 ms: {})",
        if m < 2.0 { "met" } else { "missed" }
    );
    Ok(())
}

/// Sum of `expansions` over a results file's lines, and the number of lines.
fn expansions_in(path: &Path) -> Result<(u64, usize)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut sum = 0;
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        sum += v["expansions"].as_u64().unwrap_or(0);
        n += 1;
    }
    Ok((sum, n))
}

async fn throughput(args: &ServeBenchArgs, url: &str) -> Result<()> {
    let exe = std::env::current_exe().context("finding the prover binary")?;
    let dir = tempfile::tempdir()?;
    let files: Vec<String> = if args.files.is_empty() {
        vec![problems::core_dir().display().to_string()]
    } else {
        args.files.iter().map(|f| f.display().to_string()).collect()
    };
    let common = |out: &Path| -> Vec<String> {
        let mut a = vec!["prove".to_string()];
        a.extend(files.iter().cloned());
        for (k, v) in [
            ("--policy", args.policy.clone()),
            ("--prompt", args.prompt.clone()),
            ("--expansions", args.expansions.to_string()),
            ("-j", args.jobs.to_string()),
            ("-k", args.samples.to_string()),
            ("--max-tokens", args.max_tokens.to_string()),
            ("--output", out.display().to_string()),
        ] {
            a.push(k.into());
            a.push(v);
        }
        a.push("--overwrite".into());
        a.extend(args.prove_args.iter().cloned());
        a
    };
    let spawn = |a: Vec<String>| {
        tokio::process::Command::new(&exe)
            .args(a)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting prove")
    };
    let finish = |child: tokio::process::Child| async move {
        let out = child.wait_with_output().await?;
        if out.status.code().is_none_or(|c| c >= 2) {
            bail!(
                "prove failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok::<_, anyhow::Error>(())
    };

    // One process, the model in it.
    let local_out = dir.path().join("local.jsonl");
    let mut a = common(&local_out);
    a.extend([
        "--model".into(),
        args.model.clone().unwrap_or_default(),
        "--device".into(),
        args.device.clone(),
    ]);
    if let Some(d) = &args.dtype {
        a.extend(["--dtype".into(), d.clone()]);
    }
    let t = Instant::now();
    finish(spawn(a)?).await?;
    let local_s = t.elapsed().as_secs_f64();
    let (local_exp, local_n) = expansions_in(&local_out)?;

    // Two processes, one server.
    let mut children = Vec::new();
    let mut outs = Vec::new();
    for shard in ["0/2", "1/2"] {
        let out = dir.path().join(format!("served-{}.jsonl", &shard[..1]));
        let mut a = common(&out);
        a.extend([
            "--endpoint".into(),
            url.to_string(),
            "--served-model".into(),
            "bench".into(),
            "--shard".into(),
            shard.into(),
        ]);
        children.push(spawn(a)?);
        outs.push(out);
    }
    let t = Instant::now();
    for c in children {
        finish(c).await?;
    }
    let served_s = t.elapsed().as_secs_f64();
    let mut served_exp = 0;
    let mut served_n = 0;
    for o in &outs {
        let (e, n) = expansions_in(o)?;
        served_exp += e;
        served_n += n;
    }
    let per_min = |e: u64, s: f64| e as f64 * 60.0 / s.max(1e-9);
    let (lr, sr) = (per_min(local_exp, local_s), per_min(served_exp, served_s));
    println!(
        "search throughput ({} per process, {} expansions per theorem at most):",
        args.jobs, args.expansions
    );
    println!(
        "  1 process, model in-process      {local_n} theorems, {local_exp} expansions in {local_s:.1} s: {lr:.0} expansions/min"
    );
    println!(
        "  2 processes sharing prover serve {served_n} theorems, {served_exp} expansions in {served_s:.1} s: {sr:.0} expansions/min"
    );
    println!("  ratio served / in-process: {:.2}", sr / lr.max(1e-9));
    Ok(())
}
