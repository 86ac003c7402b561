//! Our own core-Lean problem set: it parses into enough well-formed theorems, and (when Lean 3
//! is installed) every file compiles without errors or `sorry`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use problems::{Proof, Theorem, core_dir, load_paths};

fn core_theorems() -> Vec<Theorem> {
    let files = load_paths(&[core_dir()]).expect("core problems load");
    assert!(files.len() >= 4, "expected several topic files");
    for file in &files {
        assert!(file.header.imports.is_empty(), "core files import nothing");
        assert!(file.skipped.is_empty(), "{:?}", file.skipped);
    }
    files.into_iter().flat_map(|f| f.theorems).collect()
}

#[test]
fn core_set_is_large_complete_and_uniquely_named() {
    let theorems = core_theorems();
    assert!(theorems.len() >= 45, "only {} theorems", theorems.len());

    let mut names = HashSet::new();
    for t in &theorems {
        assert!(names.insert(t.name.as_str()), "duplicate name {}", t.name);
        assert!(t.has_complete_proof(), "{} has no complete proof", t.name);
        let Proof::Tactic { steps, .. } = &t.proof else {
            panic!("{}: expected a begin … end proof", t.name);
        };
        assert!(!steps.is_empty(), "{}", t.name);
        let doc = t.doc.as_deref().unwrap_or_default();
        assert!(
            doc.starts_with("[search]") || doc.starts_with("[lemma]"),
            "{}: doc must give the tier, got {doc:?}",
            t.name
        );
    }

    // Most proofs are a few steps long.
    let short = theorems
        .iter()
        .filter(|t| (2..=6).contains(&t.steps().len()))
        .count();
    assert!(
        short * 4 >= theorems.len() * 3,
        "{short} of {} have 2–6 steps",
        theorems.len()
    );

    // About two thirds are meant to be found by a plain tactic search.
    let search = theorems
        .iter()
        .filter(|t| t.doc.as_deref().is_some_and(|d| d.starts_with("[search]")))
        .count();
    let share = search as f64 / theorems.len() as f64;
    assert!((0.55..=0.8).contains(&share), "search share {share:.2}");
}

fn lean() -> Option<(PathBuf, PathBuf)> {
    let bin = std::env::var_os("LEAN3_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lean3/src/bin/lean"));
    let library = std::env::var_os("LEAN3_LIBRARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lean3/src/library"));
    (bin.is_file() && library.is_dir()).then_some((bin, library))
}

/// Runs Lean on `file`; success means exit status 0 and no messages at all (a `sorry` is
/// only a warning, so silence is the real check).
fn compiles_cleanly(bin: &Path, library: &Path, file: &Path) -> Result<(), String> {
    let out = Command::new(bin)
        .arg(file)
        .env("LEAN_PATH", library)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && messages.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}\n{messages}", file.display(), out.status))
    }
}

#[test]
fn core_files_compile_with_lean3_core() {
    let Some((bin, library)) = lean() else {
        println!("SKIPPED: Lean 3 not found (set LEAN3_BIN and LEAN3_LIBRARY)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(core_dir())
        .expect("core dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "lean"))
        .collect();
    files.sort();
    for file in &files {
        compiles_cleanly(&bin, &library, file).unwrap_or_else(|e| panic!("{e}"));
    }

    // The check can fail: a wrong step and a `sorry` are both caught.
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(core_dir().join("nat.lean")).expect("nat.lean");
    let broken = text.replacen("apply nat.succ_le_succ,", "apply nat.lt_succ_self,", 1);
    let sorried = text.replacen("apply nat.le_antisymm,", "sorry,", 1);
    assert!(
        broken != text && sorried != text,
        "nat.lean changed; update the controls"
    );
    for (name, body) in [("broken.lean", broken), ("sorried.lean", sorried)] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write control");
        assert!(
            compiles_cleanly(&bin, &library, &path).is_err(),
            "{name} should not compile cleanly"
        );
    }
}
