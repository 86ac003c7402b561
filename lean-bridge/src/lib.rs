//! The bridge to Lean 3.
