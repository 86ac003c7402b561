//! The prover's library half: everything the `prover` binary glues together.
//!
//! - [`lean_opts`]: the options every Lean-running command shares, and loading problem files.
//! - [`setup`]: `prover setup`, making Lean 3 and a mathlib project ready (the `lean-setup`
//!   crate and the bridge's `make`).
//! - [`check`], [`replay`]: verifying and replaying known proofs.
//! - [`prove`]: the proof search over files, with the `lean-env` crate's `LeanEnv` (the
//!   search's environment over the Lean pool), [`policy`] (which policy proposes tactics) and [`results`] (the results
//!   file, appended as results come).
//! - [`trace_cmd`], [`index_cmd`]: `prover trace` (the `lean-trace` crate) and the retrieval
//!   indexes (`prover index`; opened for every heuristic search).
//! - [`model_cli`]: the `generate` command and the model's device/dtype options;
//!   [`model_bench`]: `prover bench model` (the engine itself is the `causal-lm` crate).
//! - [`suggest_cmd`]: the `suggest` command (checked suggestions, `lean_env::suggest`, at a
//!   point of a file or for a pasted state); [`lsp`]: the language server that offers them in
//!   editors.
//! - [`model_policy`]: the model card's prompts and the model as a tactic policy;
//!   [`formalize`]: natural language → checked Lean 3 statements.

pub mod bench;
pub mod check;
pub mod formalize;
#[doc(hidden)]
pub mod fuzz;
pub mod index_cmd;
pub mod lean_opts;
pub mod lsp;
pub mod model_bench;
pub mod model_cli;
pub mod model_load;
pub mod model_policy;
pub mod output;
pub mod policy;
pub mod prompts;
pub mod prove;
pub mod remote;
pub mod replay;
pub mod report;
pub mod results;
pub mod serve;
pub mod serve_bench;
pub mod setup;
pub mod shard;
pub mod soak_bench;
pub mod suggest_cmd;
pub mod trace_cmd;
