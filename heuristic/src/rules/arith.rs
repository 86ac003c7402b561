//! Competition-arithmetic steps that need mathlib: remainders through `nat.mul_mod` and
//! friends, divisibility of powers, finite sums by induction, squares completed at the vertex
//! of a quadratic, floors and absolute values.

use crate::framework::candidates::{Candidates, LIKELY, OBVIOUS, PLAUSIBLE, POSSIBLE};
use crate::framework::context::{Ctx, Domain};
use crate::framework::term::{Shape, Term, same_term, strip_parens};

/// All the steps of this module, for goals in a mathlib environment.
pub(crate) fn steps(ctx: &Ctx, out: &mut Candidates) {
    if !ctx.mathlib {
        return;
    }
    remainders(ctx, out);
    remainder_of_remainder(ctx, out);
    divisibility(ctx, out);
    finite_sums(ctx, out);
    vertex_squares(ctx, out);
    floors(ctx, out);
    absolute_values(ctx, out);
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

/// `x % a = b` from `h : x % c = d` where `a` divides `c`: `x % a` is `x % c % a`
/// (`nat.mod_mod_of_dvd`), so the remainder the hypothesis gives decides the goal.
fn remainder_of_remainder(ctx: &Ctx, out: &mut Candidates) {
    let Shape::Rel(op, lhs, _) = &ctx.target else {
        return;
    };
    let (lemma, ty) = match ctx.domain {
        Domain::Nat => ("nat.mod_mod_of_dvd", "ℕ"),
        Domain::Int => ("int.mod_mod_of_dvd", "ℤ"),
        _ => return,
    };
    let Some((x, a)) = Term::new(strip_parens(lhs)).split_last("%") else {
        return;
    };
    let Ok(a_val) = a.parse::<u64>() else { return };
    if op != "=" || a_val < 2 {
        return;
    }
    for h in ctx.facts() {
        let Shape::Rel(hop, hl, _) = &h.shape else {
            continue;
        };
        let Some((y, c)) = Term::new(strip_parens(hl)).split_last("%") else {
            continue;
        };
        let Ok(c_val) = c.parse::<u64>() else {
            continue;
        };
        if hop == "=" && c_val != a_val && c_val % a_val == 0 && same_term(&x, &y) {
            out.add(
                format!(
                    "rw [← {lemma} ({x}) (show ({a} : {ty}) ∣ {c}, by norm_num), {name}]; norm_num",
                    name = h.hyp.name
                ),
                OBVIOUS,
            );
        }
    }
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
    // Over `finset.Icc a b` with numerals: as `finset.Ico a (b + 1)` (equal by `rfl`), whose
    // last term `norm_num` peels off one by one.
    for w in tokens.windows(3) {
        let (Ok(a), Ok(b)) = (w[1].parse::<u64>(), w[2].parse::<u64>()) else {
            continue;
        };
        if w[0] == "finset.Icc" && a <= b && b - a < 150 {
            out.add(
                format!(
                    "rw (show finset.Icc {a} {b} = finset.Ico {a} {}, from rfl); \
                     norm_num [finset.sum_Ico_succ_top, finset.prod_Ico_succ_top]",
                    b + 1
                ),
                LIKELY,
            );
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

/// `nlinarith [sq_nonneg (x - 3), …]` for quadratics `x ^ 2 - 6 * x + …` in the target or in
/// arithmetic hypotheses: the square that vanishes at the vertex. With a leading coefficient
/// `a` and a linear one `b`, the square of `2 * a * x - b` (and of `2 * a * x + b`, the sign
/// is not read).
fn vertex_squares(ctx: &Ctx, out: &mut Candidates) {
    if !matches!(ctx.domain, Domain::Int | Domain::Rat | Domain::Real) {
        return;
    }
    let texts = std::iter::once(ctx.goal.target.as_str()).chain(
        ctx.facts()
            .filter(|h| matches!(h.shape, Shape::Rel(..)))
            .map(|h| h.hyp.ty.as_str()),
    );
    let mut hints: Vec<String> = Vec::new();
    for text in texts {
        let toks: Vec<&str> = Term::new(text).token_texts().collect();
        let at = |i: usize| toks.get(i).copied().unwrap_or("");
        let number = |t: &str| t.parse::<u64>().ok();
        for (i, x) in toks.iter().enumerate() {
            let is_var = ctx
                .goal
                .hyp(x)
                .is_some_and(|h| Domain::of_type(h.ty.trim()).is_numeric());
            // `x ^ 2`, with its coefficient.
            if !is_var || at(i + 1) != "^" || at(i + 2) != "2" {
                continue;
            }
            let a = if at(i.wrapping_sub(1)) == "*" {
                number(at(i.wrapping_sub(2))).unwrap_or(1)
            } else {
                1
            };
            // `b * x` not squared, anywhere in the same text.
            let b = (0..toks.len()).find_map(|j| {
                (toks[j] == *x && at(j + 1) != "^" && at(j.wrapping_sub(1)) == "*")
                    .then(|| number(at(j.wrapping_sub(2))))
                    .flatten()
            });
            let Some(b) = b else { continue };
            let (lhs, c) = if a == 1 && b % 2 == 0 {
                (x.to_string(), b / 2)
            } else {
                (format!("{} * {x}", 2 * a), b)
            };
            for h in [
                format!("sq_nonneg ({lhs} - {c})"),
                format!("sq_nonneg ({lhs} + {c})"),
            ] {
                if !hints.contains(&h) {
                    hints.push(h);
                }
            }
        }
    }
    hints.truncate(4);
    if !hints.is_empty() {
        out.add(format!("nlinarith [{}]", hints.join(", ")), PLAUSIBLE);
    }
}

/// `⌊e⌋ = n`: `int.floor_eq_iff` turns it into two inequalities.
fn floors(ctx: &Ctx, out: &mut Candidates) {
    if let Shape::Rel(op, lhs, _) = &ctx.target
        && op == "="
        && strip_parens(lhs).starts_with('⌊')
    {
        out.add("norm_num [int.floor_eq_iff]", LIKELY);
        out.add("rw int.floor_eq_iff", PLAUSIBLE);
    }
}

/// The terms `e` inside `|e|` in a text.
fn abs_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('|') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('|') else { break };
        let inner = after[..end].trim();
        if !inner.is_empty() && !out.iter().any(|o| o == inner) {
            out.push(inner.to_owned());
        }
        rest = &after[end + 1..];
    }
    out
}

/// `|e|`: split on its sign (`abs_choice`), or unfold `|e| < c` / `|e| ≤ c` into two bounds.
fn absolute_values(ctx: &Ctx, out: &mut Candidates) {
    let mut terms = abs_terms(&ctx.goal.target);
    for h in ctx.facts() {
        for t in abs_terms(&h.hyp.ty) {
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        if let Shape::Rel(op, l, _) = &h.shape
            && strip_parens(l).starts_with('|')
        {
            match op.as_str() {
                "<" => out.add(format!("rw abs_lt at {}", h.hyp.name), LIKELY),
                "≤" => out.add(format!("rw abs_le at {}", h.hyp.name), LIKELY),
                _ => {}
            }
        }
    }
    if let Shape::Rel(op, l, _) = &ctx.target
        && strip_parens(l).starts_with('|')
    {
        match op.as_str() {
            "<" => out.add("rw abs_lt", LIKELY),
            "≤" => out.add("rw abs_le", LIKELY),
            _ => {}
        }
    }
    // Split on the sign of each `|e|` and finish linearly in every case: one tactic that
    // either closes the goal or fails, instead of a case split the search must then finish.
    if ctx.domain.is_ordered_ring() {
        let finish = if matches!(ctx.target, Shape::And(..)) {
            "split; linarith"
        } else {
            "linarith"
        };
        let splits: Vec<String> = terms
            .iter()
            .take(2)
            .map(|t| {
                let (h1, h2) = (ctx.fresh("h"), ctx.fresh("h"));
                format!("rcases abs_cases ({t}) with ⟨{h1}, {h2}⟩ | ⟨{h1}, {h2}⟩")
            })
            .collect();
        ctx.reset_fresh();
        if let Some(first) = splits.first() {
            out.add(format!("{first}; {finish}"), LIKELY);
        }
        if let [first, second] = splits.as_slice() {
            out.add(format!("{first}; {second}; {finish}"), PLAUSIBLE);
        }
    }
    for t in terms.into_iter().take(2) {
        let h = ctx.fresh("h");
        ctx.reset_fresh();
        out.add(format!("cases abs_choice ({t}) with {h} {h}"), PLAUSIBLE);
    }
}
