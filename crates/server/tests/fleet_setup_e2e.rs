//! `powerwall-server setup --fleetapi` as a user runs it: the real binary, answers piped to its
//! stdin, every Tesla URL (SSO, Fleet API region base, developer domain) pointing at an
//! in-process simulator's cloud listener on loopback. The test plays the user: it uploads the
//! generated public key (hosts it in the simulator) and signs in with a browser.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use powerwall_gateway::cloud::transport;
use powerwall_gateway::fleet::setup::PUBLIC_KEY_FILE;
use powerwall_gateway::fleet::{FleetTokenFile, fleet_file_path};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const DOMAIN: &str = "example.com";
/// Longest wait for one line of output or for the exit.
const PATIENCE: Duration = Duration::from_secs(30);

async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
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

/// One run of the binary (killed on drop, so a failing test leaves no process behind).
struct SetupRun {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: String,
}

fn spawn(sim: &SimulatorHandle, work: &Workspace, args: &[&str], env: &[(&str, &str)]) -> SetupRun {
    let cloud = sim.cloud_url().expect("cloud listener");
    let mut command = Command::new(env!("CARGO_BIN_EXE_powerwall-server"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PW_CLOUD_AUTH_URL", &cloud)
        .env("PW_CLOUD_CA_FILE", &work.ca_file)
        .env("PW_FLEET_API_URL", format!("{cloud}fleet/{{region}}"))
        .env("PW_FLEET_DOMAIN_URL", &cloud)
        .env("PW_AUTH_PATH", &work.auth_dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
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

/// The client id and secret as environment variables, the rest typed at the prompts.
fn credentials_env(sim: &SimulatorHandle, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PW_FLEET_CLIENT_ID", sim.fleet_knobs().client_id),
        ("PW_FLEET_CLIENT_SECRET", secret.to_owned()),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect()
}

/// Answers domain, redirect URI (Enter: the proposal) and region, then waits for the hosting
/// instructions.
async fn answer_application(run: &mut SetupRun, region: &str) {
    run.send(&format!("{DOMAIN}\n\n{region}\n")).await;
    run.line_where(|line| line.starts_with("Press Enter once"))
        .await;
}

/// What a user does with the generated public key: uploads it to the domain.
fn upload_public_key(sim: &SimulatorHandle, work: &Workspace) {
    let public = std::fs::read_to_string(work.auth_dir.join(PUBLIC_KEY_FILE)).expect("public key");
    sim.host_fleet_public_key(Some(public));
}

/// The browser: opens the authorize URL, signs in (the simulator approves), lands on the
/// redirect URI; returns that address.
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

/// Signs in at the printed URL and pastes the address the browser landed on.
async fn sign_in(sim: &SimulatorHandle, run: &mut SetupRun) {
    let url = run
        .line_where(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        .await;
    let location = browser_redirect(sim, &url).await;
    run.send(&format!("{location}\n")).await;
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode()
        & 0o777
}

fn assert_set_up(sim: &SimulatorHandle, work: &Workspace, stdout: &str, stderr: &str) {
    let file = FleetTokenFile::read(&work.auth_dir)
        .expect("token file readable")
        .expect("token file written");
    assert_eq!(file.domain, DOMAIN);
    assert_eq!(file.redirect_uri, "https://example.com/access");
    assert_eq!(Some(file.audience.clone()), sim.fleet_url("na"));
    assert_eq!(file.site_id, Some(sim.cloud_site_id()));
    assert_eq!(mode_of(&fleet_file_path(&work.auth_dir)), 0o600);
    assert_eq!(mode_of(&work.auth_dir.join("private-key.pem")), 0o600);
    for secret in [
        file.client_secret.expose(),
        file.access_token.expose(),
        file.refresh_token.expose(),
        file.partner_token.expose(),
    ] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    let pct = powerwall_model::scale::raw_to_app_pct(sim.reading().soe_raw_pct);
    assert!(
        stdout.contains(&format!("✓ Live data: battery {pct:.1} %")),
        "{stdout}"
    );
    assert!(stdout.contains("Setup complete:"), "{stdout}");
}

#[tokio::test]
async fn full_fleet_setup_with_the_uploaded_key_and_a_browser_sign_in() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let env = credentials_env(&sim, &sim.fleet_knobs().client_secret);
    let mut run = spawn(&sim, &work, &["setup", "--fleetapi"], &borrowed(&env));
    answer_application(&mut run, "1").await;
    upload_public_key(&sim, &work);
    run.send("\n").await;
    sign_in(&sim, &mut run).await;
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "URL:  https://example.com/.well-known/appspecific/com.tesla.3p.public-key.pem"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("The domain serves this public key."),
        "{stdout}"
    );
    assert!(stdout.contains("Using the client secret from PW_FLEET_CLIENT_SECRET"));
    assert!(
        stdout.contains("✓ Partner account registered for example.com"),
        "{stdout}"
    );
    assert_set_up(&sim, &work, &stdout, &stderr);
}

#[tokio::test]
async fn a_key_not_yet_hosted_is_explained_and_checked_again_after_enter() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let env = credentials_env(&sim, &sim.fleet_knobs().client_secret);
    let mut run = spawn(&sim, &work, &["--setup", "--fleetapi"], &borrowed(&env));
    answer_application(&mut run, "na").await;
    run.send("\n").await;
    let refused = run.line_where(|line| line.starts_with("✗")).await;
    assert!(
        refused.contains("answered HTTP 404: host the public key file there"),
        "{refused}"
    );
    run.line_where(|line| line.contains("press Enter to check again"))
        .await;
    upload_public_key(&sim, &work);
    run.send("\n").await;
    sign_in(&sim, &mut run).await;
    let (status, stdout, stderr) = run.finish().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert_set_up(&sim, &work, &stdout, &stderr);
}

#[tokio::test]
async fn a_wrong_client_secret_fails_clearly_without_printing_it() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let wrong = "definitely-not-the-secret";
    let env = credentials_env(&sim, wrong);
    let mut run = spawn(&sim, &work, &["setup", "--fleetapi"], &borrowed(&env));
    answer_application(&mut run, "1").await;
    upload_public_key(&sim, &work);
    run.send("\n").await;
    let (status, stdout, stderr) = run.finish().await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Setup failed:"), "{stdout}");
    assert!(
        stdout.contains("Tesla refused the partner token"),
        "{stdout}"
    );
    assert!(stdout.contains("PW_FLEET_CLIENT_SECRET"), "{stdout}");
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    assert!(!fleet_file_path(&work.auth_dir).exists());
    assert!(sim.fleet_partner_domains().is_empty());
}

#[tokio::test]
async fn the_wrong_region_gets_the_412_advice() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let env = credentials_env(&sim, &sim.fleet_knobs().client_secret);
    let mut run = spawn(&sim, &work, &["setup", "--fleetapi"], &borrowed(&env));
    answer_application(&mut run, "2").await;
    upload_public_key(&sim, &work);
    run.send("\n").await;
    let (status, stdout, stderr) = run.finish().await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("HTTP 412"), "{stdout}");
    assert!(stdout.contains("user out of region"), "{stdout}");
    assert!(
        stdout.contains("choose the region whose base URL the error names"),
        "{stdout}"
    );
    assert!(!fleet_file_path(&work.auth_dir).exists());
}

#[tokio::test]
async fn an_unknown_region_flag_is_refused_before_any_question() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let run = spawn(
        &sim,
        &work,
        &["setup", "--fleetapi", "--region", "mars"],
        &[],
    );
    let (status, stdout, stderr) = run.finish().await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("must be na, eu or cn"), "{stdout}");
    assert!(!stdout.contains("Client id"), "{stdout}");
}

#[tokio::test]
async fn setup_help_describes_the_fleet_options() {
    let sim = simulator().await;
    let work = workspace(&sim);
    let run = spawn(&sim, &work, &["setup", "--help"], &[]);
    let (status, stdout, _) = run.finish().await;
    assert!(status.success());
    for option in [
        "--fleetapi",
        "PW_FLEET_CLIENT_ID",
        "PW_FLEET_CLIENT_SECRET",
        "PW_FLEET_API_URL",
        "PW_FLEET_DOMAIN_URL",
        "PW_FLEET_REGION",
    ] {
        assert!(stdout.contains(option), "{option}: {stdout}");
    }
}
