//! What both Tesla clients do with an energy site: the local API's documents from the cached
//! site reads (gateway-protocols §5.4, §6.3), `fetch_raw`, the grid settings, and the writes
//! (reserve, mode, grid charging, grid export; the bodies are `cloud::write::commands`).
//!
//! Reserve and mode are two separate commands and only the fields given are sent: Tesla applies
//! them asynchronously, and a back-filled value sent with the other change can make it drop that
//! change.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::call::Credentials;
use crate::cloud::RawPath;
use crate::cloud::convert;
use crate::cloud::write::commands;
use crate::{
    AccessMode, DataKind, GatewayError, GridExportRule, OperationMode, RawBody, ReserveLevel,
};

/// The energy-site documents both APIs serve (below `api/1/energy_sites/{id}/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteDocument {
    /// `live_status`: power flows, SOE, grid state.
    LiveStatus,
    /// `site_info`: configuration, reserve, mode, tariff.
    SiteInfo,
    /// `site_status`: name, gateway id, battery summary.
    SiteStatus,
    /// `backup_time_remaining`.
    BackupTimeRemaining,
}

impl SiteDocument {
    /// Whether the document holds the site's settings rather than live values.
    pub fn is_settings(self) -> bool {
        matches!(self, Self::SiteInfo | Self::SiteStatus)
    }

    /// The path below `api/1/energy_sites/{id}/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LiveStatus => "live_status",
            Self::SiteInfo => "site_info",
            Self::SiteStatus => "site_status",
            Self::BackupTimeRemaining => "backup_time_remaining",
        }
    }
}

/// What a Tesla client brings to the shared energy-site logic.
#[async_trait::async_trait]
pub(crate) trait TeslaSite: Credentials {
    /// The access mode the client speaks.
    const ACCESS: AccessMode;
    /// The mode named in `Unsupported` errors (`cloud`, `fleetapi`).
    const MODE: &'static str;
    /// The source a document has none of (`cloud`, `Fleet API`).
    const SOURCE: &'static str;
    /// The document `/api/system_status/soe` is read from.
    const SOE: SiteDocument;

    /// Logs in when needed and chooses the site (`GatewayAccess::connect`).
    async fn connect_site(&self) -> Result<(), GatewayError>;

    /// One document through the client's cache and single flight.
    async fn document(&self, which: SiteDocument) -> Result<Arc<Value>, GatewayError>;

    /// The site's tariff (`/api/tesla/tariff_rate`).
    async fn tariff(&self) -> Result<Value, GatewayError>;

    /// Sends one site command (`name`, JSON body) and drops the cached `site_info` whatever the
    /// outcome (a write that timed out may still have happened); the command's result.
    async fn command(&self, name: &str, body: Value) -> Result<Value, GatewayError>;

    /// The reserve as the `backup` command sends it.
    fn reserve_value(level: ReserveLevel) -> Value;

    /// The gateway DIN the write results name, when the client names one.
    async fn din(&self) -> Result<Option<Value>, GatewayError> {
        Ok(None)
    }
}

/// The documents `kind` is built from, in reading order.
fn sources(kind: DataKind, soe: SiteDocument) -> &'static [SiteDocument] {
    use SiteDocument::{LiveStatus, SiteInfo, SiteStatus};
    match kind {
        DataKind::Status | DataKind::Operation | DataKind::SiteInfo | DataKind::SiteName => {
            &[SiteInfo]
        }
        DataKind::Soe if soe == SiteStatus => &[SiteStatus],
        DataKind::Soe | DataKind::GridStatus => &[LiveStatus],
        DataKind::Aggregates | DataKind::Vitals => &[LiveStatus, SiteInfo],
        DataKind::SystemStatus => &[SiteStatus, SiteInfo, LiveStatus],
        DataKind::SolarPowerwall | DataKind::Powerwalls | DataKind::FanSpeeds => &[],
    }
}

/// One document in the local API's shape from the site documents; SOE from `live` or `status`.
pub(crate) fn map_document(
    kind: DataKind,
    soe: SiteDocument,
    live: &Value,
    site_info: &Value,
    site_status: &Value,
    now_unix: u64,
) -> Value {
    match kind {
        DataKind::Status => convert::status(site_info),
        DataKind::Aggregates => convert::aggregates(live, site_info),
        DataKind::Soe if soe == SiteDocument::SiteStatus => convert::soe(site_status),
        DataKind::Soe => convert::soe(live),
        DataKind::GridStatus => convert::grid_status(live),
        DataKind::SystemStatus => convert::system_status(site_status, site_info, live),
        DataKind::Operation => convert::operation(site_info),
        DataKind::SiteInfo => convert::site_info(site_info),
        DataKind::SiteName => convert::site_name(site_info),
        DataKind::Vitals => convert::vitals(site_info, live, now_unix),
        // Mocked without a gateway (gateway-protocols §3.11); no cloud source for the others.
        DataKind::SolarPowerwall | DataKind::Powerwalls | DataKind::FanSpeeds => json!({}),
    }
}

/// `GatewayAccess::fetch`: the document `kind` from the site reads it needs.
pub(crate) async fn fetch<S: TeslaSite>(site: &S, kind: DataKind) -> Result<Value, GatewayError> {
    if matches!(kind, DataKind::Powerwalls | DataKind::FanSpeeds) {
        return Err(GatewayError::Unsupported {
            mode: S::MODE,
            what: format!("{} (no {} source)", kind.local_path(), S::SOURCE),
        });
    }
    let null = Arc::new(Value::Null);
    let (mut live, mut info, mut status) = (null.clone(), null.clone(), null);
    for which in sources(kind, S::SOE) {
        let answer = site.document(*which).await?;
        match which {
            SiteDocument::LiveStatus => live = answer,
            SiteDocument::SiteInfo => info = answer,
            SiteDocument::SiteStatus => status = answer,
            SiteDocument::BackupTimeRemaining => {}
        }
    }
    let now = super::unix_now().trunc() as u64;
    Ok(map_document(kind, S::SOE, &live, &info, &status, now))
}

/// `GatewayAccess::fetch_raw`: vitals are JSON `null` (no cloud protobuf), the tariff and the
/// mapped documents are JSON; any other path is unsupported.
pub(crate) async fn fetch_raw<S: TeslaSite>(site: &S, path: &str) -> Result<RawBody, GatewayError> {
    match RawPath::classify(path) {
        RawPath::Vitals => Ok(RawBody::Json(Value::Null)),
        RawPath::Tariff => site.tariff().await.map(RawBody::Json),
        RawPath::Document(kind) => fetch(site, kind).await.map(RawBody::Json),
        RawPath::Unknown(bare) => Err(GatewayError::Unsupported {
            mode: S::MODE,
            what: format!("the gateway path {bare}"),
        }),
    }
}

/// Backup time remaining in hours (0.0 when missing).
pub(crate) async fn time_remaining<S: TeslaSite>(site: &S) -> Result<f64, GatewayError> {
    let answer = site.document(SiteDocument::BackupTimeRemaining).await?;
    Ok(convert::time_remaining(&answer))
}

/// Whether charging from the grid is allowed (from `site_info`).
pub(crate) async fn grid_charging<S: TeslaSite>(site: &S) -> Result<bool, GatewayError> {
    let info = site.document(SiteDocument::SiteInfo).await?;
    Ok(convert::grid_charging(&info))
}

/// The grid export rule (from `site_info`).
pub(crate) async fn grid_export<S: TeslaSite>(site: &S) -> Result<String, GatewayError> {
    let info = site.document(SiteDocument::SiteInfo).await?;
    Ok(convert::grid_export(&info))
}

/// `POST …/backup` and/or `POST …/operation`, only the fields given; the result names each
/// command's answer (and the DIN, when the client has one).
pub(crate) async fn set_operation<S: TeslaSite>(
    site: &S,
    reserve: Option<ReserveLevel>,
    mode: Option<OperationMode>,
) -> Result<Value, GatewayError> {
    commands::require_some(reserve, mode)?;
    let din = site.din().await?;
    let entry = |mut fields: Map<String, Value>, answer: Value| {
        if let Some(din) = &din {
            fields.insert("din".to_owned(), din.clone());
        }
        fields.insert("result".to_owned(), answer);
        Value::Object(fields)
    };
    let mut result = Map::new();
    if let Some(level) = reserve {
        let (name, body) = commands::reserve(S::reserve_value(level));
        let answer = site.command(name, body).await?;
        let mut fields = Map::new();
        fields.insert("backup_reserve_percent".to_owned(), level.to_json());
        result.insert(
            "set_backup_reserve_percent".to_owned(),
            entry(fields, answer),
        );
    }
    if let Some(mode) = mode {
        let (name, body) = commands::mode(mode);
        let answer = site.command(name, body).await?;
        let mut fields = Map::new();
        fields.insert("real_mode".to_owned(), mode.as_str().into());
        result.insert("set_operation".to_owned(), entry(fields, answer));
    }
    Ok(Value::Object(result))
}

/// `POST …/grid_import_export` `{"disallow_charge_from_grid_with_solar_installed": !allowed}`.
pub(crate) async fn set_grid_charging<S: TeslaSite>(
    site: &S,
    allowed: bool,
) -> Result<Value, GatewayError> {
    let (name, body) = commands::grid_charging(allowed);
    site.command(name, body).await
}

/// `POST …/grid_import_export` `{"customer_preferred_export_rule": rule}`.
pub(crate) async fn set_grid_export<S: TeslaSite>(
    site: &S,
    rule: GridExportRule,
) -> Result<Value, GatewayError> {
    let (name, body) = commands::grid_export(rule);
    site.command(name, body).await
}
