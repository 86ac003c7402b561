//! Screening of untrusted text before it reaches Lean.
//!
//! Tactic, proof and statement text comes from a language model. Lean 3 tactic blocks may
//! contain arbitrary `tactic unit` expressions, and the `tactic` monad can run IO
//! (`tactic.unsafe_run_io`), evaluate code (`eval_expr`) or change the environment
//! (`add_decl`, `set_env`). The REPL already parses tactic text as exactly one tactic block, so
//! commands (`#eval`, `run_cmd`, `meta def`, `axiom`, …) cannot be issued through it; this
//! screen additionally refuses any text that *mentions* the means of doing harm, so it never
//! reaches the elaborator. See `lean-bridge/README.md` for the threat model.

use std::fmt;

use problems::lexer::{TokenKind, tokenize};

/// Why a text was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What was found (a word, a character, …).
    pub found: String,
    /// Why that is refused.
    pub reason: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused `{}`: {}", self.found, self.reason)
    }
}

/// Longest text accepted (characters). Model output is short; anything longer is a runaway.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Identifier components that are refused wherever they appear in a dotted name.
const DENIED_WORDS: &[(&str, &str)] = &[
    ("io", "the io namespace runs processes and touches files"),
    ("unsafe_run_io", "runs IO from a tactic"),
    ("run_io", "runs IO"),
    ("run_cmd", "runs commands"),
    ("run_parser", "runs commands"),
    ("run_tactic", "runs tactics outside the proof"),
    ("eval_expr", "evaluates arbitrary code"),
    ("eval_pexpr", "evaluates arbitrary code"),
    ("add_decl", "changes the environment"),
    ("add_meta_definition", "changes the environment"),
    ("set_env", "changes the environment"),
    ("set_env_core", "changes the environment"),
    ("environment", "changes the environment"),
    ("native", "native code and unchecked casts"),
    ("unchecked_cast", "breaks type safety"),
    ("vm", "the virtual machine's internals"),
    ("lean", "the parser's internals (lean.parser) run commands"),
    ("command_like", "runs commands"),
    ("emit_code_here", "runs commands"),
    ("emit_command_here", "runs commands"),
    ("with_input", "runs the parser on new input"),
    ("user_command", "declares commands"),
    ("user_attribute", "declares attributes"),
    ("meta", "meta code is not allowed"),
    ("attribute", "changes attributes of declarations"),
    ("set_option", "changes Lean's options (and limits)"),
    ("import", "imports are fixed when the worker starts"),
    ("constant", "declares an assumption"),
    ("constants", "declares assumptions"),
    ("axiom", "declares an axiom"),
    ("axioms", "declares axioms"),
    ("notation", "changes the syntax"),
    ("infix", "changes the syntax"),
    ("infixl", "changes the syntax"),
    ("infixr", "changes the syntax"),
    ("prefix", "changes the syntax"),
    ("postfix", "changes the syntax"),
    ("precedence", "changes the syntax"),
    ("reserve", "changes the syntax"),
    ("declare_trace", "changes the environment"),
    ("sorry", "a proof with sorry proves nothing"),
    ("admit", "a proof with admit proves nothing"),
    ("cheat", "a proof with cheat proves nothing"),
    ("sorry_ax", "a proof with sorry proves nothing"),
    ("exit", "stops Lean"),
    ("undefined", "proves nothing"),
    ("undefined_core", "proves nothing"),
    ("trust", "changes the trust level"),
];

/// Character sequences refused anywhere.
const DENIED_SEQUENCES: &[(&str, &str)] = &[
    ("#", "commands such as #eval, #exit and #print"),
    ("@[", "attributes"),
    ("«", "escaped identifiers can spell any name"),
    ("»", "escaped identifiers can spell any name"),
];

/// Screens one text: a tactic, a proof (`begin … end`, `by …` or a term) or a statement.
pub fn screen(text: &str) -> Result<(), Refusal> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Refusal {
            found: format!("{} characters", text.chars().count()),
            reason: "text too long",
        });
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t' && *c != '\r')
    {
        return Err(Refusal {
            found: format!("{:?}", c),
            reason: "control characters are not Lean syntax",
        });
    }
    for (seq, reason) in DENIED_SEQUENCES {
        if text.contains(seq) {
            return Err(Refusal {
                found: (*seq).to_string(),
                reason,
            });
        }
    }
    // Every component of every identifier, as Lean's lexer reads the text (the workspace's one
    // copy of its rules): names in comments and string literals are not names.
    let tokens = tokenize(text).map_err(|e| Refusal {
        found: e.message,
        reason: "the text does not read as Lean (an unterminated comment or string)",
    })?;
    for t in tokens.iter().filter(|t| t.kind == TokenKind::Ident) {
        let word = t.text(text);
        for part in word.split('.') {
            if let Some((_, reason)) = DENIED_WORDS.iter().find(|(w, _)| *w == part) {
                return Err(Refusal {
                    found: word.to_string(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Context lines (from problem files, not from the model) may only open namespaces and locales,
/// declare universes, or set local attributes and notation.
///
/// Earlier `theorem`s and `lemma`s of the same file are context too (a proof may cite a lemma
/// proved above it); they are screened like any proof text.
pub fn screen_context_line(line: &str) -> Result<(), Refusal> {
    let t = line.trim();
    let first = t.split_whitespace().next().unwrap_or("");
    if matches!(first, "theorem" | "lemma") {
        return screen(t);
    }
    let second = t.split_whitespace().nth(1).unwrap_or("");
    let allowed = matches!(first, "open" | "open_locale" | "universe" | "universes")
        || t == "noncomputable theory"
        || (first == "local" && matches!(second, "attribute" | "notation"));
    if !allowed {
        return Err(Refusal {
            found: t.to_string(),
            reason: "context lines may only be open, open_locale, universe(s), \
                     noncomputable theory, local attribute or local notation",
        });
    }
    if t.contains('#') || t.contains("@[") || t.contains('«') || t.contains("meta") {
        return Err(Refusal {
            found: t.to_string(),
            reason: "context lines may not run commands or meta code",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_tactics_pass() {
        for t in [
            "intros x y",
            "simp [h₀, nat.succ_le_iff] at *",
            "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]",
            "{ norm_num }, { linarith }",
            "cases h with x hx; simp [hx]",
            "rw ← h₁ at h₂ ⊢",
            "induction n with n ih",
            "exact ⟨_, rfl⟩",
            "field_simp [hx.ne']",
            "apply nat.le_of_lt_succ",
            "refine ⟨λ h, _, λ h, _⟩",
            "try { simp } <|> refl",
            "begin intro h, exact h end",
            "norm_num [finset.sum_range_succ]",
            "have h₃ : 0 < x := by linarith",
        ] {
            assert_eq!(screen(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn dangerous_text_is_refused() {
        for (t, found) in [
            (
                "tactic.unsafe_run_io (io.cmd {cmd := \"rm\"})",
                "tactic.unsafe_run_io",
            ),
            ("exact (io.put_str \"x\")", "io.put_str"),
            ("run_cmd tactic.trace 1", "run_cmd"),
            ("#eval 1", "#"),
            ("#exit", "#"),
            ("set_option timeout 0", "set_option"),
            ("meta def f := 1", "meta"),
            ("attribute [simp] foo", "attribute"),
            ("@[simp] lemma x", "@["),
            ("constant c : false", "constant"),
            ("axiom a : false", "axiom"),
            ("notation `x` := 1", "notation"),
            ("import data.real.basic", "import"),
            ("exact «io».cmd", "«"),
            ("sorry", "sorry"),
            ("exact sorry", "sorry"),
            ("admit", "admit"),
            ("tactic.set_env e", "tactic.set_env"),
            ("exact _root_.io.cmd", "_root_.io.cmd"),
            ("eval_expr ℕ e", "eval_expr"),
            ("lean.parser.run p", "lean.parser.run"),
            ("native.float", "native.float"),
        ] {
            let r = screen(t).expect_err(t);
            assert_eq!(r.found, found, "{t}");
        }
    }

    #[test]
    fn names_in_comments_and_strings_are_not_names() {
        for t in [
            "simp -- sorry, io.cmd and run_cmd are words here",
            "/- meta: axiom -/ norm_num",
            "exact (\"io.cmd\".length)",
        ] {
            assert_eq!(screen(t), Ok(()), "{t}");
        }
        // A comment that never ends hides nothing: refused.
        assert!(screen("simp /- io.cmd").is_err());
    }

    #[test]
    fn words_containing_denied_words_pass() {
        // `io` inside a longer identifier is fine; only whole components are refused.
        for t in [
            "exact ratio_pos",
            "apply biology",
            "simp [axiom_of_choice_thing]",
        ] {
            assert_eq!(screen(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn control_characters_and_long_text_are_refused() {
        assert!(screen("simp\u{0}").is_err());
        assert!(screen(&"a".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(screen("simp,\n  refl\t").is_ok());
    }

    #[test]
    fn context_lines() {
        for l in [
            "open nat",
            "open_locale big_operators real",
            "universe u",
            "noncomputable theory",
            "local attribute [instance] classical.prop_decidable",
            "theorem helper (n : ℕ) : n + 0 = n := rfl",
            "lemma l2 (p : Prop) (h : p) : p :=\nbegin\n  exact h\nend",
        ] {
            assert!(screen_context_line(l).is_ok(), "{l}");
        }
        for l in [
            "#eval 1",
            "run_cmd skip",
            "attribute [simp] x",
            "def x := 1",
        ] {
            assert!(screen_context_line(l).is_err(), "{l}");
        }
    }
}
