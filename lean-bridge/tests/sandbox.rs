//! The operating-system sandbox against real Lean 3: tactic text that gets past the screen
//! (sent here on purpose with the test-only `run_unscreened`) still cannot write outside the
//! worker's private directory, read outside what Lean needs, start a program or reach a socket,
//! and the worker carries on with the next request. Skipped, loudly, where Lean or one of the
//! kernel's protections is missing.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use lean_bridge::testing::sandboxed_lean_for_test;
use lean_bridge::{LeanPool, PoolConfig, SandboxMode, StateRef, TacticResult};

async fn pool_with(sandbox: SandboxMode) -> (LeanPool, StateRef) {
    let pool = LeanPool::new(PoolConfig {
        workers: 1,
        sandbox,
        tactic_timeout: Duration::from_secs(30),
        ..PoolConfig::default()
    })
    .await
    .expect("Lean starts");
    let start = pool.start(&[], "(n : ℕ) : n = n").await.unwrap();
    (pool, start.state)
}

async fn sandboxed_pool() -> (LeanPool, StateRef) {
    pool_with(SandboxMode::Require).await
}

/// Runs `tactic` unscreened in an unconfined worker, where it must do what it says (so that
/// the sandboxed failure is the sandbox's doing, not a mistake in the text), and returns its
/// result.
async fn unconfined(tactic: &str) -> TacticResult {
    let (pool, s) = pool_with(SandboxMode::Off).await;
    let r = pool.run_unscreened(&s, tactic).await.unwrap();
    pool.shutdown().await;
    r
}

/// Runs `tactic` unscreened and returns Lean's failure message (panics if it succeeded). The
/// failure is the IO's, not the text's: it elaborated and ran.
async fn must_fail(pool: &LeanPool, state: &StateRef, tactic: &str) -> String {
    match pool.run_unscreened(state, tactic).await.unwrap() {
        TacticResult::Failed { message, .. } => {
            for not_io in [
                "eval_expr",
                "unknown identifier",
                "type mismatch",
                "metavariables",
            ] {
                assert!(
                    !message.contains(not_io),
                    "the text itself failed: {message}"
                );
            }
            eprintln!("refused in the sandbox: {message}");
            message
        }
        TacticResult::Success { goals, .. } => {
            panic!("`{tactic}` ran in the sandbox (goals {goals:?})")
        }
    }
}

/// The worker still proves things after a refused attempt.
async fn carries_on(pool: &LeanPool, state: &StateRef) {
    let r = pool.run(state, "refl").await.unwrap();
    assert!(r.is_complete(), "the worker did not carry on: {r:?}");
}

/// A Lean string literal.
fn lit(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

#[tokio::test]
async fn a_tactic_cannot_write_outside_its_private_directory() {
    let Some(_) = sandboxed_lean_for_test("a_tactic_cannot_write_outside_its_private_directory")
    else {
        return;
    };
    let (pool, s) = sandboxed_pool().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("written.txt");
    let write = |path: String| {
        format!(
            "tactic.unsafe_run_io (do h ← io.mk_file_handle {path} io.mode.write, \
             io.fs.put_str h \"pwned\", io.fs.close h)"
        )
    };
    let msg = must_fail(&pool, &s, &write(lit(&target))).await;
    assert!(!target.exists(), "the file was written: {msg}");
    carries_on(&pool, &s).await;
    // The same text, unconfined, writes the file.
    let r = unconfined(&write(lit(&target))).await;
    assert_eq!(
        std::fs::read_to_string(&target).ok().as_deref(),
        Some("pwned"),
        "{r:?}"
    );

    // Its own temporary directory is writable: the rules are not simply "nothing".
    let own = "(do d ← tactic.unsafe_run_io (io.env.get \"TMPDIR\"), \
               tactic.unsafe_run_io (do h ← io.mk_file_handle (option.get_or_else d \"\" ++ \"/ok.txt\") io.mode.write, \
               io.fs.put_str h \"fine\", io.fs.close h))";
    let r = pool.run_unscreened(&s, own).await.unwrap();
    assert!(
        matches!(r, TacticResult::Success { .. }),
        "writing the private directory failed: {r:?}"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn a_tactic_cannot_read_a_file_outside_the_allowed_set() {
    let Some(install) =
        sandboxed_lean_for_test("a_tactic_cannot_read_a_file_outside_the_allowed_set")
    else {
        return;
    };
    let (pool, s) = sandboxed_pool().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cret-token").unwrap();
    let read = |path: String| {
        format!(
            "(do b ← tactic.unsafe_run_io (io.fs.read_file {path}), \
             (tactic.fail (\"read: \" ++ b.to_string) : tactic unit))"
        )
    };
    let msg = must_fail(&pool, &s, &read(lit(&secret))).await;
    assert!(!msg.contains("s3cret"), "the secret was read: {msg}");
    assert!(!msg.starts_with("read: "), "the read succeeded: {msg}");
    carries_on(&pool, &s).await;
    // The same text, unconfined, reads it.
    match unconfined(&read(lit(&secret))).await {
        TacticResult::Failed { message, .. } => assert_eq!(message, "read: s3cret-token"),
        r => panic!("{r:?}"),
    }

    // Lean's own library is readable (the same tactic, on an allowed file).
    let lib = lean_bridge::locate::core_search_path(&install).unwrap();
    let core = lib[0].join("init").join("core.lean");
    let msg = must_fail(&pool, &s, &read(lit(&core))).await;
    assert!(
        msg.starts_with("read: ") && msg.contains("notation"),
        "{msg}"
    );
    pool.shutdown().await;
}

/// `io.cmd {cmd, args}` with `touch MARKER` as its last argument: refused in the sandbox (the
/// marker is never made, the worker carries on), and run unconfined (the marker is made).
async fn program_start_is_refused(
    pool: &LeanPool,
    s: &StateRef,
    cmd: &str,
    args: &[&str],
    marker: &Path,
) {
    let mut all: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    all.push(format!("{:?}", format!("touch {}", marker.display())));
    let tactic = format!(
        "tactic.unsafe_run_io (io.cmd {{cmd := {cmd:?}, args := [{}]}}) >>= tactic.trace",
        all.join(", ")
    );
    let msg = must_fail(pool, s, &tactic).await;
    assert!(!marker.exists(), "the program ran: {msg}");
    carries_on(pool, s).await;
    // The same text, unconfined, runs it.
    let r = unconfined(&tactic).await;
    assert!(marker.exists(), "{r:?}");
}

#[tokio::test]
async fn a_tactic_cannot_start_a_program() {
    let Some(_) = sandboxed_lean_for_test("a_tactic_cannot_start_a_program") else {
        return;
    };
    let (pool, s) = sandboxed_pool().await;
    let dir = tempfile::tempdir().unwrap();
    program_start_is_refused(&pool, &s, "/bin/sh", &["-c"], &dir.path().join("ran")).await;
    // Nor through the dynamic loader, which Lean itself must be allowed to execute.
    let loader = "/lib64/ld-linux-x86-64.so.2";
    if Path::new(loader).exists() {
        let marker = dir.path().join("ran-through-the-loader");
        program_start_is_refused(&pool, &s, loader, &["/bin/sh", "-c"], &marker).await;
    }
    pool.shutdown().await;
}

#[tokio::test]
async fn a_tactic_cannot_reach_a_listener() {
    let Some(_) = sandboxed_lean_for_test("a_tactic_cannot_reach_a_listener") else {
        return;
    };
    let (pool, s) = sandboxed_pool().await;
    // A TCP listener on loopback, reached through a shell's /dev/tcp (Lean's own `io.net`
    // speaks only UNIX sockets).
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let port = tcp.local_addr().unwrap().port();
    let tactic = format!(
        "tactic.unsafe_run_io (io.cmd {{cmd := \"/bin/bash\", args := [\"-c\", \"echo hi > /dev/tcp/127.0.0.1/{port}\"]}}) >>= tactic.trace"
    );
    let msg = must_fail(&pool, &s, &tactic).await;
    assert!(tcp.accept().is_err(), "a TCP connection arrived: {msg}");
    carries_on(&pool, &s).await;
    let r = unconfined(&tactic).await;
    assert!(
        tcp.accept().is_ok(),
        "the unconfined connection did not arrive: {r:?}"
    );

    // A UNIX socket listener, reached with Lean's `io.net.connect`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("listener.sock");
    let unix = UnixListener::bind(&path).unwrap();
    unix.set_nonblocking(true).unwrap();
    let tactic = format!(
        "tactic.unsafe_run_io (do s ← io.net.connect {}, io.net.send s \"hi\".to_char_buffer)",
        lit(&path)
    );
    let msg = must_fail(&pool, &s, &tactic).await;
    match unix.accept() {
        Ok((mut c, _)) => {
            let mut got = String::new();
            let _ = c.read_to_string(&mut got);
            panic!("a UNIX socket connection arrived ({got:?}): {msg}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
    }
    carries_on(&pool, &s).await;
    let r = unconfined(&tactic).await;
    assert!(
        unix.accept().is_ok(),
        "the unconfined connection did not arrive: {r:?}"
    );
    pool.shutdown().await;
}

/// The network side on its own (Landlock's TCP rules, the private namespace, the socket
/// filter), with a program that may run and tries TCP itself (Lean's attempt above stops
/// earlier, at the program start): no connection reaches the listener.
#[test]
fn the_network_is_closed_to_a_confined_process() {
    let Some(_) = sandboxed_lean_for_test("the_network_is_closed_to_a_confined_process") else {
        return;
    };
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        eprintln!("SKIPPED the_network_is_closed_to_a_confined_process: no python3");
        return;
    };
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let port = tcp.local_addr().unwrap().port();
    let confinement = lean_bridge::Confinement::for_lean(python, &[], &[]);
    let run = |mode: SandboxMode| {
        let mut prepared = lean_bridge::sandbox::Prepared::new(mode, &confinement).unwrap();
        let mut cmd = std::process::Command::new(python);
        cmd.args([
            "-S",
            "-c",
            &format!(
                "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5).send(b'hi')"
            ),
        ]);
        prepared.exec_plan_for(&cmd).unwrap();
        use std::os::unix::process::CommandExt;
        // SAFETY: `enter` makes system calls only.
        unsafe {
            cmd.pre_exec(move || prepared.enter());
        }
        cmd.output().unwrap()
    };
    // Unconfined, the same program connects: the test can tell.
    let out = run(SandboxMode::Off);
    assert!(out.status.success(), "{out:?}");
    assert!(
        tcp.accept().is_ok(),
        "the unconfined connection did not arrive"
    );
    let out = run(SandboxMode::Require);
    assert!(
        !out.status.success(),
        "the confined program connected: {out:?}"
    );
    assert!(tcp.accept().is_err(), "a confined connection arrived");
}
