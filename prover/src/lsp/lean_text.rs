//! A document's Lean text as the server reads it: parsed with `--header` applied, parsed
//! around a line when something further down does not parse yet, and parse errors as
//! diagnostics.

use std::path::Path;

use lsp_types::{Diagnostic, DiagnosticSeverity, Position, Range};
use problems::{Header, ParseError, ProblemFile};

use super::text::line_text;

/// Parses a document's text, with `--header` (`header`) applied.
pub fn parse(
    text: &str,
    path: Option<&Path>,
    header: Option<&Header>,
) -> Result<ProblemFile, ParseError> {
    // The editor shows why a command cannot be read (a theorem being written).
    let mut file = problems::parse_str(text, path)?.strict()?;
    if let Some(h) = header {
        crate::lean_opts::apply_header(h, &mut file);
    }
    Ok(file)
}

/// Parses a document for work at line `line0` (0-based). When the file does not parse
/// because of something below that line (a theorem being written further down), the text
/// is cut before the first declaration after the line and parsed again, so that the
/// theorems above still get suggestions.
pub fn parse_around(
    text: &str,
    path: Option<&Path>,
    header: Option<&Header>,
    line0: u32,
) -> Result<ProblemFile, ParseError> {
    let err = match parse(text, path, header) {
        Ok(file) => return Ok(file),
        Err(e) => e,
    };
    if err.line <= line0 as usize + 1 {
        return Err(err);
    }
    let Some(cut) = next_declaration(text, line0) else {
        return Err(err);
    };
    parse(&text[..cut], path, header).map_err(|_| err)
}

/// The byte offset of the first line after line `line0` (0-based) that starts a declaration
/// or command at its first column.
fn next_declaration(text: &str, line0: u32) -> Option<usize> {
    const STARTS: &[&str] = &[
        "theorem",
        "lemma",
        "example",
        "def",
        "@[",
        "/--",
        "private",
        "protected",
        "meta",
        "noncomputable",
        "instance",
        "section",
        "namespace",
        "open",
        "#",
        "variable",
        "universe",
        "local",
        "attribute",
        "inductive",
        "structure",
        "class",
    ];
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i > line0 as usize && STARTS.iter().any(|s| line.starts_with(s)) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// A parse error as a diagnostic at its position (a warning: Lean's own server reports Lean's
/// errors; this says why the prover cannot read the file).
pub fn parse_diagnostic(text: &str, e: &ParseError) -> Diagnostic {
    // ParseError columns count chars; LSP counts UTF-16 units.
    let line0 = e.line.saturating_sub(1) as u32;
    let line = line_text(text, line0);
    let character = line
        .chars()
        .take(e.col)
        .map(|c| c.len_utf16() as u32)
        .sum::<u32>();
    let start = Position::new(line0, character);
    let end = Position::new(
        line0,
        character.max(1) + if line.is_empty() { 0 } else { 1 },
    );
    Diagnostic {
        range: Range::new(start, end),
        severity: Some(DiagnosticSeverity::WARNING),
        source: Some("prover".into()),
        message: format!(
            "prover cannot read this file, so no tactic suggestions: {}",
            e.message
        ),
        ..Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_below_a_line_are_found_at_their_first_column() {
        let text =
            "theorem a : true :=\nbegin\n  trivial\nend\n\ntheorem b : true :=\nbegin\n  (\nend\n";
        let cut = next_declaration(text, 2).unwrap();
        assert_eq!(&text[cut..cut + 9], "theorem b");
        assert_eq!(next_declaration(text, 6), None);
    }

    #[test]
    fn parse_errors_point_at_their_line() {
        let text = "theorem t : true :=\nbegin\n  (trivial\nend\n";
        let e = problems::parse_str(text, None)
            .and_then(problems::ProblemFile::strict)
            .unwrap_err();
        let d = parse_diagnostic(text, &e);
        assert_eq!(d.range.start.line as usize, e.line - 1);
        assert!(d.message.contains(&e.message));
    }
}
