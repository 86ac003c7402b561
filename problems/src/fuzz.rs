//! Entry points for the fuzz targets (`fuzz/`): untrusted bytes in, properties checked, no
//! panic. They live here, not in the fuzz crate, so that the regression corpus also runs in the
//! ordinary tests (`tests/fuzz_corpus.rs`) on the stable toolchain.

use crate::lexer::tokenize;
use crate::{imports_of, parse_str, split_statement};

/// The lexer and the file parser on any text: tokens and spans stay inside the text, on
/// character boundaries and in order.
pub fn lean_source(bytes: &[u8]) {
    let Ok(src) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(tokens) = tokenize(src) {
        let mut end = 0;
        for t in &tokens {
            assert!(
                end <= t.start && t.start <= t.end && t.end <= src.len(),
                "{t:?}"
            );
            assert!(
                src.is_char_boundary(t.start) && src.is_char_boundary(t.end),
                "{t:?}"
            );
            end = t.end;
        }
    }
    let _ = imports_of(src);
    let _ = split_statement(src);
    let Ok(file) = parse_str(src, None) else {
        return;
    };
    assert!(file.body_start <= src.len() && src.is_char_boundary(file.body_start));
    for t in &file.theorems {
        let s = &t.span;
        assert!(s.start <= s.end && s.end <= src.len(), "{}: {s:?}", t.name);
        assert!(src.is_char_boundary(s.start) && src.is_char_boundary(s.end));
        assert!(
            t.command_start <= s.start,
            "{}: command {} after span {s:?}",
            t.name,
            t.command_start
        );
        let _ = split_statement(&t.statement);
        for step in t.steps() {
            let _ = format!("{step:?}");
        }
        let _ = t.proof.text();
    }
}
