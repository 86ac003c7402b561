//! Tracing Lean 3 files into the data that trains and evaluates provers: for every theorem,
//! every tactic step as Lean ran it (nested blocks, `;` chains and `by` terms included), the
//! states before and after as Lean prints them, and the premises each step names, resolved to
//! full declaration names as Lean resolves them at that point, with where they are declared.
//!
//! The steps and states come from Lean's own export of the file ([`lean_bridge::ast`]); the
//! names are resolved by a worker that runs the file's commands ([`trace`]); [`record`] is the
//! output format (LeanDojo's field names). The crate knows Lean files and the bridge; it knows
//! no search, model or command line.

pub mod found;
pub mod index;
pub mod record;
pub mod replay;
pub mod steps;
pub mod trace;

pub use record::{Premise, TracedTactic, TracedTheorem};
pub use trace::{FileTrace, ReplayStats, TraceError, Tracer};
