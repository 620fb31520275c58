//! `powerwall-server setup` as a user runs it: the real binary, answers piped to its stdin,
//! every Tesla URL pointing at an in-process simulator's cloud persona on loopback.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use powerwall_gateway::cloud::{files, transport};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const EMAIL: &str = "me@example.com";
/// Longest wait for one line of output or for the exit.
const PATIENCE: Duration = Duration::from_secs(30);

async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        email: EMAIL.to_owned(),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// One run of the binary (killed on drop, so a failing test leaves no process behind).
struct SetupRun {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: String,
}

/// The directory where the test writes the CA and the setup writes its files.
struct Workspace {
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    auth_dir: PathBuf,
}

fn workspace(sim: &SimulatorHandle) -> Workspace {
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

fn spawn(
    sim: &SimulatorHandle,
    work: &Workspace,
    args: &[&str],
    env: &[(&str, &str)],
    interactive: bool,
) -> SetupRun {
    let url = sim.cloud_url().expect("cloud listener");
    let mut command = Command::new(env!("CARGO_BIN_EXE_powerwall-server"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PW_CLOUD_AUTH_URL", &url)
        .env("PW_CLOUD_API_URL", &url)
        .env("PW_CLOUD_CA_FILE", &work.ca_file)
        .env("PW_AUTH_PATH", &work.auth_dir)
        .env("PW_EMAIL", EMAIL)
        .envs(env.iter().copied())
        .stdin(if interactive {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("setup starts");
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    SetupRun {
        child,
        stdin,
        stdout,
        seen: String::new(),
    }
}

impl SetupRun {
    async fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin.write_all(text.as_bytes()).await.expect("answer sent");
        stdin.flush().await.expect("answer flushed");
    }

    /// The first output line (trimmed) that `wanted` accepts.
    async fn line_where(&mut self, wanted: impl Fn(&str) -> bool) -> String {
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

    /// Closes stdin, waits for the exit; returns the status, all stdout and all stderr.
    async fn finish(mut self) -> (ExitStatus, String, String) {
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

/// The user's browser: opens the URL, logs in (the simulator approves), lands on "Page Not
/// Found"; returns that page's address.
async fn browser_redirect(sim: &SimulatorHandle, url: &str) -> String {
    let http = transport::cloud_client(Duration::from_secs(5), sim.cloud_ca_pem().as_deref())
        .expect("browser");
    let answer = http.get(url).send().await.expect("authorize answers");
    assert_eq!(answer.status().as_u16(), 302);
    answer.headers()["location"]
        .to_str()
        .expect("text location")
        .to_owned()
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode()
        & 0o777
}

fn assert_logged_in(sim: &SimulatorHandle, work: &Workspace, stdout: &str) {
    let entry = files::read_auth(&work.auth_dir, EMAIL)
        .expect("auth file readable")
        .expect("account saved");
    assert!(!entry.tokens.refresh_token.is_empty());
    assert!(!stdout.contains(entry.tokens.refresh_token.expose()));
    assert!(!stdout.contains(entry.tokens.access_token.expose()));
    assert_eq!(mode_of(&files::auth_path(&work.auth_dir)), 0o600);
    assert_eq!(mode_of(&files::site_path(&work.auth_dir)), 0o600);
    let site = std::fs::read_to_string(files::site_path(&work.auth_dir)).expect("site file");
    assert_eq!(site, sim.cloud_site_id().to_string());
    let pct = powerwall_model::scale::raw_to_app_pct(sim.reading().soe_raw_pct);
    assert!(
        stdout.contains(&format!("✓ Live data: battery {pct:.1} %")),
        "{stdout}"
    );
    assert!(stdout.contains("Setup complete:"), "{stdout}");
}

#[tokio::test]
async fn browser_login_with_the_pasted_page_not_found_address() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let mut run = spawn(&sim, &work, &["setup"], &[], true);
    run.send("1\n").await;
    let url = run
        .line_where(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        .await;
    let location = browser_redirect(&sim, &url).await;
    run.send(&format!("{location}\n")).await;
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Page Not Found"), "{stdout}");
    assert!(
        stdout.contains("Exchanging the code with Tesla…"),
        "{stdout}"
    );
    assert!(stdout.contains("(mode 0600)"), "{stdout}");
    assert_logged_in(&sim, &work, &stdout);
}

#[tokio::test]
async fn pasted_tokens_for_a_machine_without_a_browser() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let tokens = sim.mint_cloud_tokens(true);
    let mut run = spawn(&sim, &work, &["setup"], &[], true);
    run.send(&format!(
        "2\n{}\n{}\n",
        tokens.refresh_token, tokens.access_token
    ))
    .await;
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    for secret in [&tokens.refresh_token, &tokens.access_token] {
        assert!(!stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()));
    }
    assert_logged_in(&sim, &work, &stdout);
}

#[tokio::test]
async fn the_setup_flag_with_a_refresh_token_in_the_environment_asks_nothing() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let tokens = sim.mint_cloud_tokens(true);
    let run = spawn(
        &sim,
        &work,
        &["--setup"],
        &[("PW_REFRESH_TOKEN", tokens.refresh_token.as_str())],
        false,
    );
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(&tokens.refresh_token) && !stderr.contains(&tokens.refresh_token));
    assert!(!stdout.contains("Choose"), "no question: {stdout}");
    assert_logged_in(&sim, &work, &stdout);
}

#[tokio::test]
async fn a_wrong_code_fails_clearly_and_writes_no_credentials() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let mut run = spawn(&sim, &work, &["setup"], &[], true);
    run.send("1\nthis-is-not-the-code\n").await;
    let (status, stdout, stderr) = run.finish().await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Setup failed:"), "{stdout}");
    assert!(stdout.contains("refused the code"), "{stdout}");
    assert!(stdout.contains("run setup again"), "{stdout}");
    assert!(!files::auth_path(&work.auth_dir).exists());
}

#[tokio::test]
async fn setup_help_describes_the_setup() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let run = spawn(&sim, &work, &["setup", "--help"], &[], false);
    let (status, stdout, _) = run.finish().await;
    assert!(status.success());
    assert!(stdout.contains("Usage: powerwall-server setup"), "{stdout}");
    assert!(stdout.contains("PW_REFRESH_TOKEN"), "{stdout}");
}

/// The server binary in cloud mode with the environment of the setup run, on a free loopback port.
struct CloudServer {
    _child: Child,
    base: String,
}

async fn start_cloud_server(sim: &SimulatorHandle, work: &Workspace, secret: &str) -> CloudServer {
    let url = sim.cloud_url().expect("cloud listener");
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerwall-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PW_CLOUD_AUTH_URL", &url)
        .env("PW_CLOUD_API_URL", &url)
        .env("PW_CLOUD_CA_FILE", &work.ca_file)
        .env("PW_AUTH_PATH", &work.auth_dir)
        .env("PW_EMAIL", EMAIL)
        .env("PW_CONTROL_SECRET", secret)
        .env("PW_BIND_ADDRESS", "127.0.0.1")
        .env("PW_PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let address = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(line)) = log.next_line().await {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .expect("the server logs its address in time")
    .expect("address line");
    // Keep draining the log so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    CloudServer {
        _child: child,
        base: format!("http://{address}"),
    }
}

/// The README's walkthrough: from nothing, `setup` with the browser login, then the server in
/// cloud mode serves live data from the Tesla cloud and a reserve change is verified.
#[tokio::test]
async fn readme_walkthrough_from_nothing_to_live_cloud_data_and_a_verified_reserve_change() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let mut run = spawn(&sim, &work, &["setup"], &[], true);
    run.send("\n").await;
    let url = run
        .line_where(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        .await;
    let location = browser_redirect(&sim, &url).await;
    run.send(&format!("{location}\n")).await;
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");

    let secret = "walkthrough-secret";
    let server = start_cloud_server(&sim, &work, secret).await;
    let http =
        powerwall_gateway::http::gateway_client(powerwall_gateway::http::GatewayHttpSettings {
            timeout: PATIENCE,
            pool_max_idle: 1,
        })
        .expect("client");
    let get = |path: &str| {
        let request = http.get(format!("{}{path}", server.base));
        async move {
            let answer = request.send().await.expect("server answers");
            assert_eq!(answer.status().as_u16(), 200);
            answer.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    // Live data: the frozen simulator's battery level. The cloud sends the app's percentage and
    // /soe answers the gateway's raw one, as the proxy does: the round trip must be exact.
    let expected = sim.reading().soe_raw_pct;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let soe = loop {
        let soe = get("/soe").await;
        if soe["percentage"].is_number() || tokio::time::Instant::now() > deadline {
            break soe;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let shown = soe["percentage"].as_f64().expect("a battery level");
    assert!((shown - expected).abs() < 0.01, "{shown} vs {expected}");
    let stats = get("/stats").await;
    assert_eq!(stats["mode"], "Cloud");
    assert_eq!(stats["siteid"].to_string(), sim.cloud_site_id().to_string());

    // The reserve change, as the README's curl does, then verified three ways.
    let answer = http
        .post(format!("{}/control/reserve", server.base))
        .form(&[("value", "50"), ("token", secret)])
        .send()
        .await
        .expect("control answers");
    assert_eq!(answer.status().as_u16(), 200);
    let result: serde_json::Value = answer.json().await.expect("JSON result");
    assert_eq!(
        result["set_backup_reserve_percent"]["backup_reserve_percent"],
        50
    );
    assert_eq!(sim.reading().reserve_raw_pct, 50.0 * 0.95 + 5.0);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let reserve = get("/control/reserve").await;
        if reserve["reserve"] == 50.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reserve never read back as 50: {reserve}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
