//! What a parsed theorem file is made of.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::span::Span;

/// One parsed Lean 3 file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemFile {
    /// Where the text came from, if it came from a file.
    pub path: Option<PathBuf>,
    pub header: Header,
    /// `theorem`, `lemma` and `example` declarations, in file order.
    pub theorems: Vec<Theorem>,
    /// Every other command (`def`, `#eval`, `section`, `end`, …), kept so nothing is silently lost.
    pub skipped: Vec<SkippedCommand>,
    /// The text the file was parsed from (spans are offsets into it).
    #[serde(default, skip_serializing)]
    pub source: String,
    /// Byte offset where the file's body starts: just after its `import` lines. Everything from
    /// here on is what Lean elaborates command by command.
    #[serde(default)]
    pub body_start: usize,
    /// Commands the parser could not read (an unclosed bracket, a declaration without `:=`, …).
    /// Their text stays part of the file that Lean runs; the rest of the file is read as usual.
    #[serde(default)]
    pub unreadable: Vec<Unreadable>,
}

/// A command the parser could not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    /// The declaration's name, when the command is a `theorem`/`lemma` whose name was found.
    pub name: Option<String>,
    /// 1-based line and 0-based column of the problem.
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The whole command, up to the next command keyword.
    pub span: Span,
}

/// What comes before the first declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Module names from `import` lines, e.g. `["minif2f_import"]`.
    pub imports: Vec<String>,
    /// Context commands verbatim (`open …`, `open_locale …`, `universe u`, `noncomputable theory`,
    /// `local attribute …`, `set_option …`, `variables …`), one entry per command.
    pub context: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeclKind {
    Theorem,
    Lemma,
    Example,
}

impl DeclKind {
    /// The Lean keyword that introduces this kind of declaration.
    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Theorem => "theorem",
            DeclKind::Lemma => "lemma",
            DeclKind::Example => "example",
        }
    }
}

/// A `theorem`, `lemma` or `example`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theorem {
    /// The declared name as written (`nat.foo` stays dotted). Examples have no name in Lean; they
    /// get `example_at_line_N` (N = line of the `example` keyword) so every entry has an id.
    pub name: String,
    /// The name with the enclosing namespaces (`namespace int` … `theorem even_xor_odd` is
    /// `int.even_xor_odd`); the same as `name` for examples and outside namespaces.
    #[serde(default)]
    pub full_name: String,
    pub kind: DeclKind,
    /// The text between the name and `:=` (or the first equation `|`), trimmed, verbatim:
    /// e.g. `"(a b : ℕ) (h₀ : a < b) :\n  b ≠ 0"`.
    pub statement: String,
    pub proof: Proof,
    /// Whether the proof text contains the token `sorry` (always true for [`Proof::Sorry`]).
    pub contains_sorry: bool,
    /// The header context plus the context commands seen before this theorem that are still in
    /// scope (a `section`'s `open` lines end with the section).
    pub context: Vec<String>,
    /// The whole declaration, from its first attribute or modifier to the end of the proof
    /// (the doc comment is not included).
    pub span: Span,
    /// The proof text (after `:=`; for equations, from the first `|`).
    pub proof_span: Option<Span>,
    /// The text of a `/-- … -/` comment right before the declaration, without the delimiters.
    pub doc: Option<String>,
    /// Byte offset where the command starts as Lean reads it: the doc comment if there is one,
    /// else `span.start`.
    #[serde(default)]
    pub command_start: usize,
    /// Byte offset of the name's end (after the keyword for examples): the statement follows.
    #[serde(default)]
    pub name_end: usize,
}

/// A proof as written.
///
/// Every variant keeps the verbatim proof text (see [`Proof::text`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proof {
    /// `begin … end`, with its top-level steps.
    Tactic { text: String, steps: Vec<ProofStep> },
    /// `by tac`.
    By(String),
    /// A term proof (`:= foo bar`).
    Term(String),
    /// Pattern-matching equations (`| 0 := … | (n+1) := …`).
    Equations(String),
    /// Only `sorry`, in any wrapping: `sorry`, `by sorry`, `begin sorry end`, `begin sorry, end`.
    Sorry(String),
}

impl Proof {
    /// The proof text as it appears in the file.
    pub fn text(&self) -> &str {
        match self {
            Proof::Tactic { text, .. }
            | Proof::By(text)
            | Proof::Term(text)
            | Proof::Equations(text)
            | Proof::Sorry(text) => text,
        }
    }

    /// Top-level steps of a `begin … end` proof; empty for other proofs.
    pub fn steps(&self) -> &[ProofStep] {
        match self {
            Proof::Tactic { steps, .. } => steps,
            _ => &[],
        }
    }
}

/// One top-level tactic of a `begin … end` block (`t1; t2` and `{ … }` count as one step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofStep {
    /// Verbatim, without the separating comma and without leading/trailing comments.
    pub text: String,
    pub span: Span,
    /// A step that is one `{ … }` block: the steps inside it (nested blocks likewise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<ProofStep>,
    /// A step `t₁; t₂; …`: the `;` at its top level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub semicolons: Vec<Span>,
}

/// One move on the way to the state at a cursor (see [`Theorem::moves_before`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorMove {
    /// Run this tactic text (a step, or the part of a `t₁; t₂` chain before the cursor).
    Run { text: String, line: usize },
    /// Keep the main goal alone, as a `{ … }` block (or the left of `;`) does.
    Focus { line: usize },
}

/// Whether position (`line`, `col`) is at or after the end of `span`. Without a column, a line
/// is after a span that ends on an earlier line.
fn after_end(span: &Span, line: usize, col: Option<usize>) -> bool {
    match col {
        Some(c) => (span.end_line, span.end_col) <= (line, c),
        None => span.end_line < line,
    }
}

/// Whether position (`line`, `col`) is after the start of `span` (inside it, when not after
/// its end). Without a column, only lines below the span's first line are.
fn after_start(span: &Span, line: usize, col: Option<usize>) -> bool {
    match col {
        Some(c) => (span.line, span.col) < (line, c),
        None => span.line < line,
    }
}

fn moves_in(steps: &[ProofStep], line: usize, col: Option<usize>, out: &mut Vec<CursorMove>) {
    for s in steps {
        if after_end(&s.span, line, col) {
            out.push(CursorMove::Run {
                text: s.text.clone(),
                line: s.span.line,
            });
            continue;
        }
        if !after_start(&s.span, line, col) {
            return;
        }
        // Inside this step.
        if !s.inner.is_empty() {
            out.push(CursorMove::Focus { line: s.span.line });
            moves_in(&s.inner, line, col, out);
        } else if let Some(semi) = s
            .semicolons
            .iter()
            .rev()
            .find(|semi| after_end(semi, line, col))
        {
            // After `t₁;`: the goals `t₁` made from the main goal, which `t₂` will run on.
            out.push(CursorMove::Focus { line: s.span.line });
            out.push(CursorMove::Run {
                text: s.text[..semi.start - s.span.start].trim_end().to_string(),
                line: s.span.line,
            });
        }
        return;
    }
}

/// A command that is not a theorem and not context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedCommand {
    /// The command keyword (`def`, `section`, `#eval`, …), modifiers and attributes not included.
    pub keyword: String,
    /// The whole command verbatim.
    pub text: String,
    pub span: Span,
}

impl ProblemFile {
    /// The file, or its first unreadable command as an error: for callers that need every
    /// command read (the language server's diagnostics).
    pub fn strict(self) -> Result<ProblemFile, crate::error::ParseError> {
        match self.unreadable.first() {
            Some(u) => Err(crate::error::ParseError {
                path: self.path.clone(),
                line: u.line,
                col: u.col,
                message: u.message.clone(),
            }),
            None => Ok(self),
        }
    }

    /// The earlier `theorem`s and `lemma`s (with their proofs, as written) that theorem `index`
    /// needs in scope when `uses` (its statement, its proof, or a proof being tried) mentions
    /// them by name, with what those need in turn, in file order. Lean compiles a file top to
    /// bottom, so a proof may cite a lemma proved above it; declarations it does not mention
    /// are left out so that independent problems (MiniF2F) stay independent.
    pub fn dependencies(&self, index: usize, uses: &str) -> Vec<String> {
        let earlier = &self.theorems[..index.min(self.theorems.len())];
        let mut needed = vec![false; earlier.len()];
        let mut pending = vec![uses.to_string()];
        while let Some(text) = pending.pop() {
            for (i, t) in earlier.iter().enumerate() {
                if !needed[i] && t.kind != DeclKind::Example && mentions(&text, &t.name) {
                    needed[i] = true;
                    pending.push(t.declaration());
                }
            }
        }
        earlier
            .iter()
            .zip(needed)
            .filter(|(_, n)| *n)
            .map(|(t, _)| t.declaration())
            .collect()
    }
}

/// Whether `text` mentions the declaration `name` (or its last component, as code inside its
/// namespace would) as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let short = name.rsplit('.').next().unwrap_or(name);
    [name, short].iter().any(|n| {
        text.match_indices(n).any(|(i, m)| {
            let before = text[..i].chars().next_back();
            let after = text[i + m.len()..].chars().next();
            let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '\'' || c == '.';
            !before.is_some_and(ident) && !after.is_some_and(ident)
        })
    })
}

impl Theorem {
    /// True unless the proof is only `sorry` (see [`Proof::Sorry`]). A proof that uses `sorry`
    /// somewhere inside still counts; check [`Theorem::contains_sorry`] for that.
    pub fn has_proof(&self) -> bool {
        !matches!(self.proof, Proof::Sorry(_))
    }

    /// Has a proof and no `sorry` anywhere in it.
    pub fn has_complete_proof(&self) -> bool {
        self.has_proof() && !self.contains_sorry
    }

    /// The declaration re-rendered: `theorem NAME STATEMENT :=\nPROOF` (attributes, modifiers and
    /// the doc comment are dropped; examples render without a name).
    pub fn declaration(&self) -> String {
        match &self.proof {
            Proof::Equations(text) => format!("{}\n{}", self.head(), text),
            proof => self.with_proof(proof.text()),
        }
    }

    /// The declaration with `proof` in place of the current proof: `theorem NAME STATEMENT :=\nPROOF`.
    pub fn with_proof(&self, proof: &str) -> String {
        format!("{} :=\n{}", self.head(), proof)
    }

    /// Top-level steps of a `begin … end` proof; empty for other proofs.
    pub fn steps(&self) -> &[ProofStep] {
        self.proof.steps()
    }

    /// Whether `name` names this theorem: its full name, or the name as written.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.full_name == name
    }

    /// The leading steps that end on a line before `line` (1-based): what has been written above
    /// a cursor on that line.
    /// How to reach the state Lean shows at (`line`, `col`) of a tactic proof (1-based line,
    /// 0-based column; without a column, the start of the line): the steps that end before it,
    /// and where it is inside a `{ … }` block, a focus on the main goal and the block's steps
    /// before it, at any depth; after the `;` of `t₁; t₂`, a focus and `t₁`.
    pub fn moves_before(&self, line: usize, col: Option<usize>) -> Vec<CursorMove> {
        let mut out = Vec::new();
        moves_in(self.steps(), line, col, &mut out);
        out
    }

    /// The steps of the innermost `{ … }` block that `line` is inside (below its first line),
    /// or the top-level steps: the list a tactic written on that line joins.
    pub fn block_steps_at(&self, line: usize) -> &[ProofStep] {
        let mut steps = self.steps();
        while let Some(block) = steps
            .iter()
            .find(|s| !s.inner.is_empty() && s.span.line < line && line <= s.span.end_line)
        {
            steps = &block.inner;
        }
        steps
    }

    /// The steps of [`Self::block_steps_at`] `line` that end above it, and whether more of
    /// that list start on or below it.
    pub fn steps_before_line(&self, line: usize) -> (&[ProofStep], bool) {
        let steps = self.block_steps_at(line);
        let n = steps.partition_point(|s| s.span.end_line < line);
        (&steps[..n], n < steps.len())
    }

    fn head(&self) -> String {
        match self.kind {
            DeclKind::Example => format!("example {}", self.statement),
            kind => format!("{} {} {}", kind.keyword(), self.name, self.statement),
        }
    }
}
