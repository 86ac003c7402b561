//! A shallow reading of Lean 3 terms as Lean prints them: tokens, the top-level connective or
//! relation, binders, identifiers and numerals. No full parser: the policy only needs the
//! outermost structure of hypotheses and targets.

/// One token, with its byte range in the text it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A name, possibly dotted (`nat.succ`, `h₀`, `x'`, `h.1`).
    Ident,
    /// A numeral (`42`, `2.5`).
    Num,
    /// `(`, `[`, `{`, `⟨`, `⦃`.
    Open,
    /// `)`, `]`, `}`, `⟩`, `⦄`.
    Close,
    /// Anything else: operators and punctuation (`+`, `≤`, `,`, `:`, `∀`, `++`, …).
    Sym,
}

/// Symbols the term reader keeps together (Lean's lexer gives them char by char; they are
/// notation, not lexical structure), longest first.
const LONG_SYMBOLS: &[&str] = &["<->", "++", "->", "<=", ">=", "⁻¹"];

/// Splits a term into tokens, with Lean's lexical rules ([`problems::lexer`]: names, numerals,
/// comments and strings as Lean reads them). On top of them: a name keeps its field indices
/// (`h.1`, which Lean lexes as `h` and `.1`), and a few multi-character operators are one
/// token. Text after a lexing error (an unterminated comment) is dropped.
pub fn tokenize(text: &str) -> Vec<Token> {
    use problems::lexer::{TokenKind as Lex, tokenize as lex};
    let lexed = match lex(text) {
        Ok(t) => t,
        Err(e) => lex(&text[..e.offset]).unwrap_or_default(),
    };
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < lexed.len() {
        let t = lexed[i];
        i += 1;
        if t.is_comment() {
            continue;
        }
        let s = t.text(text);
        let kind = match t.kind {
            Lex::Ident => TokenKind::Ident,
            Lex::Number => TokenKind::Num,
            Lex::Symbol if matches!(s, "(" | "[" | "{" | "⟨" | "⦃") => TokenKind::Open,
            Lex::Symbol if matches!(s, ")" | "]" | "}" | "⟩" | "⦄") => TokenKind::Close,
            _ => TokenKind::Sym,
        };
        let mut token = Token {
            kind,
            start: t.start,
            end: t.end,
        };
        if kind == TokenKind::Ident {
            // `h.1.2`: field indices right after the name.
            while i + 1 < lexed.len()
                && lexed[i].start == token.end
                && lexed[i].text(text) == "."
                && lexed[i + 1].kind == Lex::Number
                && lexed[i + 1].start == lexed[i].end
                && lexed[i + 1].text(text).bytes().all(|b| b.is_ascii_digit())
            {
                token.end = lexed[i + 1].end;
                i += 2;
            }
        } else if kind == TokenKind::Sym {
            let rest = &text[t.start..];
            if let Some(sym) = LONG_SYMBOLS.iter().find(|sym| rest.starts_with(**sym)) {
                // Take the following symbol tokens that make up `sym`, when they touch.
                let end = t.start + sym.len();
                let mut j = i;
                while j < lexed.len()
                    && lexed[j].end <= end
                    && lexed[j].start == lexed[j - 1].end
                    && lexed[j].kind == Lex::Symbol
                {
                    j += 1;
                }
                if lexed[j - 1].end == end {
                    token.end = end;
                    i = j;
                }
            }
        }
        out.push(token);
    }
    out
}

/// Symbols that bind everything to their right up to the end of the enclosing term.
const BINDERS: &[&str] = &[
    "∀", "∃", "∃!", "λ", "Π", "Σ", "∑", "∏", "assume", "fun", "⋃", "⋂",
];

/// Relations at precedence 50.
const RELATIONS: &[&str] = &["=", "≠", "<", "≤", ">", "≥", "∣", "∈", "∉", "⊆", "⊂", "≡"];

/// A binder of `∀`/`∃`: a name and its type when printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binder {
    pub name: String,
    pub ty: Option<String>,
}

/// The outermost structure of a proposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    Iff(String, String),
    Imp(String, String),
    Or(String, String),
    And(String, String),
    Not(String),
    Forall(Vec<Binder>, String),
    Exists(Vec<Binder>, String),
    /// `lhs op rhs` with `op` one of `= ≠ < ≤ > ≥ ∣ ∈ ∉ ⊆ ⊂ ≡`.
    Rel(String, String, String),
    True,
    False,
    /// Anything else: an application (`p x`, `nat.prime p`) or a variable.
    Other,
}

/// A term and its tokens.
pub struct Term<'a> {
    pub text: &'a str,
    pub tokens: Vec<Token>,
}

impl<'a> Term<'a> {
    pub fn new(text: &'a str) -> Self {
        Term {
            text,
            tokens: tokenize(text),
        }
    }

    fn tok(&self, i: usize) -> &'a str {
        let t = self.tokens[i];
        &self.text[t.start..t.end]
    }

    /// The text between tokens `from` and `to` (exclusive), trimmed.
    fn span(&self, from: usize, to: usize) -> String {
        if from >= to {
            return String::new();
        }
        self.text[self.tokens[from].start..self.tokens[to - 1].end]
            .trim()
            .to_owned()
    }

    /// Indices of tokens at bracket depth 0 that come before any top-level binder (a binder
    /// takes everything to its right).
    fn top_level(&self) -> Vec<usize> {
        let mut depth = 0i32;
        let mut out = Vec::new();
        for (i, t) in self.tokens.iter().enumerate() {
            match t.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => depth -= 1,
                _ if depth == 0 => {
                    if BINDERS.contains(&self.tok(i)) || self.tok(i) == "if" {
                        out.push(i);
                        break;
                    }
                    out.push(i);
                }
                _ => {}
            }
        }
        out
    }

    /// Splits at the first top-level occurrence of one of `ops`.
    fn split_first(&self, ops: &[&str]) -> Option<(String, &'a str, String)> {
        let top = self.top_level();
        let i = top.into_iter().find(|&i| {
            self.tokens[i].kind == TokenKind::Sym && ops.contains(&self.tok(i)) && i > 0
        })?;
        Some((
            self.span(0, i),
            self.tok(i),
            self.span(i + 1, self.tokens.len()),
        ))
    }

    /// Splits at the last top-level occurrence of the operator `op`: `5 * n % 17` → (`5 * n`,
    /// `17`).
    pub fn split_last(&self, op: &str) -> Option<(String, String)> {
        let n = self.tokens.len();
        let i = self.top_level().into_iter().rev().find(|&i| {
            self.tokens[i].kind == TokenKind::Sym && self.tok(i) == op && i > 0 && i + 1 < n
        })?;
        Some((self.span(0, i), self.span(i + 1, n)))
    }

    /// The outermost connective, quantifier or relation.
    pub fn shape(&self) -> Shape {
        if self.tokens.is_empty() {
            return Shape::Other;
        }
        // A term wrapped whole in parentheses: look inside.
        if let Some(inner) = self.parenthesized() {
            return Term::new(inner).shape();
        }
        for (ops, make) in [
            (&["↔", "<->"][..], Shape::Iff as fn(String, String) -> Shape),
            (&["→", "->"][..], Shape::Imp),
            (&["∨"][..], Shape::Or),
            (&["∧"][..], Shape::And),
        ] {
            if let Some((l, _, r)) = self.split_first(ops) {
                return make(l, r);
            }
        }
        let first = self.tok(0);
        if first == "¬" {
            return Shape::Not(self.span(1, self.tokens.len()));
        }
        if (first == "∀" || first == "Π")
            && let Some((binders, body)) = self.binders()
        {
            return Shape::Forall(binders, body);
        }
        if first == "∃"
            && let Some((binders, body)) = self.binders()
        {
            return Shape::Exists(binders, body);
        }
        if let Some((l, op, r)) = self.split_first(RELATIONS) {
            return Shape::Rel(op.to_owned(), l, r);
        }
        match self.text.trim() {
            "true" => Shape::True,
            "false" => Shape::False,
            _ => Shape::Other,
        }
    }

    /// The inside of `( … )` when the parentheses enclose the whole term.
    fn parenthesized(&self) -> Option<&'a str> {
        let n = self.tokens.len();
        if n < 2 || self.tok(0) != "(" || self.tok(n - 1) != ")" {
            return None;
        }
        let mut depth = 0;
        for (i, t) in self.tokens.iter().enumerate() {
            match t.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => {
                    depth -= 1;
                    if depth == 0 && i != n - 1 {
                        return None;
                    }
                }
                _ => {}
            }
        }
        Some(&self.text[self.tokens[0].end..self.tokens[n - 1].start])
    }

    /// The binders and body of `∀ (x y : α) (h : p x), body` / `∃ x, body`.
    fn binders(&self) -> Option<(Vec<Binder>, String)> {
        let mut depth = 0;
        let comma = (1..self.tokens.len()).find(|&i| {
            match self.tokens[i].kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => depth -= 1,
                _ => {}
            }
            depth == 0 && self.tok(i) == ","
        })?;
        let binders = parse_binders(self, 1, comma);
        if binders.is_empty() {
            return None;
        }
        Some((binders, self.span(comma + 1, self.tokens.len())))
    }

    /// The names occurring in the term (not numerals, not notation), in order, without
    /// repetition.
    pub fn identifiers(&self) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for i in 0..self.tokens.len() {
            if self.tokens[i].kind == TokenKind::Ident {
                let name = self.tok(i);
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// The numerals occurring in the term, in order, without repetition.
    pub fn numerals(&self) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for i in 0..self.tokens.len() {
            if self.tokens[i].kind == TokenKind::Num {
                let n = self.tok(i);
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// Whether a symbol occurs anywhere in the term.
    pub fn has_symbol(&self, sym: &str) -> bool {
        (0..self.tokens.len()).any(|i| self.tokens[i].kind == TokenKind::Sym && self.tok(i) == sym)
    }

    /// The token texts, in order.
    pub fn token_texts(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.tokens.len()).map(|i| self.tok(i))
    }

    /// The head name of an application (`nat.prime` in `nat.prime p`), if the term is one.
    pub fn head(&self) -> Option<&'a str> {
        let first = *self.tokens.first()?;
        (first.kind == TokenKind::Ident).then(|| self.tok(0))
    }
}

/// Parses binders between token `from` and `to`: `x y`, `x y : α`, `(x : α) {y : β} [c]`.
fn parse_binders(term: &Term, from: usize, to: usize) -> Vec<Binder> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        let tok = term.tok(i);
        if term.tokens[i].kind == TokenKind::Open {
            // A group up to its matching close.
            let mut depth = 0;
            let mut close = i;
            for j in i..to {
                match term.tokens[j].kind {
                    TokenKind::Open => depth += 1,
                    TokenKind::Close => {
                        depth -= 1;
                        if depth == 0 {
                            close = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if close == i {
                break;
            }
            if tok != "[" {
                out.extend(names_with_type(term, i + 1, close));
            }
            i = close + 1;
        } else if term.tokens[i].kind == TokenKind::Ident {
            // Bare names, maybe followed by `: type` up to the end.
            out.extend(names_with_type(term, i, to));
            break;
        } else {
            // `∃ x ∈ s`-style bounds and other forms: keep what was read.
            break;
        }
    }
    out
}

/// `x y : α` (or bare `x y`) between tokens `from` and `to`.
fn names_with_type(term: &Term, from: usize, to: usize) -> Vec<Binder> {
    let colon = (from..to).find(|&j| term.tok(j) == ":");
    let names_end = colon.unwrap_or(to);
    let ty = colon.map(|c| term.span(c + 1, to));
    (from..names_end)
        .take_while(|&j| term.tokens[j].kind == TokenKind::Ident)
        .map(|j| Binder {
            name: term.tok(j).to_owned(),
            ty: ty.clone(),
        })
        .collect()
}

/// The shape of a term given as text.
pub fn shape(text: &str) -> Shape {
    Term::new(text).shape()
}

/// Collapses runs of whitespace to one space and trims.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Strips parentheses that enclose a whole term (`(p ∧ q)` → `p ∧ q`).
pub fn strip_parens(text: &str) -> &str {
    let mut t = text.trim();
    while let Some(inner) = Term::new(t).parenthesized() {
        t = inner.trim();
    }
    t
}

/// Whether two terms are the same up to whitespace and enclosing parentheses.
pub fn same_term(a: &str, b: &str) -> bool {
    normalize(strip_parens(a)) == normalize(strip_parens(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s)
            .iter()
            .map(|t| s[t.start..t.end].to_owned())
            .collect()
    }

    #[test]
    fn tokens_keep_dotted_names_subscripts_and_decimals() {
        assert_eq!(
            texts("h₀.1 + nat.succ x' ≤ 2.5*y⁻¹"),
            ["h₀.1", "+", "nat.succ", "x'", "≤", "2.5", "*", "y", "⁻¹"]
        );
        assert_eq!(texts("l₁ ++ a :: l"), ["l₁", "++", "a", "::", "l"]);
        assert_eq!(texts("(f x).2"), ["(", "f", "x", ")", ".", "2"]);
        // Lean's lexical rules: comments are not tokens, `!` is not part of a name, `<->` and
        // `->` only when the characters touch.
        assert_eq!(texts("a -- note: b\n+ n! /- c -/"), ["a", "+", "n", "!"]);
        assert_eq!(
            texts("p <-> q -> r < - s"),
            ["p", "<->", "q", "->", "r", "<", "-", "s"]
        );
    }

    #[test]
    fn shapes_follow_lean_precedence() {
        assert_eq!(shape("p ∧ q → r"), Shape::Imp("p ∧ q".into(), "r".into()));
        assert_eq!(shape("p → q → r"), Shape::Imp("p".into(), "q → r".into()));
        assert_eq!(shape("¬p ∨ q ∧ r"), Shape::Or("¬p".into(), "q ∧ r".into()));
        assert_eq!(shape("¬a = b"), Shape::Not("a = b".into()));
        assert_eq!(
            shape("(a + b) * c = c * a"),
            Shape::Rel("=".into(), "(a + b) * c".into(), "c * a".into())
        );
        assert_eq!(
            shape("(p ∧ q) ∧ r ↔ p ∧ q ∧ r"),
            Shape::Iff("(p ∧ q) ∧ r".into(), "p ∧ q ∧ r".into())
        );
        assert_eq!(shape("(p ∨ q)"), Shape::Or("p".into(), "q".into()));
        assert_eq!(shape("false"), Shape::False);
        assert_eq!(shape("nat.prime p"), Shape::Other);
    }

    #[test]
    fn binders_extend_to_the_right() {
        let Shape::Forall(b, body) = shape("∀ (x : α) (y : β), r x y ∧ q") else {
            panic!("not a ∀")
        };
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].name, "y");
        assert_eq!(b[1].ty.as_deref(), Some("β"));
        assert_eq!(body, "r x y ∧ q");
        let Shape::Exists(b, body) = shape("∃ (m : ℕ), n = m + 1") else {
            panic!("not an ∃")
        };
        assert_eq!(b[0].name, "m");
        assert_eq!(body, "n = m + 1");
        // A binder on the right of a connective stays inside its operand.
        assert_eq!(
            shape("a ∧ ∀ x, p x ∨ q"),
            Shape::And("a".into(), "∀ x, p x ∨ q".into())
        );
        let Shape::Forall(b, _) = shape("∀ x y : ℕ, x = y") else {
            panic!("not a ∀")
        };
        assert_eq!(
            b.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(b[0].ty.as_deref(), Some("ℕ"));
    }

    #[test]
    fn sums_bind_to_the_right_inside_parentheses() {
        assert_eq!(
            shape("(∑ (k : ℕ) in finset.range 11, k) % 9 = 1"),
            Shape::Rel(
                "=".into(),
                "(∑ (k : ℕ) in finset.range 11, k) % 9".into(),
                "1".into()
            )
        );
    }

    #[test]
    fn same_term_ignores_spacing_and_outer_parentheses() {
        assert!(same_term("(p  ∧ q)", "p ∧ q"));
        assert!(!same_term("p ∧ q", "q ∧ p"));
    }
}
