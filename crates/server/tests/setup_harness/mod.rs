//! Shared harness of the `setup` end-to-end tests: the real binary with answers piped to its
//! stdin, a temporary credential directory, the simulator's CA, and the user's browser.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use powerwall_gateway::cloud::transport;
use powerwall_simulator::SimulatorHandle;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Longest wait for one line of output or for the exit.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The directory where the test writes the CA and the setup writes its files.
pub struct Workspace {
    _dir: tempfile::TempDir,
    /// The simulator's test CA (what `PW_CLOUD_CA_FILE` names).
    pub ca_file: PathBuf,
    /// The credential directory (`PW_AUTH_PATH`), created by the setup.
    pub auth_dir: PathBuf,
}

/// A fresh workspace trusting `sim`'s cloud CA.
pub fn workspace(sim: &SimulatorHandle) -> Workspace {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("sim-ca.pem");
    std::fs::write(&ca_file, sim.cloud_ca_pem().expect("cloud CA")).expect("CA written");
    let auth_dir = dir.path().join("auth");
    Workspace {
        _dir: dir,
        ca_file,
        auth_dir,
    }
}

/// One run of the binary (killed on drop, so a failing test leaves no process behind).
pub struct SetupRun {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: String,
}

impl SetupRun {
    /// Runs `powerwall-server <args>` with only `PATH` and `env` in its environment; stdin is
    /// piped when `interactive`, else empty.
    pub fn spawn(args: &[&str], env: &[(&str, String)], interactive: bool) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_powerwall-server"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .stdin(if interactive {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("setup starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin,
            stdout,
            seen: String::new(),
        }
    }

    /// Types `text` (include the newline).
    pub async fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin.write_all(text.as_bytes()).await.expect("answer sent");
        stdin.flush().await.expect("answer flushed");
    }

    /// The first output line (trimmed) that `wanted` accepts.
    pub async fn line_where(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.stdout.next_line())
                .await
                .unwrap_or_else(|_| panic!("no such line in time; so far:\n{}", self.seen))
                .expect("stdout readable")
                .unwrap_or_else(|| panic!("output ended; so far:\n{}", self.seen));
            self.seen.push_str(&line);
            self.seen.push('\n');
            if wanted(line.trim()) {
                return line.trim().to_owned();
            }
        }
    }

    /// Opens the printed sign-in address in the "browser" and pastes where it landed.
    pub async fn sign_in(&mut self, sim: &SimulatorHandle) {
        let url = self
            .line_where(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
            .await;
        let location = browser_redirect(sim, &url).await;
        self.send(&format!("{location}\n")).await;
    }

    /// Closes stdin, waits for the exit; returns the status, all stdout and all stderr.
    pub async fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        let mut rest = String::new();
        while let Ok(Ok(Some(line))) = tokio::time::timeout(PATIENCE, self.stdout.next_line()).await
        {
            rest.push_str(&line);
            rest.push('\n');
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = tokio::time::timeout(PATIENCE, pipe.read_to_string(&mut stderr)).await;
        }
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("setup exits in time")
            .expect("exit status");
        (status, format!("{}{rest}", self.seen), stderr)
    }
}

/// The user's browser: opens the URL, signs in (the simulator approves at once) and lands on the
/// redirect URI ("Page Not Found" for the Owner API); returns that address.
pub async fn browser_redirect(sim: &SimulatorHandle, url: &str) -> String {
    let http = transport::cloud_client(Duration::from_secs(5), sim.cloud_ca_pem().as_deref())
        .expect("browser");
    let answer = http.get(url).send().await.expect("authorize answers");
    assert_eq!(answer.status().as_u16(), 302);
    answer.headers()["location"]
        .to_str()
        .expect("text location")
        .to_owned()
}

/// The permission bits of a file.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode()
        & 0o777
}
