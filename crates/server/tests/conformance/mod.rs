//! The per-mode harness (DESIGN.md "Testing"): one frozen simulator and our server in one access
//! mode — local API, TEDAPI, Tesla cloud (Owner API) or Fleet API — and the suite every mode must
//! pass against it ([`suite::run`]). Test files that include this module include `common` too.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod suite;

use powerwall_server::RunningServer;
use powerwall_simulator::{SimulatorConfig, SimulatorHandle};
use serde_json::Value;

use crate::common::*;

/// The control secret every conformance server runs with.
pub const SECRET: &str = "conformance-secret";

/// One way of reaching the gateway, as the server selects it from its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The local API with the customer password (`PW_HOST` + `PW_PASSWORD`).
    Local,
    /// TEDAPI with the gateway password only (`PW_HOST` + `PW_GW_PWD`).
    Tedapi,
    /// The Tesla Owner API (no host, a `.pypowerwall.auth` login).
    Cloud,
    /// The Fleet API (no host, a `.pypowerwall.fleetapi` token file).
    Fleet,
}

/// A simulator and our server in one mode, with the directories they use.
pub struct Site {
    /// The access mode of the server.
    pub mode: Mode,
    /// The simulator (clock frozen).
    pub sim: SimulatorHandle,
    /// Our server.
    pub server: RunningServer,
    /// The Tesla auth directory (cloud and Fleet modes; an empty one otherwise).
    pub auth: tempfile::TempDir,
    _cache: tempfile::TempDir,
}

impl Site {
    /// The auth directory (where the cloud login or Fleet token file lives).
    pub fn auth_path(&self) -> &std::path::Path {
        self.auth.path()
    }

    /// Stops the server and the simulator.
    pub async fn shutdown(self) {
        self.server.shutdown().await.unwrap();
        self.sim.shutdown();
    }
}

impl Mode {
    /// Every mode, in the order the suite runs them.
    pub const ALL: [Mode; 4] = [Mode::Local, Mode::Tedapi, Mode::Cloud, Mode::Fleet];

    /// A frozen simulator and a server in this mode that has served its first poll.
    pub async fn start(self) -> Site {
        self.start_on(frozen_simulator().await).await
    }

    /// A server in this mode (control on, [`SECRET`]) against `sim`, once its first poll has
    /// served the simulator's solar power.
    pub async fn start_on(self, sim: SimulatorHandle) -> Site {
        let auth = tempfile::tempdir().expect("auth dir");
        let mut args: Vec<String> = match self {
            Mode::Local => vec![
                "--host".into(),
                sim.host(),
                "--password".into(),
                sim.config().customer_password.clone(),
            ],
            Mode::Tedapi => vec![
                "--host".into(),
                sim.host(),
                "--gw-pwd".into(),
                sim.config().gateway_password.clone(),
            ],
            Mode::Cloud => {
                cloud_login(&sim, auth.path());
                cloud_args(&sim, auth.path())
            }
            Mode::Fleet => {
                fleet_login(&sim, auth.path());
                fleet_args(&sim, auth.path())
            }
        };
        args.extend(["--control-secret".to_owned(), SECRET.to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (server, cache) = server_with(&args).await;
        wait_for_solar(&server, sim.reading().solar_w).await;
        Site {
            mode: self,
            sim,
            server,
            auth,
            _cache: cache,
        }
    }

    /// The proxy's `mode` text in `/health` and `/stats` with control on.
    pub fn proxy_mode(self) -> &'static str {
        match self {
            Mode::Local => "Local",
            Mode::Tedapi => "Local (full+control)",
            Mode::Cloud => "Cloud",
            Mode::Fleet => "FleetAPI",
        }
    }

    /// The access mode's name in the `/health` `gateway` block.
    pub fn gateway_mode(self) -> &'static str {
        match self {
            Mode::Local => "local",
            Mode::Tedapi => "tedapi-full",
            Mode::Cloud => "cloud",
            Mode::Fleet => "fleetapi",
        }
    }

    /// Whether the mode has a write path of its own (TEDAPI full has none without a Tesla login).
    pub fn writes(self) -> bool {
        self != Mode::Tedapi
    }

    /// The gateway's raw reserve after writing `app` % through `/control/reserve`: the local
    /// field is raw scale and takes the value unchanged, Tesla's APIs take the app scale.
    pub fn raw_reserve_after_write(self, app: f64) -> f64 {
        match self {
            Mode::Local | Mode::Tedapi => app,
            Mode::Cloud | Mode::Fleet => app * 0.95 + 5.0,
        }
    }
}

/// A simulator whose clock stands still, so model values can be compared exactly.
pub async fn frozen_simulator() -> SimulatorHandle {
    powerwall_simulator::start(SimulatorConfig {
        freeze_clock: true,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Whether two floats agree to a micro-unit.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The app's battery scale (what Tesla's apps and `/api/system_status/soe` show) of a raw value.
pub fn app_scale(raw: f64) -> f64 {
    (raw - 5.0) / 0.95
}

/// Waits until the server's aggregates show `solar_w`.
pub async fn wait_for_solar(server: &RunningServer, solar_w: f64) {
    eventually(
        "the simulator's solar power in /api/meters/aggregates",
        || async {
            let (status, body) = get(server, "/api/meters/aggregates").await;
            let value: Value = serde_json::from_str(&body).ok()?;
            let solar = value["solar"]["instant_power"].as_f64()?;
            (status == 200 && close(solar, solar_w)).then_some(())
        },
    )
    .await;
}

/// Control writes the simulator received, over every write path (local `POST /api/operation`,
/// Owner API commands, Fleet API commands).
pub fn write_requests(sim: &SimulatorHandle) -> u64 {
    [
        "POST /api/operation",
        "POST /api/1/energy_sites/",
        "POST /fleet/",
    ]
    .into_iter()
    .map(|needle| count_matching(sim, needle))
    .sum()
}

/// The `/health` gateway block's upstream request count.
pub async fn upstream_requests(server: &RunningServer) -> u64 {
    get_json(server, "/health").await["gateway"]["upstream_requests"]
        .as_u64()
        .expect("upstream_requests")
}
