//! TEDAPI hybrid mode (gateway-protocols §3.13): the local API with the customer password for
//! everything, plus TEDAPI with the gateway password for the device vitals the local API lost.

use crate::local::LocalClient;
use crate::tedapi::client::TedapiClient;
use crate::{
    AccessMode, DataKind, GatewayAccess, GatewayControl, GatewayError, GridExportRule,
    OperationMode, PollAnswers, PollRequest, QueryActivity, RawBody, ReserveLevel, UpstreamStats,
};

/// Local API client plus a TEDAPI client for vitals, on the same gateway.
#[derive(Debug)]
pub struct HybridClient {
    local: LocalClient,
    tedapi: TedapiClient,
}

impl HybridClient {
    /// Combines the two clients (both must point at the same gateway).
    pub fn new(local: LocalClient, tedapi: TedapiClient) -> Self {
        Self { local, tedapi }
    }
}

#[async_trait::async_trait]
impl GatewayAccess for HybridClient {
    fn mode(&self) -> AccessMode {
        AccessMode::TedapiHybrid
    }

    fn target(&self) -> &str {
        self.local.target()
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        self.local.connect().await
    }

    async fn fetch(&self, kind: DataKind) -> Result<serde_json::Value, GatewayError> {
        match kind {
            // Firmware 23.44+ dropped /api/devices/vitals; TEDAPI still has them.
            DataKind::Vitals | DataKind::FanSpeeds => self.tedapi.fetch(kind).await,
            _ => self.local.fetch(kind).await,
        }
    }

    async fn fetch_raw(&self, path: &str) -> Result<RawBody, GatewayError> {
        if path.starts_with("/tedapi/") {
            self.tedapi.fetch_raw(path).await
        } else {
            self.local.fetch_raw(path).await
        }
    }

    /// Local-API documents one after the other, then the TEDAPI ones (vitals, fans) as one
    /// TEDAPI poll.
    async fn poll(&self, request: PollRequest<'_>) -> PollAnswers {
        let over_tedapi = |kind: &DataKind| matches!(kind, DataKind::Vitals | DataKind::FanSpeeds);
        let local: Vec<DataKind> = request
            .kinds
            .iter()
            .copied()
            .filter(|kind| !over_tedapi(kind))
            .collect();
        let tedapi: Vec<DataKind> = request.kinds.iter().copied().filter(over_tedapi).collect();
        let mut answers = self
            .local
            .poll(PollRequest {
                kinds: &local,
                refresh: request.refresh,
            })
            .await;
        let link_down = answers.len() < local.len()
            || answers.last().is_some_and(|(_, answer)| {
                answer.as_ref().is_err_and(GatewayError::is_link_failure)
            });
        if !link_down && !tedapi.is_empty() {
            answers.extend(
                self.tedapi
                    .poll(PollRequest {
                        kinds: &tedapi,
                        refresh: request.refresh,
                    })
                    .await,
            );
        }
        answers
    }

    fn plan_activity(&self) -> Vec<QueryActivity> {
        let mut activity = self.local.plan_activity();
        activity.extend(self.tedapi.plan_activity().into_iter().map(|mut row| {
            row.query = format!("tedapi {}", row.query);
            row
        }));
        activity
    }

    fn upstream(&self) -> UpstreamStats {
        let (local, tedapi) = (self.local.upstream(), self.tedapi.upstream());
        UpstreamStats {
            requests: local.requests + tedapi.requests,
            logins: local.logins + tedapi.logins,
            errors: local.errors + tedapi.errors,
        }
    }

    fn control(&self) -> Option<&dyn GatewayControl> {
        Some(self)
    }
}

/// Writes go to the local API (TEDAPI v1 has no write path).
#[async_trait::async_trait]
impl GatewayControl for HybridClient {
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<serde_json::Value, GatewayError> {
        self.local.set_operation(reserve, mode).await
    }

    /// Delegated to the local API, which has no grid-charging write.
    async fn set_grid_charging(&self, allowed: bool) -> Result<serde_json::Value, GatewayError> {
        self.local.set_grid_charging(allowed).await
    }

    /// Delegated to the local API, which has no grid-export write.
    async fn set_grid_export(
        &self,
        rule: GridExportRule,
    ) -> Result<serde_json::Value, GatewayError> {
        self.local.set_grid_export(rule).await
    }
}
