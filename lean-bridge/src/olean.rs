//! Reading the head of Lean 3 `.olean` files: whether one is whole, and whether it was compiled
//! from the source beside it.
//!
//! Lean writes an `.olean` in place (`library/module_mgr.cpp`), so a compile that is killed can
//! leave a truncated file whose header still claims the current source. Lean then refuses to
//! load it ("has been corrupted") instead of compiling it again, so anything that resumes a
//! compile must find such files and remove them. The layout (`library/module.cpp`,
//! `util/serializer.cpp`): the string `oleanfile`, the version string, the source hash, the
//! hash of everything imported, the hash of the object code, a flag, the imports, and last the
//! object code as a blob (its length, then its bytes). Hashes are MurmurHash64A with seed 0
//! (`util/hash.cpp`).

use std::path::Path;

/// Lean's `hash64_str`: MurmurHash64A of the bytes with seed 0.
pub fn hash64(bytes: &[u8]) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h: u64 = (bytes.len() as u64).wrapping_mul(M);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The hash Lean records for a source file: [`hash64`] of its text with every `\r` removed.
pub fn source_hash(source: &[u8]) -> u64 {
    if source.contains(&b'\r') {
        let clean: Vec<u8> = source.iter().copied().filter(|&b| b != b'\r').collect();
        hash64(&clean)
    } else {
        hash64(source)
    }
}

/// The fixed fields at the head of an `.olean`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OleanHead {
    /// The Lean version that wrote it (`3.51.1`, with the commit for some builds).
    pub version: String,
    /// The hash of the source it was compiled from ([`source_hash`]).
    pub source_hash: u64,
    /// The hash of the object code ([`hash64`] of the blob that ends the file).
    pub code_hash: u64,
    /// Where the fixed fields end (the imports begin).
    fields_end: usize,
}

/// What an `.olean` next to a source file is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OleanStatus {
    /// Whole, written by this Lean version, from the source as it is now.
    Fresh,
    /// Whole, but from another source text or another Lean version: Lean compiles it again.
    Stale,
    /// Cut short or garbled: Lean would refuse to load it; it must be removed.
    Corrupt,
    /// No `.olean` at all.
    Missing,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// `serializer::write_string`: the bytes, then a NUL.
    fn string(&mut self) -> Option<String> {
        let len = self.bytes[self.pos..].iter().position(|&b| b == 0)?;
        let s = String::from_utf8_lossy(&self.bytes[self.pos..self.pos + len]).to_string();
        self.pos += len + 1;
        Some(s)
    }

    /// `write_unsigned`: one byte below 255, else 255 and four big-endian bytes.
    fn unsigned(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 255 {
            return Some(u32::from(b));
        }
        let mut v = 0u32;
        for _ in 0..4 {
            v = (v << 8) | u32::from(self.byte()?);
        }
        Some(v)
    }

    /// `write_uint64`: the high and the low half, each as [`Self::unsigned`].
    fn uint64(&mut self) -> Option<u64> {
        let hi = self.unsigned()?;
        let lo = self.unsigned()?;
        Some((u64::from(hi) << 32) | u64::from(lo))
    }
}

impl OleanHead {
    /// Reads the fixed fields; `None` when the bytes do not start as an `.olean` does.
    pub fn parse(bytes: &[u8]) -> Option<OleanHead> {
        let mut r = Reader { bytes, pos: 0 };
        if r.string()? != "oleanfile" {
            return None;
        }
        let version = r.string()?;
        let source_hash = r.uint64()?;
        let _imports_hash = r.uint64()?;
        let code_hash = r.uint64()?;
        Some(OleanHead {
            version,
            source_hash,
            code_hash,
            fields_end: r.pos,
        })
    }
}

/// Whether `bytes` is a whole `.olean`: its last part is a blob (a length, then that many
/// bytes, ending the file) whose hash is the one the head claims. The imports between the head
/// and the blob are names in Lean's own serialization, so instead of decoding them this looks
/// for the one place where a length that ends exactly at the end of the file begins.
pub fn is_whole(bytes: &[u8]) -> bool {
    let Some(head) = OleanHead::parse(bytes) else {
        return false;
    };
    // After the head: the `uses sorry` flag, the import count, the imports. Module names are
    // short; 64 KiB of them is far more than any file imports.
    let start = head.fields_end + 1;
    let end = bytes.len().min(start + 65_536);
    for at in start..end {
        let mut r = Reader { bytes, pos: at };
        let Some(len) = r.unsigned() else { break };
        if r.pos + len as usize == bytes.len() && hash64(&bytes[r.pos..]) == head.code_hash {
            return true;
        }
    }
    false
}

/// The status of the `.olean` beside `lean_file` (`foo.lean` → `foo.olean`) for a Lean whose
/// version string is `version` (`3.51.1`). `check_whole` also hashes the object code, which
/// reads the whole file: needed to find truncated files, not to follow a compile's progress.
pub fn status_of(lean_file: &Path, version: &str, check_whole: bool) -> OleanStatus {
    let olean = lean_file.with_extension("olean");
    let Ok(bytes) = std::fs::read(&olean) else {
        return OleanStatus::Missing;
    };
    let Some(head) = OleanHead::parse(&bytes) else {
        return OleanStatus::Corrupt;
    };
    if check_whole && !is_whole(&bytes) {
        return OleanStatus::Corrupt;
    }
    let Ok(source) = std::fs::read(lean_file) else {
        return OleanStatus::Stale;
    };
    // Lean's version string may carry more than the number (`3.51.1, commit …`).
    let same_version = head.version == version
        || head
            .version
            .strip_prefix(version)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
    if same_version && head.source_hash == source_hash(&source) {
        OleanStatus::Fresh
    } else {
        OleanStatus::Stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the fields as Lean's serializer does.
    fn unsigned(out: &mut Vec<u8>, v: u32) {
        if v < 255 {
            out.push(v as u8);
        } else {
            out.push(255);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }

    fn olean(version: &str, src_hash: u64, code: &[u8], imports: &[u8]) -> Vec<u8> {
        let mut out = b"oleanfile\0".to_vec();
        out.extend_from_slice(version.as_bytes());
        out.push(0);
        for h in [src_hash, 7, hash64(code)] {
            unsigned(&mut out, (h >> 32) as u32);
            unsigned(&mut out, h as u32);
        }
        out.push(0); // uses sorry
        out.extend_from_slice(imports);
        unsigned(&mut out, code.len() as u32);
        out.extend_from_slice(code);
        out
    }

    #[test]
    fn murmur_matches_reference_values() {
        // MurmurHash64A with seed 0, from the reference implementation.
        assert_eq!(hash64(b""), 0);
        assert_eq!(hash64(b"a"), 0x071717d2d36b6b11);
        assert_eq!(hash64(b"hello world!"), 0x64db099bd1512951);
        assert_eq!(hash64(b"0123456789abcdefXYZ"), 0x083a94d50cc1ddd0);
        assert_eq!(source_hash(b"a\r\nb"), hash64(b"a\nb"));
    }

    #[test]
    fn a_whole_file_is_whole_and_any_cut_of_it_is_not() {
        let code: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        // Two imports in some encoding of names (their bytes do not matter here).
        let bytes = olean("3.51.1", 42, &code, &[2, 1, 3, b'n', b'a', b't', 0, 9, 9]);
        let head = OleanHead::parse(&bytes).unwrap();
        assert_eq!(head.version, "3.51.1");
        assert_eq!(head.source_hash, 42);
        assert!(is_whole(&bytes));
        for cut in [bytes.len() - 1, bytes.len() - 100, 40, 12, 3, 0] {
            assert!(!is_whole(&bytes[..cut]), "cut at {cut}");
        }
        let mut garbled = bytes.clone();
        let n = garbled.len();
        garbled[n - 10] ^= 1;
        assert!(!is_whole(&garbled));
    }

    #[test]
    fn status_compares_source_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let lean = dir.path().join("a.lean");
        assert_eq!(status_of(&lean, "3.51.1", true), OleanStatus::Missing);
        std::fs::write(&lean, "theorem t : true := trivial\n").unwrap();
        let h = source_hash(b"theorem t : true := trivial\n");
        let whole = olean("3.51.1", h, b"code", &[0]);
        std::fs::write(dir.path().join("a.olean"), &whole).unwrap();
        assert_eq!(status_of(&lean, "3.51.1", true), OleanStatus::Fresh);
        assert_eq!(status_of(&lean, "3.50.3", true), OleanStatus::Stale);
        std::fs::write(&lean, "theorem t : true := by trivial\n").unwrap();
        assert_eq!(status_of(&lean, "3.51.1", true), OleanStatus::Stale);
        std::fs::write(dir.path().join("a.olean"), &whole[..whole.len() - 2]).unwrap();
        assert_eq!(status_of(&lean, "3.51.1", true), OleanStatus::Corrupt);
        std::fs::write(dir.path().join("a.olean"), b"garbage").unwrap();
        assert_eq!(status_of(&lean, "3.51.1", false), OleanStatus::Corrupt);
    }
}
