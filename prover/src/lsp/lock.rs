//! Locking the server's mutexes.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex` even when a task panicked while holding it: one failed request must not take
/// the server down, and what these mutexes guard (maps of documents, requests and runs) stays
/// usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
