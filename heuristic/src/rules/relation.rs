//! Moves for a target `lhs op rhs`: arithmetic decision, rewriting, `linarith`, `nlinarith` hints.

use crate::framework::candidates::{
    CERTAIN, Candidates, LIKELY, LONG_SHOT, PLAUSIBLE, POSSIBLE, UNLIKELY,
};
use crate::framework::context::{Ctx, Domain};
use crate::framework::predicates::{is_arith_rel, is_order_rel};
use crate::framework::term::{Shape, Term, same_term, shape, strip_parens};

/// Candidates for `lhs op rhs`.
pub(crate) fn by_relation(ctx: &Ctx, out: &mut Candidates, op: &str, lhs: &str, rhs: &str) {
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
pub(crate) fn field_simp_with(ctx: &Ctx, suffix: &str) -> String {
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
            // `x ≠ -2` says that the denominator `x + 2` is not zero (as Lean writes it; the
            // form `x - -2` that `sub_ne_zero` gives is not what `field_simp` sees).
            Shape::Rel(op, l, r) if op == "≠" && is_negative_numeral(r) => Some(format!(
                "(show {} + {} ≠ 0, by {{ intro h', apply {}, linarith }})",
                l.trim(),
                strip_parens(r).trim_start_matches('-').trim(),
                h.hyp.name
            )),
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

/// `-2`, `(-3)`, `- 5`.
fn is_negative_numeral(text: &str) -> bool {
    strip_parens(text)
        .strip_prefix('-')
        .is_some_and(|n| !n.trim().is_empty() && n.trim().bytes().all(|b| b.is_ascii_digit()))
}

/// Whether the term multiplies two variables (`a * b`, `x * x`): `linarith` will not do.
pub(crate) fn product_of_vars(term: &Term, ctx: &Ctx) -> bool {
    let toks: Vec<&str> = term.token_texts().collect();
    toks.windows(3)
        .any(|w| w[1] == "*" && ctx.goal.has_name(w[0]) && (ctx.goal.has_name(w[2]) || w[2] == "("))
        || toks.windows(2).any(|w| w[0] == ")" && w[1] == "*")
}

/// `sq_nonneg (a - b), sq_nonneg (a + b), …` for the numeric variables of the target (or of
/// the hypotheses when the target has none).
pub(crate) fn square_hints(ctx: &Ctx) -> Option<String> {
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
