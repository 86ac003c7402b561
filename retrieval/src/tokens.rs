//! The one tokenizer for Lean-printed text, used both to index and to query.
//!
//! Lean's lexer proper lives in the `problems` crate; this crate depends on none of ours, and a
//! retrieval tokenizer wants different things (pieces, dropped names), so the few character
//! classes are repeated here.

/// The tokens of Lean-printed text (a tactic state, a statement, a name), in text order,
/// repeats kept (BM25 counts them). No token is empty or holds whitespace: the indexes store
/// tokens joined by spaces.
///
/// Retrieval compares a goal with statements and traced states, so a token should be a piece of
/// meaning that two different proofs can share: constants (`nat.prime`), the words of their names
/// (`prime`, `le`), types (`ℕ`), operators (`≤`) and small numbers. Names a proof chose for itself
/// (bound variables, hypotheses) are the opposite: `x` in one statement is `n` in the next, so
/// they are dropped and the tokens of their types carry the meaning. The rules, in order:
///
/// - **Identifiers** follow Lean 3's character classes (ASCII letters, `_`, Greek except `λ Π Σ`,
///   letter-like symbols such as `ℕ ℝ`; then also digits, `'` and subscripts such as `₀`), with
///   dotted parts (`nat.succ_le_iff`, `n.succ`). Each is emitted whole, lowercased, then its
///   pieces split at `.` and `_`, so `nat.succ_le_iff` gives `nat.succ_le_iff nat succ le iff`
///   and `n.succ` gives `n.succ n succ`: the whole matches the same constant exactly, the pieces
///   match the words mathlib's naming convention builds names from.
/// - **Variable-like** identifiers (one lowercase letter, then only digits, subscripts or primes:
///   `a`, `x₁`, `n'`, `α`) are dropped when they stand alone; `π` is kept (it is `real.pi`).
/// - **Hypothesis-like** identifiers (`this`, or `h` then at most two letters and then only
///   digits, subscripts or primes: `h`, `h₀`, `h1`, `hab`, `hx'`) are dropped alone and as the head
///   of a projection (`h₀.le` gives only `le`); `hom` and `heq` are real names and stay.
/// - **Generated names** starting with `_` (`_inst_1`, instance binders) are dropped with their
///   pieces: they say nothing a type token does not.
/// - **Numbers**: `0` to `12` are emitted as written (they are the small constants lemmas are
///   about: `two_mul`, `nat.prime_two`); any other is the one token `NUM`, upper case so that no
///   lowercased identifier can equal it.
/// - **Symbols**: every other non-space character is one token (`≤ ∣ ∑ ↔ ¬ ↑ λ |` …), and `⁻¹`
///   is one token; punctuation that only shapes the text (`( ) [ ] { } ⟨ ⟩ , : . @ ⊢ « »` and
///   `:=`) is dropped.
///
/// ```
/// assert_eq!(
///     retrieval::tokens("∀ {n : ℕ}, n.succ ≤ 2"),
///     ["∀", "ℕ", "n.succ", "n", "succ", "≤", "2"]
/// );
/// ```
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_id_first(c) {
            let start = i;
            i = identifier_end(&chars, i);
            let ident: String = chars[start..i].iter().collect();
            push_identifier(&ident, &mut out);
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            out.push(number_token(&digits));
        } else if c == ':' && chars.get(i + 1) == Some(&'=') {
            i += 2;
        } else if c == '⁻' && chars.get(i + 1) == Some(&'¹') {
            out.push("⁻¹".to_string());
            i += 2;
        } else {
            if !is_punctuation(c) {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Where the identifier starting at `start` ends: name parts joined by `.` where a part follows.
fn identifier_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    loop {
        while i < chars.len() && is_id_rest(chars[i]) {
            i += 1;
        }
        if i + 1 < chars.len() && chars[i] == '.' && is_id_first(chars[i + 1]) {
            i += 2;
        } else {
            return i;
        }
    }
}

fn push_identifier(ident: &str, out: &mut Vec<String>) {
    if ident.starts_with('_') {
        return;
    }
    let parts: Vec<&str> = ident.split('.').collect();
    if parts.len() == 1 && (is_variable_like(ident) || is_hypothesis_like(ident)) {
        return;
    }
    let parts = if is_hypothesis_like(parts[0]) {
        &parts[1..]
    } else {
        push_whole(ident, out);
        &parts[..]
    };
    let pieces: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.split('_'))
        .filter(|p| !p.is_empty())
        .collect();
    // A lone piece equal to the whole was already emitted; emitting it twice would double its
    // weight for no reason.
    if !(pieces.len() == 1 && pieces[0] == ident) {
        for piece in pieces {
            push_whole(piece, out);
        }
    }
}

fn push_whole(text: &str, out: &mut Vec<String>) {
    out.push(text.to_lowercase());
}

fn number_token(digits: &str) -> String {
    match digits.parse::<u32>() {
        Ok(n) if n <= 12 => n.to_string(),
        _ => "NUM".to_string(),
    }
}

/// One lowercase letter, then only digits, subscripts and primes: a bound variable's name.
fn is_variable_like(ident: &str) -> bool {
    let mut chars = ident.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_lowercase() && first != 'π' && chars.all(is_decoration)
}

/// `this`, or `h` then at most two letters then only decorations: a hypothesis's name.
fn is_hypothesis_like(ident: &str) -> bool {
    if ident == "this" {
        return true;
    }
    if matches!(ident, "hom" | "heq") {
        return false;
    }
    let Some(rest) = ident.strip_prefix('h') else {
        return false;
    };
    let letters = rest.chars().take_while(|c| c.is_alphabetic()).count();
    letters <= 2 && rest.chars().skip(letters).all(is_decoration)
}

/// What Lean lets follow a name's letters without changing what it names for a reader.
fn is_decoration(c: char) -> bool {
    c.is_ascii_digit() || c == '\'' || is_subscript(c)
}

/// Text-shaping characters that carry no meaning of their own.
fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | '{' | '}' | '⟨' | '⟩' | ',' | ':' | '.' | '@' | '⊢' | '«' | '»'
    )
}

/// Lean 3's `is_letter_like`: Greek (but `λ Π Σ`), Coptic, letter-like symbols (`ℕ`), script.
fn is_letter_like(c: char) -> bool {
    let u = c as u32;
    (0x3b1..=0x3c9).contains(&u) && u != 0x3bb
        || (0x391..=0x3a9).contains(&u) && u != 0x3a0 && u != 0x3a3
        || (0x3ca..=0x3fb).contains(&u)
        || (0x1f00..=0x1ffe).contains(&u)
        || (0x2100..=0x214f).contains(&u)
        || (0x1d49c..=0x1d59f).contains(&u)
}

/// Lean 3's `is_sub_script_alnum_unicode`: ⁿ, ₀…₉, ₐ…ₜ, ᵢ…ᵪ.
fn is_subscript(c: char) -> bool {
    let u = c as u32;
    (0x207f..=0x2089).contains(&u)
        || (0x2090..=0x209c).contains(&u)
        || (0x1d62..=0x1d6a).contains(&u)
}

fn is_id_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || is_letter_like(c)
}

fn is_id_rest(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '\'' || is_letter_like(c) || is_subscript(c)
}

#[cfg(test)]
mod tests {
    use super::tokens;

    fn toks(text: &str) -> Vec<String> {
        tokens(text)
    }

    #[test]
    fn a_name_gives_itself_and_its_words() {
        assert_eq!(
            toks("nat.succ_le_iff"),
            ["nat.succ_le_iff", "nat", "succ", "le", "iff"]
        );
        assert_eq!(toks("add_comm"), ["add_comm", "add", "comm"]);
        assert_eq!(toks("finset"), ["finset"]);
    }

    #[test]
    fn a_projection_of_a_variable_keeps_the_whole_and_its_parts() {
        assert_eq!(toks("n.succ"), ["n.succ", "n", "succ"]);
    }

    #[test]
    fn a_declaration_statement() {
        assert_eq!(
            toks("∀ {n : ℕ} {m : ℕ}, n.succ ≤ m ↔ n < m"),
            ["∀", "ℕ", "ℕ", "n.succ", "n", "succ", "≤", "↔", "<"]
        );
    }

    #[test]
    fn a_tactic_state_keeps_types_and_drops_names() {
        let state = "a b : ℕ,\nh₀ : nat.prime p,\nh₁ : 3 ∣ a * b\n\
                     ⊢ (finset.range n).sum (λ (i : ℕ), i ^ 2) = n * (n + 1) * (2 * n + 1) / 6";
        assert_eq!(
            toks(state),
            [
                "ℕ",
                "nat.prime",
                "nat",
                "prime",
                "3",
                "∣",
                "*",
                "finset.range",
                "finset",
                "range",
                "sum",
                "λ",
                "ℕ",
                "^",
                "2",
                "=",
                "*",
                "+",
                "1",
                "*",
                "2",
                "*",
                "+",
                "1",
                "/",
                "6",
            ]
        );
    }

    #[test]
    fn hypothesis_names_are_dropped_but_real_names_like_them_stay() {
        for name in ["h", "h₀", "h1", "hab", "hx'", "this", "h₁'"] {
            assert_eq!(toks(name), Vec::<String>::new(), "{name}");
        }
        assert_eq!(toks("h₀.le"), ["le"]);
        assert_eq!(toks("hom"), ["hom"]);
        assert_eq!(toks("heq"), ["heq"]);
        assert_eq!(toks("hpos"), ["hpos"]);
    }

    #[test]
    fn variables_are_dropped_but_constants_stay() {
        for name in ["a", "x", "n", "x₁", "n'", "α", "β"] {
            assert_eq!(toks(name), Vec::<String>::new(), "{name}");
        }
        assert_eq!(toks("π"), ["π"]);
        assert_eq!(toks("ℕ ℝ ℤ"), ["ℕ", "ℝ", "ℤ"]);
        // Upper case is not a bound variable by Lean's conventions (sets, matrices, `I`).
        assert_eq!(toks("S"), ["s"]);
    }

    #[test]
    fn generated_names_are_dropped_with_their_pieces() {
        assert_eq!(
            toks("[_inst_1 : add_comm_monoid β]"),
            ["add_comm_monoid", "add", "comm", "monoid"]
        );
    }

    #[test]
    fn small_numbers_are_literal_and_large_ones_generic() {
        assert_eq!(
            toks("0 7 12 13 2024 99999999999999999999"),
            ["0", "7", "12", "NUM", "NUM", "NUM"]
        );
        assert_eq!(toks("x₁ + 007"), ["+", "7"]);
    }

    #[test]
    fn operators_are_tokens_and_punctuation_is_not() {
        assert_eq!(
            toks("(a ≠ b) ∧ ¬ (c ∈ s ∪ t) → |x| % 3 ≥ ⌊y⌋ ∨ ∃ z, z⁻¹ ⊆ s ∩ t"),
            [
                "≠", "∧", "¬", "∈", "∪", "→", "|", "|", "%", "3", "≥", "⌊", "⌋", "∨", "∃", "⁻¹",
                "⊆", "∩"
            ]
        );
        assert_eq!(
            toks("∑ (i : ℕ) in s, f i = ∏ x in s, √x!"),
            ["∑", "ℕ", "in", "=", "∏", "in", "√", "!"]
        );
        assert_eq!(
            toks("let y : ℕ := 1 in ⟨y, rfl⟩"),
            ["let", "ℕ", "1", "in", "rfl"]
        );
    }

    #[test]
    fn a_field_access_after_parentheses_gives_the_field() {
        assert_eq!(
            toks("(finset.range n).sum f"),
            ["finset.range", "finset", "range", "sum"]
        );
    }

    #[test]
    fn lowercases_and_never_emits_empty_or_spaced_tokens() {
        assert_eq!(toks("Type u ⊢ Prop"), ["type", "prop"]);
        let text = "∀ {α : Type u_1} [_inst_1 : linear_order α] (a b : α), a ≤ b ∨ b ≤ a\n  ⊢ ...";
        for token in toks(text) {
            assert!(
                !token.is_empty() && !token.contains(char::is_whitespace),
                "{token:?}"
            );
        }
    }
}
