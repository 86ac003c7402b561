//! Equivalences `σ : α ≃ β` used through their fields: `σ.to_fun x` and `σ.inv_fun y` (what
//! `σ.1 x` and `σ.2 y` elaborate to) become `σ x` and `σ.symm y`, about which mathlib's
//! lemmas speak; then `σ.symm y = x` is `y = σ x`.

use crate::framework::candidates::{Candidates, LIKELY, PLAUSIBLE, POSSIBLE};
use crate::framework::context::Ctx;
use crate::framework::term::{Shape, shape, strip_parens};

/// Candidates for goals that mention an equivalence of the context.
pub(crate) fn equivalences(ctx: &Ctx, out: &mut Candidates) {
    if !ctx.mathlib {
        return;
    }
    let equivs: Vec<&str> = ctx
        .goal
        .hyps
        .iter()
        .filter(|h| h.ty.contains('≃') || h.ty.trim_start().starts_with("equiv "))
        .map(|h| h.name.as_str())
        .collect();
    if equivs.is_empty() {
        return;
    }
    let by_fields = std::iter::once(ctx.goal.target.as_str())
        .chain(ctx.facts().map(|h| h.hyp.ty.as_str()))
        .any(|t| t.contains(".to_fun") || t.contains(".inv_fun"));
    if by_fields {
        out.add(
            "simp only [equiv.inv_fun_as_coe, equiv.to_fun_as_coe] at *",
            LIKELY,
        );
    }
    // `σ.symm y = x` ⟷ `y = σ x` (`symm_apply_eq`), and `x = σ.symm y` ⟷ `σ x = y`
    // (`eq_symm_apply`), in the target and in hypotheses.
    let rewrite = |text: &str| match shape(text) {
        Shape::Rel(op, l, _) if op == "=" && strip_parens(&l).contains(".symm)") => {
            Some("rw equiv.symm_apply_eq")
        }
        Shape::Rel(op, _, r) if op == "=" && strip_parens(&r).contains(".symm)") => {
            Some("rw equiv.eq_symm_apply")
        }
        _ => None,
    };
    if let Some(rw) = rewrite(&ctx.goal.target) {
        out.add(rw, LIKELY);
    }
    for h in ctx.facts() {
        if let Some(rw) = rewrite(&h.hyp.ty) {
            out.add(format!("{rw} at {}", h.hyp.name), PLAUSIBLE);
        }
    }
    if let Shape::Rel(op, ..) = &ctx.target
        && op == "="
    {
        for e in &equivs {
            if ctx.goal.target.contains(e) {
                out.add(format!("apply {e}.injective"), POSSIBLE);
            }
        }
        out.add(
            "simp [equiv.apply_symm_apply, equiv.symm_apply_apply, *]",
            POSSIBLE,
        );
    }
}
