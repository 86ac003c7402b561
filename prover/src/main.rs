use std::process::ExitCode;

use clap::{Parser, Subcommand};

use prover::{check, replay};

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
    /// Verify the proofs in Lean files, as Lean compiles them.
    Check(check::CheckArgs),
    /// Replay known proofs tactic by tactic through the REPL.
    Replay(replay::ReplayArgs),
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
    let result = runtime.block_on(async {
        let work = async {
            match cli.command {
                Command::Check(args) => check::run(args).await,
                Command::Replay(args) => replay::run(args).await,
            }
        };
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted");
                Ok(false)
            }
        }
    });
    // Dropping the runtime ends every task; Lean processes are killed with their workers.
    drop(runtime);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
