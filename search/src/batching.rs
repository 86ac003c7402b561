//! Merging the policy requests of concurrent searches into batches.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::policy::{Candidate, Policy, PolicyError, PolicyErrorKind, PolicyRequest};

/// When a [`BatchingPolicy`] sends a batch to the inner policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchingConfig {
    /// Most requests in one batch.
    pub max_batch_size: usize,
    /// Send the batch when no new request arrived for this long (milliseconds).
    pub idle_wait_ms: f64,
    /// Send the batch at the latest this long after its first request arrived (milliseconds),
    /// even while requests keep trickling in.
    pub max_wait_ms: f64,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        Self {
            max_batch_size: 16,
            idle_wait_ms: 2.0,
            max_wait_ms: 50.0,
        }
    }
}

/// What went wrong in a [`BatchingPolicy`] itself (the source of its [`PolicyError`]s; a failure
/// of the inner policy is passed on as it is).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchingError {
    /// The collecting task is gone before the request was sent.
    #[error("batching task has stopped")]
    Stopped,
    /// The collecting task ended with the request unanswered.
    #[error("batching task stopped before answering")]
    StoppedBeforeAnswering,
    /// The inner policy returned fewer (or more) candidate lists than the batch had requests.
    #[error("policy answered {answered} of {asked} requests in a batch")]
    WrongAnswerCount { answered: usize, asked: usize },
}

/// Counts of a [`BatchingPolicy`] so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchingStats {
    /// Calls to the inner policy.
    pub batches: usize,
    /// Requests sent to the inner policy, all batches together.
    pub requests: usize,
    /// Requests in the largest batch.
    pub largest_batch: usize,
    /// Requests dropped because their caller stopped waiting (a cancelled search).
    pub abandoned: usize,
    /// Time inside the inner policy, in seconds.
    pub policy_time_s: f64,
}

/// A policy that merges requests from concurrently running callers into batches for an
/// inner policy (e.g. one batched generation of a language model).
///
/// A background tokio task collects the requests. It sends a batch to the inner policy when
/// the batch is full (`max_batch_size`), when every running search is waiting in it (searches
/// announce themselves through [`Policy::search_started`], which [`crate::BestFirstSearch`]
/// calls), when no request arrived for `idle_wait_ms`, or `max_wait_ms` after the batch's
/// first request. Batches run one at a time; requests arriving meanwhile form the next batch.
/// A search busy in its environment therefore delays the others by at most `idle_wait_ms`.
///
/// Each `propose` call stays together in one batch. Cheap to clone; clones share the
/// background task, which ends when the last clone is dropped.
pub struct BatchingPolicy<P: Policy> {
    sender: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    inner: Arc<P>,
    _policy: PhantomData<fn() -> P>,
}

impl<P: Policy> Clone for BatchingPolicy<P> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            shared: self.shared.clone(),
            inner: self.inner.clone(),
            _policy: PhantomData,
        }
    }
}

/// State shared by the callers and the collecting task.
#[derive(Default)]
struct Shared {
    /// Searches running with this policy.
    active: AtomicUsize,
    stats: Mutex<BatchingStats>,
}

/// A caller's requests and where to send their answers.
struct Pending {
    requests: Vec<PolicyRequest>,
    reply: oneshot::Sender<Result<Vec<Vec<Candidate>>, PolicyError>>,
}

enum Message {
    Request(Pending),
    /// A search finished: fewer callers to wait for.
    Wake,
}

impl<P: Policy> BatchingPolicy<P> {
    /// Wraps `inner` and spawns the collecting task.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(inner: P, config: BatchingConfig) -> Self {
        let inner = Arc::new(inner);
        let shared = Arc::new(Shared::default());
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(collect(inner.clone(), config, shared.clone(), receiver));
        Self {
            sender,
            shared,
            inner,
            _policy: PhantomData,
        }
    }

    /// The wrapped policy.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Counts so far.
    pub fn stats(&self) -> BatchingStats {
        lock(&self.shared.stats).clone()
    }

    /// Searches currently registered through [`Policy::search_started`].
    pub fn active_searches(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }
}

impl<P: Policy> Policy for BatchingPolicy<P> {
    fn propose(
        &self,
        requests: Vec<PolicyRequest>,
    ) -> impl Future<Output = Result<Vec<Vec<Candidate>>, PolicyError>> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .sender
            .send(Message::Request(Pending { requests, reply }))
            .is_ok();
        async move {
            if !sent {
                return Err(PolicyError::new(
                    PolicyErrorKind::Unavailable,
                    BatchingError::Stopped,
                ));
            }
            answer.await.unwrap_or_else(|_| {
                Err(PolicyError::new(
                    PolicyErrorKind::Unavailable,
                    BatchingError::StoppedBeforeAnswering,
                ))
            })
        }
    }

    fn search_started(&self) {
        self.shared.active.fetch_add(1, Ordering::SeqCst);
    }

    fn search_finished(&self) {
        // Saturating: an unpaired call must not wrap around to "everyone is busy".
        let _ = self
            .shared
            .active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        let _ = self.sender.send(Message::Wake);
    }
}

fn lock(stats: &Mutex<BatchingStats>) -> std::sync::MutexGuard<'_, BatchingStats> {
    // The guarded data are plain counters: a panic elsewhere cannot leave them inconsistent.
    stats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms.clamp(0.0, 1e9) / 1000.0).unwrap_or(Duration::ZERO)
}

/// The collecting task: gathers a batch, runs it, repeats until every sender is gone.
async fn collect<P: Policy>(
    inner: Arc<P>,
    config: BatchingConfig,
    shared: Arc<Shared>,
    mut receiver: mpsc::UnboundedReceiver<Message>,
) {
    let max_size = config.max_batch_size.max(1);
    let idle_wait = millis(config.idle_wait_ms);
    let max_wait = millis(config.max_wait_ms);
    let mut carried: Option<Pending> = None;
    let mut open = true;
    while open {
        let first = match carried.take() {
            Some(pending) => pending,
            None => match receiver.recv().await {
                Some(Message::Request(pending)) => pending,
                Some(Message::Wake) => continue,
                None => break,
            },
        };
        let batch_deadline = Instant::now() + max_wait;
        let mut size = first.requests.len();
        let mut batch = vec![first];
        loop {
            let active = shared.active.load(Ordering::SeqCst);
            if size >= max_size || (active > 0 && batch.len() >= active) {
                break;
            }
            let wake_at = (Instant::now() + idle_wait).min(batch_deadline);
            tokio::select! {
                message = receiver.recv() => match message {
                    Some(Message::Request(pending)) => {
                        if size + pending.requests.len() > max_size {
                            carried = Some(pending);
                            break;
                        }
                        size += pending.requests.len();
                        batch.push(pending);
                    }
                    Some(Message::Wake) => {}
                    None => {
                        open = false;
                        break;
                    }
                },
                _ = tokio::time::sleep_until(wake_at) => break,
            }
        }
        run_batch(inner.as_ref(), &shared, batch).await;
    }
    // Answer a request that was waiting for the next batch when the channel closed.
    if let Some(pending) = carried {
        run_batch(inner.as_ref(), &shared, vec![pending]).await;
    }
}

/// Sends one batch to the inner policy and hands each caller its share of the answer.
async fn run_batch<P: Policy>(inner: &P, shared: &Shared, batch: Vec<Pending>) {
    let (waiting, abandoned): (Vec<_>, Vec<_>) =
        batch.into_iter().partition(|p| !p.reply.is_closed());
    let abandoned: usize = abandoned.iter().map(|p| p.requests.len()).sum();
    if abandoned > 0 {
        lock(&shared.stats).abandoned += abandoned;
    }
    if waiting.is_empty() {
        return;
    }
    let mut sizes = Vec::with_capacity(waiting.len());
    let mut replies = Vec::with_capacity(waiting.len());
    let mut requests = Vec::new();
    for pending in waiting {
        sizes.push(pending.requests.len());
        replies.push(pending.reply);
        requests.extend(pending.requests);
    }
    let total = requests.len();
    let t0 = Instant::now();
    // Each request's own result: a caller whose requests all succeeded gets its candidates
    // even when another caller's failed (a server fault on one prompt).
    let answer = inner.propose_each(requests).await;
    let elapsed = t0.elapsed().as_secs_f64();
    {
        let mut stats = lock(&shared.stats);
        stats.batches += 1;
        stats.requests += total;
        stats.largest_batch = stats.largest_batch.max(total);
        stats.policy_time_s += elapsed;
    }
    if answer.len() != total {
        for reply in replies {
            let wrong_count = BatchingError::WrongAnswerCount {
                answered: answer.len(),
                asked: total,
            };
            let _ = reply.send(Err(PolicyError::new(
                PolicyErrorKind::BadAnswer,
                wrong_count,
            )));
        }
        return;
    }
    let mut answers = answer.into_iter();
    for (size, reply) in sizes.into_iter().zip(replies) {
        // One caller's share: all its answers, or the first of its failures.
        // (Taken whole first: collecting into a Result would stop at a failure and leave the
        // rest of this share to the next caller.)
        let share: Vec<_> = answers.by_ref().take(size).collect();
        let share: Result<Vec<_>, PolicyError> = share.into_iter().collect();
        // The caller may have given up meanwhile; nothing to do then.
        let _ = reply.send(share);
    }
}
