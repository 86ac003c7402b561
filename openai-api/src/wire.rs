//! Request and response bodies of the completions API. Fields other servers add are ignored on
//! reading; optional fields we do not set are left out on writing, so a strict server sees only
//! what it knows.

use serde::{Deserialize, Serialize};

/// A string or a list of strings (`prompt` and `stop` take either).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `POST /v1/completions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub model: String,
    pub prompt: OneOrMany,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<OneOrMany>,
    /// How many alternatives per token to return besides the chosen one; any value asks for the
    /// chosen token's log-probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// vLLM's extension: beam search of width `n` instead of sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_beam_search: Option<bool>,
    /// Candidates considered before the `n` best are returned (vLLM: the beam width).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Fields of a particular server (llama.cpp's `repeat_penalty`, say); unknown fields of a
    /// request read land here.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl CompletionRequest {
    /// A request with only the model and the prompt set.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        CompletionRequest {
            model: model.into(),
            prompt: OneOrMany::One(prompt.into()),
            max_tokens: None,
            n: None,
            temperature: None,
            top_p: None,
            stop: None,
            logprobs: None,
            seed: None,
            use_beam_search: None,
            best_of: None,
            stream: None,
            extra: serde_json::Map::new(),
        }
    }
}

/// The answer to a completion request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletionResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One completion; with several prompts, `index` runs over prompts × `n`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: usize,
    pub text: String,
    #[serde(default)]
    pub logprobs: Option<LogProbs>,
    /// `stop` (end of sequence or a stop string) or `length`.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Per-token log-probabilities of a completion (the legacy completions format).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogProbs {
    #[serde(default)]
    pub tokens: Vec<String>,
    /// `null` where a server has none (the first prompt token when echoing).
    #[serde(default)]
    pub token_logprobs: Vec<Option<f64>>,
    #[serde(default)]
    pub top_logprobs: Option<Vec<Option<serde_json::Map<String, serde_json::Value>>>>,
    #[serde(default)]
    pub text_offset: Vec<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
}

/// `GET /v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub object: String,
    pub data: Vec<ModelCard>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub owned_by: String,
}

/// The body of an error answer: `{"error": {"message": …, "type": …}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                code: None,
            },
        }
    }
}

/// The message of an error answer's body: the `error.message` of the usual shape, the `detail`
/// or `message` some servers send, else the body itself (shortened).
pub fn error_message(body: &str) -> String {
    if let Ok(e) = serde_json::from_str::<ErrorBody>(body) {
        return e.error.message;
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["detail", "message", "error"] {
            match map.get(key) {
                Some(serde_json::Value::String(s)) => return s.clone(),
                Some(v @ serde_json::Value::Array(_)) | Some(v @ serde_json::Value::Object(_)) => {
                    return v.to_string();
                }
                _ => {}
            }
        }
    }
    let body = body.trim();
    let short: String = body.chars().take(200).collect();
    if short.len() < body.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_leave_out_what_is_not_set_and_read_either_prompt_form() {
        let r = CompletionRequest::new("m", "p");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"model":"m","prompt":"p"}"#
        );
        let many: CompletionRequest =
            serde_json::from_str(r#"{"model":"m","prompt":["a","b"],"stop":"\n"}"#).unwrap();
        assert_eq!(many.prompt.into_vec(), ["a", "b"]);
        assert_eq!(many.stop.unwrap().into_vec(), ["\n"]);
    }

    #[test]
    fn error_messages_are_found_in_the_shapes_servers_use() {
        assert_eq!(
            error_message(
                r#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#
            ),
            "no such model"
        );
        assert_eq!(error_message(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            error_message("Internal Server Error"),
            "Internal Server Error"
        );
        assert!(error_message(&"x".repeat(500)).ends_with('…'));
    }
}
