//! Lean pools and policies for the documents, started lazily on first need and kept per
//! (project, imports): documents with the same imports in the same project share one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use lean_bridge::{LeanError, LeanErrorKind, LeanPool};
use tokio::task::AbortHandle;

use super::error::BackendError;
use super::lock::lock;
use crate::lean_opts::LeanOpts;
use crate::policy::{PolicyChoice, ProverPolicy};
use lean_env::LeanEnv;

/// Which Lean pool a document needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// The leanpkg project root (None: Lean's core library only).
    pub project: Option<PathBuf>,
    pub imports: Vec<String>,
}

/// A running pool with its policy.
pub struct Backend {
    pub key: PoolKey,
    pub pool: Arc<LeanPool>,
    pub env: LeanEnv,
    pub policy: Arc<ProverPolicy>,
}

type Starting = Shared<BoxFuture<'static, Result<Arc<Backend>, BackendError>>>;

struct Slot {
    ready: Starting,
    abort: AbortHandle,
}

/// Every pool the server has started, by key.
pub struct Backends {
    lean: LeanOpts,
    policy: PolicyChoice,
    slots: Mutex<HashMap<PoolKey, Slot>>,
    closed: AtomicBool,
}

impl Backends {
    pub fn new(lean: LeanOpts, policy: PolicyChoice) -> Self {
        Backends {
            lean,
            policy,
            slots: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// The pool a document at `path` with these imports runs in: `--lean-project`, else the
    /// nearest leanpkg.toml above the document (or the working directory), else core Lean.
    pub fn key(&self, imports: &[String], path: Option<&Path>) -> PoolKey {
        PoolKey {
            project: self.lean.pool_config(imports, path).project,
            imports: imports.to_vec(),
        }
    }

    /// The running backend for `key`, starting it if needed. Waiters for one key share one
    /// start, which goes on even if they stop waiting; a failed start is forgotten so that the
    /// next request tries again (after the user fixed the setup).
    pub async fn get(
        &self,
        key: &PoolKey,
        path: Option<&Path>,
    ) -> Result<Arc<Backend>, BackendError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(BackendError::ShuttingDown);
        }
        let ready = {
            let mut slots = lock(&self.slots);
            slots
                .entry(key.clone())
                .or_insert_with(|| self.start(key.clone(), path.map(Path::to_path_buf)))
                .ready
                .clone()
        };
        match ready.clone().await {
            Ok(b) => Ok(b),
            Err(e) => {
                let mut slots = lock(&self.slots);
                if slots
                    .get(key)
                    .is_some_and(|s| Shared::ptr_eq(&s.ready, &ready))
                {
                    slots.remove(key);
                }
                Err(e)
            }
        }
    }

    fn start(&self, key: PoolKey, path: Option<PathBuf>) -> Slot {
        let lean = self.lean.clone();
        let policy = self.policy.clone();
        let task = tokio::spawn(async move {
            let pool = lean
                .pool(&key.imports, path.as_deref())
                .await
                .map_err(pool_start_error)?;
            let pool = Arc::new(pool);
            // A model that does not load and a policy that cannot be built for this pool are
            // told apart (the first is the user's checkpoint, the second this project's Lean).
            let built = match policy.prepare().await {
                Ok(()) => policy
                    .build(&pool)
                    .await
                    .map_err(|e| BackendError::PolicyBuild(Arc::new(e))),
                Err(e) => Err(BackendError::ModelLoad(Arc::new(e))),
            };
            let policy = match built {
                Ok(p) => p,
                Err(e) => {
                    pool.shutdown().await;
                    return Err(e);
                }
            };
            Ok(Arc::new(Backend {
                key,
                env: LeanEnv::new(pool.clone()),
                pool,
                policy: Arc::new(policy),
            }))
        });
        let abort = task.abort_handle();
        let ready = async move {
            task.await
                .unwrap_or_else(|e| Err(BackendError::Interrupted(Arc::new(e))))
        }
        .boxed()
        .shared();
        Slot { ready, abort }
    }

    /// Stops every pool (starts in progress are abandoned, which kills their processes) and
    /// waits for the Lean processes to exit. Later requests get an error.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let slots: Vec<Slot> = lock(&self.slots).drain().map(|(_, s)| s).collect();
        for slot in slots {
            match slot.ready.peek() {
                Some(Ok(b)) => b.pool.shutdown().await,
                Some(Err(_)) => {}
                None => {
                    slot.abort.abort();
                    // Wait for the abandoned start to be dropped, so its processes are gone.
                    if let Ok(b) = slot.ready.await {
                        b.pool.shutdown().await;
                    }
                }
            }
        }
    }
}

/// A pool that did not start: Lean missing, or anything else (the bridge's error is under the
/// context `LeanOpts::pool` adds).
fn pool_start_error(e: anyhow::Error) -> BackendError {
    match e.downcast_ref::<LeanError>().map(LeanError::kind) {
        Some(LeanErrorKind::NotFound(_)) => BackendError::LeanNotFound(Arc::new(e)),
        _ => BackendError::PoolStart(Arc::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_load::ModelOpts;
    use crate::policy::PolicyKind;
    use clap::Parser;

    #[derive(Parser)]
    struct Opts {
        #[command(flatten)]
        lean: LeanOpts,
        #[command(flatten)]
        model: ModelOpts,
    }

    fn backends(args: &[&str]) -> Backends {
        let opts = Opts::parse_from(std::iter::once("prover").chain(args.iter().copied()));
        Backends::new(
            opts.lean,
            PolicyChoice::new(PolicyKind::Heuristic, opts.model).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_missing_lean_is_its_own_kind_of_failure_with_the_bridges_message() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-lean");
        let backends = backends(&["--lean", missing.to_str().unwrap()]);
        let key = backends.key(&[], None);
        let e = backends.get(&key, None).await.err().unwrap();
        assert!(matches!(e, BackendError::LeanNotFound(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "starting Lean with imports: Lean core: Lean 3 not found: no Lean executable at {}",
                missing.display()
            )
        );
        // The failed start is forgotten: the next request tries again.
        assert!(lock(&backends.slots).is_empty());
        backends.shutdown().await;
        let e = backends.get(&key, None).await.err().unwrap();
        assert!(matches!(e, BackendError::ShuttingDown), "{e:?}");
    }
}
