//! The connect sequence and Powerwall 3 detection (gateway-protocols §2.9), and the bearer
//! login (§2.12).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::transport::{Method, OCTET_STREAM, Outgoing, Sent, basic_authorization, status_error};
use super::{DEFAULT_TIMEZONE, TedapiAuthMode, TedapiClient, query};
use crate::GatewayError;
use crate::tedapi::wire::parse_din;

/// Path of the DIN request.
pub const DIN_PATH: &str = "/tedapi/din";
/// Path of the bearer (installer) login.
pub const LOGIN_PATH: &str = "/api/login/Basic";
/// Path of the portal probe.
const PROBE_PATH: &str = "/";

/// The bearer login body (§2.12): the installer user with the gateway password.
pub fn login_body(gateway_password: &str, timezone: &str) -> Vec<u8> {
    json!({
        "username": "installer",
        "password": gateway_password,
        "email": "installer@tesla.com",
        "clientInfo": {"timezone": timezone},
    })
    .to_string()
    .into_bytes()
}

/// Whether `config.json` lists a Powerwall 3 battery block (`battery_blocks[].type` contains
/// `Powerwall3`).
pub fn config_says_pw3(config: &Value) -> bool {
    config
        .get("battery_blocks")
        .and_then(Value::as_array)
        .is_some_and(|blocks| {
            blocks.iter().any(|block| {
                block
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.contains("Powerwall3"))
            })
        })
}

/// What the `GET /` probe says about the hardware: `None` keeps the previous verdict.
pub(crate) fn probe_verdict(status: u16) -> Option<bool> {
    match status {
        // PW2/+ serve their web portal.
        200 => Some(false),
        // Busy or failing gateways say nothing about the hardware.
        429 | 500 | 502 | 503 | 504 => None,
        // PW3 has no portal: 403 or 404 depending on firmware.
        _ => Some(true),
    }
}

impl TedapiClient {
    /// §2.9: probe (Basic) or log in (bearer), read the DIN, then firmware (failures tolerated)
    /// and config. A no-op once the DIN is known; concurrent callers share one sequence.
    pub(crate) async fn connect_sequence(&self) -> Result<(), GatewayError> {
        if self.din.get().is_some() {
            return Ok(());
        }
        let _connecting = self.connect_lock.lock().await;
        if self.din.get().is_some() {
            return Ok(());
        }
        match self.config.auth_mode {
            TedapiAuthMode::Basic => self.probe_portal().await?,
            TedapiAuthMode::Bearer => {
                self.token().await?;
            }
        }
        let body = self
            .request(Method::Get, DIN_PATH, query::DIN, Vec::new())
            .await?;
        let din = parse_din(&body).map_err(|err| err.into_gateway_error(DIN_PATH))?;
        tracing::info!(
            din,
            target = self.target,
            "connected to the gateway over TEDAPI"
        );
        // Only this task sets the DIN (under the connect lock), so the set cannot fail.
        let _ = self.din.set(din.clone());
        // Through the tiers' slots, so the first poll reuses these answers.
        let tiers = self.config.tiers;
        if let Err(err) = self.firmware_for(&din, tiers.slow).await {
            tracing::warn!(error = %err, "firmware version unknown");
        }
        self.config_for(&din, tiers.config).await.map(|_| ())
    }

    /// The DIN, connecting first when it is not known yet.
    pub(crate) async fn gateway_din(&self) -> Result<String, GatewayError> {
        self.connect_sequence().await?;
        self.din.get().cloned().ok_or_else(|| GatewayError::Empty {
            path: DIN_PATH.to_owned(),
        })
    }

    /// Whether the system is a Powerwall 3: the portal probe said so or `config.json` lists one.
    pub(crate) fn is_pw3(&self, config: Option<&Value>) -> bool {
        self.probe_pw3.load(Ordering::Relaxed) || config.is_some_and(config_says_pw3)
    }

    /// `GET /` with Basic auth: PW2/+ answer 200 with their portal, PW3 has none (§2.9).
    async fn probe_portal(&self) -> Result<(), GatewayError> {
        let probe = Outgoing {
            method: Method::Get,
            path: PROBE_PATH.to_owned(),
            query: query::PROBE.to_owned(),
            authorization: basic_authorization(self.config.gateway_password.expose()),
            content_type: OCTET_STREAM,
            body: Vec::new(),
        };
        let answer = self.exchange(probe, false).await?;
        if matches!(answer.status, 429 | 503) {
            return Err(status_error(
                &self.guard,
                &self.target,
                PROBE_PATH,
                &answer,
                Sent::Basic,
            ));
        }
        if let Some(pw3) = probe_verdict(answer.status) {
            tracing::debug!(status = answer.status, pw3, "portal probe");
            self.probe_pw3.store(pw3, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The bearer token, logging in when there is none (one login for concurrent callers).
    pub(crate) async fn token(&self) -> Result<Arc<str>, GatewayError> {
        if let Some(token) = self.current_token() {
            return Ok(token);
        }
        let _login = self.login_lock.lock().await;
        if let Some(token) = self.current_token() {
            return Ok(token);
        }
        let login = Outgoing {
            method: Method::Post,
            path: LOGIN_PATH.to_owned(),
            query: query::LOGIN.to_owned(),
            // The login itself carries no credential header; the password is in the body.
            authorization: String::new(),
            // §2.12 quirk: the session's octet-stream label stays on the JSON login.
            content_type: OCTET_STREAM,
            body: login_body(self.config.gateway_password.expose(), DEFAULT_TIMEZONE),
        };
        let answer = self.exchange(login, true).await?;
        if !(200..300).contains(&answer.status) {
            return Err(status_error(
                &self.guard,
                &self.target,
                LOGIN_PATH,
                &answer,
                Sent::BearerLogin,
            ));
        }
        let token = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|body| body.get("token")?.as_str().map(str::to_owned))
            .filter(|token| !token.is_empty());
        let Some(token) = token else {
            self.guard.login_rejected(200);
            return Err(GatewayError::LoginIncomplete {
                target: self.target.clone(),
                missing: "token",
            });
        };
        self.guard.login_succeeded();
        let token: Arc<str> = token.into();
        *self.lock_token() = Some(Arc::clone(&token));
        Ok(token)
    }

    /// Forgets the bearer token so the next request logs in again.
    pub(crate) fn drop_token(&self) {
        *self.lock_token() = None;
    }

    fn current_token(&self) -> Option<Arc<str>> {
        self.lock_token().clone()
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<Arc<str>>> {
        // A token swap cannot leave the slot half-written, so a poisoned lock is still usable.
        self.token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
