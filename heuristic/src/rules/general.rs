//! Moves worth trying on any goal (automation of last resort).

use super::hypotheses::has_contradiction;
use crate::framework::candidates::{CERTAIN, Candidates, LONG_SHOT, POSSIBLE, UNLIKELY};
use crate::framework::context::Ctx;
use crate::framework::predicates::is_order_rel;
use crate::framework::term::Shape;

/// Moves that are worth a try on most goals.
pub(crate) fn general(ctx: &Ctx, out: &mut Candidates) {
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
