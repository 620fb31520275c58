//! Reference-oracle harness: runs `oracle.py` (pypowerwall 0.22.2) in a network namespace that
//! has only loopback (`unshare --net`), bridged to the simulator through a Unix-domain socket,
//! and compares JSON documents structurally.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::net::{TcpStream, UnixListener};

/// Upper bound of one oracle run (the script also stops itself after 150 s).
pub const ORACLE_LIMIT: Duration = Duration::from_secs(180);

/// The library version the oracle must report.
pub const REFERENCE_VERSION: &str = "0.22.2";

/// Relative tolerance for floats whose text differs only by formatting or summation order; far
/// below any real unit or formula error (a wrong value differs by percents, not 1e-9).
const FLOAT_TOLERANCE: f64 = 1e-9;

/// The venv's Python with pypowerwall, or `None` (after saying "skipped") when it is missing and
/// `PW_ORACLE_TESTS` is not `required`, in which case a missing venv or tool is a failure.
pub fn python(test: &str) -> Option<PathBuf> {
    let required = std::env::var("PW_ORACLE_TESTS").is_ok_and(|v| v == "required");
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/oracle-venv/bin/python");
    let python = std::env::var_os("PW_ORACLE_PYTHON").map_or(default, PathBuf::from);
    let mut missing = Vec::new();
    if !python.exists() {
        missing.push(format!("{} (PW_ORACLE_PYTHON)", python.display()));
    }
    for tool in ["unshare", "ip", "sh"] {
        if !on_path(tool) {
            missing.push(tool.to_owned());
        }
    }
    if missing.is_empty() {
        return Some(python);
    }
    assert!(
        !required,
        "{test}: missing {missing:?} and PW_ORACLE_TESTS=required"
    );
    println!("{test}: skipped: missing {missing:?} (bash .ci/run creates the venv)");
    None
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .any(|dir| dir.join(tool).is_file())
}

/// A Unix-socket-to-TCP relay on the host side: the namespace's loopback is not the host's, so
/// the oracle reaches the simulator through this socket file. Stops when dropped.
pub struct Relay {
    /// The socket file the oracle connects to.
    pub path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listens on `<dir>/sim.sock` and joins every connection to `target`.
    pub fn start(dir: &Path, target: std::net::SocketAddr) -> Relay {
        let path = dir.join("sim.sock");
        let listener = UnixListener::bind(&path).expect("unix socket binds");
        let task = tokio::spawn(async move {
            while let Ok((mut unix, _)) = listener.accept().await {
                tokio::spawn(async move {
                    // Bounded: the simulator is on this machine; a stuck copy ends with the test.
                    let connect = tokio::time::timeout(Duration::from_secs(10), async {
                        TcpStream::connect(target).await
                    });
                    if let Ok(Ok(mut tcp)) = connect.await {
                        let _ = tokio::io::copy_bidirectional(&mut unix, &mut tcp).await;
                    }
                });
            }
        });
        Relay { path, task }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which library mode the oracle runs.
#[derive(Clone, Copy, Debug)]
pub enum OracleMode {
    /// Local legacy API with the customer password.
    Local,
    /// TEDAPI with the gateway password only.
    Tedapi,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|line| line.starts_with("Uid:"))
            .and_then(|line| line.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Runs the oracle against the simulator behind `relay` and returns `{route: body}`.
pub async fn run(python: &Path, relay: &Relay, mode: OracleMode, workdir: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/oracle.py");
    let mut command = tokio::process::Command::new("unshare");
    // A fresh network namespace with only loopback: whatever the library tries (Tesla's cloud,
    // a LAN gateway), nothing leaves this machine. Non-root runs need a user namespace too.
    if !is_root() {
        command.arg("--map-root-user");
    }
    command
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(python)
        .arg(&script)
        .arg("--unix")
        .arg(&relay.path)
        .arg("--workdir")
        .arg(workdir)
        .args(match mode {
            OracleMode::Local => ["--mode", "local", "--password", "password"],
            OracleMode::Tedapi => ["--mode", "tedapi", "--gw-pwd", "ABCDEFGHIJ"],
        })
        // requests lets these override the library's `verify=False` on the TEDAPI session (a
        // request-level setting beats the session's), which would refuse the self-signed cert.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("unshare starts");
    let output = tokio::time::timeout(ORACLE_LIMIT, child.wait_with_output())
        .await
        .expect("oracle finishes in time")
        .expect("oracle output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "oracle failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    assert!(
        stderr.contains(&format!("pypowerwall {REFERENCE_VERSION} ")),
        "the oracle must run pypowerwall {REFERENCE_VERSION}:\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("oracle output is not JSON ({e}): {last}"))
}

/// One difference between our document and the reference's.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Route and JSON path, e.g. `/pod.PW1_POD_nom_energy_remaining`.
    pub path: String,
    /// Our value (`None`: key missing).
    pub ours: Option<Value>,
    /// The reference's value (`None`: key missing).
    pub reference: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or("<missing>".to_owned(), short);
        write!(
            f,
            "{}: ours={} reference={}",
            self.path,
            show(&self.ours),
            show(&self.reference)
        )
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

/// Structural diff: key sets at every level, array lengths and items, values. Numbers of the same
/// kind (both integers or both floats) are equal within [`FLOAT_TOLERANCE`]; an integer against a
/// float is a difference (Telegraf/InfluxDB would see a field type change).
pub fn diff(path: &str, ours: &Value, reference: &Value, out: &mut Vec<Difference>) {
    match (ours, reference) {
        (Value::Object(a), Value::Object(b)) => diff_objects(path, a, b, out),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Number(a), Value::Number(b)) if numbers_equal(a, b) => {}
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path: path.to_owned(),
            ours: Some(a.clone()),
            reference: Some(b.clone()),
        }),
    }
}

fn diff_objects(
    path: &str,
    ours: &Map<String, Value>,
    reference: &Map<String, Value>,
    out: &mut Vec<Difference>,
) {
    for (key, value) in ours {
        let here = format!("{path}.{key}");
        match reference.get(key) {
            Some(other) => diff(&here, value, other, out),
            None => out.push(Difference {
                path: here,
                ours: Some(value.clone()),
                reference: None,
            }),
        }
    }
    for (key, value) in reference {
        if !ours.contains_key(key) {
            out.push(Difference {
                path: format!("{path}.{key}"),
                ours: None,
                reference: Some(value.clone()),
            });
        }
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if a.is_f64() != b.is_f64() {
        return false;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs()),
        _ => a == b,
    }
}
