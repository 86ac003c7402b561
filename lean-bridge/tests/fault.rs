//! The worker against a deliberately misbehaving fake REPL (`tests/fake_repl.sh`): it must
//! recover from hangs, crashes and garbage, and callers must get typed errors, never a hang.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lean_bridge::protocol::{RunRequest, StatsRequest};
use lean_bridge::{LeanErrorKind, LeanWorker, LostState, SandboxMode, WorkerSpec};

fn fake_spec() -> WorkerSpec {
    WorkerSpec {
        lean: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake_repl.sh"),
        search_path: vec![],
        launch_file: PathBuf::from("launch.lean"),
        cwd: std::env::temp_dir(),
        memory_mb: None,
        start_timeout: Duration::from_secs(10),
        timed: false,
        // The fake REPL is a shell script: the sandbox (which lets only Lean run) is not the
        // subject here.
        sandbox: SandboxMode::Off,
        confinement: Default::default(),
    }
}

fn run(tactic: &str) -> RunRequest {
    RunRequest {
        state: 1,
        tactic: tactic.into(),
        heartbeats: 0,
    }
}

fn stats() -> StatsRequest {
    StatsRequest {}
}

fn process_exists(pid: u64) -> bool {
    // A zombie still has a /proc entry; only count live processes.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test]
async fn a_hang_times_out_and_the_worker_restarts() {
    let w = LeanWorker::spawn(fake_spec());
    w.start().await.unwrap();
    let first = w.incarnation();
    let pid = w.stats.pid.load(std::sync::atomic::Ordering::SeqCst);
    assert!(process_exists(pid));

    let t = Instant::now();
    let err = w
        .request(run("HANG"), Duration::from_millis(300), Some(first))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), LeanErrorKind::Timeout(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert!(!process_exists(pid), "the hung process was not killed");

    // States of the killed process are reported lost, not silently used in the new one.
    let err = w
        .request(run("simp"), Duration::from_secs(5), Some(first))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), LeanErrorKind::StateLost(LostState::Restarted(i)) if *i == first),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("proof state lost: the Lean process that held it ({first}) was restarted")
    );

    // A fresh request starts a fresh process.
    let reply = w
        .request(stats(), Duration::from_secs(5), None)
        .await
        .unwrap();
    assert!(reply.answer().unwrap().is_ok());
    assert_eq!(w.incarnation(), first + 1);
    assert_eq!(
        w.stats.timeouts.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_crash_mid_request_is_reported_with_stderr() {
    let w = LeanWorker::spawn(fake_spec());
    w.start().await.unwrap();
    let err = w
        .request(run("EXIT"), Duration::from_secs(5), None)
        .await
        .unwrap_err();
    match err.kind() {
        LeanErrorKind::Crashed { status, stderr } => {
            assert!(status.contains('3'), "{status}");
            assert!(stderr.contains("killed by a bad tactic"), "{stderr}");
        }
        other => panic!("expected a crash, got {other}"),
    }
    assert!(err.is_worker_loss());
    let reply = w
        .request(run("simp"), Duration::from_secs(5), None)
        .await
        .unwrap();
    assert!(reply.answer().unwrap().unwrap().goals.is_empty());
    assert_eq!(w.stats.crashes.load(std::sync::atomic::Ordering::SeqCst), 1);
    w.shutdown().await;
}

#[tokio::test]
async fn a_crash_keeps_what_lean_printed_on_stdout_last() {
    // Lean prints a command's error on stdout; when it then exits, that line is the reason.
    let w = LeanWorker::spawn(fake_spec());
    w.start().await.unwrap();
    let err = w
        .request(run("OUTEXIT"), Duration::from_secs(5), None)
        .await
        .unwrap_err();
    match err.kind() {
        LeanErrorKind::Crashed { status, stderr } => {
            assert!(status.contains('1'), "{status}");
            assert!(stderr.contains("invalid end of module"), "{stderr}");
        }
        other => panic!("expected a crash, got {other}"),
    }
    assert!(err.to_string().contains("invalid end of module"), "{err}");
    w.shutdown().await;
}

#[tokio::test]
async fn garbage_and_wrong_ids_are_protocol_errors() {
    let w = LeanWorker::spawn(fake_spec());
    for word in ["GARBAGE", "WRONGID"] {
        let err = w
            .request(run(word), Duration::from_secs(5), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), LeanErrorKind::Protocol(_)),
            "{word}: {err}"
        );
        // The stream was out of step, so the process was replaced; the next request works.
        let reply = w
            .request(stats(), Duration::from_secs(5), None)
            .await
            .unwrap();
        assert!(reply.answer().unwrap().is_ok());
    }
    w.shutdown().await;
}

#[tokio::test]
async fn unrelated_output_is_collected_not_confused_with_answers() {
    let w = LeanWorker::spawn(fake_spec());
    let reply = w
        .request(run("NOISE"), Duration::from_secs(5), None)
        .await
        .unwrap();
    assert!(reply.answer().unwrap().is_ok());
    assert_eq!(
        reply.messages,
        vec!["some message Lean printed", "another one"]
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_worker_that_cannot_start_says_why() {
    let mut spec = fake_spec();
    // The script reads the mode from its environment; set it for the child only.
    let wrapper = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        wrapper.path(),
        format!(
            "#!/usr/bin/env bash\nFAKE_REPL_MODE=die-at-start exec {} \"$@\"\n",
            spec.lean.display()
        ),
    )
    .unwrap();
    let path = wrapper.into_temp_path();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    spec.lean = path.to_path_buf();
    let w = LeanWorker::spawn(spec);
    let err = w
        .request(stats(), Duration::from_secs(5), None)
        .await
        .unwrap_err();
    match err.into_kind() {
        LeanErrorKind::Startup { message } => {
            assert!(
                message.contains("not found in the search path"),
                "{message}"
            )
        }
        other => panic!("expected a startup error, got {other}"),
    }
    w.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_process() {
    let w = LeanWorker::spawn(fake_spec());
    w.start().await.unwrap();
    let pid = w.stats.pid.load(std::sync::atomic::Ordering::SeqCst);
    assert!(process_exists(pid));
    w.shutdown().await;
    assert!(!process_exists(pid));
    // Requests after shutdown fail fast.
    let err = w
        .request(stats(), Duration::from_secs(5), None)
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), LeanErrorKind::Closed), "{err}");
}

#[tokio::test]
async fn dropping_every_handle_ends_the_process() {
    let w = LeanWorker::spawn(fake_spec());
    w.start().await.unwrap();
    let pid = w.stats.pid.load(std::sync::atomic::Ordering::SeqCst);
    drop(w);
    let t = Instant::now();
    while process_exists(pid) && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!process_exists(pid));
}
