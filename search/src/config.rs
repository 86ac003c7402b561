//! Search limits and the expansion order.

use serde::{Deserialize, Serialize};

/// Which open proof state the search expands next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Best-first: the highest cumulative score (sum of the length-normalized log-probabilities,
    /// [`crate::Candidate::score`], of the tactics on the path from the root). Ties: the
    /// earlier created state first.
    #[default]
    CumulativeScore,
    /// The deepest open state first; ties: higher cumulative score, then the later created state.
    DepthFirst,
    /// The shallowest open state first; ties: the earlier created state (FIFO).
    BreadthFirst,
}

/// Limits of one proof search.
///
/// Every field has a default (`#[serde(default)]`), so a config file may set only some.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Most states expanded (one policy call and up to `candidates_per_expansion` tactics each).
    pub max_expansions: usize,
    /// Wall-clock limit per theorem's search, in seconds, counted from its first state. Reaching
    /// that state is not counted: in a file, Lean first runs the commands before the theorem
    /// (other theorems' proofs among them), which depends on the file and on which theorems a
    /// worker did before, not on this search. Verifying a found proof may run past it (a proof
    /// found just before the limit is still checked), cancellation may not.
    pub time_limit_s: f64,
    /// Most tactics in a proof: states at this depth are kept (and count as proofs when no
    /// goals are left) but never expanded.
    pub max_depth: usize,
    /// Candidates asked from the policy per expanded state (`k`).
    pub candidates_per_expansion: usize,
    /// How many times a state may be asked for candidates. When the tree is exhausted with
    /// time left, the states expanded so far are asked again, best first, for the
    /// candidates after those they gave (`k` more each round). 1: never.
    pub rounds: usize,
    /// Expansion order.
    pub priority: Priority,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_expansions: 100,
            time_limit_s: 300.0,
            max_depth: 32,
            candidates_per_expansion: 8,
            rounds: 1,
            priority: Priority::CumulativeScore,
        }
    }
}
