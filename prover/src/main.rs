use std::process::ExitCode;

use clap::{Parser, Subcommand};
use search::CancellationToken;

use prover::{
    bench, check, formalize, index_cmd, lsp, prove, replay, report, serve, setup, suggest_cmd,
    trace_cmd,
};

/// A theorem-proving agent for Lean 3: best-first proof search guided by InternLM2-Math,
/// with every tactic checked in Lean.
#[derive(Parser)]
#[command(name = "prover", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make this machine ready: Lean 3, a mathlib 3 project and its compiled files, checked.
    Setup(setup::SetupArgs),
    /// Search for proofs of the theorems in Lean files.
    Prove(prove::ProveArgs),
    /// Suggest next tactics for a proof state, each checked in Lean.
    Suggest(suggest_cmd::SuggestArgs),
    /// Turn natural-language problems into Lean 3 statements, each checked in Lean.
    Formalize(formalize::FormalizeArgs),
    /// Verify the proofs in Lean files, as Lean compiles them.
    Check(check::CheckArgs),
    /// Replay known proofs tactic by tactic through the REPL.
    Replay(replay::ReplayArgs),
    /// Trace Lean files into training data: every tactic step, its states and its premises.
    Trace(trace_cmd::TraceArgs),
    /// Build the retrieval indexes of a project: its declarations and traced tactic steps.
    Index(index_cmd::IndexArgs),
    /// Measure speed (bridge, search, model) side by side in one run.
    Bench(bench::BenchArgs),
    /// Generate continuations of a prompt with the language model.
    Generate(prover::model_cli::GenerateArgs),
    /// Merge results files (shards, repeated attempts) into one summary: proved, pass@k, time.
    Report(report::ReportArgs),
    /// Language server (stdio) for Lean 3 files: checked tactic suggestions, prove with search.
    Lsp(lsp::LspArgs),
    /// Serve the model over the OpenAI-compatible completions API, for --endpoint on other
    /// machines (or other processes).
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROVER_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        // First Ctrl-C or SIGTERM (how Slurm and Kubernetes stop a job): stop gracefully
        // (searches finish their bookkeeping, results stay valid). Second: leave at once; the
        // kernel ends our Lean processes with us.
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if stop_signal().await {
                eprintln!("\ninterrupted: stopping (Ctrl-C again to quit at once)");
                on_signal.cancel();
                if stop_signal().await {
                    std::process::exit(130);
                }
            }
        });
        match cli.command {
            Command::Setup(args) => setup::run(args, cancel.clone()).await,
            Command::Prove(args) => prove::run(args, cancel.clone()).await,
            Command::Suggest(args) => suggest_cmd::run(args, cancel.clone()).await,
            Command::Formalize(args) => formalize::run(args, cancel.clone()).await,
            Command::Check(args) => until_cancelled(&cancel, check::run(args)).await,
            Command::Replay(args) => until_cancelled(&cancel, replay::run(args)).await,
            Command::Trace(args) => trace_cmd::run(args, cancel.clone()).await,
            Command::Index(args) => {
                until_cancelled(&cancel, async { index_cmd::run(args).await.map(|()| true) }).await
            }
            Command::Bench(args) => until_cancelled(&cancel, bench::run(args)).await,
            Command::Lsp(args) => lsp::run(args, cancel.clone()).await,
            Command::Serve(args) => serve::run(args, cancel.clone()).await,
            Command::Report(args) => report::run(&args).map(|()| true),
            Command::Generate(args) => {
                let work =
                    tokio::task::spawn_blocking(move || prover::model_cli::run_generate(&args));
                until_cancelled(&cancel, async { work.await?.map(|_| true) }).await
            }
        }
    });
    // Dropping the runtime ends every task; Lean processes are killed with their workers.
    drop(runtime);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", prover::output::error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// Waits for Ctrl-C or, on Unix, SIGTERM; `false` when no handler could be installed.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                _ = term.recv() => true,
            },
            Err(_) => tokio::signal::ctrl_c().await.is_ok(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

async fn until_cancelled(
    cancel: &CancellationToken,
    work: impl Future<Output = anyhow::Result<bool>>,
) -> anyhow::Result<bool> {
    tokio::select! {
        r = work => r,
        _ = cancel.cancelled() => Ok(false),
    }
}
