//! Fidelity on real files: per theorem, `prover check` gives the verdict `lean` gives when it
//! compiles the same file, and `prover replay` completes the tactic proofs Lean accepts.
//!
//! The core corpus (`tests/fidelity/core_constructs.lean`) runs wherever Lean 3 is found. With
//! a compiled mathlib project (`PROVER_MATHLIB_PROJECT`), mathlib files listed in
//! `PROVER_FIDELITY_FILES` (paths relative to the project, `:`-separated) run too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lean_bridge::testing::{lean_for_test, mathlib_project_for_test};
use lean_bridge::{LeanInstall, LeanProject};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fidelity/core_constructs.lean")
}

/// Lines (1-based) where `lean FILE` reports an error.
fn lean_error_lines(lean: &LeanInstall, file: &Path, project: Option<&Path>) -> Vec<usize> {
    let (search_path, cwd) = match project {
        Some(p) => {
            let proj = LeanProject::load(lean, p).unwrap();
            (proj.search_path.clone(), proj.root.clone())
        }
        None => (
            lean_bridge::locate::core_search_path(lean).unwrap(),
            std::env::temp_dir(),
        ),
    };
    let out = Command::new(&lean.lean)
        .arg(file)
        .current_dir(cwd)
        .env("LEAN_PATH", std::env::join_paths(&search_path).unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let name = file.display().to_string();
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&name)?.strip_prefix(':')?;
            let mut parts = rest.splitn(3, ':');
            let line: usize = parts.next()?.parse().ok()?;
            let _col = parts.next()?;
            parts
                .next()?
                .trim_start()
                .starts_with("error")
                .then_some(line)
        })
        .collect()
}

/// `prover SUBCOMMAND --jsonl -j 1 FILE` (with the project when given): its records.
fn prover_jsonl(
    subcommand: &str,
    file: &Path,
    project: Option<&Path>,
    cache: &Path,
) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prover"));
    cmd.args([subcommand, "--jsonl", "-j", "1"]).arg(file);
    if let Some(p) = project {
        cmd.arg("--lean-project").arg(p);
    }
    let out = cmd
        .env("PROVER_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `prover check --jsonl` records by theorem line.
fn prover_check(
    file: &Path,
    project: Option<&Path>,
    cache: &Path,
) -> BTreeMap<usize, serde_json::Value> {
    prover_jsonl("check", file, project, cache)
        .into_iter()
        .map(|v| (v["line"].as_u64().unwrap() as usize, v))
        .collect()
}

/// Compares verdicts; returns (agreeing, total, disagreements).
fn compare(
    file: &Path,
    lean_errors: &[usize],
    records: &BTreeMap<usize, serde_json::Value>,
    expected_axiom_failures: &[&str],
) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    let parsed = problems::parse_str(&text, Some(file)).unwrap();
    let mut agree = 0;
    let mut total = 0;
    let mut diffs = Vec::new();
    for t in parsed.theorems.iter().filter(|t| t.has_proof()) {
        total += 1;
        let lean_ok = !lean_errors
            .iter()
            .any(|&l| l >= t.span.line && l <= t.span.end_line);
        let expected = lean_ok && !expected_axiom_failures.contains(&t.full_name.as_str());
        match records.get(&t.span.line) {
            Some(r) if r["ok"].as_bool() == Some(expected) => agree += 1,
            Some(r) => diffs.push(format!(
                "{} (line {}): lean {}, prover {}: {}",
                t.full_name, t.span.line, lean_ok, r["ok"], r["error"]
            )),
            None => diffs.push(format!("{}: no verdict from prover check", t.full_name)),
        }
    }
    (agree, total, diffs)
}

#[test]
fn check_gives_leans_verdict_on_every_theorem_of_the_core_corpus() {
    let Some(lean) = lean_for_test("check_gives_leans_verdict_on_every_theorem_of_the_core_corpus")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let file = corpus().canonicalize().unwrap();
    let errors = lean_error_lines(&lean, &file, None);
    // The corpus is written so that Lean rejects exactly one theorem.
    assert_eq!(errors.len(), 1, "lean's errors: {errors:?}");
    let records = prover_check(&file, None, cache.path());
    let (agree, total, diffs) = compare(&file, &errors, &records, &["by_axiom"]);
    assert!(total >= 25, "{total} theorems");
    assert!(
        diffs.is_empty(),
        "{agree}/{total} agree:\n{}",
        diffs.join("\n")
    );
    // Full names, as Lean has them.
    let names: Vec<&str> = records
        .values()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for n in [
        "demo.double_eq",
        "demo.k_le",
        "demo.point.swap_swap",
        "nat.my_succ_le",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let axiom = records.values().find(|r| r["name"] == "by_axiom").unwrap();
    assert!(
        axiom["error"].as_str().unwrap().contains("axiom cheat"),
        "{axiom}"
    );
}

#[test]
fn replay_completes_the_tactic_proofs_lean_accepts_in_the_core_corpus() {
    let Some(_) =
        lean_for_test("replay_completes_the_tactic_proofs_lean_accepts_in_the_core_corpus")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let file = corpus();
    let records = prover_jsonl("replay", &file, None, cache.path());
    let text = std::fs::read_to_string(&file).unwrap();
    let parsed = problems::parse_str(&text, None).unwrap();
    let tactic: Vec<&str> = parsed
        .theorems
        .iter()
        .filter(|t| {
            matches!(
                t.proof,
                problems::Proof::Tactic { .. } | problems::Proof::By(_)
            )
        })
        .map(|t| t.full_name.as_str())
        .collect();
    assert!(tactic.len() >= 8, "{tactic:?}");
    // Among them: the file's own `meta def` tactics, and a pattern match inside a step.
    for name in ["demo.by_meta", "demo.by_meta2", "demo.tactic_match"] {
        assert!(
            tactic.contains(&name),
            "{name} is not a tactic proof of the corpus"
        );
    }
    for name in tactic {
        let r = records
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not replayed"));
        let expect = name != "demo.bad_proof";
        assert_eq!(r["complete"].as_bool(), Some(expect), "{r}");
    }
}

/// The mathlib files of the suite (`PROVER_FIDELITY_FILES`, `:`-separated paths relative to
/// the project; default `src/data/nat/parity.lean`), each with the lines where `lean` reports
/// an error.
fn mathlib_files(lean: &LeanInstall, project: &Path) -> Vec<(String, PathBuf, Vec<usize>)> {
    let files = std::env::var("PROVER_FIDELITY_FILES")
        .unwrap_or_else(|_| "src/data/nat/parity.lean".into());
    files
        .split(':')
        .filter(|s| !s.is_empty())
        .map(|rel| {
            let file = project.join(rel);
            let errors = lean_error_lines(lean, &file, Some(project));
            (rel.to_string(), file, errors)
        })
        .collect()
}

#[test]
fn check_gives_leans_verdict_on_mathlib_files() {
    let Some((lean, project)) =
        mathlib_project_for_test("check_gives_leans_verdict_on_mathlib_files")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let mut all_agree = 0;
    let mut all_total = 0;
    let mut all_diffs = Vec::new();
    for (rel, file, errors) in mathlib_files(&lean, &project) {
        let records = prover_check(&file, Some(&project), cache.path());
        let (agree, total, diffs) = compare(&file, &errors, &records, &[]);
        eprintln!("{rel}: {agree}/{total} verdicts agree with lean");
        all_agree += agree;
        all_total += total;
        all_diffs.extend(diffs);
    }
    assert!(all_total > 0);
    // At least 99% of verdicts agree; every disagreement is listed.
    assert!(
        all_agree * 100 >= all_total * 99,
        "{all_agree}/{all_total} agree:\n{}",
        all_diffs.join("\n")
    );
}

#[test]
fn replay_completes_the_tactic_proofs_of_mathlib_files() {
    let Some((lean, project)) =
        mathlib_project_for_test("replay_completes_the_tactic_proofs_of_mathlib_files")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let (mut complete, mut total) = (0, 0);
    let mut failures = Vec::new();
    for (rel, file, errors) in mathlib_files(&lean, &project) {
        for r in prover_jsonl("replay", &file, Some(&project), cache.path()) {
            // Tactic proofs (`begin … end`, `by …`) that Lean accepts.
            let line = r["line"].as_u64().unwrap() as usize;
            if !matches!(r["proof"].as_str(), Some("tactic" | "by")) || errors.contains(&line) {
                continue;
            }
            total += 1;
            if r["complete"] == true {
                complete += 1;
            } else {
                failures.push(format!("{} (line {line}): {}", r["name"], r["error"]));
            }
        }
        eprintln!("{rel}: {complete}/{total} tactic proofs replayed so far");
    }
    assert!(total > 0);
    assert!(
        complete * 100 >= total * 95,
        "{complete}/{total} complete:\n{}",
        failures.join("\n")
    );
}

#[test]
fn suggest_inside_a_mathlib_proof_offers_tactics_that_work_there() {
    let Some((_, project)) =
        mathlib_project_for_test("suggest_inside_a_mathlib_proof_offers_tactics_that_work_there")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let file = project.join("src/data/nat/parity.lean");
    let suggest = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_prover"))
            .args(["suggest", "--jsonl", "--file"])
            .arg(&file)
            .args(["--theorem", "nat.even_xor_odd", "--lean-project"])
            .arg(&project)
            .args(extra)
            .env("PROVER_CACHE_DIR", cache.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.success(), lines, err)
    };
    // After `cases even_or_odd n with h`: two goals, in `namespace nat` with its `variables`.
    let (ok, lines, err) = suggest(&["--line", "64"]);
    assert!(ok, "{err}");
    let state = lines[0]["state"].as_str().unwrap();
    assert!(
        state.starts_with("2 goals") && state.contains("h : even n"),
        "{state}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "closes" || l["outcome"] == "leaves"),
        "{lines:?}"
    );
    // Inside the first `{ … }`: its one goal.
    let (ok, lines, err) = suggest(&["--line", "64", "--column", "5"]);
    assert!(ok, "{err}");
    let state = lines[0]["state"].as_str().unwrap();
    assert!(
        !state.contains("goals") && state.contains("h : even n"),
        "{state}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "closes" || l["outcome"] == "leaves"),
        "{lines:?}"
    );
}
