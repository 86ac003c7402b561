//! Polynomials over ℚ read from arithmetic terms as Lean prints them (`2 * a * (2 + c)`,
//! `x ^ 2 - 6 * x + 13`, `(a + 1) ^ 2 / 4`), and sums of squares for the quadratic ones.
//!
//! The reading is the one `linarith` makes of its input: `+ - * ^` with numeral exponents and
//! division by numbers are arithmetic, everything else (`f x`, `real.sqrt 2`, `↑n`) is an atom
//! compared by its text. A term outside that fragment (`|x|`, `∑ …`, `x / y`) is not read.
//! Rationals are exact (num-rational over big integers) so that a square completed here is the
//! square Lean will check.

use std::collections::BTreeMap;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use super::term::{TokenKind, tokenize};

/// A product of atoms with their exponents, sorted by atom.
pub(crate) type Monomial = Vec<(usize, u32)>;

/// A polynomial: monomials with their nonzero coefficients.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Poly {
    terms: BTreeMap<Monomial, BigRational>,
}

/// The atoms polynomials are over, by their text: one table per goal, so that `x` in the
/// target and `x` in a hypothesis are the same atom.
#[derive(Clone, Debug, Default)]
pub(crate) struct Atoms {
    names: Vec<String>,
}

impl Atoms {
    fn intern(&mut self, text: &str) -> usize {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        match self.names.iter().position(|n| *n == text) {
            Some(i) => i,
            None => {
                self.names.push(text);
                self.names.len() - 1
            }
        }
    }

    /// The atom's text, as read.
    pub(crate) fn name(&self, atom: usize) -> &str {
        &self.names[atom]
    }

    /// The atom for a text, if one was read.
    pub(crate) fn find(&self, text: &str) -> Option<usize> {
        self.names.iter().position(|n| n == text.trim())
    }
}

/// Exponents above this are not expanded (`x ^ 100` would be a monomial, but `(x + 1) ^ 100`
/// is a hundred terms nobody wants).
const MAX_EXPONENT: u32 = 8;

/// Polynomials with more terms than this are given up on: the squares are for small goals.
const MAX_TERMS: usize = 200;

impl Poly {
    pub(crate) fn constant(c: BigRational) -> Poly {
        let mut terms = BTreeMap::new();
        if !c.is_zero() {
            terms.insert(Vec::new(), c);
        }
        Poly { terms }
    }

    fn atom(i: usize) -> Poly {
        let mut terms = BTreeMap::new();
        terms.insert(vec![(i, 1)], BigRational::one());
        Poly { terms }
    }

    fn add_term(&mut self, m: Monomial, c: BigRational) {
        use std::collections::btree_map::Entry;
        match self.terms.entry(m) {
            Entry::Vacant(v) => {
                if !c.is_zero() {
                    v.insert(c);
                }
            }
            Entry::Occupied(mut o) => {
                *o.get_mut() += c;
                if o.get().is_zero() {
                    o.remove();
                }
            }
        }
    }

    pub(crate) fn add(&self, other: &Poly) -> Poly {
        let mut out = self.clone();
        for (m, c) in &other.terms {
            out.add_term(m.clone(), c.clone());
        }
        out
    }

    pub(crate) fn neg(&self) -> Poly {
        Poly {
            terms: self.terms.iter().map(|(m, c)| (m.clone(), -c)).collect(),
        }
    }

    pub(crate) fn sub(&self, other: &Poly) -> Poly {
        self.add(&other.neg())
    }

    pub(crate) fn scale(&self, k: &BigRational) -> Poly {
        if k.is_zero() {
            return Poly::default();
        }
        Poly {
            terms: self.terms.iter().map(|(m, c)| (m.clone(), c * k)).collect(),
        }
    }

    pub(crate) fn mul(&self, other: &Poly) -> Option<Poly> {
        if self.terms.len() * other.terms.len() > MAX_TERMS * 4 {
            return None;
        }
        let mut out = Poly::default();
        for (m1, c1) in &self.terms {
            for (m2, c2) in &other.terms {
                out.add_term(mul_monomials(m1, m2), c1 * c2);
            }
        }
        (out.terms.len() <= MAX_TERMS).then_some(out)
    }

    fn pow(&self, n: u32) -> Option<Poly> {
        let mut out = Poly::constant(BigRational::one());
        for _ in 0..n {
            out = out.mul(self)?;
        }
        Some(out)
    }

    /// The value, when the polynomial is a number.
    pub(crate) fn as_constant(&self) -> Option<BigRational> {
        match self.terms.len() {
            0 => Some(BigRational::zero()),
            1 => self.terms.get(&Vec::new()).cloned(),
            _ => None,
        }
    }

    /// The total degree (0 for numbers, including 0).
    pub(crate) fn degree(&self) -> u32 {
        self.terms
            .keys()
            .map(|m| m.iter().map(|(_, e)| e).sum())
            .max()
            .unwrap_or(0)
    }

    /// The atoms the polynomial mentions, in order.
    pub(crate) fn atoms(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self.terms.keys().flatten().map(|(a, _)| *a).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The coefficients `c₀, c₁, …` of a polynomial in the one atom `x`.
    pub(crate) fn univariate(&self, x: usize) -> Option<Vec<BigRational>> {
        let mut out = vec![BigRational::zero(); self.degree() as usize + 1];
        for (m, c) in &self.terms {
            match m.as_slice() {
                [] => out[0] = c.clone(),
                [(a, e)] if *a == x => out[*e as usize] = c.clone(),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The polynomial `Σ cᵢ xⁱ`.
    pub(crate) fn from_univariate(x: usize, coeffs: &[BigRational]) -> Poly {
        let mut out = Poly::default();
        for (i, c) in coeffs.iter().enumerate() {
            let m = if i == 0 {
                Vec::new()
            } else {
                vec![(x, i as u32)]
            };
            out.add_term(m, c.clone());
        }
        out
    }

    /// `λ` with `self = λ · other`, `λ ≠ 0`, when there is one.
    pub(crate) fn multiple_of(&self, other: &Poly) -> Option<BigRational> {
        let (m, c) = other.terms.iter().next()?;
        let k = self.terms.get(m)? / c;
        (!k.is_zero() && *self == other.scale(&k)).then_some(k)
    }

    /// The polynomial with the atom replaced by another polynomial.
    pub(crate) fn substitute(&self, atom: usize, by: &Poly) -> Option<Poly> {
        let mut out = Poly::default();
        for (m, c) in &self.terms {
            let mut rest = Poly::constant(c.clone());
            for &(a, e) in m {
                let factor = if a == atom {
                    by.pow(e)?
                } else {
                    Poly {
                        terms: BTreeMap::from([(vec![(a, e)], BigRational::one())]),
                    }
                };
                rest = rest.mul(&factor)?;
            }
            out = out.add(&rest);
        }
        (out.terms.len() <= MAX_TERMS).then_some(out)
    }
}

fn mul_monomials(a: &[(usize, u32)], b: &[(usize, u32)]) -> Monomial {
    let mut out: BTreeMap<usize, u32> = BTreeMap::new();
    for &(v, e) in a.iter().chain(b) {
        *out.entry(v).or_insert(0) += e;
    }
    out.into_iter().collect()
}

/// Reads an arithmetic term as a polynomial over the atoms (interned into `atoms`), or `None`
/// when it is not one: a relation, a division by a non-number, an unbalanced text.
pub(crate) fn read(text: &str, atoms: &mut Atoms) -> Option<Poly> {
    let tokens = tokenize(text);
    let toks: Vec<(TokenKind, &str)> = tokens
        .iter()
        .map(|t| (t.kind, &text[t.start..t.end]))
        .collect();
    let mut reader = Reader {
        text,
        tokens: &tokens,
        toks: &toks,
        pos: 0,
        atoms,
    };
    let p = reader.sum()?;
    (reader.pos == toks.len()).then_some(p)
}

struct Reader<'a, 'b> {
    text: &'a str,
    tokens: &'a [super::term::Token],
    toks: &'a [(TokenKind, &'a str)],
    pos: usize,
    atoms: &'b mut Atoms,
}

impl Reader<'_, '_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(|(_, s)| *s)
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.peek() == Some(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn sum(&mut self) -> Option<Poly> {
        let mut acc = self.product()?;
        loop {
            if self.eat("+") {
                acc = acc.add(&self.product()?);
            } else if self.eat("-") {
                acc = acc.sub(&self.product()?);
            } else {
                return Some(acc);
            }
        }
    }

    fn product(&mut self) -> Option<Poly> {
        let mut acc = self.unary()?;
        loop {
            if self.eat("*") {
                acc = acc.mul(&self.unary()?)?;
            } else if self.eat("/") {
                let d = self.unary()?.as_constant()?;
                if d.is_zero() {
                    return None;
                }
                acc = acc.scale(&d.recip());
            } else {
                return Some(acc);
            }
        }
    }

    fn unary(&mut self) -> Option<Poly> {
        if self.eat("-") {
            return Some(self.unary()?.neg());
        }
        self.power()
    }

    fn power(&mut self) -> Option<Poly> {
        let mut base = self.primary()?;
        loop {
            if self.eat("^") {
                let e = self.exponent()?;
                base = base.pow(e)?;
            } else if self.eat("⁻¹") {
                let c = base.as_constant()?;
                if c.is_zero() {
                    return None;
                }
                base = Poly::constant(c.recip());
            } else {
                return Some(base);
            }
        }
    }

    /// A numeral exponent, possibly ascribed (`(2 : ℕ)`).
    fn exponent(&mut self) -> Option<u32> {
        let e = match self.toks.get(self.pos)? {
            (TokenKind::Num, s) => {
                self.pos += 1;
                s.parse::<u32>().ok()?
            }
            (_, "(") => {
                let (TokenKind::Num, s) = self.toks.get(self.pos + 1)? else {
                    return None;
                };
                let e = s.parse::<u32>().ok()?;
                self.pos += 2;
                if self.eat(":") {
                    self.skip_type()?;
                }
                if !self.eat(")") {
                    return None;
                }
                e
            }
            _ => return None,
        };
        (e <= MAX_EXPONENT).then_some(e)
    }

    /// Skips a type after `:` up to (not including) the closing parenthesis.
    fn skip_type(&mut self) -> Option<()> {
        let mut depth = 0;
        while let Some((kind, _)) = self.toks.get(self.pos) {
            match kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close if depth == 0 => return Some(()),
                TokenKind::Close => depth -= 1,
                _ => {}
            }
            self.pos += 1;
        }
        None
    }

    fn primary(&mut self) -> Option<Poly> {
        let (kind, s) = *self.toks.get(self.pos)?;
        match kind {
            TokenKind::Num => {
                self.pos += 1;
                Some(Poly::constant(numeral(s)?))
            }
            TokenKind::Open if s == "(" => {
                self.pos += 1;
                let inner = self.sum()?;
                if self.eat(":") {
                    self.skip_type()?;
                }
                self.eat(")").then_some(inner)
            }
            TokenKind::Ident => {
                let start = self.pos;
                self.pos += 1;
                // An application binds tighter than any operator: `f x`, `real.sqrt 2`.
                while let Some((kind, s)) = self.toks.get(self.pos) {
                    match kind {
                        TokenKind::Ident | TokenKind::Num => self.pos += 1,
                        TokenKind::Open if *s == "(" => self.skip_group()?,
                        _ => break,
                    }
                }
                Some(Poly::atom(self.intern(start)))
            }
            TokenKind::Sym if s == "↑" => {
                let start = self.pos;
                self.pos += 1;
                match self.toks.get(self.pos)? {
                    (TokenKind::Ident, _) => self.pos += 1,
                    (TokenKind::Open, "(") => self.skip_group()?,
                    _ => return None,
                }
                Some(Poly::atom(self.intern(start)))
            }
            _ => None,
        }
    }

    /// Skips a bracketed group starting at an opening bracket.
    fn skip_group(&mut self) -> Option<()> {
        let mut depth = 0;
        while let Some((kind, _)) = self.toks.get(self.pos) {
            self.pos += 1;
            match kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn intern(&mut self, start: usize) -> usize {
        let text = &self.text[self.tokens[start].start..self.tokens[self.pos - 1].end];
        self.atoms.intern(text)
    }
}

/// `42`, `2.5`.
fn numeral(s: &str) -> Option<BigRational> {
    match s.split_once('.') {
        None => Some(BigRational::from_integer(s.parse().ok()?)),
        Some((int, frac)) => {
            let digits: BigInt = format!("{int}{frac}").parse().ok()?;
            let scale = num_traits::pow(BigInt::from(10), frac.len());
            Some(BigRational::new(digits, scale))
        }
    }
}

/// Linear forms `l₁ … lₖ` in the atoms of a polynomial of degree at most 2 such that the
/// polynomial is `Σ dᵢ lᵢ² + c` with every `dᵢ > 0` and `c ≥ 0`: the certificate that it is
/// never negative, so `linarith` closes `0 ≤ p` from the facts `0 ≤ lᵢ²`. `None` when the
/// quadratic form is not positive semidefinite (or the polynomial is not quadratic).
///
/// The squares come from the symmetric (LDLᵀ) elimination of the polynomial's matrix over
/// `(x₁, …, xₙ, 1)`, variables first so that the constant is what is left at the end.
pub(crate) fn quadratic_squares(p: &Poly) -> Option<Vec<Poly>> {
    if p.degree() != 2 {
        return None;
    }
    let vars = p.atoms();
    let n = vars.len();
    let mut m = vec![vec![BigRational::zero(); n + 1]; n + 1];
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    for (mono, c) in &p.terms {
        let index = |a: usize| vars.iter().position(|&v| v == a);
        match mono.as_slice() {
            [] => m[n][n] = c.clone(),
            [(a, 1)] => {
                let i = index(*a)?;
                m[i][n] = c * &half;
                m[n][i] = c * &half;
            }
            [(a, 2)] => {
                let i = index(*a)?;
                m[i][i] = c.clone();
            }
            [(a, 1), (b, 1)] => {
                let (i, j) = (index(*a)?, index(*b)?);
                m[i][j] = c * &half;
                m[j][i] = c * &half;
            }
            _ => return None,
        }
    }
    let mut squares = Vec::new();
    for k in 0..=n {
        let d = m[k][k].clone();
        if d.is_negative() {
            return None;
        }
        if d.is_zero() {
            // A zero pivot with a nonzero row: the form is indefinite.
            if (k + 1..=n).any(|j| !m[k][j].is_zero()) {
                return None;
            }
            continue;
        }
        if k == n {
            break;
        }
        let mut form = Poly::default();
        for j in k..=n {
            let c = &m[k][j] / &d;
            let term = if j == n {
                Poly::constant(c)
            } else {
                Poly::atom(vars[j]).scale(&c)
            };
            form = form.add(&term);
        }
        squares.push(form);
        for i in k + 1..=n {
            for j in k + 1..=n {
                let delta = &m[i][k] * &m[k][j] / &d;
                m[i][j] -= delta;
            }
        }
    }
    (!squares.is_empty()).then_some(squares)
}

/// Squares for polynomials of degree 4 and less whose monomials pair up: the polynomial read
/// as a quadratic form over half-monomials (`x * y` for `x ^ 2 * y ^ 2`, `x` for `x ^ 2`),
/// each monomial placed on the pair it is the product of, then [`quadratic_squares`]. The
/// returned atoms name the half-monomials (`x * y`) the forms are over. A monomial that is no
/// product of two half-monomials (the polynomial's squares' halves, and 1) gives `None`: the
/// form would need a choice only a semidefinite program makes.
pub(crate) fn monomial_squares(p: &Poly, atoms: &Atoms) -> Option<(Atoms, Vec<Poly>)> {
    if p.degree() > 4 {
        return None;
    }
    // A square such as `x ^ 2` is both `x · x` and `x ^ 2 · 1` (in `x ^ 4 - 2 x ^ 2 + 1`):
    // on the diagonal first, then on a pair where there is one.
    [false, true]
        .into_iter()
        .find_map(|squares_on_pairs| place_monomials(p, atoms, squares_on_pairs))
}

fn place_monomials(p: &Poly, atoms: &Atoms, squares_on_pairs: bool) -> Option<(Atoms, Vec<Poly>)> {
    let half = |m: &Monomial| -> Option<Monomial> {
        m.iter()
            .all(|(_, e)| e % 2 == 0)
            .then(|| m.iter().map(|&(a, e)| (a, e / 2)).collect())
    };
    let one: Monomial = Vec::new();
    let halves: Vec<Monomial> = p
        .terms
        .keys()
        .filter(|m| !m.is_empty())
        .filter_map(half)
        .chain(std::iter::once(one.clone()))
        .collect();
    let mut names = Atoms::default();
    for h in &halves[..halves.len() - 1] {
        names.intern(&monomial_text(h, atoms));
    }
    let z = |m: &Monomial| -> Option<Poly> {
        if m.is_empty() {
            return Some(Poly::constant(BigRational::one()));
        }
        let i = halves.iter().position(|h| h == m)?;
        Some(Poly::atom(i))
    };
    // The first pair of distinct halves (a half and 1 included) whose product it is.
    let pair = |m: &Monomial| {
        halves
            .iter()
            .flat_map(|u| halves.iter().map(move |v| (u, v)))
            .find(|(u, v)| u != v && mul_monomials(u, v) == *m)
    };
    let mut q = Poly::default();
    for (m, c) in &p.terms {
        let (u, v) = match (half(m), pair(m)) {
            (Some(h), None) => (h.clone(), h),
            (Some(h), Some(_)) if !squares_on_pairs => (h.clone(), h),
            (_, Some((u, v))) => (u.clone(), v.clone()),
            (None, None) => return None,
        };
        q = q.add(&z(&u)?.mul(&z(&v)?)?.scale(c));
    }
    let forms = quadratic_squares(&q)?;
    Some((names, forms))
}

/// `x ^ 2 * y`.
fn monomial_text(m: &[(usize, u32)], atoms: &Atoms) -> String {
    let factors: Vec<String> = m
        .iter()
        .map(|&(a, e)| {
            let name = atoms.name(a);
            let name = if name.contains(' ') {
                format!("({name})")
            } else {
                name.to_owned()
            };
            if e == 1 {
                name
            } else {
                format!("{name} ^ {e}")
            }
        })
        .collect();
    factors.join(" * ")
}

/// `p / (x - r)` when `r` is a root of `p` (coefficients `c₀, c₁, …`): the quotient's
/// coefficients, by synthetic division, or `None` when `r` is not a root.
pub(crate) fn divide_by_root(coeffs: &[BigRational], r: &BigRational) -> Option<Vec<BigRational>> {
    let n = coeffs.len();
    if n < 2 {
        return None;
    }
    // From the top: q_{n-2} = c_{n-1}, q_{i-1} = c_i + r q_i; the remainder is c_0 + r q_0.
    let mut q = vec![BigRational::zero(); n - 1];
    let mut carry = BigRational::zero();
    for i in (1..n).rev() {
        carry = &coeffs[i] + r * &carry;
        q[i - 1] = carry.clone();
    }
    (&coeffs[0] + r * &carry).is_zero().then_some(q)
}

/// A polynomial as Lean text with integer coefficients (`3 * x ^ 2 + 14 * x`), scaled like
/// [`linear_text`]: a positive multiple of the polynomial, or of its negation.
pub(crate) fn scaled_text(p: &Poly, atoms: &Atoms) -> Option<String> {
    // Each monomial becomes an atom of a linear form, highest degree first (as people write
    // polynomials); `linear_text` orders atoms by index and puts the constant last.
    let mut terms: Vec<(&Monomial, &BigRational)> = p.terms.iter().collect();
    terms.sort_by_key(|(m, _)| std::cmp::Reverse(m.iter().map(|(_, e)| e).sum::<u32>()));
    let mut names = Atoms::default();
    let mut linear = Poly::default();
    for (m, c) in terms {
        let term = if m.is_empty() {
            Poly::constant(c.clone())
        } else {
            Poly::atom(names.intern(&monomial_text(m, atoms))).scale(c)
        };
        linear = linear.add(&term);
    }
    linear_text(&linear, &names)
}

/// A linear form as Lean text with integer coefficients, scaled so the first coefficient is
/// positive and the coefficients have no common factor (`28 * a - 5` for `a - 5/28`): its
/// square is a positive multiple of the form's square.
pub(crate) fn linear_text(form: &Poly, atoms: &Atoms) -> Option<String> {
    let denominators = form
        .terms
        .values()
        .fold(BigInt::one(), |acc, c| acc.lcm(c.denom()));
    let mut coeffs: Vec<(Option<usize>, BigInt)> = Vec::new();
    for (m, c) in &form.terms {
        let k = (c * BigRational::from_integer(denominators.clone())).to_integer();
        match m.as_slice() {
            [] => coeffs.push((None, k)),
            [(a, 1)] => coeffs.push((Some(*a), k)),
            _ => return None,
        }
    }
    // Atoms before the constant.
    coeffs.sort_by_key(|(a, _)| a.map_or(usize::MAX, |a| a));
    let g = coeffs.iter().fold(BigInt::zero(), |acc, (_, k)| acc.gcd(k));
    if g.is_zero() {
        return None;
    }
    let sign = if coeffs[0].1.is_negative() { -1 } else { 1 };
    let mut text = String::new();
    for (i, (atom, k)) in coeffs.iter().enumerate() {
        let k: BigInt = k / &g * sign;
        let (neg, abs) = (k.is_negative(), k.abs());
        if i == 0 {
            if neg {
                text.push('-');
            }
        } else {
            text.push_str(if neg { " - " } else { " + " });
        }
        match atom {
            None => text.push_str(&abs.to_string()),
            // Atoms are applications, casts and products of them, which bind tighter than
            // `*`: no parentheses needed (`3 * f x`, `2 * x * y`).
            Some(a) => {
                let name = atoms.name(*a);
                if abs.is_one() {
                    text.push_str(name);
                } else {
                    text.push_str(&format!("{abs} * {name}"));
                }
            }
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(text: &str, atoms: &mut Atoms) -> Poly {
        read(text, atoms).unwrap_or_else(|| panic!("not read: {text}"))
    }

    #[test]
    fn reads_what_linarith_reads() {
        let mut atoms = Atoms::default();
        let a = poly("2 * a * (2 + c)", &mut atoms);
        let b = poly("4 * a + a * c * 2", &mut atoms);
        assert_eq!(a, b);
        let sq = poly("(x - 3) ^ 2 + 4", &mut atoms);
        assert_eq!(sq, poly("x^2 - 6 * x + 13", &mut atoms));
        assert_eq!(
            poly("(1 : ℝ) / 2 * x", &mut atoms),
            poly("x / 2", &mut atoms)
        );
        assert_eq!(poly("2.5 * y", &mut atoms), poly("5 / 2 * y", &mut atoms));
        assert_eq!(poly("-(-x)", &mut atoms), poly("x", &mut atoms));
        // Applications and casts are atoms, compared by text.
        let f = poly("f x + real.sqrt 2 * ↑n", &mut atoms);
        assert_eq!(f.atoms().len(), 2 + 1);
        assert!(atoms.find("real.sqrt 2").is_some() && atoms.find("↑n").is_some());
    }

    #[test]
    fn refuses_what_is_not_a_polynomial() {
        let mut atoms = Atoms::default();
        for text in [
            "x / y",
            "|x| + 1",
            "x ^ n",
            "x ≤ 1",
            "(x + 1",
            "∑ i in s, i",
            "x / 0",
        ] {
            assert!(read(text, &mut atoms).is_none(), "{text}");
        }
    }

    fn squares(text: &str) -> Option<Vec<String>> {
        let mut atoms = Atoms::default();
        let p = poly(text, &mut atoms);
        quadratic_squares(&p).map(|forms| {
            forms
                .iter()
                .map(|f| linear_text(f, &atoms).unwrap())
                .collect()
        })
    }

    #[test]
    fn completes_squares_of_positive_semidefinite_quadratics() {
        // 28a² - 10a + 1 = 28 (a - 5/28)² + 3/28.
        assert_eq!(squares("28 * a ^ 2 + 1 - 10 * a").unwrap(), ["28 * a - 5"]);
        // 36z² - 36az + 9a² = 9 (a - 2z)².
        assert_eq!(
            squares("36 * z ^ 2 - (36 * (a * z) - 9 * a ^ 2)").unwrap(),
            ["2 * z - a"]
        );
        // a² + c² + 4(1 + c) - 2a(2 + c) = (a - c - 2)².
        assert_eq!(
            squares("a^2 + c^2 + 4 * (1 + c) - 2 * a * (2 + c)").unwrap(),
            ["a - c - 2"]
        );
        // Two squares: x² + xy + y² = (x + y/2)² + 3/4 y².
        assert_eq!(squares("x^2 + x*y + y^2").unwrap(), ["2 * x + y", "y"]);
    }

    fn quartic_squares(text: &str) -> Option<Vec<String>> {
        let mut atoms = Atoms::default();
        let p = poly(text, &mut atoms);
        monomial_squares(&p, &atoms).map(|(names, forms)| {
            forms
                .iter()
                .map(|f| linear_text(f, &names).unwrap())
                .collect()
        })
    }

    #[test]
    fn completes_squares_over_monomials() {
        // (xy - 1)² + (x + y)² - 1 = (xy)² + x² + y².
        assert_eq!(
            quartic_squares("(x * y - 1) ^ 2 + (x + y) ^ 2 - 1").unwrap(),
            ["x", "x * y", "y"]
        );
        // x⁴ - 2x² + 1 = (x² - 1)².
        assert_eq!(
            quartic_squares("x ^ 4 - 2 * x ^ 2 + 1").unwrap(),
            ["x ^ 2 - 1"]
        );
        // The quadratic case is the same.
        assert_eq!(
            quartic_squares("a^2 + c^2 + 4 * (1 + c) - 2 * a * (2 + c)").unwrap(),
            ["a - c - 2"]
        );
        // x³ is no product of two halves of squares; x⁴ - x² y² + … is indefinite.
        assert!(quartic_squares("x ^ 4 + x ^ 3 + 1").is_none());
        assert!(quartic_squares("x ^ 2 * y ^ 2 - 3 * x * y + 1").is_none());
    }

    #[test]
    fn finds_a_multiple() {
        let mut atoms = Atoms::default();
        let e = poly("(x * x + 2) * y - (y * y + 2) * x", &mut atoms);
        let d = poly("(x - y) * (x * y - 2)", &mut atoms);
        assert_eq!(e.multiple_of(&d), Some(BigRational::one()));
        assert_eq!(
            e.scale(&BigRational::from_integer((-3).into()))
                .multiple_of(&d),
            Some(BigRational::from_integer((-3).into()))
        );
        assert_eq!(e.add(&poly("1", &mut atoms)).multiple_of(&d), None);
        assert_eq!(Poly::default().multiple_of(&d), None);
    }

    #[test]
    fn divides_by_a_root() {
        let mut atoms = Atoms::default();
        // 3x² + 2x + 1 - 57 = (x - 4)(3x + 14).
        let p = poly("3 * x ^ 2 + 2 * x + 1 - 57", &mut atoms);
        let x = atoms.find("x").unwrap();
        let coeffs = p.univariate(x).unwrap();
        let four = BigRational::from_integer(4.into());
        let q = divide_by_root(&coeffs, &four).unwrap();
        let q = Poly::from_univariate(x, &q);
        assert_eq!(scaled_text(&q, &atoms).unwrap(), "3 * x + 14");
        assert!(divide_by_root(&coeffs, &BigRational::from_integer(3.into())).is_none());
        // Rational coefficients become integers; the highest degree comes first.
        let p = poly("x ^ 3 / 2 - 1 / 4", &mut atoms);
        assert_eq!(scaled_text(&p, &atoms).unwrap(), "2 * x ^ 3 - 1");
    }

    #[test]
    fn refuses_indefinite_and_non_quadratic_forms() {
        assert!(squares("a * b").is_none());
        assert!(squares("x ^ 2 - 2").is_none());
        assert!(squares("x ^ 2 - y ^ 2").is_none());
        assert!(squares("x - 1").is_none());
        assert!(squares("x ^ 3 + 1").is_none());
        // A number is not a square of anything.
        assert!(squares("4").is_none());
    }

    #[test]
    fn substitutes_an_atom() {
        let mut atoms = Atoms::default();
        let target = poly("y - 4", &mut atoms);
        let y = atoms.find("y").unwrap();
        let by = poly("x ^ 2 - 6 * x + 13", &mut atoms);
        let p = target.substitute(y, &by).unwrap();
        assert_eq!(p, poly("(x - 3) ^ 2", &mut atoms));
    }
}
