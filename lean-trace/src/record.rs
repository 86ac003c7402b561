//! The records `prover trace` writes, one JSON line per theorem, with LeanDojo's field names
//! (its benchmark's `traced_tactics`, `tactic`, `annotated_tactic`, `state_before`,
//! `state_after`, premises with `full_name`, `def_path`, `def_pos`), so code written for that
//! dataset reads ours.

use serde::{Deserialize, Serialize};

/// One theorem and the tactic steps Lean ran in its proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedTheorem {
    /// The name Lean gave it (`nat.even_add`).
    pub full_name: String,
    /// The file, relative to the project's root when it is inside the project.
    pub file_path: String,
    /// `[line, column]` of the declaration's first and last character; lines count from 1,
    /// columns from 0 in characters, as Lean reports positions.
    pub start: (u32, u32),
    pub end: (u32, u32),
    /// Every tactic Lean ran successfully in the proof, nested ones (in `{ … }`, after `;`,
    /// in `by` terms) included, in the order they start in the file.
    pub traced_tactics: Vec<TracedTactic>,
}

/// One tactic step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedTactic {
    /// The tactic as written.
    pub tactic: String,
    /// The tactic with each premise marked `<a>…</a>`, and the premises in that order.
    pub annotated_tactic: (String, Vec<Premise>),
    /// The state before and after, as Lean prints them (`no goals` when it closed them all).
    pub state_before: String,
    pub state_after: String,
}

/// A declaration a tactic names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Premise {
    /// Its full name, as Lean resolved the written name at that point.
    pub full_name: String,
    /// The file it is declared in (relative to the project's root, or to the Lean library for
    /// core Lean's), when known.
    pub def_path: Option<String>,
    /// `[line, column]` of the declaration, as for [`TracedTheorem::start`].
    pub def_pos: Option<(u32, u32)>,
}

impl TracedTactic {
    /// The premises' full names.
    pub fn premise_names(&self) -> Vec<&str> {
        self.annotated_tactic
            .1
            .iter()
            .map(|p| p.full_name.as_str())
            .collect()
    }
}
