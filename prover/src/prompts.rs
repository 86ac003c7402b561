//! The prompts: the model card's (chat template, next tactic, formalization), the tactic
//! prompt templates (`--prompt NAME|FILE`: built-ins and the user's own files) and their stop
//! strings.

use std::path::Path;
use std::sync::Arc;

use causal_lm::chat_template::{ChatMessage, ChatTemplate};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

/// The chat template of the chat checkpoints (no system prompt).
pub fn chat(prompt: &str) -> String {
    format!("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n")
}

/// The model card's prompts, word for word (the misspelling "langauge" is the model's own
/// training prompt).
pub mod card {
    pub const NEXT_TACTIC: &str = "Given the Lean 3 tactic state, suggest a next tactic:\n";
    pub const FORMALIZE: &str =
        "Convert this natural langauge statement into a Lean 3 theorem statement:";
    pub const INFORMALIZE: &str = "Convert this Lean 3 theorem statement into natural language:";

    /// Natural language → a Lean 3 statement.
    pub fn formalize(informal: &str) -> String {
        format!("{FORMALIZE}{informal}")
    }

    /// A Lean 3 statement (`theorem name binders : goal`) → natural language.
    pub fn informalize(statement: &str) -> String {
        format!("{INFORMALIZE}{statement}")
    }
}

/// Three worked examples in the layout of InternLM-Math's MiniF2F search script for the base
/// checkpoints (a Lean 4 evaluation with Lean 4 examples). Ours are Lean 3 (core Lean and
/// mathlib-style steps), not MiniF2F problems.
pub const FEWSHOT_EXAMPLES: &str = "Tactic state:\n---\np q : Prop,\nhp : p,\nhq : q\n⊢ p ∧ q\n---\nNext tactic:\n---\nexact ⟨hp, hq⟩\n---\n\n\
Tactic state:\n---\nx : ℝ,\nh₀ : 2 * x + 3 = 7\n⊢ x = 2\n---\nNext tactic:\n---\nlinarith\n---\n\n\
Tactic state:\n---\nn : ℕ\n⊢ n + 0 = n\n---\nNext tactic:\n---\nsimp\n---\n\n";

/// Whether a checkpoint takes the model card's prompts in its chat template (chat
/// checkpoints) or as plain text after examples (base checkpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PromptStyle {
    /// The chat template around the model card's "suggest a next tactic" prompt (chat
    /// checkpoints: internlm2-math-7b/-20b).
    Chat,
    /// Three worked examples then `Tactic state:\n---\n{state}\n---\nNext tactic:\n---\n`,
    /// stopping at `---` or a newline (base checkpoints).
    Fewshot,
}

impl PromptStyle {
    /// The default for a checkpoint: few-shot for `-base` checkpoints and for tokenizers
    /// without the chat tokens, chat otherwise.
    pub fn default_for(source: &str, has_chat_tokens: bool) -> Self {
        if source.to_ascii_lowercase().contains("base") || !has_chat_tokens {
            PromptStyle::Fewshot
        } else {
            PromptStyle::Chat
        }
    }

    /// The built-in tactic prompt of this style.
    pub fn tactic_prompt_name(self) -> &'static str {
        match self {
            PromptStyle::Chat => "chat",
            PromptStyle::Fewshot => "fewshot",
        }
    }
}

/// What a tactic prompt is filled with for one proof state.
#[derive(Clone, Copy, Debug, Default)]
pub struct PromptVars<'a> {
    /// The goals as Lean prints them (`{state}`).
    pub state: &'a str,
    /// The theorem's name (`{name}`).
    pub name: &'a str,
    /// The theorem's statement, `binders : goal` as the file states it (`{statement}`).
    pub statement: &'a str,
    /// The proof so far (`{proof}`): the tactics run from the theorem's start to this state,
    /// one per line, separated by commas as in a `begin … end` block; empty at the start.
    pub proof: &'a str,
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &["state", "name", "statement", "proof"];

/// The built-in tactic prompts, by name.
pub const BUILTIN_PROMPTS: &[(&str, &str)] = &[
    (
        "chat",
        "the model card's next-tactic prompt in InternLM2's chat template (chat checkpoints)",
    ),
    (
        "fewshot",
        "three Lean 3 worked examples in InternLM-Math's `Tactic state: --- Next tactic:` layout (base checkpoints)",
    ),
    (
        "gptf",
        "GPT-f / PACT's `[GOAL]{state}[PROOFSTEP]` (llmstep's layout)",
    ),
    ("state", "the bare state (ReProver-style generators)"),
];

/// The tactic prompt: a template whose text is sent as written, with `{state}` (and `{name}`,
/// `{statement}`, `{proof}`) filled in; `{{` and `}}` stand for braces. The part before the first
/// placeholder is shared by every request (its KV cache computed once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TacticPrompt {
    /// A built-in's name, or the template file's path.
    pub name: String,
    template: String,
    /// Bytes of `template` that every prompt shares.
    prefix_len: usize,
    /// Where a tactic ends.
    pub stop: Vec<String>,
    /// The chat template the filled prompt is sent in, as one user message (`--chat-template`).
    chat: Option<ChatWrap>,
}

/// A chat template around the prompt, with the part of its rendering every prompt shares.
#[derive(Clone, Debug)]
struct ChatWrap {
    template: Arc<ChatTemplate>,
    /// The rendering up to the end of the prompt's own shared part.
    shared: String,
}

impl PartialEq for ChatWrap {
    fn eq(&self, other: &Self) -> bool {
        self.template.origin == other.template.origin && self.shared == other.shared
    }
}

impl Eq for ChatWrap {}

impl ChatWrap {
    fn render(&self, prompt: &str) -> Result<String> {
        Ok(self
            .template
            .render_for_encoding(&[ChatMessage::user(prompt)], true)?)
    }
}

impl TacticPrompt {
    /// A built-in prompt by name (`chat`, `fewshot`, `gptf`, `state`).
    pub fn builtin(name: &str) -> Option<Self> {
        let (template, stop): (String, Vec<&str>) = match name {
            "chat" => (
                format!(
                    "<|im_start|>user\n{}{{state}}<|im_end|>\n<|im_start|>assistant\n",
                    card::NEXT_TACTIC.replace('{', "{{").replace('}', "}}")
                ),
                vec!["<|im_end|>"],
            ),
            "fewshot" => (
                format!(
                    "{}Tactic state:\n---\n{{state}}\n---\nNext tactic:\n---\n",
                    FEWSHOT_EXAMPLES.replace('{', "{{").replace('}', "}}")
                ),
                vec!["---", "\n"],
            ),
            "gptf" => ("[GOAL]{state}[PROOFSTEP]".to_string(), vec!["\n"]),
            "state" => ("{state}".to_string(), vec!["\n"]),
            _ => return None,
        };
        let mut p = TacticPrompt::from_template(
            name,
            &template,
            stop.iter().map(|s| s.to_string()).collect(),
        )
        .expect("built-in templates are valid");
        if name == "fewshot" {
            // Its examples alone are the shared part, as before templates (the split decides
            // the tokens, and the server splits where the engine does).
            p.prefix_len = FEWSHOT_EXAMPLES.replace('{', "{{").replace('}', "}}").len();
        }
        Some(p)
    }

    /// `--prompt NAME|FILE`: a built-in's name, else a template file (its stop string a
    /// newline unless `--stop` says).
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(p) = Self::builtin(spec) {
            return Ok(p);
        }
        let path = Path::new(spec);
        if !path.is_file() {
            let names: Vec<&str> = BUILTIN_PROMPTS.iter().map(|(n, _)| *n).collect();
            bail!(
                "--prompt {spec}: neither a built-in prompt ({}) nor a template file",
                names.join(", ")
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--prompt: reading the template {}", path.display()))?;
        Self::from_template(&path.display().to_string(), &text, vec!["\n".into()])
            .with_context(|| format!("--prompt {}", path.display()))
    }

    /// A template's text, checked: it must use `{state}`, and only known placeholders.
    pub fn from_template(name: &str, template: &str, stop: Vec<String>) -> Result<Self> {
        let pieces = pieces(template)?;
        if !pieces.iter().any(|p| matches!(p, Piece::Var("state"))) {
            bail!("the template has no {{state}} placeholder");
        }
        let prefix_len = first_placeholder(template).unwrap_or(template.len());
        Ok(TacticPrompt {
            name: name.to_string(),
            template: template.to_string(),
            prefix_len,
            stop,
            chat: None,
        })
    }

    /// The same prompt sent in a chat template, as the one user message, with the generation
    /// prompt after it (as `apply_chat_template(…, add_generation_prompt=True)` writes it; a
    /// beginning-of-sequence token the template prints is left to the tokenizer).
    pub fn with_chat_template(mut self, template: Arc<ChatTemplate>) -> Result<Self> {
        let inner = self.shared_prefix();
        // The shared part of the rendering: what renderings of two different states have in
        // common, cut back to where the prompt's own shared part ends in it.
        let wrap = ChatWrap {
            template,
            shared: String::new(),
        };
        let samples = ["n : ℕ\n⊢ n + 0 = n", "⊢ true", "h : p\n⊢ p ∨ q"];
        let renders = samples
            .iter()
            .map(|state| {
                wrap.render(&self.unwrapped(&PromptVars {
                    state,
                    name: "t",
                    statement: ": true",
                    proof: "intro h",
                }))
            })
            .collect::<Result<Vec<_>>>()
            .context("rendering the chat template")?;
        let mut common = renders[0].len();
        for r in &renders[1..] {
            common = common.min(
                renders[0]
                    .char_indices()
                    .zip(r.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(renders[0].len().min(r.len()), |((i, _), _)| i),
            );
        }
        let mut shared = renders[0][..common].to_string();
        // Keep the prompt's own shared part whole at the end, and nothing of what follows it.
        match shared.rfind(inner.as_str()) {
            Some(at) if !inner.is_empty() => shared.truncate(at + inner.len()),
            _ => {
                // The template changes the prompt's text (or the prompt shares nothing): share
                // the template's text before the message only.
                let start = renders[0].find(samples[0]).unwrap_or(0);
                shared.truncate(start.min(common));
            }
        }
        self.chat = Some(ChatWrap { shared, ..wrap });
        Ok(self)
    }

    /// The prompt for a state as the template writes it, before any chat template.
    fn unwrapped(&self, vars: &PromptVars) -> String {
        fill(&self.template, vars)
    }

    /// The same prompt with other stop strings (`--stop`).
    pub fn with_stop(mut self, stop: Vec<String>) -> Self {
        self.stop = stop;
        self
    }

    /// The part shared by every request, as sent (placeholders never in it).
    pub fn shared_prefix(&self) -> String {
        match &self.chat {
            Some(chat) => chat.shared.clone(),
            None => fill(&self.template[..self.prefix_len], &PromptVars::default()),
        }
    }

    /// What follows the shared prefix for a state.
    pub fn request(&self, vars: &PromptVars) -> String {
        let Some(chat) = &self.chat else {
            return fill(&self.template[self.prefix_len..], vars);
        };
        let inner = self.unwrapped(vars);
        match chat.render(&inner) {
            Ok(text) => match text.strip_prefix(chat.shared.as_str()) {
                Some(rest) => rest.to_string(),
                None => {
                    // Not seen on the sample states the shared part was measured on; the
                    // prompt then holds the template's opening twice, which the log says.
                    tracing::warn!(template = %chat.template.origin, "a rendering does not begin with the shared part");
                    text
                }
            },
            Err(e) => {
                // Rendering succeeded on the samples; a template that fails on one state
                // (raise_exception on its content) sends the prompt unwrapped.
                tracing::warn!(template = %chat.template.origin, error = %e, "the chat template failed on a prompt");
                inner
            }
        }
    }

    /// The whole prompt for a state.
    pub fn prompt(&self, vars: &PromptVars) -> String {
        format!("{}{}", self.shared_prefix(), self.request(vars))
    }

    /// One line for start-up: which prompt, and where a tactic ends.
    pub fn describe(&self) -> String {
        let kind = if BUILTIN_PROMPTS.iter().any(|(n, _)| *n == self.name) {
            "built-in"
        } else {
            "template file"
        };
        let chat = match &self.chat {
            Some(chat) => format!(", in the chat template of {}", chat.template.origin),
            None => String::new(),
        };
        format!(
            "prompt: {} ({kind}){chat}, stop strings {:?}",
            self.name, self.stop
        )
    }
}

/// Where the first placeholder begins (escaped braces are text).
fn first_placeholder(template: &str) -> Option<usize> {
    let mut i = 0;
    while i < template.len() {
        let rest = &template[i..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            i += 2;
        } else if rest.starts_with('{') {
            return Some(i);
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// A template cut into text and placeholders; an unknown or unclosed placeholder is an error.
fn pieces(template: &str) -> Result<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            let Some(end) = r.find('}') else {
                bail!("a `{{` without its `}}` (write `{{{{` for a brace)");
            };
            let var = &r[..end];
            if !PLACEHOLDERS.contains(&var) {
                bail!(
                    "unknown placeholder {{{var}}} (known: {}; write `{{{{` for a brace)",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            out.push(Piece::Var(var));
            rest = &r[end + 1..];
        } else if rest.starts_with('}') {
            bail!("a `}}` without its `{{` (write `}}}}` for a brace)");
        } else {
            let end = rest.find(['{', '}']).unwrap_or(rest.len());
            out.push(Piece::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    Ok(out)
}

fn fill(template: &str, vars: &PromptVars) -> String {
    let mut out = String::with_capacity(template.len() + vars.state.len());
    for piece in pieces(template).expect("checked when the prompt was made") {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var("state") => out.push_str(vars.state),
            Piece::Var("name") => out.push_str(vars.name),
            Piece::Var("statement") => out.push_str(vars.statement),
            Piece::Var("proof") => out.push_str(vars.proof),
            Piece::Var(_) => {}
        }
    }
    out
}
