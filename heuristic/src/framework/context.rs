//! What the rules know about one goal: its hypotheses read as shapes, the number domain it is
//! about, the tactics at hand, and fresh names.

use super::state::{Goal, Hyp};
use super::tactics::TacticSet;
use super::term::{Shape, Term, normalize, same_term, shape, strip_parens};

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
    pub(crate) fn of_type(ty: &str) -> Domain {
        match ty {
            "ℕ" | "nat" => Domain::Nat,
            "ℤ" | "int" => Domain::Int,
            "ℚ" | "rat" => Domain::Rat,
            "ℝ" | "real" => Domain::Real,
            "ℂ" | "complex" => Domain::Complex,
            _ => Domain::Other,
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        self != Domain::Other
    }

    /// Ordered fields and rings where `linarith` works well.
    pub(crate) fn is_ordered(self) -> bool {
        matches!(self, Domain::Nat | Domain::Int | Domain::Rat | Domain::Real)
    }

    /// Rings with negation, where `sq_nonneg (a - b)` makes sense.
    pub(crate) fn is_ordered_ring(self) -> bool {
        matches!(self, Domain::Int | Domain::Rat | Domain::Real)
    }
}

/// Types that are types of data, not propositions.
pub(crate) const KNOWN_TYPES: &[&str] = &[
    "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "nat", "int", "rat", "real", "complex", "bool", "Prop", "Type",
    "Type*", "Sort*", "char", "string", "ℕ+", "pnat",
];

/// Type constructors: `list α`, `finset ℕ`, …
pub(crate) const TYPE_CONSTRUCTORS: &[&str] = &[
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

/// What the generator knows about one hypothesis.
pub(crate) struct HypInfo<'a> {
    pub(crate) hyp: &'a Hyp,
    pub(crate) shape: Shape,
    /// A proof of a proposition (as opposed to a variable, type, or instance).
    pub(crate) is_prop: bool,
}

/// Everything about the goal that the rules look at.
pub(crate) struct Ctx<'a> {
    pub(crate) goal: &'a Goal,
    pub(crate) tactics: &'a TacticSet,
    pub(crate) hyps: Vec<HypInfo<'a>>,
    pub(crate) target: Shape,
    /// Local names in the target.
    pub(crate) target_vars: Vec<String>,
    pub(crate) domain: Domain,
    /// Whether mathlib's arithmetic tactics are there.
    pub(crate) mathlib: bool,
    /// Names handed out by this generator, so two fresh names in one tactic differ.
    taken: std::cell::RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(goal: &'a Goal, tactics: &'a TacticSet) -> Self {
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

    /// Whether `/` in the text rounds (on ℤ), so that reading it as a field's division
    /// ([`super::poly::read`]) would be wrong.
    pub(crate) fn rounding_division(&self, text: &str) -> bool {
        self.domain == Domain::Int && text.contains('/')
    }

    /// Hypotheses that are proofs and can be named.
    pub(crate) fn facts(&self) -> impl Iterator<Item = &HypInfo<'a>> {
        self.hyps.iter().filter(|h| h.is_prop && h.hyp.accessible())
    }

    /// Variables (non-proof hypotheses) of a given type.
    pub(crate) fn vars_of_type(&self, ty: &str) -> Vec<&'a str> {
        self.goal
            .hyps
            .iter()
            .filter(|h| h.accessible() && normalize(&h.ty) == normalize(ty))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// A name not used by any hypothesis or earlier fresh name, based on `base`.
    pub(crate) fn fresh(&self, base: &str) -> String {
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
    pub(crate) fn reset_fresh(&self) {
        self.taken.borrow_mut().clear();
    }

    /// A hypothesis whose type is `ty` (up to spacing and outer parentheses).
    pub(crate) fn fact_matching(&self, ty: &str) -> Option<&'a Hyp> {
        self.facts()
            .find(|h| same_term(&h.hyp.ty, ty))
            .map(|h| h.hyp)
    }

    pub(crate) fn target_closed(&self) -> bool {
        self.target_vars.is_empty()
    }
}

/// `Type`, `Sort u`, `Prop`: the hypothesis is a type variable.
pub(crate) fn is_sort(ty: &str) -> bool {
    let t = ty.trim();
    t == "Type" || t == "Prop" || t.starts_with("Type ") || t.starts_with("Sort") || t == "Type*"
}

/// Whether `ty` is a type of data (so a hypothesis of that type is a variable, not a proof).
pub(crate) fn is_type(ty: &str, type_vars: &[&str]) -> bool {
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
pub(crate) fn domain_of(goal: &Goal, target_vars: &[String]) -> Domain {
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

pub(crate) fn mentions_any_var(ctx: &Ctx, text: &str) -> bool {
    !ctx.target_vars.is_empty() || !Term::new(text).numerals().is_empty()
}
