//! The server's errors. Callers decide on the variant, never on the text; the text is what the
//! user sees. They are `Clone` because one Lean start, or one suggestion run, is awaited by
//! every request that wants it: their causes sit behind `Arc`.

use std::sync::Arc;
use std::time::Duration;

use lsp_server::{ErrorCode, ResponseError};
use problems::ParseError;
use search::StopReason;
use tokio::task::JoinError;

use super::shared_runs::RunLost;
use lean_env::suggest::SuggestError;

/// Why a document's Lean pool and policy could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub enum BackendError {
    /// No Lean 3 executable was found (`--lean`, `LEAN_HOME`, `PATH`, elan).
    #[error("{}", crate::output::error_text(.0))]
    LeanNotFound(Arc<anyhow::Error>),
    /// Lean was found but the pool did not start (the project, the imports, the workers).
    #[error("{}", crate::output::error_text(.0))]
    PoolStart(Arc<anyhow::Error>),
    /// `--policy model`: the model did not load.
    #[error("cannot build the tactic policy: {}", crate::output::error_text(.0))]
    ModelLoad(Arc<anyhow::Error>),
    /// The policy could not be built on the pool.
    #[error("cannot build the tactic policy: {}", crate::output::error_text(.0))]
    PolicyBuild(Arc<anyhow::Error>),
    /// The start's task ended without an answer (aborted at shutdown, or it panicked).
    #[error("starting Lean was interrupted: {0}")]
    Interrupted(Arc<JoinError>),
    /// The server is shutting down and starts nothing new.
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// Why a request to the client (by its method) brought no usable answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ClientRequestError {
    /// The answer is not the method's result type.
    #[error("{0}: {1}")]
    InvalidAnswer(&'static str, Arc<serde_json::Error>),
    /// The client answered with an error (its message).
    #[error("{0}: {1}")]
    Refused(&'static str, String),
    /// The request was dropped without an answer.
    #[error("{0}: no answer")]
    NoAnswer(&'static str),
    #[error("{0}: no answer within {1:?}")]
    TimedOut(&'static str, Duration),
}

/// Why a request could not do its work.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RequestError {
    /// The client cancelled the request, or the server is shutting down: answered with
    /// `RequestCanceled`, shown nowhere.
    #[error("cancelled")]
    Cancelled,
    /// `workspace/executeCommand` with a command this server does not have.
    #[error("unknown command {0}")]
    UnknownCommand(String),
    /// The prove command's argument is not a [`super::ext::ProveTarget`].
    #[error("prover.proveWithSearch takes {{uri, theorem}}")]
    InvalidProveTarget,
    /// Lean or the policy could not start for the document.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The suggestion core failed (the statement does not elaborate, a step above fails, …).
    #[error(transparent)]
    Suggest(Arc<SuggestError>),
    /// The suggestion run's task ended without an answer.
    #[error(transparent)]
    RunLost(#[from] RunLost),
    /// The suggestion run was abandoned (its grace period ran out) twice as the request joined.
    #[error("the suggestion run was abandoned")]
    RunAbandoned,
    /// "Prove with search" could not run, or found no proof.
    #[error(transparent)]
    Prove(#[from] ProveError),
}

/// Why "Prove with search" has no proof to offer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProveError {
    #[error("the document is not open")]
    DocumentNotOpen,
    #[error("the file does not parse: {0}")]
    DoesNotParse(ParseError),
    #[error("no theorem {0} in the document")]
    NoSuchTheorem(String),
    /// The search ended without a verified proof; `why` is the first line of its error.
    #[error(
        "no proof of {theorem} found ({stop_reason:?} after {expansions} expansions, {time_s:.1}s){}",
        why_suffix(.why)
    )]
    NotFound {
        theorem: String,
        stop_reason: StopReason,
        expansions: usize,
        time_s: f64,
        why: Option<String>,
    },
    /// The document changed during the search so that it no longer parses.
    #[error("the file no longer parses: {0}")]
    NoLongerParses(ParseError),
    /// The theorem is gone or its statement changed during the search.
    #[error("{theorem} changed during the search; found proof:\n{proof}")]
    TheoremChanged { theorem: String, proof: String },
}

fn why_suffix(why: &Option<String>) -> String {
    why.as_deref().map(|w| format!(": {w}")).unwrap_or_default()
}

impl From<RequestError> for ResponseError {
    fn from(e: RequestError) -> Self {
        let code = match e {
            RequestError::Cancelled => ErrorCode::RequestCanceled,
            RequestError::UnknownCommand(_) | RequestError::InvalidProveTarget => {
                ErrorCode::InvalidParams
            }
            _ => ErrorCode::RequestFailed,
        };
        response_error(code, &e.to_string())
    }
}

pub fn response_error(code: ErrorCode, message: &str) -> ResponseError {
    ResponseError {
        code: code as i32,
        message: message.to_string(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prove_failures_read_as_the_user_is_shown_them() {
        let not_found = |why: Option<&str>| ProveError::NotFound {
            theorem: "t".into(),
            stop_reason: StopReason::ExpansionLimit,
            expansions: 100,
            time_s: 12.34,
            why: why.map(String::from),
        };
        assert_eq!(
            not_found(None).to_string(),
            "no proof of t found (ExpansionLimit after 100 expansions, 12.3s)"
        );
        assert_eq!(
            not_found(Some("unknown identifier")).to_string(),
            "no proof of t found (ExpansionLimit after 100 expansions, 12.3s): unknown identifier"
        );
        let e = RequestError::from(ProveError::TheoremChanged {
            theorem: "t".into(),
            proof: "begin\n  simp\nend".into(),
        });
        assert_eq!(
            e.to_string(),
            "t changed during the search; found proof:\nbegin\n  simp\nend"
        );
    }

    #[test]
    fn request_errors_answer_with_their_code() {
        let answer = |e: RequestError| {
            let r = ResponseError::from(e);
            (r.code, r.message)
        };
        assert_eq!(
            answer(RequestError::Cancelled),
            (ErrorCode::RequestCanceled as i32, "cancelled".into())
        );
        assert_eq!(
            answer(RequestError::InvalidProveTarget),
            (
                ErrorCode::InvalidParams as i32,
                "prover.proveWithSearch takes {uri, theorem}".into()
            )
        );
        assert_eq!(
            answer(RequestError::UnknownCommand("x".into())),
            (ErrorCode::InvalidParams as i32, "unknown command x".into())
        );
        assert_eq!(
            answer(BackendError::ShuttingDown.into()),
            (
                ErrorCode::RequestFailed as i32,
                "the server is shutting down".into()
            )
        );
    }
}
