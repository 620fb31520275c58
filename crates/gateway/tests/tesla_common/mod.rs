//! What the Owner API and Fleet API client tests share: the simulator, request counts and the
//! checks both Tesla clients must pass against its model (one body, two clients).

#![allow(dead_code)]

use powerwall_gateway::{DataKind, GatewayAccess, GatewayError};
use powerwall_simulator::{SimulatorConfig, SimulatorHandle, start};
use serde_json::Value;

/// A simulator with its clock frozen (readings stay put between two reads).
pub async fn simulator() -> SimulatorHandle {
    start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Requests whose `METHOD /path` key contains `needle`.
pub fn count(sim: &SimulatorHandle, needle: &str) -> u64 {
    sim.counter()
        .by_path
        .iter()
        .filter(|(key, _)| key.contains(needle))
        .map(|(_, n)| *n)
        .sum()
}

/// Equal within float noise.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The reads every Tesla client maps to the same local-API shapes: power per meter, mode, grid
/// state, gateway identity and firmware, site name, vitals; no fan speeds in the cloud.
pub async fn assert_reads_match_the_model(client: &dyn GatewayAccess, sim: &SimulatorHandle) {
    let reading = sim.reading();
    let aggregates = client
        .fetch(DataKind::Aggregates)
        .await
        .expect("aggregates");
    for (section, want) in [
        ("site", reading.site_w),
        ("battery", reading.battery_w),
        ("load", reading.home_w),
        ("solar", reading.solar_w),
    ] {
        assert_eq!(
            aggregates[section]["instant_power"].as_f64(),
            Some(want),
            "{section}"
        );
    }
    let operation = client.fetch(DataKind::Operation).await.expect("operation");
    assert_eq!(operation["real_mode"], reading.real_mode.as_str());
    let grid = client.fetch(DataKind::GridStatus).await.expect("grid");
    assert_eq!(grid["grid_status"], "SystemGridConnected");
    let status = client.fetch(DataKind::Status).await.expect("status");
    assert_eq!(status["din"], "1232100-00-E--TG123456789ABC");
    assert_eq!(status["version"], reading.firmware.as_str());
    let name = client.fetch(DataKind::SiteName).await.expect("name");
    assert_eq!(name["site_name"], "My Home");
    let vitals = client.fetch(DataKind::Vitals).await.expect("vitals");
    assert!(vitals.get("STSTSM--1232100-00-E--TG123456789ABC").is_some());
    assert!(matches!(
        client.fetch(DataKind::FanSpeeds).await,
        Err(GatewayError::Unsupported { .. })
    ));
}

/// After a reserve-50 (app scale) and `mode` write: the gateway holds raw 52.5 and the mode, and
/// the client's operation document reads both back.
pub async fn assert_operation_written(
    client: &dyn GatewayAccess,
    sim: &SimulatorHandle,
    mode: &str,
) {
    let reading = sim.reading();
    assert!(
        close(reading.reserve_raw_pct, 52.5),
        "{}",
        reading.reserve_raw_pct
    );
    assert_eq!(reading.real_mode, mode);
    let operation: Value = client.fetch(DataKind::Operation).await.expect("read-back");
    assert_eq!(operation["real_mode"], mode);
    assert!(close(
        operation["backup_reserve_percent"].as_f64().expect("n"),
        52.5
    ));
}
