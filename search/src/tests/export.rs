use super::{config, search};
use crate::export::{Newline, escape, file_stem, find_program};
use crate::testing::{ToyEnv, ToyPolicy};
use crate::{EdgeOutcome, TreeExport, tree_to_dot, tree_to_export, write_tree_files};

/// A proof with a tactic full of DOT-special characters, a failed tactic and a duplicate.
fn world() -> (ToyEnv, ToyPolicy) {
    let env = ToyEnv::from_table(
        "h : \"x\"\n⊢ p",
        &[
            ("h : \"x\"\n⊢ p", r#"simp [h] at ⊢ "q\z""#, "⊢ q"),
            ("h : \"x\"\n⊢ p", "skip", "h : \"x\"\n⊢ p"),
            ("⊢ q", "{ norm_num,\n  ring }", ""),
        ],
    );
    let policy = ToyPolicy::from_table(&[
        (
            "h : \"x\"\n⊢ p",
            &[
                ("skip", -0.1),
                ("linarith", -0.2),
                (r#"simp [h] at ⊢ "q\z""#, -0.3),
            ],
        ),
        ("⊢ q", &[("{ norm_num,\n  ring }", -0.1)]),
    ]);
    (env, policy)
}

/// Checks that every double-quoted string in `dot` is closed and holds no raw line break,
/// and that braces and brackets outside strings balance.
fn assert_well_formed_dot(dot: &str) {
    let (mut in_string, mut escaped, mut depth) = (false, false, 0i32);
    for c in dot.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                '\n' => panic!("line break inside a DOT string:\n{dot}"),
                _ => {}
            }
        } else {
            match c {
                '"' => in_string = true,
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "unbalanced:\n{dot}");
        }
    }
    assert!(!in_string && depth == 0, "unbalanced:\n{dot}");
}

#[tokio::test]
async fn json_export_lists_states_and_every_tactic() {
    let (env, policy) = world();
    let outcome = search(config(), &env, &policy).await;
    assert!(outcome.result.success(), "{:?}", outcome.result);
    let tree = outcome.tree.unwrap();
    let export = tree_to_export(&tree, "thm");
    assert_eq!(export.nodes.len(), 3);
    assert_eq!(export.edges.len(), 4);
    let failed: Vec<_> = export
        .edges
        .iter()
        .filter(|e| e.outcome == EdgeOutcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].tactic, "linarith");
    assert_eq!(failed[0].target, None);
    let duplicate = export
        .edges
        .iter()
        .find(|e| e.outcome == EdgeOutcome::Duplicate)
        .unwrap();
    assert_eq!(
        (duplicate.source, duplicate.target),
        (export.root, Some(export.root))
    );
    let path: Vec<_> = export
        .proof_path
        .iter()
        .map(|&id| {
            export
                .edges
                .iter()
                .find(|e| e.id == id)
                .unwrap()
                .tactic
                .as_str()
        })
        .collect();
    assert_eq!(path, [r#"simp [h] at ⊢ "q\z""#, "{ norm_num,\n  ring }"]);
    let json = serde_json::to_string(&export).unwrap();
    let back: TreeExport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, export);
}

#[tokio::test]
async fn dot_export_highlights_the_proof_and_dashes_failures() {
    let (env, policy) = world();
    let outcome = search(config(), &env, &policy).await;
    let tree = outcome.tree.unwrap();
    let dot = tree_to_dot(&tree, "thm \"odd\" name");
    assert_well_formed_dot(&dot);
    assert!(
        dot.starts_with("digraph \"thm \\\"odd\\\" name\" {"),
        "{dot}"
    );
    // The proof's two edges and three states are bold.
    assert_eq!(dot.matches("style=bold").count(), 2, "{dot}");
    assert_eq!(dot.matches("penwidth=3").count(), 2 + 3, "{dot}");
    assert_eq!(dot.matches("style=dashed").count(), 1, "{dot}");
    assert_eq!(dot.matches("style=dotted").count(), 1, "{dot}");
    assert!(
        dot.contains(r#"label="simp [h] at ⊢ \"q\\z\"\l-0.300\l""#),
        "{dot}"
    );
    assert!(dot.contains(r#"{ norm_num,\l  ring }\l"#), "{dot}");
    assert!(dot.contains(r#"h : \"x\"\l⊢ p\l"#), "{dot}");
}

#[test]
fn dot_strings_are_escaped() {
    assert_eq!(
        escape("a\\b\"c\"\nd\r\te", Newline::Left),
        "a\\\\b\\\"c\\\"\\ld e\\l"
    );
    assert_eq!(escape("x\ny", Newline::Centered), "x\\ny");
    assert_eq!(escape("", Newline::Left), "");
}

#[test]
fn file_names_are_safe() {
    assert_eq!(file_stem("mathd_algebra_478"), "mathd_algebra_478");
    assert_eq!(file_stem("nat.succ_le'"), "nat.succ_le'");
    assert_eq!(file_stem("../a/b c"), "_._a_b_c");
    assert_eq!(file_stem(""), "theorem");
}

#[tokio::test]
async fn tree_files_are_written() {
    let (env, policy) = world();
    let outcome = search(config(), &env, &policy).await;
    let tree = outcome.tree.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trees");
    let files = write_tree_files(&tree, "amc12/p1", &out).unwrap();
    assert_eq!(files.json, out.join("amc12_p1.json"));
    assert_eq!(files.dot, out.join("amc12_p1.dot"));
    let json: TreeExport = serde_json::from_slice(&std::fs::read(&files.json).unwrap()).unwrap();
    assert_eq!(json, tree_to_export(&tree, "amc12/p1"));
    assert_eq!(
        std::fs::read_to_string(&files.dot).unwrap(),
        tree_to_dot(&tree, "amc12/p1")
    );
    match find_program("dot") {
        Some(_) => {
            let svg = std::fs::read_to_string(files.svg.expect("dot is installed")).unwrap();
            assert!(svg.contains("<svg"), "{svg}");
        }
        None => assert_eq!(files.svg, None),
    }
}
