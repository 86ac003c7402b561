//! Text retrieval over a Lean project: which lemmas and which traced tactics fit a goal.
//!
//! The built-in policy proposes better tactics when it knows the library: lemmas whose
//! statements look like the goal (to `rw`, `apply`, `exact`), and what mathlib's own proofs did
//! on states like it. This crate holds the two indexes that answer those questions, built once
//! from what a Lean project exports and memory-mapped afterwards:
//!
//! - [`DeclIndex`]: every [`Declaration`] (name, kind, statement as Lean prints it, place);
//!   [`DeclIndex::search`] ranks them against a goal by BM25 over statement and name tokens,
//!   [`DeclIndex::get`] finds one by its exact name.
//! - [`TacticIndex`]: traced [`TracedStep`]s (state before, tactic, premises);
//!   [`TacticIndex::search`] ranks them by how their states match a new one, the goal counting
//!   more than the hypotheses.
//!
//! Both use [`tokens`], one tokenizer for indexing and querying Lean-printed text (constants
//! whole and split into the words of their names, operators, small numbers; bound variables
//! and hypothesis names dropped). An index is a directory: tantivy's files and a small metadata
//! file (format version, fingerprint, document count). Builds are atomic (a sibling directory
//! renamed into place), and `open_if_current` tells a caller when the format or the project
//! changed and the index must be rebuilt.
//!
//! *Invariant: retrieval knows text and indexes, not processes; it depends on no crate of
//! ours.* What Lean exports, and when, is the caller's business: this crate is handed
//! declarations and steps as data, so it is tested without Lean and usable by any front end.
//!
//! ```
//! use retrieval::{DeclIndex, Declaration};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let decl = |name: &str, statement: &str| Declaration {
//!     name: name.into(),
//!     kind: "theorem".into(),
//!     statement: statement.into(),
//!     path: None,
//!     line: None,
//!     column: None,
//! };
//! let decls = [
//!     decl("nat.prime.two_le", "∀ {p : ℕ}, nat.prime p → 2 ≤ p"),
//!     decl("nat.succ_le_iff", "∀ {n m : ℕ}, n.succ ≤ m ↔ n < m"),
//! ];
//! let index = DeclIndex::build(&dir.path().join("decls"), decls, "mathlib@abc").unwrap();
//! let hits = index.search("p : ℕ,\nh : nat.prime p\n⊢ 2 ≤ p", 5);
//! assert_eq!(hits[0].0.name, "nat.prime.two_le");
//! ```

mod decl;
mod error;
mod store;
mod tactic;
mod tokens;

pub use decl::{DeclIndex, Declaration};
pub use error::RetrievalError;
pub use tactic::{TacticIndex, TracedStep};
pub use tokens::tokens;
