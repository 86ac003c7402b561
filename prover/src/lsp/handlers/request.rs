//! The requests: code actions (checked suggestions, "Prove with search"), their resolution,
//! completions, and the prove command. Each runs on its own task with a snapshot of the state
//! and a token cancelled when the client cancels the request, and returns its method's result.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use lsp_types::{
    ApplyWorkspaceEditParams, CodeAction, CodeActionDisabled, CodeActionKind, CodeActionOrCommand,
    CodeActionParams, CodeActionResponse, CodeActionTriggerKind, Command, CompletionItem,
    CompletionItemKind, CompletionList, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, ExecuteCommandParams, MarkupContent, MarkupKind, MessageType, OneOf,
    OptionalVersionedTextDocumentIdentifier, ProgressToken, TextDocumentEdit, TextEdit, Uri,
    WorkspaceEdit,
};
use problems::ProblemFile;
use search::{BestFirstSearch, CancellationToken};
use serde_json::Value;

use crate::lsp::cache::CacheKey;
use crate::lsp::client::Progress;
use crate::lsp::cursor::{self, Place};
use crate::lsp::error::{ProveError, RequestError};
use crate::lsp::ext::{PROVE_COMMAND, PROVE_KIND, ProveAnswer, ProveTarget, SUGGEST_KIND};
use crate::lsp::global_state::{DocumentSnapshot, GlobalStateSnapshot};
use crate::lsp::shared_runs::RunEnd;
use crate::lsp::text::{blank_line, line_start, offset_at, range_of};
use lean_env::first_line;
use lean_env::suggest::{self, Outcome, SuggestError, Suggestion, Suggestions};

fn wanted(only: &Option<Vec<CodeActionKind>>, kind: &str) -> bool {
    match only {
        None => true,
        Some(kinds) => kinds.iter().any(|k| {
            let k = k.as_str();
            kind == k || kind.starts_with(&format!("{k}."))
        }),
    }
}

/// `textDocument/codeAction`: the checked suggestions at the cursor and "Prove with search"
/// for the theorem it is in.
pub async fn code_action(
    state: GlobalStateSnapshot,
    params: CodeActionParams,
    cancel: CancellationToken,
) -> Result<Option<CodeActionResponse>, RequestError> {
    let only = &params.context.only;
    let (want_suggest, want_prove) = (wanted(only, SUGGEST_KIND), wanted(only, PROVE_KIND));
    let none = Ok(Some(Vec::new()));
    if !want_suggest && !want_prove {
        return none;
    }
    let Some(doc) = state.document(&params.text_document.uri) else {
        return none;
    };
    // A file we cannot read has a diagnostic saying so.
    let Ok(file) = state.parse_around(&doc.text, doc.path.as_deref(), params.range.start.line)
    else {
        return none;
    };
    let offset = offset_at(&doc.text, params.range.start);
    let place = cursor::place(&file, &doc.text, offset);
    let Some(index) = place.theorem() else {
        return none;
    };
    // Lean runs only when the user asked (not for the automatic lightbulb on every cursor
    // move); the lightbulb shows what was already computed.
    let invoked = params.context.trigger_kind != Some(CodeActionTriggerKind::AUTOMATIC);
    let mut actions: Vec<CodeActionOrCommand> = Vec::new();
    if want_suggest {
        match place {
            Place::Steps { index, line } => {
                let found = if invoked {
                    let progress = state
                        .client
                        .progress(
                            params.work_done_progress_params.work_done_token.clone(),
                            true,
                            "Suggest tactics",
                            &cancel,
                        )
                        .await;
                    Some(suggestions(&state, &doc, &file, index, line, &cancel, &progress).await)
                } else {
                    let key = cache_key(&state, &doc, &file, index, line);
                    state.cached(&key).map(Ok)
                };
                match found {
                    Some(Ok(s)) => {
                        let t = &file.theorems[index];
                        let mut first_closing = true;
                        for sug in s.offered() {
                            let edits = cursor::insert_tactic(t, &doc.text, line, &sug.tactic);
                            let preferred = sug.outcome == Outcome::Closes && first_closing;
                            first_closing &= !preferred;
                            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                                title: format!(
                                    "Suggest tactics: insert `{}` ({})",
                                    short(&sug.tactic, 60),
                                    outcome_summary(sug, s.num_goals)
                                ),
                                kind: Some(CodeActionKind::new(SUGGEST_KIND)),
                                edit: Some(edit_for(&state, &doc, edits)),
                                is_preferred: Some(preferred),
                                ..CodeAction::default()
                            }));
                        }
                        if s.offered().next().is_none() && invoked {
                            let tried = s.suggestions.len();
                            disabled(
                                &state,
                                &mut actions,
                                format!(
                                    "none of the {tried} tactic(s) the policy proposed works here"
                                ),
                            );
                        }
                    }
                    Some(Err(RequestError::Cancelled)) => return Err(RequestError::Cancelled),
                    Some(Err(e)) => disabled(&state, &mut actions, e.to_string()),
                    None => {}
                }
            }
            Place::InsideStep { step_line, .. } if invoked => disabled(
                &state,
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
            &state,
            &doc.uri,
            &file.theorems[index].name,
            line0,
        ));
    }
    Ok(Some(actions))
}

/// A disabled "Suggest tactics" action saying why (or a message, for clients that do not show
/// disabled actions).
fn disabled(state: &GlobalStateSnapshot, actions: &mut Vec<CodeActionOrCommand>, reason: String) {
    if state.client.flags.disabled_actions {
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: "Suggest tactics".into(),
            kind: Some(CodeActionKind::new(SUGGEST_KIND)),
            disabled: Some(CodeActionDisabled {
                reason: reason.clone(),
            }),
            ..CodeAction::default()
        }));
    } else {
        state
            .client
            .show_message(MessageType::INFO, format!("Suggest tactics: {reason}"));
    }
}

fn prove_action(
    state: &GlobalStateSnapshot,
    uri: &Uri,
    theorem: &str,
    line: u32,
) -> CodeActionOrCommand {
    let target = ProveTarget {
        uri: uri.clone(),
        theorem: theorem.to_string(),
        line,
    };
    let title = format!("Prove with search: {theorem}");
    let target = serde_json::to_value(&target).unwrap_or(Value::Null);
    CodeActionOrCommand::CodeAction(if state.client.flags.resolve_edit {
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
    state: GlobalStateSnapshot,
    mut action: CodeAction,
    cancel: CancellationToken,
) -> Result<CodeAction, RequestError> {
    let is_prove = action.kind.as_ref().map(|k| k.as_str()) == Some(PROVE_KIND);
    let target = action
        .data
        .clone()
        .and_then(|d| serde_json::from_value::<ProveTarget>(d).ok());
    let (true, Some(target)) = (is_prove, target) else {
        // Nothing to resolve.
        return Ok(action);
    };
    let (edit, _) = prove(&state, &target, None, &cancel).await?;
    action.edit = Some(edit);
    Ok(action)
}

/// `workspace/executeCommand` `prover.proveWithSearch`: runs the search and applies the proof
/// with `workspace/applyEdit`.
pub async fn execute_command(
    state: GlobalStateSnapshot,
    params: ExecuteCommandParams,
    cancel: CancellationToken,
) -> Result<Option<Value>, RequestError> {
    if params.command != PROVE_COMMAND {
        return Err(RequestError::UnknownCommand(params.command));
    }
    let target = params
        .arguments
        .first()
        .cloned()
        .and_then(|a| serde_json::from_value::<ProveTarget>(a).ok())
        .ok_or(RequestError::InvalidProveTarget)?;
    let token = params.work_done_progress_params.work_done_token;
    let (edit, mut answer) = prove(&state, &target, token, &cancel).await?;
    let applied = state
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
        state.client.show_message(
            MessageType::WARNING,
            format!("prover: the proof was found but not applied: {e}"),
        );
    }
    Ok(Some(serde_json::to_value(answer).unwrap_or(Value::Null)))
}

/// Runs the best-first search on the theorem and returns the edit replacing its proof with
/// the verified one. Why it could not (unless cancelled) is shown to the user too, while the
/// search's progress is still up.
async fn prove(
    state: &GlobalStateSnapshot,
    target: &ProveTarget,
    token: Option<ProgressToken>,
    cancel: &CancellationToken,
) -> Result<(WorkspaceEdit, ProveAnswer), RequestError> {
    let show = |e: RequestError| {
        if !matches!(e, RequestError::Cancelled) {
            state
                .client
                .show_message(MessageType::WARNING, format!("Prove with search: {e}"));
        }
        e
    };
    let (doc, file, index) = theorem_to_prove(state, target).map_err(show)?;
    let progress = state
        .client
        .progress(
            token,
            true,
            &format!("Prove {} with search", target.theorem),
            cancel,
        )
        .await;
    search_proof(state, target, doc, &file, index, &progress, cancel)
        .await
        .map_err(show)
}

/// The document of a "Prove with search" target, parsed, and the theorem's index in it.
fn theorem_to_prove(
    state: &GlobalStateSnapshot,
    target: &ProveTarget,
) -> Result<(DocumentSnapshot, ProblemFile, usize), RequestError> {
    let doc = state
        .document(&target.uri)
        .ok_or(ProveError::DocumentNotOpen)?;
    let file = state
        .parse_around(&doc.text, doc.path.as_deref(), target.line)
        .map_err(ProveError::DoesNotParse)?;
    let index = file
        .theorems
        .iter()
        .position(|t| t.name == target.theorem)
        .ok_or_else(|| ProveError::NoSuchTheorem(target.theorem.clone()))?;
    Ok((doc, file, index))
}

async fn search_proof(
    state: &GlobalStateSnapshot,
    target: &ProveTarget,
    doc: DocumentSnapshot,
    file: &ProblemFile,
    index: usize,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(WorkspaceEdit, ProveAnswer), RequestError> {
    progress.report("starting Lean", None);
    let backend = state.backend_for(&doc, file, cancel).await?;
    let t = &file.theorems[index];
    // The proof is not known yet: the statement decides which earlier lemmas are in scope.
    let task = Arc::new(suggest::theorem_task(file, index, &t.statement));
    let search = BestFirstSearch::new(state.settings.search.clone());
    let limit = state.settings.search.time_limit_s;
    let started = Instant::now();
    let outcome = {
        // The theorem starts where the document states it: its namespace, variables and the
        // definitions above it in scope.
        let env = backend.env.with_theorem(&t.name, file, index, None);
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
        return Err(RequestError::Cancelled);
    }
    let r = outcome.result;
    let Some(proof) = r.proof.clone().filter(|_| r.success()) else {
        return Err(ProveError::NotFound {
            theorem: target.theorem.clone(),
            stop_reason: r.stop_reason,
            expansions: r.expansions,
            time_s: r.time_s,
            why: r
                .error
                .as_deref()
                .map(first_line)
                .filter(|why| !why.is_empty())
                .map(String::from),
        }
        .into());
    };
    // The document may have changed during the search: place the proof in its current text.
    let now = state.document(&target.uri).unwrap_or(doc);
    let current = state
        .parse_around(&now.text, now.path.as_deref(), target.line)
        .map_err(ProveError::NoLongerParses)?;
    let span = current
        .theorems
        .iter()
        .find(|c| c.name == target.theorem && c.statement == t.statement)
        .and_then(|c| c.proof_span)
        .ok_or_else(|| ProveError::TheoremChanged {
            theorem: target.theorem.clone(),
            proof: proof.clone(),
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
    Ok((edit_for(state, &now, vec![edit]), answer))
}

/// `textDocument/completion` at the start of a tactic line: checked suggestions for the state
/// before that line.
pub async fn completion(
    state: GlobalStateSnapshot,
    params: CompletionParams,
    cancel: CancellationToken,
) -> Result<Option<CompletionResponse>, RequestError> {
    let pos = params.text_document_position.position;
    let Some(doc) = state.document(&params.text_document_position.text_document.uri) else {
        return Ok(None);
    };
    let cursor = offset_at(&doc.text, pos);
    let start = line_start(&doc.text, pos.line);
    if !cursor::at_tactic_start(&doc.text[start..cursor]) {
        return Ok(None);
    }
    // The line being typed is not a step yet: read the file without it.
    let blanked = blank_line(&doc.text, pos.line);
    let Ok(file) = state.parse_around(&blanked, doc.path.as_deref(), pos.line) else {
        return Ok(None);
    };
    let Place::Steps { index, line } =
        cursor::place(&file, &blanked, line_start(&blanked, pos.line))
    else {
        return Ok(None);
    };
    let progress = state
        .client
        .progress(
            params.work_done_progress_params.work_done_token,
            false,
            "Suggest tactics",
            &cancel,
        )
        .await;
    let s = match suggestions(&state, &doc, &file, index, line, &cancel, &progress).await {
        Ok(s) => s,
        Err(RequestError::Cancelled) => return Err(RequestError::Cancelled),
        Err(e) => {
            tracing::debug!("no completions: {e}");
            return Ok(Some(CompletionResponse::List(CompletionList {
                is_incomplete: false,
                items: Vec::new(),
            })));
        }
    };
    let t = &file.theorems[index];
    let items: Vec<CompletionItem> = s
        .offered()
        .enumerate()
        .map(|(i, sug)| {
            let (main, extra) = cursor::complete_tactic(t, &doc.text, line, cursor, &sug.tactic);
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
    Ok(Some(CompletionResponse::List(CompletionList {
        is_incomplete: false,
        items,
    })))
}

/// The checked suggestions for theorem `index` at `line`: from the cache, from a run already
/// going for the same state, or from a new run. Stage messages go to `progress`.
async fn suggestions(
    state: &GlobalStateSnapshot,
    doc: &DocumentSnapshot,
    file: &ProblemFile,
    index: usize,
    line: usize,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<Arc<Suggestions>, RequestError> {
    let key = cache_key(state, doc, file, index, line);
    // A run can be abandoned just as we join it (its grace period ran out): start again once.
    for _ in 0..2 {
        if let Some(s) = state.cached(&key) {
            return Ok(s);
        }
        let mut ticket = state.runs.join(key.clone(), |run_cancel, stage| {
            let (state, doc, file, key) = (state.clone(), doc.clone(), file.clone(), key.clone());
            async move {
                run_suggestions(state, doc, file, index, line, key, run_cancel, stage).await
            }
            .boxed()
        });
        let mut stage_open = true;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(RequestError::Cancelled),
                end = ticket.done.clone() => match end {
                    RunEnd::Done(s) => return Ok(s),
                    RunEnd::Failed(e) => return Err(e),
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
    Err(RequestError::RunAbandoned)
}

/// One suggestion run: start (or reuse) the backend, run the core, remember the result.
#[allow(clippy::too_many_arguments)]
async fn run_suggestions(
    state: GlobalStateSnapshot,
    doc: DocumentSnapshot,
    file: ProblemFile,
    index: usize,
    line: usize,
    key: CacheKey,
    cancel: CancellationToken,
    stage: tokio::sync::watch::Sender<String>,
) -> RunEnd<Arc<Suggestions>, RequestError> {
    let _ = stage.send("starting Lean".into());
    let backend = match state.backend_for(&doc, &file, &cancel).await {
        Ok(b) => b,
        Err(RequestError::Cancelled) => return RunEnd::Cancelled,
        Err(e) => return RunEnd::Failed(e),
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
        &state.settings.suggest,
        &cancel,
        |s| {
            let _ = stage.send(s.message());
        },
    )
    .await;
    match result {
        Ok(s) => {
            let s = Arc::new(s);
            state.remember(key, s.clone());
            RunEnd::Done(s)
        }
        Err(SuggestError::Cancelled) => RunEnd::Cancelled,
        Err(e) => RunEnd::Failed(RequestError::Suggest(Arc::new(e))),
    }
}

fn cache_key(
    state: &GlobalStateSnapshot,
    doc: &DocumentSnapshot,
    file: &ProblemFile,
    index: usize,
    line: usize,
) -> CacheKey {
    let t = &file.theorems[index];
    CacheKey {
        pool: state
            .backends
            .key(&file.header.imports, doc.path.as_deref()),
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
        candidates: state.settings.suggest.candidates,
    }
}

/// A versioned edit of one document when the client takes those, else a plain one.
fn edit_for(
    state: &GlobalStateSnapshot,
    doc: &DocumentSnapshot,
    edits: Vec<TextEdit>,
) -> WorkspaceEdit {
    if state.client.flags.document_changes {
        WorkspaceEdit {
            document_changes: Some(lsp_types::DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: doc.uri.clone(),
                    version: Some(doc.version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..WorkspaceEdit::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some(HashMap::from([(doc.uri.clone(), edits)])),
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
