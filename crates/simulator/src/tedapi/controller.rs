//! The DeviceController GraphQL answer (`DeviceControllerQuery`), basic and full forms
//! (gateway-protocols §2.15): `control`, `system`, `neurio`, `pw3Can`, `esCan`, and in the full
//! form also `teslaRemoteMeter`, `components.msa` and `ieee20305`.
//!
//! The shapes follow the query texts of `testdata/tedapi/queries/V2024_06.json`: a field the full
//! text asks for but the basic one does not (and the reverse) appears only in that form.

use serde_json::{Value, json};

use super::config::short_id;
use super::values::{Ctx, remaining_for_soe};
use super::{escan, msa};
use crate::local::documents::num;
use crate::model::clock::NANOS_PER_SEC;

/// Renders the answer to the basic (`full = false`) or the full DeviceController query.
pub fn document(ctx: &Ctx<'_>, full: bool) -> Value {
    let mut doc = json!({
        "control": control(ctx, full),
        "system": system(ctx, full),
        "neurio": neurio(ctx, full),
        "pw3Can": pw3_can(full),
        "esCan": escan::es_can(ctx, full),
    });
    if full {
        if let Some(map) = doc.as_object_mut() {
            // No remote meter is configured on these sites: the list is empty, not absent.
            map.insert(
                "teslaRemoteMeter".to_owned(),
                json!({ "meters": [], "detectedWired": [] }),
            );
            map.insert(
                "components".to_owned(),
                json!({ "msa": msa::components(ctx) }),
            );
            map.insert("ieee20305".to_owned(), ieee20305());
        }
    }
    doc
}

/// `control`: totals, islanding, the meter aggregates, alerts and the device lists.
fn control(ctx: &Ctx<'_>, full: bool) -> Value {
    let snapshot = ctx.snapshot;
    let flows = &snapshot.flows;
    let full_wh = snapshot.full_pack_energy_wh();
    let mut islanding = json!({
        // What the customer asked for; an outage does not change it.
        "customerIslandMode": "Normal",
        "contactorClosed": ctx.connected,
        "microGridOK": true,
        "gridOK": ctx.connected,
    });
    if full {
        islanding["disableReasons"] = json!([]);
    }
    // The revenue-grade Neurio measures the PVAC; Powerwall 3 sites have no such meter.
    let solar_rgm = if snapshot.topology.neurio_serial.is_some() {
        flows.solar_w
    } else {
        0.0
    };
    let aggregates = [
        ("SITE", flows.site_w),
        ("BATTERY", flows.battery_w),
        ("LOAD", flows.home_w),
        ("SOLAR", flows.solar_w),
        ("SOLAR_RGM", solar_rgm),
        ("GENERATOR", 0.0),
    ]
    .map(|(location, power)| json!({ "location": location, "realPowerW": num(power) }));
    let topology = &snapshot.topology;
    let blocks: Vec<Value> = topology
        .units()
        .into_iter()
        .map(|unit| json!({ "din": topology.packs[unit].din(), "disableReasons": [] }))
        .collect();
    let inverters: Vec<Value> = topology
        .inverters
        .iter()
        .filter(|inverter| inverter.host.is_none())
        .map(|inverter| json!({ "din": inverter.id.din(), "disableReasons": [] }))
        .collect();
    json!({
        "systemStatus": {
            "nominalFullPackEnergyWh": num(full_wh),
            "nominalEnergyRemainingWh": num(remaining_for_soe(snapshot.soe_raw_pct, full_wh)),
        },
        "islanding": islanding,
        "meterAggregates": aggregates,
        "alerts": { "active": ctx.gateway_alerts() },
        "siteShutdown": { "isShutDown": false, "reasons": [] },
        "batteryBlocks": blocks,
        "pvInverters": inverters,
    })
}

/// `system`: the gateway clock, site manager and update check.
fn system(ctx: &Ctx<'_>, full: bool) -> Value {
    let checked = ctx.snapshot.boot_ns.div_euclid(NANOS_PER_SEC) + 60;
    let mut system = json!({
        "time": ctx.time,
        "sitemanagerStatus": { "isRunning": true },
        "updateUrgencyCheck": {
            "urgency": "none",
            "version": { "version": ctx.version(), "gitHash": ctx.git_hash },
            "timestamp": i64::try_from(checked).unwrap_or_default(),
        },
    });
    if full {
        system["supportMode"] = json!({
            "remoteService": { "isEnabled": false, "expiryTime": 0, "sessionId": "" },
        });
    }
    system
}

/// `neurio`: the solar meter's reading (four CT inputs, CT 0 wired) and its pairing.
fn neurio(ctx: &Ctx<'_>, full: bool) -> Value {
    let Some(serial) = &ctx.snapshot.topology.neurio_serial else {
        return json!({ "isDetectingWiredMeters": false, "readings": [], "pairings": [] });
    };
    let solar_w = ctx.snapshot.flows.solar_w;
    // A split-phase Neurio measures line to line; the inverter's voltage is what it sees.
    let voltage = ctx.inverter_v;
    let reactive = if solar_w.abs() > 0.0 { -28.0 } else { 0.0 };
    let wired = json!({
        "voltageV": voltage,
        "realPowerW": num(solar_w),
        "reactivePowerVAR": num(reactive),
        "currentA": solar_w.hypot(reactive) / voltage,
    });
    let idle =
        json!({ "voltageV": voltage, "realPowerW": 0, "reactivePowerVAR": 0, "currentA": 0 });
    let mut reading = json!({
        "serial": serial,
        "dataRead": [wired, idle.clone(), idle.clone(), idle],
        "timestamp": ctx.time,
    });
    let mut pairing = json!({
        "serial": serial,
        "shortId": short_id(serial),
        "status": "Connected",
        "errors": [],
        "macAddress": "00:1B:C5:0C:3A:7F",
        "isWired": false,
        "modbusPort": 0,
        "modbusId": 0,
        "lastUpdateTimestamp": ctx.time,
    });
    if full {
        reading["firmwareVersion"] = json!("1.7.2-Tesla");
        pairing["hostname"] = json!(format!("neurio-{}", short_id(serial).to_lowercase()));
    }
    json!({ "isDetectingWiredMeters": false, "readings": [reading], "pairings": [pairing] })
}

/// Progress of a firmware update that is not running.
pub fn idle_progress() -> Value {
    json!({ "updating": false, "numSteps": 0, "currentStep": 0, "currentStepProgress": 0, "progress": 0 })
}

/// `pw3Can`: no Powerwall 3 update or enumeration in progress.
fn pw3_can(full: bool) -> Value {
    let mut pw3 = json!({ "firmwareUpdate": { "isUpdating": false, "progress": idle_progress() } });
    if full {
        pw3["enumeration"] = json!({ "inProgress": false });
    }
    pw3
}

/// `ieee20305`: the gateway is not registered with a utility server.
fn ieee20305() -> Value {
    json!({
        "longFormDeviceID": "",
        "polledResources": [],
        "controls": {
            "defaultControl": {
                "mRID": "", "setGradW": 0, "opModEnergize": true, "opModMaxLimW": null,
                "opModImpLimW": null, "opModExpLimW": null, "opModGenLimW": null,
                "opModLoadLimW": null,
            },
            "activeControls": [],
        },
        "registration": { "dateTimeRegistered": 0, "pin": 0 },
    })
}
