//! What this server adds to LSP: its code action kinds, its command, and the data they carry.

use lsp_types::Uri;
use serde::{Deserialize, Serialize};

/// Code action kind of the checked suggestions.
pub const SUGGEST_KIND: &str = "refactor.rewrite.prover.suggest";
/// Code action kind of "Prove with search".
pub const PROVE_KIND: &str = "refactor.rewrite.prover.prove";
/// The command behind "Prove with search" for clients that cannot resolve code actions.
pub const PROVE_COMMAND: &str = "prover.proveWithSearch";

/// Which theorem "Prove with search" is for; carried in the code action's `data` (or the
/// command's argument).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProveTarget {
    pub uri: Uri,
    pub theorem: String,
    /// The line (0-based) the action was offered on, to read the file around it.
    #[serde(default)]
    pub line: u32,
}

/// What the prove command answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProveAnswer {
    pub theorem: String,
    pub proof: String,
    /// The client applied the proof (`workspace/applyEdit`).
    pub applied: bool,
    pub expansions: usize,
    pub time_s: f64,
}
