//! The message loop: the one place that reads the client's messages and answers its requests.
//! It only dispatches. Requests run on tokio tasks (cancellable through `$/cancelRequest`),
//! notifications change the state in order; the dispatch tables below say which handler takes
//! which method.

use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{InitializeParams, InitializeResult, ServerInfo};
use search::CancellationToken;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::capabilities::server_capabilities;
use super::error::{RequestError, response_error};
use super::global_state::{GlobalState, GlobalStateSnapshot};
use super::handlers::{notification, request};

/// How long a wait for the next message lasts before the loop looks at the interrupt again.
const POLL: Duration = Duration::from_millis(200);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum LoopEnd {
    /// `exit` after `shutdown`.
    Exit,
    /// `exit` without `shutdown` (LSP asks for exit status 1).
    ExitWithoutShutdown,
    /// The client closed the connection, or we were interrupted.
    Disconnected,
}

/// Waits for `initialize` and answers it. `None` when the client exits or goes away first.
pub fn initialize(
    receiver: &Receiver<Message>,
    outbox: &mpsc::UnboundedSender<Option<Message>>,
    interrupt: &CancellationToken,
) -> anyhow::Result<Option<InitializeParams>> {
    while let Some(message) = next_message(receiver, interrupt) {
        match message {
            Message::Request(req) if req.method == "initialize" => {
                let params: InitializeParams =
                    serde_json::from_value(req.params).context("invalid initialize parameters")?;
                let result = InitializeResult {
                    capabilities: server_capabilities(),
                    server_info: Some(ServerInfo {
                        name: "prover".into(),
                        version: Some(env!("CARGO_PKG_VERSION").into()),
                    }),
                };
                let _ = outbox.send(Some(Message::Response(Response::new_ok(req.id, result))));
                return Ok(Some(params));
            }
            Message::Request(req) => {
                let _ = outbox.send(Some(Message::Response(Response::new_err(
                    req.id,
                    ErrorCode::ServerNotInitialized as i32,
                    "the server is not initialized yet".into(),
                ))));
            }
            Message::Notification(n) if n.method == "exit" => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// The client's next message; `None` once the connection is closed or `interrupt` fires (looked
/// at every [`POLL`], so an interrupt is not kept waiting by a quiet client).
fn next_message(receiver: &Receiver<Message>, interrupt: &CancellationToken) -> Option<Message> {
    loop {
        if interrupt.is_cancelled() {
            return None;
        }
        match receiver.recv_timeout(POLL) {
            Ok(m) => return Some(m),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Reads and dispatches messages until `exit`, a closed connection, or `interrupt`.
pub fn main_loop(
    state: &mut GlobalState,
    receiver: &Receiver<Message>,
    interrupt: &CancellationToken,
) -> LoopEnd {
    let mut shutting_down = false;
    while let Some(message) = next_message(receiver, interrupt) {
        match message {
            Message::Request(req) if shutting_down => {
                state.client.respond(error_response(
                    req.id,
                    ErrorCode::InvalidRequest,
                    "the server is shutting down",
                ));
            }
            Message::Request(req) => {
                if req.method == lsp_types::request::Shutdown::METHOD {
                    shutting_down = true;
                    begin_shutdown(state, req.id);
                } else {
                    on_request(state, req);
                }
            }
            Message::Notification(n) => {
                if n.method == lsp_types::notification::Exit::METHOD {
                    return if shutting_down {
                        LoopEnd::Exit
                    } else {
                        LoopEnd::ExitWithoutShutdown
                    };
                }
                on_notification(state, n);
            }
            Message::Response(r) => state.client.on_response(r),
        }
    }
    LoopEnd::Disconnected
}

/// The requests' dispatch table.
fn on_request(state: &mut GlobalState, req: Request) {
    use lsp_types::request::{
        CodeActionRequest, CodeActionResolveRequest, Completion, ExecuteCommand,
    };
    match req.method.as_str() {
        CodeActionRequest::METHOD => {
            spawn_request::<CodeActionRequest, _, _>(state, req, request::code_action)
        }
        CodeActionResolveRequest::METHOD => spawn_request::<CodeActionResolveRequest, _, _>(
            state,
            req,
            request::resolve_code_action,
        ),
        Completion::METHOD => spawn_request::<Completion, _, _>(state, req, request::completion),
        ExecuteCommand::METHOD => {
            spawn_request::<ExecuteCommand, _, _>(state, req, request::execute_command)
        }
        _ => state.client.respond(error_response(
            req.id,
            ErrorCode::MethodNotFound,
            &format!("unknown method {}", req.method),
        )),
    }
}

/// The notifications' dispatch table. `exit` is the loop's own; others (didSave,
/// didChangeConfiguration, …) need nothing.
fn on_notification(state: &mut GlobalState, n: Notification) {
    use lsp_types::notification::{
        Cancel, DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument,
        WorkDoneProgressCancel,
    };
    match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            handle::<DidOpenTextDocument>(state, n, notification::did_open)
        }
        DidChangeTextDocument::METHOD => {
            handle::<DidChangeTextDocument>(state, n, notification::did_change)
        }
        DidCloseTextDocument::METHOD => {
            handle::<DidCloseTextDocument>(state, n, notification::did_close)
        }
        Cancel::METHOD => handle::<Cancel>(state, n, notification::cancel),
        WorkDoneProgressCancel::METHOD => {
            handle::<WorkDoneProgressCancel>(state, n, notification::work_done_progress_cancel)
        }
        _ => {}
    }
}

/// Runs a request's handler on a task. Its response is sent when it finishes, or at once (a
/// `RequestCanceled` error) when it is cancelled; the work then stops on its own token and
/// cleans up in the background.
fn spawn_request<R, F, Fut>(state: &mut GlobalState, req: Request, handler: F)
where
    R: lsp_types::request::Request,
    F: FnOnce(GlobalStateSnapshot, R::Params, CancellationToken) -> Fut,
    Fut: Future<Output = Result<R::Result, RequestError>> + Send + 'static,
{
    let params: R::Params = match serde_json::from_value(req.params) {
        Ok(p) => p,
        Err(e) => {
            state.client.respond(error_response(
                req.id,
                ErrorCode::InvalidParams,
                &format!("invalid parameters for {}: {e}", req.method),
            ));
            return;
        }
    };
    let token = state.shutdown.child_token();
    state.pending.insert(req.id.clone(), token.clone());
    let work = state
        .runtime
        .spawn(handler(state.snapshot(), params, token.clone()));
    let (client, pending, id) = (state.client.clone(), state.pending.clone(), req.id);
    state.runtime.spawn(async move {
        let result = tokio::select! {
            r = work => match r {
                Ok(Ok(value)) => Ok(serde_json::to_value(value).unwrap_or(serde_json::Value::Null)),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(response_error(
                    ErrorCode::InternalError,
                    &format!("the request failed: {e}"),
                )),
            },
            _ = token.cancelled() => Err(RequestError::Cancelled.into()),
        };
        if pending.remove(&id) {
            client.respond(Response {
                id,
                response_result: result,
            });
        }
    });
}

/// Runs a notification's handler, unless its parameters are not the method's.
fn handle<N: lsp_types::notification::Notification>(
    state: &mut GlobalState,
    n: Notification,
    handler: fn(&mut GlobalState, N::Params),
) where
    N::Params: DeserializeOwned,
{
    match serde_json::from_value(n.params) {
        Ok(params) => handler(state, params),
        Err(e) => tracing::warn!("ignoring {} with invalid parameters: {e}", n.method),
    }
}

/// Cancels all work, stops every Lean process, then answers `shutdown`.
fn begin_shutdown(state: &mut GlobalState, id: RequestId) {
    state.shutdown.cancel();
    let (backends, client) = (state.backends.clone(), state.client.clone());
    state.runtime.spawn(async move {
        backends.shutdown().await;
        client.respond(Response::new_ok(id, ()));
    });
}

fn error_response(id: RequestId, code: ErrorCode, message: &str) -> Response {
    Response {
        id,
        response_result: Err(response_error(code, message)),
    }
}
