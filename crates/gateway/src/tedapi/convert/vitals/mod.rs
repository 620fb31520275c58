//! The TEDAPI vitals dictionary (§3.8): one block per device, keyed `<TYPE>--<part>--<serial>`.

mod gateway;
mod meters;
mod pvac;
mod pw2;
mod pw3;
mod pw3_pch;

use powerwall_model::Vitals;
use serde_json::{Value, json};

use super::{REFERENCE_LIBRARY_VERSION, TedapiInputs};

pub(crate) use meters::{CtReading, neurio_meters, remote_meters};
pub(crate) use pw3::pw3_voltages;
pub use pw3::{ComponentsRequest, pw3_component_requests, pw3_vitals};

/// The header text of TEDAPI-generated vitals.
const VITALS_TEXT: &str = "Device vitals generated from Tesla Powerwall Gateway TEDAPI";

/// Blocks collected per device type; the vitals key order is by type, then by source order.
#[derive(Debug, Default)]
struct Blocks {
    neurio: Vec<(String, Value)>,
    remote_meter: Vec<(String, Value)>,
    pvac: Vec<(String, Value)>,
    pvs: Vec<(String, Value)>,
    gateway: Vec<(String, Value)>,
    pinv: Vec<(String, Value)>,
    pod: Vec<(String, Value)>,
    tesla: Vec<(String, Value)>,
    sync: Vec<(String, Value)>,
    thc: Vec<(String, Value)>,
    backup_switch: Vec<(String, Value)>,
}

impl Blocks {
    fn into_vitals(self, vitals: &mut Vitals) {
        let groups = [
            self.neurio,
            self.remote_meter,
            self.pvac,
            self.pvs,
            self.gateway,
            self.pinv,
            self.pod,
            self.tesla,
            self.sync,
            self.thc,
            self.backup_switch,
        ];
        for (key, block) in groups.into_iter().flatten() {
            vitals.insert(key, block);
        }
    }
}

/// The vitals dictionary from config + full controller (+ PW3 blocks); `None` unless both are objects.
pub fn vitals(inputs: &TedapiInputs) -> Option<Vitals> {
    let config = inputs.config_object()?;
    let controller = inputs.controller_object()?;
    let (config, controller) = (Some(config), Some(controller));
    let mut blocks = Blocks {
        neurio: neurio_meters(config, controller).0,
        remote_meter: remote_meters(config, controller).0,
        ..Blocks::default()
    };
    pvac::add_solar_inverters(&mut blocks, config, controller);
    gateway::add_gateway(&mut blocks, config, inputs.status_object());
    pw2::add_powerwall2(&mut blocks, config, controller);
    gateway::add_backup_switch(&mut blocks, config, controller);
    gateway::add_synchroniser(&mut blocks, config, controller);

    let mut vitals = Vitals::new();
    vitals.insert(
        "VITALS".into(),
        json!({
            "text": VITALS_TEXT,
            "timestamp": inputs.now_epoch_seconds,
            "gateway": inputs.host,
            "pyPowerwall": REFERENCE_LIBRARY_VERSION,
        }),
    );
    blocks.into_vitals(&mut vitals);
    if let Some(pw3) = inputs.pw3_blocks() {
        // PW3 blocks replace same-named PW2-style blocks in place and append the rest.
        for (key, block) in pw3 {
            vitals.insert(key.clone(), block.clone());
        }
    }
    Some(vitals)
}
