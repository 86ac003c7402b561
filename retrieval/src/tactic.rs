//! The tactic index: traced proof steps, found by how much the state they were run on shares
//! with a new state, so that the tactics used there can be tried here.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::TantivyDocument;
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::schema::{Field, Schema};

use crate::error::RetrievalError;
use crate::store::{
    SchemaBuilder, Store, any_token_query, field_of, stored_document, stored_field, token_text,
};
use crate::tokens::tokens;

/// One tactic of a proof, traced: the state Lean showed before it and what it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracedStep {
    /// The full name of the theorem whose proof ran it.
    pub theorem: String,
    /// The file of that theorem.
    pub path: String,
    /// The tactic state before the tactic, as Lean prints it.
    pub state_before: String,
    /// The tactic's text as written in the proof.
    pub tactic: String,
    /// The full names of the declarations the tactic used.
    pub premises: Vec<String>,
}

/// The index kind recorded in the metadata, so a declaration index is never opened as this one.
const KIND: &str = "tactics";

const GOAL: &str = "goal";
const HYPOTHESES: &str = "hypotheses";

/// How much more a token shared by the goals counts than one shared by the hypotheses: the
/// tactic acts on the goal, while hypotheses are often bystanders carried along.
const GOAL_BOOST: f32 = 2.0;
const HYPOTHESES_BOOST: f32 = 1.0;

/// A BM25 index of traced steps on disk (memory-mapped), searched by a tactic state.
#[derive(Debug)]
pub struct TacticIndex {
    store: Store,
    fields: Fields,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    goal: Field,
    hypotheses: Field,
    stored: Field,
}

impl Fields {
    fn schema() -> Schema {
        let mut builder = SchemaBuilder::new();
        builder.tokens_field(GOAL);
        builder.tokens_field(HYPOTHESES);
        builder.build()
    }

    fn of(schema: &Schema, dir: &Path) -> Result<Fields, RetrievalError> {
        Ok(Fields {
            goal: field_of(schema, dir, GOAL)?,
            hypotheses: field_of(schema, dir, HYPOTHESES)?,
            stored: stored_field(schema, dir)?,
        })
    }

    fn document(&self, step: &TracedStep) -> TantivyDocument {
        let mut doc = stored_document(self.stored, step);
        let (hypotheses, goal) = split_state(&step.state_before);
        doc.add_text(self.goal, token_text(goal));
        doc.add_text(self.hypotheses, token_text(hypotheses));
        doc
    }
}

impl TacticIndex {
    /// Builds the index of `steps` at `dir` (replacing what is there, atomically), recording
    /// `fingerprint` for [`TacticIndex::open_if_current`].
    pub fn build(
        dir: &Path,
        steps: impl IntoIterator<Item = TracedStep>,
        fingerprint: &str,
    ) -> Result<TacticIndex, RetrievalError> {
        let schema = Fields::schema();
        let fields = Fields::of(&schema, dir)?;
        let docs = steps.into_iter().map(|step| fields.document(&step));
        TacticIndex::from_store(Store::build(dir, KIND, fingerprint, schema, docs)?)
    }

    /// Opens the tactic index at `dir`, whatever its fingerprint.
    pub fn open(dir: &Path) -> Result<TacticIndex, RetrievalError> {
        TacticIndex::from_store(Store::open(dir, KIND)?)
    }

    /// Opens the index at `dir` if it is of this crate's current format and was built with
    /// `fingerprint`; `None` means the caller should [`build`](TacticIndex::build) it.
    pub fn open_if_current(
        dir: &Path,
        fingerprint: &str,
    ) -> Result<Option<TacticIndex>, RetrievalError> {
        Store::open_if_current(dir, KIND, fingerprint)?
            .map(TacticIndex::from_store)
            .transpose()
    }

    fn from_store(store: Store) -> Result<TacticIndex, RetrievalError> {
        let fields = Fields::of(&store.schema(), store.dir())?;
        Ok(TacticIndex { store, fields })
    }

    /// The `k` traced steps whose states best match `state` (as Lean prints it), best first,
    /// with their scores: the first goal's `⊢` part is matched against the traced goals (a
    /// shared token counting twice), its hypotheses against the traced hypotheses. A read error
    /// gives no hits; [`TacticIndex::try_search`] reports it.
    pub fn search(&self, state: &str, k: usize) -> Vec<(TracedStep, f32)> {
        self.try_search(state, k).unwrap_or_default()
    }

    /// [`TacticIndex::search`] with read errors reported.
    pub fn try_search(
        &self,
        state: &str,
        k: usize,
    ) -> Result<Vec<(TracedStep, f32)>, RetrievalError> {
        let (hypotheses, goal) = split_state(state);
        let parts = [
            any_token_query(&[(self.fields.goal, GOAL_BOOST)], &tokens(goal)),
            any_token_query(
                &[(self.fields.hypotheses, HYPOTHESES_BOOST)],
                &tokens(hypotheses),
            ),
        ];
        let clauses: Vec<(Occur, Box<dyn Query>)> = parts
            .into_iter()
            .flatten()
            .map(|part| (Occur::Should, Box::new(part) as Box<dyn Query>))
            .collect();
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        self.store.search(&BooleanQuery::new(clauses), k)
    }

    /// How many steps the index holds.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fingerprint the index was built with.
    pub fn fingerprint(&self) -> &str {
        self.store.fingerprint()
    }
}

/// The first goal of a printed state, split into its hypotheses and its `⊢` part (which runs
/// to the goal's end, for a target Lean wrapped over lines).
///
/// Lean 3 prints several goals as a `N goals` line and then the goals separated by blank
/// lines. Only the first is kept: tactics act on it, and the goals after it would make two
/// states alike only because they share a pending side goal. Text without `⊢` (a bare
/// proposition) is all goal.
pub(crate) fn split_state(state: &str) -> (&str, &str) {
    let text = match state.trim_start().split_once('\n') {
        Some((first, rest)) if is_goal_count(first) => rest,
        _ => state.trim_start(),
    };
    let first_goal = match text.find("\n\n") {
        Some(end) => &text[..end],
        None => text,
    };
    if first_goal.starts_with('⊢') {
        return ("", first_goal);
    }
    match first_goal.find("\n⊢") {
        Some(at) => (&first_goal[..at], &first_goal[at + 1..]),
        None => ("", first_goal),
    }
}

/// Lean 3's `2 goals` header line.
fn is_goal_count(line: &str) -> bool {
    line.trim()
        .strip_suffix("goals")
        .is_some_and(|n| n.trim().parse::<u32>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::split_state;

    #[test]
    fn splits_hypotheses_from_the_goal() {
        let state = "n : ℕ,\nh : 0 < n\n⊢ n ≠ 0";
        assert_eq!(split_state(state), ("n : ℕ,\nh : 0 < n", "⊢ n ≠ 0"));
        assert_eq!(split_state("⊢ true"), ("", "⊢ true"));
        assert_eq!(split_state("1 + 1 = 2"), ("", "1 + 1 = 2"));
    }

    #[test]
    fn keeps_only_the_first_goal_and_its_wrapped_lines() {
        let state = "2 goals\nx : ℝ\n⊢ 0 ≤ x ^ 2 +\n    1\n\nx : ℝ\n⊢ x = x";
        assert_eq!(split_state(state), ("x : ℝ", "⊢ 0 ≤ x ^ 2 +\n    1"));
    }
}
