//! A `prover serve` process on the tiny checkpoint for tests: started on a free port, killed
//! when dropped, restartable on the same port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServeProcess {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
}

pub fn tiny_checkpoint() -> PathBuf {
    causal_lm::testing::tiny_checkpoint_dir()
}

impl ServeProcess {
    /// `prover serve` on the tiny checkpoint, served as `tiny`, with `extra` arguments. The
    /// tiny model's 64 positions are too few for the few-shot prompt, which its dynamic
    /// rotary scaling handles in-process; the server is told so.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_model(&tiny_checkpoint(), extra)
    }

    /// `prover serve` on the checkpoint in `dir`, served as `tiny`, with `extra` arguments.
    pub fn start_model(dir: &std::path::Path, extra: &[&str]) -> Self {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--model".into(),
            dir.display().to_string(),
            "--served-model-name".into(),
            "tiny".into(),
            "--max-model-len".into(),
            "100000".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut s = ServeProcess {
            child: None,
            port: 0,
            args,
        };
        s.spawn(0);
        s
    }

    fn spawn(&mut self, port: u16) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prover"))
            .args(&self.args)
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("prover serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("serve prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        self.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Some(child);
        self.wait_healthy();
    }

    /// The model loads after the port is bound; wait until it answers.
    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(self.port, "GET", "/health", "") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("prover serve did not become healthy");
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits (at most `limit`) for the server to exit by itself; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "prover serve did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        self.spawn(port);
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One plain HTTP/1.1 exchange (no client library: what a malformed request looks like is up
/// to the test). Returns the status and the body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}
