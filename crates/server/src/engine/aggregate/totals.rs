//! `AggregateData` and the `/api/aggregate/*` sub-route bodies, by the rules in the module docs.

use powerwall_gateway::DataKind;
use powerwall_model::{Aggregates, Freshness, GridState};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::{GatewayView, app_scale_clamped, epoch, gateway_status, number, round2};
use crate::engine::snapshot::LinkState;

/// Everything `/api/aggregate/` and its sub-routes serve, computed once per change.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateBodies {
    /// `/api/aggregate/`: the full `AggregateData`.
    pub full: Value,
    /// `/api/aggregate/power`.
    pub power: Value,
    /// `/api/aggregate/soe`.
    pub soe: Value,
    /// `/api/aggregate/battery`.
    pub battery: Value,
    /// `/api/aggregate/strings`: `{gateway id: strings}`.
    pub strings: Value,
    /// `/api/aggregate/alerts`: `{gateway id: [alert]}`.
    pub alerts: Value,
    /// `/api/aggregate/vitals`: `{gateway id: vitals}`.
    pub vitals: Value,
}

/// A grid state, ordered so that the worst one is the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grid {
    Up,
    Syncing,
    Down,
}

impl Grid {
    fn of(state: &GridState) -> Option<Grid> {
        match state.as_updown()? {
            "UP" => Some(Grid::Up),
            "SYNCING" => Some(Grid::Syncing),
            "DOWN" => Some(Grid::Down),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Grid::Up => "UP",
            Grid::Syncing => "SYNCING",
            Grid::Down => "DOWN",
        }
    }
}

/// What the totals need from one included gateway.
struct Reading {
    id: String,
    online: bool,
    fetched: Option<f64>,
    /// `instant_power` of site, battery, load, solar (missing or non-finite → 0).
    power: [f64; 4],
    /// The gateway's raw SOE percentage.
    soe_raw: Option<f64>,
    /// `(nominal_full_pack_energy, nominal_energy_remaining)` in Wh, when both are usable.
    pack: Option<(f64, f64)>,
    grid: Option<Grid>,
}

impl Reading {
    /// The reading of a gateway whose meter aggregates are servable at `now` (typed readings of
    /// its snapshot); `None` for a gateway left out.
    fn of(view: &GatewayView<'_>, now: Instant) -> Option<Reading> {
        let readings = &view.snapshot.readings;
        let graceful = view.freshness.graceful_degradation;
        let aggregates = readings.aggregates.at(now, graceful);
        let meters = aggregates.value.filter(|meters| has_meters(meters))?;
        let finite = |value: Option<f64>| value.filter(|number| number.is_finite());
        let power = [
            meters.site_w(),
            meters.battery_w(),
            meters.load_w(),
            meters.solar_w(),
        ]
        .map(|watts| finite(watts).unwrap_or(0.0));
        let system_status = readings.system_status.at(now, graceful).value;
        let pack = system_status.and_then(|status| {
            match (
                finite(status.full_pack_energy_wh),
                finite(status.energy_remaining_wh),
            ) {
                (Some(full), Some(remaining)) if full > 0.0 && remaining >= 0.0 => {
                    Some((full, remaining))
                }
                _ => None,
            }
        });
        let soe_raw = finite(readings.soe.at(now, graceful).value.map(|soe| soe.raw_pct));
        let grid = readings
            .grid
            .at(now, graceful)
            .value
            .and_then(|grid| Grid::of(&grid.state));
        let online = view.snapshot.health.state == LinkState::Connected
            && aggregates.freshness == Freshness::Fresh;
        Some(Reading {
            id: view.info.id.clone(),
            online,
            fetched: readings
                .aggregates
                .known()
                .and_then(|known| epoch(known.fetched_wall)),
            power,
            soe_raw,
            pack,
            grid,
        })
    }
}

/// Whether the aggregates hold data (at least one meter section, as `/aggregates` requires).
fn has_meters(meters: &Aggregates) -> bool {
    meters.site.is_some()
        || meters.battery.is_some()
        || meters.load.is_some()
        || meters.solar.is_some()
}

/// The combined battery level and the gateways it rests on.
struct Level {
    raw: Option<f64>,
    method: Option<&'static str>,
    basis: Vec<String>,
    capacity_wh: Option<f64>,
    remaining_wh: Option<f64>,
}

impl Level {
    fn of(readings: &[Reading]) -> Level {
        let packs: Vec<(&Reading, (f64, f64))> = readings
            .iter()
            .filter_map(|reading| reading.pack.map(|pack| (reading, pack)))
            .collect();
        if !packs.is_empty() {
            let full: f64 = packs.iter().map(|(_, (full, _))| full).sum();
            let remaining: f64 = packs.iter().map(|(_, (_, remaining))| remaining).sum();
            return Level {
                raw: Some((100.0 * remaining / full).clamp(0.0, 100.0)),
                method: Some("energy_weighted"),
                basis: packs
                    .iter()
                    .map(|(reading, _)| reading.id.clone())
                    .collect(),
                capacity_wh: Some(full),
                remaining_wh: Some(remaining),
            };
        }
        let levels: Vec<(&Reading, f64)> = readings
            .iter()
            .filter_map(|reading| reading.soe_raw.map(|raw| (reading, raw)))
            .collect();
        let raw = (!levels.is_empty())
            .then(|| levels.iter().map(|(_, raw)| raw).sum::<f64>() / levels.len() as f64);
        Level {
            raw: raw.map(|raw| raw.clamp(0.0, 100.0)),
            method: raw.map(|_| "mean"),
            basis: levels
                .iter()
                .map(|(reading, _)| reading.id.clone())
                .collect(),
            capacity_wh: None,
            remaining_wh: None,
        }
    }
}

/// Aggregates over all gateways at `now` (statuses are the `gateway_status` of each view, in order).
///
/// A status missing from `statuses` is computed here, so a short slice cannot drop a gateway.
pub fn aggregate(views: &[GatewayView<'_>], statuses: &[Value], now: Instant) -> AggregateBodies {
    let mut readings = Vec::new();
    let mut summary = Map::new();
    let mut included_statuses = Map::new();
    let mut per_gateway = [Map::new(), Map::new(), Map::new()];
    for (index, view) in views.iter().enumerate() {
        let servable = view.servable(now);
        let reading = Reading::of(view, now);
        let mut entry = Map::new();
        entry.insert(
            "online".into(),
            Value::Bool(reading.as_ref().is_some_and(|reading| reading.online)),
        );
        entry.insert(
            "stale".into(),
            Value::Bool(reading.is_some() && servable.is_stale(DataKind::Aggregates)),
        );
        entry.insert(
            "last_updated".into(),
            number(servable.fetched(DataKind::Aggregates)),
        );
        entry.insert("included".into(), Value::Bool(reading.is_some()));
        summary.insert(view.info.id.clone(), Value::Object(entry));
        let Some(reading) = reading else {
            continue;
        };
        readings.push(reading);
        let status = statuses
            .get(index)
            .cloned()
            .unwrap_or_else(|| gateway_status(view, now));
        for (map, key) in per_gateway.iter_mut().zip(["strings", "alerts", "vitals"]) {
            if let Some(value) = status.get("data").and_then(|data| data.get(key))
                && !value.is_null()
            {
                map.insert(view.info.id.clone(), value.clone());
            }
        }
        included_statuses.insert(view.info.id.clone(), status);
    }

    let included = !readings.is_empty();
    let total = |meter: usize| {
        number(included.then(|| readings.iter().map(|reading| reading.power[meter]).sum()))
    };
    let [site, battery, load, solar] = [0, 1, 2, 3].map(total);
    let level = Level::of(&readings);
    let raw_pct = level.raw.map(round2);
    let app_pct = level.raw.map(|raw| round2(app_scale_clamped(raw)));
    let grid = readings.iter().filter_map(|reading| reading.grid).max();
    let fetched = || readings.iter().filter_map(|reading| reading.fetched);
    let oldest = number(fetched().reduce(f64::min));
    let newest = number(fetched().reduce(f64::max));
    let num_online = readings.iter().filter(|reading| reading.online).count();
    let num_degraded = readings.len() - num_online;

    let mut full = Map::new();
    full.insert("total_battery_percent_raw".into(), number(raw_pct));
    full.insert("total_battery_percent".into(), number(app_pct));
    full.insert("total_battery_capacity".into(), number(level.capacity_wh));
    full.insert("total_energy_remaining".into(), number(level.remaining_wh));
    full.insert("total_site_power".into(), site.clone());
    full.insert("total_battery_power".into(), battery.clone());
    full.insert("total_load_power".into(), load.clone());
    full.insert("total_solar_power".into(), solar.clone());
    full.insert("total_grid_power".into(), site.clone());
    full.insert(
        "grid_status".into(),
        grid.map_or(Value::Null, |grid| Value::from(grid.name())),
    );
    full.insert("num_gateways".into(), Value::from(views.len()));
    full.insert("num_online".into(), Value::from(num_online));
    full.insert("num_degraded".into(), Value::from(num_degraded));
    full.insert(
        "soe_method".into(),
        level.method.map_or(Value::Null, Value::from),
    );
    full.insert("soe_basis".into(), Value::from(level.basis));
    full.insert("gateways".into(), Value::Object(included_statuses));
    full.insert("gateways_summary".into(), Value::Object(summary));
    full.insert("timestamp".into(), oldest.clone());
    full.insert("newest_timestamp".into(), newest);

    let object = |pairs: Vec<(&str, Value)>| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
    };
    let [strings, alerts, vitals] = per_gateway.map(Value::Object);
    AggregateBodies {
        power: object(vec![
            ("site", site.clone()),
            ("battery", battery.clone()),
            ("load", load),
            ("solar", solar),
            ("grid", site),
            ("timestamp", oldest.clone()),
        ]),
        soe: object(vec![
            ("percentage", number(app_pct)),
            ("raw_percentage", number(raw_pct)),
            // The spec's quirk kept: `num_gateways` here is the online count.
            ("num_gateways", Value::from(num_online)),
            ("timestamp", oldest.clone()),
        ]),
        battery: object(vec![
            ("total_capacity", number(level.capacity_wh)),
            ("battery_percent", number(app_pct)),
            ("battery_percent_raw", number(raw_pct)),
            ("battery_power", battery),
            ("num_gateways", Value::from(views.len())),
            ("num_online", Value::from(num_online)),
            ("timestamp", oldest),
        ]),
        full: Value::Object(full),
        strings,
        alerts,
        vitals,
    }
}
