//! The bridge against real Lean 3 (core library only). Skipped, loudly, where Lean is absent.

use std::time::{Duration, Instant};

use lean_bridge::testing::lean_for_test;
use lean_bridge::{LeanErrorKind, LeanPool, LostState, PoolConfig, TacticResult};

fn config(workers: usize) -> PoolConfig {
    PoolConfig {
        workers,
        tactic_timeout: Duration::from_secs(30),
        ..PoolConfig::default()
    }
}

fn goals(r: &TacticResult) -> &[String] {
    match r {
        TacticResult::Success { goals, .. } => goals,
        TacticResult::Failed { message, .. } => panic!("tactic failed: {message}"),
    }
}

fn failure(r: &TacticResult) -> &str {
    match r {
        TacticResult::Failed { message, .. } => message,
        TacticResult::Success { goals, .. } => panic!("expected a failure, got goals {goals:?}"),
    }
}

#[tokio::test]
async fn start_run_and_complete_a_proof() {
    let Some(_) = lean_for_test("start_run_and_complete_a_proof") else {
        return;
    };
    let pool = LeanPool::new(config(1)).await.unwrap();
    let ctx = vec!["open nat".to_string()];
    let start = pool
        .start(&ctx, "(a b : ℕ) (h₀ : a < b) :\n  b ≠ 0")
        .await
        .unwrap();
    assert_eq!(start.goals, vec!["a b : ℕ,\nh₀ : a < b\n⊢ b ≠ 0"]);

    let r = pool.run(&start.state, "intro h").await.unwrap();
    assert_eq!(goals(&r), ["a b : ℕ,\nh₀ : a < b,\nh : b = 0\n⊢ false"]);
    let TacticResult::Success { state: s1, .. } = r else {
        unreachable!()
    };
    // Namespaces opened by the context are open for tactics (`not_succ_le_zero` is `nat.not_succ_le_zero`).
    let r = pool.run(&s1, "subst h").await.unwrap();
    let TacticResult::Success { state: s2, .. } = r else {
        panic!("{r:?}")
    };
    let r = pool.run(&s2, "exact not_succ_le_zero a h₀").await.unwrap();
    assert!(r.is_complete(), "{r:?}");

    // The earlier state is still there: branching from it works.
    let r = pool.run(&s1, "subst h, cases h₀").await.unwrap();
    assert!(r.is_complete(), "{r:?}");

    // What the imports offer: core has simp but not linarith.
    let d = pool
        .declared(&["tactic.interactive.simp", "tactic.interactive.linarith"])
        .await
        .unwrap();
    assert_eq!(d, [true, false]);

    // Several goals, `{ … }`, `;` and `<|>`.
    let start = pool
        .start(&[], "(p q : Prop) (hp : p) (hq : q) : p ∧ q")
        .await
        .unwrap();
    let r = pool.run(&start.state, "split").await.unwrap();
    assert_eq!(goals(&r).len(), 2);
    let TacticResult::Success { pp, .. } = &r else {
        unreachable!()
    };
    assert!(pp.starts_with("2 goals\n"), "{pp}");
    let r = pool
        .run(&start.state, "split; assumption <|> refl")
        .await
        .unwrap();
    assert!(r.is_complete(), "{r:?}");
    let r = pool
        .run(&start.state, "split, { exact hp }, { exact hq }")
        .await
        .unwrap();
    assert!(r.is_complete(), "{r:?}");

    // A dropped proof's states are gone: the REPL says so (`error_kind`), and the bridge
    // reports them lost, not as a tactic that failed.
    pool.drop_proof(&start.state).await;
    let err = pool.run(&start.state, "split").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            LeanErrorKind::StateLost(LostState::NotInRepl(_))
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("proof state lost: unknown state {}", start.state.state)
    );
    let err = pool.focus(&start.state).await.unwrap_err();
    assert!(matches!(err.kind(), LeanErrorKind::StateLost(_)), "{err}");
    pool.shutdown().await;
}

#[tokio::test]
async fn lean_errors_refusals_and_limits_are_failed_tactics() {
    let Some(_) = lean_for_test("lean_errors_refusals_and_limits_are_failed_tactics") else {
        return;
    };
    let pool = LeanPool::new(PoolConfig {
        tactic_heartbeats: 20_000,
        ..config(1)
    })
    .await
    .unwrap();
    let start = pool.start(&[], "(n : ℕ) : n + 0 = n").await.unwrap();
    let s = &start.state;

    let m = pool.run(s, "exact foo_bar_baz").await.unwrap();
    assert!(
        failure(&m).contains("unknown identifier 'foo_bar_baz'"),
        "{m:?}"
    );

    let m = pool.run(s, "this is not a tactic").await.unwrap();
    assert!(!failure(&m).is_empty());

    // A tactic text cannot close the block and smuggle in more.
    let m = pool.run(s, "refl }, { refl").await.unwrap();
    assert!(failure(&m).contains("unexpected text"), "{m:?}");

    for bad in [
        "tactic.unsafe_run_io (io.cmd {cmd := \"touch\", args := [\"/tmp/pwned\"]})",
        "sorry",
        "admit",
        "run_cmd tactic.skip",
        "set_option timeout 0, refl",
    ] {
        let m = pool.run(s, bad).await.unwrap();
        assert!(failure(&m).starts_with("refused"), "{bad}: {m:?}");
    }

    // A tactic that never ends stops at the heartbeat limit, well inside the wall clock.
    let t = Instant::now();
    let m = pool.run(s, "repeat { skip }").await.unwrap();
    assert!(failure(&m).contains("timeout"), "{m:?}");
    assert!(t.elapsed() < Duration::from_secs(30));

    // The worker is still fine afterwards.
    let r = pool.run(s, "refl").await.unwrap();
    assert!(r.is_complete(), "{r:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn statements_that_do_not_elaborate_are_reported_with_positions() {
    let Some(_) = lean_for_test("statements_that_do_not_elaborate_are_reported_with_positions")
    else {
        return;
    };
    let pool = LeanPool::new(config(1)).await.unwrap();
    let err = pool
        .check_statement(&[], "(a b : ℕ) (h₀ : a < c) :\n  b ≠ 0")
        .await
        .unwrap_err();
    match err.into_kind() {
        LeanErrorKind::Elaboration { message, pos } => {
            assert!(message.contains("unknown identifier 'c'"), "{message}");
            assert_eq!(pos, Some((1, 20)));
        }
        other => panic!("{other}"),
    }
    // `verify` says the same of a statement that does not elaborate (not a failed proof).
    let err = pool
        .verify(&[], "(a b : ℕ) (h₀ : a < c) :\n  b ≠ 0", "by simp")
        .await
        .unwrap_err();
    match err.into_kind() {
        LeanErrorKind::Elaboration { message, pos } => {
            assert!(message.starts_with("unknown identifier 'c'"), "{message}");
            assert_eq!(pos, Some((1, 20)));
        }
        other => panic!("{other}"),
    }
    let ok = pool
        .check_statement(&[], "(x : ℕ) (h : x > 2) : x ≠ 0")
        .await
        .unwrap();
    assert!(ok.contains("x ≠ 0"), "{ok}");
    let err = pool
        .check_statement(&[], "(x : ℕ) x = x")
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), LeanErrorKind::Elaboration { .. }),
        "{err}"
    );
    let err = pool.start(&[], "(x : ℕ) : x +").await.unwrap_err();
    assert!(
        matches!(err.kind(), LeanErrorKind::Elaboration { .. }),
        "{err}"
    );
    let err = pool
        .start(&["#eval 1".to_string()], ": true")
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), LeanErrorKind::Refused(_)), "{err}");
    pool.shutdown().await;
}

#[tokio::test]
async fn verify_accepts_real_proofs_and_rejects_the_rest() {
    let Some(_) = lean_for_test("verify_accepts_real_proofs_and_rejects_the_rest") else {
        return;
    };
    let pool = LeanPool::new(config(1)).await.unwrap();
    let st = "(a b : ℕ) (h₀ : a < b) : b ≠ 0";
    let v = pool
        .verify(
            &[],
            st,
            "begin\n  intro h,\n  subst h,\n  exact nat.not_lt_zero _ h₀\nend",
        )
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    assert!(v.errors.is_empty());

    let v = pool
        .verify(&[], "(p : Prop) : p ∨ ¬ p", "by exact classical.em p")
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.axioms, ["classical.choice", "propext", "quot.sound"]);

    let v = pool
        .verify(&[], "(p q : Prop) (hp : p) (hq : q) : p ∧ q", "⟨hp, hq⟩")
        .await
        .unwrap();
    assert!(v.ok, "term proofs see the binders: {v:?}");

    // A wrong step.
    let v = pool
        .verify(&[], st, "begin\n  intro h,\n  simp at h₀,\nend")
        .await
        .unwrap();
    assert!(!v.ok);
    assert!(!v.errors.is_empty());

    // Unfinished proofs.
    let v = pool.verify(&[], st, "begin\n  intro h\nend").await.unwrap();
    assert!(!v.ok, "{v:?}");

    // sorry, admit, IO: refused before Lean, with the reason.
    for (proof, word) in [
        ("begin sorry end", "sorry"),
        ("begin admit end", "admit"),
        (
            "by tactic.unsafe_run_io (io.put_str \"hi\")",
            "unsafe_run_io",
        ),
    ] {
        let v = pool.verify(&[], st, proof).await.unwrap();
        assert!(!v.ok);
        assert!(
            v.errors[0].contains("refused") && v.errors[0].contains(word),
            "{v:?}"
        );
    }

    // A proof that never ends stops at the heartbeat limit (Lean's editor default)...
    let v = pool
        .verify(&[], st, "begin repeat { skip } end")
        .await
        .unwrap();
    assert!(!v.ok);
    assert!(v.errors[0].contains("timeout"), "{v:?}");

    // ... and, without one, at the wall clock: reported, not hung on.
    let slow = LeanPool::new(PoolConfig {
        verify_timeout: Duration::from_secs(3),
        verify_heartbeats: 0,
        ..config(1)
    })
    .await
    .unwrap();
    let t = Instant::now();
    let err = slow
        .verify(&[], st, "begin repeat { skip } end")
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), LeanErrorKind::Timeout(_)), "{err}");
    assert!(t.elapsed() < Duration::from_secs(20));
    slow.shutdown().await;
    pool.shutdown().await;
}

/// Pattern matches in tactic text (`λ ⟨a, b⟩, …`, `match … end`) work as in a theorem of a
/// file: Lean 3 names their auxiliary definitions after the declaration being parsed, and the
/// REPL parses such text inside one.
#[tokio::test]
async fn pattern_matching_terms_work_in_tactics_and_proofs() {
    let Some(_) = lean_for_test("pattern_matching_terms_work_in_tactics_and_proofs") else {
        return;
    };
    let pool = LeanPool::new(config(1)).await.unwrap();
    let stmt = "(f : ℕ × ℕ → ℕ) : ∀ p : ℕ × ℕ, p.1 + p.2 = p.2 + p.1";
    let start = pool.start(&[], stmt).await.unwrap();
    let s = &start.state;
    for tactic in [
        "exact λ ⟨a, b⟩, nat.add_comm a b",
        "intro p, exact match p with ⟨a, b⟩ := nat.add_comm a b end",
        "intro p, have h : ∀ q : ℕ × ℕ, q.1 + q.2 = q.2 + q.1 := λ ⟨a, b⟩, nat.add_comm a b, exact h p",
    ] {
        let r = pool.run(s, tactic).await.unwrap();
        assert!(r.is_complete(), "{tactic}: {r:?}");
    }
    // Two matches in a row on one branch: each gets its own auxiliary name.
    let r = pool
        .run(s, "intro p, have h := (λ ⟨a, b⟩, nat.add_comm a b : ∀ q : ℕ × ℕ, q.1 + q.2 = q.2 + q.1) p")
        .await
        .unwrap();
    let TacticResult::Success { state: s1, .. } = r else {
        panic!("{r:?}")
    };
    let r = pool
        .run(
            &s1,
            "exact (λ ⟨n, hn⟩, h : (∃ n : ℕ, n = n) → p.1 + p.2 = p.2 + p.1) ⟨0, rfl⟩",
        )
        .await
        .unwrap();
    assert!(r.is_complete(), "{r:?}");
    // A wrong one still fails with Lean's message.
    let r = pool
        .run(s, "exact λ ⟨a, b⟩, nat.add_comm b a")
        .await
        .unwrap();
    assert!(failure(&r).contains("add_comm"), "{r:?}");
    // And a whole proof with a match verifies.
    let v = pool
        .verify(&[], stmt, "λ ⟨a, b⟩, nat.add_comm a b")
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    let v = pool
        .verify(&[], stmt, "λ ⟨a, b⟩, nat.add_comm b a")
        .await
        .unwrap();
    assert!(!v.ok, "{v:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn start_run_drop_cycles_do_not_grow_memory() {
    let Some(_) = lean_for_test("start_run_drop_cycles_do_not_grow_memory") else {
        return;
    };
    let pool = LeanPool::new(config(1)).await.unwrap();
    let mut rss = Vec::new();
    for round in 0..6 {
        for i in 0..50 {
            let st = format!("(n : ℕ) (h : n = {i}) : n + {round} = {i} + {round}");
            let s = pool.start(&[], &st).await.unwrap();
            let r = pool.run(&s.state, "subst h").await.unwrap();
            let r2 = pool.run(&s.state, "simp").await.unwrap();
            assert!(matches!(r, TacticResult::Success { .. }));
            let _ = r2;
            pool.drop_proof(&s.state).await;
        }
        let h = pool.health(Duration::from_secs(10)).await;
        assert_eq!(h[0].states, Some(0), "states left after dropping: {h:?}");
        rss.push(h[0].rss_kib.unwrap());
    }
    // After warm-up, 200 more proofs must not add more than a few MiB.
    let growth = rss[5] as i64 - rss[1] as i64;
    assert!(growth < 16 * 1024, "RSS grew {growth} KiB: {rss:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_pool_spreads_proofs_and_leaves_no_process_behind() {
    let Some(_) = lean_for_test("a_pool_spreads_proofs_and_leaves_no_process_behind") else {
        return;
    };
    let pool = LeanPool::new(config(2)).await.unwrap();
    let pids = pool.pids();
    assert_eq!(pids.len(), 2);
    let a = pool.start(&[], "(p : Prop) (h : p) : p").await.unwrap();
    let b = pool.start(&[], "(q : Prop) (h : q) : q").await.unwrap();
    assert_ne!(a.state.worker, b.state.worker);
    let (ra, rb) = tokio::join!(
        pool.run(&a.state, "exact h"),
        pool.run(&b.state, "assumption")
    );
    assert!(ra.unwrap().is_complete());
    assert!(rb.unwrap().is_complete());
    pool.shutdown().await;
    for pid in pids {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "lean process {pid} outlived the pool");
    }
}

#[tokio::test]
async fn mathlib_tactics_and_locales_work_in_a_project() {
    let Some((_, project)) = lean_bridge::testing::mathlib_project_for_test(
        "mathlib_tactics_and_locales_work_in_a_project",
    ) else {
        return;
    };
    let pool = LeanPool::new(PoolConfig {
        project: Some(project),
        imports: vec![
            "tactic".into(),
            "data.real.basic".into(),
            "algebra.big_operators.basic".into(),
        ],
        ..config(1)
    })
    .await
    .unwrap();
    let d = pool
        .declared(&[
            "tactic.interactive.nlinarith",
            "tactic.interactive.norm_num",
        ])
        .await
        .unwrap();
    assert_eq!(d, [true, true]);
    let ctx = vec!["open_locale big_operators".to_string()];
    // Notation from a locale is available to statements and tactics.
    let s = pool
        .start(&ctx, ": ∑ k in finset.range 5, k = 10")
        .await
        .unwrap();
    let r = pool
        .run(&s.state, "simp [finset.sum_range_succ]")
        .await
        .unwrap();
    assert!(r.is_complete(), "{r:?}");
    let st = "(a b : ℝ) (h₀ : 0 < a ∧ 0 < b) (h₁ : a * b = 1) : a + b ≥ 2";
    let s = pool.start(&[], st).await.unwrap();
    let r = pool
        .run(&s.state, "nlinarith [sq_nonneg (a - b), h₀.1, h₀.2]")
        .await
        .unwrap();
    assert!(r.is_complete(), "{r:?}");
    let v = pool
        .verify(&[], st, "by nlinarith [sq_nonneg (a - b), h₀.1, h₀.2]")
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    assert!(
        v.axioms
            .iter()
            .all(|a| ["propext", "quot.sound", "classical.choice"].contains(&a.as_str()))
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn a_worker_is_recycled_between_proofs_never_during_one() {
    let Some(_) = lean_for_test("a_worker_is_recycled_between_proofs_never_during_one") else {
        return;
    };
    let pool = LeanPool::new(PoolConfig {
        recycle: lean_bridge::Recycle {
            after_requests: 10,
            above_rss_mib: 0,
        },
        ..config(1)
    })
    .await
    .unwrap();
    let statement = "(p q : Prop) (hp : p) (hq : q) : p ∧ q";
    // A proof that runs past the bound keeps its worker: its states stay usable.
    let first = pool.start(&[], statement).await.unwrap();
    for _ in 0..12 {
        let r = pool.run(&first.state, "exact hq").await.unwrap();
        assert!(!failure(&r).is_empty());
    }
    let second = pool.start(&[], statement).await.unwrap();
    assert_eq!(pool.recycled(), 0, "recycled while a proof was live");
    let r = pool.run(&first.state, "split").await.unwrap();
    assert_eq!(goals(&r).len(), 2);
    pool.drop_proof(&first.state).await;
    pool.drop_proof(&second.state).await;
    // Between proofs it is replaced by a fresh process, and the next proof runs there.
    let third = pool.start(&[], statement).await.unwrap();
    assert_eq!(pool.recycled(), 1);
    assert_ne!(third.state.incarnation, first.state.incarnation);
    let r = pool.run(&third.state, "exact ⟨hp, hq⟩").await.unwrap();
    assert!(goals(&r).is_empty());
    // The old proof's states went with the old process, as a restart's do.
    let lost = pool.run(&first.state, "split").await.unwrap_err();
    assert!(matches!(lost.kind(), LeanErrorKind::StateLost(_)), "{lost}");
}
