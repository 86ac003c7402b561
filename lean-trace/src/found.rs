//! Proofs the search found, as training data: spliced into their file in place of the
//! file's own proofs, the file is traced like any other, so a found proof gives the same
//! records as a proof of mathlib (expert iteration trains on them).

use std::collections::HashMap;

use problems::ProblemFile;

/// `file`'s text with the proofs of the named theorems replaced (`full name → proof text`,
/// e.g. `begin … end`), and the names that were spliced in. Theorems without a proof span are
/// left as they are.
pub fn splice_proofs(
    file: &ProblemFile,
    proofs: &HashMap<String, String>,
) -> (String, Vec<String>) {
    let mut edits: Vec<(usize, usize, &str, &str)> = file
        .theorems
        .iter()
        .filter_map(|t| {
            let proof = proofs.get(&t.full_name).or_else(|| proofs.get(&t.name))?;
            let span = t.proof_span?;
            Some((span.start, span.end, proof.as_str(), t.full_name.as_str()))
        })
        .collect();
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(file.source.len());
    let mut at = 0;
    let mut names = Vec::new();
    for (start, end, proof, name) in edits {
        if start < at || end > file.source.len() {
            continue;
        }
        out.push_str(&file.source[at..start]);
        out.push_str(proof);
        at = end;
        names.push(name.to_string());
    }
    out.push_str(&file.source[at..]);
    (out, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_proofs_replace_the_files_own() {
        let src = "import tactic\n\ntheorem a (x : ℕ) : x = x :=\nbegin\n  sorry\nend\n\ntheorem b : 1 = 1 := rfl\n\ntheorem c : 2 = 2 := sorry\n";
        let file = problems::parse_str(src, None).unwrap();
        let proofs = HashMap::from([
            ("a".to_string(), "begin\n  refl\nend".to_string()),
            ("c".to_string(), "by norm_num".to_string()),
        ]);
        let (text, names) = splice_proofs(&file, &proofs);
        assert_eq!(names, ["a", "c"]);
        assert!(
            text.contains("theorem a (x : ℕ) : x = x :=\nbegin\n  refl\nend\n"),
            "{text}"
        );
        assert!(text.contains("theorem b : 1 = 1 := rfl"), "{text}");
        assert!(
            text.contains("theorem c : 2 = 2 := by norm_num\n"),
            "{text}"
        );
        let reparsed = problems::parse_str(&text, None).unwrap();
        assert_eq!(reparsed.theorems.len(), 3);
    }
}
