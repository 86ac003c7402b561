//! `prover bench model`: CPU prefill and decode throughput of a random InternLM2 of about 100M
//! parameters, against PyTorch (transformers' Llama with the same weights and thread count) when a
//! Python with torch and transformers is available, plus the speed-up from reusing the KV cache of
//! a shared few-shot prefix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, IndexOp, Tensor};
use clap::Args;

use causal_lm::generate::{Decoder, GenParams};
use causal_lm::loader::{self, LoadOptions, ModelFiles};
use causal_lm::model::{Config, KvCache, Model};

/// The PyTorch side of the comparison, written to a temporary file at run time.
const TORCH_SCRIPT: &str = causal_lm::TORCH_BENCH_SCRIPT;

#[derive(Debug, Clone, Args)]
pub struct ModelBenchArgs {
    /// Prompt length for the prefill measurement.
    #[arg(long, default_value_t = 256)]
    pub prompt_tokens: usize,
    /// Tokens decoded one step at a time.
    #[arg(long, default_value_t = 32)]
    pub decode_tokens: usize,
    /// Rows of the batched decode measurement.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Few-shot prefix length for the prefix-reuse measurement.
    #[arg(long, default_value_t = 512)]
    pub prefix_tokens: usize,
    /// Python with torch and transformers (default: $PROVER_BENCH_PYTHON, else python3).
    #[arg(long, env = "PROVER_BENCH_PYTHON")]
    pub python: Option<PathBuf>,
    /// Use a smaller model (for smoke tests).
    #[arg(long)]
    pub tiny: bool,
    /// Measure on this accelerator instead (`cuda`, `cuda:N`, `metal`; needs a build with that
    /// feature): decode tokens per second of 7B-shaped random weights (InternLM2-Math-7B's
    /// shapes) in bf16 at the --gpu-batches, against the memory-bandwidth bound measured in the
    /// same run by a device-to-device copy.
    #[arg(long, value_name = "DEVICE")]
    pub gpu: Option<String>,
    /// Batch sizes for --gpu.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 32])]
    pub gpu_batches: Vec<usize>,
}

/// InternLM2-Math-7B's shapes (its published config.json), or a small model with the same
/// head layout when `tiny` (for smoke tests).
fn config_7b(tiny: bool) -> Config {
    if tiny {
        shaped_config(512, 2, 32, 8, 1024, 1024)
    } else {
        shaped_config(4096, 32, 32, 8, 14336, 92544)
    }
}

/// Decode speed of 7B-shaped random bf16 weights on an accelerator, against the bound set by
/// reading every weight (and the KV cache) once per step at the copy bandwidth.
fn gpu_decode(device: &str, args: &ModelBenchArgs) -> Result<()> {
    let dev = loader::parse_device(device)?;
    // The CPU is accepted with --tiny only: a smoke test of this path.
    if dev.is_cpu() && !args.tiny {
        bail!("--gpu wants an accelerator (cuda or metal), not the CPU (except with --tiny)");
    }
    // Copy bandwidth: bytes read plus bytes written by a 2 GiB device-to-device copy.
    let n = 1usize << 30;
    let x = Tensor::ones(n, DType::BF16, &dev)?;
    let copy = time(args.repeats.max(3), || {
        let y = x.copy()?;
        dev.synchronize()?;
        drop(y);
        Ok(())
    })?;
    let bandwidth = (2 * n * 2) as f64 / copy;
    drop(x);

    let cfg = config_7b(args.tiny);
    let mut tensors = HashMap::new();
    let mut weight_bytes = 0usize;
    for (name, shape) in cfg.expected_tensors() {
        let numel: usize = shape.iter().product();
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, DType::BF16, &dev)?
        } else {
            Tensor::randn(0f32, 0.02, shape, &dev)?.to_dtype(DType::BF16)?
        };
        // A decode step reads every weight once, except the embedding table (one row per token).
        if !name.contains("tok_embeddings") {
            weight_bytes += numel * 2;
        }
        tensors.insert(name, t);
    }
    let params: usize = cfg
        .expected_tensors()
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::BF16, &dev);
    let model = Model::load(vb, &cfg)?;
    println!(
        "random InternLM2 with 7B shapes: {:.2}B parameters ({} layers, hidden {}, {} heads / {} kv heads, vocab {}), bf16 on {device}",
        params as f64 / 1e9,
        cfg.num_hidden_layers,
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.num_kv_heads(),
        cfg.vocab_size
    );
    println!(
        "copy bandwidth {:.0} GB/s (read + write, 2 GiB device-to-device); weights read per step {:.2} GB",
        bandwidth / 1e9,
        weight_bytes as f64 / 1e9
    );
    let prompt = tokens(args.prompt_tokens, cfg.vocab_size, 0);
    let head_dim = cfg.hidden_size / cfg.num_attention_heads;
    println!(
        "{:<8} {:>10} {:>12} {:>14} {:>12} {:>10}",
        "batch", "ms/step", "tokens/s", "bound ms/step", "bound tok/s", "of bound"
    );
    prefill_and_decode(&model, &prompt, 1, 4)?; // warm-up
    for &batch in &args.gpu_batches {
        prefill_and_decode(&model, &prompt, batch, 2)?; // warm-up at this batch
        let mut steps = Vec::new();
        for _ in 0..args.repeats.max(1) {
            let (_, d) = prefill_and_decode(&model, &prompt, batch, args.decode_tokens)?;
            steps.push(d / args.decode_tokens as f64);
        }
        let step = median(steps);
        // Keys and values read per step, at the mean context length of the measurement.
        let ctx = args.prompt_tokens + args.decode_tokens / 2;
        let kv_bytes = 2 * cfg.num_hidden_layers * cfg.num_kv_heads() * head_dim * ctx * batch * 2;
        let bound = (weight_bytes + kv_bytes) as f64 / bandwidth;
        println!(
            "{batch:<8} {:>10.2} {:>12.1} {:>14.2} {:>12.1} {:>9.0}%",
            step * 1e3,
            batch as f64 / step,
            bound * 1e3,
            batch as f64 / bound,
            100.0 * bound / step
        );
    }
    println!(
        "(prompt {} tokens, {} decode steps, median of {}; each step ends with the argmax on the host, as generation does)",
        args.prompt_tokens,
        args.decode_tokens,
        args.repeats.max(1)
    );

    // What one expansion of the search costs: beam search of width 32 (the published MiniF2F
    // setting) for a tactic-sized continuation, one state alone and four states batched.
    let decoder = Decoder {
        model: &model,
        prefix: None,
        eos: &[],
        detok: None,
    };
    let new_tokens = 24;
    let params = GenParams {
        stop_at_eos: false,
        ..GenParams::beam(32, new_tokens)
    };
    for states in [1usize, 4] {
        let prompts: Vec<Vec<u32>> = (0..states)
            .map(|i| tokens(args.prompt_tokens, cfg.vocab_size, 20 + i))
            .collect();
        let secs = time(args.repeats.max(1), || {
            decoder
                .generate(&prompts, &params)
                .map(|_| ())
                .map_err(Into::into)
        })?;
        println!(
            "beam search, width 32, {new_tokens} new tokens, {states} state(s) per batch: {:.3}s per batch, {:.0} expansions/min",
            secs,
            60.0 * states as f64 / secs
        );
    }
    // As the model policy runs it: a shared few-shot prefix computed once, states after it.
    let kv = model.build_prefix(&tokens(args.prefix_tokens.max(1), cfg.vocab_size, 2))?;
    let with_prefix = Decoder {
        prefix: Some(&kv),
        ..decoder
    };
    let prompts: Vec<Vec<u32>> = (0..4)
        .map(|i| tokens(args.prompt_tokens, cfg.vocab_size, 30 + i))
        .collect();
    let secs = time(args.repeats.max(1), || {
        with_prefix
            .generate(&prompts, &params)
            .map(|_| ())
            .map_err(Into::into)
    })?;
    println!(
        "beam search, width 32, {new_tokens} new tokens, 4 states after a shared {}-token prefix: {:.3}s per batch, {:.0} expansions/min",
        args.prefix_tokens.max(1),
        secs,
        240.0 / secs
    );
    prefix_reuse(&model, args)?;
    Ok(())
}

fn bench_config(tiny: bool) -> Config {
    let mut cfg = if tiny {
        shaped_config(64, 2, 4, 2, 128, 1024)
    } else {
        shaped_config(768, 12, 12, 4, 2048, 32000)
    };
    // The checkpoint PyTorch loads too: f32, a short rotary table.
    cfg.max_position_embeddings = 4096;
    cfg.torch_dtype = Some("float32".into());
    cfg
}

/// An InternLM2 config with these shapes (the other fields as the published checkpoints have
/// them).
pub(crate) fn shaped_config(
    hidden: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    intermediate: usize,
    vocab: usize,
) -> Config {
    let json = serde_json::json!({
        "architectures": ["InternLM2ForCausalLM"],
        "model_type": "internlm2",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "hidden_act": "silu",
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-5,
        "rope_theta": 1000000.0,
        "bias": false,
        "tie_word_embeddings": false,
    });
    serde_json::from_value(json).expect("valid bench config")
}

/// Writes `config.json` and random `model.safetensors` into `dir`.
pub(crate) fn write_random_checkpoint(cfg: &Config, dir: &Path) -> Result<()> {
    let mut tensors = HashMap::new();
    for (name, shape) in cfg.expected_tensors() {
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, DType::F32, &Device::Cpu)?
        } else {
            Tensor::randn(0f32, 0.02, shape, &Device::Cpu)?
        };
        tensors.insert(name, t);
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(cfg)?)?;
    Ok(())
}

fn tokens(n: usize, vocab: usize, salt: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((i * 7919 + salt * 104_729 + 3) % vocab) as u32)
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Seconds for `f`, median of `repeats` runs after one warm-up run.
fn time<F: FnMut() -> Result<()>>(repeats: usize, mut f: F) -> Result<f64> {
    f()?;
    let mut runs = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        f()?;
        runs.push(t.elapsed().as_secs_f64());
    }
    Ok(median(runs))
}

/// Prefill of `prompt` (one row), then `steps` greedy decode steps over `rows` copies of it.
fn prefill_and_decode(
    model: &Model,
    prompt: &[u32],
    rows: usize,
    steps: usize,
) -> Result<(f64, f64)> {
    let t = Instant::now();
    let input = Tensor::from_slice(prompt, (1, prompt.len()), model.device())?;
    let mut cache = KvCache::new(model, vec![0], prompt.len() + steps, 0)?;
    let hidden = model.forward(&input, &mut cache, None)?;
    let lp = model.log_probs(&hidden.i((.., prompt.len() - 1, ..))?)?;
    let mut next = lp.argmax(1)?.to_vec1::<u32>()?;
    let prefill = t.elapsed().as_secs_f64();
    let mut cache = cache.select_rows(&vec![0; rows])?;
    next = vec![next[0]; rows];
    let t = Instant::now();
    for _ in 0..steps {
        let input = Tensor::from_vec(next.clone(), (rows, 1), model.device())?;
        let hidden = model.forward(&input, &mut cache, None)?;
        next = model
            .log_probs(&hidden.i((.., 0, ..))?)?
            .argmax(1)?
            .to_vec1::<u32>()?;
    }
    Ok((prefill, t.elapsed().as_secs_f64()))
}

#[derive(Debug, Default, serde::Deserialize)]
struct TorchNumbers {
    prefill_tok_s: f64,
    decode_tok_s: f64,
    decode_batch_tok_s: f64,
    threads: usize,
    torch_version: String,
}

fn run_torch(
    python: &Path,
    dir: &Path,
    args: &ModelBenchArgs,
    threads: usize,
) -> Result<TorchNumbers> {
    let script = dir.join("torch_bench.py");
    std::fs::write(&script, TORCH_SCRIPT)?;
    let mut cmd = Command::new(python);
    // OpenMP threads that spin while waiting collapse when the cores are shared (as on a busy
    // build machine); passive waiting measures PyTorch more fairly there. Set the variable to
    // override.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        cmd.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    let out = cmd
        .arg(&script)
        .arg("--model")
        .arg(dir)
        .args(["--threads", &threads.to_string()])
        .args(["--prompt-tokens", &args.prompt_tokens.to_string()])
        .args(["--decode-tokens", &args.decode_tokens.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(["--repeats", &args.repeats.to_string()])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        bail!("PyTorch side failed ({}): {last}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line)
        .with_context(|| format!("unexpected output from the PyTorch side: {stdout}"))
}

pub fn run(args: &ModelBenchArgs) -> Result<()> {
    if let Some(device) = &args.gpu {
        return gpu_decode(device, args);
    }
    if args.prompt_tokens == 0 || args.decode_tokens == 0 || args.batch == 0 {
        bail!("--prompt-tokens, --decode-tokens and --batch must be positive");
    }
    let threads = candle_core::utils::get_num_threads();
    let cfg = bench_config(args.tiny);
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    write_random_checkpoint(&cfg, dir.path())?;
    let files = ModelFiles::from_dir(dir.path())?;
    let model = loader::load_model(&files, &LoadOptions::default())?;
    let params: usize = cfg
        .expected_tensors()
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    println!(
        "random InternLM2: {:.1}M parameters ({} layers, hidden {}, {} heads / {} kv heads, vocab {}), f32, CPU, {threads} threads",
        params as f64 / 1e6,
        cfg.num_hidden_layers,
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.num_kv_heads(),
        cfg.vocab_size
    );

    let prompt = tokens(args.prompt_tokens, cfg.vocab_size, 0);
    let mut prefill = Vec::new();
    let mut decode = Vec::new();
    let mut decode_batch = Vec::new();
    prefill_and_decode(&model, &prompt, 1, 2)?; // warm-up
    for _ in 0..args.repeats.max(1) {
        let (p, d) = prefill_and_decode(&model, &prompt, 1, args.decode_tokens)?;
        prefill.push(args.prompt_tokens as f64 / p);
        decode.push(args.decode_tokens as f64 / d);
        let (_, d) = prefill_and_decode(&model, &prompt, args.batch, args.decode_tokens)?;
        decode_batch.push((args.decode_tokens * args.batch) as f64 / d);
    }
    let ours = (median(prefill), median(decode), median(decode_batch));

    let python = args
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from("python3"));
    let torch = run_torch(&python, dir.path(), args, threads);

    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "tokens/s", "candle", "pytorch", "ratio"
    );
    let row = |name: &str, ours: f64, theirs: Option<f64>| match theirs {
        Some(t) => println!("{name:<34} {ours:>12.1} {t:>12.1} {:>8.2}", ours / t),
        None => println!("{name:<34} {ours:>12.1} {:>12} {:>8}", "-", "-"),
    };
    let t = torch.as_ref().ok();
    row(
        &format!("prefill ({} tokens)", args.prompt_tokens),
        ours.0,
        t.map(|t| t.prefill_tok_s),
    );
    row("decode (batch 1)", ours.1, t.map(|t| t.decode_tok_s));
    row(
        &format!("decode (batch {})", args.batch),
        ours.2,
        t.map(|t| t.decode_batch_tok_s),
    );
    match &torch {
        Ok(t) => println!(
            "(ratio = candle / pytorch; torch {} with {} threads, OMP_WAIT_POLICY={})",
            t.torch_version,
            t.threads,
            std::env::var("OMP_WAIT_POLICY").unwrap_or_else(|_| "PASSIVE".into())
        ),
        Err(e) => println!(
            "PyTorch comparison unavailable: {}",
            crate::output::error_text(e)
        ),
    }

    prefix_reuse(&model, args)?;
    Ok(())
}

/// Four requests sharing a few-shot prefix, greedy 8 tokens each: recomputing the prefix in every
/// call versus attending to its cached keys/values.
fn prefix_reuse(model: &Model, args: &ModelBenchArgs) -> Result<()> {
    let vocab = model.config().vocab_size;
    let prefix = tokens(args.prefix_tokens.max(1), vocab, 1);
    let suffixes: Vec<Vec<u32>> = (0..4).map(|i| tokens(32, vocab, 10 + i)).collect();
    let params = GenParams {
        stop_at_eos: false,
        ..GenParams::greedy(8)
    };
    let full: Vec<Vec<u32>> = suffixes
        .iter()
        .map(|s| prefix.iter().chain(s).copied().collect())
        .collect();
    let plain = Decoder {
        model,
        prefix: None,
        eos: &[],
        detok: None,
    };
    let without = time(args.repeats, || {
        plain
            .generate(&full, &params)
            .map(|_| ())
            .map_err(Into::into)
    })?;
    let t = Instant::now();
    let kv = model.build_prefix(&prefix)?;
    let build = t.elapsed().as_secs_f64();
    let reuse = Decoder {
        model,
        prefix: Some(&kv),
        eos: &[],
        detok: None,
    };
    let with = time(args.repeats, || {
        reuse
            .generate(&suffixes, &params)
            .map(|_| ())
            .map_err(Into::into)
    })?;
    println!(
        "prefix reuse ({}-token prefix, 4 requests x 32 tokens, 8 new tokens each): {:.3}s without, {:.3}s with (prefix built once in {:.3}s): {:.2}x faster per call",
        prefix.len(),
        without,
        with,
        build,
        without / with
    );
    Ok(())
}
