//! The setup flow against an in-process simulator's Tesla SSO and Owner API (loopback only),
//! with scripted answers; plus its command line.

use std::ffi::OsString;
use std::io::{self, BufRead, Cursor, Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use powerwall_gateway::Secret;
use powerwall_gateway::cloud::{files, transport};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle, start};

use super::*;

const EMAIL: &str = "me@example.com";
/// Longest wait for one scripted answer before the feed reports end of input.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

async fn simulator() -> SimulatorHandle {
    start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

/// Options pointing every Tesla URL at the simulator (its CA written into `dir`).
fn options(sim: &SimulatorHandle, dir: &Path) -> SetupOptions {
    let ca_file = dir.join("sim-ca.pem");
    std::fs::write(&ca_file, sim.cloud_ca_pem().unwrap()).unwrap();
    let url = sim.cloud_url().unwrap();
    SetupOptions {
        email: Some(EMAIL.to_owned()),
        endpoints: CloudEndpoints {
            auth_url: url.clone(),
            owner_api_url: url,
            ca_file: Some(ca_file),
            ..CloudEndpoints::default()
        },
        ..SetupOptions::new(dir.join("auth"))
    }
}

fn scripted(script: &str) -> Console<Cursor<Vec<u8>>, Vec<u8>> {
    Console::new(Cursor::new(script.as_bytes().to_vec()), Vec::new())
}

fn printed(console: Console<Cursor<Vec<u8>>, Vec<u8>>) -> String {
    String::from_utf8(console.into_output()).unwrap()
}

/// Answers sent while the flow runs (the browser step needs the URL the flow prints).
struct LineFeed {
    lines: mpsc::Receiver<String>,
    pending: Vec<u8>,
    at: usize,
}

impl Read for LineFeed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for LineFeed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.pending.len() {
            // A silent test ends the input instead of hanging the flow.
            match self.lines.recv_timeout(ANSWER_WAIT) {
                Ok(line) => {
                    self.pending = line.into_bytes();
                    self.at = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.pending[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at += amount;
    }
}

/// Output the test reads while the flow is still writing.
#[derive(Clone, Default)]
struct SharedOutput(Arc<Mutex<Vec<u8>>>);

impl SharedOutput {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for SharedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The authorize URL the flow printed, waiting (bounded) for it to appear.
async fn printed_login_url(output: &SharedOutput) -> String {
    for _ in 0..200 {
        if let Some(url) = output
            .text()
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("https://") && line.contains("oauth2/v3/authorize"))
        {
            return url.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no login URL printed:\n{}", output.text());
}

/// The user's browser: opens the URL, logs in (the simulator approves), lands on the redirect.
async fn browser_redirect(sim: &SimulatorHandle, url: &str) -> String {
    let http =
        transport::cloud_client(Duration::from_secs(5), sim.cloud_ca_pem().as_deref()).unwrap();
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn browser_login_re_asks_a_foreign_paste_then_saves_and_reads_live_data() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&sim, dir.path());
    let (answers, lines) = mpsc::channel();
    let output = SharedOutput::default();
    let mut console = Console::new(
        LineFeed {
            lines,
            pending: Vec::new(),
            at: 0,
        },
        output.clone(),
    );
    answers.send("\n".to_owned()).unwrap(); // default method: the browser
    let user = async {
        let url = printed_login_url(&output).await;
        let location = browser_redirect(&sim, &url).await;
        let foreign = location.replace("state=", "state=other");
        answers.send(format!("{foreign}\n")).unwrap();
        answers.send(format!("{location}\n")).unwrap();
        location
    };
    let (succeeded, location) = tokio::join!(run_setup(&options, &mut console), user);
    let text = output.text();
    assert!(succeeded, "{text}");
    assert!(text.contains("\"Page Not Found\""), "{text}");
    assert!(
        text.contains("its state does not match this login"),
        "{text}"
    );
    assert!(text.contains("Exchanging the code with Tesla…"), "{text}");
    assert!(text.contains("(mode 0600)"), "{text}");
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(!text.contains(code), "the code must not be echoed");
    let auth_dir = dir.path().join("auth");
    let entry = files::read_auth(&auth_dir, EMAIL).unwrap().unwrap();
    assert!(!entry.tokens.refresh_token.is_empty());
    assert!(!text.contains(entry.tokens.refresh_token.expose()));
    assert_eq!(mode_of(&files::auth_path(&auth_dir)), 0o600);
    assert_eq!(files::read_site(&auth_dir), Some(sim.cloud_site_id()));
    let pct = powerwall_model::scale::raw_to_app_pct(sim.reading().soe_raw_pct);
    assert!(
        text.contains(&format!("✓ Live data: battery {pct:.1} %")),
        "{text}"
    );
    assert!(text.contains("Setup complete:"), "{text}");
}

#[tokio::test]
async fn pasted_tokens_are_saved_unprinted_after_asking_the_email_again() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = SetupOptions {
        email: None,
        ..options(&sim, dir.path())
    };
    let tokens = sim.mint_cloud_tokens(true);
    let mut console = scripted(&format!(
        "not-an-email\n{EMAIL}\n2\n\n{}\n{}\n",
        tokens.refresh_token, tokens.access_token
    ));
    assert!(run_setup(&options, &mut console).await);
    let text = printed(console);
    assert!(text.contains("The refresh token is required."), "{text}");
    assert!(
        text.contains("account email like name@example.com"),
        "{text}"
    );
    assert!(!text.contains(&tokens.refresh_token) && !text.contains(&tokens.access_token));
    assert!(
        text.contains(&format!("✓ Logged in to Tesla as {EMAIL}")),
        "{text}"
    );
    assert!(text.contains("✓ Live data: battery"), "{text}");
}

#[tokio::test]
async fn a_refresh_token_and_an_email_set_up_without_questions() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let tokens = sim.mint_cloud_tokens(true);
    let options = SetupOptions {
        refresh_token: Some(Secret::new(tokens.refresh_token.clone())),
        site_id: Some(sim.cloud_site_id()),
        ..options(&sim, dir.path())
    };
    let mut console = scripted("");
    let succeeded = run_setup(&options, &mut console).await;
    let text = printed(console);
    assert!(succeeded, "{text}");
    assert!(!text.contains(&tokens.refresh_token));
    assert!(
        text.contains("Using the refresh token from PW_REFRESH_TOKEN."),
        "{text}"
    );
    let auth_dir = dir.path().join("auth");
    assert!(files::read_auth(&auth_dir, EMAIL).unwrap().is_some());
    // Without an email nothing names the account (a refresh token is opaque).
    let anonymous = SetupOptions {
        email: None,
        ..options.clone()
    };
    let mut console = scripted("");
    assert!(!run_setup(&anonymous, &mut console).await);
    let text = printed(console);
    assert!(text.contains("set the account email (PW_EMAIL)"), "{text}");
}

#[tokio::test]
async fn a_refused_code_fails_with_advice_and_writes_no_credentials() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let options = options(&sim, dir.path());
    let mut console = scripted("1\nnot-a-real-code\n");
    assert!(!run_setup(&options, &mut console).await);
    let text = printed(console);
    assert!(
        text.contains("✗ Tesla's login server at https://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("refused the code"), "{text}");
    assert!(text.contains("expired"), "{text}");
    assert!(!files::auth_path(&dir.path().join("auth")).exists());
}

#[tokio::test]
async fn an_unreachable_login_server_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on (bound, then released) on loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/");
    let options = SetupOptions {
        email: Some(EMAIL.to_owned()),
        endpoints: CloudEndpoints {
            auth_url: url.clone(),
            owner_api_url: url.clone(),
            ca_file: None,
            ..CloudEndpoints::default()
        },
        ..SetupOptions::new(dir.path())
    };
    let mut console = scripted("1\nsome-code\n");
    assert!(!run_setup(&options, &mut console).await);
    let text = printed(console);
    assert!(text.contains(&format!("✗ cannot reach {url}")), "{text}");
    assert!(text.contains("check the network connection"), "{text}");
}

#[tokio::test]
async fn an_unwritable_directory_fails_before_any_question() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let options = SetupOptions::new(file.join("auth"));
    let mut console = scripted("");
    assert!(!run_setup(&options, &mut console).await);
    let text = printed(console);
    assert!(text.contains("✗ cannot write credentials in"), "{text}");
    assert!(text.contains("--authpath or PW_AUTH_PATH"), "{text}");
    assert!(!text.contains("email:"), "{text}");
}

#[tokio::test]
async fn input_ending_early_says_how_to_run_without_questions() {
    let dir = tempfile::tempdir().unwrap();
    let mut console = scripted("");
    assert!(!run_setup(&SetupOptions::new(dir.path()), &mut console).await);
    let text = printed(console);
    assert!(text.contains("✗ the input ended"), "{text}");
    assert!(text.contains("PW_REFRESH_TOKEN"), "{text}");
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn setup_is_recognised_as_a_subcommand_or_a_flag_only() {
    assert_eq!(
        setup_command_line(&os(&["pws", "setup", "--email", "a@b.c"])),
        Some(os(&["pws", "--email", "a@b.c"]))
    );
    assert_eq!(
        setup_command_line(&os(&["pws", "--siteid", "7", "--setup"])),
        Some(os(&["pws", "--siteid", "7"]))
    );
    assert_eq!(setup_command_line(&os(&["pws", "--host", "setup"])), None);
    assert_eq!(setup_command_line(&os(&["pws", "--", "--setup"])), None);
    assert_eq!(setup_command_line(&os(&["pws"])), None);
}

#[test]
fn the_command_line_validates_the_site_id_and_hides_the_token() {
    let args = SetupArgs::try_parse_from([
        "pws",
        "--siteid",
        "123",
        "--authpath",
        "/tmp/x",
        "--refresh-token",
        "sekrit",
    ])
    .unwrap();
    let options = args.options().unwrap();
    assert_eq!(options.site_id, Some(123));
    assert_eq!(options.auth_dir, Path::new("/tmp/x"));
    assert!(!format!("{args:?}").contains("sekrit"));
    let bad = SetupArgs::try_parse_from(["pws", "--siteid", "home"]).unwrap();
    assert!(bad.options().unwrap_err().to_string().contains("numeric"));
}

#[test]
fn prepare_auth_dir_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let prepared = flow::prepare_auth_dir(&nested).unwrap();
    assert!(prepared.is_dir());
    assert_eq!(
        std::fs::read_dir(&prepared).unwrap().count(),
        0,
        "no probe left"
    );
}
