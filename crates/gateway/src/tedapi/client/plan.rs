//! Which TEDAPI queries each document needs, and the conversion to local-API shapes
//! (gateway-protocols §3, §2.13).
//!
//! Each document asks only for the queries it cannot do without, so a poll of aggregates costs
//! at most one basic DeviceController query (plus `config.json`) per TTL; the full query, the
//! firmware request and the PW3 components queries are sent only for the documents that need
//! them. Optional inputs (the full controller for remote meters, the PW3 blocks) are used when
//! another document has them fresh in the cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use powerwall_model::Vitals;
use serde_json::{Value, json};

use super::TedapiClient;
use super::connect::DIN_PATH;
use crate::tedapi::convert::{
    FirmwareInfo, TedapiInputs, boot_estimate, fan_speeds, local_document, pw3_component_requests,
    pw3_vitals, vitals,
};
use crate::tedapi::wire::{QueryRole, TedapiRequest};
use crate::{DataKind, GatewayError, RawBody};

/// The queries a document needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) config: bool,
    pub(crate) status: bool,
    pub(crate) controller: bool,
    pub(crate) firmware: bool,
    pub(crate) pw3: bool,
}

/// The queries behind each document (mocked paths need none).
pub(crate) fn needs(kind: DataKind) -> Needs {
    let config = Needs {
        config: true,
        ..Needs::default()
    };
    match kind {
        // The full query carries SYNC_Uptime, the source of start_time and up_time_seconds.
        DataKind::Status => Needs {
            controller: true,
            firmware: true,
            ..config
        },
        DataKind::Aggregates | DataKind::SystemStatus => Needs {
            status: true,
            ..config
        },
        DataKind::Soe | DataKind::GridStatus => Needs {
            status: true,
            ..Needs::default()
        },
        DataKind::Operation | DataKind::SiteInfo | DataKind::SiteName => config,
        DataKind::Powerwalls | DataKind::SolarPowerwall => Needs::default(),
        // PVAC fans come from the full controller, PW3 fans from the components queries.
        DataKind::FanSpeeds => Needs {
            controller: true,
            pw3: true,
            ..config
        },
        DataKind::Vitals => Needs {
            status: true,
            controller: true,
            pw3: true,
            ..config
        },
    }
}

/// The answers gathered for one document.
#[derive(Debug, Default)]
struct Gathered {
    config: Option<Arc<Value>>,
    status: Option<Arc<Value>>,
    controller: Option<Arc<Value>>,
    firmware: Option<Arc<FirmwareInfo>>,
    pw3: Option<Vitals>,
    is_pw3: bool,
    /// The gateway's own aggregates (§2.14), aggregates only.
    native: Option<Arc<Value>>,
}

impl TedapiClient {
    /// One document of the poll plan in its local-API shape.
    pub(crate) async fn document(&self, kind: DataKind) -> Result<Value, GatewayError> {
        let path = kind.local_path();
        let mut gathered = self.gather(needs(kind)).await?;
        if kind == DataKind::Aggregates {
            gathered.native = self.native_aggregates().await;
        }
        let now = epoch_seconds();
        let previous = self.previous_boot();
        let inputs = inputs(&gathered, &self.target, now, previous.as_ref());
        let document = match kind {
            // The local path of vitals is a fixed null in TEDAPI modes; the dictionary is built here.
            DataKind::Vitals => vitals(&inputs).map(Value::Object),
            DataKind::FanSpeeds => Some(fan_speeds(&inputs)),
            _ => local_document(path, &inputs),
        };
        if kind == DataKind::Status {
            let next = boot_estimate(gathered.controller.as_deref(), previous.as_ref());
            if next.is_some() {
                *self.lock_boot() = next;
            }
        }
        document.ok_or_else(|| GatewayError::Empty {
            path: path.to_owned(),
        })
    }

    /// A passthrough path: `/api/*` through the conversions (`null` when unavailable), or one of
    /// the raw TEDAPI documents `/tedapi/din`, `/tedapi/config`, `/tedapi/status`,
    /// `/tedapi/controller`, `/tedapi/firmware`, `/tedapi/components`, `/tedapi/battery`.
    pub(crate) async fn raw_document(&self, path: &str) -> Result<RawBody, GatewayError> {
        let bare = path.split(['?', '#']).next().unwrap_or_default();
        if bare.starts_with("/api/") {
            let kind = DataKind::ALL
                .into_iter()
                .find(|kind| *kind != DataKind::Vitals && kind.local_path() == bare);
            let mut gathered = match kind {
                Some(kind) => self.gather(needs(kind)).await?,
                None => Gathered::default(),
            };
            if kind == Some(DataKind::Aggregates) {
                gathered.native = self.native_aggregates().await;
            }
            let previous = self.previous_boot();
            let inputs = inputs(&gathered, &self.target, epoch_seconds(), previous.as_ref());
            return Ok(RawBody::Json(
                local_document(bare, &inputs).unwrap_or(Value::Null),
            ));
        }
        let document = match bare {
            DIN_PATH => return Ok(RawBody::Text(self.gateway_din().await?)),
            "/tedapi/config" => (*self.config_document().await?).clone(),
            "/tedapi/status" => (*self.controller_document(false).await?).clone(),
            "/tedapi/controller" => (*self.controller_document(true).await?).clone(),
            "/tedapi/firmware" => {
                let firmware = self.firmware().await?;
                json!({"version": firmware.version, "git_hash": firmware.git_hash})
            }
            "/tedapi/components" => (*self.gateway_components().await?).clone(),
            "/tedapi/battery" => battery_blocks_document(&*self.config_document().await?),
            _ => {
                return Err(GatewayError::Unsupported {
                    mode: "tedapi-full",
                    what: format!("the gateway path {path}"),
                });
            }
        };
        Ok(RawBody::Json(document))
    }

    /// Runs the queries `needs` asks for, in the order of the connect sequence.
    async fn gather(&self, needs: Needs) -> Result<Gathered, GatewayError> {
        let mut gathered = Gathered::default();
        if needs == Needs::default() {
            return Ok(gathered);
        }
        let now = self.clock.now();
        let ttl = self.config.cache_ttl;
        if needs.config || needs.pw3 {
            gathered.config = Some(self.config_document().await?);
        }
        gathered.is_pw3 = self.is_pw3(gathered.config.as_deref());
        if needs.status {
            gathered.status = Some(self.controller_document(false).await?);
        }
        gathered.controller = if needs.controller {
            Some(self.controller_document(true).await?)
        } else {
            self.documents.controller.fresh(now, ttl)
        };
        if needs.firmware {
            gathered.firmware = match self.firmware().await {
                Ok(firmware) => Some(firmware),
                Err(err) => {
                    // §3.1: the version is optional; keep the last one seen.
                    tracing::debug!(error = %err, "firmware version unavailable");
                    self.documents.firmware.last()
                }
            };
        }
        if gathered.is_pw3 {
            gathered.pw3 = if needs.pw3 {
                self.pw3_blocks(gathered.config.as_deref()).await?
            } else {
                self.cached_pw3_blocks(gathered.config.as_deref())
            };
        }
        Ok(gathered)
    }

    /// The gateway-level components query (recipient = gateway DIN), cached.
    async fn gateway_components(&self) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        let request = TedapiRequest::query(self.config.api_version, QueryRole::Components, &din)?;
        self.components(&self.documents.components, request).await
    }

    /// The PW3 blocks (§2.13): the gateway-level components query must answer; a Powerwall
    /// whose own query fails is skipped.
    async fn pw3_blocks(&self, config: Option<&Value>) -> Result<Option<Vitals>, GatewayError> {
        let gateway = self.gateway_components().await?;
        let gateway_din = self.gateway_din().await?;
        let version = self.config.api_version;
        let mut answers = HashMap::new();
        for wanted in pw3_component_requests(config) {
            let Some(din) = wanted.din else { continue };
            let request = if wanted.via_leader {
                TedapiRequest::device_query(version, QueryRole::Components, &gateway_din, &din)?
            } else {
                TedapiRequest::query(version, QueryRole::Components, &din)?
            };
            match self.components(&self.documents.device(&din), request).await {
                Ok(answer) => {
                    answers.insert(din, (*answer).clone());
                }
                Err(err) if err.class() == crate::ErrorClass::CoolDown => return Err(err),
                Err(err) => tracing::warn!(din, error = %err, "skipping this Powerwall's vitals"),
            }
        }
        Ok(pw3_vitals(config, Some(&gateway), &answers))
    }

    /// The PW3 blocks from fresh cached components only (no request).
    fn cached_pw3_blocks(&self, config: Option<&Value>) -> Option<Vitals> {
        let now = self.clock.now();
        let ttl = self.config.cache_ttl;
        let gateway = self.documents.components.fresh(now, ttl)?;
        let answers = pw3_component_requests(config)
            .into_iter()
            .filter_map(|wanted| wanted.din)
            .filter_map(|din| {
                let answer = self.documents.device(&din).fresh(now, ttl)?;
                Some((din, (*answer).clone()))
            })
            .collect();
        pw3_vitals(config, Some(&gateway), &answers)
    }

    fn previous_boot(&self) -> Option<crate::tedapi::convert::BootEstimate> {
        *self.lock_boot()
    }

    fn lock_boot(&self) -> std::sync::MutexGuard<'_, Option<crate::tedapi::convert::BootEstimate>> {
        // A Copy value swapped whole: a poisoned lock still holds a consistent estimate.
        self.boot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The conversion inputs over the gathered answers.
fn inputs<'a>(
    gathered: &'a Gathered,
    host: &'a str,
    now_epoch_seconds: f64,
    previous_boot: Option<&'a crate::tedapi::convert::BootEstimate>,
) -> TedapiInputs<'a> {
    TedapiInputs {
        config: gathered.config.as_deref(),
        status: gathered.status.as_deref(),
        controller: gathered.controller.as_deref(),
        pw3_vitals: gathered.pw3.as_ref(),
        is_pw3: gathered.is_pw3,
        firmware: gathered.firmware.as_deref(),
        native_aggregates: gathered.native.as_deref(),
        host,
        now_epoch_seconds,
        previous_boot,
    }
}

/// `/tedapi/battery`: the reference's `get_battery_blocks()`, i.e. `config.json`
/// `battery_blocks` (one entry per Powerwall: `vin`, `type`, PW3 `battery_expansions`, …), with
/// a missing or `null` list normalised to `[]` (§2.13).
pub(crate) fn battery_blocks_document(config: &Value) -> Value {
    match config.get("battery_blocks") {
        Some(Value::Array(blocks)) => Value::Array(blocks.clone()),
        _ => Value::Array(Vec::new()),
    }
}

/// The wall clock in seconds since the Unix epoch (the vitals header timestamp).
fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
