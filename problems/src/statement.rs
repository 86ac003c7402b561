//! Splitting a theorem statement into its binders and its goal.

use crate::lexer::{TokenKind, tokenize};

/// Splits a statement at its first `:` outside any brackets into the binders and the goal, both
/// trimmed: `"(a b : ℕ) (h₀ : a < b) : b ≠ 0"` gives `("(a b : ℕ) (h₀ : a < b)", "b ≠ 0")`.
///
/// `:=` and `::` are not separators, and neither is a `:` inside `(…)`, `{…}`, `[…]`, `⦃…⦄` or
/// `⟨…⟩`. Returns `None` when there is no such `:` or the text cannot be lexed (for example an
/// unterminated comment).
pub fn split_statement(statement: &str) -> Option<(String, String)> {
    let tokens = tokenize(statement).ok()?;
    let mut depth = 0usize;
    for t in tokens.iter().filter(|t| t.kind == TokenKind::Symbol) {
        match t.text(statement) {
            "(" | "{" | "[" | "⦃" | "⟨" | "⟪" | "⟦" | "‹" => depth += 1,
            ")" | "}" | "]" | "⦄" | "⟩" | "⟫" | "⟧" | "›" => {
                depth = depth.saturating_sub(1)
            }
            ":" if depth == 0 => {
                let binders = statement[..t.start].trim().to_string();
                let goal = statement[t.end..].trim().to_string();
                return Some((binders, goal));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<(String, String)> {
        split_statement(s)
    }

    fn pair(binders: &str, goal: &str) -> Option<(String, String)> {
        Some((binders.to_string(), goal.to_string()))
    }

    #[test]
    fn splits_at_the_first_top_level_colon() {
        assert_eq!(
            split("(a b : ℕ) (h₀ : a < b) : b ≠ 0"),
            pair("(a b : ℕ) (h₀ : a < b)", "b ≠ 0")
        );
        assert_eq!(
            split("{α : Type*} [inhabited α] ⦃x : α⦄ (h : ⟨x, x⟩ = (⟨x, x⟩ : α × α)) :\n  x = x"),
            pair(
                "{α : Type*} [inhabited α] ⦃x : α⦄ (h : ⟨x, x⟩ = (⟨x, x⟩ : α × α))",
                "x = x"
            )
        );
        assert_eq!(
            split(": ∀ n : ℕ, 0 + n = n"),
            pair("", "∀ n : ℕ, 0 + n = n")
        );
        // `::` and `:=` are not the separator; a `:` in a comment is not a token.
        assert_eq!(
            split("(l : list ℕ) -- note: x\n : 1 :: l ≠ []"),
            pair("(l : list ℕ) -- note: x", "1 :: l ≠ []")
        );
    }

    #[test]
    fn strings_comments_and_let_are_not_structure() {
        // A `(` inside a string or char literal opens nothing (the bridge's own splitter used
        // to count it); neither does a `:` in a block comment or a `:=`.
        assert_eq!(
            split("(s : string) (h : s = \"(\") (c : char := '(') : s.length = 1"),
            pair(
                "(s : string) (h : s = \"(\") (c : char := '(')",
                "s.length = 1"
            )
        );
        assert_eq!(
            split("(x : ℕ) /- a : b -/ (h : let y := 2 in y = 2) : true"),
            pair("(x : ℕ) /- a : b -/ (h : let y := 2 in y = 2)", "true")
        );
    }

    #[test]
    fn no_separator_gives_none() {
        assert_eq!(split("(a : ℕ) (b : ℕ)"), None);
        assert_eq!(split("a = b /- : unterminated"), None);
        assert_eq!(split(""), None);
    }
}
