//! The `import` lines at the top of a Lean 3 file, read without parsing the rest of it.
//!
//! Finding a file's import closure (what `lean --make` compiles for it) needs only these, and
//! the rest of a file need not even lex: Lean reads its imports first, before any command.

/// One module named by an `import` command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Import {
    /// The dotted name without leading dots: `data.nat.basic`.
    pub name: String,
    /// `None` for an absolute import; `Some(n)` for `import .foo` (n = 0: the importing file's
    /// directory) or `import ..foo` (n = 1: its parent), as Lean 3 counts leading dots.
    pub relative: Option<usize>,
}

impl Import {
    /// The path of the module's file below a root, without extension: `data/nat/basic`.
    pub fn relative_path(&self) -> std::path::PathBuf {
        self.name.split('.').collect()
    }
}

/// The imports of a Lean 3 file: every `import` command before the first other command.
/// Comments and whitespace may come between them; anything else ends the list.
///
/// Lean itself reads module names after `import` for as long as the next token is an
/// identifier, and only knows which words are commands once it has imported the modules that
/// declare them (`add_tactic_doc` after `import tactic.doc_commands`). Without those, the
/// names of an import are those on its line, and on lines right after it that are indented
/// (how a long import list is continued); a word at the start of a line after a comment or a
/// blank line is the next command.
pub fn imports_of(src: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut in_import = false;
    loop {
        let before = rest;
        rest = skip_blank(rest);
        let skipped = &before[..before.len() - rest.len()];
        if in_import && skipped.contains('\n') {
            // A new line: it continues the import only if nothing but one line break and
            // indentation came before it.
            let continues = skipped.matches('\n').count() == 1
                && skipped.trim().is_empty()
                && skipped.ends_with([' ', '\t']);
            if !continues {
                in_import = false;
            }
        }
        let word_len = rest
            .char_indices()
            .find(|&(_, c)| !(c == '.' || crate::lexer::is_id_rest(c) || c == '«' || c == '»'))
            .map_or(rest.len(), |(i, _)| i);
        if word_len == 0 {
            return out;
        }
        let word = &rest[..word_len];
        rest = &rest[word_len..];
        if word == "import" {
            in_import = true;
            continue;
        }
        // Core library files begin with `prelude` (no implicit `init`), then their imports.
        if word == "prelude" && out.is_empty() && !in_import {
            continue;
        }
        if !in_import {
            return out;
        }
        let dots = word.chars().take_while(|&c| c == '.').count();
        let name = &word[dots..];
        let is_module = !name.is_empty()
            && name
                .split('.')
                .all(|p| p.starts_with(crate::lexer::is_id_first) && !p.is_empty());
        if !is_module || is_keyword(name) {
            return out;
        }
        out.push(Import {
            name: name.trim_matches(['«', '»']).to_string(),
            relative: (dots > 0).then(|| dots - 1),
        });
    }
}

/// Words that begin the next command rather than name a module.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "open"
            | "universe"
            | "universes"
            | "variable"
            | "variables"
            | "namespace"
            | "section"
            | "noncomputable"
            | "theorem"
            | "lemma"
            | "def"
            | "example"
            | "set_option"
            | "local"
            | "open_locale"
            | "meta"
            | "constant"
            | "axiom"
            | "instance"
            | "class"
            | "structure"
            | "inductive"
            | "attribute"
            | "run_cmd"
            | "prefix"
            | "notation"
            | "infix"
            | "infixl"
            | "infixr"
            | "postfix"
            | "private"
            | "protected"
            | "mutual"
            | "end"
    )
}

/// Skips whitespace, `-- …` line comments and nested `/- … -/` block comments.
fn skip_blank(mut s: &str) -> &str {
    loop {
        let t = s.trim_start();
        if let Some(after) = t.strip_prefix("--") {
            s = after.find('\n').map_or("", |i| &after[i..]);
        } else if t.starts_with("/-") {
            let mut depth = 0usize;
            let mut i = 0;
            let b = t.as_bytes();
            loop {
                if i + 1 >= b.len() {
                    return "";
                }
                if b[i] == b'/' && b[i + 1] == b'-' {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'-' && b[i + 1] == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            s = &t[i..];
        } else {
            return t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<(String, Option<usize>)> {
        imports_of(src)
            .into_iter()
            .map(|i| (i.name, i.relative))
            .collect()
    }

    #[test]
    fn reads_imports_through_comments_and_stops_at_the_first_command() {
        let src = "/-\nCopyright /- nested -/ (c)\n-/\n-- a line comment\nimport tactic\nimport data.nat.basic algebra.group_power.basic\n  -- more\nimport data.real.basic\n\nopen_locale big_operators\nimport not.this\n";
        assert_eq!(
            names(src),
            [
                ("tactic".to_string(), None),
                ("data.nat.basic".to_string(), None),
                ("algebra.group_power.basic".to_string(), None),
                ("data.real.basic".to_string(), None),
            ]
        );
    }

    #[test]
    fn a_command_word_after_the_imports_is_not_a_module() {
        // mathlib's tactic/lean_core_docs.lean: a user command right after the imports.
        let src = "import tactic.doc_commands\n\n/-!\n# Core tactic documentation\n-/\n\nadd_tactic_doc\n{ name := \"x\" }\n";
        assert_eq!(names(src), [("tactic.doc_commands".to_string(), None)]);
        let src = "import tactic.core\nsetup_tactic_parser\n";
        assert_eq!(names(src), [("tactic.core".to_string(), None)]);
        // An indented continuation line is part of the import.
        let src = "import data.nat.basic\n  data.int.basic\nimport tactic\ndeclare_trace foo\n";
        assert_eq!(names(src).len(), 3);
    }

    #[test]
    fn relative_imports_count_their_dots() {
        assert_eq!(
            names("import .basic ..order.lattice data.list"),
            [
                ("basic".to_string(), Some(0)),
                ("order.lattice".to_string(), Some(1)),
                ("data.list".to_string(), None),
            ]
        );
    }

    #[test]
    fn a_file_without_imports_has_none() {
        assert!(names("theorem t : true := trivial").is_empty());
        assert!(names("").is_empty());
        assert!(names("/- unterminated").is_empty());
        // `import` followed by a command keyword: the import list ends there.
        assert!(names("import\nopen nat").is_empty());
        assert_eq!(names("prelude\nimport init.core")[0].0, "init.core");
    }

    #[test]
    fn the_module_path_follows_the_dots() {
        let i = &imports_of("import data.nat.basic")[0];
        assert_eq!(
            i.relative_path(),
            std::path::PathBuf::from("data/nat/basic")
        );
    }
}
