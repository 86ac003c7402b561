//! Moves decided by the shape of the target: introductions, splits, witnesses, case analysis.

use super::hypotheses::has_contradiction;
use super::relation::by_relation;
use crate::framework::candidates::{
    CERTAIN, Candidates, LIKELY, OBVIOUS, PLAUSIBLE, POSSIBLE, UNLIKELY,
};
use crate::framework::context::{Ctx, Domain};
use crate::framework::predicates::{is_arith_prop, is_propositional, mentions};
use crate::framework::term::{Binder, Shape, Term, shape, strip_parens};

/// The names `intros` should give, from the target's binders and premises.
pub(crate) fn intro_names(ctx: &Ctx) -> Vec<String> {
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
pub(crate) fn witnesses(ctx: &Ctx, binder: &Binder, body: &str) -> Vec<(String, f64)> {
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
pub(crate) fn by_target(ctx: &Ctx, out: &mut Candidates) {
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
