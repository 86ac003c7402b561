//! Work shared by the requests that want the same thing: an editor asks for completions on
//! every keystroke and cancels the previous request, so a suggestion run belongs to whoever
//! still waits for it. It runs on its own task; it is cancelled only when nobody has waited
//! for it for a grace period, and its stage messages reach every waiter.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use search::CancellationToken;
use tokio::sync::watch;
use tokio::task::JoinError;

use super::lock::lock;

/// How a shared run ended: with its value, with its error `E`, or cancelled.
#[derive(Clone, Debug)]
pub enum RunEnd<T, E> {
    Done(T),
    Failed(E),
    /// Nobody waited for it any more.
    Cancelled,
}

/// A run's task ended without an answer (it panicked, or the runtime is stopping); every run's
/// error type `E` can say so (`E: From<RunLost>`).
#[derive(Clone, Debug, thiserror::Error)]
#[error("the run failed: {0}")]
pub struct RunLost(Arc<JoinError>);

/// A run's end, which every waiter can await.
type SharedEnd<T, E> = Shared<BoxFuture<'static, RunEnd<T, E>>>;

struct Run<T, E> {
    id: u64,
    done: SharedEnd<T, E>,
    waiters: Arc<AtomicUsize>,
    cancel: CancellationToken,
    stage: watch::Receiver<String>,
}

/// Runs in progress, by key.
pub struct SharedRuns<K, T: Clone, E: Clone> {
    runs: Arc<Mutex<HashMap<K, Run<T, E>>>>,
    next_id: AtomicU64,
    grace: Duration,
    /// Every run's token is a child of this one (the server's shutdown).
    parent: CancellationToken,
}

/// A waiter's hold on a run: the run is abandoned once no ticket has existed for the grace
/// period.
pub struct Ticket<T: Clone, E: Clone> {
    pub done: SharedEnd<T, E>,
    /// The run's latest stage message.
    pub stage: watch::Receiver<String>,
    waiters: Arc<AtomicUsize>,
    cancel: CancellationToken,
    grace: Duration,
}

impl<T: Clone, E: Clone> Drop for Ticket<T, E> {
    fn drop(&mut self) {
        if self.waiters.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let (waiters, cancel, grace) = (self.waiters.clone(), self.cancel.clone(), self.grace);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(grace).await;
                    if waiters.load(Ordering::SeqCst) == 0 {
                        cancel.cancel();
                    }
                });
            }
            Err(_) => cancel.cancel(),
        }
    }
}

impl<K, T, E> SharedRuns<K, T, E>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + From<RunLost> + 'static,
{
    pub fn new(grace: Duration, parent: CancellationToken) -> Self {
        SharedRuns {
            runs: Arc::new(Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(1),
            grace,
            parent,
        }
    }

    /// Joins the run for `key`, or starts it with `start(cancel, stage)` on a new task.
    pub fn join<F>(&self, key: K, start: F) -> Ticket<T, E>
    where
        F: FnOnce(CancellationToken, watch::Sender<String>) -> BoxFuture<'static, RunEnd<T, E>>,
    {
        let mut runs = lock(&self.runs);
        let run = runs.entry(key.clone()).or_insert_with(|| {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let cancel = self.parent.child_token();
            let (stage_tx, stage) = watch::channel(String::new());
            let work = start(cancel.clone(), stage_tx);
            let registry = self.runs.clone();
            let task = tokio::spawn(async move {
                let end = work.await;
                let mut runs = lock(&registry);
                if runs.get(&key).is_some_and(|r| r.id == id) {
                    runs.remove(&key);
                }
                end
            });
            let done = async move {
                task.await
                    .unwrap_or_else(|e| RunEnd::Failed(RunLost(Arc::new(e)).into()))
            }
            .boxed()
            .shared();
            Run {
                id,
                done,
                waiters: Arc::new(AtomicUsize::new(0)),
                cancel,
                stage,
            }
        });
        run.waiters.fetch_add(1, Ordering::SeqCst);
        Ticket {
            done: run.done.clone(),
            stage: run.stage.clone(),
            waiters: run.waiters.clone(),
            cancel: run.cancel.clone(),
            grace: self.grace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    type End = RunEnd<u32, RunLost>;

    /// What a run ended with: its value, or `None` when it was cancelled (a lost run fails the
    /// test).
    fn value(end: End) -> Option<u32> {
        match end {
            RunEnd::Done(v) => Some(v),
            RunEnd::Cancelled => None,
            RunEnd::Failed(lost) => panic!("{lost}"),
        }
    }

    /// A run that counts its starts, reports a stage, and ends after `ms` unless cancelled.
    fn slow(
        starts: Arc<AtomicUsize>,
        ms: u64,
    ) -> impl FnOnce(CancellationToken, watch::Sender<String>) -> BoxFuture<'static, End> {
        move |cancel, stage| {
            starts.fetch_add(1, Ordering::SeqCst);
            async move {
                let _ = stage.send("working".into());
                tokio::select! {
                    _ = cancel.cancelled() => RunEnd::Cancelled,
                    _ = tokio::time::sleep(Duration::from_millis(ms)) => RunEnd::Done(7),
                }
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_of_one_key_share_one_run() {
        let runs = SharedRuns::new(Duration::from_secs(2), CancellationToken::new());
        let starts = Arc::new(AtomicUsize::new(0));
        let a = runs.join("k", slow(starts.clone(), 100));
        let b = runs.join("k", slow(starts.clone(), 100));
        assert_eq!(value(a.done.clone().await), Some(7));
        assert_eq!(value(b.done.clone().await), Some(7));
        assert_eq!(starts.load(Ordering::SeqCst), 1);
        assert_eq!(*a.stage.borrow(), "working");
        // Finished runs leave the registry: the next join starts again.
        let c = runs.join("k", slow(starts.clone(), 100));
        assert_eq!(value(c.done.clone().await), Some(7));
        assert_eq!(starts.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_survives_its_first_waiter_leaving_within_the_grace_period() {
        let runs = SharedRuns::new(Duration::from_secs(2), CancellationToken::new());
        let starts = Arc::new(AtomicUsize::new(0));
        drop(runs.join("k", slow(starts.clone(), 3000)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let b = runs.join("k", slow(starts.clone(), 3000));
        assert_eq!(value(b.done.clone().await), Some(7));
        assert_eq!(starts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_nobody_waits_for_is_cancelled_after_the_grace_period() {
        let runs = SharedRuns::new(Duration::from_secs(2), CancellationToken::new());
        let starts = Arc::new(AtomicUsize::new(0));
        let a = runs.join("k", slow(starts.clone(), 60_000));
        let done = a.done.clone();
        drop(a);
        assert_eq!(value(done.await), None);
        assert_eq!(starts.load(Ordering::SeqCst), 1);
    }
}
