//! One poll of a TEDAPI gateway as one point in time (gateway-protocols §3, §2.13; DESIGN.md
//! "Data flow"): the documents due now name the queries they need, the union of those queries
//! is sent once each (one request in flight), and every document is built from that one set of
//! answers. No document depends on what another document happened to leave in a cache.
//!
//! Queries run in tiers ([`crate::poll::QueryTiers`]): the basic DeviceController query every
//! poll, the full controller and the Powerwall 3 components at the detail tier, firmware and the
//! lifetime energy counters at the slow tier, `config.json` at the config tier. Between refreshes
//! a slower tier's last answer is used, so a document keeps its keys and value types from one
//! poll to the next; after a failed refresh the last answer is kept for up to
//! [`STALE_PERIODS`] periods.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use powerwall_model::Vitals;
use serde_json::{Value, json};

use super::connect::DIN_PATH;
use super::documents::Slot;
use super::{TedapiClient, query};
use crate::poll::{PollAnswers, PollRequest};
use crate::tedapi::convert::{
    FirmwareInfo, TedapiInputs, boot_estimate, fan_speeds, local_document, pw3_component_requests,
    pw3_vitals, vitals,
};
use crate::tedapi::wire::{QueryRole, TedapiRequest};
use crate::{DataKind, GatewayError, RawBody};

/// How many tier periods a slower query's last answer stays usable after failed refreshes.
pub(crate) const STALE_PERIODS: u32 = 3;

/// The queries behind a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) config: bool,
    pub(crate) status: bool,
    pub(crate) controller: bool,
    pub(crate) firmware: bool,
    pub(crate) pw3: bool,
    /// The classic API's lifetime energy counters (§2.14).
    pub(crate) energy: bool,
}

impl Needs {
    fn union(self, other: Self) -> Self {
        Self {
            config: self.config || other.config,
            status: self.status || other.status,
            controller: self.controller || other.controller,
            firmware: self.firmware || other.firmware,
            pw3: self.pw3 || other.pw3,
            energy: self.energy || other.energy,
        }
    }
}

/// What a document is built from: `required` inputs it cannot do without (their failure is
/// the document's failure), and `wanted` inputs that complete it (remote meters, PW3 voltages,
/// battery blocks, lifetime counters) and are left out only when they cannot be had at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Inputs {
    pub(crate) required: Needs,
    pub(crate) wanted: Needs,
}

/// The inputs of each document (mocked paths need none).
pub(crate) fn needs(kind: DataKind) -> Inputs {
    let config = Needs {
        config: true,
        ..Needs::default()
    };
    let status = Needs {
        status: true,
        ..Needs::default()
    };
    // Remote meters and PVAC come from the full controller; PW3 voltages, blocks and fans from
    // the components queries.
    let detail = Needs {
        controller: true,
        pw3: true,
        ..config
    };
    let (required, wanted) = match kind {
        // The full query carries SYNC_Uptime, the source of start_time and up_time_seconds.
        DataKind::Status => (
            Needs {
                controller: true,
                ..config
            },
            Needs {
                firmware: true,
                ..Needs::default()
            },
        ),
        DataKind::Aggregates => (
            config.union(status),
            Needs {
                energy: true,
                ..detail
            },
        ),
        // Battery blocks come from the vitals (§3.7, §3.9); instantaneous charge limits from
        // the full controller's components.msa.
        DataKind::SystemStatus => (config.union(status), detail),
        DataKind::Soe | DataKind::GridStatus => (status, Needs::default()),
        DataKind::Operation | DataKind::SiteInfo | DataKind::SiteName => (config, Needs::default()),
        DataKind::Powerwalls | DataKind::SolarPowerwall => (Needs::default(), Needs::default()),
        DataKind::FanSpeeds => (detail, Needs::default()),
        DataKind::Vitals => (detail.union(status), Needs::default()),
    };
    Inputs { required, wanted }
}

/// One query's outcome in this poll.
type Answer<T> = Option<Result<Arc<T>, GatewayError>>;

/// The answers gathered for one poll.
#[derive(Debug, Default)]
struct Gathered {
    config: Answer<Value>,
    status: Answer<Value>,
    controller: Answer<Value>,
    firmware: Option<Arc<FirmwareInfo>>,
    pw3: Answer<Option<Vitals>>,
    is_pw3: bool,
    /// The gateway's own aggregates (§2.14).
    energy: Option<Arc<Value>>,
}

impl Gathered {
    /// The first failure among the inputs `required` names.
    fn missing(&self, required: Needs) -> Option<&GatewayError> {
        let checks = [
            (required.config, error_of(&self.config)),
            (required.status, error_of(&self.status)),
            (required.controller, error_of(&self.controller)),
            (required.pw3 && self.is_pw3, error_of(&self.pw3)),
        ];
        checks
            .into_iter()
            .find_map(|(wanted, error)| error.filter(|_| wanted))
    }
}

fn error_of<T>(answer: &Answer<T>) -> Option<&GatewayError> {
    answer.as_ref().and_then(|result| result.as_ref().err())
}

fn value_of<T>(answer: &Answer<T>) -> Option<&T> {
    answer
        .as_ref()
        .and_then(|result| result.as_ref().ok())
        .map(Arc::as_ref)
}

/// A slower query's answer for this poll: fetched when its tier is due (always on a refresh),
/// else the last answer. A failed fetch is not repeated before the period is over, and the last
/// answer stands in while it is younger than [`STALE_PERIODS`] periods.
async fn tiered<T, F>(
    client: &TedapiClient,
    slot: &Slot<T>,
    period: Duration,
    refresh: bool,
    fetch: impl FnOnce(Duration) -> F,
) -> Result<Arc<T>, GatewayError>
where
    F: std::future::Future<Output = Result<Arc<T>, GatewayError>>,
{
    let now = client.clock.now();
    let kept = || slot.last_within(client.clock.now(), period.saturating_mul(STALE_PERIODS));
    let outcome = match slot.recent_failure(now, period).filter(|_| !refresh) {
        Some(err) => Err(err),
        None => fetch(if refresh { Duration::ZERO } else { period }).await,
    };
    match outcome {
        Ok(answer) => Ok(answer),
        Err(err) if err.is_link_failure() => Err(err),
        Err(err) => match kept() {
            Some(kept) => {
                tracing::debug!(target = client.target, error = %err, "keeping the last answer");
                Ok(kept)
            }
            None => Err(err),
        },
    }
}

impl TedapiClient {
    /// The documents of one poll, each built from the same set of answers (see the module doc).
    pub(crate) async fn poll_documents(&self, request: PollRequest<'_>) -> PollAnswers {
        let wanted = request
            .kinds
            .iter()
            .map(|kind| {
                let inputs = needs(*kind);
                inputs.required.union(inputs.wanted)
            })
            .fold(Needs::default(), Needs::union);
        let gathered = self.gather(wanted, request.refresh).await;
        let now = epoch_seconds();
        let previous = self.previous_boot();
        let inputs = inputs(&gathered, &self.target, now, previous.as_ref());
        let mut answers = Vec::with_capacity(request.kinds.len());
        for &kind in request.kinds {
            let answer = match gathered.missing(needs(kind).required) {
                Some(err) => Err(err.clone()),
                None => self.build(kind, &inputs, &gathered, previous.as_ref()),
            };
            let stop = answer.as_ref().is_err_and(GatewayError::is_link_failure);
            answers.push((kind, answer));
            if stop {
                break;
            }
        }
        answers
    }

    /// One document from the gathered answers.
    fn build(
        &self,
        kind: DataKind,
        inputs: &TedapiInputs<'_>,
        gathered: &Gathered,
        previous: Option<&crate::tedapi::convert::BootEstimate>,
    ) -> Result<Value, GatewayError> {
        let path = kind.local_path();
        let document = match kind {
            // The local path of vitals is a fixed null in TEDAPI modes; the dictionary is built here.
            DataKind::Vitals => vitals(inputs).map(Value::Object),
            DataKind::FanSpeeds => Some(fan_speeds(inputs)),
            _ => local_document(path, inputs),
        };
        if kind == DataKind::Status {
            let next = boot_estimate(value_of(&gathered.controller), previous);
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
            let Some(kind) = kind else {
                // Mocked paths (§3.11) need no gateway answer.
                let gathered = Gathered::default();
                let inputs = inputs(&gathered, &self.target, epoch_seconds(), None);
                return Ok(RawBody::Json(
                    local_document(bare, &inputs).unwrap_or(Value::Null),
                ));
            };
            let mut answers = self
                .poll_documents(PollRequest {
                    kinds: &[kind],
                    refresh: false,
                })
                .await;
            return match answers.pop() {
                Some((_, Ok(document))) => Ok(RawBody::Json(document)),
                Some((_, Err(err))) if err.is_link_failure() => Err(err),
                _ => Ok(RawBody::Json(Value::Null)),
            };
        }
        let ttl = self.config.cache_ttl;
        let document = match bare {
            DIN_PATH => return Ok(RawBody::Text(self.gateway_din().await?)),
            "/tedapi/config" => (*self.config_document(ttl).await?).clone(),
            "/tedapi/status" => (*self.controller_document(false, ttl).await?).clone(),
            "/tedapi/controller" => (*self.controller_document(true, ttl).await?).clone(),
            "/tedapi/firmware" => {
                // The SolarOnly probe reads this path (every PW_TEDAPI_PROBE_INTERVAL): its
                // answer also serves the slow tier of the polls (at most one request per probe).
                let firmware = self.firmware(ttl).await?;
                json!({"version": firmware.version, "git_hash": firmware.git_hash})
            }
            "/tedapi/components" => (*self.gateway_components(ttl).await?).clone(),
            "/tedapi/battery" => battery_blocks_document(&*self.config_document(ttl).await?),
            _ => {
                return Err(GatewayError::Unsupported {
                    mode: "tedapi-full",
                    what: format!("the gateway path {path}"),
                });
            }
        };
        Ok(RawBody::Json(document))
    }

    /// Runs the queries `needs` names, each per its tier, in the order of the connect sequence.
    /// After a failure of the link as a whole nothing more is sent: the remaining queries share
    /// that error.
    async fn gather(&self, needs: Needs, refresh: bool) -> Gathered {
        let mut gathered = Gathered::default();
        if needs == Needs::default() {
            return gathered;
        }
        let tiers = self.config.tiers;
        let mut down: Option<GatewayError> = None;
        macro_rules! run {
            ($fetch:expr) => {
                match &down {
                    Some(err) => Err(err.clone()),
                    None => {
                        let result = $fetch;
                        if let Err(err) = &result
                            && err.is_link_failure()
                        {
                            down = Some(err.clone());
                        }
                        result
                    }
                }
            };
        }
        if needs.config || needs.pw3 {
            gathered.config = Some(run!(
                tiered(self, &self.documents.config, tiers.config, refresh, |ttl| {
                    self.config_document(ttl)
                })
                .await
            ));
        }
        gathered.is_pw3 = self.is_pw3(value_of(&gathered.config));
        if needs.status {
            // The fast tier: every poll (the poll period is this TTL, so the last answer is
            // never young enough to be reused by the next poll).
            gathered.status = Some(run!(self.controller_document(false, tiers.fast).await));
        }
        if needs.controller {
            gathered.controller = Some(run!(
                tiered(
                    self,
                    &self.documents.controller,
                    tiers.detail,
                    refresh,
                    |ttl| { self.controller_document(true, ttl) }
                )
                .await
            ));
        }
        if needs.firmware && down.is_none() {
            let firmware = tiered(self, &self.documents.firmware, tiers.slow, refresh, |ttl| {
                self.firmware(ttl)
            })
            .await;
            gathered.firmware = match firmware {
                Ok(firmware) => Some(firmware),
                Err(err) => {
                    // §3.1: the version is optional; keep the last one seen.
                    tracing::debug!(error = %err, "firmware version unavailable");
                    self.documents.firmware.last()
                }
            };
        }
        if needs.pw3 && gathered.is_pw3 {
            let config = value_of(&gathered.config).cloned();
            gathered.pw3 = Some(run!(
                self.pw3_blocks(config.as_ref(), tiers.detail, refresh)
                    .await
                    .map(Arc::new)
            ));
        }
        if needs.energy && down.is_none() {
            gathered.energy = self.native_aggregates(tiers.slow).await;
        }
        gathered
    }

    /// The gateway-level components query (recipient = gateway DIN), cached for `ttl`.
    async fn gateway_components(&self, ttl: Duration) -> Result<Arc<Value>, GatewayError> {
        let din = self.gateway_din().await?;
        let request = TedapiRequest::query(self.config.api_version, QueryRole::Components, &din)?;
        self.components(&self.documents.components, request, query::COMPONENTS, ttl)
            .await
    }

    /// The PW3 blocks (§2.13) from the components queries of the detail tier: the gateway-level
    /// query must answer (or have answered within the stale window); a Powerwall whose own query
    /// fails keeps its last answer within that window, else it is skipped.
    async fn pw3_blocks(
        &self,
        config: Option<&Value>,
        period: Duration,
        refresh: bool,
    ) -> Result<Option<Vitals>, GatewayError> {
        let gateway = tiered(self, &self.documents.components, period, refresh, |ttl| {
            self.gateway_components(ttl)
        })
        .await?;
        let gateway_din = self.gateway_din().await?;
        let version = self.config.api_version;
        let mut answers = HashMap::new();
        for wanted in pw3_component_requests(config) {
            let Some(din) = wanted.din else { continue };
            if !wanted.via_leader && din == gateway_din {
                // A single-Powerwall site: the unit's own query is the gateway-level query
                // (same recipient, same bytes), answered a moment ago; sending it twice would
                // only load the gateway.
                answers.insert(din, (*gateway).clone());
                continue;
            }
            let request = if wanted.via_leader {
                TedapiRequest::device_query(version, QueryRole::Components, &gateway_din, &din)?
            } else {
                TedapiRequest::query(version, QueryRole::Components, &din)?
            };
            let slot = self.documents.device(&din);
            let name = query::unit_components(&din);
            let answer = tiered(self, &slot, period, refresh, |ttl| {
                self.components(&slot, request, &name, ttl)
            })
            .await;
            match answer {
                Ok(answer) => {
                    answers.insert(din, (*answer).clone());
                }
                Err(err) if err.is_link_failure() => return Err(err),
                Err(err) => tracing::warn!(din, error = %err, "skipping this Powerwall's vitals"),
            }
        }
        Ok(pw3_vitals(config, Some(&gateway), &answers))
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
        config: value_of(&gathered.config),
        status: value_of(&gathered.status),
        controller: value_of(&gathered.controller),
        pw3_vitals: value_of(&gathered.pw3).and_then(Option::as_ref),
        is_pw3: gathered.is_pw3,
        firmware: gathered.firmware.as_deref(),
        native_aggregates: gathered.energy.as_deref(),
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
