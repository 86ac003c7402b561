//! `prover lsp` against real Lean 3 (core library), driven over stdio by a test client like an
//! editor: checked suggestions as code actions and completions (each one re-checked here with
//! `prover check` / `prover replay` after applying its edit), "Prove with search" (resolved
//! code action and command), cancellation of a long search, and a shutdown that leaves no Lean
//! process behind.

mod lsp_client;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lsp_client::{
    LspClient, alive, apply_edits, children_named, edits_for, file_uri, full_capabilities,
    minimal_capabilities,
};
use serde_json::{Value, json};

/// Generous: the first request starts Lean (and may compile the REPL once).
const LEAN_WAIT: Duration = Duration::from_secs(240);
const SUGGEST_KIND: &str = "refactor.rewrite.prover.suggest";
const PROVE_KIND: &str = "refactor.rewrite.prover.prove";

/// Both theorems to prove, as `sorry`.
const TODO: &str = "\
theorem lsp_demo (p q : Prop) (hp : p) (hq : q) : p → q ∧ p :=
sorry

theorem lsp_todo (p q : Prop) (hq : q) : p → q :=
begin
  sorry
end
";

/// Line 3 (0-based) is the cursor line inside `lsp_demo`'s proof, after `intro h`.
const DEMO: &str = "\
theorem lsp_demo (p q : Prop) (hp : p) (hq : q) : p → q ∧ p :=
begin
  intro h,
  
end

theorem lsp_todo (p q : Prop) (hq : q) : p → q :=
begin
  sorry
end
";

fn lean_path(test: &str) -> Option<String> {
    let install = lean_bridge::testing::lean_for_test(test)?;
    Some(install.lean.display().to_string())
}

fn start(lean: &str, extra: &[&str]) -> LspClient {
    let mut args = vec!["--lean", lean];
    args.extend_from_slice(extra);
    LspClient::start(&args, &[])
}

/// `DEMO` written to a fresh directory (kept as long as the guard lives), and its URI.
fn demo_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Demo.lean");
    std::fs::write(&path, DEMO).unwrap();
    let uri = file_uri(&path);
    (dir, uri)
}

/// A server started with `extra`, initialized as a full-featured editor, with `DEMO` open at
/// `uri`.
fn open_demo(lean: &str, extra: &[&str], uri: &str) -> LspClient {
    let mut client = start(lean, extra);
    client.initialize(full_capabilities());
    client.open(uri, DEMO);
    client
}

/// `prover check FILE` on `text`: whether theorem `name` verified (it must be among the checked
/// ones; theorems left as `sorry` are skipped by `check`), with the report for messages.
fn check(lean: &str, dir: &Path, text: &str, name: &str) -> (bool, String) {
    let path = dir.join("Checked.lean");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["check", "--jsonl", "-j", "1", "--lean", lean])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let verified = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|r| r["name"] == name && r["ok"] == true);
    (out.status.success() && verified, report)
}

/// `prover replay FILE --jsonl` on `text`: the record of theorem `name`.
fn replay(lean: &str, dir: &Path, text: &str, name: &str) -> Value {
    let path = dir.join("Replayed.lean");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["replay", "--jsonl", "-j", "1", "--lean", lean])
        .arg(&path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no replay record for {name}: {out:?}"))
}

fn code_actions(client: &mut LspClient, uri: &str, line: u32, character: u32) -> Vec<Value> {
    client
        .call(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": line, "character": character},
                          "end": {"line": line, "character": character}},
                "context": {"diagnostics": [], "triggerKind": 1}
            }),
            LEAN_WAIT,
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// "leaves 2 goals: …" → 2; "closes …" → 0.
fn goals_left(label: &str) -> usize {
    if label.contains("closes") {
        return 0;
    }
    let rest = label.split("leaves ").nth(1).expect(label);
    rest.split(' ').next().unwrap().parse().expect(label)
}

#[test]
fn suggestions_are_checked_in_lean_and_ordered_by_outcome() {
    let Some(lean) = lean_path("lsp_suggestions_are_checked_in_lean") else {
        return;
    };
    let (dir, uri) = demo_file();
    let mut client = open_demo(&lean, &[], &uri);

    let actions = code_actions(&mut client, &uri, 3, 2);
    let suggestions: Vec<&Value> = actions
        .iter()
        .filter(|a| a["kind"] == SUGGEST_KIND && a.get("edit").is_some())
        .collect();
    assert!(!suggestions.is_empty(), "no suggestions: {actions:#?}");
    let labels: Vec<String> = suggestions
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    eprintln!("code actions: {labels:#?}");
    let left: Vec<usize> = labels.iter().map(|l| goals_left(l)).collect();
    assert_eq!(left[0], 0, "a closing suggestion comes first: {labels:?}");
    // Closing ones first.
    let first_open = left.iter().position(|&n| n > 0).unwrap_or(left.len());
    assert!(left[first_open..].iter().all(|&n| n > 0), "{labels:?}");
    // "Prove with search" is offered, resolvable.
    assert!(
        actions
            .iter()
            .any(|a| a["kind"] == PROVE_KIND && a["data"]["theorem"] == "lsp_demo"),
        "{actions:#?}"
    );

    // Each suggestion does what its label says, as Lean sees the edited file.
    for (action, n) in suggestions.iter().zip(&left) {
        let edited = apply_edits(DEMO, &edits_for(&action["edit"], &uri));
        let title = action["title"].as_str().unwrap();
        if *n == 0 {
            let (ok, report) = check(&lean, dir.path(), &edited, "lsp_demo");
            assert!(ok, "`{title}` does not close the goal:\n{edited}\n{report}");
        } else {
            let r = replay(&lean, dir.path(), &edited, "lsp_demo");
            assert_eq!(r["failed_step"], Value::Null, "`{title}`:\n{edited}\n{r}");
            assert_eq!(r["steps"], r["total_steps"], "{r}");
            assert_eq!(
                r["error"],
                json!(format!("{n} goal(s) left after the last step")),
                "`{title}`:\n{edited}"
            );
        }
    }

    // Completions at the same place: the same checked tactics, in the same order.
    let list = client.call(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 2}}),
        LEAN_WAIT,
    );
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), suggestions.len(), "{list:#}");
    let mut sorted = items.clone();
    sorted.sort_by_key(|i| i["sortText"].as_str().unwrap().to_string());
    assert_eq!(sorted, items);
    for (item, title) in items.iter().zip(&labels) {
        let detail = item["detail"].as_str().unwrap();
        assert!(
            title.ends_with(&format!("({detail})")),
            "{title} / {detail}"
        );
        assert!(
            item["documentation"]["value"]
                .as_str()
                .unwrap()
                .contains("checked in Lean"),
            "{item}"
        );
    }
    // Accepting the first completion gives a proof Lean accepts.
    let mut edits = vec![items[0]["textEdit"].clone()];
    edits.extend(
        items[0]["additionalTextEdits"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    let completed = apply_edits(DEMO, &edits);
    let (ok, report) = check(&lean, dir.path(), &completed, "lsp_demo");
    assert!(
        ok,
        "the first completion does not verify:\n{completed}\n{report}"
    );

    // A typed prefix is replaced, not appended to.
    let typed = DEMO.replacen("intro h,\n  \n", "intro h,\n  ex\n", 1);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": typed}]}),
    );
    let list = client.call(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 4}}),
        LEAN_WAIT,
    );
    let item = &list["items"][0];
    assert_eq!(item["textEdit"]["range"]["start"]["character"], 2, "{item}");
    assert_eq!(item["textEdit"]["range"]["end"]["character"], 4, "{item}");

    // A completion cancelled at once (as by the next keystroke) and asked again is answered;
    // the run started for the first goes on for the second.
    let at_todo = json!({"textDocument": {"uri": uri}, "position": {"line": 8, "character": 2}});
    let id = client.request("textDocument/completion", at_todo.clone());
    client.notify("$/cancelRequest", json!({"id": id}));
    let r = client.response(id, Duration::from_secs(20));
    assert_eq!(r["error"]["code"], -32800, "{r}");
    let list = client.call("textDocument/completion", at_todo, LEAN_WAIT);
    let labels: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.iter().any(|l| l.starts_with("intro")), "{list:#}");

    let server = client.pid();
    let lean_children = children_named(server, "lean");
    assert!(!lean_children.is_empty(), "Lean runs under the server");
    let status = client.shutdown(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    for pid in lean_children {
        assert!(!alive(pid), "Lean process {pid} outlived the server");
    }
}

#[test]
fn prove_with_search_inserts_a_proof_that_check_accepts() {
    let Some(lean) = lean_path("lsp_prove_with_search_inserts_a_proof") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Demo.lean");
    let uri = file_uri(&path);

    // An editor that resolves code actions: the edit comes with `codeAction/resolve`.
    let mut client = start(&lean, &[]);
    client.initialize(full_capabilities());
    client.open(&uri, TODO);
    let actions = code_actions(&mut client, &uri, 5, 2);
    let prove = actions
        .iter()
        .find(|a| a["kind"] == PROVE_KIND)
        .unwrap_or_else(|| panic!("no prove action: {actions:#?}"))
        .clone();
    assert_eq!(prove["data"]["theorem"], "lsp_todo");
    assert!(prove.get("edit").is_none(), "the search runs on resolve");
    let resolved = client.call("codeAction/resolve", prove, LEAN_WAIT);
    let edits = edits_for(&resolved["edit"], &uri);
    assert_eq!(edits.len(), 1, "{resolved:#}");
    let proved = apply_edits(TODO, &edits);
    assert_eq!(proved.matches("sorry").count(), 1, "{proved}");
    let (ok, report) = check(&lean, dir.path(), &proved, "lsp_todo");
    assert!(
        ok,
        "the inserted proof does not verify:\n{proved}\n{report}"
    );
    // Progress was reported on a token the server created.
    assert!(!client.progress_tokens.is_empty());
    assert!(
        client
            .notifications
            .iter()
            .any(|n| n["method"] == "$/progress" && n["params"]["value"]["kind"] == "end"),
        "no progress end"
    );
    assert!(client.shutdown(Duration::from_secs(60)).success());

    // An editor without resolve support: the action is a command, and the server applies the
    // proof with `workspace/applyEdit`.
    let mut client = start(&lean, &[]);
    client.initialize(minimal_capabilities());
    client.open(&uri, TODO);
    let actions = code_actions(&mut client, &uri, 0, 10);
    let prove = actions
        .iter()
        .find(|a| a["kind"] == PROVE_KIND)
        .unwrap_or_else(|| panic!("no prove action: {actions:#?}"))
        .clone();
    let command = prove["command"].clone();
    assert_eq!(command["command"], "prover.proveWithSearch", "{prove}");
    let answer = client.call(
        "workspace/executeCommand",
        json!({"command": command["command"], "arguments": command["arguments"]}),
        LEAN_WAIT,
    );
    assert_eq!(answer["theorem"], "lsp_demo");
    assert_eq!(answer["applied"], true, "{answer}");
    assert_eq!(client.applied_edits.len(), 1);
    let proved = apply_edits(TODO, &edits_for(&client.applied_edits[0], &uri));
    assert!(proved.contains(answer["proof"].as_str().unwrap()));
    let (ok, report) = check(&lean, dir.path(), &proved, "lsp_demo");
    assert!(ok, "the applied proof does not verify:\n{proved}\n{report}");
    assert!(client.shutdown(Duration::from_secs(60)).success());
}

#[test]
fn a_long_search_is_cancelled_and_shutdown_leaves_no_lean_behind() {
    let Some(lean) = lean_path("lsp_cancel_and_shutdown") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Hard.lean");
    let uri = file_uri(&path);
    // False, so no search ends with a proof; induction and case splits keep it busy.
    let text = "theorem lsp_hard (a b : ℕ) : a * b = a + b + 1 :=\nbegin\n  sorry\nend\n";
    let mut client = start(&lean, &["--expansions", "100000", "--timeout", "600"]);
    client.initialize(full_capabilities());
    client.open(&uri, text);
    let actions = code_actions(&mut client, &uri, 0, 10);
    let prove = actions
        .iter()
        .find(|a| a["kind"] == PROVE_KIND)
        .unwrap_or_else(|| panic!("no prove action: {actions:#?}"))
        .clone();
    let id = client.request("codeAction/resolve", prove);
    // Wait until the search is running.
    let searching = client.wait_notification(LEAN_WAIT, |n| {
        n["method"] == "$/progress"
            && n["params"]["value"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("searching"))
    });
    assert!(searching.is_some(), "the search never started");
    let server = client.pid();
    let lean_children = children_named(server, "lean");
    assert!(!lean_children.is_empty(), "Lean runs under the server");

    // Still searching: the answer can only come from the cancellation.
    std::thread::sleep(Duration::from_secs(1));
    assert!(!client.has_response(id), "the search ended on its own");
    let cancelled_at = std::time::Instant::now();
    client.notify("$/cancelRequest", json!({"id": id}));
    let r = client.response(id, Duration::from_secs(20));
    assert_eq!(r["error"]["code"], -32800, "{r}");
    assert!(cancelled_at.elapsed() < Duration::from_secs(5));

    // The server still answers; the user can also stop a search from its progress report
    // (`window/workDoneProgress/cancel` on the token the server created).
    let actions = code_actions(&mut client, &uri, 0, 10);
    let prove = actions
        .iter()
        .find(|a| a["kind"] == PROVE_KIND)
        .unwrap()
        .clone();
    let tokens_before = client.progress_tokens.len();
    client.notifications.clear();
    let id = client.request("codeAction/resolve", prove);
    let searching = client.wait_notification(LEAN_WAIT, |n| {
        n["method"] == "$/progress"
            && n["params"]["value"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("searching"))
    });
    let token = searching.expect("the second search never started")["params"]["token"].clone();
    assert!(client.progress_tokens.len() > tokens_before);
    assert_eq!(client.progress_tokens.last(), Some(&token));
    client.notify("window/workDoneProgress/cancel", json!({"token": token}));
    let r = client.response(id, Duration::from_secs(20));
    assert_eq!(r["error"]["code"], -32800, "{r}");

    let status = client.shutdown(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    for pid in lean_children {
        assert!(!alive(pid), "Lean process {pid} outlived the server");
    }
}

#[test]
fn the_editor_takes_the_model_from_a_server() {
    let Some(lean) = lean_path("lsp_the_editor_takes_the_model_from_a_server") else {
        return;
    };
    let server = support::serve::ServeProcess::start(&[]);
    let url = server.url();
    let (dir, uri) = demo_file();
    let mut client = open_demo(
        &lean,
        &[
            "--endpoint",
            &url,
            "--served-model",
            "tiny",
            "--policy",
            "model+heuristic",
        ],
        &uri,
    );
    let actions = code_actions(&mut client, &uri, 3, 2);
    // The heuristic's candidates still close the goal beside the server's nonsense ...
    assert!(
        actions
            .iter()
            .any(|a| a["kind"] == SUGGEST_KIND && a.get("edit").is_some()),
        "{actions:#?}"
    );
    assert!(client.shutdown(Duration::from_secs(60)).success());
    // ... and the server was asked.
    let (_, health) = support::serve::http(server.port, "GET", "/health", "").unwrap();
    let h: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert!(h["prompts"].as_u64().unwrap() >= 1, "{h}");
    drop(dir);
}

#[test]
fn the_model_policy_serves_the_editor() {
    let Some(lean) = lean_path("lsp_the_model_policy_serves_the_editor") else {
        return;
    };
    let model = causal_lm::testing::tiny_checkpoint_dir()
        .display()
        .to_string();
    let (dir, uri) = demo_file();

    // The tiny model alone: its nonsense fails in Lean, so nothing is offered, and nothing
    // breaks (the search action stays).
    let mut client = open_demo(&lean, &["--model", &model, "--policy", "model"], &uri);
    let actions = code_actions(&mut client, &uri, 3, 2);
    // The model loaded and answered (a load failure would be the reason shown instead).
    assert!(
        actions.iter().any(|a| a["kind"] == SUGGEST_KIND
            && a["disabled"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the policy proposed works here"))),
        "{actions:#?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| a["kind"] == SUGGEST_KIND && a.get("edit").is_some()),
        "{actions:#?}"
    );
    assert!(
        actions.iter().any(|a| a["kind"] == PROVE_KIND),
        "{actions:#?}"
    );
    assert!(client.shutdown(Duration::from_secs(60)).success());

    // Merged with the heuristic: checked suggestions again, closing ones first and true.
    let mut client = open_demo(
        &lean,
        &["--model", &model, "--policy", "model+heuristic"],
        &uri,
    );
    let actions = code_actions(&mut client, &uri, 3, 2);
    let closing: Vec<&Value> = actions
        .iter()
        .filter(|a| {
            a["kind"] == SUGGEST_KIND
                && a.get("edit").is_some()
                && goals_left(a["title"].as_str().unwrap()) == 0
        })
        .collect();
    assert!(!closing.is_empty(), "{actions:#?}");
    for action in closing {
        let edited = apply_edits(DEMO, &edits_for(&action["edit"], &uri));
        let (ok, report) = check(&lean, dir.path(), &edited, "lsp_demo");
        assert!(ok, "{}:\n{edited}\n{report}", action["title"]);
    }
    assert!(client.shutdown(Duration::from_secs(60)).success());
}

#[test]
fn a_model_that_cannot_load_is_reported_not_crashed_on() {
    let Some(lean) = lean_path("lsp_a_model_that_cannot_load_is_reported") else {
        return;
    };
    let (dir, uri) = demo_file();
    let missing = dir.path().join("no-such-model").display().to_string();
    let mut client = open_demo(&lean, &["--model", &missing, "--policy", "model"], &uri);
    let actions = code_actions(&mut client, &uri, 3, 2);
    let reason = actions
        .iter()
        .find_map(|a| a["disabled"]["reason"].as_str())
        .unwrap_or_else(|| panic!("a disabled action with the reason: {actions:#?}"));
    assert!(reason.contains("loading the model"), "{reason}");
    assert!(reason.contains("no-such-model"), "{reason}");
    assert!(client.shutdown(Duration::from_secs(60)).success());
}

/// A theorem inside a namespace, using the file's section variable and definition.
const SCOPED: &str = "\
namespace demo

variables (n : ℕ)

def double (m : ℕ) : ℕ := m + m

theorem double_eq : double n = n + n :=
begin
  
end

end demo
";

#[test]
fn suggestions_start_where_the_document_states_the_theorem() {
    let Some(lean) = lean_path("lsp_suggestions_start_where_the_document_states_the_theorem")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Scoped.lean");
    std::fs::write(&path, SCOPED).unwrap();
    let uri = file_uri(&path);
    let mut client = start(&lean, &[]);
    client.initialize(full_capabilities());
    client.open(&uri, SCOPED);
    let actions = code_actions(&mut client, &uri, 8, 2);
    let closing: Vec<&Value> = actions
        .iter()
        .filter(|a| a["kind"] == SUGGEST_KIND && a.get("edit").is_some())
        .filter(|a| goals_left(a["title"].as_str().unwrap()) == 0)
        .collect();
    // `refl` closes it only where the file's `double` and `n` are in scope.
    assert!(!closing.is_empty(), "no closing suggestion: {actions:#?}");
    let edited = apply_edits(SCOPED, &edits_for(&closing[0]["edit"], &uri));
    let (ok, report) = check(&lean, dir.path(), &edited, "demo.double_eq");
    assert!(ok, "{edited}\n{report}");
    assert!(client.shutdown(Duration::from_secs(60)).success());
}

#[test]
fn suggestions_inside_a_mathlib_file_with_variables_and_a_namespace() {
    let Some((lean, project)) = lean_bridge::testing::mathlib_project_for_test(
        "lsp_suggestions_inside_a_mathlib_file_with_variables_and_a_namespace",
    ) else {
        return;
    };
    // mathlib's own file, opened from outside the project: `namespace nat`, `variables {m n : ℕ}`.
    let text = std::fs::read_to_string(project.join("src/data/nat/parity.lean")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Parity.lean");
    std::fs::write(&path, &text).unwrap();
    let uri = file_uri(&path);
    let project = project.display().to_string();
    let mut client = start(
        &lean.lean.display().to_string(),
        &["--lean-project", &project],
    );
    client.initialize(full_capabilities());
    client.open(&uri, &text);
    // Line 64 (1-based) of `nat.even_xor_odd`, after `cases even_or_odd n with h,`.
    let line = text
        .lines()
        .position(|l| l.contains("{ exact or.inl ⟨h, even_iff_not_odd.mp h⟩ },"))
        .unwrap() as u32;
    let actions = code_actions(&mut client, &uri, line, 2);
    let suggestions: Vec<&Value> = actions
        .iter()
        .filter(|a| a["kind"] == SUGGEST_KIND && a.get("edit").is_some())
        .collect();
    assert!(!suggestions.is_empty(), "no suggestions: {actions:#?}");
    assert!(client.shutdown(Duration::from_secs(60)).success());
}
