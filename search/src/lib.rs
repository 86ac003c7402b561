//! Best-first proof search.
//!
//! The search is generic over two traits: a [`Policy`] that proposes ranked tactics for
//! proof states, and a [`ProofEnv`] that runs tactics (in the real prover: Lean 3 through
//! `lean-bridge`). Neither trait knows about the other, so the search logic is tested with
//! in-memory environments and policies.

pub mod env;
pub mod policy;

pub use env::{EnvError, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification};
pub use policy::{Candidate, Policy, PolicyError, PolicyRequest};
