//! Steps through named lemmas: order transitivity and antisymmetry, and, for core Lean 3
//! (which has no `linarith`, `ring` or `omega`), the `nat`/`int` lemmas that do their work:
//! monotonicity of successor and addition, cancellation, simp sets for successors and for
//! commutative normalization.

use crate::framework::candidates::{Candidates, LIKELY, OBVIOUS, PLAUSIBLE, POSSIBLE};
use crate::framework::context::{Ctx, Domain};
use crate::framework::term::{Shape, Term, same_term, strip_parens};

/// `a < b`, `a ≤ b`, `a > b`, `a ≥ b` as (smaller, strict, larger).
fn order(shape: &Shape) -> Option<(String, bool, String)> {
    let Shape::Rel(op, l, r) = shape else {
        return None;
    };
    let (l, r) = (strip_parens(l).to_owned(), strip_parens(r).to_owned());
    match op.as_str() {
        "<" => Some((l, true, r)),
        "≤" => Some((l, false, r)),
        ">" => Some((r, true, l)),
        "≥" => Some((r, false, l)),
        _ => None,
    }
}

/// Transitivity, `le_of_lt`, `ne_of_lt`, antisymmetry, from pairs of order hypotheses.
pub(crate) fn order_steps(ctx: &Ctx, out: &mut Candidates) {
    let facts: Vec<(&str, (String, bool, String))> = ctx
        .facts()
        .filter_map(|h| order(&h.shape).map(|o| (h.hyp.name.as_str(), o)))
        .collect();
    if let Some((a, strict, c)) = order(&ctx.target) {
        for (h1, (x, s1, y)) in &facts {
            if same_term(x, &a) && same_term(y, &c) && *s1 && !strict {
                out.add(format!("exact le_of_lt {h1}"), OBVIOUS);
            }
            for (h2, (y2, s2, z)) in &facts {
                if h1 == h2 || !same_term(x, &a) || !same_term(y, y2) || !same_term(z, &c) {
                    continue;
                }
                let lemma = match (s1, s2) {
                    (true, true) => "lt_trans",
                    (true, false) => "lt_of_lt_of_le",
                    (false, true) => "lt_of_le_of_lt",
                    (false, false) if !strict => "le_trans",
                    (false, false) => continue,
                };
                let proof = format!("{lemma} {h1} {h2}");
                if !strict && (*s1 || *s2) {
                    out.add(format!("exact le_of_lt ({proof})"), OBVIOUS);
                } else {
                    out.add(format!("exact {proof}"), OBVIOUS);
                }
            }
        }
    }
    if let Shape::Rel(op, l, r) = &ctx.target {
        match op.as_str() {
            "=" => {
                let up = facts
                    .iter()
                    .find(|(_, (x, s, y))| !s && same_term(x, l) && same_term(y, r));
                let down = facts
                    .iter()
                    .find(|(_, (x, s, y))| !s && same_term(x, r) && same_term(y, l));
                if let (Some((h1, _)), Some((h2, _))) = (up, down) {
                    out.add(format!("exact le_antisymm {h1} {h2}"), OBVIOUS);
                }
            }
            "≠" => {
                for (h, (x, s, y)) in &facts {
                    if *s && same_term(x, l) && same_term(y, r) {
                        out.add(format!("exact ne_of_lt {h}"), OBVIOUS);
                    }
                    if *s && same_term(x, r) && same_term(y, l) {
                        out.add(format!("exact ne_of_gt {h}"), OBVIOUS);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `x + 1`, `x.succ`, `nat.succ x`: the `x`.
fn predecessor(term: &str) -> Option<&str> {
    let t = strip_parens(term);
    if let Some(x) = t.strip_suffix("+ 1") {
        return Some(x.trim());
    }
    if let Some(x) = t.strip_suffix(".succ") {
        return Some(strip_parens(x));
    }
    t.strip_prefix("nat.succ ").map(strip_parens)
}

/// The two operands of a top-level binary operator `op` (`a + b` → (`a`, `b`)), splitting at
/// the last top-level occurrence (the operators are left-associative).
fn binary<'t>(term: &'t str, op: &str) -> Option<(&'t str, &'t str)> {
    let t = strip_parens(term);
    let tm = Term::new(t);
    let mut depth = 0i32;
    let mut at = None;
    for (i, tok) in tm.tokens.iter().enumerate() {
        let text = &t[tok.start..tok.end];
        match text {
            "(" | "[" | "⟨" | "{" => depth += 1,
            ")" | "]" | "⟩" | "}" => depth -= 1,
            _ if depth == 0 && text == op && i > 0 => at = Some(tok.start..tok.end),
            _ => {}
        }
    }
    let at = at?;
    Some((t[..at.start].trim(), t[at.end..].trim()))
}

/// Core Lean 3 lemma steps for goals over `ℕ` and `ℤ`.
pub(crate) fn core_arith_steps(ctx: &Ctx, out: &mut Candidates) {
    if ctx.mathlib {
        return;
    }
    let target = ctx.goal.target.as_str();
    let nat = ctx.domain == Domain::Nat;
    let int = ctx.domain == Domain::Int;
    if let Some((a, strict, b)) = order(&ctx.target).filter(|_| nat) {
        if let (Some(_), Some(_)) = (predecessor(&a), predecessor(&b)) {
            let lemma = if strict {
                "nat.succ_lt_succ"
            } else {
                "nat.succ_le_succ"
            };
            out.add(format!("apply {lemma}"), LIKELY);
        }
        if strict && predecessor(&b).is_some() {
            out.add("apply nat.lt_succ_of_le", PLAUSIBLE);
        }
        if strict && strip_parens(&a) == "0" {
            if predecessor(&b).is_some() {
                out.add("apply nat.succ_pos", LIKELY);
            }
            let nonzero = ctx.facts().find(|h| {
                matches!(&h.shape, Shape::Rel(op, l, r)
                    if op == "≠" && same_term(l, &b) && strip_parens(r) == "0")
            });
            match nonzero {
                Some(h) => out.add(format!("exact nat.pos_of_ne_zero {}", h.hyp.name), OBVIOUS),
                None => out.add("apply nat.pos_of_ne_zero", POSSIBLE),
            }
        }
        if let (Some((_, m)), true) = (binary(&a, "%"), strict)
            && same_term(m, &b)
        {
            out.add("apply nat.mod_lt", LIKELY);
        }
        if binary(&a, "+").is_some() && binary(&b, "+").is_some() {
            let lemma = if strict {
                "nat.add_lt_add"
            } else {
                "nat.add_le_add"
            };
            out.add(format!("apply {lemma}"), PLAUSIBLE);
        }
        if binary(&a, "*").is_some() && binary(&b, "*").is_some() && !strict {
            out.add("apply nat.mul_le_mul", POSSIBLE);
        }
        if let Some((x, _)) = binary(&b, "+")
            && same_term(x, &a)
        {
            out.add("apply nat.le_add_right", PLAUSIBLE);
        }
        if let Some((_, y)) = binary(&b, "+")
            && same_term(y, &a)
        {
            out.add("apply nat.le_add_left", PLAUSIBLE);
        }
        if predecessor(&b).is_some_and(|p| same_term(p, &a)) {
            let lemma = if strict {
                "nat.lt_succ_self"
            } else {
                "nat.le_succ"
            };
            out.add(format!("apply {lemma}"), OBVIOUS);
        }
    }
    if let Shape::Rel(op, x, y) = &ctx.target
        && op == "="
        && (nat || int)
    {
        cancellation(ctx, out, x, y, nat);
        if !ctx.target_closed() {
            out.add(normalize_ac(nat), PLAUSIBLE);
        }
    }
    // Successor arithmetic, with the induction hypotheses.
    if nat && (target.contains("succ") || ctx.goal.hyps.iter().any(|h| h.name.starts_with("ih"))) {
        let ihs: Vec<&str> = ctx
            .facts()
            .filter(|h| h.hyp.name.starts_with("ih") && matches!(h.shape, Shape::Rel(..)))
            .map(|h| h.hyp.name.as_str())
            .collect();
        let succ = "nat.add_succ, nat.succ_add, nat.mul_succ, nat.succ_mul, nat.succ_sub_succ";
        if ihs.is_empty() {
            out.add(format!("simp [{succ}]"), PLAUSIBLE);
        } else {
            out.add(format!("simp [{succ}, {}]", ihs.join(", ")), LIKELY);
            out.add(format!("simp [{succ}]"), POSSIBLE);
        }
    }
}

/// `simp` with commutativity, associativity and distributivity: normalizes both sides of a
/// polynomial identity (core has no `ring`).
fn normalize_ac(nat: bool) -> String {
    if nat {
        "simp [nat.add_comm, nat.add_assoc, nat.add_left_comm, nat.mul_comm, nat.mul_assoc, \
         nat.left_distrib, nat.right_distrib]"
            .to_owned()
    } else {
        "simp [int.add_comm, int.add_assoc, int.add_left_comm, int.mul_comm, int.mul_assoc, \
         int.distrib_left, int.distrib_right, int.add_right_neg, int.add_left_neg, int.sub_self]"
            .to_owned()
    }
}

/// `x = y` from a hypothesis `x + t = y + t`, `t + x = t + y`, `c * x = c * y`,
/// `x + 1 = y + 1` or `x - y = 0`.
fn cancellation(ctx: &Ctx, out: &mut Candidates, x: &str, y: &str, nat: bool) {
    for h in ctx.facts() {
        let Shape::Rel(op, l, r) = &h.shape else {
            continue;
        };
        if op != "=" {
            continue;
        }
        let name = &h.hyp.name;
        if let (Some(a), Some(b)) = (predecessor(l), predecessor(r))
            && same_term(a, x)
            && same_term(b, y)
        {
            out.add(format!("cases {name}"), PLAUSIBLE);
            if nat {
                out.add(format!("exact nat.succ.inj {name}"), OBVIOUS);
            }
        }
        if nat {
            if let (Some((a, t1)), Some((b, t2))) = (binary(l, "+"), binary(r, "+")) {
                if same_term(a, x) && same_term(b, y) && same_term(t1, t2) {
                    out.add(format!("exact nat.add_right_cancel {name}"), OBVIOUS);
                }
                if same_term(t1, x) && same_term(t2, y) && same_term(a, b) {
                    out.add(format!("exact nat.add_left_cancel {name}"), OBVIOUS);
                }
            }
            if let (Some((c1, a)), Some((c2, b))) = (binary(l, "*"), binary(r, "*"))
                && same_term(a, x)
                && same_term(b, y)
                && same_term(c1, c2)
            {
                out.add(
                    format!("exact nat.eq_of_mul_eq_mul_left dec_trivial {name}"),
                    OBVIOUS,
                );
            }
        } else if let Some((a, b)) = binary(l, "-")
            && same_term(a, x)
            && same_term(b, y)
            && strip_parens(r) == "0"
        {
            out.add(format!("exact int.eq_of_sub_eq_zero {name}"), OBVIOUS);
        }
    }
}
