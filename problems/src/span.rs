//! Source positions: byte ranges plus the line/column form editors and error messages want.

use serde::{Deserialize, Serialize};

/// A range of the source text.
///
/// `start`/`end` are byte offsets (`end` exclusive). `line`/`end_line` are 1-based, `col`/`end_col`
/// 0-based and counted in `char`s, so they match what Lean and LSP clients (for BMP text) report.
/// `end_line`/`end_col` locate the exclusive end offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

impl Span {
    /// The text this span covers in `source` (the text it was computed from).
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// Maps byte offsets to line/column positions.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// 1-based line and 0-based char column of a byte offset (clamped to the text).
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let line_start = self.line_starts[line_idx];
        let col = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        (line_idx + 1, col)
    }

    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        let (line, col) = self.position(start);
        let (end_line, end_col) = self.position(end);
        Span {
            start,
            end,
            line,
            col,
            end_line,
            end_col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_chars_not_bytes() {
        let text = "ab\nh₀ x\n\nz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), (1, 0));
        assert_eq!(idx.position(2), (1, 2));
        assert_eq!(idx.position(3), (2, 0));
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(x), (2, 3)); // `h`, `₀`, ` ` before it
        assert_eq!(idx.position(text.len()), (4, 1));
        let span = idx.span(3, x + 1);
        assert_eq!(
            (span.line, span.col, span.end_line, span.end_col),
            (2, 0, 2, 4)
        );
        assert_eq!(span.text(text), "h₀ x");
    }
}
