//! The proof search's world made of Lean 3: what joins the search (`search`), the Lean
//! processes (`lean-bridge`) and Lean source files (`problems`).
//!
//! - [`env`]: [`LeanEnv`], the search's `ProofEnv` over the bridge's worker pool (proof text as
//!   Lean 3 writes it, verification as Lean compiles a theorem);
//! - [`file`]: [`FileRun`], a parsed file cut into the segments a Lean worker runs, so a
//!   theorem starts where the file states it (namespaces, variables, definitions in scope);
//! - [`suggest`]: checked tactic suggestions at a point of a proof (any policy);
//! - [`tactic_state`]: a tactic state as Lean prints it, read back into a statement.
//!
//! It knows no model, no command line and no editor protocol: the `prover` binary brings
//! those.

pub mod env;
pub mod file;
pub mod suggest;
pub mod tactic_state;

pub use env::LeanEnv;
pub use file::FileRun;

use problems::ProblemFile;

/// The first line of a message, for one-line reports.
pub fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// The context lines theorem `index` of `file` is elaborated under: the file's header and
/// `open` lines, then the earlier lemmas of the file that `uses` mentions (see
/// [`problems::ProblemFile::dependencies`]).
pub fn theorem_context(file: &ProblemFile, index: usize, uses: &str) -> Vec<String> {
    let t = &file.theorems[index];
    let mut ctx = t.context.clone();
    ctx.extend(file.dependencies(index, uses));
    ctx
}
