//! [`GatewayAccess`] and [`GatewayControl`] of every Tesla cloud client, from its [`TeslaSite`].

use serde_json::Value;

use super::site::{self, TeslaSite};
use crate::{
    AccessMode, DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule,
    OperationMode, RawBody, ReserveLevel, UpstreamStats,
};

#[async_trait::async_trait]
impl<S: TeslaSite + std::fmt::Debug + 'static> GatewayAccess for S {
    fn mode(&self) -> AccessMode {
        S::ACCESS
    }

    fn target(&self) -> &str {
        self.exchange().target()
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        self.connect_site().await
    }

    async fn fetch(&self, kind: DataKind) -> Result<Value, GatewayError> {
        site::fetch(self, kind).await
    }

    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
        site::fetch_raw(self, path).await
    }

    fn upstream(&self) -> UpstreamStats {
        self.exchange().counters.snapshot()
    }

    fn control(&self) -> Option<&dyn GatewayControl> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl<S: TeslaSite + std::fmt::Debug + 'static> GatewayControl for S {
    /// `POST …/backup` `{"backup_reserve_percent": level}` (as [`TeslaSite::reserve_value`]
    /// gives it) and/or `POST …/operation` `{"default_real_mode": mode}`; only the fields given.
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<Value, GatewayError> {
        site::set_operation(self, reserve, mode).await
    }

    /// `POST …/grid_import_export` `{"disallow_charge_from_grid_with_solar_installed": !allowed}`.
    async fn set_grid_charging(&self, allowed: bool) -> Result<Value, GatewayError> {
        site::set_grid_charging(self, allowed).await
    }

    /// `POST …/grid_import_export` `{"customer_preferred_export_rule": rule}`.
    async fn set_grid_export(&self, rule: GridExportRule) -> Result<Value, GatewayError> {
        site::set_grid_export(self, rule).await
    }
}
