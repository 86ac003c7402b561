//! The parser on small, tricky inputs.

use problems::{CursorMove, DeclKind, ParseError, ProblemFile, Proof, Theorem, parse_str};

fn parse(text: &str) -> ProblemFile {
    parse_str(text, None).unwrap_or_else(|e| panic!("{e}"))
}

fn only(text: &str) -> Theorem {
    let mut file = parse(text);
    assert_eq!(file.theorems.len(), 1, "{:#?}", file.theorems);
    file.theorems.remove(0)
}

fn steps(t: &Theorem) -> Vec<&str> {
    t.steps().iter().map(|s| s.text.as_str()).collect()
}

fn error(text: &str) -> ParseError {
    match parse_str(text, Some("bad.lean".as_ref())).and_then(ProblemFile::strict) {
        Ok(file) => panic!("expected an error, parsed {:#?}", file.theorems),
        Err(e) => e,
    }
}

#[test]
fn header_context_and_doc_comment() {
    let text = "\
/- Copyright: -/
import data.real.basic
  algebra.group
import .local_file
open nat real
open_locale big_operators
universes u v
noncomputable theory
local attribute [instance] classical.prop_decidable

/-- The doc,
  over two lines. -/
@[simp] private lemma nat.my_lemma {α : Type u} (h₀ : ∀ x₁ : α, x₁ = x₁) :
  (2 : ℕ) + 2 = 4 :=
rfl
";
    let file = parse(text);
    assert_eq!(
        file.header.imports,
        ["data.real.basic", "algebra.group", ".local_file"]
    );
    let context = [
        "open nat real",
        "open_locale big_operators",
        "universes u v",
        "noncomputable theory",
        "local attribute [instance] classical.prop_decidable",
    ];
    assert_eq!(file.header.context, context);
    let t = &file.theorems[0];
    assert_eq!(t.name, "nat.my_lemma");
    assert_eq!(t.kind, DeclKind::Lemma);
    assert_eq!(t.context, context);
    assert_eq!(t.doc.as_deref(), Some("The doc,\n  over two lines."));
    assert_eq!(
        t.statement,
        "{α : Type u} (h₀ : ∀ x₁ : α, x₁ = x₁) :\n  (2 : ℕ) + 2 = 4"
    );
    assert_eq!(t.proof, Proof::Term("rfl".to_string()));
    // The declaration span starts at the attribute, not at the doc comment.
    assert_eq!((t.span.line, t.span.col), (13, 0));
    assert!(t.span.text(text).starts_with("@[simp] private lemma"));
    assert_eq!((t.span.end_line, t.span.end_col), (15, 3));
    assert_eq!(
        t.declaration(),
        "lemma nat.my_lemma {α : Type u} (h₀ : ∀ x₁ : α, x₁ = x₁) :\n  (2 : ℕ) + 2 = 4 :=\nrfl"
    );
}

#[test]
fn tactic_proof_steps_and_spans() {
    let text = "theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q ∧ (∀ x : ℕ, x = x) :=
begin
  split, -- first
  { exact hp },
  split; try { assumption },
  /- a comment, with commas -/
  intro x,
  exact (λ y, rfl) x,
end";
    let t = only(text);
    assert!(t.has_proof() && !t.contains_sorry);
    assert_eq!(
        steps(&t),
        [
            "split",
            "{ exact hp }",
            "split; try { assumption }",
            "intro x",
            "exact (λ y, rfl) x"
        ]
    );
    let s = &t.steps()[2];
    assert_eq!(
        (s.span.line, s.span.col, s.span.end_line, s.span.end_col),
        (5, 2, 5, 27)
    );
    assert_eq!(&text[s.span.start..s.span.end], s.text);
    let proof = t.proof_span.unwrap();
    assert_eq!(
        (proof.line, proof.col, proof.end_line, proof.end_col),
        (2, 0, 9, 3)
    );
    assert_eq!(t.steps_before_line(1).0.len(), 0);
    assert_eq!(t.steps_before_line(5).0.len(), 2);
    assert_eq!(t.steps_before_line(6).0.len(), 3);
    assert_eq!(t.steps_before_line(100).0.len(), 5);
    assert_eq!(
        t.with_proof("by simp"),
        "theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q ∧ (∀ x : ℕ, x = x) :=\nby simp"
    );
}

#[test]
fn nested_blocks_match_calc_and_binder_commas() {
    let t = only(
        "lemma l (n : ℕ) : n + 0 = n :=
begin
  have h : ∀ m : ℕ, ∃ k, k = m, { intro m, exact ⟨m, rfl⟩ },
  have h2 : n = n := begin refl, end,
  cases n,
  { refl },
  exact match n with
    | 0 := rfl
    | (k+1) := by { simp, }
  end,
  calc n + 0 = n : by simp
    ... = n : rfl,
  assume x, exact assume y, y,
  obtain ⟨a, b⟩ : ∃ a b : ℕ, a = b, from ⟨0, 0, rfl⟩
end",
    );
    assert_eq!(
        steps(&t),
        [
            "have h : ∀ m : ℕ, ∃ k, k = m",
            "{ intro m, exact ⟨m, rfl⟩ }",
            "have h2 : n = n := begin refl, end",
            "cases n",
            "{ refl }",
            "exact match n with\n    | 0 := rfl\n    | (k+1) := by { simp, }\n  end",
            "calc n + 0 = n : by simp\n    ... = n : rfl",
            "assume x",
            "exact assume y, y",
            "obtain ⟨a, b⟩ : ∃ a b : ℕ, a = b",
            "from ⟨0, 0, rfl⟩",
        ]
    );
}

#[test]
fn by_and_term_proofs_run_to_the_next_command() {
    let file = parse(
        "theorem a : true :=
by
  trivial
-- a comment between
theorem b (h : 1 = 1) : 1 = 1 := h
theorem c : ∀ n : ℕ, n = n :=
λ n, eq.refl
  n
/-- doc -/ example : 2 = 2 := by exact rfl
#eval 1 + 1
def d : ℕ := 3
",
    );
    let names: Vec<&str> = file.theorems.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "example_at_line_9"]);
    let proofs: Vec<&Proof> = file.theorems.iter().map(|t| &t.proof).collect();
    assert_eq!(
        proofs,
        [
            &Proof::By("by\n  trivial".into()),
            &Proof::Term("h".into()),
            &Proof::Term("λ n, eq.refl\n  n".into()),
            &Proof::By("by exact rfl".into()),
        ]
    );
    let ex = &file.theorems[3];
    assert_eq!(ex.kind, DeclKind::Example);
    assert_eq!(ex.doc.as_deref(), Some("doc"));
    assert_eq!(ex.declaration(), "example : 2 = 2 :=\nby exact rfl");
    let skipped: Vec<(&str, &str)> = file
        .skipped
        .iter()
        .map(|s| (s.keyword.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [("#eval", "#eval 1 + 1"), ("def", "def d : ℕ := 3")]
    );
    assert_eq!(file.skipped[1].span.line, 11);
}

#[test]
fn sorry_forms() {
    let file = parse(
        "theorem s1 : true := sorry
theorem s2 : true := by sorry
theorem s3 : true :=
begin
  -- nothing yet
  sorry,
end
theorem s4 : true ∧ true :=
begin
  split,
  { sorry },
  trivial
end
theorem s5 : true := begin exact sorry end
",
    );
    let summary: Vec<(bool, bool)> = file
        .theorems
        .iter()
        .map(|t| (t.has_proof(), t.contains_sorry))
        .collect();
    assert_eq!(
        summary,
        [
            (false, true),
            (false, true),
            (false, true),
            (true, true),
            (true, true)
        ]
    );
    assert!(!file.theorems[3].has_complete_proof());
    assert_eq!(
        file.theorems[2].proof.text(),
        "begin\n  -- nothing yet\n  sorry,\nend"
    );
}

#[test]
fn comments_and_strings_do_not_confuse_structure() {
    let t = only(
        "/- theorem hidden : false := /- nested -/ begin end -/
theorem t (s : string) (h : s = \"end := theorem (\") -- trailing := comment
  : s.length = 16 :=
begin
  /- end, end -/ subst h,
  refl -- , end
end",
    );
    assert_eq!(t.name, "t");
    assert_eq!(
        t.statement,
        "(s : string) (h : s = \"end := theorem (\") -- trailing := comment\n  : s.length = 16"
    );
    assert_eq!(steps(&t), ["subst h", "refl"]);
}

#[test]
fn sections_scope_context_and_equations() {
    let file = parse(
        "open nat
section
open list
variables {α : Type}
theorem inner : true := trivial
end
namespace foo
theorem outer : ∀ n : ℕ, n + 0 = n
| 0 := rfl
| (n+1) := rfl
end foo
theorem abs_like (x : ℤ) :
  |x| = |x| :=
rfl
",
    );
    assert_eq!(file.header.context, ["open nat"]);
    let [inner, outer, abs_like] = &file.theorems[..] else {
        panic!("{:#?}", file.theorems);
    };
    assert_eq!(
        inner.context,
        ["open nat", "open list", "variables {α : Type}"]
    );
    assert_eq!(outer.context, ["open nat"]);
    assert_eq!(outer.statement, ": ∀ n : ℕ, n + 0 = n");
    assert_eq!(
        outer.proof,
        Proof::Equations("| 0 := rfl\n| (n+1) := rfl".into())
    );
    assert_eq!(
        outer.declaration(),
        "theorem outer : ∀ n : ℕ, n + 0 = n\n| 0 := rfl\n| (n+1) := rfl"
    );
    assert_eq!(abs_like.statement, "(x : ℤ) :\n  |x| = |x|");
    let kinds: Vec<&str> = file.skipped.iter().map(|s| s.keyword.as_str()).collect();
    assert_eq!(kinds, ["section", "end", "namespace", "end"]);
}

#[test]
fn a_dot_after_the_statement_is_an_empty_match() {
    // mathlib's `data/set/basic.lean`: no equations at all, the goal's hypothesis is empty.
    let file = parse(
        "@[simp] theorem empty_subset (s : set α) : ∅ ⊆ s.\n\n\
         theorem next (s : set α) : s ⊆ s := λ x h, h\n",
    );
    let [empty, next] = &file.theorems[..] else {
        panic!("{:#?}", file.theorems);
    };
    assert_eq!(empty.statement, "(s : set α) : ∅ ⊆ s");
    assert_eq!(empty.proof, Proof::Equations(".".into()));
    assert_eq!(empty.span.end_line, 1);
    assert_eq!(next.name, "next");
    assert!(file.unreadable.is_empty(), "{:#?}", file.unreadable);
    // A dot inside the statement is not an end: `s.1` and `nat.succ`.
    let t = only("theorem t (s : ℕ × ℕ) : s.1 = nat.succ 0 . ");
    assert_eq!(t.statement, "(s : ℕ × ℕ) : s.1 = nat.succ 0");
}

#[test]
fn mathlib_user_commands_end_a_proof() {
    let file = parse(
        "lemma right_eq_sup : true := trivial\n\nalias right_eq_sup ↔ _ foo\n\
         theorem t : true := trivial\nmk_simp_attribute my_simps \"doc\"\n#lint_mathlib\n",
    );
    let [a, b] = &file.theorems[..] else {
        panic!("{:#?}", file.theorems);
    };
    assert_eq!(a.proof, Proof::Term("trivial".into()));
    assert_eq!(b.proof, Proof::Term("trivial".into()));
}

#[test]
fn the_way_to_a_cursor_goes_into_blocks_and_after_semicolons() {
    let t = only(
        "theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q :=
begin
  split,
  { have h := hp,
    exact h },
  { split; simp,
    { exact hq } }
end",
    );
    let run = |text: &str, line: usize| CursorMove::Run {
        text: text.into(),
        line,
    };
    let focus = |line: usize| CursorMove::Focus { line };
    let block1 = "{ have h := hp,\n    exact h }";
    assert_eq!(t.steps()[1].inner.len(), 2);
    // Lines alone: a block's first line is before it, its later lines inside it.
    assert_eq!(t.moves_before(3, None), []);
    assert_eq!(t.moves_before(4, None), [run("split", 3)]);
    assert_eq!(
        t.moves_before(5, None),
        [run("split", 3), focus(4), run("have h := hp", 4)]
    );
    assert_eq!(t.moves_before(6, None), [run("split", 3), run(block1, 4)]);
    // Columns: just inside `{ ` on line 4, and after `split;` on line 6.
    assert_eq!(t.moves_before(4, Some(4)), [run("split", 3), focus(4)]);
    assert_eq!(
        t.moves_before(6, Some(10)),
        [
            run("split", 3),
            run(block1, 4),
            focus(6),
            focus(6),
            run("split", 6)
        ]
    );
    // Two blocks deep.
    assert_eq!(
        t.moves_before(7, Some(6)),
        [
            run("split", 3),
            run(block1, 4),
            focus(6),
            run("split; simp", 6),
            focus(7)
        ]
    );
    // After the proof: every top-level step.
    assert_eq!(t.moves_before(8, None).len(), 3);
}

#[test]
fn equations_may_follow_the_statement_on_its_line() {
    // mathlib's `logic/function/basic.lean`.
    let t = only(
        "theorem cantor_surjective {α} (f : α → set α) : ¬ function.surjective f | h :=\n\
         let ⟨D, e⟩ := h {a | ¬ a ∈ f a} in\n\
         (iff_not_self (D ∈ f D)).1 $ iff_of_eq (congr_arg ((∈) D) e)",
    );
    assert_eq!(t.statement, "{α} (f : α → set α) : ¬ function.surjective f");
    assert!(matches!(&t.proof, Proof::Equations(p) if p.starts_with("| h :=")));
    // Absolute values are not equations, wherever their bars are.
    for text in [
        "theorem a (x : ℤ) : 0 ≤ |x| := abs_nonneg x",
        "theorem b (x y : ℤ) : |x| + |y| = |y| + |x| := add_comm _ _",
    ] {
        let t = only(text);
        assert!(matches!(t.proof, Proof::Term(_)), "{text}: {:?}", t.proof);
    }
}

#[test]
fn malformed_files_report_the_right_place() {
    // Unclosed paren in the statement: reported where it opens.
    let e = error(
        "theorem ok : true := trivial\n\ntheorem bad (a : ℕ\n  (h : a = a) : a = a :=\nrfl\n",
    );
    assert_eq!((e.line, e.col), (3, 12), "{e}");
    assert!(e.message.contains("never closed"), "{e}");
    assert_eq!(e.path.as_deref(), Some("bad.lean".as_ref()));
    assert!(e.to_string().starts_with("bad.lean:3:12: "), "{e}");

    // `begin` without `end`, followed by another theorem.
    let e = error("theorem a : true :=\nbegin\n  trivial,\n\ntheorem b : true := trivial\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("`theorem` at line 5"), "{e}");

    // Mismatched closer.
    let e = error("theorem a : true :=\nbegin\n  { trivial )\nend\n");
    assert_eq!((e.line, e.col), (3, 12), "{e}");

    // No `:=`.
    let e = error("open nat\ntheorem a : true\nbegin trivial end\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains(":="), "{e}");

    // Nothing after `:=`.
    let e = error("theorem a : true :=\n\ntheorem b : true := trivial");
    assert_eq!(e.line, 1, "{e}");

    // A stray `end` is Lean's to report: the theorem above it is still read.
    let f = parse("theorem a : true :=\nbegin trivial end\nend\n");
    assert_eq!(f.theorems.len(), 1);

    // Unterminated comment and string.
    let e = error("theorem a : true := trivial\n/- open\n");
    assert_eq!((e.line, e.col), (2, 0), "{e}");
    let e = error("theorem a : \"abc = 1 :=\nrfl\n");
    assert_eq!((e.line, e.col), (1, 12), "{e}");

    // Missing name, and a stray word at the top.
    let e = error("theorem : true := trivial");
    assert_eq!((e.line, e.col), (1, 8), "{e}");
    let e = error("\n  hello world\ntheorem a : true := trivial");
    assert_eq!((e.line, e.col), (2, 2), "{e}");
}

#[test]
fn byte_order_mark_and_comment_after_doc() {
    let file = parse(
        "\u{feff}/-- the doc -/\n-- a note\ntheorem t : true := trivial\n/-- orphan -/ #eval 1\nexample : true := trivial",
    );
    assert_eq!(file.theorems[0].doc.as_deref(), Some("the doc"));
    assert_eq!(file.theorems[1].doc, None);
}

#[test]
fn empty_and_comment_only_files() {
    let file = parse("");
    assert!(file.theorems.is_empty() && file.header.imports.is_empty());
    let file = parse("-- nothing\n/- still nothing -/\n");
    assert!(file.theorems.is_empty() && file.skipped.is_empty());
}

#[test]
fn dependencies_are_the_earlier_lemmas_a_text_mentions() {
    let file = problems::parse_str(
        "theorem a_lemma (n : ℕ) : n + 0 = n := rfl\n\
         theorem unrelated : true := trivial\n\
         theorem b_lemma (n : ℕ) : 0 + n + 0 = 0 + n := by rw a_lemma\n\
         theorem uses_b (n : ℕ) : 0 + n + 0 = 0 + n :=\nbegin\n  exact b_lemma n\nend\n\
         theorem a_lemma_2 : true := trivial\n",
        None,
    )
    .unwrap();
    let t = &file.theorems[3];
    let deps = file.dependencies(3, t.proof.text());
    // b_lemma is mentioned, and it mentions a_lemma; `unrelated` is not needed.
    assert_eq!(deps.len(), 2, "{deps:?}");
    assert!(deps[0].starts_with("theorem a_lemma (n : ℕ)"), "{deps:?}");
    assert!(deps[1].starts_with("theorem b_lemma"), "{deps:?}");
    // Only earlier declarations count, and names match whole identifiers only.
    assert!(file.dependencies(0, "a_lemma").is_empty());
    assert_eq!(file.dependencies(5, "a_lemma_2 x").len(), 1);
    assert!(file.dependencies(4, "a_lemma_2").is_empty());
    assert_eq!(file.dependencies(4, "exact a_lemma").len(), 1);
}
