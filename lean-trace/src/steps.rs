//! Tactic steps read off Lean's export of a file (`lean --ast --tsast --tspp`): which tactic
//! ran in which declaration, its text, its states before and after, and the identifiers it
//! writes in term positions (the candidates for premises).

use std::collections::{BTreeMap, HashSet};

use lean_bridge::ast::{AstExport, name_text};

/// A position as Lean reports it: line from 1, column from 0 in characters.
pub type Pos = (u32, u32);

/// An identifier a tactic writes where a term goes (`rw [foo]`, `exact bar h`, `simp [baz]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermIdent {
    /// As written, dotted (`nat.succ_le_iff`, `h.symm`).
    pub name: String,
    pub start: Pos,
    pub end: Pos,
}

/// One tactic Lean ran successfully.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The declaration it ran in (full name).
    pub decl: String,
    pub start: Pos,
    pub end: Pos,
    /// The tactic as written.
    pub text: String,
    pub state_before: String,
    pub state_after: String,
    /// Term identifiers inside it, in text order.
    pub idents: Vec<TermIdent>,
}

/// A declaration that has tactic steps: its full name and span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclSpan {
    pub full_name: String,
    pub start: Pos,
    pub end: Pos,
}

/// Lines of a source text, to turn Lean's (line, character column) into byte offsets.
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    /// The byte offset of a position, if it is inside the text.
    pub fn offset(&self, (line, col): Pos) -> Option<usize> {
        let start = *self.starts.get((line as usize).checked_sub(1)?)?;
        let end = self
            .starts
            .get(line as usize)
            .map_or(self.src.len(), |e| e - 1);
        let text = &self.src[start..end];
        match text.char_indices().nth(col as usize) {
            Some((i, _)) => Some(start + i),
            None if text.chars().count() == col as usize => Some(end),
            None => None,
        }
    }

    /// The text between two positions.
    pub fn slice(&self, from: Pos, to: Pos) -> Option<&'a str> {
        let (a, b) = (self.offset(from)?, self.offset(to)?);
        (a <= b).then(|| &self.src[a..b])
    }
}

/// AST node kinds that are declarations with a body.
const DECL_KINDS: &[&str] = &[
    "theorem",
    "lemma",
    "def",
    "definition",
    "instance",
    "example",
    "abbreviation",
];

/// The steps of every declaration in `export`, sorted by where they start (then by the order
/// Lean finished them), and each declaration's span. A node Lean ran several times (after
/// `;`, in `repeat`, `all_goals` …) gives one step per distinct pair of states.
pub fn steps(export: &AstExport, source: &str) -> (Vec<DeclSpan>, Vec<Step>) {
    let lines = LineIndex::new(source);
    let mut parent = vec![usize::MAX; export.ast.len()];
    for (i, node) in export.ast.iter().enumerate() {
        if let Some(node) = node {
            for &c in &node.children {
                if c != 0 && c < parent.len() && parent[c] == usize::MAX {
                    parent[c] = i;
                }
            }
        }
    }
    let enclosing_decl = |mut id: usize| -> Option<usize> {
        let mut guard = 0;
        while id != usize::MAX && guard < 10_000 {
            if let Some(n) = export.node(id)
                && DECL_KINDS.contains(&n.kind.as_str())
            {
                return Some(id);
            }
            id = parent.get(id).copied().unwrap_or(usize::MAX);
            guard += 1;
        }
        None
    };
    let mut decls: BTreeMap<usize, DeclSpan> = BTreeMap::new();
    let mut seen: HashSet<(usize, usize, usize)> = HashSet::new();
    let mut out: Vec<(usize, Step)> = Vec::new();
    for (order, t) in export.tactics.iter().enumerate() {
        if !t.success {
            continue;
        }
        let (Some(node), Some(before), Some(after)) = (
            export.node(t.ast),
            export.states.get(t.start),
            export.states.get(t.end),
        ) else {
            continue;
        };
        let Some(end) = node.end else { continue };
        let Some(text) = lines.slice(node.start, end) else {
            continue;
        };
        let Some(decl) = name_text(&before.decl) else {
            continue;
        };
        if !seen.insert((t.ast, t.start, t.end)) {
            continue;
        }
        if let Some(d) = enclosing_decl(t.ast)
            && let Some(n) = export.node(d)
        {
            decls.entry(d).or_insert_with(|| DeclSpan {
                full_name: decl.clone(),
                start: n.start,
                end: n.end.unwrap_or(n.start),
            });
        }
        let mut idents = Vec::new();
        collect_idents(export, t.ast, &mut idents);
        idents.sort_by_key(|i| i.start);
        idents.dedup();
        out.push((
            order,
            Step {
                decl,
                start: node.start,
                end,
                text: text.to_string(),
                state_before: before.pp.clone(),
                state_after: after.pp.clone(),
                idents,
            },
        ));
    }
    out.sort_by(|(oa, a), (ob, b)| a.start.cmp(&b.start).then(oa.cmp(ob)));
    (
        decls.into_values().collect(),
        out.into_iter().map(|(_, s)| s).collect(),
    )
}

/// Identifiers below `id` that Lean parsed as terms (they carry a pre-expression); names of
/// options, hypotheses after `at`, and binders written as plain names carry none.
fn collect_idents(export: &AstExport, id: usize, out: &mut Vec<TermIdent>) {
    let mut stack = vec![id];
    let mut guard = 0;
    while let Some(i) = stack.pop() {
        guard += 1;
        if guard > 100_000 {
            break;
        }
        let Some(node) = export.node(i) else { continue };
        if node.kind == "ident"
            && node.pexpr.is_some()
            && let Some(name) = node.value_text()
        {
            out.push(TermIdent {
                name,
                start: node.start,
                end: node.end.unwrap_or(node.start),
            });
        }
        stack.extend(node.children.iter().copied().filter(|&c| c != 0));
    }
}

/// The names of the hypotheses (and other local names) in a state as Lean prints it: the
/// names before ` : ` on each hypothesis line of every goal.
pub fn local_names(state: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for line in state.lines() {
        let line = line.trim_start();
        if line.starts_with('⊢') || line.ends_with("goals") {
            continue;
        }
        if let Some((names, _)) = line.split_once(" : ") {
            // Continuation lines of a long hypothesis are indented and hold no ` : ` before
            // their first token, or hold a term: only plain name lists count.
            let names: Vec<&str> = names.split_whitespace().collect();
            if names.iter().all(|n| {
                n.chars()
                    .next()
                    .is_some_and(|c| problems::lexer::is_id_first(c) || c == '_')
                    && n.chars()
                        .all(|c| problems::lexer::is_id_rest(c) || c == '.' || c == '_')
            }) {
                out.extend(names.into_iter().map(str::to_string));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let src = "a ⊢ b\nsecond ⊢ line\n";
        let l = LineIndex::new(src);
        assert_eq!(l.slice((1, 2), (1, 5)), Some("⊢ b"));
        assert_eq!(l.slice((2, 0), (2, 6)), Some("second"));
        assert_eq!(l.slice((2, 7), (2, 13)), Some("⊢ line"));
        assert_eq!(l.offset((3, 0)), Some(src.len()));
        assert_eq!(l.offset((2, 99)), None);
        assert_eq!(l.offset((9, 0)), None);
    }

    #[test]
    fn local_names_are_the_hypotheses_of_every_goal() {
        let state = "2 goals\na b : ℕ,\nh₀ : a ≤ b,\nthis : 0 < b\n⊢ a < b + 1\n\ncase or.inl\nx : ℝ\n⊢ 0 ≤ x ^ 2";
        let names = local_names(state);
        for n in ["a", "b", "h₀", "this", "x"] {
            assert!(names.contains(n), "{n}: {names:?}");
        }
        assert!(!names.contains("⊢"));
        assert_eq!(names.len(), 5);
    }
}
