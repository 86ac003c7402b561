//! The bridge to Lean 3.
//!
//! Lean 3 runs as subprocesses executing our REPL (`lean/prover_repl.lean`, compiled once per
//! Lean binary), spoken to in JSON lines. [`LeanWorker`] owns one process (timeouts, crash
//! recovery, restarts); [`LeanPool`] spreads proofs over several workers. Text that could make
//! Lean run IO or change its environment is refused before it is sent ([`screen`]).

pub mod ast;
pub mod error;
pub mod file;
#[doc(hidden)]
pub mod fuzz;
pub mod locate;
pub mod make;
pub mod olean;
pub mod pool;
pub mod protocol;
pub mod repl;
pub mod sandbox;
pub mod screen;
pub mod testing;
pub mod worker;

pub use error::{LeanError, LeanErrorKind, LostState};
pub use file::{FileTheorem, LeanFile, Segment, SegmentText, TheoremSegment};
pub use locate::{LeanInstall, LeanProject};
pub use pool::{
    LeanPool, PoolConfig, ProofStart, Recycle, StateRef, TacticResult, Timing, Verification,
    WorkerHealth,
};
pub use problems::split_statement;
pub use sandbox::{Confinement, Protections, SandboxMode};
pub use worker::{LeanWorker, Reply, WorkerSpec};
