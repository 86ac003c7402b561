//! `prover lsp` without Lean: parse errors become diagnostics at the right line, and a missing
//! Lean is reported clearly, with no crash and a clean shutdown.

mod lsp_client;

use std::time::Duration;

use lsp_client::{LspClient, file_uri, full_capabilities};
use serde_json::{Value, json};

const SECS: Duration = Duration::from_secs(30);

fn diagnostics_for<'a>(n: &'a Value, uri: &str) -> Option<&'a Vec<Value>> {
    (n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .then(|| n["params"]["diagnostics"].as_array())
        .flatten()
}

#[test]
fn unparsable_document_gets_a_diagnostic_on_the_right_line_and_loses_it_when_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Broken.lean");
    let text = "theorem ok (p : Prop) (hp : p) : p :=\nbegin\n  exact hp\nend\n\n\
                theorem broken (p : Prop) (hp : p) : p :=\nbegin\n  exact (hp\nend\n";
    let expected = problems::parse_str(text, None)
        .and_then(problems::ProblemFile::strict)
        .unwrap_err();
    let uri = file_uri(&path);

    let mut client = LspClient::start(&[], &[]);
    client.initialize(full_capabilities());
    client.open(&uri, text);
    let n = client
        .wait_notification(SECS, |n| {
            diagnostics_for(n, &uri).is_some_and(|d| !d.is_empty())
        })
        .expect("a diagnostic for the unparsable file");
    let d = &diagnostics_for(&n, &uri).unwrap()[0];
    assert_eq!(
        d["range"]["start"]["line"].as_u64().unwrap() as usize,
        expected.line - 1,
        "{d}"
    );
    // The bracket opens on line 8 (1-based); the parser reports it there or where the
    // command ends, never elsewhere.
    assert!((8..=9).contains(&expected.line), "{expected}");
    assert!(
        d["message"].as_str().unwrap().contains(&expected.message),
        "{d}"
    );

    // Code actions (automatic, so no Lean work) inside the broken theorem: none; above it,
    // the file is read up to the broken theorem and "Prove with search" is offered.
    let mut actions_at = |line: u32| {
        client.call(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": line, "character": 2}, "end": {"line": line, "character": 2}},
                "context": {"diagnostics": [], "triggerKind": 2}
            }),
            SECS,
        )
    };
    assert_eq!(actions_at(7), json!([]));
    let above = actions_at(2);
    let above = above.as_array().unwrap();
    assert_eq!(above.len(), 1, "{above:?}");
    assert_eq!(above[0]["kind"], "refactor.rewrite.prover.prove");
    assert_eq!(above[0]["data"]["theorem"], "ok");

    // Incremental change: drop the `(`; the diagnostic goes.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{
                "range": {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 9}},
                "text": ""
            }]
        }),
    );
    client
        .wait_notification(SECS, |n| {
            diagnostics_for(n, &uri).is_some_and(|d| d.is_empty()) && n["params"]["version"] == 2
        })
        .expect("the diagnostic is cleared once the file parses");

    let status = client.shutdown(SECS);
    assert!(status.success(), "{status:?}");
}

#[test]
fn missing_lean_is_reported_not_crashed_on() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.to_str().unwrap();
    let path = dir.path().join("Demo.lean");
    let text = "theorem demo (p : Prop) (hp : p) : p :=\nbegin\n  \nend\n";
    let uri = file_uri(&path);

    let mut client = LspClient::start(
        &[],
        &[
            ("LEAN_HOME", Some("/nonexistent/lean-home")),
            ("PATH", Some("/usr/bin:/bin")),
            ("HOME", Some(home)),
            ("ELAN_HOME", Some(home)),
        ],
    );
    client.initialize(full_capabilities());
    client.open(&uri, text);

    // Asked explicitly for code actions inside the proof: answered, with the reason.
    let actions = client.call(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 2, "character": 2}, "end": {"line": 2, "character": 2}},
            "context": {"diagnostics": [], "triggerKind": 1}
        }),
        SECS,
    );
    let actions = actions.as_array().expect("a list of code actions");
    let disabled: Vec<&Value> = actions
        .iter()
        .filter(|a| a.get("disabled").is_some())
        .collect();
    assert_eq!(disabled.len(), 1, "{actions:?}");
    let reason = disabled[0]["disabled"]["reason"].as_str().unwrap();
    assert!(reason.contains("Lean 3 not found"), "{reason}");
    // "Prove with search" is still offered (it will report the same problem when run).
    assert!(
        actions
            .iter()
            .any(|a| a["kind"] == "refactor.rewrite.prover.prove"),
        "{actions:?}"
    );

    // The document carries the reason, and the user was told.
    let n = client
        .wait_notification(SECS, |n| {
            diagnostics_for(n, &uri).is_some_and(|d| {
                d.iter().any(|d| {
                    d["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("Lean 3 not found")
                })
            })
        })
        .expect("a diagnostic saying Lean is missing");
    assert_eq!(n["params"]["diagnostics"][0]["source"], "prover");
    let shown = client
        .wait_notification(SECS, |n| {
            n["method"] == "window/showMessage"
                && n["params"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Lean 3 not found")
        })
        .expect("a message saying Lean is missing");
    assert_eq!(shown["params"]["type"], 1, "an error message: {shown}");

    // Completion: an empty answer, not an error.
    let items = client.call(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 2}}),
        SECS,
    );
    assert_eq!(items["items"], json!([]), "{items}");

    // "Prove with search" fails with the reason, as an error response.
    let prove = actions
        .iter()
        .find(|a| a["kind"] == "refactor.rewrite.prover.prove")
        .unwrap()
        .clone();
    let id = client.request("codeAction/resolve", prove);
    let r = client.response(id, SECS);
    let message = r["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("Lean 3 not found"), "{r}");

    let status = client.shutdown(SECS);
    assert!(status.success(), "{status:?}");
}
