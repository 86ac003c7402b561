//! Entry points for the fuzz targets (`fuzz/`): what a Lean process prints and what the model
//! proposes are untrusted bytes. They live here, not in the fuzz crate, so that the regression
//! corpus also runs in the ordinary tests (`tests/fuzz_corpus.rs`) on the stable toolchain.

use crate::protocol::{
    CheckResponse, DeclarationsResponse, DeclaredResponse, DoneResponse, DropResponse,
    FileTheoremResponse, ProofResponse, ResolveResponse, StateResponse, StatsResponse,
    VerifyResponse, read_answer,
};
use crate::screen::{screen as screen_text, screen_context_line};
use crate::worker::{LineRead, parse_timing, read_response_line};

/// The worker's reading of a Lean process's stdout and stderr lines: each line is output, the
/// answer, or a protocol error; an answer decodes (or fails to) as every response type.
pub fn repl_response(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for line in text.lines() {
        let _ = parse_timing(line);
        for id in [0, 1, u64::MAX] {
            match read_response_line(line, id) {
                LineRead::Output(Some(out)) => assert!(line.contains(out)),
                LineRead::Output(None) | LineRead::OutOfStep(_) => {}
                LineRead::Response { before, body } => {
                    assert!(body.is_object());
                    if let Some(before) = before {
                        assert!(line.starts_with(before));
                    }
                    let _ = read_answer::<ProofResponse>(&body);
                    let _ = read_answer::<StateResponse>(&body);
                    let _ = read_answer::<DropResponse>(&body);
                    let _ = read_answer::<VerifyResponse>(&body);
                    let _ = read_answer::<CheckResponse>(&body);
                    let _ = read_answer::<DeclaredResponse>(&body);
                    let _ = read_answer::<ResolveResponse>(&body);
                    let _ = read_answer::<DeclarationsResponse>(&body);
                    let _ = read_answer::<StatsResponse>(&body);
                    let _ = read_answer::<DoneResponse>(&body);
                    let _ = read_answer::<FileTheoremResponse>(&body);
                }
            }
        }
    }
}

/// The screen on any text: what it lets through holds none of the sequences it refuses
/// anywhere, and no control character but layout.
pub fn screen(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if screen_text(text).is_ok() {
        for seq in ["#", "@[", "«", "»"] {
            assert!(!text.contains(seq), "{seq:?} passed the screen in {text:?}");
        }
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')),
            "a control character passed the screen in {text:?}"
        );
    }
    for line in text.lines() {
        if screen_context_line(line).is_ok() {
            assert!(!line.contains('#'), "{line:?}");
        }
    }
}
