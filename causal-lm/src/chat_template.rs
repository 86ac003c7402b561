//! A checkpoint's chat template (`chat_template` in `tokenizer_config.json`, or
//! `chat_template.jinja` beside it), rendered as transformers' `apply_chat_template` renders it.
//!
//! transformers compiles the template with Jinja2 (`trim_blocks`, `lstrip_blocks`, loop
//! controls) and gives it `messages`, `add_generation_prompt`, the special tokens
//! (`bos_token`, `eos_token`, …) and the functions `raise_exception` and `strftime_now`. We do
//! the same with minijinja, plus its Python-compatibility methods (`.strip()`, `.items()`, …,
//! which templates call on strings and dicts) and a `tojson` that writes what Python's
//! `json.dumps` writes (minijinja's own escapes `<`, `>`, `&` and `'` for HTML).

use std::path::{Path, PathBuf};

use minijinja::value::{Serde, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value, context};
use serde::Serialize;

use crate::error::{ModelError, Result};

/// The file transformers (≥ 4.43) saves a checkpoint's template to, beside the tokenizer.
pub const CHAT_TEMPLATE_FILE: &str = "chat_template.jinja";
/// Where older checkpoints keep it, as the `chat_template` field.
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template with the special tokens it may print.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Where it came from (a path), for messages.
    pub origin: String,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
}

const TEMPLATE_NAME: &str = "chat";

impl ChatTemplate {
    /// Compiles `source`; a syntax error names `origin`.
    pub fn new(
        source: &str,
        origin: &str,
        bos_token: Option<String>,
        eos_token: Option<String>,
    ) -> Result<Self> {
        let bad = |e: Error| ModelError::ChatTemplate {
            origin: origin.to_string(),
            message: error_text(&e),
        };
        let mut env = Environment::new();
        let syntax = env
            .syntax()
            .to_builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(bad)?;
        env.set_syntax(syntax);
        // A template is code from the checkpoint: bound what one rendering may do.
        env.set_fuel(Some(5_000_000));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_function("strftime_now", |format: String| -> String {
            strftime_utc(&format)
        });
        env.add_filter("tojson", python_tojson);
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(bad)?;
        Ok(ChatTemplate {
            env,
            origin: origin.to_string(),
            bos_token,
            eos_token,
        })
    }

    /// The template a checkpoint directory defines: `chat_template.jinja`, else the
    /// `chat_template` of `tokenizer_config.json` (a string, or a list of named templates of
    /// which `default` is taken). `None` when it defines none.
    pub fn from_checkpoint(dir: &Path) -> Result<Option<Self>> {
        let config_path = dir.join(TOKENIZER_CONFIG);
        let config = if config_path.is_file() {
            Some(read_json(&config_path)?)
        } else {
            None
        };
        let (bos, eos) = config
            .as_ref()
            .map(|c| (token_text(&c["bos_token"]), token_text(&c["eos_token"])))
            .unwrap_or_default();
        let jinja = dir.join(CHAT_TEMPLATE_FILE);
        if jinja.is_file() {
            let source = read_text(&jinja)?;
            return Self::new(&source, &jinja.display().to_string(), bos, eos).map(Some);
        }
        let Some(config) = config else {
            return Ok(None);
        };
        match template_field(&config["chat_template"]) {
            Some(source) => {
                Self::new(&source, &config_path.display().to_string(), bos, eos).map(Some)
            }
            None => Ok(None),
        }
    }

    /// A template file: a `.jinja` file, or a `tokenizer_config.json` holding one.
    pub fn from_file(path: &Path) -> Result<Self> {
        let origin = path.display().to_string();
        if path.extension().is_some_and(|e| e == "json") {
            let config = read_json(path)?;
            let source = template_field(&config["chat_template"]).ok_or_else(|| {
                ModelError::ChatTemplate {
                    origin: origin.clone(),
                    message: "no chat_template field".into(),
                }
            })?;
            return Self::new(
                &source,
                &origin,
                token_text(&config["bos_token"]),
                token_text(&config["eos_token"]),
            );
        }
        Self::new(&read_text(path)?, &origin, None, None)
    }

    /// The conversation as the template writes it (transformers' `apply_chat_template(…,
    /// tokenize=False)`).
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| self.error(e))?;
        template
            .render(context! {
                messages => Value::from(Serde(messages)),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.as_deref().unwrap_or(""),
                eos_token => self.eos_token.as_deref().unwrap_or(""),
            })
            .map_err(|e| self.error(e))
    }

    /// [`render`](Self::render) for text that a tokenizer will encode with its own
    /// beginning-of-sequence token: a `bos_token` the template printed first is dropped, as
    /// transformers' own tokenizing path avoids doubling it.
    pub fn render_for_encoding(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let text = self.render(messages, add_generation_prompt)?;
        Ok(match self.bos_token.as_deref() {
            Some(bos) if !bos.is_empty() => text.strip_prefix(bos).unwrap_or(&text).to_string(),
            _ => text,
        })
    }

    fn error(&self, e: Error) -> ModelError {
        ModelError::ChatTemplate {
            origin: self.origin.clone(),
            message: error_text(&e),
        }
    }
}

/// A minijinja error with its causes, on one line.
fn error_text(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: PathBuf::from(path),
        source,
    })
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    serde_json::from_str(&read_text(path)?).map_err(|e| ModelError::InvalidFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `chat_template` as a string, or the `default` of a list of `{name, template}`.
fn template_field(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str().map(str::to_string)),
        _ => None,
    }
}

/// A special token as tokenizer configs write it: a string, or `{"content": …}`.
fn token_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// transformers' `tojson`: Python's `json.dumps(x, ensure_ascii=False, indent=indent)`, whose
/// separators are `", "` and `": "` without an indent and `","` and `": "` with one, and whose
/// dicts keep their order.
fn python_tojson(
    value: &Value,
    kwargs: minijinja::value::Kwargs,
) -> std::result::Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    write_python_json(value, indent, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

fn write_python_json(
    v: &Value,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) -> std::result::Result<(), Error> {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => match v.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => {
                let f = f64::try_from(v.clone())?;
                if !f.is_finite() {
                    out.push_str(if f.is_nan() {
                        "NaN"
                    } else if f > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    });
                } else if f.fract() == 0.0 && f.abs() < 1e16 {
                    out.push_str(&format!("{f:.1}"));
                } else {
                    out.push_str(&f.to_string());
                }
            }
        },
        ValueKind::String => out.push_str(&quote(v.as_str().unwrap_or_default())),
        ValueKind::Map => {
            let keys: Vec<Value> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                out.push_str(&quote(&k.to_string()));
                out.push_str(": ");
                write_python_json(&v.get_item(k)?, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_python_json(item, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        _ => out.push_str(&quote(&v.to_string())),
    }
    Ok(())
}

/// `strftime_now(format)`: the current UTC date for the few fields chat templates use
/// (`%d`, `%m`, `%Y`, `%b`, `%B`, `%H`, `%M`, `%S`, `%%`); other fields are kept as written.
fn strftime_utc(format: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let name = MONTHS[(month - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('Y') => out.push_str(&year.to_string()),
            Some('b') => out.push_str(&name[..3]),
            Some('B') => out.push_str(name),
            Some('H') => out.push_str(&format!("{:02}", rem / 3600)),
            Some('M') => out.push_str(&format!("{:02}", rem / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", rem % 60)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's civil-from-days.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn tojson_writes_what_python_writes() {
        let t = ChatTemplate::new(
            "{{ x | tojson }}|{{ x | tojson(indent=2) }}",
            "test",
            None,
            None,
        )
        .unwrap();
        let env_out = t
            .env
            .get_template(TEMPLATE_NAME)
            .unwrap()
            .render(context! { x => Value::from(Serde(serde_json::json!({"a": [1, 2.5, "<é>"], "b": {}}))) })
            .unwrap();
        assert_eq!(
            env_out,
            "{\"a\": [1, 2.5, \"<é>\"], \"b\": {}}|{\n  \"a\": [\n    1,\n    2.5,\n    \"<é>\"\n  ],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn raise_exception_is_an_error_naming_the_template() {
        let t = ChatTemplate::new(
            "{{ raise_exception('roles must alternate') }}",
            "t.jinja",
            None,
            None,
        )
        .unwrap();
        let err = t
            .render(&[ChatMessage::user("x")], true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("roles must alternate") && err.contains("t.jinja"),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_is_reported_not_panicked() {
        let err = ChatTemplate::new("{% for m in messages %}", "bad.jinja", None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.jinja"), "{err}");
    }
}
