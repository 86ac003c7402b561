//! Lean 3 theorem files: header (imports, `open` lines) and theorems with their proofs.
//!
//! [`parse_str`] / [`load_file`] / [`load_paths`] turn MiniF2F-style files into a
//! [`ProblemFile`]: the [`Header`], every `theorem`/`lemma`/`example` as a [`Theorem`] (statement,
//! [`Proof`] with top-level [`ProofStep`]s, context lines, [`Span`]s) and the other commands as
//! [`SkippedCommand`]s. [`split_statement`] separates binders from the goal. [`core_dir`] is our
//! own problem set that needs only Lean 3 core; [`shared_minif2f_valid`] finds MiniF2F's
//! `valid.lean` when the shared checkout is present. [`lexer`] is the workspace's one copy of
//! Lean 3's lexical rules (identifiers, comments, strings): the bridge's screen and the
//! heuristic's term reader use it too.
//!
//! ```
//! let file = problems::parse_str(
//!     "theorem t (p : Prop) (hp : p) : p ∧ p :=\nbegin\n  split,\n  exact hp, exact hp\nend",
//!     None,
//! )
//! .unwrap();
//! let t = &file.theorems[0];
//! assert_eq!(t.statement, "(p : Prop) (hp : p) : p ∧ p");
//! assert!(t.has_proof());
//! let steps: Vec<_> = t.steps().iter().map(|s| s.text.as_str()).collect();
//! assert_eq!(steps, ["split", "exact hp", "exact hp"]);
//! ```

mod error;
#[doc(hidden)]
pub mod fuzz;
mod imports;
pub mod lexer;
mod load;
mod model;
mod parse;
mod render;
mod span;
mod statement;

pub use error::ParseError;
pub use imports::{Import, imports_of};
pub use load::{
    FailedFile, LoadError, LoadedFiles, core_dir, load_file, load_paths, load_paths_each,
    shared_minif2f_valid,
};
pub use model::{
    CursorMove, DeclKind, Header, ProblemFile, Proof, ProofStep, SkippedCommand, Theorem,
    Unreadable,
};
pub use parse::parse_str;
pub use render::tactic_block;
pub use span::Span;
pub use statement::split_statement;
