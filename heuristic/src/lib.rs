//! The built-in heuristic tactic policy: ranked tactics from the shape of the goal, without a
//! model.
//!
//! [`HeuristicPolicy`] reads the first goal of the tactic state (hypotheses and target, see
//! [`parse_state`]), and proposes:
//! - closing tactics suited to the goal (`exact h` for a hypothesis that is the target,
//!   `norm_num`/`exact dec_trivial` for closed arithmetic, `linarith` for linear order goals,
//!   `ring` for identities, `nlinarith [sq_nonneg (a - b), …]`, `positivity`, `refl`, `cc`,
//!   `contradiction`, …);
//! - structural steps (`intros x h` named after the binders, `split`, `left`/`right`,
//!   `existsi`/`use` with witnesses read off the goal, `induction n with n ih`,
//!   `cases h with x hx`, `by_cases`);
//! - steps using hypotheses (`rw h`, `rw ← h`, `subst h`, `apply h`, `exact h.1`,
//!   `simp [h]`, `norm_num [h]`, `specialize h x`, `field_simp [h.ne']`);
//! - certificates computed from the goal read as a polynomial over ℚ (`framework::poly`):
//!   the squares a quadratic (or quartic) form is a sum of, for `nlinarith [sq_nonneg …]`;
//!   the factor `(x - r)` of an equation with root `r`, or a factor a hypothesis says cannot
//!   vanish, split off with `mul_eq_zero`; the inverse of `a` modulo `m` for `a * n % m = b`;
//!   one case per residue for remainders modulo a small `m`.
//!
//! Each candidate has a prior score (`<= 0`, like a log-probability: the search sums them
//! along a path). Only tactics in the [`TacticSet`] are offered: build it from Lean's answer
//! to [`TacticSet::probe_names`], so that core Lean 3 gets no mathlib tactics.
//!
//! ```
//! use heuristic::{HeuristicPolicy, TacticSet};
//! let policy = HeuristicPolicy::new(TacticSet::core());
//! let ranked = policy.candidates("p q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q", 8);
//! assert_eq!(ranked[0].tactic, "exact ⟨hp, hq⟩");
//! assert!(ranked.iter().any(|c| c.tactic == "split"));
//! ```

pub mod framework;
pub mod retrieved;
mod rules;
#[cfg(test)]
mod tests;

pub use framework::state::{Goal, Hyp, parse_state};
pub use framework::tactics::TacticSet;
pub use framework::term::{Shape, shape};
pub use retrieved::{Retrieval, Source};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use framework::term;
use search::{Candidate, Policy, PolicyError, PolicyRequest};

/// Proposes tactics from the shape of the first goal. Deterministic: the same state gives the
/// same candidates in the same order.
#[derive(Clone, Debug)]
pub struct HeuristicPolicy {
    tactics: TacticSet,
    retrieval: Option<Arc<Retrieval>>,
    /// The retrieved candidates offered so far that no rule offered, by text: what a report
    /// says a proof owes to retrieval.
    retrieved: Arc<Mutex<HashMap<String, Source>>>,
}

impl HeuristicPolicy {
    /// A policy offering only the tactics (and lemmas) in `tactics`.
    pub fn new(tactics: TacticSet) -> Self {
        Self {
            tactics,
            retrieval: None,
            retrieved: Arc::default(),
        }
    }

    /// The same policy, also offering what `retrieval` finds for each goal: right after the
    /// rules' best `k` (see [`HeuristicPolicy::candidates_after`]), so that retrieval never
    /// takes the place of a rule's first candidates.
    pub fn with_retrieval(mut self, retrieval: Arc<Retrieval>) -> Self {
        self.retrieval = Some(retrieval);
        self
    }

    /// Where a tactic this policy offered came from (`Rules` for anything it did not
    /// retrieve).
    pub fn source_of(&self, tactic: &str) -> Source {
        self.retrieved
            .lock()
            .map(|m| m.get(tactic).copied().unwrap_or(Source::Rules))
            .unwrap_or(Source::Rules)
    }

    pub fn tactics(&self) -> &TacticSet {
        &self.tactics
    }

    /// At most `k` candidates for a tactic state as Lean prints it, best first, without
    /// duplicates. None when the state has no goals.
    pub fn candidates(&self, goals: &str, k: usize) -> Vec<Candidate> {
        self.candidates_after(goals, 0, k)
    }

    /// The `k` candidates after the first `skip` of the whole list for this state, which is, in
    /// order: the rules' best `k` (what the search tries the first time it expands a state,
    /// retrieval or not), then the retrieved candidates, then the rules' others. A later round
    /// of the search asks for what follows (`skip`).
    pub fn candidates_after(&self, goals: &str, skip: usize, k: usize) -> Vec<Candidate> {
        let parsed = parse_state(goals);
        let Some(first) = parsed.first() else {
            return Vec::new();
        };
        let mut ruled: Vec<(String, f64)> = rules::candidates(first, &self.tactics)
            .ranked()
            .into_iter()
            .filter(|(tactic, _)| available(tactic, &self.tactics))
            .collect();
        // Within the rules' first `k`, or without indexes, the rules' list is the answer.
        let retrieval = match &self.retrieval {
            Some(r) if skip + k > k.min(ruled.len()) => r,
            _ => {
                return ruled
                    .into_iter()
                    .skip(skip)
                    .take(k)
                    .map(candidate)
                    .collect();
            }
        };
        let retrieved: Vec<(String, f64, Source)> = retrieval
            .candidates(first, goals)
            .into_iter()
            .filter(|(t, _, _)| available(t, &self.tactics))
            .filter(|(t, _, _)| !ruled.iter().any(|(r, _)| r == t))
            .collect();
        if let Ok(mut m) = self.retrieved.lock() {
            for (t, _, src) in &retrieved {
                m.entry(t.clone()).or_insert(*src);
            }
        }
        let later = ruled.split_off(k.min(ruled.len()));
        ruled
            .into_iter()
            .chain(retrieved.into_iter().map(|(t, s, _)| (t, s)))
            .chain(later)
            .skip(skip)
            .take(k)
            .map(candidate)
            .collect()
    }
}

impl Policy for HeuristicPolicy {
    async fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> Result<Vec<Vec<Candidate>>, PolicyError> {
        Ok(requests
            .iter()
            .map(|r| self.candidates_after(&r.goals, r.skip, r.k))
            .collect())
    }
}

fn candidate((tactic, score): (String, f64)) -> Candidate {
    Candidate {
        tactic,
        logprob: score,
        score,
    }
}

/// Whether every tactic a candidate runs, and every tracked lemma it names, is available.
fn available(tactic: &str, set: &TacticSet) -> bool {
    let heads_ok = tactic_heads(tactic)
        .iter()
        .all(|h| !TacticSet::tracks_tactic(h) || set.contains(h));
    let lemmas_ok = term::tokenize(tactic)
        .iter()
        .filter(|t| t.kind == term::TokenKind::Ident)
        .map(|t| &tactic[t.start..t.end])
        .all(|name| {
            let lemma = if name.ends_with(".ne'") {
                "has_lt.lt.ne'"
            } else {
                name
            };
            !TacticSet::tracks_lemma(lemma) || set.contains(lemma)
        });
    heads_ok && lemmas_ok
}

/// The tactic names a candidate runs: the first word of each part separated by `;`, `,` or
/// `<|>` outside brackets, past combinators such as `try` and `all_goals`.
fn tactic_heads(tactic: &str) -> Vec<&str> {
    const COMBINATORS: &[&str] = &[
        "try",
        "all_goals",
        "any_goals",
        "repeat",
        "iterate",
        "focus",
    ];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in tactic.char_indices() {
        match c {
            '(' | '[' | '⟨' => depth += 1,
            ')' | ']' | '⟩' => depth -= 1,
            ';' | ',' if depth == 0 => {
                parts.push(&tactic[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&tactic[start..]);
    parts
        .into_iter()
        .flat_map(|part| part.split("<|>"))
        .filter_map(|part| {
            part.split(|c: char| c.is_whitespace() || c == '{' || c == '}')
                .find(|w| !w.is_empty() && !COMBINATORS.contains(w))
        })
        .collect()
}
