//! Candidate tactics for one goal, each with a prior score.
//!
//! Scores are log-probability-like (`<= 0`, higher is better): the search ranks a path by the
//! sum of its tactics' scores, so a near-certain step costs about nothing and a long shot
//! costs as much as several ordinary steps. The constants below name the levels used.

use std::collections::HashMap;

use super::state::{Goal, Hyp};
use super::tactics::TacticSet;
use super::term::{Binder, Shape, Term, normalize, same_term, shape, strip_parens};
use super::{arith, lemmas};

/// Closes the goal for sure when it applies (a hypothesis that is the target).
pub(super) const CERTAIN: f64 = -0.01;
/// The obvious move for this shape of goal.
pub(super) const OBVIOUS: f64 = -0.1;
pub(super) const LIKELY: f64 = -0.3;
pub(super) const PLAUSIBLE: f64 = -0.6;
pub(super) const POSSIBLE: f64 = -1.0;
pub(super) const UNLIKELY: f64 = -1.5;
pub(super) const LONG_SHOT: f64 = -2.2;

/// The number domain a goal is about, from the types of the variables in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    Nat,
    Int,
    Rat,
    Real,
    Complex,
    /// No numbers, or a type we know nothing about.
    Other,
}

impl Domain {
    pub(super) fn of_type(ty: &str) -> Domain {
        match ty {
            "ℕ" | "nat" => Domain::Nat,
            "ℤ" | "int" => Domain::Int,
            "ℚ" | "rat" => Domain::Rat,
            "ℝ" | "real" => Domain::Real,
            "ℂ" | "complex" => Domain::Complex,
            _ => Domain::Other,
        }
    }

    pub(super) fn is_numeric(self) -> bool {
        self != Domain::Other
    }

    /// Ordered fields and rings where `linarith` works well.
    fn is_ordered(self) -> bool {
        matches!(self, Domain::Nat | Domain::Int | Domain::Rat | Domain::Real)
    }

    /// Rings with negation, where `sq_nonneg (a - b)` makes sense.
    fn is_ordered_ring(self) -> bool {
        matches!(self, Domain::Int | Domain::Rat | Domain::Real)
    }
}

/// Types that are types of data, not propositions.
const KNOWN_TYPES: &[&str] = &[
    "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "nat", "int", "rat", "real", "complex", "bool", "Prop", "Type",
    "Type*", "Sort*", "char", "string", "ℕ+", "pnat",
];

/// Type constructors: `list α`, `finset ℕ`, …
const TYPE_CONSTRUCTORS: &[&str] = &[
    "list",
    "finset",
    "set",
    "multiset",
    "option",
    "fin",
    "zmod",
    "polynomial",
    "matrix",
    "array",
    "vector",
];

/// Collects candidates, keeping the best score of each tactic text.
#[derive(Default)]
pub struct Candidates {
    list: Vec<(String, f64)>,
    index: HashMap<String, usize>,
}

impl Candidates {
    pub fn add(&mut self, tactic: impl Into<String>, score: f64) {
        let tactic = tactic.into();
        match self.index.get(&tactic) {
            Some(&i) => {
                if score > self.list[i].1 {
                    self.list[i].1 = score;
                }
            }
            None => {
                self.index.insert(tactic.clone(), self.list.len());
                self.list.push((tactic, score));
            }
        }
    }

    /// Drops a candidate.
    pub fn remove(&mut self, tactic: &str) {
        if let Some(i) = self.index.remove(tactic) {
            self.list.remove(i);
            for v in self.index.values_mut() {
                if *v > i {
                    *v -= 1;
                }
            }
        }
    }

    /// The candidates, best first; ties keep the order they were added in.
    pub fn ranked(mut self) -> Vec<(String, f64)> {
        self.list.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.list
    }
}

/// What the generator knows about one hypothesis.
pub(super) struct HypInfo<'a> {
    pub(super) hyp: &'a Hyp,
    pub(super) shape: Shape,
    /// A proof of a proposition (as opposed to a variable, type, or instance).
    pub(super) is_prop: bool,
}

/// Everything about the goal that the rules look at.
pub(super) struct Ctx<'a> {
    pub(super) goal: &'a Goal,
    tactics: &'a TacticSet,
    pub(super) hyps: Vec<HypInfo<'a>>,
    pub(super) target: Shape,
    /// Local names in the target.
    target_vars: Vec<String>,
    pub(super) domain: Domain,
    /// Whether mathlib's arithmetic tactics are there.
    pub(super) mathlib: bool,
    /// Names handed out by this generator, so two fresh names in one tactic differ.
    taken: std::cell::RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    fn new(goal: &'a Goal, tactics: &'a TacticSet) -> Self {
        // Type variables (`α : Type`), not proposition variables (`p : Prop`), whose
        // inhabitants are proofs.
        let type_vars: Vec<&str> = goal
            .hyps
            .iter()
            .filter(|h| is_sort(&h.ty) && h.ty.trim() != "Prop")
            .map(|h| h.name.as_str())
            .collect();
        let hyps: Vec<HypInfo> = goal
            .hyps
            .iter()
            .map(|h| HypInfo {
                hyp: h,
                shape: shape(&h.ty),
                is_prop: !h.name.starts_with("_inst") && !is_type(&h.ty, &type_vars),
            })
            .collect();
        let target_term = Term::new(&goal.target);
        let target_vars: Vec<String> = target_term
            .identifiers()
            .into_iter()
            .filter(|n| goal.has_name(n))
            .map(str::to_owned)
            .collect();
        let domain = domain_of(goal, &target_vars);
        Ctx {
            goal,
            tactics,
            hyps,
            target: shape(&goal.target),
            target_vars,
            domain,
            mathlib: tactics.contains("linarith") && tactics.contains("norm_num"),
            taken: Default::default(),
        }
    }

    /// Hypotheses that are proofs and can be named.
    pub(super) fn facts(&self) -> impl Iterator<Item = &HypInfo<'a>> {
        self.hyps.iter().filter(|h| h.is_prop && h.hyp.accessible())
    }

    /// Variables (non-proof hypotheses) of a given type.
    fn vars_of_type(&self, ty: &str) -> Vec<&'a str> {
        self.goal
            .hyps
            .iter()
            .filter(|h| h.accessible() && normalize(&h.ty) == normalize(ty))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// A name not used by any hypothesis or earlier fresh name, based on `base`.
    pub(super) fn fresh(&self, base: &str) -> String {
        let mut taken = self.taken.borrow_mut();
        let candidates = std::iter::once(base.to_owned())
            .chain(["'", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"].map(|s| format!("{base}{s}")))
            .chain((10..100).map(|i| format!("{base}_{i}")));
        for name in candidates {
            if !self.goal.has_name(&name) && !taken.contains(&name) {
                taken.push(name.clone());
                return name;
            }
        }
        base.to_owned()
    }

    /// Forget the fresh names handed out (each candidate is a separate tactic).
    pub(super) fn reset_fresh(&self) {
        self.taken.borrow_mut().clear();
    }

    /// A hypothesis whose type is `ty` (up to spacing and outer parentheses).
    fn fact_matching(&self, ty: &str) -> Option<&'a Hyp> {
        self.facts()
            .find(|h| same_term(&h.hyp.ty, ty))
            .map(|h| h.hyp)
    }

    pub(super) fn target_closed(&self) -> bool {
        self.target_vars.is_empty()
    }
}

/// `Type`, `Sort u`, `Prop`: the hypothesis is a type variable.
fn is_sort(ty: &str) -> bool {
    let t = ty.trim();
    t == "Type" || t == "Prop" || t.starts_with("Type ") || t.starts_with("Sort") || t == "Type*"
}

/// Whether `ty` is a type of data (so a hypothesis of that type is a variable, not a proof).
fn is_type(ty: &str, type_vars: &[&str]) -> bool {
    let t = strip_parens(ty);
    if KNOWN_TYPES.contains(&t) || type_vars.contains(&t) || is_sort(t) {
        return true;
    }
    // `list α`, `finset ℕ`: an application of a type constructor or a type variable.
    let head = Term::new(t).head().unwrap_or("");
    if type_vars.contains(&head) && !matches!(shape(t), Shape::Imp(..)) {
        return true;
    }
    match shape(t) {
        // `α → β`, `ℕ → Prop`: functions and predicates.
        Shape::Imp(a, b) => {
            is_type(&a, type_vars) && (is_type(&b, type_vars) || b.trim() == "Prop")
        }
        Shape::Other => {
            let term = Term::new(t);
            let head = term.head().unwrap_or("");
            TYPE_CONSTRUCTORS.contains(&head)
                || term.has_symbol("×")
                || (term.tokens.len() == 1 && head.chars().next().is_some_and(char::is_uppercase))
        }
        _ => false,
    }
}

/// The domain of the goal: the type of the first numeric variable in the target, else of any
/// numeric variable, else of a type ascription in the target (`(2 : ℝ)`), else ℕ when the
/// target has numerals.
fn domain_of(goal: &Goal, target_vars: &[String]) -> Domain {
    let of_var = |name: &str| goal.hyp(name).map(|h| Domain::of_type(h.ty.trim()));
    for v in target_vars {
        if let Some(d) = of_var(v).filter(|d| d.is_numeric()) {
            return d;
        }
    }
    for (ty, d) in [
        (": ℝ", Domain::Real),
        (": ℚ", Domain::Rat),
        (": ℤ", Domain::Int),
    ] {
        if goal.target.contains(ty) {
            return d;
        }
    }
    let term = Term::new(&goal.target);
    if !term.numerals().is_empty() && target_vars.is_empty() {
        return Domain::Nat;
    }
    goal.hyps
        .iter()
        .map(|h| Domain::of_type(h.ty.trim()))
        .find(|d| d.is_numeric())
        .unwrap_or(Domain::Other)
}

/// Relations whose sides are numbers.
fn is_arith_rel(op: &str) -> bool {
    matches!(op, "=" | "≠" | "<" | "≤" | ">" | "≥" | "∣")
}

fn is_order_rel(op: &str) -> bool {
    matches!(op, "<" | "≤" | ">" | "≥")
}

/// A decidable-looking closed proposition: relations and connectives over numerals.
fn is_arith_prop(text: &str) -> bool {
    match shape(text) {
        Shape::Rel(op, _, _) => is_arith_rel(&op) || op == "≡",
        Shape::And(a, b) | Shape::Or(a, b) | Shape::Iff(a, b) | Shape::Imp(a, b) => {
            is_arith_prop(&a) && is_arith_prop(&b)
        }
        Shape::Not(a) => is_arith_prop(&a),
        Shape::True | Shape::False => true,
        _ => false,
    }
}

/// Propositional structure only (connectives over atoms): `tauto` territory.
fn is_propositional(text: &str) -> bool {
    matches!(
        shape(text),
        Shape::Iff(..) | Shape::Imp(..) | Shape::Or(..) | Shape::And(..) | Shape::Not(..)
    )
}

/// Whether `name` occurs as a whole token in `text`.
fn mentions(text: &str, name: &str) -> bool {
    Term::new(text).token_texts().any(|t| t == name)
}

/// Whether `sub` occurs in `text` as a sequence of whole tokens.
fn contains_term(text: &str, sub: &str) -> bool {
    let hay: Vec<&str> = Term::new(text).token_texts().collect();
    let needle: Vec<&str> = Term::new(strip_parens(sub)).token_texts().collect();
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// The conclusion of a chain of `∀`s and `→`s, and the number of premises on the way.
fn conclusion(ty: &str) -> (String, usize) {
    let mut t = ty.to_owned();
    let mut premises = 0;
    loop {
        match shape(&t) {
            Shape::Forall(b, body) => {
                premises += b.len();
                t = body;
            }
            Shape::Imp(_, b) => {
                premises += 1;
                t = b;
            }
            _ => return (t, premises),
        }
    }
}

/// Whether a hypothesis's conclusion could unify with the target: same relation, or the same
/// head of an application, or the same text.
fn could_conclude(concl: &str, target: &str) -> bool {
    if same_term(concl, target) {
        return true;
    }
    match (shape(concl), shape(target)) {
        (Shape::Rel(a, _, _), Shape::Rel(b, _, _)) => a == b,
        (Shape::Other, Shape::Other) => {
            let (c, t) = (Term::new(concl), Term::new(target));
            c.head().is_some() && c.head() == t.head()
        }
        (Shape::False, Shape::False) => true,
        _ => false,
    }
}

/// A literal constructor mismatch (`n + 1 = 0`, `a :: l = list.nil`): `cases` closes it.
fn constructor_mismatch(lhs: &str, rhs: &str) -> bool {
    let succ = |s: &str| {
        let s = strip_parens(s);
        s.ends_with("+ 1") || s.ends_with(".succ") || s.starts_with("nat.succ")
    };
    let zero = |s: &str| strip_parens(s) == "0";
    let cons = |s: &str| Term::new(strip_parens(s)).has_symbol("::") && !s.contains("++");
    let nil = |s: &str| matches!(strip_parens(s), "list.nil" | "[]");
    (succ(lhs) && zero(rhs))
        || (zero(lhs) && succ(rhs))
        || (cons(lhs) && nil(rhs))
        || (nil(lhs) && cons(rhs))
}

/// Candidates for the first goal of a state with `num_goals` goals.
pub fn candidates(goal: &Goal, tactics: &TacticSet) -> Candidates {
    let ctx = Ctx::new(goal, tactics);
    let mut out = Candidates::default();
    exact_matches(&ctx, &mut out);
    by_target(&ctx, &mut out);
    by_hypotheses(&ctx, &mut out);
    by_equation_schemes(&ctx, &mut out);
    by_variables(&ctx, &mut out);
    lemmas::order_steps(&ctx, &mut out);
    lemmas::core_arith_steps(&ctx, &mut out);
    arith::steps(&ctx, &mut out);
    general(&ctx, &mut out);
    if has_big_numbers(&goal.target) {
        // The kernel would evaluate these by unary recursion: a wall-clock timeout (and a
        // restarted Lean worker) rather than a quick failure.
        for slow in ["exact dec_trivial", "refl", "decide"] {
            out.remove(slow);
        }
    }
    out
}

/// Numerals of four digits or more, or exponents of 50 and more.
fn has_big_numbers(text: &str) -> bool {
    let tokens: Vec<&str> = Term::new(text).token_texts().collect();
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    tokens.iter().any(|t| digits(t) && t.len() >= 4)
        || tokens
            .windows(2)
            .any(|w| w[0] == "^" && digits(w[1]) && w[1].parse::<u32>().is_ok_and(|v| v >= 50))
}

/// Hypotheses that are the target, or give it at once.
fn exact_matches(ctx: &Ctx, out: &mut Candidates) {
    let target = &ctx.goal.target;
    let mut matched = false;
    for h in ctx.hyps.iter().filter(|h| h.is_prop) {
        if same_term(&h.hyp.ty, target) {
            matched = true;
            if h.hyp.accessible() {
                out.add(format!("exact {}", h.hyp.name), CERTAIN);
            } else {
                out.add("assumption", CERTAIN);
            }
        }
    }
    for h in ctx.facts() {
        let name = &h.hyp.name;
        match &h.shape {
            Shape::And(a, b) => {
                for (path, part) in conjunct_paths(a, b) {
                    if same_term(&part, target) {
                        matched = true;
                        out.add(format!("exact {name}{path}"), CERTAIN);
                    }
                }
            }
            Shape::Iff(a, b) => {
                if let Some(g) = ctx.fact_matching(a).filter(|_| same_term(b, target)) {
                    out.add(format!("exact {name}.1 {}", g.name), CERTAIN);
                }
                if let Some(g) = ctx.fact_matching(b).filter(|_| same_term(a, target)) {
                    out.add(format!("exact {name}.2 {}", g.name), CERTAIN);
                }
                if same_term(b, target) {
                    out.add(format!("apply {name}.1"), LIKELY);
                }
                if same_term(a, target) {
                    out.add(format!("apply {name}.2"), LIKELY);
                }
            }
            Shape::Not(a) => {
                if let Some(g) = ctx.fact_matching(a) {
                    matched = true;
                    if ctx.target == Shape::False {
                        out.add(format!("exact {name} {}", g.name), CERTAIN);
                    } else {
                        out.add(format!("exact absurd {} {name}", g.name), CERTAIN);
                    }
                } else if ctx.target == Shape::False {
                    out.add(format!("apply {name}"), OBVIOUS);
                }
            }
            Shape::Imp(a, b) if same_term(b, target) => {
                if let Some(g) = ctx.fact_matching(a) {
                    matched = true;
                    out.add(format!("exact {name} {}", g.name), CERTAIN);
                } else {
                    out.add(format!("apply {name}"), OBVIOUS);
                }
            }
            Shape::False => {
                matched = true;
                out.add(format!("cases {name}"), CERTAIN);
            }
            _ => {}
        }
        // `∀ x, … → c` whose conclusion looks like the target.
        let (concl, premises) = conclusion(&h.hyp.ty);
        if premises > 0 && could_conclude(&concl, target) {
            let score = if same_term(&concl, target) {
                OBVIOUS
            } else if matches!(shape(&concl), Shape::Rel(..)) {
                POSSIBLE
            } else {
                LIKELY
            };
            out.add(format!("apply {name}"), score);
        }
    }
    // Conjunction targets whose parts are all hypotheses.
    if let Shape::And(a, b) = &ctx.target {
        let parts = flatten_and(a, b);
        let names: Option<Vec<&str>> = parts
            .iter()
            .map(|p| ctx.fact_matching(p).map(|h| h.name.as_str()))
            .collect();
        if let Some(names) = names {
            matched = true;
            out.add(format!("exact ⟨{}⟩", names.join(", ")), CERTAIN);
        }
    }
    if let Shape::Iff(a, b) = &ctx.target {
        let forward = ctx.fact_matching(&format!("{a} → {b}"));
        let backward = ctx.fact_matching(&format!("{b} → {a}"));
        if let (Some(f), Some(g)) = (forward, backward) {
            matched = true;
            out.add(format!("exact ⟨{}, {}⟩", f.name, g.name), CERTAIN);
        }
    }
    if !matched {
        // Matches up to definitional unfolding that the text does not show.
        out.add("assumption", UNLIKELY);
    }
}

/// `(".1", a), (".2.1", b1), …` for the conjuncts of `a ∧ b` (two levels deep).
fn conjunct_paths(a: &str, b: &str) -> Vec<(String, String)> {
    let mut out = vec![
        (".1".to_owned(), a.to_owned()),
        (".2".to_owned(), b.to_owned()),
    ];
    if let Shape::And(b1, b2) = shape(b) {
        out.push((".2.1".to_owned(), b1));
        out.push((".2.2".to_owned(), b2));
    }
    if let Shape::And(a1, a2) = shape(a) {
        out.push((".1.1".to_owned(), a1));
        out.push((".1.2".to_owned(), a2));
    }
    out
}

/// The conjuncts of `a ∧ b`, right-nested conjunctions flattened.
fn flatten_and(a: &str, b: &str) -> Vec<String> {
    let mut parts = vec![a.to_owned()];
    let mut rest = b.to_owned();
    loop {
        match shape(&rest) {
            Shape::And(x, y) if !rest.trim_start().starts_with('(') => {
                parts.push(x);
                rest = y;
            }
            _ => {
                parts.push(rest);
                return parts;
            }
        }
    }
}

/// The names `intros` should give, from the target's binders and premises.
fn intro_names(ctx: &Ctx) -> Vec<String> {
    let mut names = Vec::new();
    let mut t = ctx.goal.target.clone();
    while names.len() < 8 {
        match shape(&t) {
            Shape::Forall(binders, body) => {
                for b in binders {
                    names.push(ctx.fresh(&b.name));
                }
                t = body;
            }
            Shape::Imp(_, b) => {
                names.push(ctx.fresh("h"));
                t = b;
            }
            Shape::Not(_) => {
                names.push(ctx.fresh("h"));
                break;
            }
            _ => break,
        }
    }
    names
}

/// Witnesses for `∃ x, body`: what the body equates `x` to, variables of `x`'s type,
/// numerals from the hypotheses and target.
fn witnesses(ctx: &Ctx, binder: &Binder, body: &str) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut push = |w: String, s: f64| {
        if !out.iter().any(|(x, _)| *x == w) {
            out.push((w, s));
        }
    };
    let direct = |side: &str, other: &str| {
        (strip_parens(side) == binder.name && !mentions(other, &binder.name))
            .then(|| strip_parens(other).to_owned())
    };
    let first_conjunct = match shape(body) {
        Shape::And(a, _) => a,
        _ => body.to_owned(),
    };
    if let Shape::Rel(op, l, r) = shape(&first_conjunct)
        && op == "="
        && let Some(w) = direct(&l, &r).or_else(|| direct(&r, &l))
    {
        push(w, OBVIOUS);
    }
    if let Some(ty) = &binder.ty {
        for v in ctx.vars_of_type(ty).into_iter().take(4) {
            push(v.to_owned(), PLAUSIBLE);
        }
    }
    let numeric = binder
        .ty
        .as_deref()
        .is_none_or(|t| Domain::of_type(t).is_numeric());
    if numeric {
        let mut nums: Vec<String> = Vec::new();
        for text in ctx.goal.hyps.iter().map(|h| h.ty.as_str()).chain([body]) {
            for n in Term::new(text).numerals() {
                if !nums.iter().any(|m| m == n) {
                    nums.push(n.to_owned());
                }
            }
        }
        for n in nums.into_iter().take(4) {
            push(n, POSSIBLE);
        }
        push("0".to_owned(), UNLIKELY);
        push("1".to_owned(), UNLIKELY);
    }
    out
}

/// Moves decided by the shape of the target.
fn by_target(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    let closed = ctx.target_closed();
    let arith = is_arith_prop(target) && !matches!(ctx.target, Shape::True | Shape::False);
    let m = ctx.mathlib;

    // Closed numeric facts: decide them.
    if closed && arith {
        out.add("norm_num", -0.05);
        out.add("exact dec_trivial", if m { LIKELY } else { OBVIOUS });
        if matches!(&ctx.target, Shape::Rel(op, ..) if op == "=") {
            out.add("refl", if m { PLAUSIBLE } else { -0.15 });
        }
        out.add("simp", POSSIBLE);
    } else if closed {
        if matches!(&ctx.target, Shape::Rel(op, ..) if op == "=") {
            out.add("refl", LIKELY);
        }
        out.add("norm_num", LIKELY);
        out.add("exact dec_trivial", PLAUSIBLE);
        out.add("simp", PLAUSIBLE);
    }
    if target.contains('∑') || target.contains('∏') {
        out.add(
            "simp [finset.sum_range_succ, finset.prod_range_succ]",
            PLAUSIBLE,
        );
        out.add(
            "norm_num [finset.sum_range_succ, finset.prod_range_succ]",
            LIKELY,
        );
        out.add("refl", PLAUSIBLE);
    }
    if target.contains('!') {
        out.add("norm_num [nat.factorial]", PLAUSIBLE);
        out.add("simp [nat.factorial]", POSSIBLE);
    }

    match &ctx.target {
        Shape::True => out.add("trivial", CERTAIN),
        Shape::False => {
            out.add(
                "contradiction",
                if has_contradiction(ctx) {
                    CERTAIN
                } else {
                    PLAUSIBLE
                },
            );
            if m {
                out.add("linarith", LIKELY);
                out.add("norm_num at *", PLAUSIBLE);
                out.add("nlinarith", POSSIBLE);
                out.add("omega", UNLIKELY);
            }
            out.add("cc", PLAUSIBLE);
            out.add("simp at *", POSSIBLE);
        }
        Shape::Forall(..) | Shape::Imp(..) => {
            let names = intro_names(ctx);
            ctx.reset_fresh();
            if !names.is_empty() {
                out.add(format!("intros {}", names.join(" ")), -0.05);
            }
            if names.len() > 1 {
                out.add(format!("intro {}", names[0]), PLAUSIBLE);
            }
            if is_propositional(target) && !matches!(ctx.target, Shape::Forall(..)) {
                out.add("tauto", PLAUSIBLE);
            }
            out.add("simp", UNLIKELY);
        }
        Shape::Not(inner) => {
            let h = ctx.fresh("h");
            ctx.reset_fresh();
            out.add(format!("intro {h}"), OBVIOUS);
            if m {
                out.add("push_neg", PLAUSIBLE);
                out.add("norm_num", if closed { -0.05 } else { PLAUSIBLE });
                if is_arith_prop(inner) {
                    out.add("omega", POSSIBLE);
                }
            }
            out.add("simp", POSSIBLE);
            if is_propositional(inner) {
                out.add("tauto", PLAUSIBLE);
            }
        }
        Shape::And(..) => {
            out.add("split", OBVIOUS);
            if is_propositional(target) {
                out.add("tauto", POSSIBLE);
            }
            out.add("simp", POSSIBLE);
            if m && arith {
                out.add("norm_num", PLAUSIBLE);
                out.add("omega", UNLIKELY);
            }
        }
        Shape::Iff(..) => {
            out.add("split", -0.15);
            out.add("simp", PLAUSIBLE);
            out.add("tauto", LIKELY);
            out.add("cc", POSSIBLE);
            if m {
                out.add("norm_num", PLAUSIBLE);
            }
        }
        Shape::Or(a, b) => {
            let left_known = ctx.fact_matching(a).is_some();
            let right_known = ctx.fact_matching(b).is_some();
            out.add("left", if left_known { OBVIOUS } else { -0.5 });
            out.add("right", if right_known { OBVIOUS } else { -0.5 });
            out.add("tauto", PLAUSIBLE);
            out.add("simp", POSSIBLE);
            if m {
                out.add("norm_num", PLAUSIBLE);
                out.add("omega", UNLIKELY);
            }
        }
        Shape::Exists(binders, body) => {
            let use_tactic = if ctx.tactics.contains("use") {
                "use"
            } else {
                "existsi"
            };
            for (w, s) in witnesses(ctx, &binders[0], body) {
                out.add(format!("{use_tactic} {w}"), s);
            }
            out.add("simp", UNLIKELY);
            if m {
                out.add("norm_num", UNLIKELY);
            }
        }
        Shape::Rel(op, lhs, rhs) => by_relation(ctx, out, op, lhs, rhs),
        Shape::Other => {
            out.add("simp", PLAUSIBLE);
            if m {
                out.add("norm_num", PLAUSIBLE);
            }
            out.add("cc", UNLIKELY);
            if is_propositional(target) {
                out.add("tauto", PLAUSIBLE);
            }
        }
    }
}

/// Candidates for `lhs op rhs`.
fn by_relation(ctx: &Ctx, out: &mut Candidates, op: &str, lhs: &str, rhs: &str) {
    let m = ctx.mathlib;
    let d = ctx.domain;
    let term = Term::new(&ctx.goal.target);
    // Products of variables in the target or in an arithmetic hypothesis: `nlinarith`.
    let nonlinear = std::iter::once(&ctx.goal.target)
        .chain(
            ctx.facts()
                .filter(|h| matches!(&h.shape, Shape::Rel(op, ..) if is_arith_rel(op)))
                .map(|h| &h.hyp.ty),
        )
        .any(|t| {
            let term = Term::new(t);
            term.has_symbol("^") || product_of_vars(&term, ctx)
        });
    let has_div = term.has_symbol("/");
    let facts_arith = ctx
        .facts()
        .any(|h| matches!(&h.shape, Shape::Rel(op, ..) if is_arith_rel(op)));
    match op {
        "=" => {
            if same_term(lhs, rhs) {
                out.add("refl", CERTAIN);
            }
            let refl_score = match (ctx.target_closed(), m) {
                (true, _) => LIKELY,
                (false, false) => POSSIBLE,
                (false, true) => UNLIKELY,
            };
            out.add("refl", refl_score);
            if m && d.is_numeric() {
                out.add("linarith", if facts_arith { LIKELY } else { UNLIKELY });
                let nlinarith_score = match (facts_arith, nonlinear) {
                    (true, true) => -0.5,
                    (true, false) => POSSIBLE,
                    (false, _) => UNLIKELY,
                };
                out.add("nlinarith", nlinarith_score);
                out.add("ring", if facts_arith { POSSIBLE } else { LIKELY });
                out.add("norm_num", PLAUSIBLE);
                if has_div {
                    out.add("field_simp", PLAUSIBLE);
                }
                out.add("ring_nf", UNLIKELY);
                if matches!(d, Domain::Nat | Domain::Int) {
                    out.add("omega", POSSIBLE);
                }
                out.add("simp", UNLIKELY);
            } else {
                out.add("simp", PLAUSIBLE);
                out.add(
                    "cc",
                    if ctx.facts().next().is_some() {
                        PLAUSIBLE
                    } else {
                        UNLIKELY
                    },
                );
                out.add("ac_refl", LONG_SHOT);
            }
            if m {
                out.add("symmetry", LONG_SHOT);
            }
        }
        "≠" => {
            let h = ctx.fresh("h");
            ctx.reset_fresh();
            out.add(format!("intro {h}"), LIKELY);
            out.add("simp", POSSIBLE);
            if m {
                out.add("norm_num", PLAUSIBLE);
                if strip_parens(rhs) == "0" || strip_parens(lhs) == "0" {
                    out.add("positivity", PLAUSIBLE);
                    out.add("linarith", UNLIKELY);
                }
                if matches!(d, Domain::Nat | Domain::Int) {
                    out.add("omega", POSSIBLE);
                }
            }
        }
        _ if is_order_rel(op) => {
            if same_term(lhs, rhs) && matches!(op, "≤" | "≥") {
                out.add("refl", CERTAIN);
            }
            if m {
                out.add("linarith", if d.is_ordered() { LIKELY } else { PLAUSIBLE });
                let zero_side = match op {
                    "<" | "≤" => strip_parens(lhs) == "0",
                    _ => strip_parens(rhs) == "0",
                };
                if zero_side {
                    out.add("positivity", LIKELY);
                }
                out.add("nlinarith", if nonlinear { PLAUSIBLE } else { POSSIBLE });
                out.add("norm_num", PLAUSIBLE);
                if matches!(d, Domain::Nat | Domain::Int) {
                    out.add("omega", POSSIBLE);
                }
                out.add("simp", UNLIKELY);
            } else {
                out.add("simp", PLAUSIBLE);
                out.add("refl", UNLIKELY);
            }
        }
        "∣" => {
            if m {
                out.add("norm_num", PLAUSIBLE);
            }
            out.add("simp", POSSIBLE);
        }
        "≡" => {
            if m {
                let modeq = if ctx.goal.target.contains("ZMOD") {
                    "int.modeq"
                } else {
                    "nat.modeq"
                };
                out.add(format!("norm_num [{modeq}]"), LIKELY);
                out.add(format!("simp [{modeq}]"), POSSIBLE);
            }
        }
        "∈" | "∉" | "⊆" | "⊂" => {
            out.add("simp", LIKELY);
            if m {
                out.add("norm_num", PLAUSIBLE);
            }
            if op == "∈" {
                out.add("left", POSSIBLE);
                out.add("right", UNLIKELY);
            }
        }
        _ => out.add("simp", PLAUSIBLE),
    }
    if m && d.is_ordered_ring()
        && (nonlinear || is_order_rel(op))
        && let Some(hints) = square_hints(ctx)
    {
        out.add(
            format!("nlinarith [{hints}]"),
            if nonlinear { PLAUSIBLE } else { POSSIBLE },
        );
    }
    if m && has_div && d.is_numeric() {
        out.add(field_simp_with(ctx, ""), PLAUSIBLE);
    }
}

/// `field_simp [h₀.ne', h₁]{suffix}` with the hypotheses that say something is not zero
/// (`0 < x`, `x > 0`, `x ≠ 0`), or plain `field_simp{suffix}` when there are none.
fn field_simp_with(ctx: &Ctx, suffix: &str) -> String {
    let nonzero: Vec<String> = ctx
        .facts()
        .filter_map(|h| match &h.shape {
            Shape::Rel(op, l, _) if op == "<" && strip_parens(l) == "0" => {
                Some(format!("{}.ne'", h.hyp.name))
            }
            Shape::Rel(op, _, r) if op == ">" && strip_parens(r) == "0" => {
                Some(format!("{}.ne'", h.hyp.name))
            }
            Shape::Rel(op, _, r) if op == "≠" && strip_parens(r) == "0" => {
                Some(h.hyp.name.clone())
            }
            // `x ≠ 1` says that the denominator `x - 1` is not zero.
            Shape::Rel(op, _, _) if op == "≠" => Some(format!("sub_ne_zero.mpr {}", h.hyp.name)),
            Shape::Not(eq) => match shape(eq) {
                Shape::Rel(op, _, r) if op == "=" && strip_parens(&r) == "0" => {
                    Some(h.hyp.name.clone())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if nonzero.is_empty() {
        format!("field_simp{suffix}")
    } else {
        format!("field_simp [{}]{suffix}", nonzero.join(", "))
    }
}

/// Whether the term multiplies two variables (`a * b`, `x * x`): `linarith` will not do.
fn product_of_vars(term: &Term, ctx: &Ctx) -> bool {
    let toks: Vec<&str> = term.token_texts().collect();
    toks.windows(3)
        .any(|w| w[1] == "*" && ctx.goal.has_name(w[0]) && (ctx.goal.has_name(w[2]) || w[2] == "("))
        || toks.windows(2).any(|w| w[0] == ")" && w[1] == "*")
}

/// `sq_nonneg (a - b), sq_nonneg (a + b), …` for the numeric variables of the target (or of
/// the hypotheses when the target has none).
fn square_hints(ctx: &Ctx) -> Option<String> {
    let numeric = |n: &str| {
        ctx.goal
            .hyp(n)
            .is_some_and(|h| Domain::of_type(h.ty.trim()).is_ordered_ring())
    };
    let mut vars: Vec<&str> = ctx
        .target_vars
        .iter()
        .map(String::as_str)
        .filter(|v| numeric(v))
        .collect();
    if vars.is_empty() {
        vars = ctx
            .goal
            .hyps
            .iter()
            .filter(|h| h.accessible() && numeric(&h.name))
            .map(|h| h.name.as_str())
            .collect();
    }
    // Squared compound terms (`(a + 1) ^ 2`) take part like variables, and so does `k * x`
    // for `k² * x ^ 2` (`2 * b` for `4 * b ^ 2`).
    let target = ctx.goal.target.as_str();
    let term = Term::new(target);
    let toks = &term.tokens;
    let mut scaled: Vec<String> = Vec::new();
    for i in 0..toks.len().saturating_sub(4) {
        let text = |j: usize| &target[toks[j].start..toks[j].end];
        let root = text(i)
            .parse::<u64>()
            .ok()
            .and_then(|k| (2..=10).find(|r| r * r == k));
        if let Some(r) = root
            && text(i + 1) == "*"
            && numeric(text(i + 2))
            && text(i + 3) == "^"
            && text(i + 4) == "2"
        {
            scaled.push(format!("{r} * {}", text(i + 2)));
        }
    }
    for i in 0..toks.len().saturating_sub(2) {
        let text = |j: usize| &target[toks[j].start..toks[j].end];
        if text(i) == ")" && text(i + 1) == "^" && text(i + 2) == "2" {
            let mut depth = 0;
            let open = (0..=i).rev().find(|&j| {
                match text(j) {
                    ")" => depth += 1,
                    "(" => depth -= 1,
                    _ => {}
                }
                depth == 0
            });
            if let Some(open) = open {
                let atom = &target[toks[open].start..toks[i].end];
                if !vars.contains(&atom) {
                    vars.push(atom);
                }
            }
        }
    }
    // A scaled variable replaces the variable itself.
    for s in &scaled {
        let var = s.rsplit(' ').next().unwrap_or("");
        vars.retain(|v| *v != var);
    }
    let mut vars: Vec<String> = scaled
        .into_iter()
        .chain(vars.into_iter().map(str::to_owned))
        .collect();
    vars.dedup();
    vars.truncate(3);
    // Differences first: they are what completing a square needs. More than four hints
    // make `nlinarith` time out.
    let mut hints = Vec::new();
    for (i, a) in vars.iter().enumerate() {
        for b in &vars[i + 1..] {
            hints.push(format!("sq_nonneg ({a} - {b})"));
        }
    }
    for (i, a) in vars.iter().enumerate() {
        for b in &vars[i + 1..] {
            hints.push(format!("sq_nonneg ({a} + {b})"));
        }
    }
    for a in &vars {
        if a.contains(' ') && !a.starts_with('(') {
            hints.push(format!("sq_nonneg ({a})"));
        } else {
            hints.push(format!("sq_nonneg {a}"));
        }
    }
    hints.truncate(4);
    (!hints.is_empty()).then(|| hints.join(", "))
}

/// Hypotheses that contradict each other or themselves, visibly.
fn has_contradiction(ctx: &Ctx) -> bool {
    ctx.hyps
        .iter()
        .filter(|h| h.is_prop)
        .any(|h| match &h.shape {
            Shape::False => true,
            Shape::Not(a) => ctx.hyps.iter().any(|g| same_term(&g.hyp.ty, a)),
            Shape::Rel(op, l, r) if op == "≠" => same_term(l, r),
            Shape::Rel(op, l, r) if op == "=" => constructor_mismatch(l, r),
            _ => false,
        })
}

/// Moves that use or take apart a hypothesis.
fn by_hypotheses(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    let m = ctx.mathlib;
    let mut rewrites: Vec<String> = Vec::new();
    for h in ctx.facts() {
        let name = h.hyp.name.as_str();
        if m && matches!(h.shape, Shape::Rel(..)) && mentions(&h.hyp.ty, "/") {
            out.add(field_simp_with(ctx, &format!(" at {name}")), PLAUSIBLE);
        }
        match &h.shape {
            Shape::And(..) => {
                let (a, b) = (
                    ctx.fresh(&format!("{}l", base(name))),
                    ctx.fresh(&format!("{}r", base(name))),
                );
                out.add(format!("cases {name} with {a} {b}"), -0.2);
            }
            Shape::Exists(binders, _) => {
                let x = ctx.fresh(&binders[0].name);
                let hx = ctx.fresh(&format!("h{}", binders[0].name));
                out.add(format!("cases {name} with {x} {hx}"), -0.15);
            }
            Shape::Or(..) => {
                let (a, b) = (ctx.fresh(base(name)), ctx.fresh(base(name)));
                out.add(format!("cases {name} with {a} {b}"), -0.4);
            }
            Shape::Iff(l, r) => {
                if contains_term(target, l) {
                    out.add(format!("rw {name}"), PLAUSIBLE);
                }
                if contains_term(target, r) {
                    out.add(format!("rw ← {name}"), POSSIBLE);
                }
                let (a, b) = (
                    ctx.fresh(&format!("{}l", base(name))),
                    ctx.fresh(&format!("{}r", base(name))),
                );
                out.add(format!("cases {name} with {a} {b}"), UNLIKELY);
            }
            Shape::Rel(op, l, r) if op == "=" => {
                if constructor_mismatch(l, r) {
                    out.add(format!("cases {name}"), CERTAIN);
                    out.add("contradiction", OBVIOUS);
                }
                let l_in_target = contains_term(target, l);
                let r_in_target = contains_term(target, r) && !is_numeral(r);
                if l_in_target {
                    out.add(format!("rw {name}"), LIKELY);
                    rewrites.push(name.to_owned());
                }
                if r_in_target {
                    out.add(format!("rw ← {name}"), PLAUSIBLE);
                }
                let l_var = ctx.goal.has_name(strip_parens(l)) && !mentions(r, strip_parens(l));
                let r_var = ctx.goal.has_name(strip_parens(r)) && !mentions(l, strip_parens(r));
                if l_var || r_var {
                    out.add(
                        format!("subst {name}"),
                        if l_in_target || r_in_target {
                            PLAUSIBLE
                        } else {
                            POSSIBLE
                        },
                    );
                }
                if !(l_var || r_var || constructor_mismatch(l, r)) {
                    // On `ℕ`, `cases` unifies numerals with successors: `x + 3 = 7` gives
                    // `x := 4`.
                    let solves =
                        !m && ctx.domain == Domain::Nat && (is_numeral(l) || is_numeral(r));
                    out.add(
                        format!("cases {name}"),
                        if solves { PLAUSIBLE } else { LONG_SHOT },
                    );
                    out.add(format!("injection {name}"), LONG_SHOT);
                }
                // Rewriting other hypotheses.
                for g in ctx.facts() {
                    if g.hyp.name != name && contains_term(&g.hyp.ty, l) {
                        out.add(format!("rw {name} at {}", g.hyp.name), POSSIBLE);
                    }
                }
                if m {
                    out.add(
                        format!("norm_num [{name}]"),
                        if l_in_target { PLAUSIBLE } else { UNLIKELY },
                    );
                    out.add(format!("norm_num at {name}"), UNLIKELY);
                } else if l_in_target || r_in_target {
                    out.add(format!("simp [{name}]"), PLAUSIBLE);
                }
            }
            Shape::Rel(op, _, _) if op == "≠" && ctx.target == Shape::False => {
                out.add(format!("apply {name}"), LIKELY);
            }
            Shape::Imp(a, _) => {
                if let Some(g) = ctx.fact_matching(a) {
                    out.add(format!("specialize {name} {}", g.name), PLAUSIBLE);
                }
            }
            Shape::Forall(binders, _) => {
                if ctx.target != Shape::False && mentions_any_var(ctx, target) {
                    out.add(format!("simp [{name}]"), POSSIBLE);
                }
                // Instantiate with a variable of the binder's type from the target.
                if let Some(ty) = &binders[0].ty {
                    for v in ctx
                        .vars_of_type(ty)
                        .into_iter()
                        .filter(|v| mentions(target, v))
                        .take(2)
                    {
                        out.add(format!("specialize {name} {v}"), UNLIKELY);
                    }
                }
            }
            Shape::Rel(..) | Shape::Other | Shape::Not(_) => {
                if m && !matches!(h.shape, Shape::Not(_)) {
                    out.add(format!("norm_num at {name}"), UNLIKELY);
                } else {
                    out.add(format!("simp at {name}"), UNLIKELY);
                }
            }
            _ => {}
        }
        ctx.reset_fresh();
    }
    if rewrites.len() > 1 {
        let list = rewrites.join(", ");
        if m {
            out.add(format!("norm_num [{list}]"), LIKELY);
        }
        out.add(format!("simp [{list}]"), PLAUSIBLE);
        out.add(format!("rw [{list}]"), PLAUSIBLE);
    }
}

/// Hypotheses `∀ x, f x = e` (definitions of functions, recursions) and `∀ x, p x ↔ q x`
/// (set membership): rewrite with them wherever their left side's head occurs, or instantiate
/// identities at small values.
fn by_equation_schemes(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    let m = ctx.mathlib;
    let mut in_target: Vec<&str> = Vec::new();
    let mut anywhere: Vec<&str> = Vec::new();
    for h in ctx.facts() {
        let Shape::Forall(binders, body) = &h.shape else {
            continue;
        };
        let (lhs, numeric_binder) = match shape(body) {
            Shape::Rel(op, l, _) if op == "=" => (l, true),
            Shape::Iff(l, _) => (l, false),
            _ => continue,
        };
        let name = h.hyp.name.as_str();
        let lhs_term = Term::new(&lhs);
        let bound: Vec<&str> = binders.iter().map(|b| b.name.as_str()).collect();
        // What the left side is about: a local function (`f x`, `σ.to_fun x`) or set
        // (`n ∈ S`).
        let head = match shape(&lhs) {
            Shape::Rel(op, _, set) if op == "∈" => Term::new(&set).head().map(str::to_owned),
            _ => lhs_term.head().map(str::to_owned),
        };
        let subject = head
            .map(|h| h.split('.').next().unwrap_or_default().to_owned())
            .filter(|n| ctx.goal.has_name(n) && !bound.contains(&n.as_str()));
        let subject = subject.as_deref();
        match subject {
            Some(subject) => {
                let used_in_target = mentions(target, subject);
                let used_in_facts = ctx
                    .facts()
                    .any(|g| g.hyp.name != name && mentions(&g.hyp.ty, subject));
                if used_in_target {
                    in_target.push(name);
                    out.add(format!("rw {name}"), PLAUSIBLE);
                }
                if used_in_target || used_in_facts {
                    anywhere.push(name);
                }
                for g in ctx.facts() {
                    if g.hyp.name != name && mentions(&g.hyp.ty, subject) {
                        out.add(format!("rw {name} at {}", g.hyp.name), POSSIBLE);
                    }
                }
            }
            None if numeric_binder && binders.len() == 1 => {
                // An identity in `x`: its instances at small values are equations.
                let is_numeric = binders[0]
                    .ty
                    .as_deref()
                    .is_some_and(|t| Domain::of_type(t).is_numeric());
                if is_numeric {
                    for v in ["0", "1", "-1"] {
                        let hv = ctx.fresh("h");
                        out.add(format!("have {hv} := {name} ({v})"), UNLIKELY);
                        ctx.reset_fresh();
                    }
                }
            }
            None => {}
        }
    }
    if !in_target.is_empty() {
        let list = in_target.join(", ");
        out.add(format!("simp only [{list}]"), LIKELY);
        if m {
            out.add(format!("norm_num [{list}]"), LIKELY);
        } else {
            out.add(format!("simp [{list}]"), PLAUSIBLE);
        }
    }
    if !anywhere.is_empty() {
        let list = anywhere.join(", ");
        out.add(format!("simp only [{list}] at *"), LIKELY);
        if m {
            out.add(format!("norm_num [{list}] at *"), PLAUSIBLE);
        }
    }
}

/// `h` for `h₀`, `h₁`, `hx`: the name without a trailing subscript.
fn base(name: &str) -> &str {
    name.trim_end_matches(|c: char| ('₀'..='₉').contains(&c) || c == '\'')
}

fn is_numeral(s: &str) -> bool {
    let s = strip_parens(s);
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn mentions_any_var(ctx: &Ctx, text: &str) -> bool {
    !ctx.target_vars.is_empty() || !Term::new(text).numerals().is_empty()
}

/// Induction and case analysis on variables, case splits on propositions.
fn by_variables(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    let m = ctx.mathlib;
    for h in ctx.hyps.iter().filter(|h| !h.is_prop && h.hyp.accessible()) {
        let name = h.hyp.name.as_str();
        let ty = h.hyp.ty.trim();
        let in_target = mentions(target, name);
        let in_facts = ctx.facts().any(|g| mentions(&g.hyp.ty, name));
        if !in_target && !in_facts {
            continue;
        }
        let penalty = if in_target { 0.0 } else { -0.6 };
        // A second induction inside an induction step is rarely what is wanted.
        let nested = if ctx.goal.hyps.iter().any(|h| h.name.starts_with("ih")) {
            -1.0
        } else {
            0.0
        };
        if ty == "ℕ" {
            let ih = ctx.fresh("ih");
            let (ind, cas) = if m {
                (UNLIKELY, UNLIKELY)
            } else {
                (-0.7, UNLIKELY)
            };
            out.add(
                format!("induction {name} with {name} {ih}"),
                ind + penalty + nested,
            );
            out.add(format!("cases {name} with {name}"), cas + penalty);
        } else if Term::new(ty).head() == Some("list") {
            let ih = ctx.fresh("ih");
            let x = ctx.fresh("a");
            out.add(
                format!("induction {name} with {x} {name} {ih}"),
                -0.5 + penalty + nested,
            );
            out.add(format!("cases {name} with {x} {name}"), POSSIBLE + penalty);
        } else if ty == "Prop" && worth_case_split(ctx, name) {
            let hp = ctx.fresh(&format!("h{name}"));
            // Classical case splits go with negated hypotheses.
            let classical = ctx.facts().any(|h| matches!(h.shape, Shape::Not(_)));
            let score = if classical { POSSIBLE } else { -1.8 };
            out.add(format!("by_cases {hp} : {name}"), score + penalty);
        }
        ctx.reset_fresh();
    }
    if m && let Shape::Rel(..) = &ctx.target {
        // `interval_cases x` for a natural-number variable bounded above by a hypothesis.
        for v in &ctx.target_vars {
            let is_nat_or_int = ctx
                .goal
                .hyp(v)
                .is_some_and(|h| matches!(h.ty.trim(), "ℕ" | "ℤ"));
            let bounded = ctx.facts().any(|g| match &g.shape {
                Shape::Rel(op, l, r) => {
                    (matches!(op.as_str(), "<" | "≤") && strip_parens(l) == v && is_numeral(r))
                        || (matches!(op.as_str(), ">" | "≥")
                            && strip_parens(r) == v
                            && is_numeral(l))
                }
                _ => false,
            });
            if is_nat_or_int && bounded {
                out.add(format!("interval_cases {v}"), PLAUSIBLE);
            }
        }
    }
}

/// Whether splitting on the proposition variable `p` could help: the target is an atom, a
/// disjunction or `false` (nothing structural left to do) and no hypothesis settles `p`.
fn worth_case_split(ctx: &Ctx, p: &str) -> bool {
    let settled = ctx
        .hyps
        .iter()
        .any(|h| same_term(&h.hyp.ty, p) || same_term(&h.hyp.ty, &format!("¬{p}")));
    !settled && matches!(ctx.target, Shape::Other | Shape::Or(..) | Shape::False)
}

/// Moves that are worth a try on most goals.
fn general(ctx: &Ctx, out: &mut Candidates) {
    let m = ctx.mathlib;
    let has_facts = ctx.facts().next().is_some();
    if has_facts {
        out.add("simp * at *", if m { UNLIKELY } else { POSSIBLE });
        if m {
            out.add("norm_num at *", POSSIBLE);
            out.add("linarith", POSSIBLE);
        } else {
            out.add("cc", POSSIBLE);
        }
    }
    out.add("simp", UNLIKELY);
    if has_contradiction(ctx) {
        out.add("contradiction", CERTAIN);
    }
    if ctx.facts().any(|h| matches!(h.shape, Shape::Not(_)))
        && !matches!(ctx.target, Shape::False | Shape::Not(_))
    {
        out.add("exfalso", UNLIKELY);
    }
    // Proof by contradiction: for an atom (classical logic), and with mathlib for order
    // goals, where `push_neg` then turns the negation into an inequality.
    let atom = ctx.target == Shape::Other;
    let order = matches!(&ctx.target, Shape::Rel(op, ..) if is_order_rel(op));
    if atom || (m && order) {
        let h = ctx.fresh("h");
        ctx.reset_fresh();
        let tactic = if m { "by_contra" } else { "by_contradiction" };
        out.add(format!("{tactic} {h}"), LONG_SHOT);
    }
    out.add("constructor", LONG_SHOT);
}
