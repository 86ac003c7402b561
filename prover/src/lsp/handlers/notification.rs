//! The notifications: open documents and their changes, and cancellations. They run on the
//! main loop, in order; what takes time (parsing a document) goes to a task.

use lsp_server::RequestId;
use lsp_types::{
    CancelParams, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, NumberOrString, PublishDiagnosticsParams, Uri,
    WorkDoneProgressCancelParams,
};

use crate::lsp::global_state::{GlobalState, GlobalStateSnapshot};
use crate::lsp::lean_text::parse_diagnostic;

/// `textDocument/didOpen`: Lean documents are kept (and checked); others are not ours.
pub fn did_open(state: &mut GlobalState, params: DidOpenTextDocumentParams) {
    let d = params.text_document;
    let lean =
        matches!(d.language_id.as_str(), "lean" | "lean3") || d.uri.as_str().ends_with(".lean");
    if !lean {
        return;
    }
    state.documents.open(d.uri.clone(), d.text, d.version);
    check_document(state, d.uri);
}

pub fn did_change(state: &mut GlobalState, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    if state
        .documents
        .change(&uri, params.content_changes, params.text_document.version)
    {
        check_document(state, uri);
    }
}

pub fn did_close(state: &mut GlobalState, params: DidCloseTextDocumentParams) {
    state.documents.close(&params.text_document.uri);
    // Clear what we published for it.
    state
        .client
        .notify::<lsp_types::notification::PublishDiagnostics>(PublishDiagnosticsParams {
            uri: params.text_document.uri,
            diagnostics: Vec::new(),
            version: None,
        });
}

/// `$/cancelRequest`: the request's work stops; the main loop answers it as cancelled.
pub fn cancel(state: &mut GlobalState, params: CancelParams) {
    let id = match params.id {
        NumberOrString::Number(n) => RequestId::from(n),
        NumberOrString::String(s) => RequestId::from(s),
    };
    state.pending.cancel(&id);
}

/// `window/workDoneProgress/cancel`: the user cancelled work shown with one of our progress
/// tokens.
pub fn work_done_progress_cancel(state: &mut GlobalState, params: WorkDoneProgressCancelParams) {
    state.client.cancel_progress(&params.token);
}

/// Parses the document on a task and publishes whether it parses.
fn check_document(state: &GlobalState, uri: Uri) {
    state
        .runtime
        .spawn(publish_parse_problem(state.snapshot(), uri));
}

async fn publish_parse_problem(state: GlobalStateSnapshot, uri: Uri) {
    let Some(doc) = state.document(&uri) else {
        return;
    };
    let problem = match state.parse(&doc.text, doc.path.as_deref()) {
        Ok(_) => None,
        Err(e) => Some(parse_diagnostic(&doc.text, &e)),
    };
    state.set_parse_problem(&uri, doc.version, problem);
}
