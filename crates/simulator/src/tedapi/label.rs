//! What a TEDAPI request asks for, as a counter key (`/test/counter` → `by_query`).
//!
//! Every TEDAPI query is a `POST /tedapi/v1` to `by_path`, so a client's poll plan (which
//! documents it fetches, how often) is only visible once the protobuf body is decoded: this
//! module names each request by its payload, with the same decoder the persona answers with.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use powerwall_gateway::tedapi::wire::parse_request;
use powerwall_gateway::tedapi::wire::queries::find_signed_query;
use powerwall_gateway::tedapi::wire::requests::CONFIG_FILE_NAME;
use powerwall_gateway::tedapi::wire::{ReceivedRequest, RequestKind};

use crate::local::gateway_error;

/// The largest body read to label a request: axum's default body limit, which the TEDAPI
/// handlers enforce anyway (a bigger body is refused with 413 either way).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A request after labelling: passed on (with its body restored) or already answered.
pub enum Labelled {
    /// Hand the request on; the label is `None` for requests that are not TEDAPI exchanges.
    Pass(Request, Option<String>),
    /// The body could not be read (too large or cut off): this answer, under this label.
    Refused(Response, String),
}

/// Labels a request: `din` for `GET /tedapi/din`, the payload's name for a protobuf `POST` (see
/// [`exchange_label`]), `None` for everything else (counted under its path).
pub async fn label(request: Request) -> Labelled {
    let path = request.uri().path();
    let method = request.method();
    if method == Method::GET && path == "/tedapi/din" {
        return Labelled::Pass(request, Some("din".to_owned()));
    }
    let Some(target) = exchange_target(path) else {
        return Labelled::Pass(request, None);
    };
    if method != Method::POST {
        return Labelled::Pass(request, None);
    }
    let target = target.map(str::to_owned);
    let (parts, body) = request.into_parts();
    match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => {
            let label = exchange_label(target.as_deref(), &bytes);
            Labelled::Pass(Request::from_parts(parts, Body::from(bytes)), Some(label))
        }
        Err(_) => Labelled::Refused(
            gateway_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                "The request body could not be read",
            ),
            "unreadable body".to_owned(),
        ),
    }
}

/// `Some(None)` for `/tedapi/v1`, `Some(Some(din))` for `/tedapi/device/{din}/v1`, else `None`.
fn exchange_target(path: &str) -> Option<Option<&str>> {
    if path == "/tedapi/v1" {
        return Some(None);
    }
    let din = path.strip_prefix("/tedapi/device/")?.strip_suffix("/v1")?;
    (!din.is_empty() && !din.contains('/')).then_some(Some(din))
}

/// The counter key of one protobuf exchange: `config` (the `config.json` file), `file <name>`,
/// `system_info`, the signed query's key (`device_controller_basic`, `device_controller_full`,
/// `components`, or a V2026_06 operation name such as `DeviceControllerQuery`), `unsigned query`,
/// `unsupported` or `invalid body`; a request relayed to a Powerwall (`/tedapi/device/{DIN}/v1`)
/// gets ` <DIN>` appended (`components <DIN>`).
pub fn exchange_label(device: Option<&str>, body: &[u8]) -> String {
    let name = match parse_request(body) {
        Ok(request) => payload_name(&request),
        Err(_) => "invalid body".to_owned(),
    };
    match device {
        Some(din) => format!("{name} {din}"),
        None => name,
    }
}

fn payload_name(request: &ReceivedRequest) -> String {
    match request.kind() {
        RequestKind::ReadFile(read) if read.name == CONFIG_FILE_NAME => "config".to_owned(),
        RequestKind::ReadFile(read) => format!("file {}", read.name),
        RequestKind::SystemInfo => "system_info".to_owned(),
        RequestKind::Query(query) => find_signed_query(&query.query, &query.signature).map_or_else(
            || "unsigned query".to_owned(),
            |(_, entry)| entry.key.clone(),
        ),
        RequestKind::Unsupported => "unsupported".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use powerwall_gateway::tedapi::wire::{ApiVersion, QueryRole, TedapiRequest};

    use super::*;

    const GATEWAY: &str = "1707000-11-J--TG12000000001Z";
    const FOLLOWER: &str = "1707000-11-J--TG12000000002Z";

    fn gateway_label(request: &TedapiRequest) -> String {
        exchange_label(None, &request.to_basic_body())
    }

    #[test]
    fn names_each_payload() {
        assert_eq!(gateway_label(&TedapiRequest::config(GATEWAY)), "config");
        assert_eq!(
            gateway_label(&TedapiRequest::system_info(GATEWAY)),
            "system_info"
        );
        let query = |version, role| TedapiRequest::query(version, role, GATEWAY).unwrap();
        assert_eq!(
            gateway_label(&query(
                ApiVersion::V2024_06,
                QueryRole::DeviceControllerBasic
            )),
            "device_controller_basic"
        );
        assert_eq!(
            gateway_label(&query(
                ApiVersion::V2024_06,
                QueryRole::DeviceControllerFull
            )),
            "device_controller_full"
        );
        assert_eq!(
            gateway_label(&query(ApiVersion::V2024_06, QueryRole::Components)),
            "components"
        );
        assert_eq!(
            gateway_label(&query(ApiVersion::V2026_06, QueryRole::Components)),
            "PW3Query"
        );
        assert_eq!(exchange_label(None, b"\xff\xff\xff"), "invalid body");
    }

    #[test]
    fn relayed_requests_carry_the_device() {
        let request = TedapiRequest::device_query(
            ApiVersion::V2024_06,
            QueryRole::Components,
            GATEWAY,
            FOLLOWER,
        )
        .unwrap();
        let path = request.path();
        let target = exchange_target(&path).expect("a TEDAPI exchange path");
        assert_eq!(target, Some(FOLLOWER));
        assert_eq!(
            exchange_label(target, &request.to_basic_body()),
            format!("components {FOLLOWER}")
        );
    }

    #[test]
    fn only_exchange_paths_are_decoded() {
        assert_eq!(exchange_target("/tedapi/v1"), Some(None));
        assert_eq!(exchange_target("/tedapi/device/X/v1"), Some(Some("X")));
        assert_eq!(exchange_target("/tedapi/device//v1"), None);
        assert_eq!(exchange_target("/tedapi/device/a/b/v1"), None);
        assert_eq!(exchange_target("/tedapi/din"), None);
        assert_eq!(exchange_target("/api/status"), None);
    }
}
