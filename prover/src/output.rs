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
