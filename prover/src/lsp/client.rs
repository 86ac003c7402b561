//! Talking to the client from any task: notifications, responses, requests to the client
//! (awaiting their answers), and work-done progress.
//!
//! Every outgoing message goes through an unbounded channel to one forwarding thread, so no
//! task ever blocks on the client reading its input.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsp_server::{Message, Notification, Request, RequestId, Response};
use lsp_types::{
    MessageType, NumberOrString, ProgressParams, ProgressParamsValue, ProgressToken,
    ShowMessageParams, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressCreateParams,
    WorkDoneProgressEnd, WorkDoneProgressReport,
};
use search::CancellationToken;
use tokio::sync::{mpsc, oneshot};

use super::error::ClientRequestError;
use super::lock::lock;

/// What the client said it can do (from `initialize`).
#[derive(Clone, Debug, Default)]
pub struct ClientFlags {
    /// `window/workDoneProgress/create` and `$/progress` are understood.
    pub work_done_progress: bool,
    /// `codeAction/resolve` may fill in a code action's `edit`.
    pub resolve_edit: bool,
    /// Disabled code actions (with a reason) are shown.
    pub disabled_actions: bool,
    /// Workspace edits may be `documentChanges` (versioned).
    pub document_changes: bool,
    /// `workspace/applyEdit` is understood.
    pub apply_edit: bool,
}

impl ClientFlags {
    pub fn from_capabilities(caps: &lsp_types::ClientCapabilities) -> Self {
        let action = caps
            .text_document
            .as_ref()
            .and_then(|t| t.code_action.as_ref());
        let workspace = caps.workspace.as_ref();
        ClientFlags {
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            resolve_edit: action
                .and_then(|a| a.resolve_support.as_ref())
                .is_some_and(|r| r.properties.iter().any(|p| p == "edit")),
            disabled_actions: action.and_then(|a| a.disabled_support).unwrap_or(false),
            document_changes: workspace
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
            apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
        }
    }
}

/// The client, as seen from the server's tasks. `None` on the outbox stops the forwarder.
pub struct Client {
    outbox: mpsc::UnboundedSender<Option<Message>>,
    next_id: AtomicI32,
    next_token: AtomicU64,
    waiting: Mutex<HashMap<RequestId, oneshot::Sender<Response>>>,
    /// Progress tokens we created, with the work they belong to (`window/workDoneProgress/cancel`).
    progress_work: Mutex<HashMap<String, CancellationToken>>,
    /// Messages already shown with [`Client::show_once`], so a repeated failure is not repeated.
    shown: Mutex<HashSet<String>>,
    pub flags: ClientFlags,
}

impl Client {
    pub fn new(outbox: mpsc::UnboundedSender<Option<Message>>, flags: ClientFlags) -> Self {
        Client {
            outbox,
            next_id: AtomicI32::new(1),
            next_token: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
            progress_work: Mutex::new(HashMap::new()),
            shown: Mutex::new(HashSet::new()),
            flags,
        }
    }

    pub fn send(&self, message: Message) {
        // The forwarder is gone only when the server is ending; nothing to do then.
        let _ = self.outbox.send(Some(message));
    }

    /// Stops the forwarding thread once it has sent everything queued before.
    pub fn close(&self) {
        let _ = self.outbox.send(None);
    }

    pub fn respond(&self, response: Response) {
        self.send(Message::Response(response));
    }

    pub fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )));
    }

    pub fn show_message(&self, typ: MessageType, message: impl Into<String>) {
        self.notify::<lsp_types::notification::ShowMessage>(ShowMessageParams {
            typ,
            message: message.into(),
        });
    }

    /// `window/showMessage`, unless this very message was shown before.
    pub fn show_once(&self, typ: MessageType, message: String) {
        if lock(&self.shown).insert(message.clone()) {
            self.show_message(typ, message);
        }
    }

    /// Sends a request to the client and waits (at most `timeout`) for its answer.
    pub async fn request<R: lsp_types::request::Request>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, ClientRequestError> {
        let id = RequestId::from(self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        lock(&self.waiting).insert(id.clone(), tx);
        self.send(Message::Request(Request::new(
            id.clone(),
            R::METHOD.to_string(),
            params,
        )));
        let answer = tokio::time::timeout(timeout, rx).await;
        lock(&self.waiting).remove(&id);
        let method = R::METHOD;
        match answer {
            Ok(Ok(Response {
                response_result: Ok(v),
                ..
            })) => serde_json::from_value(v)
                .map_err(|e| ClientRequestError::InvalidAnswer(method, Arc::new(e))),
            Ok(Ok(Response {
                response_result: Err(e),
                ..
            })) => Err(ClientRequestError::Refused(method, e.message)),
            Ok(Err(_)) => Err(ClientRequestError::NoAnswer(method)),
            Err(_) => Err(ClientRequestError::TimedOut(method, timeout)),
        }
    }

    /// An answer from the client to one of our requests.
    pub fn on_response(&self, response: Response) {
        if let Some(tx) = lock(&self.waiting).remove(&response.id) {
            let _ = tx.send(response);
        }
    }

    /// `window/workDoneProgress/cancel`: the user cancelled work shown with this token.
    pub fn cancel_progress(&self, token: &ProgressToken) {
        if let Some(work) = lock(&self.progress_work).get(&token_key(token)) {
            work.cancel();
        }
    }

    /// A progress report for `work`: on the token the client gave with the request if any,
    /// else on one we create when the client supports it (`create`), else none.
    pub async fn progress(
        self: &Arc<Self>,
        given: Option<ProgressToken>,
        create: bool,
        title: &str,
        work: &CancellationToken,
    ) -> Progress {
        let token = match given {
            Some(t) => Some(t),
            None if create && self.flags.work_done_progress => {
                let n = self.next_token.fetch_add(1, Ordering::SeqCst);
                let token = NumberOrString::String(format!("prover/{n}"));
                let created = self
                    .request::<lsp_types::request::WorkDoneProgressCreate>(
                        WorkDoneProgressCreateParams {
                            token: token.clone(),
                        },
                        Duration::from_secs(5),
                    )
                    .await;
                match created {
                    Ok(()) => Some(token),
                    Err(e) => {
                        tracing::debug!("no progress token: {e}");
                        None
                    }
                }
            }
            None => None,
        };
        if let Some(t) = &token {
            lock(&self.progress_work).insert(token_key(t), work.clone());
            self.send_progress(
                t,
                WorkDoneProgress::Begin(WorkDoneProgressBegin {
                    title: title.to_string(),
                    cancellable: Some(true),
                    message: None,
                    percentage: None,
                }),
            );
        }
        Progress {
            client: self.clone(),
            token,
        }
    }

    fn send_progress(&self, token: &ProgressToken, value: WorkDoneProgress) {
        self.notify::<lsp_types::notification::Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        });
    }
}

fn token_key(token: &ProgressToken) -> String {
    match token {
        NumberOrString::Number(n) => format!("#{n}"),
        NumberOrString::String(s) => s.clone(),
    }
}

/// One piece of work shown to the user; ends (with `$/progress` end) when dropped.
pub struct Progress {
    client: Arc<Client>,
    token: Option<ProgressToken>,
}

impl Progress {
    pub fn report(&self, message: impl Into<String>, percentage: Option<u32>) {
        if let Some(t) = &self.token {
            self.client.send_progress(
                t,
                WorkDoneProgress::Report(WorkDoneProgressReport {
                    cancellable: Some(true),
                    message: Some(message.into()),
                    percentage,
                }),
            );
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            lock(&self.client.progress_work).remove(&token_key(&t));
            self.client.send_progress(
                &t,
                WorkDoneProgress::End(WorkDoneProgressEnd { message: None }),
            );
        }
    }
}

/// The thread that hands queued messages to the transport (`send` returns false once the
/// transport is gone) until the outbox says stop.
pub fn forwarder(
    mut inbox: mpsc::UnboundedReceiver<Option<Message>>,
    mut send: impl FnMut(Message) -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("lsp-outbox".into())
        .spawn(move || {
            while let Some(Some(message)) = inbox.blocking_recv() {
                if !send(message) {
                    break;
                }
            }
        })
}
