//! Unit tests of the controller, with a fake gateway and a fake poller.

use std::sync::Mutex;
use std::time::SystemTime;

use powerwall_gateway::local::{LocalClient, LocalConfig};
use powerwall_gateway::tedapi::client::{TedapiClient, TedapiConfig};
use powerwall_gateway::{
    AccessMode, DataKind, GatewayAccess, GatewayError, GridExportRule, OperationMode, RawBody,
    ReserveLevel, UpstreamStats,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::*;
use crate::cloud_link::CloudRole;
use crate::engine::Snapshot;
use crate::engine::on_demand::OnDemandConfig;
use crate::engine::snapshot::Document;

/// A gateway whose writes are recorded and answered with `result`.
struct FakeGateway {
    mode: AccessMode,
    writes: bool,
    result: Value,
    operation: Value,
    written: Mutex<Vec<(Option<ReserveLevel>, Option<OperationMode>)>>,
}

impl FakeGateway {
    fn new(mode: AccessMode, writes: bool, result: Value) -> Arc<Self> {
        Arc::new(Self {
            mode,
            writes,
            result,
            operation: json!({"real_mode": "backup", "backup_reserve_percent": 24.0}),
            written: Mutex::default(),
        })
    }

    fn written(&self) -> Vec<(Option<ReserveLevel>, Option<OperationMode>)> {
        self.written.lock().expect("lock").clone()
    }
}

#[async_trait::async_trait]
impl GatewayAccess for FakeGateway {
    fn mode(&self) -> AccessMode {
        self.mode
    }

    fn target(&self) -> &str {
        "fake"
    }

    async fn connect(&self) -> Result<(), GatewayError> {
        Ok(())
    }

    async fn fetch(&self, kind: DataKind) -> Result<Value, GatewayError> {
        match kind {
            DataKind::Operation => Ok(self.operation.clone()),
            _ => Err(GatewayError::Config("not faked".to_owned())),
        }
    }

    async fn fetch_raw(&self, _path: &str) -> Result<RawBody, GatewayError> {
        Ok(RawBody::Json(
            json!({"site_info": {"customer_preferred_export_rule": "PV_ONLY"}}),
        ))
    }

    fn upstream(&self) -> UpstreamStats {
        UpstreamStats::default()
    }

    fn control(&self) -> Option<&dyn GatewayControl> {
        self.writes.then_some(self as &dyn GatewayControl)
    }
}

#[async_trait::async_trait]
impl GatewayControl for FakeGateway {
    async fn set_operation(
        &self,
        reserve: Option<ReserveLevel>,
        mode: Option<OperationMode>,
    ) -> Result<Value, GatewayError> {
        self.written.lock().expect("lock").push((reserve, mode));
        Ok(self.result.clone())
    }

    async fn set_grid_charging(&self, _allowed: bool) -> Result<Value, GatewayError> {
        Err(powerwall_gateway::unsupported_write(self.mode, "grid"))
    }

    async fn set_grid_export(&self, _rule: GridExportRule) -> Result<Value, GatewayError> {
        Err(powerwall_gateway::unsupported_write(self.mode, "grid"))
    }
}

/// A poller that reports every refresh request on a channel and publishes what the test says.
struct FakePoller {
    access: Arc<dyn GatewayAccess>,
    publisher: watch::Sender<Arc<Snapshot>>,
    refreshes: mpsc::UnboundedSender<Vec<DataKind>>,
}

impl Poller for FakePoller {
    fn access(&self) -> &Arc<dyn GatewayAccess> {
        &self.access
    }

    fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.publisher.subscribe()
    }

    fn refresh(&self, kinds: Vec<DataKind>) {
        let _ = self.refreshes.send(kinds);
    }
}

impl FakePoller {
    /// Publishes a snapshot whose `/api/operation` was read now.
    fn publish_operation(&self, document: Value) {
        let mut snapshot = Snapshot::empty();
        snapshot.documents.insert(
            DataKind::Operation,
            Document {
                json: Arc::new(document),
                fetched_at: Instant::now(),
                fetched_wall: SystemTime::now(),
                expires_at: Instant::now() + Duration::from_secs(60),
            },
        );
        self.publisher.send_replace(Arc::new(snapshot));
    }
}

const TIMING: Timing = Timing {
    wait: Duration::from_secs(7),
    settle: Duration::from_secs(5),
};

struct Rig {
    controller: Controller,
    poller: Arc<FakePoller>,
    refreshes: mpsc::UnboundedReceiver<Vec<DataKind>>,
}

fn rig(access: Arc<dyn GatewayAccess>, link: Option<Arc<CloudLink>>) -> Rig {
    let (publisher, _) = watch::channel(Arc::new(Snapshot::empty()));
    let (tx, refreshes) = mpsc::unbounded_channel();
    let poller = Arc::new(FakePoller {
        access: Arc::clone(&access),
        publisher,
        refreshes: tx,
    });
    let on_demand = Arc::new(OnDemand::new(
        access,
        OnDemandConfig {
            fresh_for: Duration::from_secs(5),
            serve_stale_for: Duration::from_secs(60),
            retry_after_failure: Duration::from_secs(5),
            wait_at_most: Duration::from_secs(5),
            upstream_limit: Duration::from_secs(10),
            probe_every: Duration::from_secs(5),
            max_entries: 8,
        },
    ));
    let controller = Controller::new(
        Arc::clone(&poller) as Arc<dyn Poller>,
        link,
        on_demand,
        TIMING,
    );
    Rig {
        controller,
        poller,
        refreshes,
    }
}

/// A cloud link whose login cannot work (no auth file): it never connects, without any I/O
/// beyond looking for the file.
fn broken_link(role: CloudRole) -> Arc<CloudLink> {
    let config = powerwall_gateway::cloud::CloudConfig::new(
        "owner@example.com",
        "/nonexistent/powerwall-auth-dir",
    );
    let client = powerwall_gateway::cloud::CloudClient::new(config).expect("valid config");
    Arc::new(CloudLink::new(Arc::new(client), role))
}

fn level(percent: u64) -> ReserveLevel {
    ReserveLevel::whole(percent).expect("0-100")
}

#[tokio::test]
async fn a_mode_without_a_write_path_is_not_supported() {
    let gateway = FakeGateway::new(AccessMode::TedapiFull, false, json!({}));
    let mut rig = rig(gateway.clone(), None);
    assert_eq!(rig.controller.backend(), None);
    let err = rig
        .controller
        .apply(Command::Reserve(level(50)))
        .await
        .expect_err("no backend");
    assert!(matches!(err, ControlError::NotSupported), "{err}");
    assert!(err.needs_setup());
    let err = rig
        .controller
        .apply_direct(Command::Mode(OperationMode::Backup))
        .await
        .expect_err("no backend");
    assert!(matches!(err, ControlError::NotSupported), "{err}");
    assert!(gateway.written().is_empty());
    assert!(rig.refreshes.try_recv().is_err());
}

#[tokio::test]
async fn a_cloud_link_that_does_not_connect_needs_setup_but_the_direct_write_works() {
    let gateway = FakeGateway::new(AccessMode::Local, true, json!({"real_mode": "backup"}));
    let rig = rig(gateway.clone(), Some(broken_link(CloudRole::HybridControl)));
    assert_eq!(rig.controller.backend(), Some(BackendKind::Cloud));
    let err = rig
        .controller
        .apply(Command::Reserve(level(50)))
        .await
        .expect_err("run setup");
    assert!(matches!(err, ControlError::RunSetup), "{err}");
    assert!(gateway.written().is_empty());
    // The gateway API write goes to the gateway's own client; the poller reads it back.
    let poller = Arc::clone(&rig.poller);
    let mut refreshes = rig.refreshes;
    let answer = tokio::spawn(async move {
        refreshes.recv().await.expect("a refresh");
        poller.publish_operation(json!({"real_mode": "backup", "backup_reserve_percent": 50}));
    });
    let outcome = rig
        .controller
        .apply_direct(Command::Reserve(level(50)))
        .await
        .expect("written");
    answer.await.expect("answered");
    assert_eq!(outcome.backend, BackendKind::Local);
    assert_eq!(gateway.written(), vec![(Some(level(50)), None)]);
}

#[tokio::test]
async fn a_write_asks_for_a_refresh_and_answers_the_read_back() {
    let result = json!({"real_mode": "self_consumption", "backup_reserve_percent": 40});
    let gateway = FakeGateway::new(AccessMode::Local, true, result.clone());
    let mut rig = rig(gateway.clone(), None);
    assert_eq!(rig.controller.backend(), Some(BackendKind::Local));
    let poller = Arc::clone(&rig.poller);
    let observed = json!({"real_mode": "self_consumption", "backup_reserve_percent": 40});
    let published = observed.clone();
    let answer = tokio::spawn(async move {
        let kinds = rig.refreshes.recv().await.expect("a refresh");
        poller.publish_operation(published);
        kinds
    });
    let command = Command::Operation {
        reserve: level(40),
        mode: OperationMode::SelfConsumption,
    };
    let outcome = rig.controller.apply(command).await.expect("written");
    assert_eq!(answer.await.expect("answered"), vec![DataKind::Operation]);
    assert_eq!(outcome.command, command);
    assert_eq!(outcome.backend, BackendKind::Local);
    assert_eq!(outcome.result, result);
    assert_eq!(outcome.read_back, ReadBack::Operation(Some(observed)));
    assert_eq!(
        gateway.written(),
        vec![(Some(level(40)), Some(OperationMode::SelfConsumption))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_poller_is_replaced_by_one_direct_read_after_the_wait() {
    let gateway = FakeGateway::new(AccessMode::Local, true, json!({"real_mode": "backup"}));
    let mut rig = rig(gateway.clone(), None);
    let started = Instant::now();
    let outcome = rig
        .controller
        .apply(Command::Mode(OperationMode::Backup))
        .await
        .expect("written");
    assert!(started.elapsed() >= TIMING.wait);
    assert_eq!(
        rig.refreshes.try_recv().ok(),
        Some(vec![DataKind::Operation])
    );
    assert_eq!(
        outcome.read_back,
        ReadBack::Operation(Some(gateway.operation.clone()))
    );
}

#[tokio::test]
async fn failures_the_backend_reports_are_rejected_without_a_read_back() {
    for result in [
        Value::Null,
        json!(false),
        json!({"error": "Failed to write config"}),
    ] {
        let gateway = FakeGateway::new(AccessMode::Local, true, result.clone());
        let mut rig = rig(gateway, None);
        let err = rig
            .controller
            .apply(Command::Reserve(level(10)))
            .await
            .expect_err("rejected");
        assert!(
            matches!(&err, ControlError::Rejected(doc) if *doc == result),
            "{err}"
        );
        assert!(!err.needs_setup());
        assert!(rig.refreshes.try_recv().is_err());
    }
    let gateway = FakeGateway::new(AccessMode::Local, true, json!(true));
    let rig = rig(gateway, None);
    let err = rig
        .controller
        .apply(Command::GridExport(GridExportRule::PvOnly))
        .await
        .expect_err("the local API has no grid write");
    assert!(
        matches!(err, ControlError::Backend(GatewayError::Unsupported { .. })),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_later_read_back_runs_after_the_settle_time() {
    let gateway = FakeGateway::new(AccessMode::Local, true, json!({}));
    let mut rig = rig(gateway, None);
    let poller = Arc::clone(&rig.poller) as Arc<dyn Poller>;
    rig.controller
        .tasks
        .read_back_later(poller, TIMING.settle, TIMING.wait, "Set Mode".to_owned());
    assert_eq!(rig.controller.pending_tasks(), 1);
    tokio::time::sleep(TIMING.settle / 2).await;
    assert!(rig.refreshes.try_recv().is_err());
    tokio::time::sleep(TIMING.settle).await;
    assert_eq!(
        rig.refreshes.try_recv().ok(),
        Some(vec![DataKind::Operation])
    );
    tokio::time::sleep(TIMING.wait * 2).await;
    assert_eq!(rig.controller.pending_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_controller_aborts_its_read_backs() {
    let gateway = FakeGateway::new(AccessMode::Local, true, json!({}));
    let mut rig = rig(gateway, None);
    let poller = Arc::clone(&rig.poller) as Arc<dyn Poller>;
    rig.controller
        .tasks
        .read_back_later(poller, TIMING.settle, TIMING.wait, "Set Mode".to_owned());
    assert_eq!(rig.controller.pending_tasks(), 1);
    drop(rig.controller);
    tokio::time::sleep(TIMING.settle * 3).await;
    assert!(rig.refreshes.try_recv().is_err());
    // The task held the poller; once aborted, only the test's handle is left.
    assert_eq!(Arc::strong_count(&rig.poller), 1);
}

#[tokio::test]
async fn grid_reads_come_from_the_tedapi_config_without_a_link() {
    let tedapi = rig(
        FakeGateway::new(AccessMode::TedapiFull, false, json!({})),
        None,
    );
    assert_eq!(tedapi.controller.grid_charging(false).await, Some(true));
    assert_eq!(
        tedapi.controller.grid_export(false).await.as_deref(),
        Some("pv_only")
    );
    let local = rig(FakeGateway::new(AccessMode::Local, true, json!({})), None);
    assert_eq!(local.controller.grid_charging(false).await, None);
    assert_eq!(local.controller.grid_export(false).await, None);
}

#[test]
fn modes_with_a_write_path() {
    assert!(writable(AccessMode::Local));
    assert!(writable(AccessMode::TedapiHybrid));
    for mode in [
        AccessMode::TedapiFull,
        AccessMode::V1r,
        AccessMode::Cloud,
        AccessMode::Fleet,
    ] {
        assert!(!writable(mode), "{mode}");
    }
    assert!(reads_tedapi_config(AccessMode::TedapiFull));
    assert!(!reads_tedapi_config(AccessMode::Local));
}

#[test]
fn the_clients_agree_with_the_modes_that_write_locally() {
    let local = || LocalClient::new(LocalConfig::new("127.0.0.1:9", "ABCDE")).expect("local");
    let tedapi = || TedapiClient::new(TedapiConfig::new("127.0.0.1:9", "ABCDEFGHIJ")).expect("ted");
    let hybrid = powerwall_gateway::hybrid::HybridClient::new(local(), tedapi());
    let clients: [&dyn GatewayAccess; 3] = [&local(), &tedapi(), &hybrid];
    for client in clients {
        let mode = client.mode();
        assert_eq!(client.control().is_some(), writable(mode), "{mode}");
    }
}
