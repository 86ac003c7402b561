//! `prover generate` and `prover bench model`.

use std::io::Write;

use anyhow::{Context, Result};
use candle_core::Device;
use clap::Args;

use causal_lm::generate::{GenParams, GenRequest, Generator, Strategy};
use causal_lm::loader::{self, HubOptions, LoadOptions, ModelSource};

/// Arguments of `prover generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Checkpoint directory or Hugging Face hub id (e.g. internlm/internlm2-math-7b).
    #[arg(long)]
    pub model: String,
    /// Prompt text (`-` reads it from standard input).
    #[arg(long)]
    pub prompt: String,
    /// Shared prefix put before the prompt (computed once; mainly for testing prefix reuse).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Maximum number of new tokens per candidate.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Greedy decoding (the default).
    #[arg(long, conflicts_with_all = ["beams", "samples"])]
    pub greedy: bool,
    /// Beam search with this width.
    #[arg(long, value_name = "K", conflicts_with = "samples")]
    pub beams: Option<usize>,
    /// This many distinct samples.
    #[arg(long, value_name = "K")]
    pub samples: Option<usize>,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0, requires = "samples")]
    pub temperature: f64,
    /// Nucleus (top-p) threshold for sampling.
    #[arg(long, default_value_t = 1.0, requires = "samples")]
    pub top_p: f64,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop string (repeatable), e.g. --stop $'\n'.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Keep generating past the end-of-sequence token.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Weight dtype: f32, f16 or bf16 (default: f32 on CPU, bf16 elsewhere).
    #[arg(long)]
    pub dtype: Option<String>,
    /// cpu, cuda[:N] or metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// One JSON object per candidate: text, logprob, logprob_norm, tokens, finish.
    #[arg(long)]
    pub jsonl: bool,
}

pub fn load_options(dtype: Option<&str>, device: &str) -> Result<LoadOptions> {
    let device = loader::parse_device(device)?;
    let dtype = match dtype {
        Some(d) => loader::parse_dtype(d)?,
        None if matches!(device, Device::Cpu) => candle_core::DType::F32,
        None => candle_core::DType::BF16,
    };
    Ok(LoadOptions {
        dtype,
        device,
        hub: HubOptions::default(),
    })
}

pub fn run_generate(args: &GenerateArgs) -> Result<()> {
    let prompt = if args.prompt == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the prompt from stdin")?
    } else {
        args.prompt.clone()
    };
    let strategy = match (args.beams, args.samples) {
        (Some(_), _) => Strategy::Beam,
        (None, Some(_)) => Strategy::Sample {
            temperature: args.temperature,
            top_p: args.top_p,
            max_rounds: 4,
        },
        (None, None) => Strategy::Greedy,
    };
    let params = GenParams {
        strategy,
        num_candidates: args.beams.or(args.samples).unwrap_or(1),
        max_new_tokens: args.max_tokens,
        stop: args.stop.clone(),
        stop_at_eos: !args.ignore_eos,
        seed: args.seed,
        ..GenParams::default()
    };
    let opts = load_options(args.dtype.as_deref(), &args.device)?;
    let source = ModelSource::parse(&args.model);
    let mut generator = Generator::load(&source, &opts)
        .with_context(|| format!("loading model `{}`", args.model))?;
    if let Some(prefix) = &args.prefix {
        generator
            .set_prefix(prefix)
            .context("computing the prefix")?;
    }
    let results = generator
        .generate(&[GenRequest::new(prompt)], &params)
        .context("generating")?;
    let mut out = std::io::stdout().lock();
    for (i, g) in results.into_iter().flatten().enumerate() {
        if args.jsonl {
            writeln!(out, "{}", serde_json::to_string(&g)?)?;
        } else {
            writeln!(
                out,
                "#{} logprob={:.4} logprob_norm={:.4} tokens={} finish={:?}",
                i + 1,
                g.logprob,
                g.logprob_norm,
                g.tokens,
                g.finish
            )?;
            writeln!(out, "{}", g.text)?;
        }
    }
    Ok(())
}
