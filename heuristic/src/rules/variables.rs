//! Induction and case analysis on variables, case splits on propositions.

use crate::framework::candidates::{Candidates, PLAUSIBLE, POSSIBLE, UNLIKELY};
use crate::framework::context::Ctx;
use crate::framework::predicates::{is_numeral, mentions};
use crate::framework::term::{Shape, Term, same_term, strip_parens};

/// Induction and case analysis on variables, case splits on propositions.
pub(crate) fn by_variables(ctx: &Ctx, out: &mut Candidates) {
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
pub(crate) fn worth_case_split(ctx: &Ctx, p: &str) -> bool {
    let settled = ctx
        .hyps
        .iter()
        .any(|h| same_term(&h.hyp.ty, p) || same_term(&h.hyp.ty, &format!("¬{p}")));
    !settled && matches!(ctx.target, Shape::Other | Shape::Or(..) | Shape::False)
}
