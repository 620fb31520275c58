//! Per-device numbers add up to the site's: pack energies to the served totals, strings to the
//! solar power, inverters to the battery power, meters to the aggregates; identities line up.

use serde_json::Value;

use super::tests::{documents, sim};
use crate::model::topology::TopologyKind;

fn num(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn list(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
}

fn signal<'a>(entry: &'a Value, name: &str) -> &'a Value {
    let found = list(&entry["signals"]).iter().find(|s| s["name"] == name);
    let record = found.unwrap_or_else(|| panic!("no signal {name}"));
    ["value", "boolValue", "textValue"]
        .iter()
        .map(|k| &record[*k])
        .find(|v| !v.is_null())
        .unwrap()
}

/// What the client does with a kWh signal (§3.8.9): `int(x × 1000)`.
fn wh(value: &Value) -> f64 {
    (num(value) * 1000.0).trunc()
}

#[test]
fn pw2_packs_strings_and_meters_add_up() {
    let sim = sim(TopologyKind::Pw2);
    let snapshot = sim.snapshot();
    let docs = sim.tedapi_documents();
    let bus = &docs.status["esCan"]["bus"];
    let solar = snapshot.flows.solar_w;
    assert!(solar > 1000.0, "the sun should be up: {solar}");
    // Packs: POD energies are the local API's battery blocks, their sums the served totals.
    let pods = list(&bus["POD"]);
    assert_eq!(pods.len(), 2);
    let remaining: f64 = pods
        .iter()
        .map(|p| num(&p["POD_EnergyStatus"]["POD_nom_energy_remaining"]))
        .sum();
    let full: f64 = pods
        .iter()
        .map(|p| num(&p["POD_EnergyStatus"]["POD_nom_full_pack_energy"]))
        .sum();
    assert_eq!(
        (remaining, full),
        (snapshot.remaining_wh(), snapshot.full_pack_energy_wh())
    );
    let totals = &docs.status["control"]["systemStatus"];
    assert_eq!(num(&totals["nominalFullPackEnergyWh"]), full);
    assert!((num(&totals["nominalEnergyRemainingWh"]) - remaining).abs() <= 1.0);
    // Inverters: PINV_Pout is kW and adds up to the battery meter; Pnom to the system limit.
    let pinvs = list(&bus["PINV"]);
    let kw: f64 = pinvs
        .iter()
        .map(|p| num(&p["PINV_Status"]["PINV_Pout"]))
        .sum();
    assert!((kw * 1000.0 - snapshot.flows.battery_w).abs() < 1e-6);
    let pnom: f64 = pinvs
        .iter()
        .map(|p| num(&p["PINV_PowerCapability"]["PINV_Pnom"]))
        .sum();
    assert_eq!(pnom, snapshot.topology.max_discharge_w);
    // Strings: voltage × current (what the client computes) adds up to the PVAC output.
    let pvac = &list(&bus["PVAC"])[0];
    assert_eq!(num(&pvac["PVAC_Status"]["PVAC_Pout"]), solar);
    let logging = &pvac["PVAC_Logging"];
    let strings: f64 = ['A', 'B', 'C', 'D']
        .iter()
        .map(|x| {
            num(&logging[format!("PVAC_PVMeasuredVoltage_{x}")])
                * num(&logging[format!("PVAC_PVCurrent_{x}")])
        })
        .sum();
    assert!(
        (strings - solar).abs() <= 10.0,
        "strings {strings} solar {solar}"
    );
    let pvs = &list(&bus["PVS"])[0]["PVS_Status"];
    assert_eq!(pvs["PVS_StringB_Connected"], false);
    assert_eq!(pvs["PVS_StringA_Connected"], true);
    // Meters: the Neurio reads the solar, the synchroniser's CTs the site.
    let neurio = &list(&docs.status["neurio"]["readings"])[0];
    assert_eq!(num(&neurio["dataRead"][0]["realPowerW"]), solar);
    assert_eq!(neurio["timestamp"], docs.status["system"]["time"]);
    let meter_x = &bus["SYNC"]["METER_X_AcMeasurements"];
    let site: f64 = ["A", "B", "C"]
        .iter()
        .map(|p| num(&meter_x[format!("METER_X_CT{p}_InstRealPower")]))
        .sum();
    assert_eq!(site, snapshot.flows.site_w);
}

#[test]
fn pw2_msa_pairs_each_package_with_its_module() {
    let docs = documents(TopologyKind::Pw2);
    let bus = &docs.controller["esCan"]["bus"];
    let msa = list(&docs.controller["components"]["msa"]);
    let placeholders = msa.iter().filter(|e| e["serialNumber"].is_null()).count();
    assert_eq!(placeholders, 8);
    assert!(
        msa[msa.len() - 8..]
            .iter()
            .all(|e| e["serialNumber"].is_null())
    );
    for (index, thc) in list(&bus["THC"]).iter().enumerate() {
        let at = msa
            .iter()
            .position(|e| e["serialNumber"] == thc["packageSerialNumber"])
            .unwrap();
        let (pinv, pod) = (&msa[at + 1], &msa[at + 2]);
        assert_eq!(
            list(&pinv["signals"])[0]["name"],
            "PINV_EnergyCharged",
            "pack {index}"
        );
        assert_eq!(pod["serialNumber"], pinv["serialNumber"]);
        assert_ne!(pinv["serialNumber"], thc["packageSerialNumber"]);
        assert!(num(signal(&msa[at], "THC_AmbientTemp")) > 0.0);
        assert!(
            num(signal(pinv, "PINV_HeatsinkTemp")) > num(signal(&msa[at], "THC_AmbientTemp")) - 2.0
        );
        assert!(num(signal(pod, "POD_available_dischg_power")) > 0.0);
    }
    let pvac = msa
        .iter()
        .find(|e| e["partNumber"] == "1538100-00-F")
        .unwrap();
    assert!(
        num(signal(pvac, "PVAC_Fan_Speed_Actual_RPM")) > 0.0,
        "sunny: fans run"
    );
    // The pw2 gateway answers a components query with empty lists (it is not a PW3).
    let gateway = docs.components_for(&docs.din).unwrap();
    assert!(
        ["pws", "pch", "bms", "hvp", "baggr"]
            .iter()
            .all(|g| list(&gateway["components"][*g]).is_empty())
    );
    assert_eq!(docs.components.len(), 1);
}

#[test]
fn pw3_packs_and_strings_add_up_per_powerwall() {
    for kind in [TopologyKind::Pw3, TopologyKind::Pw3Multi] {
        let sim = sim(kind);
        let snapshot = sim.snapshot();
        let docs = sim.tedapi_documents();
        let topology = &snapshot.topology;
        let (mut remaining, mut full, mut battery, mut solar) = (0.0, 0.0, 0.0, 0.0);
        for unit in topology.units() {
            let din = topology.packs[unit].din();
            let answer = docs
                .components_for(&din)
                .unwrap_or_else(|| panic!("{kind}: no components for {din}"));
            let groups = &answer["components"];
            let members: Vec<usize> = (0..topology.packs.len())
                .filter(|&i| topology.packs[i].unit == unit)
                .collect();
            let bms = list(&groups["bms"]);
            let hvp = list(&groups["hvp"]);
            assert_eq!(
                (bms.len(), hvp.len()),
                (members.len(), members.len()),
                "{kind} {din}"
            );
            for ((entry, hvp), &index) in bms.iter().zip(hvp).zip(&members) {
                assert_eq!(
                    hvp["serialNumber"],
                    topology.packs[index].serial_number.as_str()
                );
                assert_eq!(
                    wh(signal(entry, "BMS_nominalEnergyRemaining")),
                    snapshot.packs[index].remaining_wh
                );
                remaining += wh(signal(entry, "BMS_nominalEnergyRemaining"));
                full += wh(signal(entry, "BMS_nominalFullPackEnergy"));
                assert!(num(signal(hvp, "HVP_PackTempMax")) > num(signal(hvp, "HVP_PackTempMin")));
            }
            let pch = &list(&groups["pch"])[0];
            battery += num(signal(pch, "PCH_BatteryPower"));
            for letter in ['A', 'B', 'C', 'D', 'E', 'F'] {
                let volts = num(signal(pch, &format!("PCH_PvVoltage{letter}")));
                let amps = num(signal(pch, &format!("PCH_PvCurrent{letter}")));
                let state = signal(pch, &format!("PCH_PvState_{letter}"))
                    .as_str()
                    .unwrap();
                assert_eq!(
                    state == "Pv_Active",
                    volts * amps > 0.0,
                    "{kind} {din} {letter}"
                );
                solar += volts * amps;
            }
            assert_eq!(signal(pch, "PCH_AcMode"), "AC_Connected");
            assert_eq!(list(&groups["baggr"]).len(), 1);
            assert_eq!(
                num(signal(
                    &list(&groups["baggr"])[0],
                    "BAGGR_NumBatteriesConnected"
                )),
                members.len() as f64
            );
        }
        assert_eq!(remaining, snapshot.remaining_wh(), "{kind}");
        assert_eq!(full, snapshot.full_pack_energy_wh(), "{kind}");
        assert_eq!(battery, snapshot.flows.battery_w, "{kind}");
        assert!(
            (solar - snapshot.flows.solar_w).abs() < 1e-6,
            "{kind}: {solar} vs {}",
            snapshot.flows.solar_w
        );
        let bus = &docs.status["esCan"]["bus"];
        assert!(
            ["PVAC", "PINV", "PVS", "THC", "POD"]
                .iter()
                .all(|k| list(&bus[*k]).is_empty())
        );
        let meter_z = &bus["MSA"]["METER_Z_AcMeasurements"];
        let site =
            num(&meter_z["METER_Z_CTA_InstRealPower"]) + num(&meter_z["METER_Z_CTB_InstRealPower"]);
        assert_eq!(site, snapshot.flows.site_w);
        assert_eq!(
            docs.components_for(&docs.din),
            docs.components_for(&topology.packs[0].din())
        );
    }
}

#[test]
fn pw3_multi_lists_followers_and_the_expansion() {
    let docs = documents(TopologyKind::Pw3Multi);
    let leader = "1707000-11-J--TG12000000001Z";
    let followers = [
        "1707000-11-J--TG12000000002Z",
        "1707000-11-J--TG12000000003Z",
    ];
    let expansion = "2707000-11-J--TG12000000004Z";
    let blocks = list(&docs.config["battery_blocks"]);
    let vins: Vec<&str> = blocks.iter().map(|b| b["vin"].as_str().unwrap()).collect();
    assert_eq!(vins, [leader, followers[0], followers[1]]);
    assert!(blocks.iter().all(|b| b["type"] == "Powerwall3"));
    assert_eq!(blocks[0]["battery_expansions"][0]["din"], expansion);
    assert!(list(&blocks[1]["battery_expansions"]).is_empty());
    let control: Vec<&Value> = list(&docs.status["control"]["batteryBlocks"])
        .iter()
        .map(|b| &b["din"])
        .collect();
    assert_eq!(control, [leader, followers[0], followers[1]]);
    let mut keys: Vec<&str> = docs.components.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, [leader, followers[0], followers[1]]);
    assert!(docs.components_for(expansion).is_none());
    let hvp = |din: &str| -> Vec<Value> {
        list(&docs.components_for(din).unwrap()["components"]["hvp"])
            .iter()
            .map(|h| h["serialNumber"].clone())
            .collect()
    };
    assert_eq!(hvp(leader), ["TG12000000001Z", "TG12000000004Z"]);
    assert_eq!(hvp(followers[1]), ["TG12000000003Z"]);
    // Only the leader and the first follower have PV; the config lists one solar per array.
    assert_eq!(list(&docs.config["solars"]).len(), 2);
    let quiet = &list(&docs.components_for(followers[1]).unwrap()["components"]["pch"])[0];
    assert_eq!(signal(quiet, "PCH_PvState_A"), "Pv_Disabled");
}
