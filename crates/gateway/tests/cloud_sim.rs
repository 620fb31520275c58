//! Cloud mode (Owner API) against the simulator's Tesla SSO and Owner API personas, on loopback
//! only: logins, reads in local shapes equal to the model, writes with read-back, token refresh,
//! cold-start refusal, stale-site recovery, 429 back-off and single flight.

use std::sync::Arc;
use std::time::Duration;

use powerwall_gateway::cloud::{CloudClient, CloudConfig, files, transport};
use powerwall_gateway::policy::ManualClock;
use powerwall_gateway::{
    DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule, OperationMode,
    ReserveLevel, Secret,
};
use powerwall_simulator::{CloudKnobs, FaultSpec, SimulatorHandle};

mod tesla_common;
use tesla_common::{
    assert_operation_written, assert_reads_match_the_model, close, count, simulator,
};

const EMAIL: &str = "me@example.com";

fn config(sim: &SimulatorHandle, dir: &std::path::Path) -> CloudConfig {
    let url = sim.cloud_url().expect("cloud listener");
    CloudConfig {
        auth_url: url.clone(),
        owner_api_url: url,
        ca_pem: sim.cloud_ca_pem(),
        ..CloudConfig::new(EMAIL, dir)
    }
}

/// A client on a manual clock (its cache TTLs and back-off windows move only when told).
fn client(sim: &SimulatorHandle, dir: &std::path::Path) -> (Arc<CloudClient>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let client = CloudClient::with_clock(config(sim, dir), clock.clone()).expect("client");
    (Arc::new(client), clock)
}

/// Logs in with pasted (bootstrapped) tokens and connects.
async fn logged_in(
    sim: &SimulatorHandle,
    dir: &std::path::Path,
) -> (Arc<CloudClient>, Arc<ManualClock>) {
    let (client, clock) = client(sim, dir);
    let tokens = sim.mint_cloud_tokens(true);
    client
        .login_with_tokens(
            Secret::new(tokens.refresh_token),
            Some(Secret::new(tokens.access_token)),
        )
        .expect("tokens saved");
    client.connect().await.expect("connects");
    (client, clock)
}

#[tokio::test]
async fn login_with_pasted_redirect_over_http2_then_reads() {
    let sim = simulator().await;
    // Tesla refuses HTTP/1.1: passing with this knob on proves the client negotiated h2.
    sim.set_cloud_knobs(CloudKnobs {
        reject_http1: true,
        ..CloudKnobs::default()
    });
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = client(&sim, dir.path());
    let request = client.authorize_request().expect("authorize URL");
    assert!(request.url.contains("code_challenge_method=S256"));
    // The user's browser: follow the authorize URL without following the redirect.
    let http = transport::cloud_client(Duration::from_secs(5), sim.cloud_ca_pem().as_deref())
        .expect("http");
    let answer = http.get(&request.url).send().await.expect("authorize");
    assert_eq!(answer.status().as_u16(), 302);
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    let location = answer.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(location.starts_with("https://auth.tesla.com/void/callback?code="));
    let email = client
        .login_with_code(&request, &location)
        .await
        .expect("code exchange");
    assert_eq!(email, EMAIL);
    let stored = files::read_auth(dir.path(), EMAIL)
        .expect("read")
        .expect("entry");
    assert!(!stored.tokens.access_token.is_empty() && !stored.tokens.refresh_token.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(files::auth_path(dir.path()))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    client.connect().await.expect("connects");
    let soe = client.fetch(DataKind::Soe).await.expect("soe");
    let percentage = soe["percentage"].as_f64().expect("number");
    assert!(close(percentage, sim.reading().soe_raw_pct), "{percentage}");
    // The wrong state is refused before anything is sent.
    let other = client.authorize_request().expect("second URL");
    assert!(client.login_with_code(&other, &location).await.is_err());
}

#[tokio::test]
async fn reads_match_the_model_in_local_shapes() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = logged_in(&sim, dir.path()).await;
    assert_reads_match_the_model(client.as_ref(), &sim).await;
    let reading = sim.reading();
    let operation = client.fetch(DataKind::Operation).await.expect("operation");
    let reserve = operation["backup_reserve_percent"]
        .as_f64()
        .expect("reserve");
    assert!(close(reserve, reading.reserve_raw_pct), "{reserve}");
    let system = client.fetch(DataKind::SystemStatus).await.expect("system");
    assert_eq!(
        system["nominal_full_pack_energy"].as_f64(),
        Some(reading.nominal_full_pack_energy_wh)
    );
    assert_eq!(
        sim.cloud_site_id(),
        client.selected_site().expect("site").id
    );
    // site_info is cached: status, operation, name and vitals cost one call.
    assert_eq!(count(&sim, "/site_info"), 1);
    assert_eq!(client.upstream().requests, sim.counter().api_total);
}

#[tokio::test]
async fn control_writes_reach_the_model_and_read_back() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = logged_in(&sim, dir.path()).await;
    client
        .fetch(DataKind::Operation)
        .await
        .expect("warm the cache");
    let result = client
        .set_operation(ReserveLevel::whole(50), Some(OperationMode::Backup))
        .await
        .expect("write");
    assert_eq!(result["set_backup_reserve_percent"]["result"], "Updated");
    assert_eq!(result["set_operation"]["real_mode"], "backup");
    // The cloud takes app scale; the gateway (local API, /test/state) shows raw scale.
    assert_operation_written(client.as_ref(), &sim, "backup").await;

    assert!(client.grid_charging().await.expect("read"));
    client.set_grid_charging(false).await.expect("write");
    assert!(!client.grid_charging().await.expect("read-back"));
    client
        .set_grid_export(GridExportRule::PvOnly)
        .await
        .expect("write");
    assert_eq!(client.grid_export().await.expect("read-back"), "pv_only");
    assert_eq!(
        count(&sim, "POST /api/1/energy_sites/429124/grid_import_export"),
        2
    );

    // An empty answer is not a success, though the write happened.
    sim.set_cloud_knobs(CloudKnobs {
        write_empty_body: true,
        ..CloudKnobs::default()
    });
    assert!(client.set_grid_export(GridExportRule::Never).await.is_err());
    assert_eq!(client.grid_export().await.expect("read-back"), "never");
}

#[tokio::test]
async fn unauthorized_refreshes_once_and_retries() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = logged_in(&sim, dir.path()).await;
    client.fetch(DataKind::Soe).await.expect("first read");
    let before = client.upstream();
    sim.expire_cloud_access_tokens();
    clock.advance(Duration::from_secs(10));
    client
        .fetch(DataKind::Soe)
        .await
        .expect("read after refresh");
    let after = client.upstream();
    assert_eq!(after.logins - before.logins, 1);
    // 401, refresh, retry.
    assert_eq!(after.requests - before.requests, 3);
    assert_eq!(count(&sim, "POST /oauth2/v3/token"), 1);
    // The rotated tokens were saved.
    let stored = files::read_auth(dir.path(), EMAIL)
        .expect("read")
        .expect("entry");
    assert!(
        stored
            .tokens
            .refresh_token
            .expose()
            .starts_with("sim-refresh-")
    );
}

#[tokio::test]
async fn expired_token_on_the_simulation_clock_is_refreshed() {
    let sim = simulator().await;
    sim.set_cloud_knobs(CloudKnobs {
        token_lifetime_secs: 600,
        rotate_refresh_token: false,
        ..CloudKnobs::default()
    });
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = logged_in(&sim, dir.path()).await;
    client
        .fetch(DataKind::GridStatus)
        .await
        .expect("first read");
    sim.advance_clock(700.0).expect("advance");
    clock.advance(Duration::from_secs(10));
    client
        .fetch(DataKind::GridStatus)
        .await
        .expect("read after expiry");
    assert_eq!(client.upstream().logins, 1);
    // Without rotation the old refresh token is kept.
    sim.set_cloud_knobs(CloudKnobs {
        invalid_grant: true,
        ..CloudKnobs::default()
    });
    sim.expire_cloud_access_tokens();
    clock.advance(Duration::from_secs(10));
    let error = client
        .fetch(DataKind::GridStatus)
        .await
        .expect_err("refresh refused");
    assert!(
        matches!(error, GatewayError::LoginRejected { status: 400, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn cold_refresh_session_is_refused_with_403() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, _clock) = client(&sim, dir.path());
    let tokens = sim.mint_cloud_tokens(false);
    client
        .login_with_tokens(Secret::new(tokens.refresh_token.clone()), None)
        .expect("saved");
    let stored = files::read_auth(dir.path(), EMAIL)
        .expect("read")
        .expect("entry");
    assert_eq!(stored.tokens.expires_at, 0.0);
    let error = client.connect().await.expect_err("cold start refused");
    assert!(
        matches!(error, GatewayError::Unauthorized { status: 403, .. }),
        "{error:?}"
    );
    assert_eq!(
        client.upstream().logins,
        1,
        "the cold refresh itself was sent"
    );

    sim.set_cloud_knobs(CloudKnobs {
        cold_refresh_403: false,
        ..CloudKnobs::default()
    });
    let (fresh, _clock) = self::client(&sim, dir.path());
    fresh.connect().await.expect("accepted without the rule");
}

#[tokio::test]
async fn renumbered_site_is_recovered_and_persisted() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = logged_in(&sim, dir.path()).await;
    client.fetch(DataKind::Soe).await.expect("first read");
    let new_id = sim.renumber_cloud_site();
    clock.advance(Duration::from_secs(10));
    client.fetch(DataKind::Soe).await.expect("recovered");
    assert_eq!(client.selected_site().expect("site").id, new_id);
    assert_eq!(files::read_site(dir.path()), Some(new_id));
    // A second renumbering within a minute is not recovered (one recovery per 60 s).
    sim.renumber_cloud_site();
    clock.advance(Duration::from_secs(10));
    assert!(client.fetch(DataKind::Soe).await.is_err());
    clock.advance(Duration::from_secs(60));
    client
        .fetch(DataKind::Soe)
        .await
        .expect("recovered after the window");
}

#[tokio::test]
async fn rate_limit_opens_a_window_and_concurrent_reads_share_one_call() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().expect("dir");
    let (client, clock) = logged_in(&sim, dir.path()).await;
    // Concurrent readers of one endpoint share one upstream call.
    sim.add_fault(FaultSpec::delay("/api/1/energy_sites/*", 300).times(1))
        .expect("fault");
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.fetch(DataKind::Soe).await })
        })
        .collect();
    for reader in readers {
        reader.await.expect("task").expect("read");
    }
    assert_eq!(count(&sim, "/site_status"), 1);

    sim.add_fault(
        FaultSpec::status("/api/1/energy_sites/*", 429)
            .retry_after(30)
            .times(1),
    )
    .expect("fault");
    clock.advance(Duration::from_secs(10));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.fetch(DataKind::Soe).await })
        })
        .collect();
    for reader in readers {
        let error = reader.await.expect("task").expect_err("rate limited");
        assert!(
            matches!(
                error,
                GatewayError::RateLimited { .. } | GatewayError::CoolingDown { .. }
            ),
            "{error:?}"
        );
        assert_eq!(error.class(), powerwall_gateway::ErrorClass::CoolDown);
    }
    assert_eq!(count(&sim, "/site_status"), 2, "one 429 for eight readers");
    assert_eq!(client.cooldown_remaining(), Some(Duration::from_secs(30)));
    let held = client
        .fetch(DataKind::GridStatus)
        .await
        .expect_err("window open");
    assert!(held.was_held_back());
    assert_eq!(count(&sim, "/live_status"), 0);
    clock.advance(Duration::from_secs(31));
    client.fetch(DataKind::Soe).await.expect("after the window");
    assert_eq!(count(&sim, "/site_status"), 3);
}
