//! Small questions about terms as text (is this an arithmetic relation, does this name occur,
//! what is the conclusion of a chain of implications) that several rules ask.

use super::term::{Shape, Term, same_term, shape, strip_parens};

/// Relations whose sides are numbers.
pub(crate) fn is_arith_rel(op: &str) -> bool {
    matches!(op, "=" | "≠" | "<" | "≤" | ">" | "≥" | "∣")
}

pub(crate) fn is_order_rel(op: &str) -> bool {
    matches!(op, "<" | "≤" | ">" | "≥")
}

/// A decidable-looking closed proposition: relations and connectives over numerals.
pub(crate) fn is_arith_prop(text: &str) -> bool {
    match shape(text) {
        Shape::Rel(op, _, _) => is_arith_rel(&op) || op == "≡",
        Shape::And(a, b) | Shape::Or(a, b) | Shape::Iff(a, b) | Shape::Imp(a, b) => {
            is_arith_prop(&a) && is_arith_prop(&b)
        }
        Shape::Not(a) => is_arith_prop(&a),
        Shape::True | Shape::False => true,
        _ => false,
    }
}

/// Propositional structure only (connectives over atoms): `tauto` territory.
pub(crate) fn is_propositional(text: &str) -> bool {
    matches!(
        shape(text),
        Shape::Iff(..) | Shape::Imp(..) | Shape::Or(..) | Shape::And(..) | Shape::Not(..)
    )
}

/// Whether `name` occurs as a whole token in `text`.
pub(crate) fn mentions(text: &str, name: &str) -> bool {
    Term::new(text).token_texts().any(|t| t == name)
}

/// Whether `sub` occurs in `text` as a sequence of whole tokens.
pub(crate) fn contains_term(text: &str, sub: &str) -> bool {
    let hay: Vec<&str> = Term::new(text).token_texts().collect();
    let needle: Vec<&str> = Term::new(strip_parens(sub)).token_texts().collect();
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// The conclusion of a chain of `∀`s and `→`s, and the number of premises on the way.
pub(crate) fn conclusion(ty: &str) -> (String, usize) {
    let mut t = ty.to_owned();
    let mut premises = 0;
    loop {
        match shape(&t) {
            Shape::Forall(b, body) => {
                premises += b.len();
                t = body;
            }
            Shape::Imp(_, b) => {
                premises += 1;
                t = b;
            }
            _ => return (t, premises),
        }
    }
}

/// Whether a hypothesis's conclusion could unify with the target: same relation, or the same
/// head of an application, or the same text.
pub(crate) fn could_conclude(concl: &str, target: &str) -> bool {
    if same_term(concl, target) {
        return true;
    }
    match (shape(concl), shape(target)) {
        (Shape::Rel(a, _, _), Shape::Rel(b, _, _)) => a == b,
        (Shape::Other, Shape::Other) => {
            let (c, t) = (Term::new(concl), Term::new(target));
            c.head().is_some() && c.head() == t.head()
        }
        (Shape::False, Shape::False) => true,
        _ => false,
    }
}

/// A literal constructor mismatch (`n + 1 = 0`, `a :: l = list.nil`): `cases` closes it.
pub(crate) fn constructor_mismatch(lhs: &str, rhs: &str) -> bool {
    let succ = |s: &str| {
        let s = strip_parens(s);
        s.ends_with("+ 1") || s.ends_with(".succ") || s.starts_with("nat.succ")
    };
    let zero = |s: &str| strip_parens(s) == "0";
    let cons = |s: &str| Term::new(strip_parens(s)).has_symbol("::") && !s.contains("++");
    let nil = |s: &str| matches!(strip_parens(s), "list.nil" | "[]");
    (succ(lhs) && zero(rhs))
        || (zero(lhs) && succ(rhs))
        || (cons(lhs) && nil(rhs))
        || (nil(lhs) && cons(rhs))
}

/// Numerals of four digits or more, or exponents of 50 and more.
pub(crate) fn has_big_numbers(text: &str) -> bool {
    let tokens: Vec<&str> = Term::new(text).token_texts().collect();
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    tokens.iter().any(|t| digits(t) && t.len() >= 4)
        || tokens
            .windows(2)
            .any(|w| w[0] == "^" && digits(w[1]) && w[1].parse::<u32>().is_ok_and(|v| v >= 50))
}

/// A finite set of many numbers written out by its bounds (`finset.Icc 1 100`,
/// `finset.range 2003`): deciding a statement about it by evaluation (`dec_trivial`, `refl`)
/// walks every element in the kernel, which takes seconds, and then usually fails.
pub(crate) fn has_long_numeral_range(text: &str) -> bool {
    let tokens: Vec<&str> = Term::new(text).token_texts().collect();
    let num = |i: usize| tokens.get(i).and_then(|t| t.parse::<u64>().ok());
    (0..tokens.len()).any(|i| match tokens[i] {
        "finset.range" => num(i + 1).is_some_and(|n| n > 30),
        "finset.Icc" | "finset.Ico" | "finset.Ioc" | "finset.Ioo" => {
            matches!((num(i + 1), num(i + 2)), (Some(a), Some(b)) if b > a + 30)
        }
        _ => false,
    })
}

/// `h` for `h₀`, `h₁`, `hx`: the name without a trailing subscript.
pub(crate) fn base(name: &str) -> &str {
    name.trim_end_matches(|c: char| ('₀'..='₉').contains(&c) || c == '\'')
}

pub(crate) fn is_numeral(s: &str) -> bool {
    let s = strip_parens(s);
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}
