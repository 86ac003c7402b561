//! Where a cursor is in a parsed file (which theorem, whether between the top-level steps of its
//! `begin … end` block), and the text edits that put a tactic there.

use lsp_types::TextEdit;
use problems::{ProblemFile, ProofStep, Theorem};

use super::text::{line_start, line_text, range_of};

/// Where a cursor is, for suggestions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Between the top-level steps of theorem `index`'s `begin … end` block, on `line`
    /// (1-based): suggestions are for the state before the steps that start on this line.
    Steps { index: usize, line: usize },
    /// Inside a top-level step that spans several lines (a `{ … }` block, a long `simp only`):
    /// the state there is not one the top-level steps reach.
    InsideStep {
        index: usize,
        line: usize,
        step_line: usize,
    },
    /// In theorem `index` but not inside a `begin … end` block.
    Theorem { index: usize },
    /// In no theorem.
    Outside,
}

impl Place {
    pub fn theorem(&self) -> Option<usize> {
        match *self {
            Place::Steps { index, .. }
            | Place::InsideStep { index, .. }
            | Place::Theorem { index } => Some(index),
            Place::Outside => None,
        }
    }
}

/// Where the byte `offset` of `text` (the text `file` was parsed from) is.
pub fn place(file: &ProblemFile, text: &str, offset: usize) -> Place {
    let Some(index) = file
        .theorems
        .iter()
        .position(|t| t.span.start <= offset && offset <= t.span.end)
    else {
        return Place::Outside;
    };
    let t = &file.theorems[index];
    let Some((inner_start, inner_end)) = block_interior(t, text) else {
        return Place::Theorem { index };
    };
    if offset < inner_start || offset > inner_end {
        return Place::Theorem { index };
    }
    let line = text[..offset].matches('\n').count() + 1;
    // Inside `{ … }` blocks, the steps of the innermost one are the ones the cursor is between.
    if let Some(step) = t
        .block_steps_at(line)
        .iter()
        .find(|s| s.span.line < line && line <= s.span.end_line)
    {
        return Place::InsideStep {
            index,
            line,
            step_line: step.span.line,
        };
    }
    Place::Steps { index, line }
}

/// The byte range strictly between `begin` and `end` of a theorem's tactic block.
fn block_interior(t: &Theorem, text: &str) -> Option<(usize, usize)> {
    let span = t.proof_span?;
    let proof = span.text(text);
    let lead = proof.len() - proof.trim_start().len();
    let body = proof.trim();
    if !body.starts_with("begin") || !body.ends_with("end") || body.len() < 8 {
        return None;
    }
    let start = span.start + lead + "begin".len();
    let end = span.start + lead + body.len() - "end".len();
    Some((start, end))
}

/// Whether the text before the cursor on its line is indentation and at most one word being
/// typed: where a tactic starts.
pub fn at_tactic_start(line_before_cursor: &str) -> bool {
    let word = line_before_cursor.trim_start();
    !word.contains(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
}

/// The steps of theorem `t` around cursor line `line` (1-based): the last one ending above it
/// and whether one starts on or below it.
fn neighbours(t: &Theorem, line: usize) -> (Option<&ProofStep>, bool) {
    let (before, more) = t.steps_before_line(line);
    (before.last(), more)
}

/// An edit adding the comma that must separate the step ending above `upto` from what follows,
/// when there is none yet.
fn comma_after(text: &str, previous: Option<&ProofStep>, upto: usize) -> Option<TextEdit> {
    let p = previous?;
    let between = text.get(p.span.end..upto)?;
    if between.trim_start().starts_with(',') {
        return None;
    }
    Some(TextEdit {
        range: range_of(text, p.span.end, p.span.end),
        new_text: ",".into(),
    })
}

/// The indentation tactics of theorem `t` are written with.
fn indentation(t: &Theorem, text: &str, line: usize) -> String {
    t.block_steps_at(line)
        .first()
        .map(|s| {
            let first_line = line_text(text, (s.span.line - 1) as u32);
            let indent = &first_line[..first_line.len() - first_line.trim_start().len()];
            if indent.chars().count() == s.span.col {
                indent.to_string()
            } else {
                // The block's first step follows its `{` on the same line.
                " ".repeat(s.span.col)
            }
        })
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "  ".into())
}

/// The edits that put `tactic` on cursor line `line` (1-based) of theorem `t`'s block: on a
/// blank line, the tactic replaces it; otherwise it goes on a new line above. Commas are added
/// where the steps around it need them.
pub fn insert_tactic(t: &Theorem, text: &str, line: usize, tactic: &str) -> Vec<TextEdit> {
    let line0 = (line - 1) as u32;
    let current = line_text(text, line0);
    let start = line_start(text, line0);
    let (previous, more) = neighbours(t, line);
    let mut edits: Vec<TextEdit> = comma_after(text, previous, start).into_iter().collect();
    let sep = if more { "," } else { "" };
    let tactic = indent_continuations(tactic, &indentation(t, text, line));
    if current.trim().is_empty() {
        edits.push(TextEdit {
            range: range_of(text, start, start + current.len()),
            new_text: format!("{}{tactic}{sep}", indentation(t, text, line)),
        });
    } else {
        // Above a non-blank line (a step, a comment, `end`): keep that line's indentation
        // unless it is the block's `end`.
        let own = &current[..current.len() - current.trim_start().len()];
        let indent = if current.trim_start().starts_with("end") || own.is_empty() {
            indentation(t, text, line)
        } else {
            own.to_string()
        };
        edits.push(TextEdit {
            range: range_of(text, start, start),
            new_text: format!("{indent}{tactic}{sep}\n"),
        });
    }
    edits
}

/// A completion's edits: `tactic` replaces the word typed so far (from the end of the line's
/// indentation to the cursor), with a comma after it when steps follow, and the comma the step
/// above needs. `t` is the theorem as parsed with the cursor line blanked.
pub fn complete_tactic(
    t: &Theorem,
    text: &str,
    line: usize,
    cursor: usize,
    tactic: &str,
) -> (TextEdit, Vec<TextEdit>) {
    let line0 = (line - 1) as u32;
    let start = line_start(text, line0);
    let current = line_text(text, line0);
    let word_start = start + (current.len() - current.trim_start().len());
    let word_start = word_start.min(cursor);
    let (previous, more) = neighbours(t, line);
    let sep = if more { "," } else { "" };
    let main = TextEdit {
        range: range_of(text, word_start, cursor),
        new_text: format!(
            "{}{sep}",
            indent_continuations(tactic, &indentation(t, text, line))
        ),
    };
    (
        main,
        comma_after(text, previous, start).into_iter().collect(),
    )
}

/// A multi-line tactic with its later lines indented like the step it becomes.
fn indent_continuations(tactic: &str, indent: &str) -> String {
    let mut lines = tactic.trim().lines();
    let mut out = lines.next().unwrap_or("").to_string();
    for l in lines {
        out.push('\n');
        out.push_str(indent);
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "import data.nat.basic\n\
        theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q :=\n\
        begin\n  split,\n\n  { exact hp,\n    },\n  exact hq\nend\n\n\
        theorem u : true := trivial\n";

    fn at(line: u32, character: u32) -> usize {
        super::super::text::offset_at(TEXT, lsp_types::Position { line, character })
    }

    fn apply(text: &str, mut edits: Vec<TextEdit>) -> String {
        edits
            .sort_by_key(|e| std::cmp::Reverse(super::super::text::offset_at(text, e.range.start)));
        let mut out = text.to_string();
        for e in edits {
            let s = super::super::text::offset_at(&out, e.range.start);
            let end = super::super::text::offset_at(&out, e.range.end);
            out.replace_range(s..end, &e.new_text);
        }
        out
    }

    #[test]
    fn places() {
        let file = problems::parse_str(TEXT, None).unwrap();
        assert_eq!(place(&file, TEXT, at(0, 3)), Place::Outside);
        assert_eq!(place(&file, TEXT, at(1, 5)), Place::Theorem { index: 0 });
        assert_eq!(place(&file, TEXT, at(2, 2)), Place::Theorem { index: 0 });
        assert_eq!(
            place(&file, TEXT, at(4, 0)),
            Place::Steps { index: 0, line: 5 }
        );
        assert_eq!(
            place(&file, TEXT, at(3, 0)),
            Place::Steps { index: 0, line: 4 }
        );
        // Inside the `{ … }` block: between its steps, which suggestions run into.
        assert_eq!(
            place(&file, TEXT, at(6, 4)),
            Place::Steps { index: 0, line: 7 }
        );
        let t = &file.theorems[0];
        assert_eq!(
            apply(TEXT, insert_tactic(t, TEXT, 7, "exact hq")),
            TEXT.replace("    },", "    exact hq\n    },")
        );
        assert_eq!(
            place(&file, TEXT, at(8, 0)),
            Place::Steps { index: 0, line: 9 }
        );
        assert_eq!(place(&file, TEXT, at(8, 3)), Place::Theorem { index: 0 });
        assert_eq!(place(&file, TEXT, at(10, 20)), Place::Theorem { index: 1 });
    }

    #[test]
    fn inserting_on_a_blank_line_between_steps() {
        let file = problems::parse_str(TEXT, None).unwrap();
        let t = &file.theorems[0];
        let out = apply(TEXT, insert_tactic(t, TEXT, 5, "simp"));
        assert!(out.contains("  split,\n  simp,\n  { exact hp"), "{out}");
    }

    #[test]
    fn inserting_before_end_adds_the_missing_comma() {
        let file = problems::parse_str(TEXT, None).unwrap();
        let t = &file.theorems[0];
        let out = apply(TEXT, insert_tactic(t, TEXT, 9, "refl"));
        assert!(out.contains("  exact hq,\n  refl\nend"), "{out}");
        // Above a step: a new line, comma after.
        let out = apply(TEXT, insert_tactic(t, TEXT, 4, "intro x"));
        assert!(out.contains("begin\n  intro x,\n  split,"), "{out}");
    }

    #[test]
    fn completion_replaces_the_typed_word() {
        let text = "theorem t (p : Prop) (hp : p) : p ∧ p :=\nbegin\n  split\n  ex\nend\n";
        let blanked = super::super::text::blank_line(text, 3);
        let file = problems::parse_str(&blanked, None).unwrap();
        let t = &file.theorems[0];
        let cursor = text.find("ex\n").unwrap() + 2;
        let (main, extra) = complete_tactic(t, text, 4, cursor, "exact hp");
        let mut edits = extra;
        edits.push(main);
        let out = apply(text, edits);
        assert_eq!(
            out,
            "theorem t (p : Prop) (hp : p) : p ∧ p :=\nbegin\n  split,\n  exact hp\nend\n"
        );
    }

    #[test]
    fn tactic_starts() {
        assert!(at_tactic_start("  "));
        assert!(at_tactic_start("    sim"));
        assert!(!at_tactic_start("  rw h"));
        assert!(!at_tactic_start("  split,"));
    }
}
