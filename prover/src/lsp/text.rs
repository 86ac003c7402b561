//! Open documents: their text, version, and the conversion between LSP positions (line and
//! UTF-16 code unit, as LSP counts by default) and byte offsets.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// One open document, as the client last sent it.
#[derive(Clone, Debug)]
pub struct Document {
    pub text: String,
    pub version: i32,
}

impl Document {
    pub fn new(text: String, version: i32) -> Self {
        Document { text, version }
    }

    /// Applies changes in order (full replacements or ranges, UTF-16 positions). Positions past
    /// a line's end or past the text are clamped, as clients expect.
    pub fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>, version: i32) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let start = offset_at(&self.text, range.start);
                    let end = offset_at(&self.text, range.end).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
            }
        }
        self.version = version;
    }
}

/// The byte offset of an LSP position in `text` (clamped to the line and the text).
pub fn offset_at(text: &str, pos: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= pos.character {
            return line_start + i;
        }
        units += c.len_utf16() as u32;
    }
    line_end
}

/// The LSP position of a byte offset (clamped to the text, and back to a char boundary).
pub fn position_at(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = text[line_start..offset]
        .chars()
        .map(|c| c.len_utf16() as u32)
        .sum();
    Position { line, character }
}

/// The LSP range of a byte range.
pub fn range_of(text: &str, start: usize, end: usize) -> Range {
    Range {
        start: position_at(text, start),
        end: position_at(text, end),
    }
}

/// The text of line `line` (0-based), without its newline; empty past the end.
pub fn line_text(text: &str, line: u32) -> &str {
    text.split('\n')
        .nth(line as usize)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or("")
}

/// The byte offset where line `line` (0-based) starts (the text's length past the end).
pub fn line_start(text: &str, line: u32) -> usize {
    offset_at(text, Position { line, character: 0 })
}

/// `text` with line `line` (0-based) emptied (its newline kept), so that line numbers stay.
pub fn blank_line(text: &str, line: u32) -> String {
    let start = line_start(text, line);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&text[end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn positions_count_utf16_units() {
        // `𝔸` is one char but two UTF-16 units; `ℕ` and `⊢` are one unit each.
        let text = "a ℕ\n𝔸 x\n⊢";
        assert_eq!(offset_at(text, pos(0, 2)), 2);
        assert_eq!(&text[offset_at(text, pos(0, 2))..][..3], "ℕ");
        let x = text.find('x').unwrap();
        assert_eq!(offset_at(text, pos(1, 3)), x);
        assert_eq!(position_at(text, x), pos(1, 3));
        assert_eq!(position_at(text, text.len()), pos(2, 1));
        // Clamped: past the line's end, past the last line.
        assert_eq!(offset_at(text, pos(0, 99)), text.find('\n').unwrap());
        assert_eq!(offset_at(text, pos(9, 0)), text.len());
        // Inside a char: back to its start.
        assert_eq!(position_at(text, 3), pos(0, 2));
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut doc = Document::new("begin\n  split,\nend".into(), 1);
        doc.apply(
            vec![
                TextDocumentContentChangeEvent {
                    range: Some(Range {
                        start: pos(1, 8),
                        end: pos(1, 8),
                    }),
                    range_length: None,
                    text: "\n  exact h,".into(),
                },
                TextDocumentContentChangeEvent {
                    range: Some(Range {
                        start: pos(1, 2),
                        end: pos(1, 7),
                    }),
                    range_length: None,
                    text: "constructor".into(),
                },
            ],
            2,
        );
        assert_eq!(doc.text, "begin\n  constructor,\n  exact h,\nend");
        assert_eq!(doc.version, 2);
        doc.apply(
            vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "new".into(),
            }],
            3,
        );
        assert_eq!(doc.text, "new");
    }

    #[test]
    fn lines() {
        let text = "a\r\n  bc\nd";
        assert_eq!(line_text(text, 1), "  bc");
        assert_eq!(line_text(text, 0), "a");
        assert_eq!(line_text(text, 7), "");
        assert_eq!(blank_line(text, 1), "a\r\n\nd");
        assert_eq!(blank_line(text, 2), "a\r\n  bc\n");
        assert_eq!(range_of(text, 5, 7), Range::new(pos(1, 2), pos(1, 4)));
    }
}
