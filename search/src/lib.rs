//! Best-first proof search.
//!
//! The search is generic over two traits: a [`Policy`] that proposes ranked tactics for
//! proof states, and a [`ProofEnv`] that runs tactics (in the real prover: Lean 3 through
//! `lean-bridge`). Neither trait knows about the other, so the search logic is tested with
//! in-memory environments and policies ([`testing`], behind the `testing` feature).
//!
//! One search (`env` and `policy` are any implementations of the traits):
//! ```no_run
//! use std::{path::Path, sync::Arc};
//! use search::{BestFirstSearch, CancellationToken, Policy, ProofEnv, ProofTask, SearchConfig};
//!
//! async fn prove<E: ProofEnv, P: Policy>(env: &E, policy: &P, task: ProofTask) {
//!     let search = BestFirstSearch::new(SearchConfig::default());
//!     let outcome = search.run(env, policy, Arc::new(task), &CancellationToken::new()).await;
//!     println!("{}", serde_json::to_string(&outcome.result).unwrap());
//!     if let Some(tree) = &outcome.tree {
//!         search::write_tree_files(tree, &outcome.result.name, Path::new("trees")).unwrap();
//!     }
//! }
//! ```
//! Many concurrent searches sharing one model: wrap the policy in a [`BatchingPolicy`] and
//! use [`run_many`].

pub mod batching;
pub mod best_first;
pub mod config;
pub mod env;
pub mod export;
mod frontier;
pub mod many;
pub mod policy;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tree;

#[cfg(test)]
mod tests;

pub use batching::{BatchingConfig, BatchingError, BatchingPolicy, BatchingStats};
pub use best_first::{BestFirstSearch, SearchOutcome, SearchResult, SearchStats, StopReason};
pub use config::{Priority, SearchConfig};
pub use env::{EnvError, EnvErrorKind, EnvState, ProofEnv, ProofTask, TacticOutcome, Verification};
pub use export::{
    ExportError, ExportedFiles, TreeExport, tree_to_dot, tree_to_export, write_tree_files,
};
pub use many::run_many;
pub use policy::{Candidate, Policy, PolicyError, PolicyErrorKind, PolicyRequest};
pub use tokio_util::sync::CancellationToken;
pub use tree::{EdgeOutcome, NodeStatus, ProofNode, ProofTree, TacticEdge};
