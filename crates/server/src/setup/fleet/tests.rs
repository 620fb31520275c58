//! The Fleet setup against an in-process simulator's Fleet persona (loopback only), with a
//! scripted user who reads the output and answers as it goes.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use powerwall_gateway::cloud::transport;
use powerwall_gateway::fleet::setup::{PUBLIC_KEY_FILE, generate_key_pair, write_key_pair};
use powerwall_gateway::fleet::{FleetTokenFile, Region, fleet_file_path};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};

use super::{FleetOptions, run_fleet_setup};
use crate::settings::CloudEndpoints;
use crate::setup::console::Console;

const DOMAIN: &str = "example.com";
/// Longest wait for an expected output line.
const PATIENCE: Duration = Duration::from_secs(30);
/// Pause between two looks at the output.
const POLL: Duration = Duration::from_millis(20);

/// Answers typed by the test, one line per message; end of input when the sender is dropped.
struct TypedInput {
    lines: Receiver<String>,
    pending: Vec<u8>,
    at: usize,
}

impl Read for TypedInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for TypedInput {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.pending.len() {
            // A closed or silent test ends the input.
            if let Ok(line) = self.lines.recv_timeout(PATIENCE) {
                self.pending = line.into_bytes();
                self.at = 0;
            }
        }
        Ok(&self.pending[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.pending.len());
    }
}

/// Everything printed so far, readable while the setup runs.
#[derive(Clone, Default)]
struct SharedOutput(Arc<Mutex<Vec<u8>>>);

impl Write for SharedOutput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SharedOutput {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits until a printed line (trimmed) satisfies `wanted`, searching after byte `from`;
    /// answers the line and where the search may continue.
    async fn line_after(&self, from: usize, wanted: impl Fn(&str) -> bool) -> (String, usize) {
        for _ in 0..(PATIENCE.as_millis() / POLL.as_millis()) {
            let text = self.text();
            let mut at = from;
            for line in text[from.min(text.len())..].split_inclusive('\n') {
                at += line.len();
                if line.ends_with('\n') && wanted(line.trim()) {
                    return (line.trim().to_owned(), at);
                }
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("no such line; printed so far:\n{}", self.text());
    }
}

/// A setup run in a task, with the user's keyboard and screen.
struct Run {
    keyboard: Sender<String>,
    screen: SharedOutput,
    task: tokio::task::JoinHandle<bool>,
    read_to: usize,
}

impl Run {
    fn start(options: FleetOptions) -> Self {
        let (keyboard, lines) = channel();
        let screen = SharedOutput::default();
        let input = TypedInput {
            lines,
            pending: Vec::new(),
            at: 0,
        };
        let mut console = Console::new(input, screen.clone());
        let task = tokio::spawn(async move { run_fleet_setup(&options, &mut console).await });
        Self {
            keyboard,
            screen,
            task,
            read_to: 0,
        }
    }

    fn type_line(&self, line: &str) {
        self.keyboard.send(format!("{line}\n")).unwrap();
    }

    async fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let (line, at) = self.screen.line_after(self.read_to, wanted).await;
        self.read_to = at;
        line
    }

    async fn finish(self) -> (bool, String) {
        drop(self.keyboard);
        let succeeded = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("setup ends in time")
            .expect("setup task");
        (succeeded, self.screen.text())
    }
}

async fn simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Options pointing every URL at the simulator (the region base as a `{region}` template).
fn options(sim: &SimulatorHandle, dir: &Path) -> FleetOptions {
    let cloud = sim.cloud_url().unwrap();
    let ca_file = dir.join("sim-ca.pem");
    std::fs::write(&ca_file, sim.cloud_ca_pem().unwrap()).unwrap();
    FleetOptions {
        endpoints: CloudEndpoints {
            auth_url: cloud.clone(),
            owner_api_url: cloud.clone(),
            ca_file: Some(ca_file),
            fleet_api_url: Some(format!("{cloud}fleet/{{region}}")),
            fleet_domain_url: Some(cloud),
        },
        ..FleetOptions::new(dir.join("auth"))
    }
}

/// The browser: opens the authorize URL, signs in (the simulator approves) and lands on the
/// redirect URI; returns that address.
async fn browser(sim: &SimulatorHandle, url: &str) -> String {
    let http = transport::cloud_client(Duration::from_secs(5), sim.cloud_ca_pem().as_deref())
        .unwrap();
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// Types the application's settings at the prompts (region by its number).
fn type_application(run: &Run, sim: &SimulatorHandle, region: &str) {
    let knobs = sim.fleet_knobs();
    for line in [&knobs.client_id, &knobs.client_secret, DOMAIN, "", region] {
        run.type_line(line);
    }
}

#[tokio::test]
async fn every_step_asked_then_the_token_file_and_live_data() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&sim, dir.path());
    let auth_dir = options.auth_dir.clone();
    let mut run = Run::start(options);
    type_application(&run, &sim, "1");
    run.wait_for(|line| line.starts_with("Press Enter once")).await;
    // The user uploads the generated public key, as to a web server.
    let public = std::fs::read_to_string(auth_dir.join(PUBLIC_KEY_FILE)).unwrap();
    sim.host_fleet_public_key(Some(public));
    run.type_line("");
    let url = run
        .wait_for(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        .await;
    run.type_line(&browser(&sim, &url).await);
    let (succeeded, printed) = run.finish().await;
    assert!(succeeded, "{printed}");

    let file = FleetTokenFile::read(&auth_dir).unwrap().unwrap();
    let knobs = sim.fleet_knobs();
    assert_eq!(file.client_id, knobs.client_id);
    assert_eq!(file.client_secret.expose(), knobs.client_secret);
    assert_eq!(file.domain, DOMAIN);
    assert_eq!(file.redirect_uri, "https://example.com/access");
    assert_eq!(Some(file.audience.clone()), sim.fleet_url("na"));
    assert_eq!(file.site_id, Some(sim.cloud_site_id()));
    assert_eq!(file.partner_account["response"]["domain"], DOMAIN);
    assert!(!file.refresh_token.is_empty() && !file.partner_token.is_empty());
    assert_eq!(sim.fleet_partner_domains(), vec![DOMAIN.to_owned()]);
    for secret in [
        knobs.client_secret.as_str(),
        file.access_token.expose(),
        file.refresh_token.expose(),
        file.partner_token.expose(),
    ] {
        assert!(!printed.contains(secret), "a secret was printed:\n{printed}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fleet_file_path(&auth_dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(printed.contains("1) na: North America"), "{printed}");
    assert!(
        printed.contains("URL:  https://example.com/.well-known/appspecific/com.tesla.3p.public-key.pem"),
        "{printed}"
    );
    let pct = powerwall_model::scale::raw_to_app_pct(sim.reading().soe_raw_pct);
    assert!(
        printed.contains(&format!("✓ Live data: battery {pct:.1} %")),
        "{printed}"
    );
    assert!(printed.contains("Setup complete:"), "{printed}");
}

#[tokio::test]
async fn a_different_hosted_key_is_checked_again_after_enter_and_the_pair_is_reused() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&sim, dir.path());
    let knobs = sim.fleet_knobs();
    options.client_id = Some(knobs.client_id.clone());
    options.client_secret = Some(powerwall_gateway::Secret::new(knobs.client_secret.clone()));
    options.domain = Some(DOMAIN.to_owned());
    options.redirect_uri = Some("https://example.com/access".to_owned());
    options.region = Some(Region::Na);
    options.site_id = Some(sim.cloud_site_id());
    // A pair from an earlier run is in the directory; another key is hosted.
    std::fs::create_dir_all(&options.auth_dir).unwrap();
    let ours = generate_key_pair().unwrap();
    write_key_pair(&options.auth_dir, &ours).unwrap();
    sim.host_fleet_public_key(Some(generate_key_pair().unwrap().public_pem));

    let mut run = Run::start(options);
    run.wait_for(|line| line.starts_with("Press Enter once")).await;
    run.type_line("");
    let refused = run.wait_for(|line| line.starts_with("✗")).await;
    assert!(refused.contains("serves a different public key"), "{refused}");
    run.wait_for(|line| line.contains("press Enter to check again (4 checks left)"))
        .await;
    sim.host_fleet_public_key(Some(ours.public_pem.clone()));
    run.type_line("");
    let url = run
        .wait_for(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        .await;
    run.type_line(&browser(&sim, &url).await);
    let (succeeded, printed) = run.finish().await;
    assert!(succeeded, "{printed}");
    assert!(printed.contains("Reusing the key pair"), "{printed}");
    assert!(!printed.contains("Client id:"), "nothing asked: {printed}");
}

#[tokio::test]
async fn the_wrong_region_stops_at_the_registration_with_the_412_advice() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&sim, dir.path());
    let auth_dir = options.auth_dir.clone();
    let mut run = Run::start(options);
    type_application(&run, &sim, "eu");
    run.wait_for(|line| line.starts_with("Press Enter once")).await;
    let public = std::fs::read_to_string(auth_dir.join(PUBLIC_KEY_FILE)).unwrap();
    sim.host_fleet_public_key(Some(public));
    run.type_line("");
    let (succeeded, printed) = run.finish().await;
    assert!(!succeeded, "{printed}");
    assert!(printed.contains("HTTP 412"), "{printed}");
    assert!(printed.contains("user out of region"), "{printed}");
    assert!(printed.contains("PW_FLEET_REGION"), "{printed}");
    assert!(sim.fleet_partner_domains().is_empty());
    assert!(!fleet_file_path(&auth_dir).exists());
}

#[tokio::test]
async fn pastes_that_are_not_this_sign_ins_answer_are_asked_again_then_refused() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&sim, dir.path());
    let auth_dir = options.auth_dir.clone();
    let mut run = Run::start(options);
    type_application(&run, &sim, "na");
    run.wait_for(|line| line.starts_with("Press Enter once")).await;
    let public = std::fs::read_to_string(auth_dir.join(PUBLIC_KEY_FILE)).unwrap();
    sim.host_fleet_public_key(Some(public));
    run.type_line("");
    run.wait_for(|line| line.contains("oauth2/v3/authorize")).await;
    for paste in [
        "https://example.com/access?code=abc&state=someone-else",
        "",
        "not a code!",
    ] {
        run.type_line(paste);
    }
    let (succeeded, printed) = run.finish().await;
    assert!(!succeeded, "{printed}");
    assert!(printed.contains("belongs to another sign-in"), "{printed}");
    assert_eq!(
        printed.matches("That is not this sign-in's answer").count(),
        3,
        "{printed}"
    );
    assert!(!printed.contains("Exchanging the code"), "{printed}");
    assert!(!fleet_file_path(&auth_dir).exists());
}
