//! Tracing one file: Lean's export gives the steps and states; a worker that runs the file's
//! commands (with its theorems' proofs left out, which is all name resolution needs) resolves
//! the names each step writes, where the file states the theorem.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lean_bridge::ast::{AstJob, AstRun};
use lean_bridge::protocol::DeclPlace;
use lean_bridge::{LeanError, LeanFile, LeanInstall, LeanPool, LeanProject, SandboxMode, Segment};
use lean_env::FileRun;
use problems::{DeclKind, Header, ProblemFile};

use crate::record::{Premise, TracedTactic, TracedTheorem};
use crate::replay::Replayed;
use crate::steps::{DeclSpan, LineIndex, Step, local_names, steps};

/// What can stop a file's trace.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{0}")]
    Lean(#[from] LeanError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the export task failed: {0}")]
    Join(String),
}

/// A traced file and what it cost.
#[derive(Debug, Default)]
pub struct FileTrace {
    pub theorems: Vec<TracedTheorem>,
    /// What Lean said about the file (its own errors, if it has any).
    pub messages: String,
    /// Lean's export run.
    pub export_time: Duration,
    /// Peak memory of the export run, KiB.
    pub export_peak_rss_kib: Option<u64>,
    /// Resolving the names (the worker's run of the file's commands included).
    pub resolve_time: Duration,
    /// Names written in term positions that were not hypotheses and resolved to nothing
    /// (bound variables, names Lean only knows inside the tactic).
    pub unresolved: usize,
    /// Traced declarations the file parser did not see as theorems: their names were resolved
    /// at the closest theorem before them.
    pub resolved_nearby: usize,
}

/// What replaying a file's traced steps from their text gave ([`crate::replay`]).
#[derive(Debug, Default, Clone)]
pub struct ReplayStats {
    pub steps: usize,
    pub reached: usize,
    /// Steps replayed where the theorem's own proof reached their state (exact), and how
    /// many of them reached their `state_after`.
    pub in_context: usize,
    pub in_context_reached: usize,
    /// Steps replayed in context that ran to another state, or failed: (theorem, tactic,
    /// what happened).
    pub wrong: Vec<(String, String, String)>,
    /// Steps replayed from their state's text that went elsewhere: the printed state can
    /// lose what the step needs (a hidden instance, `^` on integers printed like `^` on
    /// naturals), so these do not show a wrong record.
    pub from_text_differs: Vec<(String, String, String)>,
    /// Steps whose state does not read back into the same goal (not a check of the step).
    pub not_readable: usize,
    /// A few of those, with the reason: (theorem, tactic, reason).
    pub not_readable_examples: Vec<(String, String, String)>,
    /// Steps that act on more than the first goal.
    pub several_goals: usize,
    /// Premises named, and those that are no declaration of the environment.
    pub premises: usize,
    pub premises_missing: Vec<String>,
}

/// How many unreadable steps a run keeps to show.
const NOT_READABLE_EXAMPLES: usize = 20;

impl ReplayStats {
    pub fn add(&mut self, other: ReplayStats) {
        self.steps += other.steps;
        self.reached += other.reached;
        self.in_context += other.in_context;
        self.in_context_reached += other.in_context_reached;
        self.wrong.extend(other.wrong);
        self.from_text_differs.extend(other.from_text_differs);
        self.not_readable += other.not_readable;
        for e in other.not_readable_examples {
            if self.not_readable_examples.len() < NOT_READABLE_EXAMPLES {
                self.not_readable_examples.push(e);
            }
        }
        self.several_goals += other.several_goals;
        self.premises += other.premises;
        self.premises_missing.extend(other.premises_missing);
    }
}

/// How to trace: Lean, the project, the sandbox, limits.
#[derive(Clone, Debug)]
pub struct Tracer {
    pub install: LeanInstall,
    pub project: Option<LeanProject>,
    pub sandbox: SandboxMode,
    pub memory_mb: Option<u64>,
    pub export_timeout: Duration,
}

/// The file of a declaration for records: relative to the project's root inside it, else
/// relative to the search-path root holding it (core Lean's library), else as given.
pub fn display_path(path: &Path, project: Option<&LeanProject>, search_path: &[PathBuf]) -> String {
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(p) = project
        && let Ok(rel) = canon.strip_prefix(&p.root)
    {
        return rel.display().to_string();
    }
    for root in search_path {
        let root = root.canonicalize().unwrap_or_else(|_| root.clone());
        if let Ok(rel) = canon.strip_prefix(&root) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// The file a declaration comes from, from the `.olean` Lean names.
fn source_of_olean(olean: &str, project: Option<&LeanProject>, search_path: &[PathBuf]) -> String {
    let lean = Path::new(olean).with_extension("lean");
    display_path(&lean, project, search_path)
}

/// The same file with every theorem's proof replaced by `sorry` (examples are left out of
/// this: they declare nothing later commands could use). What resolution needs is each
/// theorem's place and the environment there; elaborating the proofs again would double the
/// cost of a trace.
pub fn statements_only(run: &FileRun) -> LeanFile {
    let segments = run
        .lean
        .segments
        .iter()
        .map(|s| match s {
            Segment::Theorem(t) if !t.example && !t.fallback.is_empty() => {
                let mut t = t.clone();
                t.decl.text = t.fallback.clone();
                Segment::Theorem(t)
            }
            other => other.clone(),
        })
        .collect();
    LeanFile {
        key: format!("{}-statements", run.lean.key),
        segments,
    }
}

impl Tracer {
    fn search_path(&self) -> Vec<PathBuf> {
        match &self.project {
            Some(p) => p.search_path.clone(),
            None => lean_bridge::locate::core_search_path(&self.install).unwrap_or_default(),
        }
    }

    /// Runs Lean's export of `text` as the content of `path` (blocking; run it off the async
    /// threads).
    pub fn export(&self, path: &Path, text: &str) -> Result<AstRun, LeanError> {
        AstJob {
            install: &self.install,
            project: self.project.as_ref(),
            sandbox: self.sandbox,
            memory_mb: self.memory_mb,
            timeout: self.export_timeout,
        }
        .run_source(path, text)
    }

    /// Traces the theorems of `file` (parsed from `path`'s text) whose proofs have tactic steps.
    /// `pool` runs the file's commands for name resolution: its imports must be the file's (or
    /// the `header`'s, which replaces them).
    pub async fn trace_file(
        self: &Arc<Self>,
        pool: &LeanPool,
        file: &ProblemFile,
        header: Option<&Header>,
    ) -> Result<FileTrace, TraceError> {
        let path = file.path.clone().unwrap_or_default();
        let this = self.clone();
        let p = path.clone();
        let text = file.source.clone();
        let run = tokio::task::spawn_blocking(move || this.export(&p, &text))
            .await
            .map_err(|e| TraceError::Join(e.to_string()))??;
        let search_path = self.search_path();
        let file_path = display_path(&path, self.project.as_ref(), &search_path);
        let (decls, all_steps) = steps(&run.export, &file.source);
        let mut out = FileTrace {
            messages: run.messages,
            export_time: run.elapsed,
            export_peak_rss_kib: run.peak_rss_kib,
            ..FileTrace::default()
        };
        // Theorems and lemmas (not definitions, instances or examples), by full name.
        let theorem_names: HashMap<&str, usize> = file
            .theorems
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind != DeclKind::Example)
            .map(|(i, t)| (t.full_name.as_str(), i))
            .collect();
        let mut by_decl: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
        for s in &all_steps {
            by_decl.entry(s.decl.as_str()).or_default().push(s);
        }
        let spans: HashMap<&str, &DeclSpan> =
            decls.iter().map(|d| (d.full_name.as_str(), d)).collect();
        let file_run = FileRun::new(file, header);
        let lean_file = statements_only(&file_run);
        let lines = LineIndex::new(&file.source);
        let started = Instant::now();
        // Declarations in file order.
        let mut order: Vec<(&str, &DeclSpan)> = by_decl
            .keys()
            .filter_map(|d| spans.get(d).map(|s| (*d, *s)))
            .collect();
        order.sort_by_key(|(_, s)| s.start);
        for (decl, span) in order {
            let segment = match theorem_names.get(decl) {
                Some(&i) => Some(file_run.segment_of[i]),
                None => {
                    // Not a theorem the parser saw (a definition with a `by` block, or a
                    // theorem it could not read): resolve where the closest theorem before it
                    // stands.
                    if !span_is_theorem(file, span, &lines) {
                        continue;
                    }
                    out.resolved_nearby += 1;
                    closest_theorem_before(file, &file_run, span, &lines)
                }
            };
            let steps = &by_decl[decl];
            let mut names: Vec<String> = Vec::new();
            for s in steps {
                let locals = local_names(&s.state_before);
                for i in &s.idents {
                    let head = i.name.split('.').next().unwrap_or("");
                    if !locals.contains(head) && !names.contains(&i.name) {
                        names.push(i.name.clone());
                    }
                }
            }
            let resolved: HashMap<String, DeclPlace> = match (segment, names.is_empty()) {
                (Some(seg), false) => {
                    let places = pool
                        .resolve_at_file_theorem(&lean_file, seg, &names)
                        .await?;
                    names
                        .iter()
                        .cloned()
                        .zip(places)
                        .filter_map(|(n, p)| p.map(|p| (n, p)))
                        .collect()
                }
                _ => HashMap::new(),
            };
            out.unresolved += names.len() - resolved.len();
            let mut traced = Vec::new();
            for s in steps {
                let locals = local_names(&s.state_before);
                traced.push(self.annotate(
                    s,
                    &resolved,
                    &locals,
                    file,
                    &file_path,
                    &search_path,
                    &lines,
                ));
            }
            out.theorems.push(TracedTheorem {
                full_name: decl.to_string(),
                file_path: file_path.clone(),
                start: span.start,
                end: span.end,
                traced_tactics: traced,
            });
        }
        out.resolve_time = started.elapsed();
        Ok(out)
    }

    /// Replays every traced step of `theorems` (traced from `file`) from its text, where the
    /// file states the theorem, and checks that every premise is a declaration there.
    pub async fn replay_file(
        &self,
        pool: &LeanPool,
        file: &ProblemFile,
        header: Option<&Header>,
        theorems: &[TracedTheorem],
    ) -> Result<ReplayStats, TraceError> {
        let run = FileRun::new(file, header);
        let lean_file = statements_only(&run);
        let mut stats = ReplayStats::default();
        let mut names: Vec<String> = Vec::new();
        for t in theorems {
            let Some(i) = file
                .theorems
                .iter()
                .position(|x| x.full_name == t.full_name)
            else {
                continue;
            };
            let segment = run.segment_of[i];
            let outcomes =
                crate::replay::replay_theorem(pool, &lean_file, segment, &t.traced_tactics).await;
            for (step, (outcome, how)) in t.traced_tactics.iter().zip(outcomes) {
                stats.steps += 1;
                let in_context = how == crate::replay::How::InContext;
                stats.in_context += usize::from(in_context);
                let wrong = if in_context {
                    &mut stats.wrong
                } else {
                    &mut stats.from_text_differs
                };
                for p in &step.annotated_tactic.1 {
                    stats.premises += 1;
                    // The file's own declarations are not in the imports' environment.
                    if p.def_path.as_deref() != Some(t.file_path.as_str())
                        && !names.contains(&p.full_name)
                    {
                        names.push(p.full_name.clone());
                    }
                }
                match outcome {
                    Replayed::Reached => {
                        stats.reached += 1;
                        stats.in_context_reached += usize::from(in_context);
                    }
                    Replayed::NotReadable(why) => {
                        stats.not_readable += 1;
                        if stats.not_readable_examples.len() < NOT_READABLE_EXAMPLES {
                            stats.not_readable_examples.push((
                                t.full_name.clone(),
                                step.tactic.clone(),
                                why,
                            ));
                        }
                    }
                    Replayed::SeveralGoals => stats.several_goals += 1,
                    Replayed::Different { got } => wrong.push((
                        t.full_name.clone(),
                        step.tactic.clone(),
                        format!("left `{got}`, not `{}`", step.state_after),
                    )),
                    Replayed::Failed(e) => wrong.push((
                        t.full_name.clone(),
                        step.tactic.clone(),
                        format!("failed: {e}"),
                    )),
                }
            }
        }
        if !names.is_empty() {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let declared = pool.declared(&refs).await?;
            stats.premises_missing = names
                .iter()
                .zip(declared)
                .filter(|(_, d)| !d)
                .map(|(n, _)| n.clone())
                .collect();
        }
        Ok(stats)
    }

    #[allow(clippy::too_many_arguments)]
    fn annotate(
        &self,
        s: &Step,
        resolved: &HashMap<String, DeclPlace>,
        locals: &std::collections::HashSet<String>,
        file: &ProblemFile,
        file_path: &str,
        search_path: &[PathBuf],
        lines: &LineIndex,
    ) -> TracedTactic {
        let base = lines.offset(s.start).unwrap_or(0);
        let mut annotated = String::new();
        let mut premises = Vec::new();
        let mut at = 0usize;
        for i in &s.idents {
            let head = i.name.split('.').next().unwrap_or("");
            if locals.contains(head) {
                continue;
            }
            let Some(place) = resolved.get(&i.name) else {
                continue;
            };
            let (Some(a), Some(b)) = (lines.offset(i.start), lines.offset(i.end)) else {
                continue;
            };
            let (a, b) = (a.saturating_sub(base), b.saturating_sub(base));
            if a < at || b > s.text.len() || a > b {
                continue;
            }
            annotated.push_str(&s.text[at..a]);
            annotated.push_str("<a>");
            annotated.push_str(&s.text[a..b]);
            annotated.push_str("</a>");
            at = b;
            premises.push(self.premise(place, file, file_path, search_path));
        }
        annotated.push_str(&s.text[at..]);
        TracedTactic {
            tactic: s.text.clone(),
            annotated_tactic: (annotated, premises),
            state_before: s.state_before.clone(),
            state_after: s.state_after.clone(),
        }
    }

    fn premise(
        &self,
        place: &DeclPlace,
        file: &ProblemFile,
        file_path: &str,
        search_path: &[PathBuf],
    ) -> Premise {
        match &place.olean {
            Some(olean) => Premise {
                full_name: place.name.clone(),
                def_path: Some(source_of_olean(olean, self.project.as_ref(), search_path)),
                def_pos: place.line.zip(place.column),
            },
            // Declared in this file: where the file parser saw it.
            None => {
                let t = file.theorems.iter().find(|t| t.full_name == place.name);
                Premise {
                    full_name: place.name.clone(),
                    def_path: Some(file_path.to_string()),
                    def_pos: t.map(|t| {
                        let (line, col) = line_col(&file.source, t.span.start);
                        (line, col)
                    }),
                }
            }
        }
    }
}

/// Lean's (line, character column) of a byte offset.
fn line_col(src: &str, offset: usize) -> (u32, u32) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before
        .rfind('\n')
        .map_or(before, |i| &before[i + 1..])
        .chars()
        .count() as u32;
    (line, col)
}

/// Whether the declaration at `span` is written with `theorem` or `lemma`.
fn span_is_theorem(file: &ProblemFile, span: &DeclSpan, lines: &LineIndex) -> bool {
    let Some(start) = lines.offset(span.start) else {
        return false;
    };
    let text = &file.source[start..];
    let mut words = text.split_whitespace();
    // Modifiers and attributes may come first.
    for w in words.by_ref().take(6) {
        match w {
            "theorem" | "lemma" => return true,
            "def" | "definition" | "instance" | "example" | "abbreviation" | "meta" => {
                return false;
            }
            _ => {}
        }
    }
    false
}

fn closest_theorem_before(
    file: &ProblemFile,
    run: &FileRun,
    span: &DeclSpan,
    lines: &LineIndex,
) -> Option<usize> {
    let start = lines.offset(span.start)?;
    file.theorems
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind != DeclKind::Example && t.span.start <= start)
        .map(|(i, _)| run.segment_of[i])
        .next_back()
}
