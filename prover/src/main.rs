use clap::{Parser, Subcommand};

/// A theorem-proving agent for Lean 3.
#[derive(Parser)]
#[command(name = "prover", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
