//! Tests of the heuristic policy without Lean.
