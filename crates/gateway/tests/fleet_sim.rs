//! Fleet API mode against the simulator's Fleet persona, on loopback only: the whole setup,
//! reads in local shapes equal to the model, writes with read-back, 401 refresh, the 429 window,
//! single flight, the wrong-region answer and forced HTTP/1.1.

use std::sync::Arc;
use std::time::Duration;

use powerwall_gateway::fleet::setup::{
    self, FleetSetup, SetupEndpoints, SetupError, choose_site, extract_code, generate_key_pair,
    write_key_pair,
};
use powerwall_gateway::fleet::{FleetClient, FleetConfig, FleetTokenFile};
use powerwall_gateway::policy::ManualClock;
use powerwall_gateway::{
    DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule, OperationMode,
    ReserveLevel, Secret,
};
use powerwall_simulator::{CloudKnobs, FleetRateLimit, RetryStyle, SimulatorHandle};

mod tesla_common;
use tesla_common::{
    assert_operation_written, assert_reads_match_the_model, close, count, simulator,
};

const DOMAIN: &str = "example.com";
const REDIRECT_URI: &str = "https://example.com/access";

fn endpoints(sim: &SimulatorHandle, region: &str) -> SetupEndpoints {
    let cloud = sim.cloud_url().expect("cloud listener");
    SetupEndpoints {
        auth_url: cloud.clone(),
        audience: sim.fleet_url(region).expect("fleet url"),
        domain_base: Some(cloud),
        ca_pem: sim.cloud_ca_pem(),
        timeout: Duration::from_secs(10),
    }
}

fn config(sim: &SimulatorHandle, dir: &std::path::Path) -> FleetConfig {
    FleetConfig {
        auth_url: sim.cloud_url().expect("cloud listener"),
        ca_pem: sim.cloud_ca_pem(),
        ..FleetConfig::new(dir)
    }
}

/// A token file as the setup would leave it, with tokens minted by the simulator.
fn write_token_file(sim: &SimulatorHandle, dir: &std::path::Path) {
    let knobs = sim.fleet_knobs();
    let tokens = sim.mint_fleet_tokens();
    FleetTokenFile {
        client_id: knobs.client_id,
        client_secret: Secret::new(knobs.client_secret),
        domain: DOMAIN.to_owned(),
        redirect_uri: REDIRECT_URI.to_owned(),
        audience: sim.fleet_url("na").expect("fleet url"),
        access_token: Secret::new(tokens.access_token),
        refresh_token: Secret::new(tokens.refresh_token),
        ..FleetTokenFile::default()
    }
    .write(dir)
    .expect("token file");
}

/// A connected client on a manual clock.
async fn connected(
    sim: &SimulatorHandle,
    dir: &std::path::Path,
) -> (Arc<FleetClient>, Arc<ManualClock>) {
    write_token_file(sim, dir);
    let clock = Arc::new(ManualClock::new());
    let client = FleetClient::with_clock(config(sim, dir), clock.clone()).expect("client");
    client.connect().await.expect("connects");
    (Arc::new(client), clock)
}

#[tokio::test]
async fn full_setup_writes_a_working_token_file() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let knobs = sim.fleet_knobs();
    let secret = Secret::new(knobs.client_secret.clone());
    let pair = generate_key_pair().expect("key pair");
    write_key_pair(dir.path(), &pair).expect("key files");
    let setup = FleetSetup::new(endpoints(&sim, "na")).expect("setup");

    // The PEM must be hosted (404 first), and be ours.
    let missing = setup.check_public_key(DOMAIN, Some(&pair.public_pem)).await;
    assert!(matches!(
        missing,
        Err(SetupError::PemNotHosted { status: 404, .. })
    ));
    sim.host_fleet_public_key(Some(pair.public_pem.clone()));
    setup
        .check_public_key(DOMAIN, Some(&pair.public_pem))
        .await
        .expect("hosted");
    let other = generate_key_pair().expect("other pair");
    assert!(matches!(
        setup
            .check_public_key(DOMAIN, Some(&other.public_pem))
            .await,
        Err(SetupError::PemMismatch { .. })
    ));

    // Partner token (a wrong secret is refused with advice), then registration.
    let refused = setup
        .partner_token(&knobs.client_id, &Secret::new("wrong"))
        .await
        .expect_err("bad secret");
    assert!(refused.to_string().contains("CLIENT_SECRET"), "{refused}");
    let partner = setup
        .partner_token(&knobs.client_id, &secret)
        .await
        .expect("partner token");
    let account = setup
        .register_partner(&partner, DOMAIN)
        .await
        .expect("registered");
    assert_eq!(account["response"]["domain"], DOMAIN);
    assert_eq!(sim.fleet_partner_domains(), vec![DOMAIN.to_owned()]);

    // The user signs in: the simulator auto-approves and redirects with the code.
    let (url, state) = setup
        .authorize_url(&knobs.client_id, REDIRECT_URI)
        .expect("authorize url");
    assert_eq!(state.len(), setup::STATE_LENGTH);
    let browser = powerwall_gateway::cloud::transport::cloud_client(
        Duration::from_secs(10),
        sim.cloud_ca_pem().as_deref(),
    )
    .expect("browser");
    let answer = browser.get(&url).send().await.expect("authorize");
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let code = extract_code(&location, Some(&state)).expect("code");
    let tokens = setup
        .exchange_code(&knobs.client_id, &secret, &code, REDIRECT_URI)
        .await
        .expect("tokens");
    // Codes are single use.
    assert!(
        setup
            .exchange_code(&knobs.client_id, &secret, &code, REDIRECT_URI)
            .await
            .is_err()
    );
    let sites = setup
        .energy_sites(&tokens.access_token)
        .await
        .expect("sites");
    let site = choose_site(&sites, None).expect("site");
    assert_eq!(site.id, sim.cloud_site_id());
    FleetTokenFile {
        client_id: knobs.client_id.clone(),
        client_secret: secret,
        domain: DOMAIN.to_owned(),
        redirect_uri: REDIRECT_URI.to_owned(),
        audience: setup.endpoints().audience.clone(),
        partner_token: partner,
        partner_account: account,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        site_id: Some(site.id),
        ..FleetTokenFile::default()
    }
    .write(dir.path())
    .expect("token file");

    let client = FleetClient::new(config(&sim, dir.path())).expect("client");
    client.connect().await.expect("connects");
    assert_eq!(client.selected_site(), Some(site.id));
    let soe = client.fetch(DataKind::Soe).await.expect("soe");
    assert!(close(
        soe["percentage"].as_f64().expect("number"),
        sim.reading().soe_raw_pct
    ));
}

#[tokio::test]
async fn every_mapped_document_matches_the_model() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = connected(&sim, dir.path()).await;
    assert_reads_match_the_model(client.as_ref(), &sim).await;
    let reading = sim.reading();
    let soe = client.fetch(DataKind::Soe).await.expect("soe");
    assert!(close(
        soe["percentage"].as_f64().expect("n"),
        reading.soe_raw_pct
    ));
    // The Fleet API's site_status carries no pack energy.
    let system = client.fetch(DataKind::SystemStatus).await.expect("system");
    assert!(system["nominal_full_pack_energy"].is_null());
    assert_eq!(system["available_blocks"], 2);
    let info = client.fetch(DataKind::SiteInfo).await.expect("site info");
    assert!(info["max_system_energy_kWh"].as_f64().expect("n") > 0.0);
    assert!(matches!(
        client.fetch(DataKind::Powerwalls).await,
        Err(GatewayError::Unsupported { .. })
    ));
    assert!(client.time_remaining().await.expect("hours") > 0.0);
    assert_eq!(
        client.tariff().await.expect("tariff")["utility"],
        "Simulated Power & Light"
    );
    let live = client.live_status_raw().await.expect("live");
    assert!(live.get("energy_left").is_none() && live.get("solar_power").is_some());
    assert_eq!(
        client.site_info_raw().await.expect("info")["site_name"],
        "My Home"
    );
    // site_info is cached: status, operation, site info, name, vitals, tariff cost one call.
    assert_eq!(count(&sim, "/site_info"), 1);
    assert_eq!(count(&sim, "/site_status"), 1);
    let usage = client.usage();
    assert_eq!(usage.calls_by_kind.data, count(&sim, "GET /fleet/"));
    assert_eq!(usage.calls_by_kind.command, 0);
    assert!(usage.projected_monthly_cost_usd > 0.0);
}

#[tokio::test]
async fn writes_reach_the_model_and_read_back() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = connected(&sim, dir.path()).await;
    client
        .fetch(DataKind::Operation)
        .await
        .expect("warm the cache");
    let result = client
        .set_operation(ReserveLevel::whole(50), Some(OperationMode::Autonomous))
        .await
        .expect("write");
    assert_eq!(
        result["set_backup_reserve_percent"]["backup_reserve_percent"],
        50
    );
    assert_eq!(
        result["set_backup_reserve_percent"]["result"]["response"]["code"],
        201
    );
    assert_eq!(result["set_operation"]["real_mode"], "autonomous");
    assert_eq!(
        result["set_operation"]["result"]["response"]["message"],
        "Updated"
    );
    assert_operation_written(client.as_ref(), &sim, "autonomous").await;
    // Only the field given is sent.
    let mode_only = client
        .set_operation(None, Some(OperationMode::SelfConsumption))
        .await
        .expect("mode");
    assert!(mode_only.get("set_backup_reserve_percent").is_none());
    assert_eq!(
        count(&sim, "POST /fleet/na/api/1/energy_sites/429124/backup"),
        1
    );

    assert!(client.grid_charging().await.expect("read"));
    client.set_grid_charging(false).await.expect("write");
    assert!(!client.grid_charging().await.expect("read-back"));
    client
        .set_grid_export(GridExportRule::Never)
        .await
        .expect("write");
    assert_eq!(client.grid_export().await.expect("read-back"), "never");
    assert_eq!(client.usage().calls_by_kind.command, 5);
}

#[tokio::test]
async fn expired_token_refreshes_once_for_concurrent_calls_and_rewrites_the_file() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = connected(&sim, dir.path()).await;
    let before = FleetTokenFile::read(dir.path())
        .expect("read")
        .expect("file");
    sim.expire_fleet_access_tokens();
    let calls = [DataKind::Soe, DataKind::Operation, DataKind::SystemStatus];
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|kind| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.fetch(kind).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins").expect("fetch after refresh");
    }
    assert_eq!(count(&sim, "POST /oauth2/v3/token"), 1);
    let after = FleetTokenFile::read(dir.path())
        .expect("read")
        .expect("file");
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(after.refresh_token, before.refresh_token);
    assert_eq!(after.client_id, before.client_id);
    assert_eq!(client.usage().calls_by_kind.auth, 1);
}

#[tokio::test]
async fn rate_limit_opens_a_shared_window() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = connected(&sim, dir.path()).await;
    sim.set_fleet_rate_limit(Some(FleetRateLimit {
        style: RetryStyle::Seconds,
        secs: 30,
        times: 1,
    }));
    match client.fetch(DataKind::Soe).await {
        Err(GatewayError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Duration::from_secs(30));
        }
        other => panic!("expected 429, got {other:?}"),
    }
    let sent = sim.counter().api_total;
    // During the window, cache-missing reads fail at once, concurrently, without a request.
    let tasks: Vec<_> = [
        DataKind::Soe,
        DataKind::Status,
        DataKind::SystemStatus,
        DataKind::Soe,
    ]
    .into_iter()
    .map(|kind| {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.fetch(kind).await })
    })
    .collect();
    for task in tasks {
        let outcome = task.await.expect("joins");
        assert!(
            matches!(outcome, Err(GatewayError::CoolingDown { .. })),
            "{outcome:?}"
        );
    }
    assert_eq!(sim.counter().api_total, sent);
    clock.advance(Duration::from_secs(31));
    client.fetch(DataKind::Soe).await.expect("after the window");

    // The other ways Tesla names the delay.
    for (style, secs, lowest) in [
        (RetryStyle::HttpDate, 40, 38),
        (RetryStyle::Body, 20, 20),
        (RetryStyle::Unnamed, 0, 10),
        (RetryStyle::Seconds, 600, 60),
    ] {
        clock.advance(Duration::from_secs(61));
        sim.set_fleet_rate_limit(Some(FleetRateLimit {
            style,
            secs,
            times: 1,
        }));
        match client.fetch(DataKind::SiteName).await {
            Err(GatewayError::RateLimited { retry_after, .. }) => {
                let got = retry_after.as_secs();
                let highest = if style == RetryStyle::Unnamed {
                    10
                } else {
                    secs.min(60)
                };
                assert!((lowest..=highest).contains(&got), "{style:?}: {got}");
            }
            other => panic!("{style:?}: expected 429, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn concurrent_identical_reads_send_one_request() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = connected(&sim, dir.path()).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.fetch(DataKind::Soe).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins").expect("soe");
    }
    assert_eq!(count(&sim, "/live_status"), 1);
}

#[tokio::test]
async fn wrong_region_and_unknown_site_are_clear_errors() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    write_token_file(&sim, dir.path());
    let client = FleetClient::new(FleetConfig {
        api_url: sim.fleet_url("eu"),
        ..config(&sim, dir.path())
    })
    .expect("client");
    let error = client
        .connect()
        .await
        .expect_err("wrong region")
        .to_string();
    assert!(
        error.contains("412") && error.contains("user out of region"),
        "{error}"
    );
    // The base URL Tesla names is a usable one: host with port (HTTP/2 carries it as :authority).
    let right_base = sim.fleet_url("na").expect("fleet listener");
    assert!(
        error.contains(right_base.trim_end_matches('/')),
        "{error} should name {right_base}"
    );

    let client = FleetClient::new(FleetConfig {
        site_id: Some(7),
        ..config(&sim, dir.path())
    })
    .expect("client");
    let error = client
        .connect()
        .await
        .expect_err("unknown site")
        .to_string();
    assert!(error.contains("energy site 7"), "{error}");
}

#[tokio::test]
async fn forced_http1_speaks_http1() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    write_token_file(&sim, dir.path());
    let forced = FleetClient::new(FleetConfig {
        force_http1: true,
        ..config(&sim, dir.path())
    })
    .expect("client");
    forced
        .fetch(DataKind::SiteName)
        .await
        .expect("HTTP/1.1 read");
    // With HTTP/1.1 refused, the forced client is refused and the default one is not.
    sim.set_cloud_knobs(CloudKnobs {
        reject_http1: true,
        ..CloudKnobs::default()
    });
    let refused = forced.fetch(DataKind::Soe).await;
    assert!(
        matches!(refused, Err(GatewayError::Unauthorized { status: 403, .. })),
        "{refused:?}"
    );
    let default = FleetClient::new(config(&sim, dir.path())).expect("client");
    default.fetch(DataKind::Soe).await.expect("HTTP/2 read");
}

#[tokio::test]
async fn settings_are_read_less_often_than_live_values() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = connected(&sim, dir.path()).await;
    client
        .fetch(DataKind::SystemStatus)
        .await
        .expect("first read");
    let (live, info, status) = (
        count(&sim, "/live_status"),
        count(&sim, "/site_info"),
        count(&sim, "/site_status"),
    );
    // Past the live TTL (and its jitter), within the settings TTL: only live_status is re-read.
    clock.advance(Duration::from_secs(16));
    client
        .fetch(DataKind::SystemStatus)
        .await
        .expect("second read");
    assert_eq!(count(&sim, "/live_status"), live + 1);
    assert_eq!(count(&sim, "/site_info"), info);
    assert_eq!(count(&sim, "/site_status"), status);
    // Past the settings TTL: everything is read again.
    clock.advance(powerwall_gateway::fleet::DEFAULT_SETTINGS_TTL);
    client
        .fetch(DataKind::SystemStatus)
        .await
        .expect("third read");
    assert_eq!(count(&sim, "/site_info"), info + 1);
    assert_eq!(count(&sim, "/site_status"), status + 1);
}
