//! Control routes: `/control/{reserve,mode,grid_charging,grid_export,max_backup}` (proxy-api §6.8).
//!
//! Off unless `PW_CONTROL_SECRET` is set. GETs read (no token, always 200); POSTs need the token
//! and write through the backend the gateway's [`Controller`] picks: the Tesla cloud in cloud mode
//! or through a hybrid cloud connection, else the local API (local and TEDAPI hybrid modes:
//! reserve and mode via `POST /api/operation`). A gateway without a backend, or whose cloud link
//! does not connect, gets the reference's "Unable to connect to cloud mode - Run Setup" answer
//! before the token is checked. `/control/status` reports what can be controlled. Deviations from
//! t97, per §15: only `/control/<action>` (optionally `/`) is a control path; an unknown GET action
//! answers `Invalid Command Action`; the body must declare its `Content-Length`; the reserve is
//! checked against 0–100 up front; `grid_export` reads are valid JSON; statuses come from the code
//! path (the same statuses as §6.8.2). The token and the secret are never logged nor echoed.
//!
//! Writes and their read-back belong to the gateway's [`Controller`]: these routes parse, check
//! the token and render the legacy replies. The POST body stays exactly the backend's result
//! (rule 49): no key is added, since the result is the gateway's own document and not always an
//! object.

mod command;
mod form;
pub(super) mod token;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use powerwall_gateway::DataKind;
use serde_json::{Value, json};

use super::error::ApiError;
use super::{AppState, framing};
use crate::engine::control::{
    self as engine_control, ControlError, ControlOutcome, Controller, Ready,
};
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
        let error = ApiError::with_message(StatusCode::BAD_REQUEST, message.to_owned());
        Self {
            status: error.status(),
            body: error.json(),
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
        ApiError::legacy(DISABLED).json()
    } else {
        match action_segment(path).and_then(Action::parse) {
            Some(action) => read(&state, action).await,
            None => ApiError::legacy(command::INVALID_ACTION).json(),
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
    let controller = controller(state);
    let backend = if segment.is_some() && text.is_ok() {
        controller.ready().await.ok()
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
    execute(state, backend, decide(action, &form)).await
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

/// The served gateway's control.
fn controller(state: &AppState) -> &Controller {
    &state.served().controller
}

/// Step 6 for an authorised request.
async fn execute(state: &AppState, backend: Ready<'_>, command: Command) -> Reply {
    match command {
        Command::Read(action) => Reply::ok(read(state, action).await),
        Command::Refuse(message) => Reply::error(message),
        Command::SetOperation {
            reserve,
            mode,
            kind,
        } => match engine_control::Command::operation(reserve, mode) {
            Some(write) => operation_reply(backend.apply(write).await, kind),
            None => Reply::error(kind.failure()),
        },
        Command::SetGridCharging(allowed) => grid_reply(
            backend
                .apply(engine_control::Command::GridCharging(allowed))
                .await,
            "grid_charging",
        ),
        Command::SetGridExport(rule) => grid_reply(
            backend
                .apply(engine_control::Command::GridExport(rule))
                .await,
            "grid_export",
        ),
    }
}

/// Reserve / mode: the backend's result document, or its error object (400), or the failure
/// text of `kind`.
fn operation_reply(outcome: Result<ControlOutcome, ControlError>, kind: WriteKind) -> Reply {
    match outcome {
        Ok(outcome) => Reply::ok(outcome.result),
        Err(ControlError::Rejected(Value::Object(result))) => Reply {
            status: StatusCode::BAD_REQUEST,
            body: Value::Object(result),
        },
        Err(err) if err.needs_setup() => Reply::error(NO_BACKEND),
        Err(_) => Reply::error(kind.failure()),
    }
}

/// Grid charging / grid export: `{"<key>": "Set Successfully"}` or `Failed to set <key>`.
fn grid_reply(outcome: Result<ControlOutcome, ControlError>, key: &str) -> Reply {
    match outcome {
        Ok(_) => Reply::ok(json!({ key: "Set Successfully" })),
        Err(err) if err.needs_setup() => Reply::error(NO_BACKEND),
        Err(_) => Reply::error(&format!("Failed to set {key}")),
    }
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
            let allowed = controller(state)
                .grid_charging(state.fail_fast_active())
                .await;
            json!({ "grid_charging": allowed.unwrap_or(false) })
        }
        Action::GridExport => {
            let rule = controller(state)
                .grid_export(state.fail_fast_active())
                .await;
            json!({ "grid_export": rule.unwrap_or_else(|| "unknown".to_owned()) })
        }
        Action::MaxBackup => ApiError::legacy(command::MAX_BACKUP_NEEDS_V1R).json(),
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

#[cfg(test)]
mod tests;
