//! Which tactics (and a few lemmas the candidates mention) the Lean environment has.

use std::collections::BTreeSet;

/// The interactive tactics of Lean 3 core (3.51) that the policy knows how to use. Each tactic
/// is probed as `tactic.interactive.NAME`.
const CORE_TACTICS: &[&str] = &[
    "apply",
    "assumption",
    "by_cases",
    "by_contradiction",
    "cases",
    "cc",
    "constructor",
    "contradiction",
    "exact",
    "exfalso",
    "existsi",
    "induction",
    "injection",
    "intro",
    "intros",
    "left",
    "refl",
    "right",
    "rw",
    "rwa",
    "simp",
    "specialize",
    "split",
    "subst",
    "symmetry",
    "trivial",
    "unfold",
    "ac_refl",
    "dsimp",
    "have",
    // Core's `by_contra` is an alias of `by_contradiction`.
    "by_contra",
];

/// The mathlib tactics the policy knows how to use.
const MATHLIB_TACTICS: &[&str] = &[
    "decide",
    "field_simp",
    "linarith",
    "nlinarith",
    "norm_num",
    "omega",
    "positivity",
    "push_neg",
    "rcases",
    "ring",
    "ring_nf",
    "tauto",
    "use",
    "interval_cases",
    "norm_cast",
    "exact_mod_cast",
];

/// Every tactic the policy knows.
fn known_tactics() -> impl Iterator<Item = &'static &'static str> {
    CORE_TACTICS.iter().chain(MATHLIB_TACTICS)
}

/// Lemmas that some candidates mention and that only exist with mathlib.
const LEMMAS: &[&str] = &["sq_nonneg", "has_lt.lt.ne'", "mul_pos", "sq_abs"];

const INTERACTIVE_PREFIX: &str = "tactic.interactive.";

/// The tactics (by interactive name, `linarith`) and mathlib lemmas (`sq_nonneg`) that the
/// environment has. The policy only offers candidates whose tactics and lemmas are all in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TacticSet {
    available: BTreeSet<String>,
}

impl TacticSet {
    /// The declaration names to ask Lean about, for [`TacticSet::from_declared`]:
    /// `tactic.interactive.NAME` for each tactic, and the lemma names.
    pub fn probe_names() -> Vec<&'static str> {
        PROBE_NAMES.to_vec()
    }

    /// The set of everything the policy knows for which `has` (given a tactic name such as
    /// `linarith` or a lemma name such as `sq_nonneg`) is true.
    pub fn from_predicate(has: impl Fn(&str) -> bool) -> Self {
        TacticSet {
            available: known_tactics()
                .chain(LEMMAS)
                .filter(|n| has(n))
                .map(|n| n.to_string())
                .collect(),
        }
    }

    /// The set from Lean's answer about [`TacticSet::probe_names`]: `names[i]` is declared
    /// when `declared[i]`. Names the policy does not know are ignored; names missing from
    /// `names` count as absent.
    pub fn from_declared(names: &[&str], declared: &[bool]) -> Self {
        let present: BTreeSet<&str> = names
            .iter()
            .zip(declared)
            .filter(|(_, d)| **d)
            .map(|(n, _)| n.strip_prefix(INTERACTIVE_PREFIX).unwrap_or(n))
            .collect();
        Self::from_predicate(|n| present.contains(n))
    }

    /// Lean 3 core without mathlib.
    pub fn core() -> Self {
        Self::from_predicate(|n| CORE_TACTICS.contains(&n))
    }

    /// Everything the policy knows (Lean 3 with mathlib).
    pub fn all() -> Self {
        Self::from_predicate(|_| true)
    }

    /// Whether a tactic (`linarith`) or lemma (`sq_nonneg`) is available.
    pub fn contains(&self, name: &str) -> bool {
        self.available.contains(name)
    }

    /// The available tactics and lemmas, in alphabetical order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.available.iter().map(String::as_str)
    }

    /// Whether a lemma name is one this set tracks (so its absence from the set means the
    /// environment lacks it). Names not tracked are assumed present (core lemmas).
    pub(crate) fn tracks_lemma(name: &str) -> bool {
        LEMMAS.contains(&name)
    }

    /// Whether a tactic name is one this set tracks.
    pub(crate) fn tracks_tactic(name: &str) -> bool {
        known_tactics().any(|t| *t == name)
    }
}

/// `tactic.interactive.NAME` for every tactic, then the lemma names. Built (and leaked) once
/// per process, so that callers get `&'static str`s to hand to Lean.
static PROBE_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    known_tactics()
        .map(|t| &*format!("{INTERACTIVE_PREFIX}{t}").leak())
        .chain(LEMMAS.iter().copied())
        .collect()
});
