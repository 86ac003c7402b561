//! Splitting a theorem statement into its binders and its goal.

/// Splits `(a b : ℕ) (h₀ : a < b) : b ≠ 0` into `("(a b : ℕ) (h₀ : a < b)", "b ≠ 0")`: at the
/// first `:` outside brackets that is not part of `:=`. A statement without binders
/// (`: 2 + 2 = 4`) gives empty binders. Returns `None` when there is no such colon.
///
/// Comments are skipped, so a `:` inside `-- …` or `/- … -/` does not count.
pub fn split_statement(statement: &str) -> Option<(String, String)> {
    let bytes: Vec<(usize, char)> = statement.char_indices().collect();
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        let next = bytes.get(i + 1).map(|&(_, c)| c);
        match c {
            '-' if next == Some('-') => {
                // line comment
                while i < bytes.len() && bytes[i].1 != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('-') => {
                // block comment, nested
                let mut level = 1;
                i += 2;
                while i < bytes.len() && level > 0 {
                    let c = bytes[i].1;
                    let n = bytes.get(i + 1).map(|&(_, c)| c);
                    if c == '/' && n == Some('-') {
                        level += 1;
                        i += 2;
                    } else if c == '-' && n == Some('/') {
                        level -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            '(' | '{' | '[' | '⦃' | '⟨' => depth += 1,
            ')' | '}' | ']' | '⦄' | '⟩' => depth -= 1,
            ':' if depth == 0 && next != Some('=') => {
                let binders = statement[..pos].trim().to_string();
                let goal = statement[pos + 1..].trim().to_string();
                return Some((binders, goal));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> (String, String) {
        split_statement(s).unwrap()
    }

    #[test]
    fn binders_and_goal() {
        assert_eq!(
            split("(a b : ℕ) (h₀ : a < b) : b ≠ 0"),
            ("(a b : ℕ) (h₀ : a < b)".into(), "b ≠ 0".into())
        );
        assert_eq!(
            split("{α : Type*} [ring α] (x : α) :\n  x * 1 = x"),
            ("{α : Type*} [ring α] (x : α)".into(), "x * 1 = x".into())
        );
        assert_eq!(
            split("(f : ℕ → ℕ) (h : ∀ x, f (x : ℕ) = 2 * x) : f 3 = 6"),
            (
                "(f : ℕ → ℕ) (h : ∀ x, f (x : ℕ) = 2 * x)".into(),
                "f 3 = 6".into()
            )
        );
    }

    #[test]
    fn no_binders() {
        assert_eq!(split(": 2 + 2 = 4"), ("".into(), "2 + 2 = 4".into()));
        assert_eq!(
            split(" :\n (2:ℝ) + 2 = 4"),
            ("".into(), "(2:ℝ) + 2 = 4".into())
        );
    }

    #[test]
    fn comments_and_assignments_are_skipped() {
        assert_eq!(
            split("(x : ℕ) -- note: this\n /- a : b -/ (h : x = 1) : x + 0 = 1"),
            (
                "(x : ℕ) -- note: this\n /- a : b -/ (h : x = 1)".into(),
                "x + 0 = 1".into()
            )
        );
        assert_eq!(
            split("(h : let y := 2 in y = 2) : true"),
            ("(h : let y := 2 in y = 2)".into(), "true".into())
        );
    }

    #[test]
    fn missing_colon() {
        assert_eq!(split_statement("(a : ℕ)"), None);
        assert_eq!(split_statement(""), None);
    }
}
