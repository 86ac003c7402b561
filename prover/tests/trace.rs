//! `prover trace` with a real Lean: steps as Lean ran them (nested ones included), states, and
//! premises resolved as Lean resolves names (through a namespace, an `open`, an `export`; a
//! hypothesis named like a lemma is no premise); every step replays from its text; found
//! proofs give the same records. With a mathlib project, five mathlib files.

use std::path::{Path, PathBuf};
use std::process::Command;

use lean_bridge::testing::{lean_for_test, mathlib_project_for_test};
use lean_trace::TracedTheorem;

const NAMES: &str = r#"namespace foo
def double (n : ℕ) : ℕ := n + n
theorem double_eq (n : ℕ) : double n = n + n := rfl
end foo

namespace bar
theorem helper (a : ℕ) : a + 0 = a := nat.add_zero a
end bar

namespace baz
export bar (helper)
end baz

namespace foo
theorem in_namespace (n : ℕ) : double n = n + n :=
begin
  rw double_eq,
end
end foo

section
open foo
theorem through_open (n : ℕ) : double n = n + n :=
begin
  exact double_eq n,
end
end

section
open baz
theorem through_export (a : ℕ) : a + 0 = a :=
begin
  exact helper a,
end
end

theorem hypothesis_is_no_premise (p q : Prop) (add_comm : p) (hq : q) : p ∧ q :=
begin
  split,
  { exact add_comm },
  exact hq,
end

theorem chained (a b : ℕ) (h : a = b) : b = a ∧ a = b :=
begin
  split; subst h,
end
"#;

fn trace(files: &[&Path], out: &Path, extra: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_prover"))
        .arg("trace")
        .args(files)
        .arg("--output")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn records(path: &Path) -> Vec<TracedTheorem> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (full name, file, position) of a premise.
type PremiseAt = (String, String, Option<(u32, u32)>);

fn premises_of(t: &TracedTheorem) -> Vec<PremiseAt> {
    t.traced_tactics
        .iter()
        .flat_map(|s| &s.annotated_tactic.1)
        .map(|p| {
            (
                p.full_name.clone(),
                p.def_path.clone().unwrap_or_default(),
                p.def_pos,
            )
        })
        .collect()
}

#[test]
fn trace_resolves_names_as_lean_does_and_every_step_replays() {
    if lean_for_test("trace_resolves_names_as_lean_does_and_every_step_replays").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("names.lean");
    std::fs::write(&file, NAMES).unwrap();
    let out = dir.path().join("traces.jsonl");
    let (ok, text) = trace(&[&file], &out, &["--replay", "-j", "1"]);
    assert!(ok, "{text}");
    let recs = records(&out);
    let by_name = |n: &str| {
        recs.iter()
            .find(|t| t.full_name == n)
            .unwrap_or_else(|| panic!("no record of {n}: {text}"))
    };
    let path = file.display().to_string();
    // The file's own declarations: where they are, in this file.
    let in_ns = by_name("foo.in_namespace");
    assert_eq!(
        premises_of(in_ns),
        [("foo.double_eq".to_string(), path.clone(), Some((3, 0)))]
    );
    assert_eq!(in_ns.traced_tactics[0].tactic, "rw double_eq");
    assert_eq!(
        in_ns.traced_tactics[0].annotated_tactic.0,
        "rw <a>double_eq</a>"
    );
    assert_eq!(in_ns.start, (15, 0));
    let open = by_name("through_open");
    assert_eq!(premises_of(open)[0].0, "foo.double_eq");
    assert_eq!(
        open.traced_tactics[0].annotated_tactic.0,
        "exact <a>double_eq</a> n"
    );
    // `helper` is visible through `open baz` only because `baz` exports it from `bar`.
    assert_eq!(
        premises_of(by_name("through_export")),
        [("bar.helper".to_string(), path.clone(), Some((7, 0)))]
    );
    // A hypothesis named like core Lean's `add_comm` is the hypothesis, not the lemma; the
    // step inside `{ … }` is traced, and so is the block.
    let hyp = by_name("hypothesis_is_no_premise");
    assert!(premises_of(hyp).is_empty(), "{hyp:?}");
    let tactics: Vec<&str> = hyp
        .traced_tactics
        .iter()
        .map(|s| s.tactic.as_str())
        .collect();
    assert_eq!(
        tactics,
        ["split", "{ exact add_comm }", "exact add_comm", "exact hq"]
    );
    assert!(hyp.traced_tactics[0].state_after.starts_with("2 goals"));
    assert_eq!(hyp.traced_tactics[3].state_after, "no goals");
    // `split; subst h`: the chain's second tactic once per goal.
    let chained = by_name("chained");
    assert_eq!(
        chained
            .traced_tactics
            .iter()
            .filter(|s| s.tactic == "subst h")
            .count(),
        2,
        "{chained:?}"
    );
    // Core Lean's own lemmas are named with their place in the library.
    assert!(text.contains("replayed"), "{text}");
    assert!(text.contains(" 0 not a declaration"), "{text}");
    let steps: usize = recs.iter().map(|t| t.traced_tactics.len()).sum();
    assert!(
        text.contains(&format!("replayed {steps} step(s): {steps} reached")),
        "{text}"
    );
    let (reached, in_context) = in_context_counts(&text);
    assert_eq!(reached, in_context, "{text}");

    // --resume traces nothing twice.
    let (ok, again) = trace(&[&file], &out, &["--resume"]);
    assert!(ok, "{again}");
    assert!(again.contains("1 file(s) already traced"), "{again}");
    assert_eq!(records(&out).len(), recs.len());
}

/// (reached, replayed) of the steps replayed in the theorem's own proof, from the summary.
fn in_context_counts(text: &str) -> (usize, usize) {
    let rest = text
        .split("in the theorem's own proof ")
        .nth(1)
        .unwrap_or_else(|| panic!("no replay summary: {text}"));
    let words: Vec<&str> = rest.split_whitespace().collect();
    (words[0].parse().unwrap(), words[2].parse().unwrap())
}

#[test]
fn found_proofs_become_the_same_records() {
    if lean_for_test("found_proofs_become_the_same_records").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("open.lean");
    std::fs::write(
        &file,
        "theorem found_one (p q : Prop) (hp : p) (hq : q) : p ∧ q := sorry\ntheorem untouched : true := trivial\n",
    )
    .unwrap();
    let results = dir.path().join("results.jsonl");
    let record = serde_json::json!({
        "name": "found_one", "proved": true, "verified": true,
        "proof": "begin\n  exact and.intro hp hq\nend", "file": file.display().to_string(),
    });
    std::fs::write(&results, format!("{record}\n")).unwrap();
    let out = dir.path().join("found.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["trace", "--found"])
        .arg(&results)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    let recs = records(&out);
    assert_eq!(recs.len(), 1, "{text}");
    let step = &recs[0].traced_tactics[0];
    assert_eq!(step.tactic, "exact and.intro hp hq");
    assert_eq!(step.annotated_tactic.0, "exact <a>and.intro</a> hp hq");
    assert_eq!(step.annotated_tactic.1[0].full_name, "and.intro");
    assert!(
        step.annotated_tactic.1[0]
            .def_path
            .as_deref()
            .is_some_and(|p| p.ends_with(".lean")),
        "{step:?}"
    );
    assert_eq!(step.state_after, "no goals");
}

/// Five mathlib files: every step replayed in its theorem reaches its state_after, every
/// premise is a declaration.
#[test]
fn mathlib_files_trace_and_replay() {
    let Some((_, project)) = mathlib_project_for_test("mathlib_files_trace_and_replay") else {
        return;
    };
    let src = project.join("src");
    let files: Vec<PathBuf> = [
        "data/nat/parity.lean",
        "algebra/group_power/basic.lean",
        "data/int/gcd.lean",
        "logic/basic.lean",
        "algebra/order/field/basic.lean",
    ]
    .iter()
    .map(|f| src.join(f))
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mathlib.jsonl");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (ok, text) = trace(
        &refs,
        &out,
        &["--replay", "--lean-project", project.to_str().unwrap()],
    );
    assert!(ok, "{text}");
    let recs = records(&out);
    assert!(recs.len() > 100, "{text}");
    let steps: usize = recs.iter().map(|t| t.traced_tactics.len()).sum();
    // Every step replayed where the theorem's own proof reached its state reaches its
    // state_after, and most steps are replayed that way (the rest: inside `;` chains and
    // `by` terms, replayed from their text).
    let (reached, in_context) = in_context_counts(&text);
    assert_eq!(reached, in_context, "{text}");
    assert!(
        in_context * 3 >= steps * 2,
        "{in_context} of {steps}: {text}"
    );
    assert!(text.contains(" 0 not a declaration"), "{text}");
    // Every premise names a declaration with its place.
    for t in &recs {
        for s in &t.traced_tactics {
            for p in &s.annotated_tactic.1 {
                assert!(
                    p.def_path.as_deref().is_some_and(|d| d.ends_with(".lean")),
                    "{p:?}"
                );
            }
        }
    }
}

/// A group of files whose Lean does not start is reported file by file, and the run goes on
/// to the end (exit status 1) instead of stopping at the first such group.
#[test]
fn a_lean_that_does_not_start_fails_its_files_not_the_run() {
    if lean_for_test("a_lean_that_does_not_start_fails_its_files_not_the_run").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.lean");
    let b = dir.path().join("b.lean");
    std::fs::write(
        &a,
        "theorem ta (p : Prop) (h : p) : p :=\nbegin\n  exact h,\nend\n",
    )
    .unwrap();
    std::fs::write(&b, "theorem tb : true :=\nbegin\n  trivial,\nend\n").unwrap();
    let out = dir.path().join("out.jsonl");
    let (ok, text) = trace(&[&a, &b], &out, &["--start-timeout", "0.001"]);
    assert!(!ok, "{text}");
    assert!(text.contains("a.lean: not traced"), "{text}");
    assert!(text.contains("b.lean: not traced"), "{text}");
    assert!(text.contains("traced 2 file(s) (2 failed)"), "{text}");
}
