//! `powerwall-server setup --fleetapi` as a user runs it: the real binary, answers piped to its
//! stdin, every Tesla URL (SSO, Fleet API region base, developer domain) pointing at an
//! in-process simulator's cloud listener on loopback. The test plays the user: it uploads the
//! generated public key (hosts it in the simulator) and signs in with a browser.

mod setup_harness;

use powerwall_gateway::fleet::setup::PUBLIC_KEY_FILE;
use powerwall_gateway::fleet::{FleetTokenFile, fleet_file_path};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use setup_harness::{SetupRun, Workspace, mode_of, workspace};

const DOMAIN: &str = "example.com";

async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// `powerwall-server <args>` with every Tesla URL (SSO, region base, developer domain) pointing
/// at `sim`, plus `env`.
fn spawn(sim: &SimulatorHandle, work: &Workspace, args: &[&str], env: &[(&str, &str)]) -> SetupRun {
    let cloud = sim.cloud_url().expect("cloud listener");
    let mut full = vec![
        ("PW_CLOUD_AUTH_URL", cloud.clone()),
        ("PW_CLOUD_CA_FILE", work.ca_file.display().to_string()),
        ("PW_FLEET_API_URL", format!("{cloud}fleet/{{region}}")),
        ("PW_FLEET_DOMAIN_URL", cloud),
        ("PW_AUTH_PATH", work.auth_dir.display().to_string()),
    ];
    full.extend(env.iter().map(|(key, value)| (*key, (*value).to_owned())));
    SetupRun::spawn(args, &full, true)
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
    run.sign_in(&sim).await;
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
    run.sign_in(&sim).await;
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
