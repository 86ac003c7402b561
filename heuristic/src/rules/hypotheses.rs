//! Moves that use or take apart a hypothesis, and rewriting with equations among them.

use super::relation::field_simp_with;
use crate::framework::candidates::{
    CERTAIN, Candidates, LIKELY, LONG_SHOT, OBVIOUS, PLAUSIBLE, POSSIBLE, UNLIKELY,
};
use crate::framework::context::{Ctx, Domain, mentions_any_var};
use crate::framework::predicates::{
    base, constructor_mismatch, contains_term, is_numeral, mentions,
};
use crate::framework::term::{Shape, Term, same_term, shape, strip_parens};

/// Hypotheses that contradict each other or themselves, visibly.
pub(crate) fn has_contradiction(ctx: &Ctx) -> bool {
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
pub(crate) fn by_hypotheses(ctx: &Ctx, out: &mut Candidates) {
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
pub(crate) fn by_equation_schemes(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    let m = ctx.mathlib;
    let mut in_target: Vec<&str> = Vec::new();
    let mut anywhere: Vec<&str> = Vec::new();
    // Instances of one-variable identities at small values, as facts for `linarith`.
    let mut instances: Vec<String> = Vec::new();
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
        let binder_domain = binders[0]
            .ty
            .as_deref()
            .map_or(Domain::Other, Domain::of_type);
        if numeric_binder && binders.len() == 1 && binder_domain.is_ordered() {
            let values: &[&str] = if binder_domain == Domain::Nat {
                &["0", "1", "2"]
            } else {
                &["0", "1", "(-1)", "2", "(-2)"]
            };
            instances.extend(values.iter().map(|v| format!("{name} {v}")));
        }
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
    let arithmetic_target = match &ctx.target {
        Shape::Rel(op, ..) => matches!(op.as_str(), "=" | "≤" | "<" | "≥" | ">" | "≠"),
        Shape::And(..) => true,
        _ => false,
    };
    if m && !instances.is_empty() && arithmetic_target && ctx.domain.is_ordered() {
        instances.truncate(10);
        let list = instances.join(", ");
        // A conjunction: each side from the same instances.
        let split = if matches!(ctx.target, Shape::And(..)) {
            "split; "
        } else {
            ""
        };
        out.add(format!("{split}linarith [{list}]"), LIKELY);
        out.add(format!("{split}nlinarith [{list}]"), POSSIBLE);
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
