//! From tokens to commands: header, context lines, theorems with their proofs, everything else
//! recorded as skipped.
//!
//! The parser only needs to find where things start and end, so it tracks brackets
//! (`( [ { ⦃ ⟨ ⟪ ⟦ ‹ ⌊ ⌈ ⁅` and `begin`/`match` … `end`) and command keywords. Lean 3 command
//! keywords are reserved tokens, so one appearing anywhere ends the previous command; a bracket
//! still open at that point is reported as unclosed.

use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::lexer::{Token, TokenKind, tokenize};
use crate::model::{
    DeclKind, Header, ProblemFile, Proof, ProofStep, SkippedCommand, Theorem, Unreadable,
};
use crate::span::LineIndex;

/// Parses the text of a Lean 3 file. `path` is only used in the result and in error messages.
///
/// Never panics; malformed input (unclosed brackets, comments or strings, a declaration without
/// `:=`, a stray `end`, …) gives a [`ParseError`].
pub fn parse_str(text: &str, path: Option<&Path>) -> Result<ProblemFile, ParseError> {
    let lines = LineIndex::new(text);
    let path = path.map(Path::to_path_buf);
    let tokens = tokenize(text).map_err(|e| {
        let (line, col) = lines.position(e.offset);
        ParseError {
            path: path.clone(),
            line,
            col,
            message: e.message,
        }
    })?;
    let significant = (0..tokens.len())
        .filter(|&i| !tokens[i].is_comment())
        .collect();
    Parser {
        src: text,
        lines,
        path,
        tokens,
        significant,
    }
    .file()
}

/// Declarations we extract.
const DECL_KEYWORDS: &[(&str, DeclKind)] = &[
    ("theorem", DeclKind::Theorem),
    ("lemma", DeclKind::Lemma),
    ("example", DeclKind::Example),
];

/// Commands whose text every later theorem in the same scope needs.
const CONTEXT_COMMANDS: &[&str] = &[
    "open",
    "open_locale",
    "universe",
    "universes",
    "local",
    "attribute",
    "set_option",
    "variable",
    "variables",
    "parameter",
    "parameters",
    "include",
    "omit",
    "export",
];

/// Prefixes of a declaration.
const MODIFIERS: &[&str] = &["private", "protected", "noncomputable", "meta", "mutual"];

/// Other command keywords (core Lean 3 plus the common mathlib ones seen in problem files).
const OTHER_COMMANDS: &[&str] = &[
    "import",
    "def",
    "definition",
    "instance",
    "axiom",
    "axioms",
    "constant",
    "constants",
    "inductive",
    "structure",
    "class",
    "abbreviation",
    "notation",
    "infix",
    "infixl",
    "infixr",
    "prefix",
    "postfix",
    "precedence",
    "reserve",
    "section",
    "namespace",
    "run_cmd",
    "localized",
    "library_note",
    "add_tactic_doc",
    "add_decl_doc",
    "restate_axiom",
    "initialize_simps_projections",
    "declare_trace",
    // mathlib's other user commands (`@[user_command]`): a proof never contains these words.
    "alias",
    "mk_simp_attribute",
    "setup_tactic_parser",
    "run_parser",
    "reassoc_axiom",
    "mk_iff_of_inductive_prop",
    "import_private",
    "def_replacer",
    "copy_doc_string",
    "coinductive",
    "assert_not_exists",
    "assert_no_instance",
    "assert_instance",
    "assert_exists",
    "add_hint_tactic",
];

/// `#check`, `#eval`, …: written as `#` immediately followed by one of these.
const HASH_COMMANDS: &[&str] = &[
    "check",
    "eval",
    "print",
    "reduce",
    "exit",
    "help",
    "unify",
    "compile",
    "lint",
    "find",
    // mathlib's
    "simp",
    "norm_num",
    "push_neg",
    "where",
    "explode",
    "sample",
    "print_sorry_in",
    "list_unused_decls",
    "list_linters",
    "lint_mathlib",
    "lint_all",
    "lint_my_project",
];

const BRACKETS: &[(&str, &str)] = &[
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("⦃", "⦄"),
    ("⟨", "⟩"),
    ("⟪", "⟫"),
    ("⟦", "⟧"),
    ("‹", "›"),
    ("⌊", "⌋"),
    ("⌈", "⌉"),
    ("⁅", "⁆"),
];

/// Tokens that take binders up to a comma (`∀ x, …`, `λ ⟨a, b⟩, …`, `∑ i in s, …`); that comma
/// does not separate tactics.
const BINDERS: &[&str] = &[
    "λ", "fun", "assume", "∀", "forall", "∃", "exists", "Π", "Pi", "Σ", "∑", "∏", "⋃", "⋂", "⨆",
    "⨅", "∫", "∮", "∐", "⨁",
];

/// Tokens that may surround `sorry` in a proof that is nothing but `sorry`.
const SORRY_WRAPPING: &[&str] = &["begin", "end", "by", "{", "}", "(", ")", ",", ";"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A command keyword, or `end` with nothing open.
    Command,
    Eof,
    /// `:=` with nothing open.
    Assign,
    /// The first `|` of pattern-matching equations.
    EquationBar,
    /// A `.` ending the statement: equations with no case at all (`theorem t : ∅ ⊆ s.`, an
    /// empty match).
    NoEquations,
}

struct Parser<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    path: Option<PathBuf>,
    tokens: Vec<Token>,
    /// Indices into `tokens` of everything but comments; the parser walks these.
    significant: Vec<usize>,
}

/// What [`Parser::file`] has gathered so far.
#[derive(Default)]
struct FileState {
    header: Header,
    theorems: Vec<Theorem>,
    skipped: Vec<SkippedCommand>,
    unreadable: Vec<Unreadable>,
    context: Vec<String>,
    scopes: Vec<Scope>,
    seen_declaration: bool,
    body_start: usize,
}

/// Open `section`/`namespace` and how much context existed when it opened.
struct Scope {
    context_len: usize,
    /// The namespace's name, for `namespace`.
    namespace: Option<String>,
}

impl<'a> Parser<'a> {
    // ---- token access (indices are positions in `significant`) ----

    fn len(&self) -> usize {
        self.significant.len()
    }

    fn tok(&self, i: usize) -> Token {
        self.tokens[self.significant[i]]
    }

    fn text(&self, i: usize) -> &'a str {
        let t = self.tok(i);
        &self.src[t.start..t.end]
    }

    fn is_ident(&self, i: usize, word: &str) -> bool {
        i < self.len() && self.tok(i).kind == TokenKind::Ident && self.text(i) == word
    }

    fn is_symbol(&self, i: usize, sym: &str) -> bool {
        i < self.len() && self.tok(i).kind == TokenKind::Symbol && self.text(i) == sym
    }

    /// Source text from the start of token `from` to the end of token `to` (inclusive).
    fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.src[self.tok(from).start..self.tok(to).end]
    }

    fn error_at(&self, i: usize, message: impl Into<String>) -> ParseError {
        let offset = if i < self.len() {
            self.tok(i).start
        } else {
            self.src.len()
        };
        self.error_at_offset(offset, message)
    }

    fn error_at_offset(&self, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, col) = self.lines.position(offset);
        ParseError {
            path: self.path.clone(),
            line,
            col,
            message: message.into(),
        }
    }

    fn line_of(&self, i: usize) -> usize {
        if i < self.len() {
            self.lines.position(self.tok(i).start).0
        } else {
            self.lines.position(self.src.len()).0
        }
    }

    fn describe(&self, i: usize) -> String {
        if i < self.len() {
            format!("`{}` at line {}", self.text(i), self.line_of(i))
        } else {
            "the end of the file".to_string()
        }
    }

    // ---- classification of single tokens ----

    /// `@[`: an attribute list, which starts a command.
    fn is_attribute_start(&self, i: usize) -> bool {
        self.is_symbol(i, "@")
            && self.is_symbol(i + 1, "[")
            && self.tok(i).end == self.tok(i + 1).start
    }

    fn is_hash_command(&self, i: usize) -> bool {
        self.is_symbol(i, "#")
            && i + 1 < self.len()
            && self.tok(i + 1).kind == TokenKind::Ident
            && self.tok(i).end == self.tok(i + 1).start
            && HASH_COMMANDS.contains(&self.text(i + 1))
    }

    /// A command keyword other than `end` (which also closes `begin`/`match`).
    fn is_command(&self, i: usize) -> bool {
        if i >= self.len() {
            return false;
        }
        if self.tok(i).kind == TokenKind::Ident {
            let word = self.text(i);
            DECL_KEYWORDS.iter().any(|(k, _)| *k == word)
                || CONTEXT_COMMANDS.contains(&word)
                || MODIFIERS.contains(&word)
                || OTHER_COMMANDS.contains(&word)
        } else {
            self.is_attribute_start(i) || self.is_hash_command(i)
        }
    }

    /// The closer matching token `i`, if it opens a bracket.
    fn closer_for(&self, i: usize) -> Option<&'static str> {
        let t = self.tok(i);
        match t.kind {
            TokenKind::Ident if matches!(self.text(i), "begin" | "match") => Some("end"),
            TokenKind::Symbol => BRACKETS
                .iter()
                .find(|(open, _)| *open == self.text(i))
                .map(|(_, close)| *close),
            _ => None,
        }
    }

    fn is_closer(&self, i: usize) -> bool {
        let t = self.tok(i);
        match t.kind {
            TokenKind::Ident => self.text(i) == "end",
            TokenKind::Symbol => BRACKETS.iter().any(|(_, close)| *close == self.text(i)),
            _ => false,
        }
    }

    fn is_binder(&self, i: usize) -> bool {
        let t = self.tok(i);
        if !matches!(t.kind, TokenKind::Ident | TokenKind::Symbol)
            || !BINDERS.contains(&self.text(i))
        {
            return false;
        }
        // `⋃₀ S` and `⋂₀ S` are set unions, not binders.
        !(i + 1 < self.len() && self.text(i + 1).starts_with('₀') && self.tok(i + 1).start == t.end)
    }

    /// Whether the `|` at `i` begins pattern-matching equations rather than an absolute value:
    /// it starts its line, and a `:=` follows at the same depth before any other `|`.
    /// Whether the `|` at `i` starts pattern-matching equations: it is followed by patterns
    /// and `:=` before any other `|`, and either starts its line or follows the statement on
    /// the same line with no `|x|` open (`theorem t : ¬ surjective f | h := …`).
    fn is_equation_bar(&self, i: usize, no_abs_open: bool) -> bool {
        let start = self.tok(i).start;
        let line_start = self.src[..start].rfind('\n').map_or(0, |p| p + 1);
        if !self.src[line_start..start].trim().is_empty() && !no_abs_open {
            return false;
        }
        let mut depth = 0usize;
        for j in i + 1..self.len() {
            if self.is_command(j) {
                return false;
            }
            if self.closer_for(j).is_some() {
                depth += 1;
            } else if self.is_closer(j) {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            } else if depth == 0 && self.is_symbol(j, ":=") {
                return true;
            } else if depth == 0 && self.is_symbol(j, "|") {
                return false;
            }
        }
        false
    }

    // ---- scanning ----

    /// Walks from `from` to the end of the current command, keeping brackets balanced. With
    /// `until_assign`, also stops at a top-level `:=` or equation `|`.
    fn scan(&self, from: usize, until_assign: bool) -> Result<(usize, Stop), ParseError> {
        let mut open: Vec<(usize, &'static str)> = Vec::new();
        // `|` seen with nothing open: an odd count means an `|x|` is open.
        let mut bars = 0usize;
        let mut j = from;
        loop {
            // `attribute [instance] foo`, `attribute [protected] foo`: inside square brackets,
            // command keywords are attribute names.
            let attribute_name = matches!(open.last(), Some(&(_, "]")))
                && j < self.len()
                && self.tok(j).kind == TokenKind::Ident
                && !DECL_KEYWORDS.iter().any(|(k, _)| *k == self.text(j));
            let at_command = j >= self.len() || (self.is_command(j) && !attribute_name);
            if at_command {
                if let Some(&(opener, _)) = open.last() {
                    return Err(self.unclosed(opener, j));
                }
                let stop = if j >= self.len() {
                    Stop::Eof
                } else {
                    Stop::Command
                };
                return Ok((j, stop));
            }
            if open.is_empty() {
                if self.is_ident(j, "end") {
                    return Ok((j, Stop::Command));
                }
                if until_assign && self.is_symbol(j, ":=") {
                    return Ok((j, Stop::Assign));
                }
                if until_assign && self.is_symbol(j, "|") {
                    if self.is_equation_bar(j, bars.is_multiple_of(2)) {
                        return Ok((j, Stop::EquationBar));
                    }
                    bars += 1;
                }
                if until_assign
                    && self.is_symbol(j, ".")
                    && (j + 1 >= self.len() || self.is_command(j + 1))
                {
                    return Ok((j, Stop::NoEquations));
                }
            }
            if let Some(closer) = self.closer_for(j) {
                open.push((j, closer));
            } else if self.is_closer(j) {
                match open.pop() {
                    None => {
                        return Err(self.error_at(j, format!("unexpected `{}`", self.text(j))));
                    }
                    Some((opener, closer)) if closer != self.text(j) => {
                        return Err(self.error_at(
                            j,
                            format!(
                                "`{}` does not match `{}` opened at line {}",
                                self.text(j),
                                self.text(opener),
                                self.line_of(opener)
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            j += 1;
        }
    }

    fn unclosed(&self, opener: usize, reached: usize) -> ParseError {
        let closer = self.closer_for(opener).unwrap_or("?");
        self.error_at(
            opener,
            format!(
                "`{}` is never closed (expected `{}` before {})",
                self.text(opener),
                closer,
                self.describe(reached)
            ),
        )
    }

    // ---- commands ----

    fn file(self) -> Result<ProblemFile, ParseError> {
        let mut out = FileState::default();
        let mut i = 0;
        while i < self.len() {
            match self.command(i, &mut out) {
                Ok(next) => i = next,
                Err(e) => i = self.recover(i, e, &mut out),
            }
        }
        let FileState {
            header,
            theorems,
            skipped,
            unreadable,
            body_start,
            ..
        } = out;
        Ok(ProblemFile {
            path: self.path.clone(),
            header,
            theorems,
            skipped,
            source: self.src.to_string(),
            body_start,
            unreadable,
        })
    }

    /// After a command the parser could not read: records why and resumes at the next command
    /// keyword, so one construct it does not know never costs the rest of the file. The text in
    /// between stays part of what Lean runs.
    fn recover(&self, start: usize, e: ParseError, out: &mut FileState) -> usize {
        let k = self.skip_modifiers(start).unwrap_or(start).min(self.len());
        let name = (k < self.len()
            && DECL_KEYWORDS.iter().any(|(w, _)| self.is_ident(k, w))
            && k + 1 < self.len()
            && self.tok(k + 1).kind == TokenKind::Ident)
            .then(|| self.text(k + 1).to_string());
        let mut next = (k + 1).max(start + 1).min(self.len());
        while next < self.len() && !self.is_command(next) {
            next += 1;
        }
        let from = self.tok(start).start;
        let to = self.tok(next - 1).end;
        out.unreadable.push(Unreadable {
            name,
            line: e.line,
            col: e.col,
            message: e.message,
            span: self.lines.span(from, to),
        });
        out.seen_declaration = true;
        next
    }

    /// Reads the command starting at `i`; returns where the next one starts.
    fn command(&self, i: usize, out: &mut FileState) -> Result<usize, ParseError> {
        let start = i;
        let k = self.skip_modifiers(i)?;
        if k >= self.len() {
            return Err(self.error_at(start, "expected a declaration after the modifiers"));
        }
        let word = self.text(k);
        let is_word = self.tok(k).kind == TokenKind::Ident;

        if let Some(&(_, kind)) = DECL_KEYWORDS.iter().find(|(w, _)| is_word && *w == word) {
            let (mut theorem, next) = self.declaration(start, k, kind, &out.context)?;
            let namespace: Vec<&str> = out
                .scopes
                .iter()
                .filter_map(|s| s.namespace.as_deref())
                .collect();
            if kind != DeclKind::Example && !namespace.is_empty() {
                theorem.full_name = format!("{}.{}", namespace.join("."), theorem.name);
            }
            out.theorems.push(theorem);
            out.seen_declaration = true;
            return Ok(next);
        }

        let is_context = is_word
            && k == start
            && (CONTEXT_COMMANDS.contains(&word)
                || (word == "noncomputable" && self.is_ident(k + 1, "theory")));
        // `#eval` is two tokens; `local` is followed by the command it makes local
        // (`local attribute`, `local notation`, …).
        let body = if self.is_hash_command(k) || (is_word && word == "local") {
            (k + 2).min(self.len())
        } else {
            k + 1
        };
        if !is_word && !self.is_hash_command(k) {
            return Err(self.error_at(k, format!("expected a command, found `{word}`")));
        }
        if is_word && !is_context && !self.is_command(k) && word != "end" {
            return Err(self.error_at(k, format!("expected a command, found `{word}`")));
        }
        let (end, _) = self.scan(body, false)?;
        let text = self.slice(start, end - 1).to_string();

        if is_context {
            if !out.seen_declaration && out.scopes.is_empty() {
                out.header.context.push(text.clone());
            }
            out.context.push(text);
        } else if word == "import" {
            out.header.imports.extend(
                self.src[self.tok(k).end..self.tok(end - 1).end]
                    .split_whitespace()
                    .map(String::from),
            );
            out.body_start = self.tok(end - 1).end;
        } else {
            match word {
                "section" | "namespace" => out.scopes.push(Scope {
                    context_len: out.context.len(),
                    namespace: (word == "namespace" && k + 1 < end)
                        .then(|| self.text(k + 1).to_string()),
                }),
                "end" => {
                    // An `end` with nothing open is Lean's error to report, not a reason to
                    // stop reading the file.
                    if let Some(scope) = out.scopes.pop() {
                        out.context.truncate(scope.context_len);
                    }
                }
                _ => out.seen_declaration = true,
            }
            let keyword = if self.is_hash_command(k) {
                format!("#{}", self.text(k + 1))
            } else {
                word.to_string()
            };
            out.skipped.push(SkippedCommand {
                keyword,
                text,
                span: self
                    .lines
                    .span(self.tok(start).start, self.tok(end - 1).end),
            });
        }
        Ok(end)
    }

    /// Skips `@[…]` attribute lists and modifiers (`private`, `noncomputable` but not
    /// `noncomputable theory`, …); returns the index of the command keyword.
    fn skip_modifiers(&self, mut i: usize) -> Result<usize, ParseError> {
        loop {
            if self.is_attribute_start(i) {
                let mut depth = 0usize;
                let mut j = i + 1;
                loop {
                    if j >= self.len() {
                        return Err(self.unclosed(i + 1, j));
                    }
                    if self.is_symbol(j, "[") {
                        depth += 1;
                    } else if self.is_symbol(j, "]") {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    j += 1;
                }
                i = j + 1;
            } else if i < self.len()
                && self.tok(i).kind == TokenKind::Ident
                && MODIFIERS.contains(&self.text(i))
                && !(self.text(i) == "noncomputable" && self.is_ident(i + 1, "theory"))
            {
                i += 1;
            } else {
                return Ok(i);
            }
        }
    }

    /// Parses a theorem whose command starts at `start` (attributes/modifiers) and whose keyword
    /// is at `k`; returns it and the index of the next command.
    fn declaration(
        &self,
        start: usize,
        k: usize,
        kind: DeclKind,
        context: &[String],
    ) -> Result<(Theorem, usize), ParseError> {
        let mut j = k + 1;
        let name = if kind == DeclKind::Example {
            format!("example_at_line_{}", self.line_of(k))
        } else {
            if j >= self.len() || self.tok(j).kind != TokenKind::Ident || self.is_command(j) {
                let at = if j < self.len() { j } else { k };
                return Err(
                    self.error_at(at, format!("expected a name after `{}`", kind.keyword()))
                );
            }
            j += 1;
            self.text(j - 1).to_string()
        };

        let (stop, how) = self.scan(j, true)?;
        let proof_start = match how {
            Stop::Assign => stop + 1,
            Stop::EquationBar | Stop::NoEquations => stop,
            Stop::Command | Stop::Eof => {
                return Err(self.error_at(
                    k,
                    format!(
                        "`{name}`: no `:=` after the statement (reached {})",
                        self.describe(stop)
                    ),
                ));
            }
        };
        let statement = self.src[self.tok(j - 1).end..self.tok(stop).start]
            .trim()
            .to_string();

        let (proof_end, _) = if how == Stop::NoEquations {
            (stop + 1, Stop::NoEquations)
        } else {
            self.scan(proof_start, false)?
        };
        if proof_end == proof_start {
            return Err(self.error_at(stop, format!("`{name}`: missing proof after `:=`")));
        }
        let last = proof_end - 1;
        let text = self.slice(proof_start, last).to_string();
        let contains_sorry = (proof_start..proof_end).any(|p| self.is_ident(p, "sorry"));
        let proof = if matches!(how, Stop::EquationBar | Stop::NoEquations) {
            Proof::Equations(text)
        } else if self.is_sorry_only(proof_start, proof_end) {
            Proof::Sorry(text)
        } else if self.is_ident(proof_start, "begin")
            && self.matching_end(proof_start) == Some(last)
        {
            Proof::Tactic {
                steps: self.steps(proof_start + 1, last),
                text,
            }
        } else if self.is_ident(proof_start, "by") {
            Proof::By(text)
        } else {
            Proof::Term(text)
        };

        let (doc, doc_start) = self.doc_before(start).unzip();
        let theorem = Theorem {
            full_name: name.clone(),
            name,
            kind,
            statement,
            proof,
            contains_sorry,
            context: context.to_vec(),
            span: self.lines.span(self.tok(start).start, self.tok(last).end),
            proof_span: Some(
                self.lines
                    .span(self.tok(proof_start).start, self.tok(last).end),
            ),
            doc,
            command_start: doc_start.unwrap_or(self.tok(start).start),
            name_end: self.tok(j - 1).end,
        };
        Ok((theorem, proof_end))
    }

    fn is_sorry_only(&self, from: usize, to: usize) -> bool {
        let mut saw_sorry = false;
        for p in from..to {
            let word = self.text(p);
            if word == "sorry" && self.tok(p).kind == TokenKind::Ident {
                saw_sorry = true;
            } else if !SORRY_WRAPPING.contains(&word) {
                return false;
            }
        }
        saw_sorry
    }

    /// The `end` closing the `begin` at `i` (brackets were already checked by `scan`).
    fn matching_end(&self, i: usize) -> Option<usize> {
        let mut depth = 0usize;
        for j in i..self.len() {
            if self.closer_for(j).is_some() {
                depth += 1;
            } else if self.is_closer(j) {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
        None
    }

    /// Splits the tokens `from..to` (inside `begin … end`) into top-level tactics at commas.
    /// The step of tokens `first..=last` (bytes `a..b`), with its block's steps when it is one
    /// `{ … }` block and the `;` at its top level.
    fn step(&self, first: usize, last: usize, a: usize, b: usize) -> ProofStep {
        let inner = if self.is_symbol(first, "{")
            && last > first
            && self.is_symbol(last, "}")
            && self.matching_end(first) == Some(last)
        {
            self.steps(first + 1, last)
        } else {
            Vec::new()
        };
        let mut semicolons = Vec::new();
        let mut depth = 0usize;
        for j in first..=last {
            if self.closer_for(j).is_some() {
                depth += 1;
            } else if self.is_closer(j) {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.is_symbol(j, ";") {
                semicolons.push(self.lines.span(self.tok(j).start, self.tok(j).end));
            }
        }
        ProofStep {
            text: self.src[a..b].to_string(),
            span: self.lines.span(a, b),
            inner,
            semicolons,
        }
    }

    fn steps(&self, from: usize, to: usize) -> Vec<ProofStep> {
        let mut steps = Vec::new();
        let mut depth = 0usize;
        // Binders at depth 0 of the current step still waiting for their comma.
        let mut pending_binders = 0usize;
        let mut step_start: Option<usize> = None;
        let mut push = |first: usize, last: usize| {
            let (a, b) = (self.tok(first).start, self.tok(last).end);
            steps.push(self.step(first, last, a, b));
        };
        for j in from..to {
            if depth == 0 && self.is_symbol(j, ",") {
                if pending_binders > 0 {
                    pending_binders -= 1;
                } else {
                    if let Some(first) = step_start.take() {
                        push(first, j - 1);
                    }
                    continue;
                }
            }
            let first = *step_start.get_or_insert(j);
            if self.closer_for(j).is_some() {
                depth += 1;
            } else if self.is_closer(j) {
                depth = depth.saturating_sub(1);
            } else if depth == 0
                && self.is_binder(j)
                // `assume h,` at the start of a step is the tactic, whose comma ends it.
                && !(j == first && self.text(j) == "assume")
            {
                pending_binders += 1;
            }
        }
        if let Some(first) = step_start {
            push(first, to - 1);
        }
        steps
    }

    /// The text of a `/-- … -/` comment right before the command starting at `start` (plain
    /// comments in between are skipped, as Lean's scanner does).
    /// Also returns the comment's byte offset.
    fn doc_before(&self, start: usize) -> Option<(String, usize)> {
        let raw = self.significant[start];
        let prev = self.tokens[..raw]
            .iter()
            .rev()
            .find(|t| t.kind != TokenKind::Comment)?;
        if prev.kind != TokenKind::DocComment {
            return None;
        }
        let text = prev.text(self.src);
        let inner = text.strip_prefix("/--")?.strip_suffix("-/")?;
        Some((inner.trim().to_string(), prev.start))
    }
}
