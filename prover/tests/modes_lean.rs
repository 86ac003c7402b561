//! `suggest` and `formalize` against real Lean 3 (core library), with the tiny checkpoint where
//! the model is involved: candidates are checked correctly (a closing and a failing tactic, an
//! elaborating and a non-elaborating statement), and the model's nonsense is reported as such.
//! Skipped, loudly, where Lean is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use heuristic::{HeuristicPolicy, TacticSet};
use lean_bridge::testing::lean_for_test;
use lean_bridge::{LeanPool, PoolConfig};
use lean_env::LeanEnv;
use lean_env::suggest::{Outcome, SuggestConfig, suggest};
use prover::formalize::{FormalizeRecord, StatementCandidate, check_statements, prove_candidates};
use prover::suggest_cmd::state_problem;
use search::testing::{ToyPolicy, candidate};
use search::{BestFirstSearch, CancellationToken, SearchConfig};
use serde_json::Value;

mod support;

const STATE: &str = "p q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q";

fn tiny_model() -> String {
    causal_lm::testing::tiny_checkpoint_dir()
        .display()
        .to_string()
}

fn run(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(args)
        .env("PROVER_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .output()
        .expect("prover runs")
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A model candidate with this statement, not yet checked.
fn candidate_for(rank: usize, statement: &str) -> StatementCandidate {
    StatementCandidate {
        rank,
        text: format!("theorem t {statement}"),
        statement: Some(statement.into()),
        logprob: -1.0,
        logprob_norm: -0.1 * rank as f64,
        elaborates: false,
        error: None,
        lean_statement: None,
        back_translation: None,
        proof: None,
    }
}

async fn core_pool() -> Arc<LeanPool> {
    Arc::new(LeanPool::new(PoolConfig::default()).await.unwrap())
}

#[tokio::test]
async fn suggestions_are_checked_on_the_pasted_state() {
    let Some(_) = lean_for_test("suggestions_are_checked_on_the_pasted_state") else {
        return;
    };
    let pool = core_pool().await;
    let env = LeanEnv::new(pool.clone());
    let policy = ToyPolicy::new(|_| {
        vec![
            candidate("exact hp", -0.1),
            candidate("exact ⟨hp, hq⟩", -0.5),
            candidate("split", -0.7),
            candidate("trivial", -0.9),
        ]
    });
    let file = state_problem(STATE, &Default::default()).unwrap();
    let line = file.theorems[0].span.line;
    let s = suggest(
        &env,
        &policy,
        &file,
        0,
        line,
        &SuggestConfig::default(),
        &CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap();
    pool.shutdown().await;
    // The state Lean reached is the pasted one.
    assert_eq!(s.goals.trim(), STATE);
    let got: Vec<(&str, &Outcome)> = s
        .suggestions
        .iter()
        .map(|x| (x.tactic.as_str(), &x.outcome))
        .collect();
    assert_eq!(got[0], ("exact ⟨hp, hq⟩", &Outcome::Closes));
    assert!(matches!(
        got[1],
        ("split", Outcome::Leaves { num_goals: 2, .. })
    ));
    for (tactic, outcome) in &got[2..] {
        let Outcome::Fails { message } = outcome else {
            panic!("{tactic} should fail: {outcome:?}");
        };
        assert!(!message.trim().is_empty(), "{tactic}");
    }
    assert_eq!(got.len(), 4);
}

#[tokio::test]
async fn statements_are_checked_in_lean() {
    let Some(_) = lean_for_test("statements_are_checked_in_lean") else {
        return;
    };
    let pool = core_pool().await;
    let mut candidates = vec![
        candidate_for(1, "(a b : ℕ) (h₀ : a < b) : b ≠ 0"),
        candidate_for(2, "(x : ℕ) : frobnicate x = 3"),
        candidate_for(3, "(n : ℕ) : n + 0 = \"text\""),
    ];
    check_statements(&pool, &[], &mut candidates).await;
    pool.shutdown().await;
    assert!(candidates[0].elaborates, "{:?}", candidates[0].error);
    assert!(candidates[0].error.is_none());
    assert!(
        candidates[0]
            .lean_statement
            .as_deref()
            .unwrap()
            .contains("b ≠ 0")
    );
    assert!(!candidates[1].elaborates);
    assert!(
        candidates[1]
            .error
            .as_deref()
            .unwrap()
            .contains("frobnicate"),
        "{:?}",
        candidates[1].error
    );
    assert!(!candidates[2].elaborates);
    assert!(candidates[2].error.is_some());
}

#[test]
fn cli_suggest_reports_model_and_heuristic_candidates() {
    let Some(_) = lean_for_test("cli_suggest_reports_model_and_heuristic_candidates") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "-k",
            "6",
            "--model",
            &tiny_model(),
            "--policy",
            "model+heuristic",
            "--jsonl",
        ],
        cache.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let lines = json_lines(&o);
    assert!(!lines.is_empty());
    let mut closing = Vec::new();
    for l in &lines {
        assert_eq!(l["state"].as_str().unwrap().trim(), STATE);
        match l["outcome"].as_str().unwrap() {
            "closes" => closing.push(l["tactic"].as_str().unwrap().to_string()),
            "leaves" => assert!(l["num_goals"].as_u64().unwrap() >= 1),
            "fails" | "dropped" => assert!(!l["message"].as_str().unwrap().is_empty(), "{l}"),
            "no_progress" => {}
            other => panic!("unknown outcome {other}"),
        }
    }
    // Every tactic reported as closing does close the goal: Lean compiles it.
    assert!(!closing.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("closing.lean");
    let text: String = closing
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "theorem closing_{i} (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  {t}\nend\n\n"
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    let o = run(&["check", &file.display().to_string()], cache.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn cli_suggest_reports_the_tiny_models_nonsense_as_such() {
    let Some(_) = lean_for_test("cli_suggest_reports_the_tiny_models_nonsense_as_such") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "-k",
            "4",
            "--model",
            &tiny_model(),
            "--jsonl",
        ],
        cache.path(),
    );
    // No suggestion works: exit status 1, and every candidate says why.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines = json_lines(&o);
    assert!(!lines.is_empty() && lines.len() <= 4);
    for l in &lines {
        let outcome = l["outcome"].as_str().unwrap();
        assert!(outcome == "fails" || outcome == "dropped", "{l}");
        assert!(!l["message"].as_str().unwrap().is_empty(), "{l}");
    }
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "-k",
            "4",
            "--model",
            &tiny_model(),
        ],
        cache.path(),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("(model policy)"));
}

#[test]
fn cli_suggest_takes_the_state_before_a_line_of_a_file() {
    let Some(_) = lean_for_test("cli_suggest_takes_the_state_before_a_line_of_a_file") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steps.lean");
    std::fs::write(
        &file,
        "theorem two_steps (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  split,\n  exact hp,\n  exact hq\nend\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let o = run(
        &[
            "suggest",
            "--file",
            &path,
            "--theorem",
            "two_steps",
            "--line",
            "4",
            "--jsonl",
        ],
        cache.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = json_lines(&o);
    // After `split`: two goals, `p` first.
    let state = lines[0]["state"].as_str().unwrap();
    assert!(state.starts_with("2 goals"), "{state}");
    assert!(state.contains("⊢ p\n"), "{state}");
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "leaves" && l["num_goals"] == 1),
        "closing the first goal leaves one: {lines:?}"
    );

    // A line outside the theorem, and an unknown theorem: clear errors, no panic.
    let o = run(
        &[
            "suggest",
            "--file",
            &path,
            "--theorem",
            "two_steps",
            "--line",
            "40",
        ],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("outside two_steps"));
    let o = run(
        &["suggest", "--file", &path, "--theorem", "nope"],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("it has: two_steps"));
}

#[test]
fn cli_suggest_inside_a_block_and_after_a_semicolon() {
    let Some(_) = lean_for_test("cli_suggest_inside_a_block_and_after_a_semicolon") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested.lean");
    std::fs::write(
        &file,
        "theorem nested (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  split,\n  \
         { have h := hp,\n    exact h },\n  { exact hq }\nend\n\n\
         theorem semi (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  split; assumption\nend\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let suggest = |args: &[&str]| {
        let mut all = vec!["suggest", "--file", &path, "--jsonl"];
        all.extend_from_slice(args);
        let o = run(&all, cache.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        json_lines(&o)
    };
    // Inside the first block, after `have`: its one goal, with `h`, as Lean shows it there;
    // closing it closes the block's goal.
    let lines = suggest(&["--theorem", "nested", "--line", "5"]);
    let state = lines[0]["state"].as_str().unwrap();
    assert!(!state.contains("goals"), "{state}");
    assert!(state.contains("h : p") && state.contains("⊢ p"), "{state}");
    assert!(lines.iter().any(|l| l["outcome"] == "closes"), "{lines:?}");
    // After `split;`: the two goals `split` made, which `assumption` then runs on.
    let lines = suggest(&["--theorem", "semi", "--line", "11", "--column", "9"]);
    let state = lines[0]["state"].as_str().unwrap();
    assert!(state.starts_with("2 goals"), "{state}");
    // At the start of that line: before `split`, one goal.
    let lines = suggest(&["--theorem", "semi", "--line", "11"]);
    let state = lines[0]["state"].as_str().unwrap();
    assert!(state.contains("⊢ p ∧ q"), "{state}");
}

#[test]
fn cli_suggest_on_a_file_starts_where_the_file_states_the_theorem() {
    let Some(_) = lean_for_test("cli_suggest_on_a_file_starts_where_the_file_states_the_theorem")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scoped.lean");
    // A namespace, a section variable and a definition of the file: none of them is in the
    // theorem's own text.
    std::fs::write(
        &file,
        "namespace demo\n\nvariables (n : ℕ)\n\ndef double (m : ℕ) : ℕ := m + m\n\n\
         theorem double_eq : double n = n + n :=\nbegin\n  unfold double,\nend\n\nend demo\n",
    )
    .unwrap();
    let path = file.display().to_string();
    for name in ["demo.double_eq", "double_eq"] {
        let o = run(
            &[
                "suggest",
                "--file",
                &path,
                "--theorem",
                name,
                "--line",
                "8",
                "--jsonl",
            ],
            cache.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let lines = json_lines(&o);
        let state = lines[0]["state"].as_str().unwrap();
        assert!(state.contains("n : ℕ"), "{state}");
        assert!(state.contains("⊢ double n = n + n"), "{state}");
        assert!(
            lines.iter().any(|l| l["outcome"] == "closes"),
            "`refl` closes it by unfolding the file's definition: {lines:?}"
        );
    }
}

#[test]
fn cli_formalize_checks_batches_and_resumes() {
    let Some(_) = lean_for_test("cli_formalize_checks_batches_and_resumes") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("problems.jsonl");
    std::fs::write(
        &input,
        "{\"name\": \"square\", \"informal\": \"Show that for every real number x, x^2 is nonnegative.\"}\n\
         {\"name\": \"sum\", \"informal\": \"What is 2 + 3? Show that it is 5.\"}\n",
    )
    .unwrap();
    let out_batched: PathBuf = dir.path().join("batched.jsonl");
    let out_single: PathBuf = dir.path().join("single.jsonl");
    let common = [
        "formalize",
        "--input",
        input.to_str().unwrap(),
        "--model",
        &tiny_model(),
        "-n",
        "3",
        "--back-translate",
        "--max-tokens",
        "24",
    ];
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--output", out_batched.to_str().unwrap(), "--batch", "2"]);
    let o = run(&args, cache.path());
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{o:?}"
    );
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--output", out_single.to_str().unwrap(), "--batch", "1"]);
    let o = run(&args, cache.path());
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{o:?}"
    );

    let read = |p: &Path| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let batched = read(&out_batched);
    let single = read(&out_single);
    assert_eq!(batched.len(), 2);
    for (b, s) in batched.iter().zip(&single) {
        assert_eq!(b["name"], s["name"]);
        let (bc, sc) = (
            b["candidates"].as_array().unwrap(),
            s["candidates"].as_array().unwrap(),
        );
        assert!(!bc.is_empty() && bc.len() <= 3);
        // One batched generation gives what one generation per problem gives.
        assert_eq!(bc.len(), sc.len());
        for (x, y) in bc.iter().zip(sc) {
            assert_eq!(x["text"], y["text"]);
            let d = x["logprob_norm"].as_f64().unwrap() - y["logprob_norm"].as_f64().unwrap();
            assert!(d.abs() < 1e-4, "{x} vs {y}");
        }
        // Ranked by score; each candidate either elaborates or carries Lean's (or the
        // reader's) error; each has its reading.
        let scores: Vec<f64> = bc
            .iter()
            .map(|c| c["logprob_norm"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        let mut elaborated = 0;
        for (i, c) in bc.iter().enumerate() {
            assert_eq!(c["rank"], i + 1);
            if c["elaborates"] == true {
                elaborated += 1;
                assert!(c["error"].is_null() && c["lean_statement"].is_string());
            } else {
                assert!(!c["error"].as_str().unwrap().is_empty());
            }
            assert!(c["statement"].is_null() || c["back_translation"].is_string());
        }
        assert_eq!(b["elaborated"], elaborated);
    }

    // --resume skips what is done.
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--output", out_batched.to_str().unwrap(), "--resume"]);
    let o = run(&args, cache.path());
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 problem(s) already done"));
    assert_eq!(read(&out_batched).len(), 2);
}

#[test]
fn cli_prove_with_the_model_policy_runs_its_candidates_in_lean() {
    let Some(_) = lean_for_test("cli_prove_with_the_model_policy_runs_its_candidates_in_lean")
    else {
        return;
    };
    // InternLM2's layout and a Llama checkpoint as transformers saves it: one engine.
    let llama = causal_lm::testing::tiny_llama_dir().display().to_string();
    for model in [tiny_model(), llama] {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("peirce.lean");
        std::fs::write(
            &file,
            "theorem peirce (p q : Prop) : ((p → q) → p) → p :=\nbegin\n  sorry\nend\n",
        )
        .unwrap();
        let trees = dir.path().join("trees");
        let out = dir.path().join("r.jsonl");
        let o = run(
            &[
                "prove",
                file.to_str().unwrap(),
                "--policy",
                "model",
                "--model",
                &model,
                "--expansions",
                "3",
                "-k",
                "8",
                "--output",
                out.to_str().unwrap(),
                "--tree-dir",
                trees.to_str().unwrap(),
            ],
            cache.path(),
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        // Nonsense proves nothing: exit 1, a result with the model's time in it.
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("time split          model/policy"),
            "{stderr}"
        );
        let record: Value = serde_json::from_str(
            std::fs::read_to_string(&out)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(record["policy"], "model");
        assert_eq!(record["proved"], false);
        assert!(record["stats"]["policy_time_s"].as_f64().unwrap() > 0.0);
        // The model's candidates reached Lean, which rejected each with its message.
        let tree: Value =
            serde_json::from_str(&std::fs::read_to_string(trees.join("peirce.json")).unwrap())
                .unwrap();
        let edges = tree["edges"].as_array().unwrap();
        assert!(!edges.is_empty(), "{tree}");
        for e in edges {
            assert_eq!(e["outcome"], "failed", "{e}");
            assert!(!e["message"].as_str().unwrap().is_empty());
            assert!(e["logprob"].as_f64().unwrap() < 0.0);
        }
    }
}

#[tokio::test]
async fn formalize_proves_the_candidates_that_elaborate() {
    let Some(_) = lean_for_test("formalize_proves_the_candidates_that_elaborate") else {
        return;
    };
    let pool = core_pool().await;
    let mut records = vec![FormalizeRecord {
        name: "and_intro".into(),
        informal: "If p and q hold, then p and q holds.".into(),
        elaborated: 0,
        proved: None,
        candidates: vec![
            candidate_for(1, "(p q : Prop) (hp : p) (hq : q) : p ∧ q"),
            candidate_for(2, "(n : ℕ) : n = n + 1"),
            candidate_for(3, "(x : ℕ) : frobnicate x"),
        ],
    }];
    check_statements(&pool, &[], &mut records[0].candidates).await;
    let elaborates: Vec<bool> = records[0].candidates.iter().map(|c| c.elaborates).collect();
    assert_eq!(elaborates, [true, true, false]);

    let search = BestFirstSearch::new(SearchConfig {
        max_expansions: 8,
        time_limit_s: 60.0,
        ..SearchConfig::default()
    });
    let env = Arc::new(LeanEnv::new(pool.clone()));
    let policy = Arc::new(HeuristicPolicy::new(TacticSet::core()));
    prove_candidates(
        &mut records,
        &[],
        &search,
        env,
        policy,
        1,
        &CancellationToken::new(),
    )
    .await;
    let r = &records[0];
    assert_eq!(r.proved, Some(1));
    let proved = r.candidates[0].proof.as_ref().expect("attempted");
    assert!(proved.proved, "{proved:?}");
    let proof = proved.proof.as_deref().unwrap();
    // The proof stands on its own: Lean verifies it from its text.
    let v = pool
        .verify(&[], r.candidates[0].statement.as_deref().unwrap(), proof)
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    let false_one = r.candidates[1].proof.as_ref().expect("attempted");
    assert!(!false_one.proved && false_one.proof.is_none() && false_one.error.is_some());
    assert!(
        r.candidates[2].proof.is_none(),
        "never attempted: it does not elaborate"
    );
    pool.shutdown().await;
}

#[test]
fn suggest_and_formalize_through_a_server_give_what_the_local_model_gives() {
    let Some(_) =
        lean_for_test("suggest_and_formalize_through_a_server_give_what_the_local_model_gives")
    else {
        return;
    };
    let server = support::serve::ServeProcess::start(&[]);
    let url = server.url();
    let cache = tempfile::tempdir().unwrap();
    let model_args = |remote: bool| -> Vec<String> {
        let mut a: Vec<String> = if remote {
            vec!["--endpoint".into(), url.clone()]
        } else {
            vec!["--model".into(), tiny_model()]
        };
        a.extend(["--prompt".into(), "chat".into()]);
        a
    };
    // suggest: the same checked candidates, in the same order.
    let suggest = |remote: bool| -> Vec<(String, String)> {
        let mut args = vec![
            "suggest",
            "--state",
            STATE,
            "-k",
            "6",
            "--policy",
            "model+heuristic",
            "--jsonl",
        ];
        let m = model_args(remote);
        args.extend(m.iter().map(String::as_str));
        let o = run(&args, cache.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        json_lines(&o)
            .iter()
            .map(|l| (l["tactic"].to_string(), l["outcome"].to_string()))
            .collect()
    };
    let (local, remote) = (suggest(false), suggest(true));
    assert!(!local.is_empty());
    assert_eq!(local, remote);
    // formalize: the same statements and scores, back-translations included.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("problems.jsonl");
    std::fs::write(
        &input,
        "{\"name\": \"sum\", \"informal\": \"What is 2 + 3? Show that it is 5.\"}\n",
    )
    .unwrap();
    let formalize = |remote: bool| -> Value {
        let out = dir.path().join(format!("f{remote}.jsonl"));
        let mut args = vec![
            "formalize",
            "--input",
            input.to_str().unwrap(),
            "-n",
            "3",
            "--back-translate",
            "--max-tokens",
            "24",
            "--output",
            out.to_str().unwrap(),
        ];
        let m = model_args(remote);
        args.extend(m.iter().map(String::as_str));
        let o = run(&args, cache.path());
        assert!(o.status.code().is_some_and(|c| c < 2), "{o:?}");
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap()
    };
    let (l, r) = (formalize(false), formalize(true));
    let (lc, rc) = (
        l["candidates"].as_array().unwrap(),
        r["candidates"].as_array().unwrap(),
    );
    assert!(!lc.is_empty());
    assert_eq!(lc.len(), rc.len());
    for (x, y) in lc.iter().zip(rc) {
        assert_eq!(x["text"], y["text"]);
        assert_eq!(x["back_translation"], y["back_translation"]);
        let d = x["logprob_norm"].as_f64().unwrap() - y["logprob_norm"].as_f64().unwrap();
        assert!(d.abs() < 1e-4, "{x} vs {y}");
    }
}

#[test]
fn a_prompt_template_file_drives_prove_and_suggest() {
    let Some(_) = lean_for_test("a_prompt_template_file_drives_prove_and_suggest") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("gptf-like.txt");
    std::fs::write(&template, "-- {name}\n[GOAL]{state}[PROOFSTEP]").unwrap();
    let template = template.to_str().unwrap();
    let file = dir.path().join("t.lean");
    std::fs::write(
        &file,
        "theorem t (p : Prop) (hp : p) : p :=\nbegin\n  sorry\nend\n",
    )
    .unwrap();
    let out = dir.path().join("r.jsonl");
    let trees = dir.path().join("trees");
    let o = run(
        &[
            "prove",
            file.to_str().unwrap(),
            "--policy",
            "model",
            "--model",
            &tiny_model(),
            "--prompt",
            template,
            "--stop",
            "e",
            "--expansions",
            "3",
            "-k",
            "8",
            "--output",
            out.to_str().unwrap(),
            "--tree-dir",
            trees.to_str().unwrap(),
        ],
        cache.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The choice is said at start-up, with the stop string given.
    assert!(
        stderr.contains(&format!(
            "prompt: {template} (template file), stop strings [\"e\"]"
        )),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"name\":\"t\"")
    );
    let tree: Value =
        serde_json::from_str(&std::fs::read_to_string(trees.join("t.json")).unwrap()).unwrap();
    let edges = tree["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "{tree}");
    // Every candidate ends before the stop string: none reached Lean with an `e` in it.
    for e in edges {
        assert!(!e["tactic"].as_str().unwrap().contains('e'), "{e}");
    }

    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "-k",
            "4",
            "--model",
            &tiny_model(),
            "--prompt",
            template,
            "--jsonl",
        ],
        cache.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("(template file)"), "{stderr}");
    assert!(!json_lines(&o).is_empty(), "{stderr}");
    // A template without {state} is refused before anything runs.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "no placeholder").unwrap();
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "--model",
            &tiny_model(),
            "--prompt",
            bad.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no {state} placeholder"));

    // The bare state in a chat template file (InternLM2's, as published).
    let chat = dir.path().join("chat.jinja");
    std::fs::write(
        &chat,
        "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + \
         message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}\
         {{ '<|im_start|>assistant\n' }}{% endif %}",
    )
    .unwrap();
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "-k",
            "4",
            "--model",
            &tiny_model(),
            "--prompt",
            "state",
            "--chat-template",
            chat.to_str().unwrap(),
            "--jsonl",
        ],
        cache.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "prompt: state (built-in), in the chat template of {}",
            chat.display()
        )),
        "{stderr}"
    );
    assert!(!json_lines(&o).is_empty(), "{stderr}");
    // A checkpoint without a template of its own is told so.
    let o = run(
        &[
            "suggest",
            "--state",
            STATE,
            "--model",
            &tiny_model(),
            "--chat-template",
            "checkpoint",
        ],
        cache.path(),
    );
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("defines no chat template"), "{stderr}");
}
