use clap::{Parser, Subcommand};

/// A theorem-proving agent for Lean 3.
#[derive(Parser)]
#[command(name = "prover", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate continuations of a prompt with the language model.
    Generate(prover::model::cli::GenerateArgs),
    /// Benchmarks.
    Bench(prover::model::cli::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => prover::model::cli::run_generate(&args),
        Command::Bench(args) => prover::model::cli::run_bench(&args),
    };
    // The error chain, without the backtrace `anyhow` prints when RUST_BACKTRACE is set.
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
