//! Entry points for the fuzz targets (`fuzz/`) that reach the binary's own code: what a client
//! sends `prover serve`, and what a server answers the remote policy. They live here so that
//! the regression corpus also runs in the ordinary tests on the stable toolchain.

use openai_api::{CompletionRequest, CompletionResponse, ModelList};

use crate::serve::{RequestLimits, plan_request};

/// `prover serve`'s reading of a request body: JSON into a request, then the checks; a
/// request that passes stays within the limits.
pub fn serve_request(bytes: &[u8]) {
    // A chat request: its conversation rendered by a chat template (InternLM2's layout), then
    // planned as the completion it becomes.
    if let Ok(chat) = serde_json::from_slice::<openai_api::ChatCompletionRequest>(bytes) {
        static TEMPLATE: std::sync::OnceLock<causal_lm::chat_template::ChatTemplate> =
            std::sync::OnceLock::new();
        let template = TEMPLATE.get_or_init(|| {
            causal_lm::chat_template::ChatTemplate::new(
                "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] \
                 + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}\
                 {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
                "fuzz",
                Some("<s>".into()),
                Some("</s>".into()),
            )
            .expect("the template compiles")
        });
        if let Ok(prompt) = crate::serve::render_conversation(template, &chat.messages) {
            assert!(prompt.ends_with("<|im_start|>assistant\n"));
            let req = chat.into_completion(prompt);
            if let Ok(body) = serde_json::to_vec(&req) {
                serve_request(&body);
            }
        }
        return;
    }
    let Ok(req) = serde_json::from_slice::<CompletionRequest>(bytes) else {
        return;
    };
    let limits = RequestLimits {
        served_name: "tiny",
        max_n: 8,
        max_model_len: 4096,
        bos: 1,
    };
    // One token per byte: an upper bound of any tokenizer's count, without loading one.
    let Ok(plan) = plan_request(req, &limits, &|text| Ok(text.len())) else {
        return;
    };
    assert!(!plan.prompts.is_empty() && plan.prompts.len() <= 64);
    assert!(plan.n >= 1 && plan.n <= limits.max_n && plan.k <= limits.max_n);
    assert!(plan.params.max_new_tokens >= 1);
    for tokens in &plan.prompt_tokens {
        assert!(tokens + plan.params.max_new_tokens <= limits.max_model_len);
    }
    assert!(plan.params.stop.iter().all(|s| !s.is_empty()));
}

/// The remote policy's reading of a server's answer: any status and body become an error with
/// a message or candidates with scores.
pub fn client_answer(bytes: &[u8]) {
    let (status, body) = match bytes.split_first() {
        // The first byte picks a status, so that error bodies are read too.
        Some((&b, rest)) if b % 4 == 0 => (500 + u16::from(b % 5), rest),
        Some((&b, rest)) if b % 4 == 1 => (400 + u16::from(b % 30), rest),
        Some((_, rest)) => (200, rest),
        None => (200, &[][..]),
    };
    let body = String::from_utf8_lossy(body);
    let url = "http://127.0.0.1:1/v1/completions";
    // A chat answer reads as the completion answer it converts to.
    if let Ok(chat) =
        openai_api::read_answer::<openai_api::ChatCompletionResponse>(url, status, &body)
    {
        let choices = chat.choices.len();
        assert_eq!(chat.into_completion().choices.len(), choices);
    }
    match openai_api::read_answer::<CompletionResponse>(url, status, &body) {
        Ok(response) => {
            let stop = ["\n".to_string(), "---".to_string()];
            let candidates = crate::remote::generations_from(&response, &stop);
            assert_eq!(candidates.len(), response.choices.len());
            for c in &candidates {
                assert_eq!(c.tokens, c.token_logprobs.len());
                assert!(
                    !c.text.contains('\n') && !c.text.contains("---"),
                    "{:?}",
                    c.text
                );
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let _ = openai_api::read_answer::<ModelList>(url, status, &body);
}
