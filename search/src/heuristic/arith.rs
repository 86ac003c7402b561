//! Competition-arithmetic steps that need mathlib: remainders through `nat.mul_mod` and
//! friends, divisibility of powers, finite sums by induction.

use super::generate::{Candidates, Ctx, Domain, LIKELY, PLAUSIBLE, POSSIBLE};
use super::term::{Shape, Term};

/// All the steps of this module, for goals in a mathlib environment.
pub fn steps(ctx: &Ctx, out: &mut Candidates) {
    if !ctx.mathlib {
        return;
    }
    remainders(ctx, out);
    divisibility(ctx, out);
    finite_sums(ctx, out);
}

/// Whether a term has the symbol as a token.
fn has(text: &str, sym: &str) -> bool {
    Term::new(text).token_texts().any(|t| t == sym)
}

/// `(a * b) % n` from `a % n` and `b % n`: rewrite remainders of sums, products and powers
/// with the hypotheses that give remainders.
fn remainders(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    if !has(target, "%") {
        return;
    }
    let lemmas = match ctx.domain {
        Domain::Nat => "nat.add_mod, nat.mul_mod, nat.pow_mod",
        Domain::Int => "int.add_mod, int.mul_mod",
        _ => return,
    };
    let facts: Vec<&str> = ctx
        .facts()
        .filter(|h| has(&h.hyp.ty, "%") && matches!(h.shape, Shape::Rel(..)))
        .map(|h| h.hyp.name.as_str())
        .collect();
    let with = if facts.is_empty() {
        lemmas.to_owned()
    } else {
        format!("{lemmas}, {}", facts.join(", "))
    };
    out.add(format!("norm_num [{with}]"), LIKELY);
    out.add(format!("simp [{with}]"), PLAUSIBLE);
}

/// `a ∣ b ^ n`: `dvd_pow` reduces it to `a ∣ b` and `n ≠ 0`.
fn divisibility(ctx: &Ctx, out: &mut Candidates) {
    if let Shape::Rel(op, _, rhs) = &ctx.target
        && op == "∣"
    {
        if has(rhs, "^") {
            out.add("apply dvd_pow", PLAUSIBLE);
        }
        if matches!(ctx.domain, Domain::Nat) {
            out.add("norm_num [nat.dvd_iff_mod_eq_zero]", POSSIBLE);
        }
    }
}

/// `∑ k in finset.range n, f k = g n`: induction on `n`, then peel off the last term.
fn finite_sums(ctx: &Ctx, out: &mut Candidates) {
    let target = ctx.goal.target.as_str();
    if !(target.contains('∑') || target.contains('∏')) {
        return;
    }
    let tokens: Vec<&str> = Term::new(target).token_texts().collect();
    for w in tokens.windows(2) {
        let [range, n] = [w[0], w[1]];
        let is_nat_var = ctx.goal.hyp(n).is_some_and(|h| h.ty.trim() == "ℕ");
        if range == "finset.range" && is_nat_var {
            let ih = ctx.fresh("ih");
            ctx.reset_fresh();
            out.add(format!("induction {n} with {n} {ih}"), PLAUSIBLE);
        }
    }
    let ihs: Vec<&str> = ctx
        .facts()
        .filter(|h| h.hyp.name.starts_with("ih"))
        .map(|h| h.hyp.name.as_str())
        .collect();
    let succ = "finset.sum_range_succ, finset.prod_range_succ";
    if ihs.is_empty() {
        out.add(format!("simp [{succ}]"), PLAUSIBLE);
    } else {
        let ihs = ihs.join(", ");
        out.add(format!("simp [{succ}, {ihs}]"), LIKELY);
        out.add(format!("rw [finset.sum_range_succ, {ihs}]"), LIKELY);
    }
}
