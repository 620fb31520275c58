//! Aggregates paths the PW2 sample does not reach: Neurio site CTs, remote meters, the
//! SolarMeterComms hold and the native energy merge.

use serde_json::{Value, json};

use crate::tedapi::convert::{TedapiInputs, meters_aggregates, vitals};

fn neurio_site() -> (Value, Value) {
    let config = json!({
        "vin": "1232100-00-E--TG1",
        "meters": [{
            "type": "neurio_w2_tcp", "location": "site", "cts": [true, true, false, false],
            "connection": {"device_serial": "VAH1"},
        }],
    });
    let status = json!({
        "control": {"meterAggregates": [{"location": "site", "realPowerW": -200}]},
        "neurio": {"readings": [{"serial": "VAH1", "timestamp": 5, "dataRead": [
            {"voltageV": 120.0, "realPowerW": -500, "reactivePowerVAR": 1, "currentA": 4.5},
            {"voltageV": 121.0, "realPowerW": 300, "reactivePowerVAR": 2, "currentA": 2.5},
            {"voltageV": 1.0, "realPowerW": 7, "currentA": 0.1},
        ]}]},
    });
    (config, status)
}

#[test]
fn site_voltage_and_current_from_neurio_ct_hierarchy() {
    let (config, status) = neurio_site();
    let inputs = TedapiInputs {
        config: Some(&config),
        status: Some(&status),
        controller: Some(&status),
        ..Default::default()
    };
    let aggregates = meters_aggregates(&inputs).expect("config and status");
    let site = &aggregates["site"];
    assert_eq!(site["disclaimer"], "site: voltage/current from Neurio");
    assert_eq!(site["instant_power"], json!(-200));
    assert_eq!(site["instant_average_voltage"], json!(241.0));
    assert_eq!(site["i_a_current"], json!(-4.5));
    assert_eq!(site["i_b_current"], json!(2.5));
    assert_eq!(site["i_c_current"], json!(0));
    let vitals = vitals(&inputs).expect("config and controller");
    let neurio = &vitals["NEURIO--VAH1"];
    assert_eq!(neurio["NEURIO_CT0_InstRealPower"], json!(-500));
    assert_eq!(neurio["NEURIO_CT1_Location"], "site");
    assert!(
        neurio.get("NEURIO_CT2_InstRealPower").is_none(),
        "unconfigured CT is skipped"
    );
}

fn solar_dropout(reading_time: &str) -> (Value, Value) {
    let config = json!({
        "vin": "1232100-00-E--TG1",
        "meters": [{
            "type": "trm_wifi", "location": "solar", "cts": [true, false, false, false],
            "connection": {"device_serial": "TRM1"},
        }],
    });
    let status = json!({
        "control": {
            "alerts": {"active": ["SolarMeterComms"]},
            "meterAggregates": [
                {"location": "SOLAR", "realPowerW": 0},
                {"location": "LOAD", "realPowerW": 4000},
            ],
        },
        "system": {"time": "2024-01-24T12:00:00-08:00"},
        "teslaRemoteMeter": {"meters": [{"din": "TRM1", "reading": {
            "timestamp": reading_time,
            "firmwareVersion": "1.2",
            "ctReadings": [{"realPowerW": 3000, "voltageV": 240.0, "currentA": 12.5, "energyExportedWs": 9}],
        }}]},
    });
    (config, status)
}

#[test]
fn solar_is_held_from_a_fresh_remote_meter_reading() {
    let (config, status) = solar_dropout("2024-01-24T11:59:49.6-08:00");
    let inputs = TedapiInputs {
        config: Some(&config),
        status: Some(&status),
        controller: Some(&status),
        ..Default::default()
    };
    let aggregates = meters_aggregates(&inputs).expect("config and status");
    let solar = &aggregates["solar"];
    assert_eq!(solar["instant_power"], json!(3000));
    assert_eq!(solar["instant_average_voltage"], json!(240.0));
    assert_eq!(solar["instant_total_current"], json!(12.5));
    assert_eq!(solar["i_a_current"], json!(12.5));
    assert_eq!(
        solar["disclaimer"],
        concat!(
            "solar: voltage from Remote Meter, current from Remote Meter; ",
            "solar held from remote meter reading during SolarMeterComms (age 10s)"
        )
    );
    assert_eq!(aggregates["load"]["instant_power"], json!(7000));
    let vitals = vitals(&inputs).expect("config and controller");
    assert_eq!(vitals["TRM--TRM1"]["TRM_CT0_EnergyExportedWs"], json!(9));
    assert_eq!(vitals["TRM--TRM1"]["firmwareVersion"], "1.2");
}

#[test]
fn a_stale_or_unparsable_reading_is_not_held() {
    for reading_time in ["2024-01-24T11:58:00-08:00", "2024-01-24 11:59:59"] {
        let (config, status) = solar_dropout(reading_time);
        let inputs = TedapiInputs {
            config: Some(&config),
            status: Some(&status),
            controller: Some(&status),
            ..Default::default()
        };
        let aggregates = meters_aggregates(&inputs).expect("config and status");
        assert_eq!(
            aggregates["solar"]["instant_power"],
            json!(0),
            "{reading_time}"
        );
        assert_eq!(
            aggregates["load"]["instant_power"],
            json!(4000),
            "{reading_time}"
        );
    }
}

#[test]
fn native_energy_counters_are_merged() {
    let (config, status) = neurio_site();
    let native = json!({
        "site": {"energy_exported": 1.5, "energy_imported": true},
        "battery": {}, "load": {"energy_imported": 7}, "solar": {"energy_exported": 2},
    });
    let inputs = TedapiInputs {
        config: Some(&config),
        status: Some(&status),
        native_aggregates: Some(&native),
        ..Default::default()
    };
    let aggregates = meters_aggregates(&inputs).expect("config and status");
    assert_eq!(aggregates["site"]["energy_exported"], json!(1.5));
    assert_eq!(
        aggregates["site"]["energy_imported"],
        json!(0),
        "booleans are not energies"
    );
    assert_eq!(aggregates["load"]["energy_imported"], json!(7));
    assert_eq!(
        aggregates["load"]["disclaimer"],
        concat!(
            "load: voltage from ISLAND_AcMeasurements, current calculated from power; ",
            "energy from gateway local API"
        )
    );
}

/// A Powerwall 3 has no synchroniser: its Meter Y answers `isMIA` with null readings, which the
/// reference's `meter_y.get("METER_Y_CTA_I", 0)` passes through as null (0 only for a missing
/// key). Found by the reference oracle (`crates/server/tests/oracle_e2e.rs`).
#[test]
fn solar_phase_currents_of_an_absent_meter_y_stay_null() {
    let config = json!({"vin": "1707000-11-J--TG1"});
    let status = |meter_y: Value| {
        json!({
            "control": {"meterAggregates": [{"location": "SOLAR", "realPowerW": 6500}]},
            "esCan": {"bus": {"SYNC": {"METER_Y_AcMeasurements": meter_y}}},
        })
    };
    let mia = status(json!({
        "isMIA": true, "METER_Y_CTA_I": null, "METER_Y_CTB_I": null, "METER_Y_CTC_I": null,
    }));
    let missing = status(json!({"isMIA": false, "METER_Y_CTA_I": 3.5}));
    let solar = |status: &Value| {
        let inputs = TedapiInputs {
            config: Some(&config),
            status: Some(status),
            ..Default::default()
        };
        meters_aggregates(&inputs).expect("config and status")["solar"].clone()
    };
    let absent = solar(&mia);
    for key in ["i_a_current", "i_b_current", "i_c_current"] {
        assert_eq!(absent[key], Value::Null, "{key}");
    }
    assert_eq!(
        absent["disclaimer"],
        "solar: voltage from unknown, calculated current from power"
    );
    let partial = solar(&missing);
    assert_eq!(partial["i_a_current"], json!(3.5));
    assert_eq!(partial["i_b_current"], json!(0), "a missing key reads 0");
    assert_eq!(partial["i_c_current"], json!(0));
}
