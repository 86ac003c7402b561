//! The chat completions API (`POST /v1/chat/completions`), for servers and hosted APIs that
//! speak only chat. A chat request with one user message is a completion request whose prompt
//! the server wraps in its chat template; the conversions both ways let one code path serve
//! both APIs (the client converts its completion requests, `prover serve` its chat requests).

use serde::{Deserialize, Serialize};

use crate::wire::{Choice, CompletionRequest, CompletionResponse, LogProbs, OneOrMany, Usage};

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    /// `null` in some answers (an assistant turn that only calls tools).
    #[serde(default)]
    pub content: Option<String>,
}

/// `POST /v1/chat/completions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
    /// OpenAI's newer name for `max_tokens`; read, never written.
    #[serde(default, skip_serializing)]
    pub max_completion_tokens: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<OneOrMany>,
    /// Whether to return the chosen tokens' log-probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// vLLM's extension, as in completions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_beam_search: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ChatCompletionRequest {
    /// The completion request `req` asked as a chat: its prompt becomes the one user message,
    /// a request for log-probabilities asks for the chosen tokens' ones (and as many
    /// alternatives as it asked). `None` when it has
    /// several prompts (a chat request holds one conversation).
    pub fn from_completion(req: &CompletionRequest) -> Option<Self> {
        let prompt = match &req.prompt {
            OneOrMany::One(p) => p.clone(),
            OneOrMany::Many(v) if v.len() == 1 => v[0].clone(),
            OneOrMany::Many(_) => return None,
        };
        Some(ChatCompletionRequest {
            model: req.model.clone(),
            messages: vec![ChatMessage {
                role: "user".into(),
                content: Some(prompt),
            }],
            max_tokens: req.max_tokens,
            max_completion_tokens: None,
            n: req.n,
            temperature: req.temperature,
            top_p: req.top_p,
            stop: req.stop.clone(),
            logprobs: req.logprobs.map(|_| true),
            // Asked explicitly: llama.cpp's server returns no log-probabilities without it.
            top_logprobs: req.logprobs,
            seed: req.seed,
            use_beam_search: req.use_beam_search,
            best_of: req.best_of,
            stream: req.stream,
            extra: req.extra.clone(),
        })
    }

    /// The completion request for this chat once its conversation is rendered as `prompt`
    /// (the server's side).
    pub fn into_completion(self, prompt: String) -> CompletionRequest {
        CompletionRequest {
            model: self.model,
            prompt: OneOrMany::One(prompt),
            max_tokens: self.max_tokens.or(self.max_completion_tokens),
            n: self.n,
            temperature: self.temperature,
            top_p: self.top_p,
            stop: self.stop,
            logprobs: (self.logprobs == Some(true)).then_some(self.top_logprobs.unwrap_or(0)),
            seed: self.seed,
            use_beam_search: self.use_beam_search,
            best_of: self.best_of,
            stream: self.stream,
            extra: self.extra,
        }
    }
}

/// The answer to a chat request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<ChatChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatChoice {
    pub index: usize,
    pub message: ChatMessage,
    #[serde(default)]
    pub logprobs: Option<ChatLogProbs>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The chosen tokens' log-probabilities, in the chat format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatLogProbs {
    #[serde(default)]
    pub content: Option<Vec<TokenLogProb>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenLogProb {
    pub token: String,
    pub logprob: f64,
    /// The token's UTF-8 bytes (a token may hold part of a character).
    #[serde(default)]
    pub bytes: Option<Vec<u8>>,
    #[serde(default)]
    pub top_logprobs: Vec<serde_json::Value>,
}

impl ChatCompletionResponse {
    /// The same answer in the completions format: each message's content as the text, the
    /// token log-probabilities as `tokens`/`token_logprobs`.
    pub fn into_completion(self) -> CompletionResponse {
        CompletionResponse {
            id: self.id,
            object: "text_completion".into(),
            created: self.created,
            model: self.model,
            choices: self
                .choices
                .into_iter()
                .map(|c| {
                    let logprobs = c.logprobs.and_then(|l| l.content).map(|content| {
                        let mut out = LogProbs::default();
                        let mut offset = 0;
                        for t in content {
                            out.text_offset.push(offset);
                            offset += t.token.len();
                            out.tokens.push(t.token);
                            out.token_logprobs.push(Some(t.logprob));
                        }
                        out
                    });
                    Choice {
                        index: c.index,
                        text: c.message.content.unwrap_or_default(),
                        logprobs,
                        finish_reason: c.finish_reason,
                    }
                })
                .collect(),
            usage: self.usage,
        }
    }

    /// A completions answer as a chat answer (the server's side).
    pub fn from_completion(r: CompletionResponse) -> Self {
        ChatCompletionResponse {
            id: r.id.replacen("cmpl-", "chatcmpl-", 1),
            object: "chat.completion".into(),
            created: r.created,
            model: r.model,
            choices: r
                .choices
                .into_iter()
                .map(|c| ChatChoice {
                    index: c.index,
                    message: ChatMessage {
                        role: "assistant".into(),
                        content: Some(c.text),
                    },
                    logprobs: c.logprobs.map(|l| ChatLogProbs {
                        content: Some(
                            l.tokens
                                .into_iter()
                                .zip(l.token_logprobs)
                                .map(|(token, lp)| TokenLogProb {
                                    bytes: Some(token.as_bytes().to_vec()),
                                    token,
                                    logprob: lp.unwrap_or(0.0),
                                    top_logprobs: Vec::new(),
                                })
                                .collect(),
                        ),
                    }),
                    finish_reason: c.finish_reason,
                })
                .collect(),
            usage: r.usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_request_asked_as_a_chat_and_back_is_the_same_request() {
        let mut r = CompletionRequest::new("m", "⊢ p");
        r.n = Some(4);
        r.max_tokens = Some(32);
        r.logprobs = Some(0);
        r.use_beam_search = Some(true);
        r.stop = Some(OneOrMany::Many(vec!["\n".into()]));
        let chat = ChatCompletionRequest::from_completion(&r).unwrap();
        assert_eq!(
            serde_json::to_value(&chat).unwrap(),
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": "⊢ p"}],
                "max_tokens": 32, "n": 4, "stop": ["\n"], "logprobs": true, "top_logprobs": 0,
                "use_beam_search": true,
            })
        );
        assert_eq!(chat.into_completion("⊢ p".into()), r);
        let mut many = CompletionRequest::new("m", "a");
        many.prompt = OneOrMany::Many(vec!["a".into(), "b".into()]);
        assert!(ChatCompletionRequest::from_completion(&many).is_none());
    }

    #[test]
    fn chat_answers_read_as_completions_with_their_token_log_probabilities() {
        // The shape OpenAI, vLLM and llama.cpp's server send.
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
            "choices":[{"index":0,"message":{"role":"assistant","content":"simp"},
              "logprobs":{"content":[{"token":"si","logprob":-0.5,"bytes":[115,105],"top_logprobs":[]},
                                     {"token":"mp","logprob":-0.25,"bytes":[109,112],"top_logprobs":[]}]},
              "finish_reason":"stop"},
              {"index":1,"message":{"role":"assistant","content":null},"finish_reason":"length"}]}"#;
        let r: ChatCompletionResponse = serde_json::from_str(body).unwrap();
        let c = r.clone().into_completion();
        assert_eq!(c.choices[0].text, "simp");
        let lp = c.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(lp.tokens, ["si", "mp"]);
        assert_eq!(lp.token_logprobs, [Some(-0.5), Some(-0.25)]);
        assert_eq!(c.choices[1].text, "");
        assert!(c.choices[1].logprobs.is_none());
        // And back, as prover serve answers.
        let back = ChatCompletionResponse::from_completion(c);
        assert_eq!(back.choices[0].message.content.as_deref(), Some("simp"));
        assert_eq!(
            back.choices[0]
                .logprobs
                .as_ref()
                .unwrap()
                .content
                .as_ref()
                .unwrap()[1]
                .logprob,
            -0.25
        );
    }
}
