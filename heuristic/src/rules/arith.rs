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
    modular_inverse(ctx, out);
    residue_cases(ctx, out);
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
        let Some((y, c_val, _)) = remainder_equation(&h.shape) else {
            continue;
        };
        let c = c_val.to_string();
        if c_val != a_val && c_val % a_val == 0 && same_term(&x, &y) {
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

/// `n = c` (with `n < m`) or `n % m = c` from `h : a * n % m = b` on ℕ, where `a` is
/// invertible modulo `m`: multiplying by the inverse `a'` (`a * a' = 1 + m * k`) gives
/// `a * n * a' % m = n % m`, and `nat.mul_mod` with `h` turns the left side into `b * a' % m`,
/// a number.
fn modular_inverse(ctx: &Ctx, out: &mut Candidates) {
    use crate::framework::poly::{Atoms, read};
    use num_traits::{ToPrimitive, Zero};
    if ctx.domain != Domain::Nat {
        return;
    }
    let Shape::Rel(op, lhs, rhs) = &ctx.target else {
        return;
    };
    if op != "=" {
        return;
    }
    for h in ctx.facts() {
        let Some((product, m, hr)) = remainder_equation(&h.shape) else {
            continue;
        };
        let Ok(b) = strip_parens(hr).parse::<u64>() else {
            continue;
        };
        let mut atoms = Atoms::default();
        let Some(p) = read(&product, &mut atoms) else {
            continue;
        };
        let [x] = p.atoms()[..] else { continue };
        let n = atoms.name(x).to_owned();
        let Some(coeffs) = p.univariate(x) else {
            continue;
        };
        let [c0, a] = &coeffs[..] else { continue };
        let Some(a) = a.is_integer().then(|| a.to_integer().to_u64()).flatten() else {
            continue;
        };
        if !c0.is_zero() || m < 2 || !ctx.goal.has_name(&n) {
            continue;
        }
        let Some(inverse) = inverse_mod(a, m) else {
            continue;
        };
        let value = (b as u128 * inverse as u128 % m as u128) as u64;
        let k = (a as u128 * inverse as u128 - 1) / m as u128;
        let key = ctx.fresh("key");
        ctx.reset_fresh();
        let derive = format!(
            "have {key} : {product} * {inverse} % {m} = {n} % {m}, \
             {{ rw (show {product} * {inverse} = {n} + {m} * ({k} * {n}), by ring), simp }}"
        );
        let target_is = |l: &str, r: &str| strip_parens(l) == n && r.trim().parse() == Ok(value);
        let target_mod = |l: &str, r: &str| {
            Term::new(strip_parens(l)).split_last("%") == Some((n.clone(), m.to_string()))
                && r.trim().parse() == Ok(value)
        };
        if target_is(lhs, rhs) || target_is(rhs, lhs) {
            // The bound `n < m` makes `n % m` be `n`.
            let bound = ctx.facts().find(|b| {
                matches!(&b.shape, Shape::Rel(bop, bl, br)
                    if bop == "<" && strip_parens(bl) == n && strip_parens(br) == m.to_string())
            });
            if let Some(bound) = bound {
                out.add(
                    format!(
                        "{{ {derive}, rw [nat.mul_mod, {name}, nat.mod_eq_of_lt {bound}] at {key}, \
                         norm_num at {key}, linarith }}",
                        name = h.hyp.name,
                        bound = bound.hyp.name
                    ),
                    OBVIOUS,
                );
            }
        } else if target_mod(lhs, rhs) || target_mod(rhs, lhs) {
            out.add(
                format!(
                    "{{ {derive}, rw [nat.mul_mod, {name}] at {key}, norm_num at {key}, linarith }}",
                    name = h.hyp.name
                ),
                OBVIOUS,
            );
        }
    }
}

/// Remainders of a polynomial in one variable modulo a small `m` (`a ^ 2 % 4 = 0 ∨ …`,
/// `(n ^ 3 + 2 * n) % 3 = 0`, `3 ∣ n ^ 3 + 2 * n`): one case per residue of the variable,
/// each decided by `norm_num` through `add_mod`/`mul_mod`. Only for `m ≤ 10`:
/// `interval_cases` with more cases runs out of the per-tactic budget.
fn residue_cases(ctx: &Ctx, out: &mut Candidates) {
    let (lemmas, ty, dvd) = match ctx.domain {
        Domain::Nat => ("nat.add_mod, nat.mul_mod", "ℕ", "nat.dvd_iff_mod_eq_zero"),
        Domain::Int => (
            "int.add_mod, int.sub_mod, int.mul_mod",
            "ℤ",
            "int.dvd_iff_mod_eq_zero",
        ),
        _ => return,
    };
    let [x] = &ctx.target_vars[..] else { return };
    if ctx.goal.hyp(x).map(|h| h.ty.trim()) != Some(ty) {
        return;
    }
    let toks: Vec<&str> = Term::new(&ctx.goal.target).token_texts().collect();
    const ALLOWED: &[&str] = &[
        "+", "*", "^", "%", "=", "≠", "∨", "∧", "(", ")", "<", "≤", "¬", "∣",
    ];
    let numeral = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    // Subtraction truncates on ℕ; exponents must be numerals for `pow_succ` to unfold.
    let polynomial = toks
        .iter()
        .all(|t| t == x || ALLOWED.contains(t) || numeral(t) || (*t == "-" && ty == "ℤ"))
        && toks.windows(2).all(|w| w[0] != "^" || numeral(w[1]));
    // `m ∣ p`: as `p % m = 0`.
    let divides = match &ctx.target {
        Shape::Rel(op, l, _) if op == "∣" => strip_parens(l).parse::<u64>().ok(),
        _ => None,
    };
    let mut moduli: Vec<u64> = toks
        .windows(2)
        .filter(|w| w[0] == "%")
        .filter_map(|w| w[1].parse().ok())
        .collect();
    moduli.extend(divides);
    let Some(&m) = moduli.first() else { return };
    if !polynomial || !(2..=10).contains(&m) || moduli.iter().any(|&k| k != m) {
        return;
    }
    if toks.contains(&"∣") && divides.is_none() {
        return;
    }
    let (lo, hi, h) = (ctx.fresh("hlo"), ctx.fresh("hhi"), ctx.fresh("h"));
    ctx.reset_fresh();
    let bounds = match ctx.domain {
        Domain::Int => format!(
            "have {lo} := int.mod_nonneg {x} (by norm_num : ({m} : ℤ) ≠ 0), \
             have {hi} := int.mod_lt_of_pos {x} (by norm_num : (0 : ℤ) < {m})"
        ),
        _ => format!("have {hi} := nat.mod_lt {x} (by norm_num : {m} > 0)"),
    };
    let rewrite = if divides.is_some() {
        format!("rw {dvd}, ")
    } else {
        String::new()
    };
    out.add(
        format!(
            "{{ {rewrite}{bounds}, interval_cases ({x} % {m}) with {h}; \
             norm_num [pow_succ, {lemmas}, {h}] }}"
        ),
        LIKELY,
    );
}

/// `a⁻¹ mod m`, when `a` and `m` are coprime.
fn inverse_mod(a: u64, m: u64) -> Option<u64> {
    // Extended Euclid on (a, m), tracking a's coefficient.
    let (mut r0, mut r1) = (i128::from(a % m), i128::from(m));
    let (mut s0, mut s1) = (1i128, 0i128);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (s0, s1) = (s1, s0 - q * s1);
    }
    (r0 == 1).then(|| s0.rem_euclid(i128::from(m)) as u64)
}

/// `x % m = rhs` with a numeral `m`: `x`, `m` and `rhs`.
fn remainder_equation(shape: &Shape) -> Option<(String, u64, &str)> {
    let Shape::Rel(op, l, r) = shape else {
        return None;
    };
    let (x, m) = Term::new(strip_parens(l)).split_last("%")?;
    (op == "=").then_some(())?;
    Some((x, m.parse().ok()?, r))
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
