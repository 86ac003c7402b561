//! mathlib's published `.olean` files: `leanproject get-cache` where mathlibtools is installed,
//! else the same download (`<commit>.tar.xz`, unpacked at the checkout's root) with curl and
//! tar. Offline, both fail quickly and the caller compiles instead.

use std::path::Path;

use crate::OLEAN_CACHE_URL;
use crate::error::SetupError;
use crate::tools::{Invocation, Output, Program};

/// How the cache was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheVia {
    Leanproject,
    Download,
}

/// `leanproject get-cache`, run in the checkout.
pub fn leanproject_get_cache(dir: &Path) -> Invocation {
    Invocation::new(Program::Leanproject)
        .arg("get-cache")
        .in_dir(dir)
}

/// The archive's address for a commit.
pub fn cache_url(base: &str, rev: &str) -> String {
    format!("{}/{rev}.tar.xz", base.trim_end_matches('/'))
}

/// Fetches and unpacks the cache for `rev` into `dir`. Errors say why each way failed.
pub fn fetch(dir: &Path, rev: &str, base: Option<&str>) -> Result<CacheVia, SetupError> {
    let mut failures = Vec::new();
    // leanproject knows only its own address; a mirror given with --cache-url goes to curl.
    if base.is_none() && Program::Leanproject.find().is_some() {
        match leanproject_get_cache(dir).run(Output::Show, "") {
            Ok(_) => return Ok(CacheVia::Leanproject),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let url = cache_url(base.unwrap_or(OLEAN_CACHE_URL), rev);
    let archive = dir.join(".prover-olean-cache.tar.xz");
    let download = Invocation::new(Program::Curl)
        .arg("--fail")
        .arg("--location")
        .arg("--silent")
        .arg("--show-error")
        .arg("--connect-timeout")
        .arg("20")
        .arg("--output")
        .arg(archive.as_os_str())
        .arg(&url);
    let result = download
        .run(Output::Capture, "install curl to download mathlib's cache")
        .and_then(|_| {
            Invocation::new(Program::Tar)
                .arg("-xJf")
                .arg(archive.as_os_str())
                .arg("-C")
                .arg(dir.as_os_str())
                .run(
                    Output::Capture,
                    "install tar and xz-utils to unpack mathlib's cache",
                )
        });
    let _ = std::fs::remove_file(&archive);
    match result {
        Ok(_) => Ok(CacheVia::Download),
        Err(e) => {
            failures.push(e.to_string());
            Err(SetupError::NoCache {
                url,
                reasons: failures
                    .iter()
                    .map(|f| f.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect(),
            })
        }
    }
}
