//! Equations that factor. `x = r` from a polynomial equation in `x` alone that `r` is a root
//! of: the equation is `(x - r) * q x = 0`, which `linarith` checks (it is the hypothesis,
//! ring-normalized), and `mul_eq_zero` splits it. The branch `x - r = 0` is the goal; the
//! other is refuted by the side conditions (`0 < x`), which is why the problem stated them.
//! And `L = R` from an equation that is `(u - v) * (L - R) = 0` up to a constant, with
//! `u ≠ v` (or `0 < u`, `u ≠ 0`) among the hypotheses: the factor that cannot vanish is
//! cancelled (`x + 2 / x = y + 2 / y`, `x ≠ y`, cleared of denominators, gives `x * y = 2`).

use num_traits::Zero;

use crate::framework::candidates::{Candidates, LIKELY, OBVIOUS, PLAUSIBLE};
use crate::framework::context::{Ctx, Domain};
use crate::framework::poly::{Atoms, Poly, divide_by_root, linear_text, read, scaled_text};
use crate::framework::term::{Shape, strip_parens};

/// The sides of an equation target over ℤ, ℚ or ℝ that the polynomial reader may read.
fn equation_target<'c>(ctx: &'c Ctx) -> Option<(&'c str, &'c str)> {
    if !ctx.mathlib
        || !matches!(ctx.domain, Domain::Int | Domain::Rat | Domain::Real)
        || ctx.rounding_division(&ctx.goal.target)
    {
        return None;
    }
    match &ctx.target {
        Shape::Rel(op, l, r) if op == "=" => Some((l, r)),
        _ => None,
    }
}

pub(crate) fn factor_at_root(ctx: &Ctx, out: &mut Candidates) {
    let Some((l, r)) = equation_target(ctx) else {
        return;
    };
    let mut atoms = Atoms::default();
    // `x = r` or `r = x`, `r` a number.
    let Some((x, root)) = [(l, r), (r, l)].into_iter().find_map(|(v, c)| {
        let v = strip_parens(v);
        ctx.goal.has_name(v).then_some(())?;
        let root = read(c, &mut atoms)?.as_constant()?;
        let x = read(v, &mut atoms)?.atoms();
        (x.len() == 1).then(|| (x[0], root))
    }) else {
        return;
    };
    for h in ctx.facts() {
        let Shape::Rel(hop, a, b) = &h.shape else {
            continue;
        };
        if hop != "=" || ctx.rounding_division(&h.hyp.ty) {
            continue;
        }
        let (Some(a), Some(b)) = (read(a, &mut atoms), read(b, &mut atoms)) else {
            continue;
        };
        let p = a.sub(&b);
        if !(2..=4).contains(&p.degree()) || p.atoms() != [x] {
            continue;
        }
        let Some(quotient) = p.univariate(x).and_then(|c| divide_by_root(&c, &root)) else {
            continue;
        };
        let factor = Poly::from_univariate(x, &[-root.clone(), num_traits::One::one()]);
        let (Some(factor), Some(quotient)) = (
            linear_text(&factor, &atoms),
            scaled_text(&Poly::from_univariate(x, &quotient), &atoms),
        ) else {
            continue;
        };
        let name = ctx.fresh("h");
        ctx.reset_fresh();
        let split = format!(
            "rcases mul_eq_zero.mp (show ({factor}) * ({quotient}) = 0, by linarith) \
             with {name} | {name}"
        );
        out.add(format!("{split}; linarith"), LIKELY);
        out.add(split, PLAUSIBLE);
        return;
    }
}

pub(crate) fn cancel_nonzero_factor(ctx: &Ctx, out: &mut Candidates) {
    let Some((l, r)) = equation_target(ctx) else {
        return;
    };
    let mut atoms = Atoms::default();
    let (Some(lp), Some(rp)) = (read(l, &mut atoms), read(r, &mut atoms)) else {
        return;
    };
    let t = lp.sub(&rp);
    if t.degree() == 0 {
        return;
    }
    // Factors known not to vanish: the text of the factor and how its branch is closed.
    let mut factors: Vec<(String, Poly, String)> = Vec::new();
    for h in ctx.facts() {
        let Shape::Rel(hop, u, v) = &h.shape else {
            continue;
        };
        let (Some(up), Some(vp)) = (read(u, &mut atoms), read(v, &mut atoms)) else {
            continue;
        };
        let name = &h.hyp.name;
        match hop.as_str() {
            "≠" if vp.degree() == 0 && vp.as_constant().is_some_and(|c| c.is_zero()) => {
                factors.push((u.trim().to_owned(), up, format!("exact absurd h {name}")));
            }
            "≠" => factors.push((
                format!("{} - {}", u.trim(), v.trim()),
                up.sub(&vp),
                format!("exact absurd (sub_eq_zero.mp h) {name}"),
            )),
            // `0 < u` and `u > 0`: `u = 0` contradicts it.
            "<" if up.as_constant().is_some_and(|c| c.is_zero()) => {
                factors.push((v.trim().to_owned(), vp, "linarith".to_owned()))
            }
            ">" if vp.as_constant().is_some_and(|c| c.is_zero()) => {
                factors.push((u.trim().to_owned(), up, "linarith".to_owned()))
            }
            _ => {}
        }
    }
    for h in ctx.facts() {
        let Shape::Rel(hop, a, b) = &h.shape else {
            continue;
        };
        if hop != "=" || ctx.rounding_division(&h.hyp.ty) {
            continue;
        }
        let (Some(ap), Some(bp)) = (read(a, &mut atoms), read(b, &mut atoms)) else {
            continue;
        };
        let e = ap.sub(&bp);
        for (text, d, refute) in &factors {
            if d.degree() == 0 {
                continue;
            }
            let Some(product) = d.mul(&t) else { continue };
            if e.multiple_of(&product).is_some() {
                out.add(
                    format!(
                        "rcases mul_eq_zero.mp (show ({text}) * ({} - ({})) = 0, by linarith) \
                         with h | h; [{refute}, linarith]",
                        l.trim(),
                        r.trim()
                    ),
                    OBVIOUS,
                );
                return;
            }
        }
    }
}
