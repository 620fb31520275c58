//! Energy sites from the product list, site selection and stale-site recovery
//! (gateway-protocols §5.3).

use serde_json::Value;

use crate::GatewayError;

/// One energy site of the account's product list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnergySite {
    /// `energy_site_id`: the id in every site URL.
    pub id: u64,
    /// `resource_type`: `battery` or `solar`.
    pub resource_type: String,
    /// `site_name`.
    pub site_name: Option<String>,
    /// `gateway_id`: the gateway DIN (stable when Tesla renumbers a site).
    pub gateway_id: Option<String>,
}

/// The energy sites of a product list (the unwrapped `response` array): batteries first, then
/// solar-only sites, each in list order; vehicles and unknown entries are skipped.
pub fn energy_sites(products: &Value) -> Vec<EnergySite> {
    let entries = products.as_array().map(Vec::as_slice).unwrap_or_default();
    let of_type = |kind: &'static str| {
        entries
            .iter()
            .filter(move |entry| entry["resource_type"].as_str() == Some(kind))
            .filter_map(|entry| {
                let id = entry["energy_site_id"].as_u64().or_else(|| {
                    entry["energy_site_id"]
                        .as_str()
                        .and_then(|text| text.parse().ok())
                })?;
                Some(EnergySite {
                    id,
                    resource_type: kind.to_owned(),
                    site_name: entry["site_name"].as_str().map(str::to_owned),
                    gateway_id: entry["gateway_id"].as_str().map(str::to_owned),
                })
            })
    };
    of_type("battery").chain(of_type("solar")).collect()
}

/// The configured site (it must exist) or, with none configured, the first site.
pub fn select_site(
    sites: &[EnergySite],
    configured: Option<u64>,
) -> Result<EnergySite, GatewayError> {
    match configured {
        Some(id) => sites.iter().find(|site| site.id == id).cloned().ok_or_else(|| {
            let known: Vec<String> = sites.iter().map(|site| site.id.to_string()).collect();
            GatewayError::Config(format!(
                "energy site {id} is not in this Tesla account (sites: {}); fix PW_SITEID or the \
                 site file",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        }),
        None => sites.first().cloned().ok_or_else(|| {
            GatewayError::Config("this Tesla account has no energy site".to_owned())
        }),
    }
}

/// The site that replaces `current` after a 404: `current` itself when it still exists (the 404
/// was something else), else the site with the same `gateway_id`, else the only site with the
/// same name, else the only site of a single-site account; `None` when ambiguous.
pub fn recover_site(current: &EnergySite, sites: &[EnergySite]) -> Option<EnergySite> {
    if let Some(same) = sites.iter().find(|site| site.id == current.id) {
        return Some(same.clone());
    }
    if let Some(gateway) = &current.gateway_id {
        if let Some(site) = sites
            .iter()
            .find(|site| site.gateway_id.as_ref() == Some(gateway))
        {
            return Some(site.clone());
        }
    }
    if let Some(name) = &current.site_name {
        let named: Vec<&EnergySite> = sites
            .iter()
            .filter(|site| site.site_name.as_ref() == Some(name))
            .collect();
        if let [only] = named.as_slice() {
            return Some((*only).clone());
        }
    }
    match sites {
        [only] => Some(only.clone()),
        _ => None,
    }
}
