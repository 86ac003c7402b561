//! Candidates from what the library knows: lemmas whose statements look like the goal
//! (`rw`, `simp [..]`, `apply`, `norm_num [..]`), and the tactics mathlib's own proofs ran on the
//! most similar traced states, with their hypothesis names adapted to this goal. The indexes
//! are the `retrieval` crate's; whoever builds the policy opens them (the heuristic reads
//! text, never a process or a file it was not handed).

use std::collections::{HashMap, HashSet};

use retrieval::{DeclIndex, TacticIndex};

use crate::framework::state::{Goal, parse_state};
use crate::framework::term::{Shape, TokenKind, shape, tokenize};

/// Where a candidate came from, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Rules,
    Premises,
    Tactics,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Rules => "rules",
            Source::Premises => "premise retrieval",
            Source::Tactics => "tactic retrieval",
        }
    }
}

/// The indexes a policy retrieves from, and the theorems it must never retrieve (the ones
/// being proved: a measured problem set must not be what the policy reads its answers from).
#[derive(Debug, Default)]
pub struct Retrieval {
    pub decls: Option<DeclIndex>,
    pub tactics: Option<TacticIndex>,
    pub excluded: HashSet<String>,
    /// How many lemmas and traced steps each goal looks at.
    pub lemmas: usize,
    pub steps: usize,
}

/// The score of the `i`-th retrieved candidate: below the rules' plausible steps, above their
/// long shots, slowly falling with rank.
fn score(base: f64, i: usize) -> f64 {
    base - 0.04 * i as f64
}

impl Retrieval {
    pub fn new(decls: Option<DeclIndex>, tactics: Option<TacticIndex>) -> Self {
        Retrieval {
            decls,
            tactics,
            excluded: HashSet::new(),
            lemmas: 6,
            steps: 12,
        }
    }

    /// Leaves these theorems (full names, or last components) out of every result.
    pub fn exclude(&mut self, names: impl IntoIterator<Item = String>) {
        self.excluded.extend(names);
    }

    fn is_excluded(&self, name: &str) -> bool {
        self.excluded.contains(name)
            || name
                .rsplit('.')
                .next()
                .is_some_and(|last| self.excluded.contains(last))
    }

    /// Candidates for `goal` (the first goal of `state`), best first, with their sources.
    pub(crate) fn candidates(&self, goal: &Goal, state: &str) -> Vec<(String, f64, Source)> {
        let mut out: Vec<(String, f64, Source)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut push = |t: String, s: f64, src: Source, out: &mut Vec<(String, f64, Source)>| {
            if seen.insert(t.clone()) {
                out.push((t, s, src));
            }
        };
        if let Some(index) = &self.tactics {
            for (i, (step, _)) in index
                .search(state, self.steps * 2)
                .into_iter()
                .filter(|(s, _)| !self.is_excluded(&s.theorem))
                .filter(|(s, _)| s.premises.iter().all(|p| !self.is_excluded(p)))
                .enumerate()
            {
                if let Some(t) = adapt(&step.tactic, &step.state_before, goal) {
                    push(t, score(-0.9, i), Source::Tactics, &mut out);
                }
                if out.len() >= self.steps {
                    break;
                }
            }
        }
        if let Some(index) = &self.decls {
            let query = goal_query(goal);
            let hits = index.search_kinds(&query, self.lemmas * 8, &["theorem"]);
            let arithmetic = is_arithmetic(&goal.target);
            let lemmas = by_coverage(hits.into_iter().map(|(d, _)| d), &query)
                .into_iter()
                .filter(|d| !self.is_excluded(&d.name) && usable(&d.name))
                .take(self.lemmas);
            for (rank, decl) in lemmas.enumerate() {
                let l = &decl.name;
                let conclusion = conclusion(&decl.statement);
                let rewrites = matches!(shape(&conclusion), Shape::Iff(..) | Shape::Rel(_, _, _))
                    && (conclusion.contains(" = ") || conclusion.contains(" ↔ "));
                let mut tactics = if rewrites {
                    vec![(format!("rw {l}"), -1.0), (format!("simp [{l}]"), -1.1)]
                } else {
                    vec![(format!("apply {l}"), -1.0)]
                };
                if arithmetic {
                    tactics.push((format!("norm_num [{l}]"), -1.1));
                }
                for (t, base) in tactics {
                    push(t, score(base, rank), Source::Premises, &mut out);
                }
            }
        }
        out
    }
}

/// Tokens that say nothing about what a statement is about.
const NEUTRAL: &[&str] = &[
    "∀", "→", "∃", "NUM", "ℕ", "ℤ", "ℝ", "ℚ", "=", "Prop", "Type", "Sort",
];

/// The declarations in the order of how much of what their statements talk about the goal
/// talks about too (a lemma about `nat.prime` and `∣` fits a goal about both better than one
/// that also needs `finset.sum`); BM25's order among equals. Those sharing less than half are
/// left out: they cannot fit this goal without steps first.
fn by_coverage(
    decls: impl Iterator<Item = retrieval::Declaration>,
    query: &str,
) -> Vec<retrieval::Declaration> {
    let goal: HashSet<String> = retrieval::tokens(query).into_iter().collect();
    let mut scored: Vec<(f64, usize, retrieval::Declaration)> = decls
        .enumerate()
        .filter_map(|(rank, d)| {
            let own: HashSet<String> = retrieval::tokens(&d.statement)
                .into_iter()
                .filter(|t| !NEUTRAL.contains(&t.as_str()))
                .collect();
            if own.is_empty() {
                return None;
            }
            let shared = own.iter().filter(|t| goal.contains(*t)).count();
            let coverage = shared as f64 / own.len() as f64;
            (coverage >= 0.5).then_some((coverage, rank, d))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, d)| d).collect()
}

/// Whether a declaration name can be written in a tactic and is worth a try.
fn usable(name: &str) -> bool {
    !name.contains("._")
        && !name.starts_with('_')
        && !name.contains("equations")
        && !name.ends_with("_def")
        && !name.contains(".rec")
        && !name.contains(".cases_on")
        && !name.contains(".no_confusion")
        && !name.contains(".sizeof")
}

/// The text a goal is looked up by: its target, and the types of its hypotheses.
fn goal_query(goal: &Goal) -> String {
    let mut q = goal.target.clone();
    for h in &goal.hyps {
        q.push('\n');
        q.push_str(&h.ty);
    }
    q
}

/// Whether the target compares numbers (where `norm_num` with a lemma may close it).
fn is_arithmetic(target: &str) -> bool {
    matches!(shape(target), Shape::Rel(..))
        && tokenize(target).iter().any(|t| t.kind == TokenKind::Num)
}

/// What a statement concludes: past its leading `∀ …,` binders and `→` premises.
fn conclusion(statement: &str) -> String {
    let mut s = statement.trim().to_string();
    loop {
        match shape(&s) {
            Shape::Forall(_, body) => s = body,
            Shape::Imp(_, rhs) => s = rhs,
            _ => return s,
        }
    }
}

/// A type with the names its state declared (variables, hypotheses) made blanks: `nat.prime p`
/// in one state and `nat.prime q` in another are the same kind of hypothesis.
fn skeleton(ty: &str, locals: &HashSet<&str>) -> String {
    let mut out = String::new();
    for t in tokenize(ty) {
        let word = &ty[t.start..t.end];
        if !out.is_empty() {
            out.push(' ');
        }
        if t.kind == TokenKind::Ident && locals.contains(word.split('.').next().unwrap_or(word)) {
            out.push('_');
        } else {
            out.push_str(word);
        }
    }
    out
}

/// A traced tactic made to fit `goal`: each hypothesis of the traced state it names becomes
/// this goal's hypothesis of the same type up to the names of variables (or of the same name); `None` when one has no
/// counterpart here, or the tactic is not one line.
fn adapt(tactic: &str, state_before: &str, goal: &Goal) -> Option<String> {
    if tactic.contains('\n') || tactic.len() > 160 || tactic.contains("sorry") {
        return None;
    }
    let traced = parse_state(state_before);
    let traced = traced.first()?;
    let mut renames: HashMap<&str, &str> = HashMap::new();
    let there: HashSet<&str> = traced.hyps.iter().map(|h| h.name.as_str()).collect();
    let here: HashSet<&str> = goal.hyps.iter().map(|h| h.name.as_str()).collect();
    let here_skeletons: Vec<String> = goal.hyps.iter().map(|g| skeleton(&g.ty, &here)).collect();
    for h in &traced.hyps {
        let shape = skeleton(&h.ty, &there);
        let same_type = goal.hyps.iter().zip(&here_skeletons).rev().find(|(g, k)| {
            **k == shape && g.accessible() && !renames.values().any(|v| *v == g.name)
        });
        if let Some((here, _)) = same_type {
            renames.insert(h.name.as_str(), here.name.as_str());
        } else if goal.hyp(&h.name).is_some() {
            renames.insert(h.name.as_str(), h.name.as_str());
        }
    }
    let traced_names: HashSet<&str> = traced.hyps.iter().map(|h| h.name.as_str()).collect();
    let mut out = String::new();
    let mut at = 0;
    for t in tokenize(tactic) {
        if t.kind != TokenKind::Ident {
            continue;
        }
        let word = &tactic[t.start..t.end];
        // `h.1`, `h.symm`: the hypothesis is the first component.
        let head = word.split('.').next().unwrap_or(word);
        if !traced_names.contains(head) {
            continue;
        }
        let to = renames.get(head)?;
        out.push_str(&tactic[at..t.start]);
        out.push_str(to);
        out.push_str(&word[head.len()..]);
        at = t.end;
    }
    out.push_str(&tactic[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(state: &str) -> Goal {
        parse_state(state).remove(0)
    }

    #[test]
    fn hypotheses_are_renamed_by_type() {
        let g = goal("a b : ℕ,\nh₀ : a ≤ b\n⊢ a < b + 1");
        assert_eq!(
            adapt(
                "exact nat.lt_succ_of_le h",
                "m n : ℕ,\nh : m ≤ n\n⊢ m < n + 1",
                &g
            )
            .as_deref(),
            Some("exact nat.lt_succ_of_le h₀")
        );
        assert_eq!(
            adapt("cases h.1 with x hx", "c d : ℕ,\nh : c ≤ d\n⊢ false", &g).as_deref(),
            Some("cases h₀.1 with x hx")
        );
        // A hypothesis with no counterpart: the tactic cannot be used here.
        assert_eq!(adapt("exact hq", "hq : q\n⊢ q", &g), None);
        // Names that are no hypothesis there are left alone.
        assert_eq!(
            adapt("simp [add_comm]", "⊢ x = x", &g).as_deref(),
            Some("simp [add_comm]")
        );
    }

    #[test]
    fn conclusions_and_usable_names() {
        assert_eq!(conclusion("∀ {n m : ℕ}, n < m → n ≤ m"), "n ≤ m");
        assert!(usable("nat.succ_le_iff"));
        assert!(!usable("nat.add._main"));
        assert!(!usable("nat.rec"));
    }
}

#[cfg(test)]
mod policy_tests {
    use std::sync::Arc;

    use retrieval::{DeclIndex, Declaration, TacticIndex, TracedStep};

    use super::*;
    use crate::{HeuristicPolicy, TacticSet};

    fn decl(name: &str, statement: &str) -> Declaration {
        Declaration {
            name: name.into(),
            kind: "theorem".into(),
            statement: statement.into(),
            path: None,
            line: None,
            column: None,
        }
    }

    fn indexes(dir: &std::path::Path) -> (DeclIndex, TacticIndex) {
        let decls = DeclIndex::build(
            &dir.join("decls"),
            [
                decl("nat.succ_le_iff", "∀ {m n : ℕ}, nat.succ m ≤ n ↔ m < n"),
                decl("nat.prime.two_le", "∀ {p : ℕ}, nat.prime p → 2 ≤ p"),
                decl("finset.sum_range_succ", "∀ (f : ℕ → β) (n : ℕ), (finset.range (n + 1)).sum f = (finset.range n).sum f + f n"),
            ],
            "test",
        )
        .unwrap();
        let tactics = TacticIndex::build(
            &dir.join("tactics"),
            [TracedStep {
                theorem: "nat.two_le_of_prime".into(),
                path: "data/nat/prime.lean".into(),
                state_before: "p : ℕ,\nhp : nat.prime p\n⊢ 2 ≤ p".into(),
                tactic: "exact hp.two_le".into(),
                premises: vec!["nat.prime.two_le".into()],
            }],
            "test",
        )
        .unwrap();
        (decls, tactics)
    }

    #[test]
    fn retrieved_candidates_follow_the_rules_list() {
        let dir = tempfile::tempdir().unwrap();
        let (decls, tactics) = indexes(dir.path());
        let policy = HeuristicPolicy::new(TacticSet::all())
            .with_retrieval(Arc::new(Retrieval::new(Some(decls), Some(tactics))));
        let state = "q : ℕ,\nh₀ : nat.prime q\n⊢ 2 ≤ q";
        // The first round is the rules' list; the retrieved candidates come right after it.
        let first: Vec<String> = policy
            .candidates(state, 4)
            .into_iter()
            .map(|c| c.tactic)
            .collect();
        let got: Vec<String> = policy
            .candidates_after(state, 4, 12)
            .into_iter()
            .map(|c| c.tactic)
            .collect();
        // The traced step, with its hypothesis renamed to this goal's.
        assert!(got.contains(&"exact h₀.two_le".to_string()), "{got:?}");
        assert_eq!(policy.source_of("exact h₀.two_le"), Source::Tactics);
        // The lemma about primes and ≤, not the one about sums.
        assert!(
            got.contains(&"apply nat.prime.two_le".to_string()),
            "{got:?}"
        );
        assert!(!got.iter().any(|t| t.contains("sum_range")), "{got:?}");
        // Without retrieval, the rules alone, and the same first round.
        let plain: Vec<String> = HeuristicPolicy::new(TacticSet::all())
            .candidates(state, 16)
            .into_iter()
            .map(|c| c.tactic)
            .collect();
        assert!(!plain.contains(&"exact h₀.two_le".to_string()));
        assert_eq!(first[..], plain[..4]);
        assert_eq!(policy.source_of(&plain[0]), Source::Rules);
    }

    #[test]
    fn excluded_theorems_are_never_retrieved() {
        let dir = tempfile::tempdir().unwrap();
        let (decls, tactics) = indexes(dir.path());
        let mut r = Retrieval::new(Some(decls), Some(tactics));
        r.exclude(["nat.two_le_of_prime".to_string(), "two_le".to_string()]);
        let policy = HeuristicPolicy::new(TacticSet::all()).with_retrieval(Arc::new(r));
        let got: Vec<String> = policy
            .candidates_after("q : ℕ,\nh₀ : nat.prime q\n⊢ 2 ≤ q", 0, 40)
            .into_iter()
            .map(|c| c.tactic)
            .collect();
        assert!(!got.iter().any(|t| t.contains("two_le")), "{got:?}");
    }
}
