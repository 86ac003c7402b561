//! The `prover` binary against real Lean 3 (core library): check, replay, prove, resume.
//! Skipped, loudly, where Lean is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lean_bridge::testing::lean_for_test;

mod support;

fn prover() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prover"));
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str], cache: &Path) -> Output {
    prover()
        .args(args)
        .env("PROVER_CACHE_DIR", cache)
        .output()
        .expect("prover runs")
}

fn core_dir() -> String {
    problems::core_dir().display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Lean processes started from this cache directory (it is in their command line).
fn lean_processes_using(cache: &Path) -> Vec<u32> {
    let needle = cache.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if cmdline.contains(&needle) && cmdline.contains("launch-") && !stat.contains(") Z ") {
            found.push(pid);
        }
    }
    found
}

#[test]
fn check_and_replay_accept_every_core_proof() {
    let Some(_) = lean_for_test("check_and_replay_accept_every_core_proof") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let o = run(&["check", &core_dir(), "-j", "2", "--jsonl"], cache.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files = problems::load_paths(&[problems::core_dir()]).unwrap();
    let total: usize = files.iter().map(|f| f.theorems.len()).sum();
    assert_eq!(lines.len(), total);
    assert!(
        lines
            .iter()
            .all(|l| l["ok"] == true && l["error"].is_null())
    );

    let o = run(&["replay", &core_dir(), "-j", "2"], cache.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o).matches(" complete (").count(), total);
    assert!(lean_processes_using(cache.path()).is_empty());
}

#[test]
fn bad_proofs_are_rejected_with_the_right_reason() {
    let Some(_) = lean_for_test("bad_proofs_are_rejected_with_the_right_reason") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.lean");
    std::fs::write(
        &file,
        "theorem good (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  split,\n  exact hp,\n  exact hq\nend\n\n\
         theorem wrong_step (n : ℕ) : n + 0 = n :=\nbegin\n  rw nat.mul_comm,\nend\n\n\
         theorem uses_sorry (p : Prop) : p ∨ true :=\nbegin\n  right,\n  sorry\nend\n\n\
         theorem uses_admit (p : Prop) : p :=\nbegin\n  admit\nend\n\n\
         theorem runs_io (p : Prop) : p ∨ true :=\nbegin\n  tactic.unsafe_run_io (io.put_str \"hi\"),\n  right, trivial\nend\n\n\
         theorem never_ends (n : ℕ) : n = n :=\nbegin\n  repeat { skip },\n  refl\nend\n\n\
         theorem unfinished (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\nbegin\n  split,\n  exact hp\nend\n",
    )
    .unwrap();
    let started = Instant::now();
    let o = run(
        &[
            "check",
            file.to_str().unwrap(),
            "--jsonl",
            "--verify-heartbeats",
            "20000",
            // `repeat { skip }` never ends and Lean's own compile of this file hangs on it
            // too: it costs the wall-clock limit.
            "--verify-timeout",
            "20",
        ],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(240));
    let by_name: std::collections::HashMap<String, serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["name"].as_str().unwrap().to_string(), v)
        })
        .collect();
    let error = |n: &str| by_name[n]["error"].as_str().unwrap_or("").to_string();
    assert_eq!(by_name["good"]["ok"], true);
    assert!(
        error("wrong_step").contains("bad.lean:10:3:"),
        "{}",
        error("wrong_step")
    );
    assert!(
        error("wrong_step").contains("rewrite tactic failed"),
        "{}",
        error("wrong_step")
    );
    // The file is the user's and trusted: its own `sorry`/`admit` make the proof incomplete,
    // and its IO runs as it does when `lean` compiles the file.
    assert!(
        error("uses_sorry").contains("sorry"),
        "{}",
        error("uses_sorry")
    );
    assert!(
        error("uses_admit").contains("sorry"),
        "{}",
        error("uses_admit")
    );
    assert_eq!(by_name["runs_io"]["ok"], true, "{}", error("runs_io"));
    assert!(
        error("never_ends").contains("within"),
        "{}",
        error("never_ends")
    );
    assert!(!error("unfinished").is_empty());
    for n in [
        "wrong_step",
        "uses_sorry",
        "uses_admit",
        "never_ends",
        "unfinished",
    ] {
        assert_eq!(by_name[n]["ok"], false, "{n}");
    }

    // Replay stops at the failing step and says which.
    let o = run(
        &[
            "replay",
            file.to_str().unwrap(),
            "--jsonl",
            "--verify-timeout",
            "20",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let replays: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let wrong = replays.iter().find(|r| r["name"] == "wrong_step").unwrap();
    assert_eq!(wrong["failed_step"], 1);
    let unfinished = replays.iter().find(|r| r["name"] == "unfinished").unwrap();
    assert!(
        unfinished["error"]
            .as_str()
            .unwrap()
            .contains("1 goal(s) left"),
        "{unfinished}"
    );
    assert!(lean_processes_using(dir.path()).is_empty());
}

#[test]
fn a_missing_lean_or_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = prover()
        .args(["check", &core_dir(), "--lean", "/nonexistent/lean"])
        .env("PROVER_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Lean 3 not found"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let o = run(&["check", "/nonexistent/file.lean"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/file.lean"), "{err}");

    // A theorem the parser cannot read is a failed check with its place, not a crash.
    let bad = dir.path().join("broken.lean");
    std::fs::write(&bad, "theorem t (n : ℕ) : n = n :=\nbegin\n  refl,\n").unwrap();
    let o = run(&["check", bad.to_str().unwrap()], dir.path());
    assert_ne!(o.status.code(), Some(0));
    let out = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("broken.lean:2:"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn a_file_that_is_not_utf8_is_reported_and_the_others_are_checked() {
    let Some(_) = lean_for_test("a_file_that_is_not_utf8_is_reported_and_the_others_are_checked")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("a.lean"), "theorem a_ok : 1 + 1 = 2 := rfl\n").unwrap();
    std::fs::write(
        files.join("b.lean"),
        b"theorem b_bad : true := \xff trivial\n",
    )
    .unwrap();
    std::fs::write(files.join("c.lean"), "theorem c_ok : 2 + 2 = 4 := rfl\n").unwrap();
    let files = files.display().to_string();

    let o = run(&["check", &files, "--jsonl"], dir.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ok: Vec<&str> = lines
        .iter()
        .filter(|l| l["ok"] == true)
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    ok.sort();
    assert_eq!(ok, ["a_ok", "c_ok"], "{lines:?}");
    let bad: Vec<&serde_json::Value> = lines.iter().filter(|l| l["ok"] == false).collect();
    assert_eq!(bad.len(), 1, "{lines:?}");
    let reason = bad[0]["error"].as_str().unwrap();
    assert!(
        reason.contains("b.lean") && reason.contains("UTF-8"),
        "{reason}"
    );
    assert_eq!(
        reason.matches("not valid UTF-8").count(),
        1,
        "the cause said once: {reason}"
    );

    // The summary says so, and prove and replay go on past it too.
    let o = run(&["check", &files], dir.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("verified 2/3 proofs; 1 file(s) could not be read"),
        "{err}"
    );
    let o = run(&["replay", &files], dir.path());
    let out = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("replayed 2/3 proofs"), "{out}");
    let results = dir.path().join("results.jsonl");
    let o = run(
        &[
            "prove",
            &files,
            "-o",
            results.to_str().unwrap(),
            "--retrieval",
            "off",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 file(s) could not be read"), "{err}");
    let text = std::fs::read_to_string(&results).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{text}");
    assert!(
        records
            .iter()
            .any(|r| r["file"].as_str().unwrap().ends_with("b.lean")
                && r["unreadable"].as_str().unwrap().contains("UTF-8")),
        "{text}"
    );
    assert!(!err.contains("panicked") && !out.contains("panicked"));
}

/// Writes the found proofs into a Lean file: each theorem with the proof the search found.
fn file_with_found_proofs(results: &[serde_json::Value], out: &Path) -> usize {
    let files = problems::load_paths(&[problems::core_dir()]).unwrap();
    let mut text = String::new();
    let mut n = 0;
    for r in results.iter().filter(|r| r["verified"] == true) {
        let name = r["name"].as_str().unwrap();
        let (file, index) = files
            .iter()
            .find_map(|f| {
                f.theorems
                    .iter()
                    .position(|t| t.name == name)
                    .map(|i| (f, i))
            })
            .unwrap();
        for line in &file.theorems[index].context {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&file.theorems[index].with_proof(r["proof"].as_str().unwrap()));
        text.push_str("\n\n");
        n += 1;
    }
    std::fs::write(out, text).unwrap();
    n
}

#[test]
fn prove_core_set_with_the_heuristic_policy_and_check_every_proof() {
    let Some(_) = lean_for_test("prove_core_set_with_the_heuristic_policy_and_check_every_proof")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.jsonl");
    let o = run(
        &[
            "prove",
            &core_dir(),
            "-j",
            "2",
            "--output",
            out.to_str().unwrap(),
            "--timeout",
            "60",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pass rate"), "{err}");
    let results: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files = problems::load_paths(&[problems::core_dir()]).unwrap();
    let total: usize = files.iter().map(|f| f.theorems.len()).sum();
    assert_eq!(results.len(), total);
    let proved = results.iter().filter(|r| r["verified"] == true).count();
    assert!(
        proved * 100 >= total * 60,
        "proved {proved}/{total}, under 60%"
    );
    for r in &results {
        if r["verified"] == true {
            let proof = r["proof"].as_str().unwrap();
            assert!(
                proof.starts_with("begin") && proof.ends_with("end"),
                "{proof}"
            );
        }
    }
    // Every reported proof passes `prover check`, run separately.
    let found = dir.path().join("found.lean");
    assert_eq!(file_with_found_proofs(&results, &found), proved);
    let o = run(&["check", found.to_str().unwrap(), "--jsonl"], dir.path());
    let checked: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(checked.len(), proved);
    let failed: Vec<_> = checked.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(lean_processes_using(dir.path()).is_empty());
}

#[test]
fn an_interrupted_prove_resumes_without_losing_or_repeating_results() {
    let Some(_) = lean_for_test("an_interrupted_prove_resumes_without_losing_or_repeating_results")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("r.jsonl");
    let logic = problems::core_dir().join("logic.lean");
    let names: Vec<String> = problems::load_file(&logic)
        .unwrap()
        .theorems
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let mut child = prover()
        .args([
            "prove",
            logic.to_str().unwrap(),
            "-j",
            "1",
            "--output",
            out.to_str().unwrap(),
        ])
        .env("PROVER_CACHE_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once a few results are in.
    let t = Instant::now();
    loop {
        let n = std::fs::read_to_string(&out)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n >= 3 || t.elapsed() > Duration::from_secs(240) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM, as Slurm and Kubernetes stop a job; Ctrl-C (SIGINT) takes the same path.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    let first: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is valid JSON"))
        .collect();
    assert!(
        first.len() >= 3 && first.len() < names.len(),
        "{}",
        first.len()
    );
    // No Lean process outlives the interrupted run.
    let t = Instant::now();
    while !lean_processes_using(dir.path()).is_empty() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(lean_processes_using(dir.path()).is_empty());

    // Without --resume the results are protected.
    let o = run(
        &[
            "prove",
            logic.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));

    let o = run(
        &[
            "prove",
            logic.to_str().unwrap(),
            "-j",
            "2",
            "--resume",
            "--output",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("resuming"));
    let all: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seen: Vec<&str> = all.iter().map(|r| r["name"].as_str().unwrap()).collect();
    seen.sort();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(seen, expected, "each theorem exactly once");
}

#[test]
fn shards_split_a_run_and_report_merges_them_into_the_whole() {
    let Some(_) = lean_for_test("shards_split_a_run_and_report_merges_them_into_the_whole") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logic = problems::core_dir().join("logic.lean");
    let prove = |name: &str, shard: Option<&str>| -> PathBuf {
        let out = dir.path().join(name);
        let mut args = vec![
            "prove",
            logic.to_str().unwrap(),
            "-j",
            "2",
            "--timeout",
            "120",
            "--output",
            out.to_str().unwrap(),
        ];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let o = run(&args, dir.path());
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    let names = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
            .collect()
    };
    let whole = prove("whole.jsonl", None);
    let (s0, s1) = (
        prove("s0.jsonl", Some("0/2")),
        prove("s1.jsonl", Some("1/2")),
    );
    let (n0, n1) = (names(&s0), names(&s1));
    assert!(!n0.is_empty() && !n1.is_empty(), "{n0:?} {n1:?}");
    assert!(
        n0.iter().all(|n| !n1.contains(n)),
        "shards overlap: {n0:?} {n1:?}"
    );
    let mut union: Vec<String> = n0.into_iter().chain(n1).collect();
    let mut all = names(&whole);
    union.sort();
    all.sort();
    assert_eq!(union, all);

    let report = |files: &[&Path]| report_of(files, dir.path());
    let (merged, single) = (report(&[&s0, &s1]), report(&[&whole]));
    for field in ["attempts", "theorems", "proved", "per_file", "failures"] {
        assert_eq!(
            merged[field], single[field],
            "{field}: {merged} vs {single}"
        );
    }
    // A bad shard is a one-line usage error, before any Lean starts.
    let o = run(
        &["prove", logic.to_str().unwrap(), "--shard", "2/2"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give I/N"));
}

/// `prover report --jsonl` of these results files.
fn report_of(files: &[&Path], cache: &Path) -> serde_json::Value {
    let mut args = vec!["report", "--jsonl"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let o = run(&args, cache);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(stdout(&o).trim()).unwrap()
}

/// `prove` against one `prover serve` (the tiny checkpoint, with the heuristic beside it):
/// the arguments shared by the tests below.
fn served_prove_args<'a>(url: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "prove",
        "--endpoint",
        url,
        "--served-model",
        "tiny",
        "--policy",
        "model+heuristic",
        "--prompt",
        "fewshot",
        "--max-tokens",
        "16",
        "-k",
        "4",
        "--expansions",
        "20",
        "-j",
        "2",
        "--timeout",
        "120",
        "--output",
        out,
    ]
}

#[test]
fn core_shards_against_one_server_partition_the_run_and_report_the_whole() {
    let Some(_) =
        lean_for_test("core_shards_against_one_server_partition_the_run_and_report_the_whole")
    else {
        return;
    };
    let server = support::serve::ServeProcess::start(&[]);
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let core = core_dir();
    let prove = |name: &str, shard: Option<&str>| -> PathBuf {
        let out = dir.path().join(name);
        let out_s = out.to_str().unwrap().to_string();
        let mut args = served_prove_args(&url, &out_s);
        args.push(&core);
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let o = run(&args, dir.path());
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    let lines = |path: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let whole = prove("whole.jsonl", None);
    let (s0, s1) = (
        prove("s0.jsonl", Some("0/2")),
        prove("s1.jsonl", Some("1/2")),
    );
    let names =
        |p: &Path| -> Vec<String> { lines(p).iter().map(|v| v["name"].to_string()).collect() };
    let (n0, n1) = (names(&s0), names(&s1));
    assert!(n0.iter().all(|n| !n1.contains(n)), "shards overlap");
    let mut union: Vec<String> = n0.into_iter().chain(n1).collect();
    let mut all = names(&whole);
    union.sort();
    all.sort();
    assert_eq!(union, all);
    assert_eq!(all.len(), 86);
    // The model was asked (through the server) and its proofs count like any other.
    assert!(
        lines(&whole)
            .iter()
            .all(|v| v["policy"] == "model+heuristic"
                && v["stats"]["policy_calls"].as_u64() > Some(0))
    );
    let report = |files: &[&Path]| report_of(files, dir.path());
    let (merged, single) = (report(&[&s0, &s1]), report(&[&whole]));
    for field in ["attempts", "theorems", "proved", "per_file", "failures"] {
        assert_eq!(
            merged[field], single[field],
            "{field}: {merged} vs {single}"
        );
    }
}

#[test]
fn a_server_killed_and_restarted_mid_run_costs_no_theorem_its_result_line() {
    let Some(_) =
        lean_for_test("a_server_killed_and_restarted_mid_run_costs_no_theorem_its_result_line")
    else {
        return;
    };
    let mut server = support::serve::ServeProcess::start(&[]);
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.jsonl");
    let out_s = out.to_str().unwrap().to_string();
    let core = core_dir();
    let mut args = served_prove_args(&url, &out_s);
    args.push(&core);
    let mut child = prover()
        .args(&args)
        .env("PROVER_CACHE_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let count = || {
        std::fs::read_to_string(&out)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while count() < 10 {
        assert!(Instant::now() < deadline, "no results");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server goes away mid-run and comes back on the same port a moment later.
    server.kill();
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.code().is_some_and(|c| c < 2), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 86, "every theorem has one result line");
}

#[test]
fn the_soak_benchmark_reports_memory_and_latency_at_start_and_end() {
    let Some(_) = lean_for_test("the_soak_benchmark_reports_memory_and_latency_at_start_and_end")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "bench",
            "soak",
            "--tactics",
            "300",
            "--lsp-requests",
            "10",
            "--recycle-after",
            "100",
        ],
        dir.path(),
    );
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("300 tactics in"), "{out}");
    // Recycled after 100 requests: a few fresh processes, no start lost.
    let recycled: u64 = out
        .split(" recycled)")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no recycle count in {out}"));
    assert!(recycled >= 2, "{out}");
    assert!(out.contains("0 start(s) failed"), "{out}");
    assert!(out.contains("paired ratio to round 1"), "{out}");
    assert!(out.contains("language server: end/start RSS"), "{out}");
    assert!(out.contains("10 requests in"), "{out}");
    assert!(lean_processes_using(dir.path()).is_empty());
}

/// The result lines of a `prove --output` file, by theorem name.
fn results_by_name(path: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| Some((v["name"].as_str()?.to_string(), v)))
        .collect()
}

#[test]
fn a_policy_that_fails_every_third_call_costs_expansions_not_the_run() {
    let Some(_) =
        lean_for_test("a_policy_that_fails_every_third_call_costs_expansions_not_the_run")
    else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prove = |fail_every: usize, out: &Path| {
        let server = support::fake_api::start(fail_every);
        let o = run(
            &[
                "prove",
                &core_dir(),
                "--policy",
                "model+heuristic",
                "--endpoint",
                &server.url(),
                "--prompt",
                "state",
                "--output",
                out.to_str().unwrap(),
            ],
            cache.path(),
        );
        let failed = server.failed.load(std::sync::atomic::Ordering::SeqCst);
        (o, failed)
    };
    let clean = dir.path().join("clean.jsonl");
    let faulty = dir.path().join("faulty.jsonl");
    let (o, failed) = prove(0, &clean);
    assert_eq!(failed, 0);
    let clean_stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!clean_stderr.contains("policy failures"), "{clean_stderr}");
    let (o, failed) = prove(3, &faulty);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(failed > 0);
    // Every theorem has its result line; the summary counts the failures.
    let (clean, faulty) = (results_by_name(&clean), results_by_name(&faulty));
    assert_eq!(clean.len(), 86, "{clean_stderr}");
    assert_eq!(
        faulty.keys().collect::<Vec<_>>(),
        clean.keys().collect::<Vec<_>>()
    );
    let counted: u64 = faulty
        .values()
        .map(|r| r["stats"]["policy_failures"].as_u64().unwrap())
        .sum();
    assert!(counted > 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "policy failures     {counted} (each cost an expansion)"
        )),
        "{stderr}"
    );
    // What the clean run proves, the faulty one proves too, except theorems the failures
    // ended (three in a row) or whose budget they ate: a failed call costs an expansion, so a
    // theorem that needed n expansions is lost when fewer than n were left for Lean.
    let ended: Vec<&String> = faulty
        .iter()
        .filter(|(_, r)| r["stop_reason"] == "policy_failed")
        .map(|(n, _)| n)
        .collect();
    let mut eaten = 0;
    for (name, r) in &clean {
        if r["proved"] != true || faulty[name]["proved"] == true || ended.contains(&name) {
            continue;
        }
        let f = &faulty[name];
        let left =
            f["expansions"].as_u64().unwrap() - f["stats"]["policy_failures"].as_u64().unwrap();
        assert!(
            f["stop_reason"] == "expansion_limit" && left < r["expansions"].as_u64().unwrap(),
            "{name}: proved in {} expansions without faults; with them: {f}",
            r["expansions"]
        );
        eaten += 1;
    }
    let proved = |m: &std::collections::BTreeMap<String, serde_json::Value>| {
        m.values().filter(|r| r["proved"] == true).count()
    };
    eprintln!(
        "clean {} proved; every third call failed ({failed} calls, {counted} expansions): {} proved, {} ended by the policy, {eaten} out of budget",
        proved(&clean),
        proved(&faulty),
        ended.len()
    );
}
