//! The REPL's protocol (`lean/prover_repl.lean`): one JSON object per line each way.
//!
//! A request is one command ([`Request`], tagged by `cmd`); the worker adds the `id` its answer
//! must carry, and `timed` when Lean is to time it. The REPL answers `{"ok": true, …}` with the
//! command's fields ([`Command::Response`]) or `{"ok": false, "error": …}` ([`ErrorResponse`]),
//! on a line starting with `#PROVER_REPL# `. Where the bridge acts on what went wrong, the error
//! says so in `error_kind`; its `error` is for people.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A request to the REPL.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Start(StartRequest),
    Run(RunRequest),
    Focus(FocusRequest),
    Drop(DropRequest),
    Verify(VerifyRequest),
    Check(CheckRequest),
    Declared(DeclaredRequest),
    Resolve(ResolveRequest),
    Declarations(DeclarationsRequest),
    Stats(StatsRequest),
    FileReset(FileResetRequest),
    FileCommands(FileCommandsRequest),
    FileTheorem(FileTheoremRequest),
}

/// A request together with what the REPL answers it when it succeeds.
pub trait Command: Into<Request> {
    type Response: DeserializeOwned;
}

/// What the REPL answered a command: its response, or its error.
pub type Answer<T> = Result<T, ErrorResponse>;

/// The statement a `start` or `verify` is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Statement {
    /// A statement given as text.
    Text(StatementText),
    /// A theorem of a file, as the worker captured it where the file states it.
    Captured(CapturedTheorem),
    /// A statement given as text, elaborated where a captured theorem is stated (its
    /// namespaces, `open` lines, variables and earlier declarations).
    AtTheorem(StatementAtTheorem),
}

/// `BINDERS : GOAL` where captured theorem `theorem` stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatementAtTheorem {
    pub theorem: u64,
    pub binders: String,
    pub goal: String,
    /// Universe names the text uses that the file has not declared (`Type u_1` in a printed
    /// state).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub universes: Vec<String>,
}

/// `BINDERS : GOAL`, elaborated under the `context` lines (`open …`, `open_locale …`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatementText {
    pub context: Vec<String>,
    pub binders: String,
    pub goal: String,
}

/// A theorem the worker's current process captured (`file_theorem`'s answer).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CapturedTheorem {
    pub theorem: u64,
}

/// `start`: elaborates a statement and introduces its binders.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StartRequest {
    #[serde(flatten)]
    pub statement: Statement,
}

/// `run`: one tactic block on a state, at most `heartbeats` thousand heartbeats (0: no limit).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRequest {
    pub state: u64,
    pub tactic: String,
    pub heartbeats: u64,
}

/// `focus`: a new proof whose one goal is the state's main goal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FocusRequest {
    pub state: u64,
}

/// `drop`: frees states, and whole proofs with every state they made.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DropRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<u64>,
}

/// `verify`: elaborates a complete proof as a theorem's body and checks it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyRequest {
    #[serde(flatten)]
    pub statement: Statement,
    pub proof: String,
    pub heartbeats: u64,
}

/// `check`: elaborates a statement alone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckRequest {
    #[serde(flatten)]
    pub statement: StatementText,
}

/// `declared`: which of these declarations exist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeclaredRequest {
    pub names: Vec<String>,
}

/// `resolve`: the declarations these names (dotted text) stand for where a captured theorem
/// is stated (its namespaces, `open` lines and earlier declarations).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResolveRequest {
    pub theorem: u64,
    pub names: Vec<String>,
}

/// `declarations`: `limit` of the environment's declarations (not meta, not Lean's own
/// auxiliaries), from `offset`, in an order fixed for one environment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DeclarationsRequest {
    pub offset: u64,
    pub limit: u64,
}

/// `stats`: what the REPL holds (also the first request, which waits for the imports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct StatsRequest {}

/// `file_reset`: leaves the current file (`closers` closes its open sections and namespaces)
/// and starts a new one whose own proofs get `heartbeats` (Lean's `timeout` option).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileResetRequest {
    pub closers: String,
    pub heartbeats: u64,
}

/// `file_commands`: runs a stretch of the file's commands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileCommandsRequest {
    pub text: String,
}

/// `file_theorem`: at a theorem of the file, captures its goal from `signature`, then runs its
/// declaration `text` (or `fallback`, the declaration with `sorry` for its proof, where `text`
/// fails and Lean would still have added the theorem) and checks the proof.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileTheoremRequest {
    pub signature: String,
    pub text: String,
    pub fallback: String,
    /// The name as written, split at dots (empty for examples).
    pub name: Vec<String>,
    pub example: bool,
}

/// The answer to `start` and `focus`: a new proof and its first state.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ProofResponse {
    pub proof: u64,
    pub state: u64,
    /// One pretty-printed goal per entry.
    pub goals: Vec<String>,
    /// The whole state as Lean prints it.
    #[serde(default)]
    pub pp: String,
}

/// The answer to `run`: the state the tactic left.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StateResponse {
    pub state: u64,
    pub goals: Vec<String>,
    #[serde(default)]
    pub pp: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct DropResponse {
    /// How many states were freed.
    #[serde(default)]
    pub dropped: u64,
}

/// The answer to `verify` whose statement elaborated.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VerifyResponse {
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    /// The axioms the proof depends on, in the order the REPL met them.
    #[serde(default)]
    pub axioms: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CheckResponse {
    /// The statement as Lean prints it.
    #[serde(default)]
    pub statement: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DeclaredResponse {
    /// One flag per name asked about, in order.
    #[serde(default)]
    pub declared: Vec<bool>,
}

/// Where a declaration is: its full name, the `.olean` it comes from (none for one of the
/// file being run) and its position (line from 1, column from 0).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct DeclPlace {
    pub name: String,
    #[serde(default)]
    pub olean: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub column: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ResolveResponse {
    /// One entry per name asked about: what it resolves to, or `None`.
    #[serde(default)]
    pub resolved: Vec<Option<DeclPlace>>,
}

/// One declaration of an environment.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct DeclarationInfo {
    #[serde(flatten)]
    pub place: DeclPlace,
    /// `theorem`, `definition`, `constant` or `axiom`.
    pub kind: String,
    /// Its type as Lean prints it.
    #[serde(rename = "type")]
    pub statement: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DeclarationsResponse {
    /// How many declarations there are in all.
    pub total: u64,
    #[serde(default)]
    pub declarations: Vec<DeclarationInfo>,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct StatsResponse {
    pub states: Option<u64>,
    pub proofs: Option<u64>,
    pub contexts: Option<u64>,
}

/// The answer to `file_reset` and `file_commands`: done, nothing to say.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct DoneResponse {}

/// The answer to `file_theorem` whose statement elaborated where the file states it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FileTheoremResponse {
    /// The captured theorem, for `start` and `verify` ([`CapturedTheorem`]).
    #[serde(default)]
    pub theorem: u64,
    /// The name Lean gave it; empty for examples.
    #[serde(default)]
    pub full_name: String,
    /// The goals at the start of its proof.
    #[serde(default)]
    pub goals: Vec<String>,
    /// The verdict on the file's own proof, in the fields a `verify` answer has.
    #[serde(flatten)]
    pub own_proof: VerifyResponse,
}

/// The REPL's answer to a command that failed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, in Lean's words (or the REPL's).
    #[serde(default)]
    pub error: String,
    /// Where, as Lean's (line, column) in the text the request's command parsed.
    #[serde(default)]
    pub pos: Option<(u32, u32)>,
    /// What went wrong, for the bridge to act on; absent where it only reports `error`.
    #[serde(default)]
    pub error_kind: Option<ReplErrorKind>,
}

/// The failures the REPL names for the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplErrorKind {
    /// `run` or `focus` on a state the REPL does not hold (dropped, or never made).
    UnknownState,
    /// The statement of a `verify` or `file_theorem` did not elaborate (the message then
    /// starts `statement: `).
    Statement,
    /// A kind this bridge does not know (from a newer REPL): only the message counts.
    #[serde(other)]
    Unknown,
}

impl ErrorResponse {
    pub fn is(&self, kind: ReplErrorKind) -> bool {
        self.error_kind == Some(kind)
    }
}

/// Reads an answer body: the command's response when `ok` is true, else the REPL's error (an
/// answer without `ok` is an error, as the REPL never leaves it out of a success).
pub(crate) fn read_answer<T: DeserializeOwned>(
    body: &serde_json::Value,
) -> Result<Answer<T>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Status {
        #[serde(default)]
        ok: bool,
    }
    if Status::deserialize(body)?.ok {
        T::deserialize(body).map(Ok)
    } else {
        ErrorResponse::deserialize(body).map(Err)
    }
}

/// The `id` an answer carries, to match it with its request (`None` when it has none).
pub(crate) fn answer_id(body: &serde_json::Value) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: Option<u64>,
    }
    Id::deserialize(body).ok()?.id
}

/// The line the worker writes: a request with its `id` (and `timed`).
#[derive(Serialize)]
pub(crate) struct RequestLine<'a> {
    pub id: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed: bool,
    #[serde(flatten)]
    pub request: &'a Request,
}

macro_rules! commands {
    ($($request:ident => $variant:ident, $response:ty;)*) => {$(
        impl From<$request> for Request {
            fn from(r: $request) -> Self {
                Request::$variant(r)
            }
        }
        impl Command for $request {
            type Response = $response;
        }
    )*};
}

commands! {
    StartRequest => Start, ProofResponse;
    RunRequest => Run, StateResponse;
    FocusRequest => Focus, ProofResponse;
    DropRequest => Drop, DropResponse;
    VerifyRequest => Verify, VerifyResponse;
    CheckRequest => Check, CheckResponse;
    DeclaredRequest => Declared, DeclaredResponse;
    ResolveRequest => Resolve, ResolveResponse;
    DeclarationsRequest => Declarations, DeclarationsResponse;
    StatsRequest => Stats, StatsResponse;
    FileResetRequest => FileReset, DoneResponse;
    FileCommandsRequest => FileCommands, DoneResponse;
    FileTheoremRequest => FileTheorem, FileTheoremResponse;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn line(request: impl Into<Request>, id: u64, timed: bool) -> serde_json::Value {
        let request = request.into();
        serde_json::to_value(RequestLine {
            id,
            timed,
            request: &request,
        })
        .unwrap()
    }

    fn text(context: &[&str], binders: &str, goal: &str) -> StatementText {
        StatementText {
            context: context.iter().map(|c| c.to_string()).collect(),
            binders: binders.into(),
            goal: goal.into(),
        }
    }

    /// Each request is the JSON the REPL has always read.
    #[test]
    fn requests_keep_the_wire_format() {
        let cases = [
            (
                line(
                    StartRequest {
                        statement: Statement::Text(text(&["open nat"], "(a : ℕ)", "a = a")),
                    },
                    1,
                    false,
                ),
                json!({"id": 1, "cmd": "start", "context": ["open nat"], "binders": "(a : ℕ)", "goal": "a = a"}),
            ),
            (
                line(
                    StartRequest {
                        statement: Statement::Captured(CapturedTheorem { theorem: 7 }),
                    },
                    2,
                    false,
                ),
                json!({"id": 2, "cmd": "start", "theorem": 7}),
            ),
            (
                line(
                    RunRequest {
                        state: 3,
                        tactic: "simp".into(),
                        heartbeats: 50_000,
                    },
                    3,
                    true,
                ),
                json!({"id": 3, "timed": true, "cmd": "run", "state": 3, "tactic": "simp", "heartbeats": 50000}),
            ),
            (
                line(FocusRequest { state: 4 }, 4, false),
                json!({"id": 4, "cmd": "focus", "state": 4}),
            ),
            (
                line(
                    DropRequest {
                        states: vec![5, 6],
                        ..DropRequest::default()
                    },
                    5,
                    false,
                ),
                json!({"id": 5, "cmd": "drop", "states": [5, 6]}),
            ),
            (
                line(
                    DropRequest {
                        proofs: vec![2],
                        ..DropRequest::default()
                    },
                    6,
                    false,
                ),
                json!({"id": 6, "cmd": "drop", "proofs": [2]}),
            ),
            (
                line(
                    VerifyRequest {
                        statement: Statement::Text(text(&[], "", "true")),
                        proof: "trivial".into(),
                        heartbeats: 100_000,
                    },
                    7,
                    false,
                ),
                json!({"id": 7, "cmd": "verify", "context": [], "binders": "", "goal": "true", "proof": "trivial", "heartbeats": 100000}),
            ),
            (
                line(
                    VerifyRequest {
                        statement: Statement::Captured(CapturedTheorem { theorem: 9 }),
                        proof: "rfl".into(),
                        heartbeats: 0,
                    },
                    8,
                    false,
                ),
                json!({"id": 8, "cmd": "verify", "theorem": 9, "proof": "rfl", "heartbeats": 0}),
            ),
            (
                line(
                    CheckRequest {
                        statement: text(&[], "(p : Prop)", "p"),
                    },
                    9,
                    false,
                ),
                json!({"id": 9, "cmd": "check", "context": [], "binders": "(p : Prop)", "goal": "p"}),
            ),
            (
                line(
                    DeclaredRequest {
                        names: vec!["nat.succ".into()],
                    },
                    10,
                    false,
                ),
                json!({"id": 10, "cmd": "declared", "names": ["nat.succ"]}),
            ),
            (
                line(StatsRequest {}, 11, false),
                json!({"id": 11, "cmd": "stats"}),
            ),
            (
                line(
                    FileResetRequest {
                        closers: "end foo\n".into(),
                        heartbeats: 100_000_000,
                    },
                    12,
                    false,
                ),
                json!({"id": 12, "cmd": "file_reset", "closers": "end foo\n", "heartbeats": 100000000u64}),
            ),
            (
                line(
                    FileCommandsRequest {
                        text: "namespace foo".into(),
                    },
                    13,
                    false,
                ),
                json!({"id": 13, "cmd": "file_commands", "text": "namespace foo"}),
            ),
            (
                line(
                    FileTheoremRequest {
                        signature: " : 1 = 1".into(),
                        text: "theorem t : 1 = 1 := rfl".into(),
                        fallback: "theorem t : 1 = 1 :=\nsorry".into(),
                        name: vec!["t".into()],
                        example: false,
                    },
                    14,
                    false,
                ),
                json!({"id": 14, "cmd": "file_theorem", "signature": " : 1 = 1", "text": "theorem t : 1 = 1 := rfl",
                       "fallback": "theorem t : 1 = 1 :=\nsorry", "name": ["t"], "example": false}),
            ),
        ];
        for (sent, expected) in cases {
            assert_eq!(sent, expected);
        }
    }

    #[test]
    fn answers_are_the_response_or_the_error() {
        let ok = json!({"id": 1, "ok": true, "state": 4, "goals": ["⊢ true"], "num_goals": 1, "pp": "⊢ true"});
        assert_eq!(
            read_answer::<StateResponse>(&ok).unwrap(),
            Ok(StateResponse {
                state: 4,
                goals: vec!["⊢ true".into()],
                pp: "⊢ true".into()
            })
        );
        let failed =
            json!({"id": 2, "ok": false, "error": "unknown identifier 'x'", "pos": [1, 4]});
        let error = read_answer::<StateResponse>(&failed).unwrap().unwrap_err();
        assert_eq!(error.error, "unknown identifier 'x'");
        assert_eq!(error.pos, Some((1, 4)));
        assert_eq!(error.error_kind, None);
        // A success must carry its fields.
        let short = json!({"id": 3, "ok": true, "goals": []});
        assert!(read_answer::<StateResponse>(&short).is_err());
    }

    #[test]
    fn error_kinds_are_read_and_unknown_ones_tolerated() {
        let lost = json!({"ok": false, "error": "unknown state 5", "error_kind": "unknown_state"});
        let error = read_answer::<StateResponse>(&lost).unwrap().unwrap_err();
        assert!(error.is(ReplErrorKind::UnknownState));
        let statement = json!({"ok": false, "error": "statement: oops", "error_kind": "statement"});
        let error = read_answer::<VerifyResponse>(&statement)
            .unwrap()
            .unwrap_err();
        assert!(error.is(ReplErrorKind::Statement));
        let newer = json!({"ok": false, "error": "something new", "error_kind": "out_of_memory"});
        let error = read_answer::<VerifyResponse>(&newer).unwrap().unwrap_err();
        assert_eq!(error.error_kind, Some(ReplErrorKind::Unknown));
    }

    #[test]
    fn answer_ids() {
        assert_eq!(answer_id(&json!({"id": 17, "ok": true})), Some(17));
        assert_eq!(answer_id(&json!({"ok": false})), None);
        assert_eq!(answer_id(&json!({"id": "x"})), None);
    }
}
