//! The simulator binary's cloud flags: `--cloud-bind` announces the cloud persona on a second
//! stdout line, `--cloud-ca-out` writes the CA that makes its HTTPS trusted (loopback only).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use powerwall_gateway::cloud::auth::authorize_request;
use powerwall_gateway::cloud::{DEFAULT_REDIRECT_URI, transport};

/// Longest wait for one line of the simulator's stdout.
const PATIENCE: Duration = Duration::from_secs(30);

/// The running binary, killed when the test ends (also on failure).
struct Simulator {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Simulator {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_powerwall-simulator"))
            .args(args)
            .env_remove("SIM_CLOUD_BIND")
            .env_remove("SIM_CLOUD_CA_OUT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next_line(&self) -> Option<String> {
        self.lines.recv_timeout(PATIENCE).ok()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_cloud_persona_is_announced_and_trusted_through_the_written_ca() {
    let dir = tempfile_dir();
    let ca_file = dir.join("cloud-ca.pem");
    let sim = Simulator::start(&[
        "--bind",
        "127.0.0.1:0",
        "--cloud-bind",
        "127.0.0.1:0",
        "--cloud-ca-out",
        ca_file.to_str().unwrap(),
    ]);
    let first = sim.next_line().unwrap();
    assert!(
        first.starts_with("powerwall-simulator listening on https://127.0.0.1:"),
        "{first}"
    );
    let second = sim.next_line().unwrap();
    let cloud_url = second
        .strip_prefix("powerwall-simulator cloud on ")
        .unwrap()
        .to_owned();
    assert!(cloud_url.starts_with("https://127.0.0.1:") && cloud_url.ends_with('/'));
    let pem = std::fs::read_to_string(&ca_file).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let http = transport::cloud_client(Duration::from_secs(5), Some(&pem)).unwrap();
    let login = authorize_request(&cloud_url, DEFAULT_REDIRECT_URI, None).unwrap();
    let answer = http.get(&login.url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(DEFAULT_REDIRECT_URI), "{location}");
    assert!(
        location.contains(&format!("state={}", login.state)),
        "{location}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cloud_off_prints_only_the_first_line() {
    let sim = Simulator::start(&["--bind", "127.0.0.1:0", "--cloud-bind", "off"]);
    let first = sim.next_line().unwrap();
    assert!(
        first.starts_with("powerwall-simulator listening on "),
        "{first}"
    );
    // No second line arrives while the simulator runs.
    assert_eq!(
        sim.lines.recv_timeout(Duration::from_millis(500)).ok(),
        None
    );
}

#[test]
fn a_ca_file_without_the_cloud_is_refused() {
    let dir = tempfile_dir();
    let ca_file = dir.join("ca.pem");
    let mut sim = Simulator::start(&[
        "--bind",
        "127.0.0.1:0",
        "--cloud-bind",
        "off",
        "--cloud-ca-out",
        ca_file.to_str().unwrap(),
    ]);
    assert_eq!(sim.next_line(), None, "exits before announcing anything");
    let status = sim.child.wait().unwrap();
    assert!(!status.success());
    assert!(!ca_file.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory under the system temp dir (the simulator crate has no tempfile dependency).
fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pw-sim-cloud-flags-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir created");
    dir
}
