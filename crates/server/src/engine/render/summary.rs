//! The dashboard summaries: `/csv`, `/csv/v2` (with or without the header line) and `/json`.

use powerwall_gateway::DataKind;
use powerwall_gateway::tedapi::convert::{self as facade, GridStatusKind};
use serde_json::{Value, json};

use super::power::time_remaining;
use super::value::{f64_or_zero, field, or_zero, subtract};
use super::{Inputs, Rendition, RouteRenderer};
use crate::settings::Presentation;

use DataKind::{Aggregates, GridStatus, Operation, Soe, SolarPowerwall, SystemStatus, Vitals};

/// Inputs of the CSV v1 line.
const CSV_V1_INPUTS: &[DataKind] = &[Aggregates, Soe];
/// Inputs of the CSV v2 line.
const CSV_V2_INPUTS: &[DataKind] = &[Aggregates, Soe, GridStatus, Operation];

/// The renderers of this module.
pub const RENDERERS: &[RouteRenderer] = &[
    RouteRenderer {
        route: "/csv",
        inputs: CSV_V1_INPUTS,
        render: |inputs| Rendition::Text(csv(inputs, CsvVersion::V1, false)),
    },
    RouteRenderer {
        route: "/csv?headers",
        inputs: CSV_V1_INPUTS,
        render: |inputs| Rendition::Text(csv(inputs, CsvVersion::V1, true)),
    },
    RouteRenderer {
        route: "/csv/v2",
        inputs: CSV_V2_INPUTS,
        render: |inputs| Rendition::Text(csv(inputs, CsvVersion::V2, false)),
    },
    RouteRenderer {
        route: "/csv/v2?headers",
        inputs: CSV_V2_INPUTS,
        render: |inputs| Rendition::Text(csv(inputs, CsvVersion::V2, true)),
    },
    RouteRenderer {
        route: "/json",
        inputs: &[
            Aggregates,
            Soe,
            GridStatus,
            Operation,
            SystemStatus,
            Vitals,
            SolarPowerwall,
        ],
        render: |inputs| Rendition::Compact(json_summary(inputs)),
    },
];

/// Grid, home, solar and battery power as the CSV and `/json` routes present them.
#[derive(Debug, Clone, PartialEq)]
struct Powers {
    grid: Value,
    home: Value,
    solar: Value,
    battery: Value,
}

/// The four powers, 0 when missing or null, with the negative-solar and site-threshold rules.
fn presented_powers(aggregates: Option<&Value>, presentation: &Presentation) -> Powers {
    let read = |meter: &str| {
        field(field(aggregates, meter), "instant_power")
            .filter(|power| power.is_number())
            .cloned()
            .unwrap_or(json!(0))
    };
    let mut powers = Powers {
        grid: read("site"),
        home: read("load"),
        solar: read("solar"),
        battery: read("battery"),
    };
    if !presentation.neg_solar && powers.solar.as_f64().is_some_and(|solar| solar < 0.0) {
        powers.home = subtract(&powers.home, &powers.solar);
        powers.solar = json!(0);
    }
    if presentation.site_zero_threshold_w > 0
        && powers
            .grid
            .as_f64()
            .is_some_and(|grid| grid.abs() <= presentation.site_zero_threshold_w as f64)
    {
        powers.grid = json!(0);
    }
    powers
}

/// 1 when the gateway reports the grid up, else 0 (down, syncing and unknown alike).
fn grid_up(grid_status: Option<&Value>) -> Value {
    let up = facade::grid_status(grid_status, GridStatusKind::Text) == json!("UP");
    json!(i64::from(up))
}

/// Which CSV columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvVersion {
    V1,
    V2,
}

/// One CSV body: optional header line, then one data line, each ending in `\n`.
fn csv(inputs: &Inputs, version: CsvVersion, headers: bool) -> String {
    let powers = presented_powers(inputs.json(Aggregates), inputs.presentation());
    let level = f64_or_zero(&facade::level(inputs.json(Soe), false));
    let mut line = format!(
        "{:.2},{:.2},{:.2},{:.2},{:.2}",
        f64_or_zero(&powers.grid),
        f64_or_zero(&powers.home),
        f64_or_zero(&powers.solar),
        f64_or_zero(&powers.battery),
        level,
    );
    let mut header = String::from("Grid,Home,Solar,Battery,BatteryLevel");
    if version == CsvVersion::V2 {
        let grid_status = grid_up(inputs.json(GridStatus));
        // `%d` in the original: the reserve is truncated toward zero, never rounded.
        let reserve =
            f64_or_zero(&facade::get_reserve(inputs.json(Operation), true)).trunc() as i64;
        line.push_str(&format!(",{grid_status},{reserve}"));
        header.push_str(",GridStatus,Reserve");
    }
    if headers {
        format!("{header}\n{line}\n")
    } else {
        format!("{line}\n")
    }
}

/// `/json`: the dashboard summary; every numeric field 0 when unknown, `strings` `{}`.
fn json_summary(inputs: &Inputs) -> Value {
    let aggregates = inputs.json(Aggregates);
    let system_status = inputs.json(SystemStatus);
    let powers = presented_powers(aggregates, inputs.presentation());
    let energy = |key: &str| or_zero(field(system_status, key).cloned().unwrap_or(Value::Null));
    json!({
        "grid": powers.grid,
        "home": powers.home,
        "solar": powers.solar,
        "battery": powers.battery,
        "soe": or_zero(facade::level(inputs.json(Soe), false)),
        "grid_status": grid_up(inputs.json(GridStatus)),
        "reserve": or_zero(facade::get_reserve(inputs.json(Operation), true)),
        "time_remaining_hours": or_zero(time_remaining(system_status, aggregates)),
        "full_pack_energy": energy("nominal_full_pack_energy"),
        "energy_remaining": energy("nominal_energy_remaining"),
        "strings": facade::strings(inputs.vitals(), false, inputs.json(SolarPowerwall)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn meters(site: Value, solar: Value, battery: Value, load: Value) -> Value {
        json!({
            "site": {"instant_power": site},
            "battery": {"instant_power": battery},
            "load": {"instant_power": load},
            "solar": {"instant_power": solar},
        })
    }

    fn csv_of(
        aggregates: Option<Value>,
        level: Option<f64>,
        neg_solar: bool,
        route: &str,
    ) -> String {
        let mut pairs = Vec::new();
        if let Some(aggregates) = aggregates {
            pairs.push((Aggregates, aggregates));
        }
        if let Some(level) = level {
            pairs.push((Soe, json!({ "percentage": level })));
        }
        render_route_with(route, &pairs, &presentation(neg_solar, 0))
    }

    #[test]
    fn csv_vectors_of_the_proxy_tests() {
        let agg = |site: f64, solar: f64, battery: f64, load: f64| {
            Some(meters(
                json!(site),
                json!(solar),
                json!(battery),
                json!(load),
            ))
        };
        assert_eq!(
            csv_of(agg(100.5, 200.25, -50.75, 250.0), Some(45.5), false, "/csv"),
            "100.50,250.00,200.25,-50.75,45.50\n"
        );
        let with_headers = csv_of(
            agg(100.0, 200.0, -50.0, 250.0),
            Some(45.5),
            false,
            "/csv?headers",
        );
        assert_eq!(
            with_headers,
            "Grid,Home,Solar,Battery,BatteryLevel\n100.00,250.00,200.00,-50.00,45.50\n"
        );
        assert_eq!(
            csv_of(
                agg(123.456, 234.567, -345.678, 456.789),
                Some(67.89),
                false,
                "/csv"
            ),
            "123.46,456.79,234.57,-345.68,67.89\n"
        );
        assert_eq!(
            csv_of(agg(100.0, -50.0, 200.0, 250.0), Some(50.0), true, "/csv"),
            "100.00,250.00,-50.00,200.00,50.00\n"
        );
        assert_eq!(
            csv_of(agg(100.0, -50.0, 200.0, 250.0), Some(50.0), false, "/csv"),
            "100.00,300.00,0.00,200.00,50.00\n"
        );
        assert_eq!(
            csv_of(None, Some(0.0), false, "/csv"),
            "0.00,0.00,0.00,0.00,0.00\n"
        );
        assert_eq!(
            csv_of(
                Some(meters(Value::Null, Value::Null, Value::Null, json!(250))),
                Some(42.0),
                false,
                "/csv"
            ),
            "0.00,250.00,0.00,0.00,42.00\n"
        );
        assert_eq!(
            csv_of(agg(0.0, 0.0, 0.0, 0.0), Some(0.0), false, "/csv"),
            "0.00,0.00,0.00,0.00,0.00\n"
        );
    }

    #[test]
    fn csv_formatting_matches_python_percent_2f() {
        for (value, text) in [
            (123.456, "123.46"),
            (456.789, "456.79"),
            (-345.678, "-345.68"),
            (100.5, "100.50"),
            (0.125, "0.12"),
            (0.375, "0.38"),
            (2.675, "2.67"),
            (-0.001, "-0.00"),
        ] {
            let line = csv_of(
                Some(meters(json!(value), json!(0), json!(0), json!(0))),
                None,
                true,
                "/csv",
            );
            assert_eq!(line, format!("{text},0.00,0.00,0.00,0.00\n"));
        }
    }

    #[test]
    fn csv_v2_grid_status_and_truncated_reserve() {
        let line = |grid: &str, reserve: f64| {
            render_route(
                "/csv/v2",
                &[
                    (
                        Aggregates,
                        meters(json!(-2100), json!(6500), json!(-3500), json!(900)),
                    ),
                    (Soe, json!({"percentage": 23.975388})),
                    (
                        GridStatus,
                        json!({"grid_status": grid, "grid_services_active": false}),
                    ),
                    (Operation, json!({"backup_reserve_percent": reserve})),
                ],
            )
        };
        assert_eq!(
            line("SystemGridConnected", 81.0),
            "-2100.00,900.00,6500.00,-3500.00,23.98,1,80\n"
        );
        // App reserve 80.9 (raw 81.855) is truncated to 80; 19.999 to 19.
        assert!(line("SystemGridConnected", 80.9 * 0.95 + 5.0).ends_with(",1,80\n"));
        assert!(line("SystemGridConnected", 19.999 * 0.95 + 5.0).ends_with(",1,19\n"));
        for state in [
            "SystemIslandedActive",
            "SystemTransitionToGrid",
            "SystemIslandedReady",
            "Bogus",
        ] {
            assert!(line(state, 81.0).ends_with(",0,80\n"), "{state}");
        }
        assert_eq!(
            render_route("/csv/v2?headers", &[]),
            "Grid,Home,Solar,Battery,BatteryLevel,GridStatus,Reserve\n0.00,0.00,0.00,0.00,0.00,0,0\n"
        );
    }

    #[test]
    fn json_vectors_of_the_proxy_tests() {
        let pairs = [
            (
                Aggregates,
                meters(json!(100), json!(5000), json!(-2000), json!(3100)),
            ),
            (Soe, json!({"percentage": 75.5})),
            (GridStatus, json!({"grid_status": "SystemGridConnected"})),
            (
                Operation,
                json!({"backup_reserve_percent": 20.0 * 0.95 + 5.0}),
            ),
            (
                SystemStatus,
                json!({"nominal_full_pack_energy": 14000, "nominal_energy_remaining": 10570}),
            ),
            (
                SolarPowerwall,
                fixture("local/simulator/api.solar_powerwall.json"),
            ),
        ];
        let body = render_json("/json", &pairs);
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "grid",
                "home",
                "solar",
                "battery",
                "soe",
                "grid_status",
                "reserve",
                "time_remaining_hours",
                "full_pack_energy",
                "energy_remaining",
                "strings"
            ]
        );
        assert_eq!(body["grid"], json!(100));
        assert_eq!(body["home"], json!(3100));
        assert_eq!(body["solar"], json!(5000));
        assert_eq!(body["battery"], json!(-2000));
        assert_eq!(body["soe"], json!(75.5));
        assert_eq!(body["grid_status"], json!(1));
        assert!((body["reserve"].as_f64().unwrap() - 20.0).abs() < 1e-9);
        assert!((body["time_remaining_hours"].as_f64().unwrap() - 10570.0 / 3100.0).abs() < 1e-12);
        assert_eq!(body["full_pack_energy"], json!(14000));
        assert_eq!(body["energy_remaining"], json!(10570));
        assert!(body["strings"]["A"].is_object());

        let neg = render_route_with(
            "/json",
            &[(
                Aggregates,
                meters(json!(0), json!(-50), json!(0), json!(250)),
            )],
            &presentation(false, 0),
        );
        let neg: Value = serde_json::from_str(&neg).unwrap();
        assert_eq!(
            (neg["solar"].clone(), neg["home"].clone()),
            (json!(0), json!(300))
        );

        let empty = render_json("/json", &[(Soe, json!({"percentage": 50}))]);
        for key in [
            "grid",
            "home",
            "solar",
            "battery",
            "reserve",
            "time_remaining_hours",
        ] {
            assert_eq!(empty[key], json!(0), "{key}");
        }
        // The original crashed on `"site": null`; here it is 0.
        let null_meter = render_json(
            "/json",
            &[(
                Aggregates,
                json!({"site": null, "load": {"instant_power": 5}}),
            )],
        );
        assert_eq!(null_meter["grid"], json!(0));
    }

    #[test]
    fn observed_reserve_and_time_remaining() {
        let body = render_json(
            "/json",
            &[
                (Operation, json!({"backup_reserve_percent": 81})),
                (SystemStatus, fixture("local/bogus/api.system_status.json")),
                (
                    Aggregates,
                    meters(json!(-2100), json!(6500), json!(-3500), json!(900)),
                ),
            ],
        );
        assert_eq!(body["reserve"], json!(80.0));
        assert_eq!(body["time_remaining_hours"], json!(18.547777777777778));
        assert_eq!(body["full_pack_energy"], json!(25995));
        assert_eq!(
            time_remaining(
                Some(&json!({"nominal_energy_remaining": 10})),
                Some(&meters(json!(0), json!(0), json!(0), json!(0)))
            ),
            Value::Null
        );
    }
}
