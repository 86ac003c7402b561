//! A Lean file as a worker runs it: its body cut at its theorems.
//!
//! The worker's REPL serves from inside Lean's command parser, so a file's commands are run by
//! Lean itself, in order, exactly as `lean` compiles the file (namespaces, sections,
//! `variables`, notation, attributes, earlier definitions). At each theorem it captures the goal
//! as Lean states it there and checks the file's own proof. The file is the user's and is
//! trusted: its text is not screened (what a model writes still is).

use serde::{Deserialize, Serialize};

/// A file's body (what follows its imports), as segments in file order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeanFile {
    /// Identifies the text: two files with the same key are the same text under the same
    /// imports (a worker that has run part of one can go on with the other).
    pub key: String,
    pub segments: Vec<Segment>,
}

/// A stretch of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    /// Commands that are not theorems we report on (`namespace`, `variables`, `def`, …), given to
    /// Lean's command parser verbatim.
    Commands(SegmentText),
    /// One theorem, lemma or example.
    Theorem(TheoremSegment),
}

/// Text of the file and where it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentText {
    pub text: String,
    /// 1-based line of the text's first character in the file.
    pub line: u32,
    /// Commands that close every `section`/`namespace` still open after this segment (used
    /// when a worker leaves the file for another).
    pub closers: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TheoremSegment {
    /// The declaration as written, from its doc comment to the end of its proof.
    pub decl: SegmentText,
    /// The name as written, split at dots (empty for examples).
    pub name: Vec<String>,
    /// The text between the name and `:=` (binders, colon, statement).
    pub signature: String,
    /// The declaration with its proof replaced by `sorry`: run instead of `decl` when the real
    /// proof cannot be elaborated within the time limit, so the rest of the file still sees the
    /// theorem.
    pub fallback: String,
    pub example: bool,
}

impl Segment {
    pub fn text(&self) -> &SegmentText {
        match self {
            Segment::Commands(t) => t,
            Segment::Theorem(t) => &t.decl,
        }
    }
}

/// What Lean made of one theorem of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTheorem {
    /// The segment's index in [`LeanFile::segments`].
    pub segment: usize,
    /// The name Lean gave it (`int.even_xor_odd`); empty for examples and when the statement
    /// did not elaborate.
    pub full_name: String,
    /// The goals at the start of the proof, as Lean shows them.
    pub goals: Vec<String>,
    /// The statement did not elaborate: Lean's error. Nothing else is meaningful then.
    pub statement_error: Option<String>,
    /// The file's own proof: elaborated, kernel-checked, no `sorry`, standard axioms.
    pub verified: bool,
    pub errors: Vec<String>,
    pub axioms: Vec<String>,
    /// What Lean printed while running the declaration (errors and warnings, `#eval` output),
    /// with positions as `LINE:COL` in the file.
    pub messages: Vec<String>,
    /// The REPL's id for the captured theorem (valid in `worker`'s current process only).
    #[serde(skip)]
    pub(crate) id: u64,
    #[serde(skip)]
    pub(crate) worker: usize,
    #[serde(skip)]
    pub(crate) incarnation: u64,
}

/// Rewrites the positions of Lean's messages (`FILE:L:C: …`, relative to the text sent) to
/// positions in the user's file (`L:C: …` with `first_line` added). Lean counts columns from
/// 0; the prover's reports count them from 1, as editors and compilers do.
pub(crate) fn relocate_messages(messages: &[String], first_line: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Continuation lines of a message that is dropped are dropped with it.
    let mut dropping = false;
    for m in messages {
        if locate_message(m).is_some() {
            // The REPL's own stand-in for the goal (`prover_repl_captured_goal … := sorry`)
            // is not the user's business.
            dropping = m.contains("prover_repl_captured_goal");
        }
        if dropping {
            continue;
        }
        match locate_message(m) {
            Some((line, col, rest)) => {
                out.push(format!("{}:{}: {rest}", line + first_line - 1, col + 1));
            }
            None => match out.last_mut() {
                // Continuation lines of a multi-line message.
                Some(last) => {
                    last.push('\n');
                    last.push_str(m);
                }
                None => out.push(m.clone()),
            },
        }
    }
    out
}

/// `PATH.lean:L:C: rest` → (L, C, rest).
fn locate_message(m: &str) -> Option<(u32, u32, &str)> {
    let i = m.find(".lean:")?;
    let after = &m[i + ".lean:".len()..];
    let mut parts = after.splitn(3, ':');
    let line: u32 = parts.next()?.parse().ok()?;
    let col: u32 = parts.next()?.parse().ok()?;
    let rest = parts.next()?.trim_start();
    Some((line, col, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_relocated_into_the_file() {
        let msgs = vec![
            "/tmp/x/launch.lean:3:2: error: invalid apply tactic".to_string(),
            "state:".to_string(),
            "⊢ false".to_string(),
            "/tmp/x/launch.lean:1:0: warning: declaration uses sorry".to_string(),
            "/tmp/x/launch.lean:1:0: warning: declaration 'prover_repl_captured_goal' uses sorry"
                .to_string(),
        ];
        let out = relocate_messages(&msgs, 10);
        assert_eq!(
            out,
            vec![
                "12:3: error: invalid apply tactic\nstate:\n⊢ false".to_string(),
                "10:1: warning: declaration uses sorry".to_string(),
            ]
        );
    }
}
