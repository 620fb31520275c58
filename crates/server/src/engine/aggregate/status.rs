//! `GatewayStatus` (server-api §2.8): one gateway's identity, data and link state, in the
//! degradation view of §3.5.

use powerwall_gateway::{AccessMode, DataKind, UpstreamStats};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::{GatewayView, Servable, app_scale_clamped, epoch, number, round2};
use crate::engine::render::route_json;
use crate::engine::snapshot::{LinkHealth, LinkState};
use crate::settings::Presentation;

use DataKind::{
    Aggregates, GridStatus, Powerwalls, SiteInfo, SolarPowerwall, Status, SystemStatus, Vitals,
};

/// The gateway's own numbers: negative solar kept, no site threshold (those knobs shape the
/// legacy single-gateway routes only, and none of the reused renderers reads them).
const RAW: Presentation = Presentation {
    neg_solar: true,
    site_zero_threshold_w: 0,
};

/// `GatewayStatus` of one gateway at `now` (server-api §2.8; the degradation view of §3.5).
///
/// `data` holds what is servable at `now` (`null` without servable meter aggregates) and a
/// `freshness` map saying, per source document, when it was read and whether it is stale.
pub fn gateway_status(view: &GatewayView<'_>, now: Instant) -> Value {
    let servable = view.servable(now);
    let online = view.is_online(&servable);
    let error = link_error(view);
    let data = if servable.aggregates().is_some() {
        powerwall_data(view, &servable, now)
    } else {
        Value::Null
    };
    let mut status = Map::new();
    status.insert("gateway".into(), gateway_json(view, online));
    status.insert("data".into(), data);
    status.insert("online".into(), Value::Bool(online));
    status.insert("last_updated".into(), number(servable.fetched(Aggregates)));
    status.insert("error".into(), error.map_or(Value::Null, Value::from));
    Value::Object(status)
}

/// The status `error`: `Initializing...` before the first answer, the link's last error while it
/// is not connected, else nothing.
fn link_error(view: &GatewayView<'_>) -> Option<String> {
    let health = &view.snapshot.health;
    match health.state {
        LinkState::Starting => Some("Initializing...".to_owned()),
        LinkState::Connected => None,
        state => Some(public_error(health).unwrap_or_else(|| {
            match state {
                LinkState::LoginFailed => "Login failed",
                LinkState::CoolingDown => "Cooling down at the gateway's request",
                _ => "Gateway unreachable",
            }
            .to_owned()
        })),
    }
}

/// Hours the battery lasts at the current load (`get_time_remaining()`): remaining energy (Wh)
/// over home load (W); `null` without both or without load.
fn time_remaining_hours(remaining_wh: Option<f64>, load_w: Option<f64>) -> Value {
    match (remaining_wh, load_w) {
        (Some(remaining), Some(load)) if load > 0.0 => number(Some(remaining / load)),
        _ => Value::Null,
    }
}

/// The link's last error as API clients see it (the public form when the poller recorded one).
fn public_error(health: &LinkHealth) -> Option<String> {
    health
        .last_public_error
        .clone()
        .or_else(|| health.last_error.clone())
}

/// The `Gateway` object: configuration facts only, never a credential.
fn gateway_json(view: &GatewayView<'_>, online: bool) -> Value {
    let info = view.info;
    let (host, port) = split_target(&info.target);
    let last_error = match view.snapshot.health.state {
        LinkState::Connected => None,
        _ => public_error(&view.snapshot.health),
    };
    let mut gateway = Map::new();
    gateway.insert("id".into(), Value::from(info.id.clone()));
    gateway.insert("name".into(), Value::from(info.name.clone()));
    gateway.insert("host".into(), Value::from(host));
    gateway.insert("port".into(), port.map_or(Value::Null, Value::from));
    // The RSA key is what v1r signs with; no other mode has one.
    gateway.insert(
        "rsa_key_configured".into(),
        Value::Bool(info.mode == AccessMode::V1r),
    );
    gateway.insert("wifi_host".into(), Value::Null);
    gateway.insert(
        "site_id".into(),
        info.site_id.clone().map_or(Value::Null, Value::from),
    );
    gateway.insert("timezone".into(), Value::from(info.timezone.clone()));
    gateway.insert("basic_lan".into(), Value::Bool(false));
    gateway.insert(
        "tedapi_expected".into(),
        Value::Bool(tedapi_mode(info.mode).is_some()),
    );
    gateway.insert(
        "cloud_mode".into(),
        Value::Bool(info.mode == AccessMode::Cloud),
    );
    gateway.insert(
        "fleetapi".into(),
        Value::Bool(info.mode == AccessMode::Fleet),
    );
    gateway.insert("type".into(), Value::from(info.kind.name()));
    gateway.insert("online".into(), Value::Bool(online));
    gateway.insert(
        "last_error".into(),
        last_error.map_or(Value::Null, Value::from),
    );
    gateway.insert("mode".into(), Value::from(info.mode.name()));
    gateway.insert("capabilities".into(), info.capabilities.to_json());
    gateway.insert(
        "poll_interval_s".into(),
        number(Some(info.poll_interval.as_secs_f64())),
    );
    gateway.insert(
        "last_success".into(),
        number(view.snapshot.health.last_success_wall.and_then(epoch)),
    );
    gateway.insert(
        "upstream".into(),
        upstream_json(&view.snapshot.health.upstream),
    );
    Value::Object(gateway)
}

/// Requests this server sent to the gateway since start (the console derives a rate from two
/// readings): `{"requests", "logins", "errors"}`.
fn upstream_json(upstream: &UpstreamStats) -> Value {
    let mut counts = Map::new();
    counts.insert("requests".into(), Value::from(upstream.requests));
    counts.insert("logins".into(), Value::from(upstream.logins));
    counts.insert("errors".into(), Value::from(upstream.errors));
    Value::Object(counts)
}

/// `host[:port]` split into the host (IPv6 brackets kept) and the port, when one is given.
pub(super) fn split_target(target: &str) -> (String, Option<u16>) {
    if let Some((host, port)) = target.rsplit_once(':')
        // A bare IPv6 address has colons but no port; a bracketed one ends in `]` before it.
        && (!host.contains(':') || host.ends_with(']'))
        && let Ok(port) = port.parse::<u16>()
    {
        return (host.to_owned(), Some(port));
    }
    (target.to_owned(), None)
}

/// The TEDAPI flavour of a mode (`full`, `hybrid`, `v1r`), `None` without TEDAPI.
fn tedapi_mode(mode: AccessMode) -> Option<&'static str> {
    match mode {
        AccessMode::TedapiFull => Some("full"),
        AccessMode::TedapiHybrid => Some("hybrid"),
        AccessMode::V1r => Some("v1r"),
        AccessMode::Local | AccessMode::Cloud | AccessMode::Fleet => None,
    }
}

/// The proxy's connection label of a mode.
fn connection_mode(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::Local => "Local",
        AccessMode::TedapiFull | AccessMode::TedapiHybrid => "TEDAPI",
        AccessMode::V1r => "TEDAPI v1r",
        AccessMode::Cloud => "Cloud",
        AccessMode::Fleet => "FleetAPI",
    }
}

/// `PowerwallData` from the servable documents; `null` for what this mode does not provide.
///
/// Sources: `aggregates`, `timestamp` ← meter aggregates; `vitals`, `temps`, `pw3` ← vitals;
/// `strings` ← vitals or `/api/solar_powerwall`; `alerts` ← vitals, grid status and
/// `/api/solar_powerwall`; `freq` ← system status, vitals, grid status; `grid_status`,
/// `grid_status_detail` ← grid status; `reserve`, `mode` ← operation; `soe_raw`, `soe` ← SOE;
/// `system_status` ← system status; `time_remaining` ← pack energy and load; `din`,
/// `uptime`, `version`, `status` ← `/api/status`; `site_name` ← site name; `site_info`,
/// `powerwalls`, `fan_speeds` ← their documents. `freshness` tells which are stale.
fn powerwall_data(view: &GatewayView<'_>, servable: &Servable, now: Instant) -> Value {
    let documents = servable.documents();
    let rendered = |route: &str| route_json(route, &documents, &RAW).unwrap_or(Value::Null);
    let raw = |kind: DataKind| servable.json(kind).cloned().unwrap_or(Value::Null);
    // Values the typed readings carry come from them, by the same servability rules.
    let readings = &view.snapshot.readings;
    let graceful = view.freshness.graceful_degradation;
    let status = readings.status.at(now, graceful).value;
    let status_field = |read: fn(&powerwall_model::GatewayStatus) -> Option<&String>| {
        status
            .and_then(read)
            .map_or(Value::Null, |text| Value::from(text.as_str()))
    };
    let soe_raw = readings
        .soe
        .at(now, graceful)
        .value
        .map(|soe| soe.raw_pct)
        .filter(|raw| raw.is_finite());
    let operation = readings.operation.at(now, graceful).value;
    let reserve = operation
        .and_then(|operation| operation.reserve_app_pct())
        .map(round2);
    let mode = view.info.mode;

    let mut data = Map::new();
    data.insert("aggregates".into(), raw(Aggregates));
    data.insert("vitals".into(), rendered("/vitals"));
    data.insert("strings".into(), rendered("/strings"));
    data.insert("alerts".into(), rendered("/alerts"));
    data.insert("temps".into(), rendered("/temps"));
    data.insert(
        "grid_status".into(),
        readings
            .grid
            .at(now, graceful)
            .value
            .and_then(|grid| grid.state.as_updown())
            .map_or(Value::Null, Value::from),
    );
    data.insert("grid_status_detail".into(), raw(GridStatus));
    data.insert("reserve".into(), number(reserve));
    data.insert(
        "time_remaining".into(),
        time_remaining_hours(
            readings
                .system_status
                .at(now, graceful)
                .value
                .and_then(|status| status.energy_remaining_wh),
            readings
                .aggregates
                .at(now, graceful)
                .value
                .and_then(powerwall_model::Aggregates::load_w),
        ),
    );
    data.insert("system_status".into(), raw(SystemStatus));
    data.insert("fan_speeds".into(), rendered("/fans"));
    data.insert("networks".into(), Value::Null);
    data.insert("powerwalls".into(), raw(Powerwalls));
    data.insert("meters".into(), Value::Null);
    data.insert("solars".into(), Value::Null);
    data.insert("solar_powerwall".into(), raw(SolarPowerwall));
    data.insert("soe_raw".into(), number(soe_raw));
    data.insert(
        "soe".into(),
        number(soe_raw.map(|raw| round2(app_scale_clamped(raw)))),
    );
    data.insert("freq".into(), rendered("/freq"));
    data.insert("din".into(), status_field(|status| status.din.as_ref()));
    data.insert(
        "uptime".into(),
        status_field(|status| status.up_time_seconds.as_ref()),
    );
    data.insert(
        "version".into(),
        status_field(|status| status.version.as_ref()),
    );
    data.insert("status".into(), raw(Status));
    data.insert("device_type".into(), Value::Null);
    data.insert(
        "site_name".into(),
        readings
            .site_name
            .at(now, graceful)
            .value
            .and_then(|site| site.site_name.as_deref())
            .map_or(Value::Null, Value::from),
    );
    data.insert("site_info".into(), raw(SiteInfo));
    data.insert(
        "mode".into(),
        operation
            .and_then(|operation| operation.real_mode.as_deref())
            .map_or(Value::Null, Value::from),
    );
    // Grid charging and export live in the TEDAPI config or the cloud, which no poll reads yet.
    data.insert("grid_charging".into(), Value::Null);
    data.insert("grid_export".into(), Value::Null);
    data.insert("pw3".into(), pw3(mode, servable.json(Vitals)));
    data.insert(
        "tedapi_mode".into(),
        tedapi_mode(mode).map_or(Value::Null, Value::from),
    );
    data.insert("connection_mode".into(), Value::from(connection_mode(mode)));
    data.insert("tedapi_config".into(), Value::Null);
    data.insert("timestamp".into(), number(servable.fetched(Aggregates)));
    data.insert("freshness".into(), servable.freshness_json());
    Value::Object(data)
}

/// Powerwall 3 hardware: its inverter vitals (`TEPINV--…`) carry `PCH_*` signals, a Powerwall 2's
/// do not; the local API exists only on Powerwall 2/+; otherwise unknown (`null`).
fn pw3(mode: AccessMode, vitals: Option<&Value>) -> Value {
    match vitals.and_then(Value::as_object) {
        Some(devices) => Value::Bool(devices.iter().any(|(device, block)| {
            device.starts_with("TEPINV--")
                && block
                    .as_object()
                    .is_some_and(|signals| signals.keys().any(|key| key.starts_with("PCH_")))
        })),
        None if mode == AccessMode::Local => Value::Bool(false),
        None => Value::Null,
    }
}
