//! The one table of every route the server serves: `/openapi.json` and `/docs` are generated from
//! it, and tests hold it against the routers' own lists (and a running server), so the
//! documentation cannot drift from the code.

use super::super::passthrough::api::ALLOWLIST;

/// How a route is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// A plain read.
    Get,
    /// A write with a form (or JSON) body.
    Post,
    /// A WebSocket upgrade (a GET with `Upgrade: websocket`); OpenAPI describes it in text only.
    WebSocket,
}

/// What a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `application/json`.
    Json,
    /// `text/plain` CSV lines.
    Csv,
    /// `text/html`.
    Html,
    /// A static file (CSS, JS, SVG).
    Asset,
    /// Whatever the gateway answers (the web catch-all and passthrough).
    Gateway,
    /// JSON text frames over a WebSocket.
    Stream,
}

/// One documented route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDoc {
    /// How it is called.
    pub verb: Verb,
    /// The path, parameters in braces (`{id}`); `{path}` may hold slashes.
    pub path: &'static str,
    /// The group it is listed under.
    pub tag: &'static str,
    /// One line on what it answers.
    pub summary: &'static str,
    /// The kind of body.
    pub answer: Answer,
}

impl RouteDoc {
    /// The path's parameter names, in order.
    pub fn parameters(&self) -> Vec<&'static str> {
        self.path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }
}

/// Tag: our web pages, their files and the API docs.
pub const UI: &str = "Web UI and docs";
/// Tag: the legacy proxy's power and battery routes.
pub const POWER: &str = "Power and battery";
/// Tag: the legacy proxy's device data routes.
pub const DEVICES: &str = "Devices";
/// Tag: the `/pw/*` convenience routes.
pub const PW: &str = "Convenience (/pw)";
/// Tag: gateway API passthrough.
pub const PASSTHROUGH: &str = "Gateway passthrough";
/// Tag: TEDAPI, cloud and Fleet API families.
pub const FAMILIES: &str = "TEDAPI, cloud, Fleet API";
/// Tag: control.
pub const CONTROL: &str = "Control";
/// Tag: health, stats and help.
pub const ADMIN: &str = "Health and stats";
/// Tag: the multi-gateway API.
pub const GATEWAYS: &str = "Gateways";
/// Tag: the cross-gateway aggregate.
pub const AGGREGATE: &str = "Aggregate";
/// Tag: WebSocket streams.
pub const STREAMS: &str = "WebSockets";

use Answer::{Asset, Csv, Gateway, Html, Json, Stream};
use Verb::{Get, Post, WebSocket};

const fn row(
    verb: Verb,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    answer: Answer,
) -> RouteDoc {
    RouteDoc {
        verb,
        path,
        tag,
        summary,
        answer,
    }
}

/// The hand-written rows; [`routes`] adds the generated ones (passthrough, `/pw/*`, assets).
#[rustfmt::skip]
const ROWS: &[RouteDoc] = &[
    row(Get, "/", UI, "Power-flow page (`?style=<theme>`)", Html),
    row(Get, "/index.html", UI, "Power-flow page (same as `/`)", Html),
    row(Get, "/console", UI, "Live console: summary, gateways, Powerwalls, strings, trend, control", Html),
    row(Get, "/example", UI, "Iframe example page", Html),
    row(Get, "/example.html", UI, "Iframe example page", Html),
    row(Get, "/docs", UI, "This API documentation, rendered in the browser", Html),
    row(Get, "/openapi.json", UI, "The OpenAPI 3.0 document of every route", Json),
    row(Get, "/aggregates", POWER, "Meter aggregates (site, battery, load, solar)", Json),
    row(Get, "/api/meters/aggregates", POWER, "Meter aggregates (same as `/aggregates`)", Json),
    row(Get, "/soe", POWER, "Battery level, Tesla app scale", Json),
    row(Get, "/api/system_status/soe", POWER, "Battery level as the gateway reports it", Json),
    row(Get, "/api/system_status/grid_status", POWER, "Grid status document", Json),
    row(Get, "/csv", POWER, "Grid, home, solar, battery, level as one CSV line (`?headers`)", Csv),
    row(Get, "/csv/v2", POWER, "`/csv` plus grid status and reserve (`?headers`)", Csv),
    row(Get, "/json", POWER, "Powers, level, grid status, reserve, time remaining, strings", Json),
    row(Get, "/freq", POWER, "Frequencies, voltages and grid state per device", Json),
    row(Get, "/pod", POWER, "Per-Powerwall energy, state and power", Json),
    row(Get, "/version", ADMIN, "Firmware version and its integer form", Json),
    row(Get, "/vitals", DEVICES, "Device vitals (pretty, sorted)", Json),
    row(Get, "/strings", DEVICES, "Solar strings", Json),
    row(Get, "/temps", DEVICES, "Temperatures per device", Json),
    row(Get, "/temps/pw", DEVICES, "Temperatures per Powerwall (`PW1_temp`…)", Json),
    row(Get, "/alerts", DEVICES, "Active alerts", Json),
    row(Get, "/alerts/pw", DEVICES, "Active alerts as a map (`alert: 1`)", Json),
    row(Get, "/fans", DEVICES, "Fan speeds per device", Json),
    row(Get, "/fans/pw", DEVICES, "Fan speeds per Powerwall (`PW1_fan_speed_actual`…)", Json),
    row(Get, "/pw/", PW, "`{\"error\": \"Invalid Request\"}` (a `/pw/` name is required)", Json),
    row(Get, "/tedapi", FAMILIES, "TEDAPI index (TEDAPI modes)", Json),
    row(Get, "/tedapi/", FAMILIES, "TEDAPI index (TEDAPI modes)", Json),
    row(Get, "/tedapi/config", FAMILIES, "TEDAPI configuration (TEDAPI modes)", Json),
    row(Get, "/tedapi/status", FAMILIES, "TEDAPI status (TEDAPI modes)", Json),
    row(Get, "/tedapi/components", FAMILIES, "TEDAPI components (TEDAPI modes)", Json),
    row(Get, "/tedapi/battery", FAMILIES, "TEDAPI battery blocks (TEDAPI modes)", Json),
    row(Get, "/tedapi/controller", FAMILIES, "TEDAPI controller (TEDAPI modes)", Json),
    row(Get, "/cloud/{path}", FAMILIES, "Cloud mode: raw Owner API objects `/cloud/battery`, `/cloud/power`, `/cloud/config` (\"not enabled\" in other modes)", Json),
    row(Get, "/fleetapi/{path}", FAMILIES, "Fleet API mode: `/fleetapi/info` (raw site_info), `/fleetapi/status` (raw live_status); \"FleetAPI not enabled\" in other modes", Json),
    row(Get, "/{path}", PASSTHROUGH, "Any other path: the gateway's own file, fetched without credentials (local mode)", Gateway),
    row(Get, "/control/reserve", CONTROL, "Backup reserve, percent (`PW_CONTROL_SECRET` enables control)", Json),
    row(Get, "/control/mode", CONTROL, "Operating mode", Json),
    row(Get, "/control/grid_charging", CONTROL, "Grid charging allowed", Json),
    row(Get, "/control/grid_export", CONTROL, "Grid export rule", Json),
    row(Get, "/control/max_backup", CONTROL, "Max-backup events (TEDAPI v1r)", Json),
    row(Get, "/control/status", CONTROL, "Control probe: `enabled`, `battery_dispatch`, `capabilities` {read, control_enabled, backend cloud|fleetapi|local|null, reserve, mode, grid_charging, grid_export, reserve_scale app|raw|null}", Json),
    row(Post, "/control/{action}", CONTROL, "Write reserve, mode, grid_charging, grid_export or max_backup: form `value=…&token=…`", Json),
    row(Get, "/health", ADMIN, "Proxy health and the gateway link, `capabilities`, the hybrid `cloud_control` link and, for Fleet API links, `fleet_api` (calls, projected monthly cost, back-off window)", Json),
    row(Get, "/health/reset", ADMIN, "Reset the health counters", Json),
    row(Get, "/stats", ADMIN, "Request and gateway statistics", Json),
    row(Get, "/stats/clear", ADMIN, "Clear the request statistics", Json),
    row(Get, "/help", ADMIN, "The statistics as an HTML page", Html),
    row(Get, "/api/gateways/", GATEWAYS, "Every gateway's status, by id (`/api/gateways` too)", Json),
    row(Get, "/api/gateways/{id}", GATEWAYS, "One gateway's status: identity (`cloud_mode`, `site_id`, `capabilities`), data, link, upstream counts", Json),
    row(Get, "/api/gateways/{id}/vitals", GATEWAYS, "One gateway's vitals", Json),
    row(Get, "/api/gateways/{id}/strings", GATEWAYS, "One gateway's solar strings", Json),
    row(Get, "/api/gateways/{id}/aggregates", GATEWAYS, "One gateway's meter aggregates", Json),
    row(Get, "/api/gateways/{id}/api/{path}", GATEWAYS, "One gateway's `/api/<path>` (the passthrough allowlist)", Json),
    row(Post, "/api/gateways/{id}/api/{path}", GATEWAYS, "Write to one gateway's `/api/<path>` (control token in `Authorization`)", Json),
    row(Get, "/api/gateways/{id}/control/{action}", GATEWAYS, "One gateway's `/control/<action>` read", Json),
    row(Post, "/api/gateways/{id}/control/{action}", GATEWAYS, "One gateway's `/control/<action>` write (form `value=…&token=…`)", Json),
    row(Get, "/gw/{id}/{path}", GATEWAYS, "Any legacy route of one gateway, e.g. `/gw/{id}/aggregates`", Json),
    row(Get, "/api/aggregate/", AGGREGATE, "Totals over every gateway with per-gateway statuses (`/api/aggregate` too)", Json),
    row(Get, "/api/aggregate/power", AGGREGATE, "Summed powers, W", Json),
    row(Get, "/api/aggregate/soe", AGGREGATE, "Energy-weighted battery level", Json),
    row(Get, "/api/aggregate/battery", AGGREGATE, "Battery level, capacity and power", Json),
    row(Get, "/api/aggregate/strings", AGGREGATE, "Solar strings by gateway", Json),
    row(Get, "/api/aggregate/alerts", AGGREGATE, "Alerts by gateway", Json),
    row(Get, "/api/aggregate/vitals", AGGREGATE, "Vitals by gateway", Json),
    row(WebSocket, "/ws/aggregate", STREAMS, "The aggregate on connect and on every change (at most 1/s); `?view=summary` leaves out per-gateway statuses", Stream),
    row(WebSocket, "/ws/gateway/{id}", STREAMS, "One gateway's status on connect and on every change (at most 1/s)", Stream),
];

/// The 25 `/pw/<name>` routes (proxy-api §6.4), each a field of the pypowerwall library.
pub const PW_PATHS: [&str; 25] = [
    "/pw/level",
    "/pw/power",
    "/pw/site",
    "/pw/solar",
    "/pw/battery",
    "/pw/battery_blocks",
    "/pw/load",
    "/pw/grid",
    "/pw/home",
    "/pw/vitals",
    "/pw/temps",
    "/pw/strings",
    "/pw/din",
    "/pw/uptime",
    "/pw/version",
    "/pw/status",
    "/pw/system_status",
    "/pw/grid_status",
    "/pw/aggregates",
    "/pw/site_name",
    "/pw/alerts",
    "/pw/is_connected",
    "/pw/get_reserve",
    "/pw/get_mode",
    "/pw/get_time_remaining",
];

/// Every route, in the order the documentation lists them.
pub fn routes() -> Vec<RouteDoc> {
    let mut all: Vec<RouteDoc> = ROWS.to_vec();
    all.extend(
        PW_PATHS
            .iter()
            .map(|path| row(Get, path, PW, "One pypowerwall library value", Json)),
    );
    // A few allowlisted paths are also data routes of their own (served from the poll).
    let listed: Vec<&str> = ROWS.iter().map(|route| route.path).collect();
    all.extend(
        ALLOWLIST
            .iter()
            .filter(|path| !listed.contains(path))
            .map(|path| {
                row(
                    Get,
                    path,
                    PASSTHROUGH,
                    "The gateway's document (polled copy or on-demand cache)",
                    Json,
                )
            }),
    );
    all.extend(
        super::super::ui::asset_paths()
            .map(|path| row(Get, path, UI, "A file of our pages, compiled in", Asset)),
    );
    all
}
