//! Writing Lean 3 text: the proof a list of tactics makes.

/// Assembles tactics into a Lean 3 tactic block, `begin\n  t1,\n  t2\nend`. Lines of
/// multi-line tactics are indented alike, so nested `{ … }` blocks stay readable.
pub fn tactic_block<S: AsRef<str>>(tactics: &[S]) -> String {
    let mut out = String::from("begin\n");
    for (i, tactic) in tactics.iter().enumerate() {
        for (j, line) in tactic.as_ref().trim().lines().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line.trim_end());
        }
        if i + 1 < tactics.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push_str("end");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactic_block_joins_with_commas_and_indents() {
        assert_eq!(tactic_block::<&str>(&[]), "begin\nend");
        assert_eq!(tactic_block(&["simp"]), "begin\n  simp\nend");
        assert_eq!(
            tactic_block(&["intro x", " norm_num [foo] at h ⊢ "]),
            "begin\n  intro x,\n  norm_num [foo] at h ⊢\nend"
        );
        assert_eq!(
            tactic_block(&["{ simp,\n  ring }", "linarith"]),
            "begin\n  { simp,\n    ring },\n  linarith\nend"
        );
    }
}
