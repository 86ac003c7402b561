//! A parsed file cut into the segments a Lean worker runs: the commands between theorems go
//! to Lean's command parser verbatim, each theorem is captured where it stands.

use std::sync::Arc;

use lean_bridge::{LeanFile, Segment, SegmentText, TheoremSegment};
use problems::{DeclKind, Header, ProblemFile, Proof, Theorem};

/// A file ready for the bridge, and where each of its theorems is.
#[derive(Clone, Debug)]
pub struct FileRun {
    pub lean: Arc<LeanFile>,
    /// `segment_of[i]`: the segment of theorem `i` of the [`ProblemFile`].
    pub segment_of: Vec<usize>,
}

impl FileRun {
    /// Cuts `file` into segments. With `header` (`--header`), its context lines open the body
    /// (its imports replace the file's own when the pool starts).
    pub fn new(file: &ProblemFile, header: Option<&Header>) -> Self {
        let src = file.source.as_str();
        let mut segments = Vec::new();
        let mut segment_of = Vec::new();
        let scopes = ScopeTracker::new(file);
        if let Some(h) = header
            && !h.context.is_empty()
        {
            segments.push(Segment::Commands(SegmentText {
                text: h.context.join("\n"),
                line: 1,
                closers: String::new(),
            }));
        }
        let mut pos = file.body_start.min(src.len());
        for t in &file.theorems {
            let start = t.command_start.max(pos).min(src.len());
            let between = &src[pos..start];
            if !between.trim().is_empty() {
                segments.push(Segment::Commands(SegmentText {
                    text: between.to_string(),
                    line: line_of(src, pos),
                    closers: scopes.closers_at(start),
                }));
            }
            let end = t.span.end.min(src.len());
            segment_of.push(segments.len());
            segments.push(Segment::Theorem(theorem_segment(
                src, t, start, end, &scopes,
            )));
            pos = end;
        }
        let path = file
            .path
            .as_ref()
            .map(|p| p.to_string_lossy())
            .unwrap_or_default();
        let imports = file.header.imports.join("\n");
        let context = header.map(|h| h.context.join("\n"));
        let key = lean_bridge::repl::stable_key(&[
            &path,
            &imports,
            context.as_deref().unwrap_or("\u{0}none"),
            src,
        ]);
        FileRun {
            lean: Arc::new(LeanFile { key, segments }),
            segment_of,
        }
    }
}

fn theorem_segment(
    src: &str,
    t: &Theorem,
    start: usize,
    end: usize,
    scopes: &ScopeTracker,
) -> TheoremSegment {
    let example = t.kind == DeclKind::Example;
    let decl = if example && src[..t.name_end.min(end)].ends_with("example") {
        // An example declares nothing; its proof is checked under a name the REPL removes
        // again (`def`, as Lean elaborates examples).
        let k = t.name_end - "example".len();
        format!(
            "{}def {EXAMPLE_NAME}{}",
            &src[start..k.max(start)],
            &src[t.name_end..end]
        )
    } else {
        src[start..end].to_string()
    };
    let proof_start = t.proof_span.map_or(end, |p| p.start).clamp(start, end);
    let head = &src[start..proof_start];
    let fallback = match t.proof {
        _ if example => String::new(),
        // The head of an equation-style theorem stops before the first `|`.
        Proof::Equations(_) => format!("{} :=\nsorry", head.trim_end()),
        _ => format!("{head}sorry"),
    };
    TheoremSegment {
        decl: SegmentText {
            text: decl,
            line: line_of(src, start),
            closers: scopes.closers_at(end),
        },
        name: if example {
            vec![EXAMPLE_NAME.to_string()]
        } else {
            t.name.split('.').map(str::to_string).collect()
        },
        signature: t.statement.clone(),
        fallback,
        example,
    }
}

/// The name an example's proof is checked under.
const EXAMPLE_NAME: &str = "prover_repl_example";

fn line_of(src: &str, offset: usize) -> u32 {
    src[..offset.min(src.len())].matches('\n').count() as u32 + 1
}

/// The `section`/`namespace` blocks open at each point of a file.
struct ScopeTracker {
    /// (offset after the command, `section NAME`/`namespace NAME`/`end`).
    events: Vec<(usize, String)>,
}

impl ScopeTracker {
    fn new(file: &ProblemFile) -> Self {
        let events = file
            .skipped
            .iter()
            .filter(|c| matches!(c.keyword.as_str(), "section" | "namespace" | "end"))
            .map(|c| (c.span.end, c.text.clone()))
            .collect();
        ScopeTracker { events }
    }

    /// Commands closing every block open at `offset`, innermost first.
    fn closers_at(&self, offset: usize) -> String {
        let mut open: Vec<String> = Vec::new();
        for (end, text) in &self.events {
            if *end > offset {
                break;
            }
            let mut words = text.split_whitespace();
            match words.next() {
                Some("end") => {
                    open.pop();
                }
                Some(_) => open.push(words.next().unwrap_or("").to_string()),
                None => {}
            }
        }
        open.iter()
            .rev()
            .map(|name| format!("end {name}").trim_end().to_string() + "\n")
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "import data.nat.basic\n\nnamespace foo\nvariables {n : ℕ}\n\n/-- doc -/\n@[simp] lemma a (h : n = 1) : n + 0 = 1 :=\nby simp [h]\n\nsection bar\ntheorem b : ∀ m : ℕ, m = m\n| 0 := rfl\n| (k+1) := rfl\nend bar\nexample : 1 = 1 := rfl\nend foo\n";

    #[test]
    fn segments_cover_the_body_and_theorems_keep_their_heads() {
        let file = problems::parse_str(TEXT, None).unwrap();
        let run = FileRun::new(&file, None);
        let segs = &run.lean.segments;
        assert_eq!(run.segment_of.len(), 3);
        let Segment::Commands(first) = &segs[0] else {
            panic!("{segs:?}")
        };
        assert!(first.text.contains("namespace foo") && first.text.contains("variables"));
        assert!(!first.text.contains("import"));
        let Segment::Theorem(a) = &segs[run.segment_of[0]] else {
            panic!()
        };
        assert!(a.decl.text.starts_with("/-- doc -/\n@[simp] lemma a"));
        assert_eq!(a.decl.line, 6);
        assert_eq!(a.name, vec!["a"]);
        assert_eq!(a.signature, "(h : n = 1) : n + 0 = 1");
        assert_eq!(
            a.fallback,
            "/-- doc -/\n@[simp] lemma a (h : n = 1) : n + 0 = 1 :=\nsorry"
        );
        assert_eq!(a.decl.closers, "end foo\n");
        let Segment::Theorem(b) = &segs[run.segment_of[1]] else {
            panic!()
        };
        assert!(
            b.fallback.ends_with("∀ m : ℕ, m = m :=\nsorry"),
            "{}",
            b.fallback
        );
        assert_eq!(b.decl.closers, "end bar\nend foo\n");
        let Segment::Theorem(e) = &segs[run.segment_of[2]] else {
            panic!()
        };
        assert!(e.example && e.decl.text.starts_with("def prover_repl_example : 1 = 1"));
        assert_eq!(e.decl.closers, "end foo\n");
        assert_eq!(file.theorems[0].full_name, "foo.a");
        assert_eq!(file.theorems[1].full_name, "foo.b");
    }
}
