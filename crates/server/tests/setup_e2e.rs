//! `powerwall-server setup` as a user runs it: the real binary, answers piped to its stdin,
//! every Tesla URL pointing at an in-process simulator's cloud persona on loopback.

mod setup_harness;

use std::process::Stdio;
use std::time::Duration;

use powerwall_gateway::cloud::files;
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use setup_harness::{PATIENCE, SetupRun, Workspace, mode_of, workspace};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const EMAIL: &str = "me@example.com";

async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        email: EMAIL.to_owned(),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The Owner API environment: every Tesla URL pointing at `sim`, its CA, the credential
/// directory and the account e-mail.
fn owner_env(sim: &SimulatorHandle, work: &Workspace) -> Vec<(&'static str, String)> {
    let url = sim.cloud_url().expect("cloud listener");
    vec![
        ("PW_CLOUD_AUTH_URL", url.clone()),
        ("PW_CLOUD_API_URL", url),
        ("PW_CLOUD_CA_FILE", work.ca_file.display().to_string()),
        ("PW_AUTH_PATH", work.auth_dir.display().to_string()),
        ("PW_EMAIL", EMAIL.to_owned()),
    ]
}

/// `powerwall-server <args>` in the Owner API environment plus `env`.
fn spawn(
    sim: &SimulatorHandle,
    work: &Workspace,
    args: &[&str],
    env: &[(&str, &str)],
    interactive: bool,
) -> SetupRun {
    let mut full = owner_env(sim, work);
    full.extend(env.iter().map(|(key, value)| (*key, (*value).to_owned())));
    SetupRun::spawn(args, &full, interactive)
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
    run.sign_in(&sim).await;
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerwall-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(owner_env(sim, work))
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
    run.sign_in(&sim).await;
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
