//! Lean 3 theorem files: header (imports, `open` lines) and theorems with their proofs.
