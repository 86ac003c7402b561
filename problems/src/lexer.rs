//! A Lean 3 lexer, just precise enough to find structure: identifiers (Lean's own character
//! classes, so `h₀`, `α`, `ℕ`, `nat.succ_le_iff` and `«weird name»` are single tokens), numbers,
//! string and char literals, comments (nested block comments, doc comments) and symbols.
//! It never interprets notation; multi-character symbols are only kept together where the
//! structure depends on them (`:=`, `::`, `...`).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Ident,
    Number,
    String,
    Char,
    Symbol,
    /// `-- …` or `/- … -/`.
    Comment,
    /// `/-- … -/`, documentation of the next declaration.
    DocComment,
    /// `/-! … -/`, module documentation.
    ModDoc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte range in the source.
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    pub fn is_comment(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::Comment | TokenKind::DocComment | TokenKind::ModDoc
        )
    }
}

/// A lexing failure: what went wrong and the byte offset where the offending token starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

const ID_BEGIN_ESCAPE: char = '«';
const ID_END_ESCAPE: char = '»';

/// Lean 3's `is_letter_like_unicode` (library/util/name.cpp): Greek except λ, Π and Σ (those are
/// binders), Coptic, polytonic Greek, the letter-like block (ℕ, ℤ, ℝ …) and mathematical letters.
fn is_letter_like(c: char) -> bool {
    let u = c as u32;
    (0x3b1..=0x3c9).contains(&u) && u != 0x3bb
        || (0x391..=0x3a9).contains(&u) && u != 0x3a0 && u != 0x3a3
        || (0x3ca..=0x3fb).contains(&u)
        || (0x1f00..=0x1ffe).contains(&u)
        || (0x2100..=0x214f).contains(&u)
        || (0x1d49c..=0x1d59f).contains(&u)
}

/// Lean 3's `is_sub_script_alnum_unicode`: ⁿ, ₀…₉, ₐ…ₜ, ᵢ…ᵪ.
fn is_subscript(c: char) -> bool {
    let u = c as u32;
    (0x207f..=0x2089).contains(&u)
        || (0x2090..=0x209c).contains(&u)
        || (0x1d62..=0x1d6a).contains(&u)
}

/// Whether `c` may start a name part (Lean 3's `is_id_first`).
pub fn is_id_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ID_BEGIN_ESCAPE || is_letter_like(c)
}

/// Whether `c` may continue a name part (Lean 3's `is_id_rest`).
pub fn is_id_rest(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '\'' || is_letter_like(c) || is_subscript(c)
}

/// Multi-character symbols the parser needs as one token, longest first.
const MULTI_SYMBOLS: &[&str] = &["...", ":=", "::", ".."];

/// Splits `src` into tokens (comments included, whitespace dropped).
pub fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {
    Lexer { src, pos: 0 }.run()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn run(mut self) -> Result<Vec<Token>, LexError> {
        let mut tokens = Vec::new();
        while let Some(c) = self.peek() {
            // A byte-order mark is not text.
            if c.is_whitespace() || c == '\u{feff}' {
                self.bump();
                continue;
            }
            let start = self.pos;
            let kind = self.token(c)?;
            tokens.push(Token {
                kind,
                start,
                end: self.pos,
            });
        }
        Ok(tokens)
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> LexError {
        LexError {
            offset,
            message: message.into(),
        }
    }

    fn token(&mut self, c: char) -> Result<TokenKind, LexError> {
        let start = self.pos;
        let rest = self.rest();
        if rest.starts_with("--") {
            let len = rest.find('\n').unwrap_or(rest.len());
            self.pos += len;
            return Ok(TokenKind::Comment);
        }
        if rest.starts_with("/-") {
            let kind = if rest.starts_with("/--") && !rest.starts_with("/--/") {
                TokenKind::DocComment
            } else if rest.starts_with("/-!") {
                TokenKind::ModDoc
            } else {
                TokenKind::Comment
            };
            self.pos += 2;
            self.block_comment(start)?;
            return Ok(kind);
        }
        if c == '"' {
            self.string(start)?;
            return Ok(TokenKind::String);
        }
        if c == '\'' && self.char_literal() {
            return Ok(TokenKind::Char);
        }
        if c.is_ascii_digit() {
            self.number();
            return Ok(TokenKind::Number);
        }
        if is_id_first(c) {
            self.ident()?;
            return Ok(TokenKind::Ident);
        }
        if let Some(sym) = MULTI_SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            self.pos += sym.len();
        } else {
            self.bump();
        }
        Ok(TokenKind::Symbol)
    }

    /// After the opening `/-`: runs to the matching `-/`, counting nested `/-`.
    fn block_comment(&mut self, start: usize) -> Result<(), LexError> {
        let mut nesting = 1usize;
        loop {
            let rest = self.rest();
            if rest.starts_with("/-") {
                nesting += 1;
                self.pos += 2;
            } else if rest.starts_with("-/") {
                nesting -= 1;
                self.pos += 2;
                if nesting == 0 {
                    return Ok(());
                }
            } else if self.bump().is_none() {
                return Err(self.error(start, "unterminated comment (missing `-/`)"));
            }
        }
    }

    fn string(&mut self, start: usize) -> Result<(), LexError> {
        self.bump(); // opening quote
        loop {
            match self.bump() {
                Some('"') => return Ok(()),
                Some('\\') => {
                    self.bump();
                }
                Some(_) => {}
                None => return Err(self.error(start, "unterminated string literal")),
            }
        }
    }

    /// A char literal `'x'` or `'\n'`; anything else leaves `'` to be lexed as a symbol
    /// (as in `Σ' x, …`).
    fn char_literal(&mut self) -> bool {
        let len = match (self.peek_nth(1), self.peek_nth(2), self.peek_nth(3)) {
            (Some('\\'), Some(_), Some('\'')) => 4,
            (Some(c), Some('\''), _) if c != '\\' && c != '\n' => 3,
            _ => {
                // Longer escapes (`'\x41'`, `'\u03bb'`): accept up to the closing quote on this line.
                if self.peek_nth(1) != Some('\\') {
                    return false;
                }
                let body = &self.rest()[1..];
                match body.find(['\'', '\n']) {
                    Some(i) if body[i..].starts_with('\'') && i <= 6 => {
                        self.pos += i + 2;
                        return true;
                    }
                    _ => return false,
                }
            }
        };
        for _ in 0..len {
            self.bump();
        }
        true
    }

    fn number(&mut self) {
        self.bump();
        if matches!(self.peek(), Some('b' | 'B' | 'o' | 'O' | 'x' | 'X'))
            && self.peek_nth(1).is_some_and(|c| c.is_ascii_hexdigit())
        {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.bump();
            }
            return;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') && self.peek_nth(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
    }

    /// A (possibly dotted, possibly «escaped») identifier.
    fn ident(&mut self) -> Result<(), LexError> {
        loop {
            // One name part.
            while let Some(c) = self.peek() {
                if c == ID_BEGIN_ESCAPE {
                    let open = self.pos;
                    self.bump();
                    loop {
                        match self.bump() {
                            Some(ID_END_ESCAPE) => break,
                            Some('\n') | None => {
                                return Err(self.error(open, "unterminated `«` identifier escape"));
                            }
                            Some(_) => {}
                        }
                    }
                } else if is_id_rest(c) {
                    self.bump();
                } else {
                    break;
                }
            }
            // Continue through `.` only when another name part follows.
            if self.peek() == Some('.') && self.peek_nth(1).is_some_and(is_id_first) {
                self.bump();
            } else {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Vec<(TokenKind, &str)> {
        tokenize(src)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn identifiers_follow_lean_character_classes() {
        use TokenKind::*;
        assert_eq!(
            lex("h₀ x₁' α nat.succ_le_iff ℕ «my name».x"),
            vec![
                (Ident, "h₀"),
                (Ident, "x₁'"),
                (Ident, "α"),
                (Ident, "nat.succ_le_iff"),
                (Ident, "ℕ"),
                (Ident, "«my name».x"),
            ]
        );
        // λ, Π and Σ are binders, not letters; `!` is not part of a name.
        assert_eq!(
            lex("λx, Πa, dec_trivial!"),
            vec![
                (Symbol, "λ"),
                (Ident, "x"),
                (Symbol, ","),
                (Symbol, "Π"),
                (Ident, "a"),
                (Symbol, ","),
                (Ident, "dec_trivial"),
                (Symbol, "!"),
            ]
        );
    }

    #[test]
    fn comments_strings_and_chars() {
        use TokenKind::*;
        assert_eq!(
            lex(
                "a -- c :=\n/- x /- nested -/ y -/ \"s -- \\\" t\" 'c' '\\n' /-- d -/ /-! m -/ h.1"
            ),
            vec![
                (Ident, "a"),
                (Comment, "-- c :="),
                (Comment, "/- x /- nested -/ y -/"),
                (String, "\"s -- \\\" t\""),
                (Char, "'c'"),
                (Char, "'\\n'"),
                (DocComment, "/-- d -/"),
                (ModDoc, "/-! m -/"),
                (Ident, "h"),
                (Symbol, "."),
                (Number, "1"),
            ]
        );
    }

    #[test]
    fn structural_symbols_stay_together() {
        use TokenKind::*;
        assert_eq!(
            lex("a :: l := 1.5 ... x:ℕ"),
            vec![
                (Ident, "a"),
                (Symbol, "::"),
                (Ident, "l"),
                (Symbol, ":="),
                (Number, "1.5"),
                (Symbol, "..."),
                (Ident, "x"),
                (Symbol, ":"),
                (Ident, "ℕ"),
            ]
        );
    }

    #[test]
    fn unterminated_things_are_errors_at_their_start() {
        let err = tokenize("ab /- open /- -/").unwrap_err();
        assert_eq!(err.offset, 3);
        let err = tokenize("x \"abc").unwrap_err();
        assert_eq!(err.offset, 2);
        let err = tokenize("«abc").unwrap_err();
        assert_eq!(err.offset, 0);
    }
}
