//! `x = r` from a polynomial equation in `x` alone that `r` is a root of: the equation factors
//! as `(x - r) * q x = 0`, which `linarith` checks (it is the hypothesis, ring-normalized),
//! and `mul_eq_zero` splits it. The branch `x - r = 0` is the goal; the other is refuted by
//! the side conditions (`0 < x`), which is why the problem stated them.

use crate::framework::candidates::{Candidates, LIKELY, PLAUSIBLE};
use crate::framework::context::{Ctx, Domain};
use crate::framework::poly::{Atoms, Poly, divide_by_root, linear_text, read, scaled_text};
use crate::framework::term::{Shape, strip_parens};

pub(crate) fn factor_at_root(ctx: &Ctx, out: &mut Candidates) {
    if !ctx.mathlib || !matches!(ctx.domain, Domain::Int | Domain::Rat | Domain::Real) {
        return;
    }
    // `/` on ℤ rounds: the reader's division is a field's.
    let int_division = |text: &str| ctx.domain == Domain::Int && text.contains('/');
    let Shape::Rel(op, l, r) = &ctx.target else {
        return;
    };
    if op != "=" {
        return;
    }
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
        if hop != "=" || int_division(&h.hyp.ty) {
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
