//! Cached TEDAPI queries (gateway-protocols §2.10): one slot per query, each holding its answer
//! for `cache_ttl`, with one upstream exchange for any number of concurrent callers.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::transport::Method;
use super::{TedapiClient, query};
use crate::GatewayError;
use crate::single_flight::{Flight, Keyed, Policy};
use crate::tedapi::convert::FirmwareInfo;
use crate::tedapi::wire::{QueryRole, TedapiRequest, TedapiResponse, parse_response};

/// One cached query (the clients' one single-flight cache).
pub(crate) type Slot<T> = Flight<T>;

/// The cache of one client: a slot per query kind, and one per Powerwall for components.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    pub(crate) config: Slot<Value>,
    pub(crate) status: Slot<Value>,
    pub(crate) controller: Slot<Value>,
    pub(crate) firmware: Slot<FirmwareInfo>,
    /// The gateway-level components query (PW3).
    pub(crate) components: Slot<Value>,
    /// Components per Powerwall DIN (PW3); the map only grows by the DINs of `config.json`.
    pub(crate) devices: Keyed<String, Value>,
    /// The gateway's own `/api/meters/aggregates` over the customer login (§2.14).
    pub(crate) native: Slot<Value>,
}

impl Documents {
    /// The slot of one Powerwall's components query.
    pub(crate) fn device(&self, din: &str) -> Arc<Slot<Value>> {
        self.devices.get(din.to_owned())
    }
}

impl TedapiClient {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Answers younger than `ttl` are reused; a caller waits at most `PW_TIMEOUT` for another
    /// caller's fetch of the same query (proxy-api §8.1).
    pub(crate) fn policy(&self, ttl: Duration) -> Policy<'_> {
        Policy::new(ttl, self.config.timeout, &self.target)
    }

    /// Sends one TEDAPI request (basic or bearer framing) and parses the answer.
    pub(crate) async fn send_tedapi(
        &self,
        request: &TedapiRequest,
        name: &str,
    ) -> Result<TedapiResponse, GatewayError> {
        let path = request.path();
        let body = match self.config.auth_mode {
            super::TedapiAuthMode::Basic => request.to_basic_body(),
            super::TedapiAuthMode::Bearer => request.to_bearer_body(),
        };
        let answer = self.request(Method::Post, &path, name, body).await?;
        parse_response(&answer).map_err(|err| err.into_gateway_error(&path))
    }

    /// Sends a GraphQL query and returns its JSON document.
    async fn query(&self, request: TedapiRequest, name: &str) -> Result<Value, GatewayError> {
        let path = request.path();
        let answer = self
            .send_tedapi(&request, name)
            .await?
            .into_query()
            .map_err(|err| err.into_gateway_error(&path))?;
        if !answer.errors.is_empty() {
            // V2026_06 firmware reports rejected fields here; V2024_06 may be the way out (§2.7).
            tracing::warn!(
                path,
                errors = ?answer.errors,
                "the gateway reported GraphQL errors (try TEDAPI API version V2024_06)"
            );
        }
        answer.json().map_err(|err| err.into_gateway_error(&path))
    }

    /// `config.json`, cached for `ttl`.
    pub(crate) async fn config_document(&self, ttl: Duration) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        self.config_for(&din, ttl).await
    }

    /// `config.json` of the gateway `din`, cached for `ttl` (the connect sequence calls it
    /// directly).
    pub(crate) async fn config_for(
        &self,
        din: &str,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        self.documents
            .config
            .get_or_fetch(
                || self.now(),
                self.policy(ttl),
                || async {
                    let request = TedapiRequest::config(din);
                    let path = request.path();
                    let file = self
                        .send_tedapi(&request, query::CONFIG)
                        .await?
                        .into_config()
                        .map_err(|err| err.into_gateway_error(&path))?;
                    file.json().map_err(|err| err.into_gateway_error(&path))
                },
            )
            .await
    }

    /// The DeviceController answer to the basic (`Full = false`) or full query, cached for `ttl`.
    pub(crate) async fn controller_document(
        &self,
        full: bool,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        let (slot, role, name) = if full {
            (
                &self.documents.controller,
                QueryRole::DeviceControllerFull,
                query::CONTROLLER,
            )
        } else {
            (
                &self.documents.status,
                QueryRole::DeviceControllerBasic,
                query::STATUS,
            )
        };
        let version = self.config.api_version;
        slot.get_or_fetch(
            || self.now(),
            self.policy(ttl),
            || async {
                let request = TedapiRequest::query(version, role, &din)?;
                self.query(request, name).await
            },
        )
        .await
    }

    /// Firmware version and git hash from the system-info request, cached for `ttl`; after a
    /// failure the last answer is kept by the caller ([`Slot::last`]).
    pub(crate) async fn firmware(&self, ttl: Duration) -> Result<Arc<FirmwareInfo>, GatewayError> {
        let din = self.gateway_din().await?;
        self.firmware_for(&din, ttl).await
    }

    /// The system info of the gateway `din`, cached for `ttl` (the connect sequence calls it
    /// directly).
    pub(crate) async fn firmware_for(
        &self,
        din: &str,
        ttl: Duration,
    ) -> Result<Arc<FirmwareInfo>, GatewayError> {
        self.documents
            .firmware
            .get_or_fetch(
                || self.now(),
                self.policy(ttl),
                || async {
                    let request = TedapiRequest::system_info(din);
                    let path = request.path();
                    let info = self
                        .send_tedapi(&request, query::FIRMWARE)
                        .await?
                        .into_system_info()
                        .map_err(|err| err.into_gateway_error(&path))?;
                    let version = info.firmware_version_text().map(str::to_owned);
                    let git_hash = info
                        .firmware_version
                        .as_ref()
                        .filter(|firmware| !firmware.githash.is_empty())
                        .map(|firmware| hex(&firmware.githash));
                    Ok(FirmwareInfo { version, git_hash })
                },
            )
            .await
    }

    /// A components query (PW3) called `name`, cached in `slot` for `ttl`.
    pub(crate) async fn components(
        &self,
        slot: &Slot<Value>,
        request: TedapiRequest,
        name: &str,
        ttl: Duration,
    ) -> Result<Arc<Value>, GatewayError> {
        slot.get_or_fetch(
            || self.now(),
            self.policy(ttl),
            || self.query(request, name),
        )
        .await
    }
}

/// The git hash as text: ASCII when printable (real gateways send hex digits as text), else hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.bytes().all(|byte| byte.is_ascii_graphic()) => text.to_owned(),
        _ => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}
