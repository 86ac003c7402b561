//! Tests of the heuristic policy without Lean: candidates for representative states, ranking,
//! deduplication, the `k` limit, determinism and the tactic set.

use std::collections::HashSet;
use std::sync::Arc;

use super::{HeuristicPolicy, TacticSet, available, tactic_heads};
use search::{Candidate, Policy, PolicyRequest, ProofTask};

fn core() -> HeuristicPolicy {
    HeuristicPolicy::new(TacticSet::core())
}

fn mathlib() -> HeuristicPolicy {
    HeuristicPolicy::new(TacticSet::all())
}

fn tactics(candidates: &[Candidate]) -> Vec<&str> {
    candidates.iter().map(|c| c.tactic.as_str()).collect()
}

/// The rank of `tactic` among at most 100 candidates, or a panic listing them.
fn rank(policy: &HeuristicPolicy, goals: &str, tactic: &str) -> usize {
    let all = policy.candidates(goals, 100);
    tactics(&all)
        .iter()
        .position(|t| *t == tactic)
        .unwrap_or_else(|| panic!("{tactic:?} not among {:?}", tactics(&all)))
}

fn offered(policy: &HeuristicPolicy, goals: &str, k: usize) -> Vec<String> {
    policy
        .candidates(goals, k)
        .into_iter()
        .map(|c| c.tactic)
        .collect()
}

const MATHLIB_ONLY: &[&str] = &[
    "linarith",
    "nlinarith",
    "norm_num",
    "ring",
    "ring_nf",
    "field_simp",
    "positivity",
    "omega",
    "use",
    "push_neg",
    "tauto",
    "decide",
    "interval_cases",
];

#[test]
fn a_hypothesis_that_is_the_target_comes_first() {
    let goals = "a b : ℕ,\nh₀ : a < b,\nh₁ : b ≠ 0\n⊢ b ≠ 0";
    for policy in [core(), mathlib()] {
        assert_eq!(offered(&policy, goals, 1), ["exact h₁"]);
    }
}

#[test]
fn conjunction_of_hypotheses_is_an_anonymous_constructor() {
    let goals = "p q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q";
    let c = offered(&core(), goals, 8);
    assert_eq!(c[0], "exact ⟨hp, hq⟩");
    assert!(c.contains(&"split".to_owned()), "{c:?}");
}

#[test]
fn core_gets_no_mathlib_tactics() {
    let states = [
        "a b : ℕ,\nh₀ : a < b\n⊢ b ≠ 0",
        "x y : ℤ,\nh₀ : x + y = 10,\nh₁ : x - y = 2\n⊢ x = 6",
        "⊢ 2 + 3 = 5",
        "x : ℕ\n⊢ ∃ (y : ℕ), y = x + 1",
        "a b : ℝ,\nh : 0 < a\n⊢ a * b ≤ a ^ 2 + b ^ 2",
        "p : Prop\n⊢ ¬¬p → p",
    ];
    for goals in states {
        for c in core().candidates(goals, 100) {
            let head = tactic_heads(&c.tactic);
            assert!(
                !head.iter().any(|h| MATHLIB_ONLY.contains(h)),
                "{} offered in core for {goals:?}",
                c.tactic
            );
            assert!(!c.tactic.contains("sq_nonneg"), "{}", c.tactic);
        }
    }
}

#[test]
fn mathlib_gets_arithmetic_tactics() {
    let goals = "x y : ℝ,\nh₀ : x + y = 10,\nh₁ : x - y = 2\n⊢ x = 6";
    let c = offered(&mathlib(), goals, 8);
    assert_eq!(c[0], "linarith", "{c:?}");
    let goals = "a b : ℝ\n⊢ (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2";
    assert!(rank(&mathlib(), goals, "ring") < 2);
    let goals = "a b : ℝ\n⊢ 2 * a * b ≤ a ^ 2 + b ^ 2";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(
            &"nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), sq_nonneg a, sq_nonneg b]"
                .to_owned()
        ),
        "{c:?}"
    );
    let goals = "x : ℝ,\nh : 0 < x\n⊢ 0 < x ^ 2 + x";
    assert!(offered(&mathlib(), goals, 8).contains(&"positivity".to_owned()));
}

#[test]
fn closed_arithmetic_is_decided() {
    let goals = "⊢ 3 * 4 = 12 ∧ 7 < 9";
    assert_eq!(offered(&mathlib(), goals, 1), ["norm_num"]);
    let c = offered(&core(), goals, 3);
    assert_eq!(c[0], "exact dec_trivial", "{c:?}");
    assert!(rank(&core(), "⊢ 17 % 5 = 2", "refl") < 3);
}

#[test]
fn intros_take_the_binder_names() {
    let goals = "α : Type,\np : α → Prop\n⊢ ∀ (x y : α), p x → p y";
    let c = offered(&core(), goals, 8);
    assert_eq!(c[0], "intros x y h");
    assert!(c.contains(&"intro x".to_owned()), "{c:?}");
    // A name already taken gets a fresh variant.
    let goals = "h : q\n⊢ ¬p";
    assert_eq!(offered(&core(), goals, 8)[0], "intro h'");
}

#[test]
fn hypotheses_are_taken_apart() {
    let goals = "α : Type,\np q : α → Prop,\nh : ∃ (x : α), p x ∧ q x\n⊢ ∃ (x : α), p x";
    assert!(rank(&core(), goals, "cases h with x hx") < 3);
    let goals = "p q : Prop,\nh : p ∧ q\n⊢ q ∧ p";
    assert!(rank(&core(), goals, "cases h with hl hr") < 4);
    let goals = "p q : Prop,\nh : p ∨ q\n⊢ q ∨ p";
    assert!(
        offered(&core(), goals, 8)
            .iter()
            .any(|t| t.starts_with("cases h with"))
    );
    let goals = "p q : Prop,\nh : p ∧ q\n⊢ q";
    assert_eq!(offered(&core(), goals, 1), ["exact h.2"]);
}

#[test]
fn false_from_a_negation() {
    let goals = "p : Prop,\nhp : p,\nhn : ¬p\n⊢ false";
    assert_eq!(offered(&core(), goals, 1), ["exact hn hp"]);
    let goals = "p q : Prop,\nhp : p,\nhn : ¬p\n⊢ q";
    assert_eq!(offered(&core(), goals, 1), ["exact absurd hp hn"]);
}

#[test]
fn disjunction_side_with_a_hypothesis_first() {
    let goals = "p q : Prop,\nhq : q\n⊢ p ∨ q";
    assert!(rank(&core(), goals, "right") < rank(&core(), goals, "left"));
}

#[test]
fn existential_witnesses() {
    let goals = "n : ℕ\n⊢ ∃ (k : ℕ), k = n + n";
    assert_eq!(offered(&core(), goals, 1), ["existsi n + n"]);
    assert_eq!(offered(&mathlib(), goals, 1), ["use n + n"]);
    let goals = "α : Type,\np : α → Prop,\na : α,\nh : ∀ (x : α), p x\n⊢ ∃ (x : α), p x";
    assert!(rank(&core(), goals, "existsi a") < 4);
    let goals = "x : ℕ,\nh₀ : x + 5 = 12\n⊢ ∃ (y : ℕ), y + 5 = 12";
    assert!(offered(&mathlib(), goals, 100).contains(&"use 12".to_owned()));
}

#[test]
fn equations_rewrite_and_substitute() {
    let goals = "x y : ℕ,\nh₀ : x = 3,\nh₁ : y = x + 2\n⊢ y = 5";
    let c = offered(&core(), goals, 8);
    assert!(c.contains(&"rw h₁".to_owned()), "{c:?}");
    let all = offered(&core(), goals, 100);
    assert!(all.contains(&"subst h₀".to_owned()), "{all:?}");
    assert!(all.contains(&"rw h₀ at h₁".to_owned()), "{all:?}");
    // `x = 3` has no `x` in the target: no `rw h₀` on the goal.
    assert!(!all.contains(&"rw h₀".to_owned()), "{all:?}");
}

#[test]
fn induction_on_naturals_and_lists_in_core() {
    let goals = "n : ℕ\n⊢ 0 + n = n";
    assert!(rank(&core(), goals, "induction n with n ih") < 3);
    let goals = "α : Type,\nl : list α\n⊢ l ++ list.nil = l";
    assert!(rank(&core(), goals, "induction l with a l ih") < 3);
    let goals = "n : ℕ,\nih : 0 + n = n\n⊢ 0 + n.succ = n.succ";
    let c = offered(&core(), goals, 4);
    assert!(
        c.iter()
            .any(|t| t.starts_with("simp [nat.add_succ") && t.contains("ih")),
        "{c:?}"
    );
}

#[test]
fn order_hypotheses_chain() {
    let goals = "a b c : ℕ,\nh₁ : a < b,\nh₂ : b ≤ c\n⊢ a < c";
    assert_eq!(offered(&core(), goals, 1), ["exact lt_of_lt_of_le h₁ h₂"]);
    let goals = "a b : ℕ,\nh₁ : a ≤ b,\nh₂ : b ≤ a\n⊢ a = b";
    assert_eq!(offered(&core(), goals, 1), ["exact le_antisymm h₁ h₂"]);
}

#[test]
fn missing_lemmas_are_not_offered() {
    // Everything but `sq_nonneg`.
    let without = HeuristicPolicy::new(TacticSet::from_predicate(|n| n != "sq_nonneg"));
    let goals = "a b : ℝ\n⊢ 2 * a * b ≤ a ^ 2 + b ^ 2";
    let c = offered(&without, goals, 100);
    assert!(!c.iter().any(|t| t.contains("sq_nonneg")), "{c:?}");
    assert!(c.contains(&"nlinarith".to_owned()));
    assert!(!available("nlinarith [sq_nonneg a]", without.tactics()));
    assert!(available("nlinarith [sq_nonneg a]", &TacticSet::all()));
    assert!(!available("field_simp [h.ne']", &TacticSet::core()));
}

#[test]
fn ranked_without_duplicates_and_scores_are_log_probabilities() {
    let states = [
        "x y : ℝ,\nh₀ : x + y = 10,\nh₁ : x - y = 2\n⊢ x = 6",
        "p q r : Prop\n⊢ (p → q) → (q → r) → p → r",
        "2 goals\nn : ℕ\n⊢ 0 + n = n\n\n⊢ true",
        "α : Type,\nl₁ l₂ : list α\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length",
    ];
    for policy in [core(), mathlib()] {
        for goals in states {
            let c = policy.candidates(goals, 100);
            assert!(c.len() >= 5, "{goals:?}: {:?}", tactics(&c));
            let unique: HashSet<&str> = c.iter().map(|c| c.tactic.as_str()).collect();
            assert_eq!(unique.len(), c.len(), "duplicates in {:?}", tactics(&c));
            for w in c.windows(2) {
                assert!(w[0].score >= w[1].score, "not sorted: {:?}", tactics(&c));
            }
            assert!(c.iter().all(|c| c.score <= 0.0 && c.logprob == c.score));
        }
    }
}

#[test]
fn at_most_k_and_a_prefix_of_the_full_ranking() {
    let goals = "x y : ℝ,\nh₀ : x + y = 10,\nh₁ : x - y = 2\n⊢ x = 6";
    let policy = mathlib();
    let all = policy.candidates(goals, 100);
    for k in [0, 1, 3, 8] {
        let some = policy.candidates(goals, k);
        assert_eq!(some.len(), k.min(all.len()));
        assert_eq!(some[..], all[..some.len()]);
    }
}

#[test]
fn only_the_first_goal_counts_and_no_goals_gives_nothing() {
    let two = "2 goals\np : Prop,\nhp : p\n⊢ p\n\nq : Prop\n⊢ q ∨ q";
    assert_eq!(offered(&core(), two, 1), ["exact hp"]);
    assert!(core().candidates("", 8).is_empty());
    assert!(core().candidates("no goals", 8).is_empty());
}

#[tokio::test]
async fn propose_answers_each_request_deterministically() {
    let task = Arc::new(ProofTask {
        name: "t".into(),
        statement: ": true".into(),
        context: Vec::new(),
    });
    let request = |goals: &str, k| PolicyRequest {
        task: task.clone(),
        goals: goals.to_owned(),
        k,
        skip: 0,
        path: Vec::new(),
    };
    let policy = mathlib();
    let batch = || {
        vec![
            request("x y : ℝ,\nh₀ : x < y\n⊢ x ≤ y", 8),
            request("", 8),
            request("⊢ 2 + 2 = 4", 2),
        ]
    };
    let first = policy.propose(batch()).await.unwrap();
    let second = policy.propose(batch()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].len(), 8);
    assert!(first[1].is_empty());
    assert_eq!(first[2].len(), 2);
}

#[test]
fn tactic_set_from_lean_answers() {
    let names = TacticSet::probe_names();
    assert!(names.contains(&"tactic.interactive.linarith"));
    assert!(names.contains(&"tactic.interactive.simp"));
    assert!(names.contains(&"sq_nonneg"));
    let flags: Vec<bool> = names
        .iter()
        .map(|n| *n == "tactic.interactive.simp" || *n == "sq_nonneg")
        .collect();
    let set = TacticSet::from_declared(&names, &flags);
    assert_eq!(set.names().collect::<Vec<_>>(), ["simp", "sq_nonneg"]);
    assert!(set.contains("simp") && !set.contains("linarith"));
    // Unknown or missing names count as absent.
    let set = TacticSet::from_declared(&["tactic.interactive.frobnicate"], &[true]);
    assert_eq!(set.names().count(), 0);
    assert!(TacticSet::core().contains("cc") && !TacticSet::core().contains("norm_num"));
    assert!(TacticSet::all().contains("norm_num"));
}

#[test]
fn every_generated_tactic_is_known_to_the_tactic_set() {
    // A tactic name the set does not track would be offered whatever Lean has.
    let states = [
        "x y : ℝ,\nh₀ : x + y = 10,\nh₁ : x / y = 2,\nh₂ : 0 < y\n⊢ x = 6",
        "p q r : Prop,\nh : p ∨ q,\nh' : ¬r\n⊢ (p → r) ↔ q",
        "n : ℕ,\nh₀ : n < 5,\nh₁ : n ≠ 0\n⊢ n * n % 7 = 1",
        "α : Type,\nl : list α,\nh : ∃ (x : α), x ∈ l\n⊢ l ≠ list.nil",
        "a b : ℕ,\nh : a + 1 = b + 1\n⊢ a = b",
        "p : Prop,\nh : ¬¬p\n⊢ p",
        "n : ℕ,\nh₀ : n % 8 = 7\n⊢ n % 4 = 3",
        "x y : ℝ,\nh₀ : |x + y| + |x - y| = 2\n⊢ -1 ≤ x ∧ x ≤ 1",
        "a b : ℝ,\nh : ∀ (x : ℝ), a * x + b = 3 * x + 1\n⊢ a = 3 ∧ b = 1",
        "⊢ (∑ (k : ℕ) in finset.Icc 1 9, 11 ^ k) % 100 = 59",
        "σ : ℝ ≃ ℝ,\nh : σ.inv_fun 0 = 3\n⊢ σ.to_fun 3 = 0",
        "a c : ℝ\n⊢ 2 * a * (2 + c) ≤ a ^ 2 + c ^ 2 + 4 * (1 + c)",
        "x : ℝ,\nh₀ : 0 < x,\nh₁ : 2 * x ^ 2 + 5 * x = 12\n⊢ x = 3 / 2",
        "n : ℕ,\nh₀ : n < 398,\nh₁ : n * 7 % 398 = 1\n⊢ n = 57",
        "a : ℤ\n⊢ a ^ 2 % 4 = 0 ∨ a ^ 2 % 4 = 1",
        "x : ℝ,\nh₀ : x ≠ -2,\nh₁ : 1 / (x + 2) = 1\n⊢ x = -1",
    ];
    for policy in [core(), mathlib()] {
        for goals in states {
            for c in policy.candidates(goals, 100) {
                for head in tactic_heads(&c.tactic) {
                    assert!(
                        TacticSet::tracks_tactic(head),
                        "{head:?} (in {:?}) is not a tracked tactic",
                        c.tactic
                    );
                }
            }
        }
    }
}

#[test]
fn function_definitions_rewrite_everywhere() {
    let goals = "a b : ℝ,\nf : ℝ → ℝ,\nh₀ : ∀ (x : ℝ), f x = a * x + b,\nh₁ : f 7 = 4,\nh₂ : f 6 = 3\n⊢ f 3 = 0";
    let c = offered(&mathlib(), goals, 8);
    assert!(c.contains(&"simp only [h₀] at *".to_owned()), "{c:?}");
    let all = offered(&mathlib(), goals, 100);
    assert!(all.contains(&"rw h₀".to_owned()), "{all:?}");
    assert!(all.contains(&"rw h₀ at h₁".to_owned()), "{all:?}");
    // An identity in `x` is instantiated instead.
    let goals = "a b : ℝ,\nh : ∀ (x : ℝ), x ^ 2 + a * x + b = (x - 1) * (x - 2)\n⊢ a = -3";
    let all = offered(&mathlib(), goals, 100);
    assert!(all.contains(&"have h' := h (0)".to_owned()), "{all:?}");
}

#[test]
fn remainders_go_through_the_mod_lemmas() {
    let goals = "n : ℕ,\nh₀ : n % 7 = 5\n⊢ 5 * n % 7 = 4";
    assert!(
        rank(
            &mathlib(),
            goals,
            "norm_num [nat.add_mod, nat.mul_mod, nat.pow_mod, h₀]"
        ) < 3
    );
    assert!(
        !offered(&core(), goals, 100)
            .iter()
            .any(|t| t.contains("nat.mul_mod"))
    );
}

#[test]
fn divisibility_of_a_power() {
    let goals = "n : ℕ,\nh₀ : n ≠ 0\n⊢ 2 ∣ 4 ^ n";
    assert!(offered(&mathlib(), goals, 8).contains(&"apply dvd_pow".to_owned()));
}

#[test]
fn big_numbers_are_not_left_to_the_kernel() {
    let goals = "⊢ 1999 ^ 2000 % 5 = 1";
    let all = offered(&mathlib(), goals, 100);
    assert!(all.contains(&"norm_num".to_owned()));
    assert!(!all.contains(&"exact dec_trivial".to_owned()), "{all:?}");
    assert!(!all.contains(&"refl".to_owned()), "{all:?}");
    // Nor a sum over a hundred numbers.
    let all = offered(
        &mathlib(),
        "⊢ (∑ (k : ℕ) in finset.Icc 1 100, (2 * k - 1)) % 7 = 4",
        100,
    );
    assert!(!all.contains(&"exact dec_trivial".to_owned()), "{all:?}");
    assert!(
        offered(&mathlib(), "⊢ ∑ (k : ℕ) in finset.range 5, k = 10", 100)
            .contains(&"exact dec_trivial".to_owned())
    );
    let all = offered(&core(), "⊢ 2 ^ 100 % 7 = 2", 100);
    assert!(!all.contains(&"exact dec_trivial".to_owned()), "{all:?}");
    assert!(offered(&core(), "⊢ 2 ^ 10 % 7 = 2", 100).contains(&"exact dec_trivial".to_owned()));
}

#[test]
fn denominators_known_to_be_nonzero_are_cleared() {
    let goals = "x : ℝ,\nh₀ : x ≠ 3,\nh₁ : (x + 5) / (x - 3) = 2\n⊢ x = 11";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(&"field_simp [sub_ne_zero.mpr h₀] at h₁".to_owned()),
        "{c:?}"
    );
    let goals = "x : ℝ,\nh₀ : 0 < x,\nh₁ : 3 + 1 / x = 7 / x\n⊢ x = 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(&"field_simp [h₀.ne'] at h₁".to_owned()),
        "{all:?}"
    );
    // `x ≠ -2` is about the denominator `x + 2`.
    let goals =
        "x : ℝ,\nh₀ : x ≠ 1,\nh₁ : x ≠ -2,\nh₂ : (x + 1) / (x - 1) = (x - 2) / (x + 2)\n⊢ x = 0";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"field_simp [sub_ne_zero.mpr h₀, (show x + 2 ≠ 0, by { intro h', apply h₁, linarith })] at h₂"
                .to_owned()
        ),
        "{all:?}"
    );
}

#[test]
fn square_hints_complete_squares() {
    let goals = "a b : ℝ\n⊢ 4 * b * (a + 1) ≤ 4 * b ^ 2 + (a + 1) ^ 2";
    let c = offered(&mathlib(), goals, 8);
    // The completed square (`completed_squares_…` below) and the scaled variable's hints.
    let hinted = c
        .iter()
        .find(|t| t.starts_with("nlinarith [") && !t.contains(" : ℝ)"))
        .expect("a hinted nlinarith");
    assert!(hinted.contains("sq_nonneg (2 * b - (a + 1))"), "{hinted}");
    assert!(hinted.matches("sq_nonneg").count() <= 4, "{hinted}");
}

#[test]
fn finite_sums_by_induction() {
    let goals = "n : ℕ\n⊢ ∑ (k : ℕ) in finset.range n, (2 * k + 1) = n ^ 2";
    assert!(offered(&mathlib(), goals, 8).contains(&"induction n with n ih".to_owned()));
    let goals = "n : ℕ,\nih : ∑ (k : ℕ) in finset.range n, (2 * k + 1) = n ^ 2\n⊢ ∑ (k : ℕ) in finset.range n.succ, (2 * k + 1) = n.succ ^ 2";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(&"rw [finset.sum_range_succ, ih]".to_owned()),
        "{c:?}"
    );
}

#[test]
fn removing_a_candidate_keeps_deduplication() {
    let mut c = crate::framework::candidates::Candidates::default();
    c.add("a", -1.0);
    c.add("b", -0.5);
    c.add("c", -2.0);
    c.remove("a");
    c.remove("missing");
    c.add("c", -0.1);
    c.add("a", -3.0);
    let ranked = c.ranked();
    assert_eq!(
        ranked,
        [
            ("c".to_owned(), -0.1),
            ("b".to_owned(), -0.5),
            ("a".to_owned(), -3.0)
        ]
    );
}

#[test]
fn a_remainder_follows_from_a_remainder_by_a_multiple() {
    let goals = "n : ℕ,\nh₀ : n % 8 = 7\n⊢ n % 4 = 3";
    assert_eq!(
        rank(
            &mathlib(),
            goals,
            "rw [← nat.mod_mod_of_dvd (n) (show (4 : ℕ) ∣ 8, by norm_num), h₀]; norm_num"
        ),
        0
    );
    // The term before `%` is kept whole, in brackets; on ℤ, `int.mod_mod_of_dvd`.
    let goals = "a : ℤ,\nh : (a + 1) * 2 % 12 = 5\n⊢ (a + 1) * 2 % 3 = 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"rw [← int.mod_mod_of_dvd ((a + 1) * 2) (show (3 : ℤ) ∣ 12, by norm_num), h]; norm_num"
                .to_owned()
        ),
        "{all:?}"
    );
    // 5 does not divide 8; another number; not in core.
    for goals in [
        "n : ℕ,\nh₀ : n % 8 = 7\n⊢ n % 5 = 3",
        "n m : ℕ,\nh₀ : m % 8 = 7\n⊢ n % 4 = 3",
    ] {
        let all = offered(&mathlib(), goals, 100);
        assert!(!all.iter().any(|t| t.contains("mod_mod_of_dvd")), "{all:?}");
    }
    let all = offered(&core(), "n : ℕ,\nh₀ : n % 8 = 7\n⊢ n % 4 = 3", 100);
    assert!(!all.iter().any(|t| t.contains("mod_mod_of_dvd")), "{all:?}");
}

#[test]
fn absolute_values_split_and_close_in_one_step() {
    let goals = "x p : ℝ,\nh₀ : x < 2,\nh₁ : |x - 2| = p\n⊢ x - p = 2 - 2 * p";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(&"rcases abs_cases (x - 2) with ⟨h, h'⟩ | ⟨h, h'⟩; linarith".to_owned()),
        "{c:?}"
    );
    // A conjunction is split in every case; two absolute values are split in turn.
    let goals = "a : ℝ,\nh₀ : 1 / 5 * |9 + 2 * a| < 1\n⊢ -7 < a ∧ a < -2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"rcases abs_cases (9 + 2 * a) with ⟨h, h'⟩ | ⟨h, h'⟩; split; linarith".to_owned()
        ),
        "{all:?}"
    );
    let goals = "x y : ℝ,\nh₀ : |x + y| + |x - y| = 2\n⊢ x ≤ 1";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"rcases abs_cases (x + y) with ⟨h, h'⟩ | ⟨h, h'⟩; \
              rcases abs_cases (x - y) with ⟨h₁, h₂⟩ | ⟨h₁, h₂⟩; linarith"
                .to_owned()
        ),
        "{all:?}"
    );
}

#[test]
fn identities_are_instantiated_for_linarith() {
    let goals = "a b c : ℝ,\nh₁ : ∀ (x : ℝ), 24 * x ^ 2 - 19 * x - 35 = (a * x - 5) * (2 * (b * x) + c)\n⊢ a * b - 3 * c = -9";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(&"linarith [h₁ 0, h₁ 1, h₁ (-1), h₁ 2, h₁ (-2)]".to_owned()),
        "{c:?}"
    );
    // Natural numbers have no -1; a conjunction is split first.
    let goals = "a b : ℕ,\nh : ∀ (n : ℕ), a * n + b = 3 * n + 1\n⊢ a = 3 ∧ b = 1";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(&"split; linarith [h 0, h 1, h 2]".to_owned()),
        "{all:?}"
    );
    assert!(
        !offered(&core(), goals, 100)
            .iter()
            .any(|t| t.contains("linarith"))
    );
}

#[test]
fn sums_over_a_numeral_interval_are_peeled() {
    let goals = "⊢ (∑ (k : ℕ) in finset.Icc 1 9, 11 ^ k) % 100 = 59";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(
            &"rw (show finset.Icc 1 9 = finset.Ico 1 10, from rfl); \
              norm_num [finset.sum_Ico_succ_top, finset.prod_Ico_succ_top]"
                .to_owned()
        ),
        "{c:?}"
    );
    // Not for a variable bound, nor for a thousand terms.
    for goals in [
        "n : ℕ\n⊢ ∑ (k : ℕ) in finset.Icc 1 n, k = n * (n + 1) / 2",
        "⊢ ∑ (k : ℕ) in finset.Icc 1 1000, k = 500500",
    ] {
        let all = offered(&mathlib(), goals, 100);
        assert!(!all.iter().any(|t| t.contains("finset.Ico")), "{all:?}");
    }
}

#[test]
fn equivalences_are_read_through_their_coercions() {
    let goals = "σ : ℝ ≃ ℝ,\nh₀ : ∀ (x : ℝ), σ.to_fun x = 4 * x ^ 3 + 1\n⊢ σ.inv_fun 33 = 2";
    let c = offered(&mathlib(), goals, 8);
    assert!(
        c.contains(&"simp only [equiv.inv_fun_as_coe, equiv.to_fun_as_coe] at *".to_owned()),
        "{c:?}"
    );
    let goals = "σ : ℝ ≃ ℝ,\nh₀ : ∀ (x : ℝ), ⇑σ x = 4 * x ^ 3 + 1\n⊢ ⇑(σ.symm) 33 = 2";
    let c = offered(&mathlib(), goals, 8);
    assert!(c.contains(&"rw equiv.symm_apply_eq".to_owned()), "{c:?}");
    let goals = "x : ℝ,\nσ : ℝ ≃ ℝ,\nh₁ : ⇑σ (x + 1) = ⇑(σ.symm) x\n⊢ x = 47 / 24";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(&"rw equiv.eq_symm_apply at h₁".to_owned()),
        "{all:?}"
    );
    assert!(
        !offered(&mathlib(), "x : ℝ,\nh₀ : x = 1\n⊢ x = 1", 100)
            .iter()
            .any(|t| t.contains("equiv")),
    );
}

#[test]
fn completed_squares_are_offered_first_for_semidefinite_quadratics() {
    // (a - c - 2)² is the whole difference: the certificate goes first.
    let goals = "a c : ℝ\n⊢ 2 * a * (2 + c) ≤ a ^ 2 + c ^ 2 + 4 * (1 + c)";
    assert_eq!(
        offered(&mathlib(), goals, 1),
        ["nlinarith [sq_nonneg (a - c - 2 : ℝ)]"]
    );
    // 28a² - 10a + 1 = 28 (a - 5/28)² + 3/28, in ℤ too.
    let goals = "a : ℤ\n⊢ 10 * a ≤ 28 * a ^ 2 + 1";
    assert_eq!(
        offered(&mathlib(), goals, 1),
        ["nlinarith [sq_nonneg (28 * a - 5 : ℤ)]"]
    );
    // A variable defined by a hypothesis is replaced: y = (x - 3)² + 4.
    let goals = "x y : ℝ,\nh₀ : y = x ^ 2 - 6 * x + 13\n⊢ 4 ≤ y";
    assert_eq!(
        offered(&mathlib(), goals, 1),
        ["nlinarith [sq_nonneg (x - 3 : ℝ)]"]
    );
    // Without mathlib there is no `nlinarith`.
    let goals = "a c : ℝ\n⊢ 2 * a * (2 + c) ≤ a ^ 2 + c ^ 2 + 4 * (1 + c)";
    assert!(
        !offered(&core(), goals, 100)
            .iter()
            .any(|t| t.contains("sq_nonneg"))
    );
}

#[test]
fn completed_squares_use_one_hypothesis_with_a_multiplier() {
    // 1 - ab + (a² + b² - 2) / 2 = (a - b)² / 2.
    let goals = "a b : ℝ,\nh₀ : a ^ 2 + b ^ 2 = 2\n⊢ a * b ≤ 1";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(&"nlinarith [sq_nonneg (a - b : ℝ)]".to_owned()),
        "{all:?}"
    );
}

#[test]
fn no_squares_for_indefinite_or_unread_goals() {
    for goals in [
        // x² - y² takes both signs.
        "x y : ℝ\n⊢ y ^ 2 ≤ x ^ 2",
        // Not a polynomial.
        "x : ℝ\n⊢ |x| ≤ x ^ 2 + 1",
        // Cubic.
        "x : ℝ\n⊢ 0 ≤ x ^ 3 + x ^ 2",
        // ℕ subtraction is not the ring's.
        "n : ℕ\n⊢ 2 * n ≤ n ^ 2 + 1",
        // ℤ division rounds.
        "n : ℤ\n⊢ n ≤ n ^ 2 / 2 + 1",
    ] {
        let all = offered(&mathlib(), goals, 100);
        assert!(
            !all.iter()
                .any(|t| t.contains(" : ℝ)") || t.contains(" : ℕ)")),
            "{goals}: {all:?}"
        );
    }
}

#[test]
fn a_root_of_a_polynomial_hypothesis_factors_it() {
    // 2x² + 5x - 12 = (x + 4)(2x - 3), and 0 < x rules out -4.
    let goals = "x : ℝ,\nh₀ : 0 < x,\nh₁ : 2 * x ^ 2 + 5 * x = 12\n⊢ x = 3 / 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"rcases mul_eq_zero.mp (show (2 * x - 3) * (x + 4) = 0, by linarith) with h | h; linarith"
                .to_owned()
        ),
        "{all:?}"
    );
    // Not a root: nothing to factor.
    let goals = "x : ℝ,\nh₀ : 0 < x,\nh₁ : 2 * x ^ 2 + 5 * x = 12\n⊢ x = 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        !all.iter().any(|t| t.contains("mul_eq_zero.mp (show")),
        "{all:?}"
    );
    // Two variables in the equation: not this rule's.
    let goals = "x y : ℝ,\nh₁ : x ^ 2 + y = 4\n⊢ x = 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        !all.iter().any(|t| t.contains("mul_eq_zero.mp (show")),
        "{all:?}"
    );
}

#[test]
fn a_modular_inverse_solves_a_linear_congruence() {
    // 7 · 57 = 399 = 1 + 398: n = n · 7 · 57 mod 398 = 57.
    let goals = "n : ℕ,\nh₀ : n < 398,\nh₁ : n * 7 % 398 = 1\n⊢ n = 57";
    let first = offered(&mathlib(), goals, 1);
    assert_eq!(
        first,
        [
            "{ have key : n * 7 * 57 % 398 = n % 398, { rw (show n * 7 * 57 = n + 398 * (1 * n), by ring), simp }, rw [nat.mul_mod, h₁, nat.mod_eq_of_lt h₀] at key, norm_num at key, linarith }"
        ]
    );
    // The remainder itself needs no bound.
    let goals = "n : ℕ,\nh₁ : 3 * n % 11 = 2\n⊢ n % 11 = 8";
    let first = offered(&mathlib(), goals, 1);
    assert!(first[0].contains("3 * n * 4 % 11 = n % 11"), "{first:?}");
    // Not the solution, no inverse (gcd 2), or no bound: nothing.
    for goals in [
        "n : ℕ,\nh₀ : n < 398,\nh₁ : n * 7 % 398 = 1\n⊢ n = 58",
        "n : ℕ,\nh₀ : n < 10,\nh₁ : 2 * n % 10 = 4\n⊢ n = 2",
        "n : ℕ,\nh₁ : n * 7 % 398 = 1\n⊢ n = 57",
    ] {
        let all = offered(&mathlib(), goals, 100);
        assert!(
            !all.iter().any(|t| t.contains("have key")),
            "{goals}: {all:?}"
        );
    }
}

#[test]
fn remainders_of_a_polynomial_split_on_the_residue() {
    let goals = "a : ℤ\n⊢ a ^ 2 % 4 = 0 ∨ a ^ 2 % 4 = 1";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"{ have hlo := int.mod_nonneg a (by norm_num : (4 : ℤ) ≠ 0), have hhi := int.mod_lt_of_pos a (by norm_num : (0 : ℤ) < 4), interval_cases (a % 4) with h; norm_num [pow_succ, int.add_mod, int.sub_mod, int.mul_mod, h] }"
                .to_owned()
        ),
        "{all:?}"
    );
    let goals = "n : ℕ\n⊢ (n ^ 3 + 2 * n) % 3 = 0";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.iter().any(|t| t.contains("interval_cases (n % 3)")),
        "{all:?}"
    );
    // Divisibility by a small numeral is a remainder of 0.
    let goals = "n : ℕ\n⊢ 3 ∣ n ^ 3 + 2 * n";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.iter()
            .any(|t| t.starts_with("{ rw nat.dvd_iff_mod_eq_zero, have hhi := nat.mod_lt n")),
        "{all:?}"
    );
    // A large modulus, two moduli, two variables, or something that is no polynomial: none.
    for goals in [
        "n : ℕ\n⊢ n ^ 2 % 17 ≠ 3",
        "n : ℕ\n⊢ n ^ 2 % 4 = n % 3",
        "m n : ℕ\n⊢ (m * n) % 3 = 0",
        "n : ℕ\n⊢ (∑ i in finset.range n, i) % 3 = 0",
        // An exponent that is not a numeral, a subtraction on ℕ, a divisor that is no numeral.
        "n : ℕ\n⊢ 3 ∣ 2 ^ (2 * n + 1) + 1",
        "n : ℕ\n⊢ (n ^ 2 - n) % 2 = 0",
        "n : ℕ\n⊢ n ∣ n ^ 2 % 3",
    ] {
        let all = offered(&mathlib(), goals, 100);
        assert!(
            !all.iter().any(|t| t.contains("interval_cases (")),
            "{goals}: {all:?}"
        );
    }
}

#[test]
fn a_factor_known_not_to_vanish_is_cancelled() {
    // (x² + 2) y = (y² + 2) x is (x - y)(xy - 2) = 0, and x ≠ y.
    let goals = "x y : ℝ,\nh₀ : x ≠ 0,\nh₁ : y ≠ 0,\nh₂ : x ≠ y,\nh₃ : (x * x + 2) * y = (y * y + 2) * x\n⊢ x * y = 2";
    assert_eq!(
        offered(&mathlib(), goals, 1),
        [
            "rcases mul_eq_zero.mp (show (x - y) * (x * y - (2)) = 0, by linarith) with h | h; [exact absurd (sub_eq_zero.mp h) h₂, linarith]"
        ]
    );
    // A positive factor: a (a + b - 3) = 0 and 0 < a.
    let goals = "a b : ℝ,\nh₀ : 0 < a,\nh₁ : a ^ 2 + a * b = 3 * a\n⊢ a + b = 3";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        all.contains(
            &"rcases mul_eq_zero.mp (show (a) * (a + b - (3)) = 0, by linarith) with h | h; [linarith, linarith]"
                .to_owned()
        ),
        "{all:?}"
    );
    // The equation is not a multiple of the product: nothing.
    let goals = "x y : ℝ,\nh₂ : x ≠ y,\nh₃ : x * y + x = y * y + y + 1\n⊢ x * y = 2";
    let all = offered(&mathlib(), goals, 100);
    assert!(
        !all.iter().any(|t| t.contains("mul_eq_zero.mp (show")),
        "{all:?}"
    );
}
