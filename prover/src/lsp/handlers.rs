//! The requests: code actions (checked suggestions, "Prove with search"), their resolution,
//! completions, and the prove command.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use lsp_server::ResponseError;
use lsp_types::{
    ApplyWorkspaceEditParams, CodeAction, CodeActionDisabled, CodeActionKind, CodeActionOrCommand,
    CodeActionParams, CodeActionTriggerKind, Command, CompletionItem, CompletionItemKind,
    CompletionList, CompletionParams, CompletionTextEdit, Documentation, ExecuteCommandParams,
    MarkupContent, MarkupKind, MessageType, OneOf, OptionalVersionedTextDocumentIdentifier,
    ProgressToken, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};
use problems::ProblemFile;
use search::{BestFirstSearch, CancellationToken};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::cursor::{self, Place};
use super::server::{CacheKey, Failure, Server, Snapshot};
use super::shared_runs::RunEnd;
use super::text::{blank_line, line_start, offset_at, range_of};
use crate::lean_opts::first_line;
use crate::suggest::{self, Outcome, SuggestError, Suggestion, Suggestions};

/// Code action kind of the checked suggestions.
pub const SUGGEST_KIND: &str = "refactor.rewrite.prover.suggest";
/// Code action kind of "Prove with search".
pub const PROVE_KIND: &str = "refactor.rewrite.prover.prove";
/// The command behind "Prove with search" for clients that cannot resolve code actions.
pub const PROVE_COMMAND: &str = "prover.proveWithSearch";

/// Which theorem "Prove with search" is for; carried in the code action's `data` (or the
/// command's argument).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProveTarget {
    pub uri: Uri,
    pub theorem: String,
    /// The line (0-based) the action was offered on, to read the file around it.
    #[serde(default)]
    pub line: u32,
}

/// What the prove command answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProveAnswer {
    theorem: String,
    proof: String,
    applied: bool,
    expansions: usize,
    time_s: f64,
}

fn wanted(only: &Option<Vec<CodeActionKind>>, kind: &str) -> bool {
    match only {
        None => true,
        Some(kinds) => kinds.iter().any(|k| {
            let k = k.as_str();
            kind == k || kind.starts_with(&format!("{k}."))
        }),
    }
}

pub async fn code_action(
    server: Arc<Server>,
    params: CodeActionParams,
    cancel: CancellationToken,
) -> Result<Value, ResponseError> {
    let only = &params.context.only;
    let (want_suggest, want_prove) = (wanted(only, SUGGEST_KIND), wanted(only, PROVE_KIND));
    if !want_suggest && !want_prove {
        return Ok(json!([]));
    }
    let Some(snap) = server.snapshot(&params.text_document.uri) else {
        return Ok(json!([]));
    };
    // A file we cannot read has a diagnostic saying so.
    let Ok(file) = server.parse_around(&snap.text, snap.path.as_deref(), params.range.start.line)
    else {
        return Ok(json!([]));
    };
    let offset = offset_at(&snap.text, params.range.start);
    let place = cursor::place(&file, &snap.text, offset);
    let Some(index) = place.theorem() else {
        return Ok(json!([]));
    };
    // Lean runs only when the user asked (not for the automatic lightbulb on every cursor
    // move); the lightbulb shows what was already computed.
    let invoked = params.context.trigger_kind != Some(CodeActionTriggerKind::AUTOMATIC);
    let mut actions: Vec<CodeActionOrCommand> = Vec::new();
    if want_suggest {
        match place {
            Place::Steps { index, line } => {
                let found = if invoked {
                    let progress = server
                        .client
                        .progress(
                            params.work_done_progress_params.work_done_token.clone(),
                            true,
                            "Suggest tactics",
                            &cancel,
                        )
                        .await;
                    Some(suggestions(&server, &snap, &file, index, line, &cancel, &progress).await)
                } else {
                    let key = cache_key(&server, &snap, &file, index, line);
                    server.cached(&key).map(Ok)
                };
                match found {
                    Some(Ok(s)) => {
                        let t = &file.theorems[index];
                        let mut first_closing = true;
                        for sug in s.offered() {
                            let edits = cursor::insert_tactic(t, &snap.text, line, &sug.tactic);
                            let preferred = sug.outcome == Outcome::Closes && first_closing;
                            first_closing &= !preferred;
                            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                                title: format!(
                                    "Suggest tactics: insert `{}` ({})",
                                    short(&sug.tactic, 60),
                                    outcome_summary(sug, s.num_goals)
                                ),
                                kind: Some(CodeActionKind::new(SUGGEST_KIND)),
                                edit: Some(edit_for(&server, &snap, edits)),
                                is_preferred: Some(preferred),
                                ..CodeAction::default()
                            }));
                        }
                        if s.offered().next().is_none() && invoked {
                            let tried = s.suggestions.len();
                            disabled(
                                &server,
                                &mut actions,
                                format!(
                                    "none of the {tried} tactic(s) the policy proposed works here"
                                ),
                            );
                        }
                    }
                    Some(Err(Failure::Cancelled)) => return Err(super::server::cancelled()),
                    Some(Err(Failure::Message(m))) => disabled(&server, &mut actions, m),
                    None => {}
                }
            }
            Place::InsideStep { step_line, .. } if invoked => disabled(
                &server,
                &mut actions,
                format!(
                    "the cursor is inside the step that starts on line {step_line}; \
                     suggestions are for points between top-level steps"
                ),
            ),
            _ => {}
        }
    }
    if want_prove {
        let line0 = params.range.start.line;
        actions.push(prove_action(
            &server,
            &snap.uri,
            &file.theorems[index].name,
            line0,
        ));
    }
    Ok(serde_json::to_value(actions).unwrap_or(Value::Null))
}

/// A disabled "Suggest tactics" action saying why (or a message, for clients that do not show
/// disabled actions).
fn disabled(server: &Server, actions: &mut Vec<CodeActionOrCommand>, reason: String) {
    if server.client.flags.disabled_actions {
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: "Suggest tactics".into(),
            kind: Some(CodeActionKind::new(SUGGEST_KIND)),
            disabled: Some(CodeActionDisabled {
                reason: reason.clone(),
            }),
            ..CodeAction::default()
        }));
    } else {
        server
            .client
            .show_message(MessageType::INFO, format!("Suggest tactics: {reason}"));
    }
}

fn prove_action(server: &Server, uri: &Uri, theorem: &str, line: u32) -> CodeActionOrCommand {
    let target = ProveTarget {
        uri: uri.clone(),
        theorem: theorem.to_string(),
        line,
    };
    let title = format!("Prove with search: {theorem}");
    let target = serde_json::to_value(&target).unwrap_or(Value::Null);
    CodeActionOrCommand::CodeAction(if server.client.flags.resolve_edit {
        CodeAction {
            title,
            kind: Some(CodeActionKind::new(PROVE_KIND)),
            data: Some(target),
            ..CodeAction::default()
        }
    } else {
        CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::new(PROVE_KIND)),
            command: Some(Command {
                title,
                command: PROVE_COMMAND.into(),
                arguments: Some(vec![target]),
            }),
            ..CodeAction::default()
        }
    })
}

/// `codeAction/resolve`: runs the search for "Prove with search" and fills in the edit.
pub async fn resolve_code_action(
    server: Arc<Server>,
    mut action: CodeAction,
    cancel: CancellationToken,
) -> Result<Value, ResponseError> {
    let is_prove = action.kind.as_ref().map(|k| k.as_str()) == Some(PROVE_KIND);
    let target = action
        .data
        .clone()
        .and_then(|d| serde_json::from_value::<ProveTarget>(d).ok());
    let (true, Some(target)) = (is_prove, target) else {
        // Nothing to resolve.
        return Ok(serde_json::to_value(action).unwrap_or(Value::Null));
    };
    let (edit, _) = prove(&server, &target, None, &cancel).await?;
    action.edit = Some(edit);
    Ok(serde_json::to_value(action).unwrap_or(Value::Null))
}

/// `workspace/executeCommand` `prover.proveWithSearch`: runs the search and applies the proof
/// with `workspace/applyEdit`.
pub async fn execute_command(
    server: Arc<Server>,
    params: ExecuteCommandParams,
    cancel: CancellationToken,
) -> Result<Value, ResponseError> {
    if params.command != PROVE_COMMAND {
        return Err(super::server::response_error(
            lsp_server::ErrorCode::InvalidParams,
            &format!("unknown command {}", params.command),
        ));
    }
    let target = params
        .arguments
        .first()
        .cloned()
        .and_then(|a| serde_json::from_value::<ProveTarget>(a).ok())
        .ok_or_else(|| {
            super::server::response_error(
                lsp_server::ErrorCode::InvalidParams,
                "prover.proveWithSearch takes {uri, theorem}",
            )
        })?;
    let token = params.work_done_progress_params.work_done_token;
    let (edit, mut answer) = prove(&server, &target, token, &cancel).await?;
    let applied = server
        .client
        .request::<lsp_types::request::ApplyWorkspaceEdit>(
            ApplyWorkspaceEditParams {
                label: Some(format!("Prove {}", target.theorem)),
                edit,
            },
            Duration::from_secs(30),
        )
        .await;
    answer.applied = matches!(applied, Ok(ref r) if r.applied);
    if let Err(e) = applied {
        server.client.show_message(
            MessageType::WARNING,
            format!("prover: the proof was found but not applied: {e}"),
        );
    }
    Ok(serde_json::to_value(answer).unwrap_or(Value::Null))
}

/// Runs the best-first search on the theorem and returns the edit replacing its proof with
/// the verified one.
async fn prove(
    server: &Arc<Server>,
    target: &ProveTarget,
    token: Option<ProgressToken>,
    cancel: &CancellationToken,
) -> Result<(WorkspaceEdit, ProveAnswer), Failure> {
    let fail = |m: String| {
        server
            .client
            .show_message(MessageType::WARNING, format!("Prove with search: {m}"));
        Failure::Message(m)
    };
    let snap = server
        .snapshot(&target.uri)
        .ok_or_else(|| fail("the document is not open".into()))?;
    let file = server
        .parse_around(&snap.text, snap.path.as_deref(), target.line)
        .map_err(|e| fail(format!("the file does not parse: {e}")))?;
    let index = file
        .theorems
        .iter()
        .position(|t| t.name == target.theorem)
        .ok_or_else(|| fail(format!("no theorem {} in the document", target.theorem)))?;
    let progress = server
        .client
        .progress(
            token,
            true,
            &format!("Prove {} with search", target.theorem),
            cancel,
        )
        .await;
    progress.report("starting Lean", None);
    let backend = server
        .backend_for(&snap, &file, cancel)
        .await
        .map_err(|f| match f {
            Failure::Message(m) => fail(m),
            other => other,
        })?;
    let t = &file.theorems[index];
    // The proof is not known yet: the statement decides which earlier lemmas are in scope.
    let task = Arc::new(suggest::theorem_task(&file, index, &t.statement));
    let search = BestFirstSearch::new(server.settings.search.clone());
    let limit = server.settings.search.time_limit_s;
    let started = Instant::now();
    let outcome = {
        // The theorem starts where the document states it: its namespace, variables and the
        // definitions above it in scope.
        let env = backend.env.with_theorem(&t.name, &file, index, None);
        let run = search.run(&env, &*backend.policy, task, cancel);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                o = &mut run => break o,
                _ = tick.tick() => {
                    let s = started.elapsed().as_secs_f64();
                    let pct = (limit > 0.0).then(|| ((s / limit) * 100.0).min(99.0) as u32);
                    progress.report(format!("searching ({s:.0}s)"), pct);
                }
            }
        }
    };
    if cancel.is_cancelled() {
        return Err(Failure::Cancelled);
    }
    let r = outcome.result;
    let Some(proof) = r.proof.clone().filter(|_| r.success()) else {
        let why = r.error.as_deref().map(first_line).unwrap_or("");
        return Err(fail(format!(
            "no proof of {} found ({:?} after {} expansions, {:.1}s){}{}",
            target.theorem,
            r.stop_reason,
            r.expansions,
            r.time_s,
            if why.is_empty() { "" } else { ": " },
            why
        )));
    };
    // The document may have changed during the search: place the proof in its current text.
    let now = server.snapshot(&target.uri).unwrap_or(snap);
    let current = server
        .parse_around(&now.text, now.path.as_deref(), target.line)
        .map_err(|e| fail(format!("the file no longer parses: {e}")))?;
    let span = current
        .theorems
        .iter()
        .find(|c| c.name == target.theorem && c.statement == t.statement)
        .and_then(|c| c.proof_span)
        .ok_or_else(|| {
            fail(format!(
                "{} changed during the search; found proof:\n{proof}",
                target.theorem
            ))
        })?;
    let edit = TextEdit {
        range: range_of(&now.text, span.start, span.end),
        new_text: proof.clone(),
    };
    let answer = ProveAnswer {
        theorem: target.theorem.clone(),
        proof,
        applied: false,
        expansions: r.expansions,
        time_s: r.time_s,
    };
    Ok((edit_for(server, &now, vec![edit]), answer))
}

/// `textDocument/completion` at the start of a tactic line: checked suggestions for the state
/// before that line.
pub async fn completion(
    server: Arc<Server>,
    params: CompletionParams,
    cancel: CancellationToken,
) -> Result<Value, ResponseError> {
    let pos = params.text_document_position.position;
    let Some(snap) = server.snapshot(&params.text_document_position.text_document.uri) else {
        return Ok(Value::Null);
    };
    let cursor = offset_at(&snap.text, pos);
    let start = line_start(&snap.text, pos.line);
    if !cursor::at_tactic_start(&snap.text[start..cursor]) {
        return Ok(Value::Null);
    }
    // The line being typed is not a step yet: read the file without it.
    let blanked = blank_line(&snap.text, pos.line);
    let Ok(file) = server.parse_around(&blanked, snap.path.as_deref(), pos.line) else {
        return Ok(Value::Null);
    };
    let Place::Steps { index, line } =
        cursor::place(&file, &blanked, line_start(&blanked, pos.line))
    else {
        return Ok(Value::Null);
    };
    let progress = server
        .client
        .progress(
            params.work_done_progress_params.work_done_token,
            false,
            "Suggest tactics",
            &cancel,
        )
        .await;
    let s = match suggestions(&server, &snap, &file, index, line, &cancel, &progress).await {
        Ok(s) => s,
        Err(Failure::Cancelled) => return Err(super::server::cancelled()),
        Err(Failure::Message(m)) => {
            tracing::debug!("no completions: {m}");
            return Ok(json!(CompletionList {
                is_incomplete: false,
                items: Vec::new()
            }));
        }
    };
    let t = &file.theorems[index];
    let items: Vec<CompletionItem> = s
        .offered()
        .enumerate()
        .map(|(i, sug)| {
            let (main, extra) = cursor::complete_tactic(t, &snap.text, line, cursor, &sug.tactic);
            CompletionItem {
                label: first_line(&sug.tactic).to_string(),
                kind: Some(CompletionItemKind::SNIPPET),
                detail: Some(outcome_summary(sug, s.num_goals)),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: documentation(sug, &s),
                })),
                preselect: Some(i == 0),
                sort_text: Some(format!("{i:04}")),
                filter_text: Some(sug.tactic.clone()),
                text_edit: Some(CompletionTextEdit::Edit(main)),
                additional_text_edits: (!extra.is_empty()).then_some(extra),
                ..CompletionItem::default()
            }
        })
        .collect();
    Ok(serde_json::to_value(CompletionList {
        is_incomplete: false,
        items,
    })
    .unwrap_or(Value::Null))
}

/// The checked suggestions for theorem `index` at `line`: from the cache, from a run already
/// going for the same state, or from a new run. Stage messages go to `progress`.
async fn suggestions(
    server: &Arc<Server>,
    snap: &Snapshot,
    file: &ProblemFile,
    index: usize,
    line: usize,
    cancel: &CancellationToken,
    progress: &super::client::Progress,
) -> Result<Arc<Suggestions>, Failure> {
    let key = cache_key(server, snap, file, index, line);
    // A run can be abandoned just as we join it (its grace period ran out): start again once.
    for _ in 0..2 {
        if let Some(s) = server.cached(&key) {
            return Ok(s);
        }
        let mut ticket = server.runs.join(key.clone(), |run_cancel, stage| {
            let (server, snap, file, key) =
                (server.clone(), snap.clone(), file.clone(), key.clone());
            async move {
                run_suggestions(server, snap, file, index, line, key, run_cancel, stage).await
            }
            .boxed()
        });
        let mut stage_open = true;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(Failure::Cancelled),
                end = ticket.done.clone() => match end {
                    RunEnd::Done(s) => return Ok(s),
                    RunEnd::Failed(m) => return Err(Failure::Message(m)),
                    RunEnd::Cancelled => break,
                },
                changed = ticket.stage.changed(), if stage_open => match changed {
                    Ok(()) => {
                        let message = ticket.stage.borrow().clone();
                        progress.report(message, None);
                    }
                    Err(_) => stage_open = false,
                },
            }
        }
    }
    Err(Failure::Message("the suggestion run was abandoned".into()))
}

/// One suggestion run: start (or reuse) the backend, run the core, remember the result.
#[allow(clippy::too_many_arguments)]
async fn run_suggestions(
    server: Arc<Server>,
    snap: Snapshot,
    file: ProblemFile,
    index: usize,
    line: usize,
    key: CacheKey,
    cancel: CancellationToken,
    stage: tokio::sync::watch::Sender<String>,
) -> RunEnd<Arc<Suggestions>> {
    let _ = stage.send("starting Lean".into());
    let backend = match server.backend_for(&snap, &file, &cancel).await {
        Ok(b) => b,
        Err(Failure::Cancelled) => return RunEnd::Cancelled,
        Err(Failure::Message(m)) => return RunEnd::Failed(m),
    };
    let env = backend
        .env
        .with_theorem(&file.theorems[index].name, &file, index, None);
    let result = suggest::suggest(
        &env,
        &*backend.policy,
        &file,
        index,
        line,
        &server.settings.suggest,
        &cancel,
        |s| {
            let _ = stage.send(s.message());
        },
    )
    .await;
    match result {
        Ok(s) => {
            let s = Arc::new(s);
            server.remember(key, s.clone());
            RunEnd::Done(s)
        }
        Err(SuggestError::Cancelled) => RunEnd::Cancelled,
        Err(e) => RunEnd::Failed(e.to_string()),
    }
}

fn cache_key(
    server: &Server,
    snap: &Snapshot,
    file: &ProblemFile,
    index: usize,
    line: usize,
) -> CacheKey {
    let t = &file.theorems[index];
    CacheKey {
        pool: server
            .backends
            .key(&file.header.imports, snap.path.as_deref()),
        context: suggest::suggestion_task(file, index).context,
        // The goal depends on everything above the theorem (variables, notation, definitions).
        above: {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(
                &file.source[..t.command_start.min(file.source.len())],
                &mut h,
            );
            std::hash::Hasher::finish(&h)
        },
        statement: t.statement.clone(),
        steps: t
            .moves_before(line, None)
            .iter()
            .map(|m| format!("{m:?}"))
            .collect(),
        candidates: server.settings.suggest.candidates,
    }
}

/// A versioned edit of one document when the client takes those, else a plain one.
fn edit_for(server: &Server, snap: &Snapshot, edits: Vec<TextEdit>) -> WorkspaceEdit {
    if server.client.flags.document_changes {
        WorkspaceEdit {
            document_changes: Some(lsp_types::DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: snap.uri.clone(),
                    version: Some(snap.version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..WorkspaceEdit::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some(HashMap::from([(snap.uri.clone(), edits)])),
            ..WorkspaceEdit::default()
        }
    }
}

/// `closes the goal`, or `leaves 2 goals: ⊢ p, ⊢ q`.
fn outcome_summary(s: &Suggestion, goals_before: usize) -> String {
    let label = s.outcome.label(goals_before);
    match &s.outcome {
        Outcome::Leaves { goals, .. } => {
            let targets: Vec<&str> = goals
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with('⊢'))
                .collect();
            if targets.is_empty() {
                label
            } else {
                format!("{label}: {}", short(&targets.join(", "), 80))
            }
        }
        _ => label,
    }
}

fn documentation(s: &Suggestion, all: &Suggestions) -> String {
    let mut doc = format!(
        "**{}** — checked in Lean on the state before line {}.\n\n",
        s.outcome.label(all.num_goals),
        all.line
    );
    if let Outcome::Leaves { goals, .. } = &s.outcome {
        doc.push_str(&format!("Goals after it:\n```lean\n{goals}\n```\n\n"));
    }
    doc.push_str(&format!("Policy score {:.3}.", s.score));
    doc
}

fn short(text: &str, max: usize) -> String {
    crate::output::one_line(text, max + 1)
}
