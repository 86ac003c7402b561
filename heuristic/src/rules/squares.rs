//! Squares completed from the goal's polynomial. For `p ≤ q` (or `<`, `≥`, `>`) over ℤ, ℚ or
//! ℝ, `q - p` is read as a polynomial, with the variables that hypotheses `v = e` define
//! replaced by `e`; when it is a positive semidefinite quadratic form (in the variables, or in
//! monomials such as `x * y` for a quartic), the linear forms whose squares it is a sum of make
//! `nlinarith [sq_nonneg (l₁ : ℝ), …]` a certificate rather than a guess. When it is not, one hypothesis may make it so: `q - p + λ (a - b)` for `a = b`, or
//! `q - p - μ (b - a)` for `a ≤ b` (μ > 0), with a few small multipliers tried.

use num_rational::BigRational;

use crate::framework::candidates::{Candidates, LIKELY, OBVIOUS};
use crate::framework::context::{Ctx, Domain};
use crate::framework::poly::{Atoms, Poly, linear_text, monomial_squares, read};
use crate::framework::term::{Shape, strip_parens};

/// More hints than this make `nlinarith`'s products slow.
const MAX_HINTS: usize = 4;

pub(crate) fn completed_squares(ctx: &Ctx, out: &mut Candidates) {
    let ty = match ctx.domain {
        Domain::Int => "ℤ",
        Domain::Rat => "ℚ",
        Domain::Real => "ℝ",
        _ => return,
    };
    if !ctx.mathlib {
        return;
    }
    let Shape::Rel(op, l, r) = &ctx.target else {
        return;
    };
    let (small, big) = match op.as_str() {
        "≤" | "<" => (l, r),
        "≥" | ">" => (r, l),
        _ => return,
    };
    if ctx.rounding_division(&ctx.goal.target) {
        return;
    }
    let mut atoms = Atoms::default();
    let (Some(s), Some(b)) = (read(small, &mut atoms), read(big, &mut atoms)) else {
        return;
    };
    let mut p = b.sub(&s);
    substitute_definitions(ctx, &mut atoms, &mut p);
    if let Some((names, forms)) = monomial_squares(&p, &atoms) {
        if let Some(hints) = hint_list(&forms, &names, ty) {
            out.add(format!("nlinarith [{hints}]"), OBVIOUS);
        }
        return;
    }
    // One hypothesis times a multiplier.
    for h in ctx.facts() {
        let Shape::Rel(hop, hl, hr) = &h.shape else {
            continue;
        };
        let (Some(a), Some(b)) = (read(hl, &mut atoms), read(hr, &mut atoms)) else {
            continue;
        };
        // `g = 0` or `g ≥ 0` (the sign a multiplier may take follows).
        let (g, any_sign) = match hop.as_str() {
            "=" => (a.sub(&b), true),
            "≤" | "<" => (b.sub(&a), false),
            "≥" | ">" => (a.sub(&b), false),
            _ => continue,
        };
        if g.degree() == 0 || g.degree() > 2 {
            continue;
        }
        for k in multipliers(any_sign) {
            let Some((names, forms)) = monomial_squares(&p.sub(&g.scale(&k)), &atoms) else {
                continue;
            };
            if let Some(hints) = hint_list(&forms, &names, ty) {
                out.add(format!("nlinarith [{hints}]"), LIKELY);
                return;
            }
        }
    }
}

/// Replaces the variables of `p` that a hypothesis `v = e` (or `e = v`) defines, `v` not in
/// `e`.
fn substitute_definitions(ctx: &Ctx, atoms: &mut Atoms, p: &mut Poly) {
    for h in ctx.facts() {
        let Shape::Rel(hop, hl, hr) = &h.shape else {
            continue;
        };
        if hop != "=" {
            continue;
        }
        for (v, e) in [(hl, hr), (hr, hl)] {
            let v = strip_parens(v);
            let Some(atom) = atoms.find(v) else { continue };
            if !ctx.goal.has_name(v) || !p.atoms().contains(&atom) {
                continue;
            }
            let Some(e) = read(e, atoms) else { continue };
            if e.atoms().contains(&atom) {
                continue;
            }
            if let Some(q) = p.substitute(atom, &e) {
                *p = q;
                break;
            }
        }
    }
}

/// `λ` to try: small positive numbers and their halves, and their negatives for equalities.
fn multipliers(any_sign: bool) -> Vec<BigRational> {
    let mut out = Vec::new();
    for (n, d) in [(1, 1), (1, 2), (2, 1), (1, 4), (4, 1), (1, 3), (3, 1)] {
        let k = BigRational::new(n.into(), d.into());
        if any_sign {
            out.push(-k.clone());
        }
        out.push(k);
    }
    out
}

/// `sq_nonneg (l₁ : ℝ), …` for the linear forms, when there are few enough.
fn hint_list(forms: &[Poly], atoms: &Atoms, ty: &str) -> Option<String> {
    if forms.len() > MAX_HINTS {
        return None;
    }
    let hints: Option<Vec<String>> = forms
        .iter()
        .map(|f| linear_text(f, atoms).map(|t| format!("sq_nonneg ({t} : {ty})")))
        .collect();
    Some(hints?.join(", "))
}
