//! Terminal output: a progress bar on stderr that result lines on stdout do not tear.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar (hidden when stderr is not a terminal) counting successes.
pub struct Progress {
    bar: ProgressBar,
    ok: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub fn new(total: u64, what: &str) -> Self {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed_precise} ({per_sec})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress {
            bar,
            ok: Default::default(),
        }
    }

    /// One more item done.
    pub fn inc(&self, ok: bool) {
        if ok {
            self.ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.bar.inc(1);
    }

    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    pub fn successes(&self) -> u64 {
        self.ok.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

/// Prints a line on stdout without tearing the progress bar.
pub fn print_line(progress: &Progress, line: &str) {
    progress.bar.suspend(|| println!("{line}"));
}

/// `text` on one line (runs of white space become one space), cut with `…` past `max`
/// characters.
pub fn one_line(text: &str, max: usize) -> String {
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(super::one_line("a\n  b\tc", 80), "a b c");
        assert_eq!(super::one_line("abcdef", 4), "abc…");
    }
}

/// The `p` quantile (0..=1) of sorted values, nearest rank; NaN for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// An error and its causes on one line, each cause said once: many library errors put their
/// cause in their own message as well as behind `source()`, and printing the chain with
/// `{:#}` would then say it twice (`cannot read a.lean: invalid UTF-8: invalid UTF-8`).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let said = cause.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
    }
    text
}

#[cfg(test)]
mod error_text_tests {
    use super::error_text;
    use anyhow::Context;

    #[test]
    fn each_cause_is_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.lean");
        std::fs::write(&path, b"\xff\xfe").unwrap();
        let e = anyhow::Error::from(problems::load_file(&path).unwrap_err())
            .context("loading the problems");
        let text = error_text(&e);
        assert_eq!(text.matches("valid UTF-8").count(), 1, "{text}");
        assert!(
            text.starts_with("loading the problems: cannot read "),
            "{text}"
        );
        // A cause that its error does not repeat is still said.
        let e = std::fs::read("/no/such/file")
            .context("reading the config")
            .unwrap_err();
        let text = error_text(&e);
        assert!(text.starts_with("reading the config: "), "{text}");
        assert!(text.to_lowercase().contains("no such file"), "{text}");
    }
}
