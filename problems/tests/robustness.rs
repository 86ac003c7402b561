//! The parser never panics: truncated and randomly perturbed inputs give a result or a
//! `ParseError`, and whatever parses has spans that fit the text.

use problems::{ProblemFile, core_dir, parse_str, shared_minif2f_valid};

/// Constructs the parser treats specially, so perturbations hit interesting paths.
const SAMPLE: &str = "/- header -/
import foo .bar
open nat
local attribute [instance] classical.prop_decidable
section s
variables {α : Type*}
/-- doc -/
@[simp] lemma l₁ (h₀ : ∀ x : ℕ, x = x) (s : string := \"a := b\") : 'c' = 'c' ∧ |(1:ℤ)| = 1 :=
begin
  split, { refl }, exact match 0 with | 0 := rfl | _ := rfl end,
  calc (1:ℤ) = 1 : by simp ... = 1 : rfl,
  obtain ⟨a, b⟩ : ∃ a b : ℕ, a = b := ⟨0, 0, rfl⟩, -- done
end
end s
theorem eqn : ∀ n : ℕ, n + 0 = n
| 0 := rfl
| (n+1) := rfl
example : true := by trivial
#eval «weird name» ⋃₀ Σ' x, ⦃y⦄
";

const INSERTS: &[&str] = &[
    "(", ")", "[", "]", "{", "}", "⟨", "⟩", "begin", "end", "match", "/-", "-/", "--", "\"", "'",
    "«", "»", ":=", ":", "|", ",", "theorem ", "lemma x", "@[", "#eval", "local", "λ", "∀", "⋃₀",
    "\n", "sorry", "by", "₀", "ℕ", "\\",
];

/// xorshift64*: a small deterministic generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A char boundary of `text`.
    fn boundary(&mut self, text: &str) -> usize {
        let mut i = self.below(text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

fn check(text: &str) {
    match parse_str(text, None) {
        Ok(file) => check_spans(text, &file),
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(
                e.line >= 1 && e.line <= lines,
                "error line {} outside 1..={lines}: {e}",
                e.line
            );
        }
    }
}

fn check_spans(text: &str, file: &ProblemFile) {
    for t in &file.theorems {
        assert!(t.span.start <= t.span.end && t.span.end <= text.len());
        let proof = t.proof_span.expect("proof span");
        assert_eq!(proof.text(text), t.proof.text());
        for step in t.steps() {
            assert_eq!(step.span.text(text), step.text);
        }
    }
    for s in &file.skipped {
        assert_eq!(s.span.text(text), s.text);
    }
}

fn perturb(rng: &mut Rng, base: &str, rounds: usize) {
    for _ in 0..rounds {
        let mut text = base.to_string();
        for _ in 0..1 + rng.below(3) {
            let at = rng.boundary(&text);
            match rng.below(3) {
                0 => {
                    let to = at + rng.boundary(&text[at..]).min(40);
                    let mut to = to.min(text.len());
                    while !text.is_char_boundary(to) {
                        to -= 1;
                    }
                    text.replace_range(at..to, "");
                }
                1 => text.insert_str(at, INSERTS[rng.below(INSERTS.len())]),
                _ => {
                    let from = rng.boundary(&text);
                    let piece: String = text[from..].chars().take(1 + rng.below(20)).collect();
                    text.insert_str(at, &piece);
                }
            }
        }
        check(&text);
    }
}

fn truncations(rng: &mut Rng, base: &str, count: usize) {
    for _ in 0..count {
        let at = rng.boundary(base);
        check(&base[..at]);
        check(&base[at..]);
    }
}

#[test]
fn sample_survives_every_truncation_and_random_edits() {
    assert!(parse_str(SAMPLE, None).is_ok());
    for (i, _) in SAMPLE.char_indices() {
        check(&SAMPLE[..i]);
        check(&SAMPLE[i..]);
    }
    perturb(&mut Rng(0x9e37_79b9_7f4a_7c15), SAMPLE, 5000);
}

#[test]
fn core_files_survive_random_edits() {
    let mut rng = Rng(42);
    let mut seen = 0;
    for entry in std::fs::read_dir(core_dir()).expect("core dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "lean") {
            let text = std::fs::read_to_string(&path).expect("readable");
            truncations(&mut rng, &text, 200);
            perturb(&mut rng, &text, 300);
            seen += 1;
        }
    }
    assert!(seen > 0);
}

#[test]
fn minif2f_valid_survives_random_edits() {
    let Some(path) = shared_minif2f_valid() else {
        println!("SKIPPED: ../shared/minif2f/valid.lean not found");
        return;
    };
    let text = std::fs::read_to_string(path).expect("readable");
    let mut rng = Rng(7);
    truncations(&mut rng, &text, 150);
    perturb(&mut rng, &text, 150);
}
