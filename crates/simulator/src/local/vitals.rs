//! `/api/devices/vitals`: the captured device list re-encoded with values from the model.
//!
//! The seed is the original simulator's `DevicesWithVitals` (decoded at start with the gateway
//! crate's own prost types, so encoder and decoder cannot drift). Each request clones it and
//! overwrites the vitals that map obviously onto the model; names, types and order stay as seeded.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use powerwall_gateway::local::vitals_wire::device_vital::Value as Vital;
use powerwall_gateway::local::vitals_wire::{
    DevicesWithVitals, SiteControllerConnectedDeviceWithVitals, Timestamp,
};
use prost::Message as _;

use super::documents::{battery_frequency, battery_voltage, grid_phase_voltage, pv_strings};
use crate::SimulatorError;
use crate::model::clock::NANOS_PER_SEC;
use crate::model::reading::Snapshot;

const FIXTURE: &str =
    include_str!("../../../../testdata/local/simulator/api.devices.vitals.protobuf.json");

/// The decoded seed message.
#[derive(Debug, Clone)]
pub struct VitalsSeed {
    seed: DevicesWithVitals,
}

impl VitalsSeed {
    /// Decodes the bundled capture.
    pub fn load() -> Result<Self, SimulatorError> {
        let bad = |reason: String| SimulatorError::Fixture {
            name: "api.devices.vitals.protobuf.json",
            reason,
        };
        let doc: serde_json::Value =
            serde_json::from_str(FIXTURE).map_err(|e| bad(e.to_string()))?;
        let data = doc["data"]
            .as_str()
            .ok_or_else(|| bad("no data".to_owned()))?;
        let bytes = STANDARD.decode(data).map_err(|e| bad(e.to_string()))?;
        let seed = DevicesWithVitals::decode(bytes.as_slice()).map_err(|e| bad(e.to_string()))?;
        Ok(Self { seed })
    }

    /// The seed message as decoded.
    #[cfg(test)]
    pub fn seed(&self) -> &DevicesWithVitals {
        &self.seed
    }

    /// The message for this snapshot.
    pub fn message(&self, snapshot: &Snapshot) -> DevicesWithVitals {
        let mut message = self.seed.clone();
        let pods = distinct_dins(&message, "TEPOD--");
        let pinvs = distinct_dins(&message, "TEPINV--");
        let seconds = i64::try_from(snapshot.now_ns.div_euclid(NANOS_PER_SEC)).unwrap_or_default();
        for entry in &mut message.devices {
            let din = din(entry).unwrap_or_default().to_owned();
            if let Some(device) = entry.device.as_mut().and_then(|d| d.device.as_mut()) {
                device.last_communication_time = Some(Timestamp { seconds, nanos: 0 });
            }
            if din.starts_with("STSTSM--") {
                update_gateway(entry, snapshot);
            } else if let Some(index) = pods.iter().position(|d| *d == din) {
                update_pod(entry, snapshot, index);
            } else if let Some(index) = pinvs.iter().position(|d| *d == din) {
                update_pinv(entry, snapshot, index);
            } else if din.starts_with("PVAC--") {
                update_pvac(entry, snapshot);
            } else if din.starts_with("TESYNC--") {
                update_sync(entry, snapshot);
            } else if din.starts_with("NEURIO--") {
                set(
                    entry,
                    "NEURIO_CT0_InstRealPower",
                    Vital::FloatValue(snapshot.flows.solar_w),
                );
            }
        }
        message
    }

    /// The encoded answer for this snapshot.
    pub fn render(&self, snapshot: &Snapshot) -> Vec<u8> {
        self.message(snapshot).encode_to_vec()
    }
}

/// A device entry's DIN.
pub fn din(entry: &SiteControllerConnectedDeviceWithVitals) -> Option<&str> {
    let device = entry.device.as_ref()?.device.as_ref()?;
    device.din.as_ref().map(|din| din.value.as_str())
}

/// Every DIN in message order (repeats kept, as the gateway sends them).
pub fn dins(message: &DevicesWithVitals) -> Vec<String> {
    message
        .devices
        .iter()
        .map(|entry| din(entry).unwrap_or_default().to_owned())
        .collect()
}

fn distinct_dins(message: &DevicesWithVitals, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for din in dins(message) {
        if din.starts_with(prefix) && !found.contains(&din) {
            found.push(din);
        }
    }
    found
}

/// Replaces a vital's value when the seed has a vital of that name (never adds one).
fn set(entry: &mut SiteControllerConnectedDeviceWithVitals, name: &str, value: Vital) {
    for vital in &mut entry.vitals {
        if vital.name.as_deref() == Some(name) {
            vital.value = Some(value.clone());
        }
    }
}

fn float(entry: &mut SiteControllerConnectedDeviceWithVitals, name: &str, value: f64) {
    set(entry, name, Vital::FloatValue(value));
}

fn update_gateway(entry: &mut SiteControllerConnectedDeviceWithVitals, snapshot: &Snapshot) {
    const CONNECTED: &str = "SystemConnectedToGrid";
    let has = entry.alerts.iter().any(|alert| alert == CONNECTED);
    if snapshot.grid_connected() && !has {
        entry.alerts.push(CONNECTED.to_owned());
    } else if !snapshot.grid_connected() {
        entry.alerts.retain(|alert| alert != CONNECTED);
    }
}

fn update_pod(
    entry: &mut SiteControllerConnectedDeviceWithVitals,
    snapshot: &Snapshot,
    index: usize,
) {
    let Some(pack) = snapshot.packs.get(index) else {
        return;
    };
    let count = snapshot.packs.len().max(1) as f64;
    let full = snapshot.soe_raw_pct >= 100.0;
    let empty = pack.remaining_wh <= 0.0;
    float(entry, "POD_nom_energy_remaining", pack.remaining_wh);
    float(entry, "POD_nom_full_pack_energy", pack.full_pack_energy_wh);
    float(
        entry,
        "POD_nom_energy_to_be_charged",
        (pack.full_pack_energy_wh - pack.remaining_wh).max(0.0),
    );
    float(
        entry,
        "POD_available_charge_power",
        if full {
            0.0
        } else {
            snapshot.topology.max_charge_w / count
        },
    );
    float(
        entry,
        "POD_available_dischg_power",
        if empty {
            0.0
        } else {
            snapshot.topology.max_discharge_w / count
        },
    );
    set(entry, "POD_ChargeComplete", Vital::BoolValue(full));
    set(entry, "POD_DischargeComplete", Vital::BoolValue(empty));
}

fn update_pinv(
    entry: &mut SiteControllerConnectedDeviceWithVitals,
    snapshot: &Snapshot,
    index: usize,
) {
    let Some(pack) = snapshot.packs.get(index) else {
        return;
    };
    let voltage = battery_voltage(snapshot);
    let state = if snapshot.grid_connected() {
        "PINV_GridFollowing"
    } else {
        "PINV_GridForming"
    };
    // PINV power is reported in kW.
    float(entry, "PINV_Pout", pack.p_out_w / 1000.0);
    float(
        entry,
        "PINV_Qout",
        if pack.p_out_w == 0.0 { 0.0 } else { 0.01 },
    );
    float(entry, "PINV_Vout", voltage);
    float(entry, "PINV_VSplit1", voltage / 2.0);
    float(entry, "PINV_VSplit2", voltage / 2.0);
    float(entry, "PINV_Fout", battery_frequency(snapshot));
    float(entry, "PINV_EnergyCharged", pack.energy_charged_wh);
    float(entry, "PINV_EnergyDischarged", pack.energy_discharged_wh);
    set(entry, "PINV_State", Vital::StringValue(state.to_owned()));
}

fn update_pvac(entry: &mut SiteControllerConnectedDeviceWithVitals, snapshot: &Snapshot) {
    let solar_w = snapshot.flows.solar_w;
    let v_out = battery_voltage(snapshot) - 2.0;
    float(entry, "PVAC_Pout", solar_w);
    float(
        entry,
        "PVAC_Iout",
        (solar_w.abs() / v_out * 100.0).round() / 100.0,
    );
    float(entry, "PVAC_Vout", v_out);
    float(entry, "PVAC_Fout", battery_frequency(snapshot));
    float(
        entry,
        "PVAC_LifetimeEnergyPV_Total",
        snapshot.counters.solar_exported_wh.round(),
    );
    for (string, letter) in pv_strings(solar_w).iter().zip(['A', 'B', 'C', 'D']) {
        float(
            entry,
            &format!("PVAC_PVMeasuredPower_{letter}"),
            string.power,
        );
        float(entry, &format!("PVAC_PVCurrent_{letter}"), string.current);
        if string.connected {
            float(
                entry,
                &format!("PVAC_PVMeasuredVoltage_{letter}"),
                string.voltage,
            );
        }
    }
}

fn update_sync(entry: &mut SiteControllerConnectedDeviceWithVitals, snapshot: &Snapshot) {
    let connected = snapshot.grid_connected();
    let main = grid_phase_voltage(snapshot);
    let load = if connected {
        main
    } else {
        battery_voltage(snapshot) / 2.0
    };
    let main_frequency = if connected {
        battery_frequency(snapshot)
    } else {
        0.0
    };
    let site_w = snapshot.flows.site_w;
    let phase_a = (site_w * 0.6).round();
    set(entry, "ISLAND_GridConnected", Vital::BoolValue(connected));
    let grid_state = if connected {
        "ISLAND_GridState_Grid_Compliant"
    } else {
        "ISLAND_GridState_Grid_Uncompliant"
    };
    set(
        entry,
        "ISLAND_GridState",
        Vital::StringValue(grid_state.to_owned()),
    );
    for phase in ["L1", "L2"] {
        float(entry, &format!("ISLAND_V{phase}N_Main"), main);
        float(entry, &format!("ISLAND_Freq{phase}_Main"), main_frequency);
        float(entry, &format!("ISLAND_V{phase}N_Load"), load);
        float(
            entry,
            &format!("ISLAND_Freq{phase}_Load"),
            battery_frequency(snapshot),
        );
    }
    float(entry, "METER_X_CTA_InstRealPower", phase_a);
    float(entry, "METER_X_CTB_InstRealPower", site_w - phase_a);
    float(
        entry,
        "METER_X_LifetimeEnergyImport",
        snapshot.counters.site_imported_wh.round(),
    );
    float(
        entry,
        "METER_X_LifetimeEnergyExport",
        snapshot.counters.site_exported_wh.round(),
    );
    float(entry, "METER_X_VL1N", main);
    float(entry, "METER_X_VL2N", main);
    let current = |w: f64| {
        if main > 0.0 {
            (w.abs() / main * 1e4).round() / 1e4
        } else {
            0.0
        }
    };
    float(entry, "METER_X_CTA_I", current(phase_a));
    float(entry, "METER_X_CTB_I", current(site_w - phase_a));
}
