//! Parses MiniF2F's `valid.lean` from the shared checkout (skipped when it is not there).

use problems::{Proof, Theorem, load_file, shared_minif2f_valid, split_statement};

fn load() -> Option<(String, Vec<Theorem>)> {
    let Some(path) = shared_minif2f_valid() else {
        println!("SKIPPED: ../shared/minif2f/valid.lean not found");
        return None;
    };
    let text = std::fs::read_to_string(&path).expect("readable valid.lean");
    let file = load_file(&path).expect("valid.lean parses");
    assert_eq!(file.path.as_deref(), Some(path.as_path()));
    assert_eq!(file.header.imports, ["minif2f_import"]);
    assert_eq!(
        file.header.context,
        [
            "open_locale big_operators",
            "open_locale real",
            "open_locale nat",
            "open_locale topological_space"
        ]
    );
    assert!(file.skipped.is_empty(), "{:?}", file.skipped);
    Some((text, file.theorems))
}

fn find<'a>(theorems: &'a [Theorem], name: &str) -> &'a Theorem {
    theorems
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not found"))
}

#[test]
fn counts_theorems_and_proofs() {
    let Some((text, theorems)) = load() else {
        return;
    };
    assert_eq!(theorems.len(), 244);
    assert_eq!(theorems.iter().filter(|t| t.has_proof()).count(), 82);

    // Names in file order agree with a plain line scan of the text.
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("theorem "))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .collect();
    let parsed: Vec<&str> = theorems.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(parsed, names);

    for t in &theorems {
        // Spans point at the declaration and its proof.
        assert!(
            t.span
                .text(&text)
                .starts_with(&format!("theorem {}", t.name))
        );
        let proof_span = t.proof_span.expect("proof span");
        assert_eq!(proof_span.text(&text), t.proof.text());
        assert!(text[t.span.start..proof_span.start].contains(&t.statement));
        assert_eq!(t.context.len(), 4);
        // Every MiniF2F statement has binders-or-nothing then `: goal`.
        let (_, goal) = split_statement(&t.statement).expect("statement has a goal");
        assert!(!goal.is_empty(), "{}", t.name);
        match &t.proof {
            Proof::Tactic { steps, .. } => {
                assert!(!steps.is_empty(), "{}", t.name);
                for s in steps {
                    assert_eq!(s.span.text(&text), s.text);
                    assert!(!s.text.ends_with(','), "{}: {}", t.name, s.text);
                }
            }
            Proof::Sorry(p) => assert!(p.starts_with("begin") && p.ends_with("end")),
            other => panic!("{}: unexpected proof form {other:?}", t.name),
        }
    }
}

#[test]
fn spot_checks() {
    let Some((text, theorems)) = load() else {
        return;
    };

    // The first theorem of the file, its line, and its statement, each read independently of
    // the parser from the text (the problems stay in ../shared, not in this test).
    let first = &theorems[0];
    let first_decl = text
        .lines()
        .find(|l| l.starts_with("theorem "))
        .expect("a theorem line");
    assert_eq!(first_decl, format!("theorem {}", first.name));
    assert!(!first.has_proof());
    assert_eq!(first.span.line, line_of(&text, first_decl));
    assert_eq!(first.statement, statement_in_text(&text, &first.name));
    // Its binders end at the `) :` that ends a line; the goal is what follows.
    let (binders, goal) = split_statement(&first.statement).unwrap();
    let colon = first.statement.find(") :\n").expect("binders end a line");
    assert_eq!(binders, first.statement[..colon + 1]);
    assert_eq!(goal, first.statement[colon + 3..].trim());
    assert!(binders.starts_with('(') && binders.lines().count() == 2);

    // A one-step proof, and its declaration rebuilt from the parts.
    let t = theorems
        .iter()
        .find(|t| t.has_proof() && step_texts(t) == ["ring_nf"])
        .expect("a one-step ring_nf proof");
    assert_eq!(t.statement, statement_in_text(&text, &t.name));
    assert!(!t.contains_sorry);
    assert_eq!(
        t.declaration(),
        format!(
            "theorem {} {} :=\nbegin\n  ring_nf,\nend",
            t.name, t.statement
        )
    );

    // Bracketed steps, and a calc block whose `by {…}` justifications contain commas.
    let t = find(&theorems, "amc12_2001_p9");
    let steps = step_texts(t);
    assert_eq!(steps.len(), 4);
    assert_eq!(
        steps[..3],
        [
            "specialize h₀ 500 _ (6/5) _",
            "{ linarith }",
            "{ linarith }"
        ]
    );
    assert!(steps[3].starts_with("calc f 600 = f (500 * (6/5)) : by {congr, norm_num}"));
    assert!(steps[3].ends_with("... = 5 / 2 : by {norm_num}"));
    let calc_line = line_of(&text, "  calc f 600 = f (500");
    assert_eq!(t.steps()[3].span.line, calc_line);
    assert_eq!(t.steps()[3].span.end_line, calc_line + 3);
    assert_eq!(t.steps_before_line(calc_line).0.len(), 3);
    assert_eq!(t.steps_before_line(calc_line + 4).0.len(), 4);

    // Commented-out tactics around a lone `sorry` still make a sorry-only proof.
    let t = find(&theorems, "mathd_numbertheory_211");
    assert!(!t.has_proof() && t.contains_sorry);
    assert!(matches!(t.proof, Proof::Sorry(_)));

    // `λ _, 1` inside a step does not split it.
    let t = find(&theorems, "mathd_numbertheory_37");
    let steps = step_texts(t);
    assert_eq!(steps[0], "let e : empty → fin 1 → ℕ := λ _, 1");
    assert_eq!(steps.len(), 8);
    assert_eq!(steps[7], "norm_num");
}

fn step_texts(t: &Theorem) -> Vec<&str> {
    t.steps().iter().map(|s| s.text.as_str()).collect()
}

/// The text between `theorem NAME` and the next `:=`, trimmed.
fn statement_in_text(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("theorem {name}\n"))
        .unwrap_or_else(|| panic!("theorem {name} in the text"))
        + "theorem ".len()
        + name.len();
    let end = start + text[start..].find(":=").expect(":= after the statement");
    text[start..end].trim().to_string()
}

/// 1-based line of the first line starting with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .expect("prefix present")
        + 1
}
