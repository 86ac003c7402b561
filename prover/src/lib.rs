//! The prover's library half: everything the `prover` binary glues together.
//!
//! - [`lean_opts`]: the options every Lean-running command shares, and loading problem files.
//! - [`check`], [`replay`]: verifying and replaying known proofs.

pub mod check;
pub mod lean_opts;
pub mod output;
pub mod replay;
