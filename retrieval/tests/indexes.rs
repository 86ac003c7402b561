//! The two indexes end to end, on disk in temporary directories: ranking, reopening, the
//! fingerprint and format checks, the kind filter, atomic replacement.

mod common;

use std::fs;
use std::path::Path;

use retrieval::{DeclIndex, Declaration, RetrievalError, TacticIndex, TracedStep};

fn decl(name: &str, kind: &str, statement: &str) -> Declaration {
    Declaration {
        name: name.to_string(),
        kind: kind.to_string(),
        statement: statement.to_string(),
        path: Some("src/algebra/big_operators/basic.lean".to_string()),
        line: Some(42),
        column: Some(4),
    }
}

/// The lemmas the goals below want, and distractors that share much of their text.
fn library() -> Vec<Declaration> {
    vec![
        decl(
            "nat.succ_le_iff",
            "theorem",
            "∀ {n m : ℕ}, n.succ ≤ m ↔ n < m",
        ),
        decl(
            "finset.sum_range_succ",
            "theorem",
            "∀ {β : Type u} [_inst_1 : add_comm_monoid β] (f : ℕ → β) (n : ℕ), \
             (finset.range (n + 1)).sum (λ (x : ℕ), f x) = (finset.range n).sum (λ (x : ℕ), f x) + f n",
        ),
        decl(
            "nat.prime.two_le",
            "theorem",
            "∀ {p : ℕ}, nat.prime p → 2 ≤ p",
        ),
        decl(
            "finset.prod_range_succ",
            "theorem",
            "∀ {β : Type u} [_inst_1 : comm_monoid β] (f : ℕ → β) (n : ℕ), \
             (finset.range (n + 1)).prod (λ (x : ℕ), f x) = (finset.range n).prod (λ (x : ℕ), f x) * f n",
        ),
        decl(
            "finset.sum_range_id_mul_two",
            "theorem",
            "∀ (n : ℕ), (finset.range n).sum (λ (i : ℕ), i) * 2 = n * (n - 1)",
        ),
        decl("nat.prime.pos", "theorem", "∀ {p : ℕ}, nat.prime p → 0 < p"),
        decl(
            "nat.prime.one_lt",
            "theorem",
            "∀ {p : ℕ}, nat.prime p → 1 < p",
        ),
        decl("nat.prime", "definition", "ℕ → Prop"),
        decl(
            "nat.le_of_lt_succ",
            "theorem",
            "∀ {m n : ℕ}, m < n.succ → m ≤ n",
        ),
        decl("nat.succ_ne_zero", "theorem", "∀ (n : ℕ), n.succ ≠ 0"),
        decl("real.sqrt_nonneg", "theorem", "∀ (x : ℝ), 0 ≤ real.sqrt x"),
        decl(
            "two_mul",
            "theorem",
            "∀ {α : Type u} [_inst_1 : semiring α] (a : α), 2 * a = a + a",
        ),
        decl("finset.range", "definition", "ℕ → finset ℕ"),
        decl(
            "classical.choice",
            "axiom",
            "Π {α : Sort u}, nonempty α → α",
        ),
    ]
}

fn names<T>(hits: &[(T, f32)], name: impl Fn(&T) -> &str) -> Vec<String> {
    hits.iter()
        .map(|(item, _)| name(item).to_string())
        .collect()
}

fn decl_names(hits: &[(Declaration, f32)]) -> Vec<String> {
    names(hits, |d| &d.name)
}

#[test]
fn a_sum_over_a_range_finds_sum_range_succ_first() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    let hits = index.search(
        "n : ℕ\n⊢ (finset.range (n + 1)).sum (λ (i : ℕ), i) = ...",
        5,
    );
    assert_eq!(
        hits[0].0.name,
        "finset.sum_range_succ",
        "{:?}",
        decl_names(&hits)
    );
    // The hit is the whole declaration, as given.
    assert_eq!(hits[0].0, library()[1]);
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
}

#[test]
fn a_prime_hypothesis_and_a_bound_find_two_le_first() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    let hits = index.search("p : ℕ,\nh : nat.prime p\n⊢ 2 ≤ p", 5);
    assert_eq!(
        hits[0].0.name,
        "nat.prime.two_le",
        "{:?}",
        decl_names(&hits)
    );
    let hits = index.search("h : nat.prime p ⊢ 2 ≤ p", 5);
    assert_eq!(
        hits[0].0.name,
        "nat.prime.two_le",
        "{:?}",
        decl_names(&hits)
    );
}

#[test]
fn a_successor_bound_finds_succ_le_iff_first() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    let hits = index.search("a b : ℕ,\nhab : a < b\n⊢ a.succ ≤ b", 5);
    assert_eq!(hits[0].0.name, "nat.succ_le_iff", "{:?}", decl_names(&hits));
}

#[test]
fn search_gives_at_most_k_hits_and_none_without_shared_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    assert_eq!(index.search("⊢ nat.prime p", 2).len(), 2);
    assert!(index.search("⊢ nat.prime p", 0).is_empty());
    assert!(
        index.search("x y : α ⊢ (x, y)", 5).is_empty(),
        "only names and punctuation"
    );
    assert!(index.search("⊢ quux.frobnicate", 5).is_empty());
}

#[test]
fn the_kind_filter_keeps_only_those_kinds_with_unchanged_scores() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    let query = "⊢ nat.prime p → finset.range n";
    let all = index.search(query, 20);
    let definitions = index.search_kinds(query, 20, &["definition"]);
    let mut found = decl_names(&definitions);
    found.sort();
    assert_eq!(found, ["finset.range", "nat.prime"]);
    for (d, score) in &definitions {
        let (_, unrestricted) = all.iter().find(|(a, _)| a.name == d.name).unwrap();
        // The same sum, grouped differently by the engine: equal up to rounding.
        assert!(
            (score - unrestricted).abs() <= 1e-5 * unrestricted,
            "{}: {score} vs {unrestricted}",
            d.name
        );
    }
    let theorems_or_axioms =
        index.search_kinds("Π {α : Sort u}, nonempty α → α", 20, &["axiom", "theorem"]);
    assert!(
        theorems_or_axioms
            .iter()
            .all(|(d, _)| d.kind == "axiom" || d.kind == "theorem")
    );
    assert_eq!(theorems_or_axioms[0].0.name, "classical.choice");
    assert!(index.search_kinds(query, 20, &[]).is_empty());
    assert!(index.search_kinds(query, 20, &["lemma"]).is_empty());
}

#[test]
fn get_finds_a_declaration_by_its_exact_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), library(), "fp").unwrap();
    assert_eq!(index.get("nat.prime.two_le"), Some(library()[2].clone()));
    assert_eq!(index.get("nat.prime"), Some(library()[7].clone()));
    assert_eq!(index.get("two_le"), None);
    assert_eq!(index.get("nat.prime.two_le "), None);
    assert_eq!(index.len(), library().len());
}

#[test]
fn a_reopened_index_of_fifty_thousand_declarations_answers_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decls");
    let decls = common::synthetic_declarations(50_000);
    let probe = decls[31_337].clone();
    let built = DeclIndex::build(&path, decls, "mathlib@1").unwrap();
    assert_eq!(built.len(), 50_000);
    let queries = [
        "a b : ℕ,\nh : nat.prime a\n⊢ nat.succ (a + b) ≤ real.sqrt a * 7 ^ n".to_string(),
        "s : finset ℕ\n⊢ (finset.range n).sum (λ (i : ℕ), i) ∣ 100".to_string(),
        probe.statement.clone(),
    ];
    let before: Vec<_> = queries.iter().map(|q| built.search(q, 20)).collect();
    drop(built);

    let reopened = DeclIndex::open(&path).unwrap();
    assert_eq!(reopened.len(), 50_000);
    assert_eq!(reopened.fingerprint(), "mathlib@1");
    for (query, before) in queries.iter().zip(&before) {
        assert_eq!(before.len(), 20, "{query}");
        assert_eq!(&reopened.search(query, 20), before, "{query}");
    }
    // Its own statement brings a declaration up among the best (others may tie with it).
    assert!(before[2].iter().any(|(d, _)| d.name == probe.name));
    assert_eq!(reopened.get(&probe.name), Some(probe));
}

#[test]
fn open_if_current_sends_the_caller_to_rebuild_when_anything_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decls");
    assert!(
        DeclIndex::open_if_current(&path, "fp1").unwrap().is_none(),
        "nothing there"
    );

    DeclIndex::build(&path, library(), "fp1").unwrap();
    let current = DeclIndex::open_if_current(&path, "fp1")
        .unwrap()
        .expect("current");
    assert_eq!(current.len(), library().len());
    drop(current);
    assert!(
        DeclIndex::open_if_current(&path, "fp2").unwrap().is_none(),
        "another fingerprint"
    );
    // A stale index still opens when asked for as it is.
    assert_eq!(DeclIndex::open(&path).unwrap().fingerprint(), "fp1");

    // An index written by an older version of this crate.
    let meta = path.join("retrieval-meta.json");
    let text = fs::read_to_string(&meta).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["format_version"] = 0.into();
    fs::write(&meta, json.to_string()).unwrap();
    assert!(
        DeclIndex::open_if_current(&path, "fp1").unwrap().is_none(),
        "older format"
    );
    assert!(matches!(
        DeclIndex::open(&path),
        Err(RetrievalError::BadMetadata { .. })
    ));

    // Tantivy's files without our metadata: a build that never finished, or not ours.
    fs::remove_file(&meta).unwrap();
    assert!(
        DeclIndex::open_if_current(&path, "fp1").unwrap().is_none(),
        "no metadata"
    );
    assert!(matches!(
        DeclIndex::open(&path),
        Err(RetrievalError::BadMetadata { .. })
    ));

    // Rebuilding in place gives a current index again.
    DeclIndex::build(&path, library(), "fp2").unwrap();
    assert!(DeclIndex::open_if_current(&path, "fp2").unwrap().is_some());
}

#[test]
fn an_index_is_opened_only_as_its_own_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    DeclIndex::build(&path, library(), "fp").unwrap();
    assert!(matches!(
        TacticIndex::open(&path),
        Err(RetrievalError::BadMetadata { .. })
    ));
    assert!(matches!(
        TacticIndex::open_if_current(&path, "fp"),
        Err(RetrievalError::BadMetadata { .. })
    ));
}

#[test]
fn metadata_that_disagrees_with_the_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decls");
    DeclIndex::build(&path, library(), "fp").unwrap();
    let meta = path.join("retrieval-meta.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&meta).unwrap()).unwrap();
    json["docs"] = 3.into();
    fs::write(&meta, json.to_string()).unwrap();
    let err = DeclIndex::open(&path).unwrap_err();
    assert!(matches!(err, RetrievalError::BadMetadata { .. }), "{err}");
    fs::write(&meta, "{ not json").unwrap();
    assert!(matches!(
        DeclIndex::open(&path),
        Err(RetrievalError::BadMetadata { .. })
    ));
}

#[test]
fn opening_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = DeclIndex::open(&dir.path().join("nothing")).unwrap_err();
    assert!(matches!(err, RetrievalError::BadMetadata { .. }), "{err}");
}

/// Only the index's own directory remains beside it: no temporary or old copy.
fn assert_only_entry(parent: &Path, name: &str) {
    let entries: Vec<String> = fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, [name]);
}

#[test]
fn a_rebuild_replaces_the_index_and_leaves_nothing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decls");
    DeclIndex::build(&path, library(), "old").unwrap();
    let held = DeclIndex::open(&path).unwrap();
    let fresh = DeclIndex::build(&path, library().into_iter().take(3), "new").unwrap();
    assert_eq!(fresh.len(), 3);
    assert_eq!(DeclIndex::open(&path).unwrap().fingerprint(), "new");
    // An index opened before the rebuild keeps answering from its own (memory-mapped) files.
    assert_eq!(held.len(), library().len());
    assert_eq!(held.search("⊢ 2 ≤ p", 1).len(), 1);
    assert_only_entry(dir.path(), "decls");
    // A build also creates missing parents.
    let nested = dir.path().join("a/b/decls");
    DeclIndex::build(&nested, library(), "fp").unwrap();
    assert_only_entry(&dir.path().join("a/b"), "decls");
}

#[test]
fn an_empty_index_builds_and_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = DeclIndex::build(&dir.path().join("decls"), Vec::new(), "fp").unwrap();
    assert!(index.is_empty());
    assert!(index.search("⊢ 2 ≤ p", 5).is_empty());
    assert_eq!(index.get("nat.prime"), None);
}

fn step(theorem: &str, state: &str, tactic: &str, premises: &[&str]) -> TracedStep {
    TracedStep {
        theorem: theorem.to_string(),
        path: "src/traced.lean".to_string(),
        state_before: state.to_string(),
        tactic: tactic.to_string(),
        premises: premises.iter().map(|p| p.to_string()).collect(),
    }
}

fn traced() -> Vec<TracedStep> {
    vec![
        step(
            "finset.sum_range_id",
            "n : ℕ\n⊢ (finset.range (n + 1)).sum (λ (i : ℕ), i) = (finset.range n).sum (λ (i : ℕ), i) + n",
            "rw finset.sum_range_succ",
            &["finset.sum_range_succ"],
        ),
        step(
            "nat.prime.two_le'",
            "p : ℕ,\nhp : nat.prime p\n⊢ 2 ≤ p",
            "exact hp.two_le",
            &["nat.prime.two_le"],
        ),
        step(
            "real.exp_lt",
            "x y : ℝ,\nh : x < y\n⊢ real.exp x < real.exp y",
            "exact real.exp_lt_exp.mpr h",
            &["real.exp_lt_exp"],
        ),
        step("int.mul_comm'", "a b : ℤ\n⊢ a * b = b * a", "ring", &[]),
        step(
            "set.inter_sub",
            "α : Type u,\ns t : set α\n⊢ s ∩ t ⊆ s",
            "exact set.inter_subset_left s t",
            &["set.inter_subset_left"],
        ),
        step(
            "cos_case",
            "x : ℝ,\nhx : real.cos x = 0\n⊢ false",
            "nlinarith [real.sin_sq_add_cos_sq x]",
            &["real.sin_sq_add_cos_sq"],
        ),
        step(
            "sin_case",
            "x : ℝ,\nhx : 0 < x\n⊢ real.sin x = 0",
            "simp [real.sin_eq_zero_iff]",
            &["real.sin_eq_zero_iff"],
        ),
    ]
}

fn tactics(hits: &[(TracedStep, f32)]) -> Vec<String> {
    names(hits, |s| &s.tactic)
}

#[test]
fn similar_states_find_the_tactics_used_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let index = TacticIndex::build(&dir.path().join("tactics"), traced(), "fp").unwrap();
    assert_eq!(index.len(), traced().len());

    let hits = index.search("q : ℕ,\nhq : nat.prime q\n⊢ 2 ≤ q", 3);
    assert_eq!(hits[0].0.tactic, "exact hp.two_le", "{:?}", tactics(&hits));
    assert_eq!(hits[0].0.premises, ["nat.prime.two_le"]);

    let hits = index.search(
        "m : ℕ\n⊢ (finset.range (m + 1)).sum (λ (k : ℕ), k ^ 2) = 3",
        3,
    );
    assert_eq!(
        hits[0].0.tactic,
        "rw finset.sum_range_succ",
        "{:?}",
        tactics(&hits)
    );

    let hits = index.search(
        "2 goals\nc d : ℤ\n⊢ c * d = d * c\n\nc d : ℤ\n⊢ real.exp c < 0",
        3,
    );
    assert_eq!(
        hits[0].0.tactic,
        "ring",
        "only the first goal counts: {:?}",
        tactics(&hits)
    );
}

#[test]
fn the_goal_counts_more_than_the_hypotheses() {
    let dir = tempfile::tempdir().unwrap();
    let index = TacticIndex::build(&dir.path().join("tactics"), traced(), "fp").unwrap();
    // One traced state shares the hypothesis, the other the goal, token for token.
    let hits = index.search("y : ℝ,\nhy : real.cos y = 0\n⊢ real.sin y = 0", 2);
    assert_eq!(
        tactics(&hits),
        [
            "simp [real.sin_eq_zero_iff]",
            "nlinarith [real.sin_sq_add_cos_sq x]"
        ]
    );
}

#[test]
fn a_tactic_index_reopens_and_checks_its_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tactics");
    let built = TacticIndex::build(&path, traced(), "fp").unwrap();
    let state = "x : ℝ\n⊢ real.exp 0 < real.exp x";
    let before = built.search(state, 5);
    drop(built);
    assert_eq!(TacticIndex::open(&path).unwrap().search(state, 5), before);
    assert!(TacticIndex::open_if_current(&path, "fp").unwrap().is_some());
    assert!(
        TacticIndex::open_if_current(&path, "other")
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        DeclIndex::open(&path),
        Err(RetrievalError::BadMetadata { .. })
    ));
    assert!(TacticIndex::open(&path).unwrap().search("", 5).is_empty());
}
