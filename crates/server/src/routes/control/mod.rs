//! Control routes: `/control/{reserve,mode,grid_charging,grid_export,max_backup}` (proxy-api §6.8).
//!
//! Off unless `PW_CONTROL_SECRET` is set. GETs read (no token, always 200); POSTs need the token
//! and write through the gateway's control backend (see `backend`): the Tesla cloud in cloud mode
//! or through a hybrid cloud connection, else the local API (local and TEDAPI hybrid modes:
//! reserve and mode via `POST /api/operation`). A gateway without a backend, or whose cloud link
//! does not connect, gets the reference's "Unable to connect to cloud mode - Run Setup" answer
//! before the token is checked. `/control/status` reports what can be controlled. Deviations from
//! t97, per §15: only `/control/<action>` (optionally `/`) is a control path; an unknown GET action
//! answers `Invalid Command Action`; the body must declare its `Content-Length`; the reserve is
//! checked against 0–100 up front; `grid_export` reads are valid JSON; statuses come from the code
//! path (the same statuses as §6.8.2). The token and the secret are never logged nor echoed.
//!
//! After a successful write the poller is asked to re-read `/api/operation` and the handler waits
//! (bounded) for that read, so a GET right after the POST shows the new value; grid settings are
//! read back from the cloud (whose write dropped its cached `site_info`). The observed values are
//! logged. The POST body stays exactly the backend's result (rule 49): no key is added, since
//! the result is the gateway's own document and not always an object.

mod backend;
mod command;
mod form;
pub(super) mod token;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use powerwall_gateway::{AccessMode, DataKind, OperationMode, RawBody, ReserveLevel};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{AppState, framing};
use crate::engine::EngineCommand;
use backend::Backend;
use command::{Action, Command, WriteKind, action_segment, decide};
use form::{BodyRefusal, ControlForm, declared_length};

/// Error text: control is off.
const DISABLED: &str = "Control Commands Disabled - Set PW_CONTROL_SECRET to enable";
/// Error text: the request could not be parsed.
const INVALID_REQUEST: &str = "Control Command Error: Invalid Request";
/// Error text: no backend can write in this mode.
const NO_BACKEND: &str = "Control Command Error: Unable to connect to cloud mode - Run Setup";
/// Key and text of a refused token.
const TOKEN_INVALID: &str = "Control Command Token Invalid";
/// Most snapshots inspected while waiting for the post-write read (bounds the loop).
const MAX_SNAPSHOTS_WAITED: usize = 1000;

/// The control routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/control", get(control_get).post(control_post))
        .route("/control/", get(control_get).post(control_post))
        .route("/control/{*rest}", get(control_get).post(control_post))
}

/// A control answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    fn error(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": message }),
        }
    }

    fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({ "unauthorized": TOKEN_INVALID }),
        }
    }

    /// Renders the reply (Python-style JSON, CORS header).
    fn into_response(self) -> Response {
        let mut response = framing::json(crate::json::to_python_bytes(&self.body));
        *response.status_mut() = self.status;
        response
    }
}

/// `/control/status` (server-api): `{"enabled", "battery_dispatch", "capabilities"}`, from
/// memory only; `battery_dispatch` needs TEDAPI v1r, which this build does not run.
fn control_status(state: &AppState) -> Value {
    json!({
        "enabled": state.settings().control.enabled(),
        "battery_dispatch": false,
        "capabilities": state.capabilities().to_json(),
    })
}

/// Whether the local API can write in `mode` (its `/api/operation`).
fn writable(mode: AccessMode) -> bool {
    matches!(mode, AccessMode::Local | AccessMode::TedapiHybrid)
}

/// Whether `mode` reads grid settings from the TEDAPI config.
fn reads_tedapi_config(mode: AccessMode) -> bool {
    matches!(mode, AccessMode::TedapiFull | AccessMode::TedapiHybrid)
}

/// Steps 3–5 of §6.8.2 in order, once control is known to be on: request parsing, backend
/// connectivity (before the token), token. Answers the form, or the reply that ends the request.
fn screen(
    has_action: bool,
    body: Result<&str, BodyRefusal>,
    writable: bool,
    token_ok: impl FnOnce(&str) -> bool,
) -> Result<ControlForm, Reply> {
    let body = match body {
        Ok(body) if has_action => body,
        Ok(_) => return Err(Reply::error(INVALID_REQUEST)),
        Err(refusal) => {
            if let BodyRefusal::TooLarge(length) = refusal {
                tracing::error!("Control Command Error: POST body too large ({length} bytes)");
            }
            return Err(Reply::error(INVALID_REQUEST));
        }
    };
    if !writable {
        return Err(Reply::error(NO_BACKEND));
    }
    let form = ControlForm::parse(body);
    match form.token.as_deref() {
        Some(token) if token_ok(token) => Ok(form),
        _ => Err(Reply::unauthorized()),
    }
}

/// Counters per §13.7 rule 62: 200 counts a post, 400 an error, 401 neither.
fn count(state: &AppState, status: StatusCode) {
    match status {
        StatusCode::OK => state.stats().count_post(),
        StatusCode::BAD_REQUEST => state.stats().count_error(),
        _ => {}
    }
}

async fn control_get(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    let body = if action_segment(path) == Some("status") {
        control_status(&state)
    } else if state.settings().control.secret.is_none() {
        json!({ "error": DISABLED })
    } else {
        match action_segment(path).and_then(Action::parse) {
            Some(action) => read(&state, action).await,
            None => json!({ "error": command::INVALID_ACTION }),
        }
    };
    state.stats().count_get(path);
    Reply::ok(body).into_response()
}

async fn control_post(State(state): State<AppState>, request: Request) -> Response {
    let reply = post_reply(&state, request).await;
    count(&state, reply.status);
    reply.into_response()
}

async fn post_reply(state: &AppState, request: Request) -> Reply {
    let Some(secret) = state.settings().control.secret.clone() else {
        return Reply::error(DISABLED);
    };
    let segment = action_segment(request.uri().path()).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let bytes = read_body(&parts.headers, body).await;
    let text = match &bytes {
        Ok(bytes) => std::str::from_utf8(bytes).map_err(|_| BodyRefusal::NotUtf8),
        Err(refusal) => Err(refusal.clone()),
    };
    // The backend is only looked at (and a cloud link connected) for a well-formed request.
    let backend = if segment.is_some() && text.is_ok() {
        backend::ready(state).await
    } else {
        None
    };
    let form = match screen(segment.is_some(), text, backend.is_some(), |token| {
        token::token_matches(token.as_bytes(), secret.expose().as_bytes())
    }) {
        Ok(form) => form,
        Err(reply) => {
            if reply.status == StatusCode::UNAUTHORIZED {
                tracing::warn!("Control Command Error: {TOKEN_INVALID}");
            }
            return reply;
        }
    };
    let action = segment.as_deref().and_then(Action::parse);
    let Some(backend) = backend else {
        return Reply::error(NO_BACKEND);
    };
    execute(state, &backend, decide(action, &form)).await
}

/// Reads the body once its declared length passed the checks (nothing is read otherwise).
async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, BodyRefusal> {
    let length = declared_length(headers)?;
    let limit = usize::try_from(length).map_err(|_| BodyRefusal::BadLength)?;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| BodyRefusal::Unreadable)
}

/// Step 6 for an authorised request.
async fn execute(state: &AppState, backend: &Backend, command: Command) -> Reply {
    match command {
        Command::Read(action) => Reply::ok(read(state, action).await),
        Command::Refuse(message) => Reply::error(message),
        Command::SetOperation {
            reserve,
            mode,
            kind,
        } => set_operation(state, backend, reserve, mode, kind).await,
        Command::SetGridCharging(allowed) => {
            let result = backend.access().set_grid_charging(allowed).await;
            backend.note(&result);
            let what = format!("Set Grid Charging to {allowed}");
            let reply = simple_write(result, "grid_charging", &what);
            if reply.status == StatusCode::OK {
                grid_read_back(backend, &what).await;
            }
            reply
        }
        Command::SetGridExport(rule) => {
            let result = backend.access().set_grid_export(rule).await;
            backend.note(&result);
            let what = format!("Set Grid Export to {rule}");
            let reply = simple_write(result, "grid_export", &what);
            if reply.status == StatusCode::OK {
                grid_read_back(backend, &what).await;
            }
            reply
        }
    }
}

/// Reads the grid settings back from the cloud after a write (its cached `site_info` was dropped
/// by the write) and logs what Tesla now reports.
async fn grid_read_back(backend: &Backend, what: &str) {
    let Some(link) = backend.cloud() else {
        return;
    };
    let charging = link.grid_charging().await;
    link.note(&charging);
    let export = link.grid_export().await;
    link.note(&export);
    match (charging, export) {
        (Ok(charging), Ok(export)) => {
            link.saw_grid_charging(charging);
            link.saw_grid_export(&export);
            tracing::info!(
                "Control Command: {what}: the cloud reports grid charging {charging}, grid export \
                 {export}"
            );
        }
        (Err(err), _) | (_, Err(err)) => {
            let err = link.describe(&err);
            tracing::warn!("Control Command: {what}: cannot read the grid settings back: {err}");
        }
    }
}

/// Whether a backend result means failure: nothing, `false`, or an object carrying `error`.
fn is_failure(result: &Value) -> bool {
    match result {
        Value::Null | Value::Bool(false) => true,
        Value::Object(map) => map.contains_key("error"),
        _ => false,
    }
}

/// Grid charging / grid export: `{"<key>": "Set Successfully"}` or `Failed to set <key>`.
fn simple_write(
    result: Result<Value, powerwall_gateway::GatewayError>,
    key: &str,
    what: &str,
) -> Reply {
    match result {
        Ok(result) if !is_failure(&result) => {
            tracing::info!("Control Command: {what}");
            Reply::ok(json!({ key: "Set Successfully" }))
        }
        Ok(_) => {
            tracing::warn!("Control Command Error: {what} failed: the backend returned no result");
            Reply::error(&format!("Failed to set {key}"))
        }
        Err(err) => {
            tracing::warn!("Control Command Error: {what} failed: {err}");
            Reply::error(&format!("Failed to set {key}"))
        }
    }
}

async fn set_operation(
    state: &AppState,
    backend: &Backend,
    reserve: Option<ReserveLevel>,
    mode: Option<OperationMode>,
    kind: WriteKind,
) -> Reply {
    let level = reserve.map(|level| level.to_string()).unwrap_or_default();
    let mode_name = mode.map_or("", OperationMode::as_str);
    let what = match kind {
        WriteKind::Reserve => format!("Set Reserve to {level}"),
        WriteKind::ReserveWithMode => format!("Set Reserve to {level} (mode={mode_name})"),
        WriteKind::Mode => format!("Set Mode to {mode_name}"),
        WriteKind::ModeWithLevel => format!("Set Mode to {mode_name} (level={level})"),
    };
    let outcome = backend.access().set_operation(reserve, mode).await;
    backend.note(&outcome);
    match outcome {
        Ok(result) if !is_failure(&result) => {
            backend.saw_operation(&result);
            if backend.cloud().is_some()
                && !matches!(state.gateway_mode(), AccessMode::Cloud | AccessMode::Fleet)
            {
                // Hybrid: the gateway learns the change from Tesla, and its client answers from
                // a cache for one poll period; read back after that, without holding the reply.
                tracing::info!("Control Command: {what} (sent to the Tesla cloud)");
                let state = state.clone();
                let settle = state.freshness().poll_interval;
                tokio::spawn(async move {
                    tokio::time::sleep(settle).await;
                    let observed = read_back(&state).await;
                    tracing::info!(
                        "Control Command: {what}: the gateway reports {}",
                        describe_observed(observed.as_ref())
                    );
                });
                return Reply::ok(result);
            }
            let observed = read_back(state).await;
            tracing::info!(
                "Control Command: {what} ({})",
                describe_observed(observed.as_ref())
            );
            Reply::ok(result)
        }
        Ok(Value::Object(result)) => {
            tracing::warn!("Control Command Error: {what} failed: the backend reported an error");
            Reply {
                status: StatusCode::BAD_REQUEST,
                body: Value::Object(result),
            }
        }
        Ok(_) => {
            tracing::warn!("Control Command Error: {what} failed: the backend returned no result");
            Reply::error(kind.failure())
        }
        Err(err) => {
            tracing::warn!("Control Command Error: {what} failed: {err}");
            Reply::error(kind.failure())
        }
    }
}

/// Asks the poller to re-read `/api/operation` and waits (bounded) for a snapshot holding a read
/// made after the write; falls back to one direct read through the client if none comes in time.
async fn read_back(state: &AppState) -> Option<Value> {
    let written_at = Instant::now();
    let engine = state.engine();
    let mut snapshots = engine.subscribe();
    engine.command(EngineCommand::Refresh(vec![DataKind::Operation]));
    let wait = state.gateway_timeout() + Duration::from_secs(2);
    let from_poller = tokio::time::timeout(wait, async {
        for _ in 0..MAX_SNAPSHOTS_WAITED {
            {
                let snapshot = snapshots.borrow_and_update();
                if let Some(document) = snapshot.documents.get(&DataKind::Operation) {
                    if document.fetched_at >= written_at {
                        return Some(document.json.as_ref().clone());
                    }
                }
            }
            if snapshots.changed().await.is_err() {
                return None;
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    match from_poller {
        Some(document) => Some(document),
        None => {
            tracing::debug!(
                "the poller did not re-read /api/operation in time; reading it directly"
            );
            engine.access().fetch(DataKind::Operation).await.ok()
        }
    }
}

/// `observed raw 52.5, mode backup` (or `not observed`).
fn describe_observed(document: Option<&Value>) -> String {
    let Some(document) = document else {
        return "not observed".to_owned();
    };
    let raw = document
        .get("backup_reserve_percent")
        .filter(|value| value.is_number())
        .map_or_else(|| "unknown".to_owned(), Value::to_string);
    let mode = document
        .get("real_mode")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    format!("observed raw {raw}, mode {mode}")
}

/// The read for `action` (GET routes, and POSTs with an empty `value`).
async fn read(state: &AppState, action: Action) -> Value {
    match action {
        Action::Reserve | Action::Mode => {
            let snapshot = state.snapshot();
            let operation = snapshot
                .documents
                .get(&DataKind::Operation)
                .and_then(|document| powerwall_model::Operation::from_json(&document.json).ok());
            operation_read(action, operation.as_ref())
        }
        Action::GridCharging => {
            if let Some(allowed) = cloud_grid_charging(state).await {
                return json!({ "grid_charging": allowed });
            }
            let config = grid_config(state).await;
            json!({ "grid_charging": grid_charging(config.as_ref()) })
        }
        Action::GridExport => {
            if let Some(rule) = cloud_grid_export(state).await {
                return json!({ "grid_export": rule });
            }
            let config = grid_config(state).await;
            json!({ "grid_export": grid_export(config.as_ref()) })
        }
        Action::MaxBackup => json!({ "error": command::MAX_BACKUP_NEEDS_V1R }),
    }
}

/// `{"reserve": <app scale, 0 when unknown>}` or `{"mode": "<mode or unknown>"}`.
fn operation_read(action: Action, operation: Option<&powerwall_model::Operation>) -> Value {
    if action == Action::Mode {
        let mode = operation
            .and_then(|op| op.real_mode.as_deref())
            .unwrap_or("unknown");
        return json!({ "mode": mode });
    }
    match operation.and_then(powerwall_model::Operation::reserve_app_pct) {
        Some(reserve) if reserve.is_finite() => json!({ "reserve": reserve }),
        _ => json!({ "reserve": 0 }),
    }
}

/// Grid charging as the cloud link reports it. The cloud is asked first when the gateway has a
/// link: it is where writes go, and a gateway's own config only catches up with the cloud later.
async fn cloud_grid_charging(state: &AppState) -> Option<bool> {
    let link = state.cloud_link()?;
    let outcome = link.grid_charging().await;
    link.note(&outcome);
    match outcome {
        Ok(allowed) => {
            link.saw_grid_charging(allowed);
            Some(allowed)
        }
        Err(err) => {
            let err = link.describe(&err);
            tracing::debug!("cannot read grid charging from the cloud: {err}");
            None
        }
    }
}

/// The grid export rule as the cloud link reports it (see [`cloud_grid_charging`]).
async fn cloud_grid_export(state: &AppState) -> Option<String> {
    let link = state.cloud_link()?;
    let outcome = link.grid_export().await;
    link.note(&outcome);
    match outcome {
        Ok(rule) => {
            link.saw_grid_export(&rule);
            Some(rule.to_ascii_lowercase())
        }
        Err(err) => {
            let err = link.describe(&err);
            tracing::debug!("cannot read the grid export rule from the cloud: {err}");
            None
        }
    }
}

/// The TEDAPI config's `site_info` in TEDAPI modes; `None` elsewhere or when unreadable.
async fn grid_config(state: &AppState) -> Option<Value> {
    let access = state.engine().access();
    if !reads_tedapi_config(access.mode()) {
        return None;
    }
    match access.fetch_raw("/tedapi/config").await {
        Ok(RawBody::Json(config)) => config.get("site_info").cloned(),
        Ok(_) => None,
        Err(err) => {
            tracing::debug!("cannot read the TEDAPI config for a control read: {err}");
            None
        }
    }
}

/// Grid charging from `site_info`: allowed unless `disallow_charge_from_grid_with_solar_installed`
/// is true (absent = allowed); `false` when the config is unknown.
fn grid_charging(site_info: Option<&Value>) -> bool {
    site_info.is_some_and(|info| {
        !info
            .get("disallow_charge_from_grid_with_solar_installed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

/// The export rule from `site_info` (absent = `battery_ok`), lower-cased; `unknown` when the
/// config is unknown.
fn grid_export(site_info: Option<&Value>) -> String {
    match site_info {
        None => "unknown".to_owned(),
        Some(info) => info
            .get("customer_preferred_export_rule")
            .and_then(Value::as_str)
            .unwrap_or("battery_ok")
            .to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests;
