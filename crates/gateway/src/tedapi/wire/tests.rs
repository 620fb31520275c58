//! Byte-for-byte checks against the reference test vectors (`testdata/tedapi/wire`).

use serde_json::Value;

use super::common::{
    ComplianceInformation, EcuId, FirmwareVersion, GetSystemInfoResponse, RadioLegalInformation,
    SystemUpdate,
};
use super::messages::StringValue;
use super::payloads::GraphQlStatus;
use super::queries::{decode_hex, find_signed_query};
use super::*;

const DIN: &str = "1232100-00-E--TG123456789ABC";
const FOLLOWER_DIN: &str = "1707000-11-J--TG12000000002Z";
const VECTORS: &str = include_str!("../../../../../testdata/tedapi/wire/test-vectors.json");
const VARIABLES_SENT: &str =
    include_str!("../../../../../testdata/tedapi/queries/V2024_06.variables-sent.json");

/// The bytes of the named test vector.
pub(super) fn vector(name: &str) -> Vec<u8> {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("vectors parse");
    let entry = vectors
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"));
    assert_eq!(entry["din"], DIN, "{name}");
    let bytes = decode_hex(entry["hex"].as_str().expect("hex")).expect("valid hex");
    assert_eq!(Some(bytes.len() as u64), entry["length"].as_u64(), "{name}");
    bytes
}

/// Every TEDAPI v1 vector (the v1r ones belong to the v1r module).
pub(super) fn all_v1_vectors() -> Vec<Vec<u8>> {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("vectors parse");
    vectors
        .iter()
        .filter_map(|entry| entry["name"].as_str())
        .filter(|name| !name.starts_with("v1r_"))
        .map(vector)
        .collect()
}

/// Compares bytes as hex, so a mismatch shows where it starts.
fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let first = actual
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        panic!(
            "{what}: {} bytes vs {} expected, first difference at {first}",
            actual.len(),
            expected.len()
        );
    }
}

#[test]
fn config_request_matches_the_vectors() {
    let request = TedapiRequest::config(DIN);
    assert_same_bytes(
        &request.to_basic_body(),
        &vector("config_request"),
        "config",
    );
    assert_same_bytes(
        &request.to_bearer_body(),
        &vector("bearer_authenvelope_config_request"),
        "bearer",
    );
    assert_same_bytes(
        &request.to_bare_envelope(),
        &vector("bare_envelope_config_request"),
        "bare",
    );
    assert_eq!(request.path(), "/tedapi/v1");
}

#[test]
fn system_info_request_matches_both_firmware_vectors() {
    let body = TedapiRequest::system_info(DIN).to_basic_body();
    assert_same_bytes(&body, &vector("firmware_request_V2024_06"), "V2024_06");
    assert_same_bytes(&body, &vector("firmware_request_V2026_06"), "V2026_06");
}

#[test]
fn gateway_queries_match_the_vectors() {
    let cases = [
        (
            ApiVersion::V2024_06,
            QueryRole::DeviceControllerBasic,
            "query_device_controller_basic_V2024_06",
        ),
        (
            ApiVersion::V2024_06,
            QueryRole::DeviceControllerFull,
            "query_device_controller_full_V2024_06",
        ),
        (
            ApiVersion::V2024_06,
            QueryRole::Components,
            "query_components_V2024_06",
        ),
        (
            ApiVersion::V2026_06,
            QueryRole::DeviceControllerBasic,
            "query_device_controller_basic_V2026_06",
        ),
        // V2026_06 has a single DeviceControllerQuery with every signal inline.
        (
            ApiVersion::V2026_06,
            QueryRole::DeviceControllerFull,
            "query_device_controller_basic_V2026_06",
        ),
        (
            ApiVersion::V2026_06,
            QueryRole::Components,
            "query_components_V2026_06",
        ),
    ];
    for (version, role, name) in cases {
        let request = TedapiRequest::query(version, role, DIN).expect("query builds");
        assert_same_bytes(&request.to_basic_body(), &vector(name), name);
        // Gateway-level requests carry PRESENCE, so the bearer framing is the same bytes.
        assert_eq!(request.to_bearer_body(), request.to_basic_body(), "{name}");
        assert_eq!(request.path(), "/tedapi/v1");
    }
}

#[test]
fn follower_query_matches_the_vector() {
    let request = TedapiRequest::device_query(
        ApiVersion::V2024_06,
        QueryRole::Components,
        DIN,
        FOLLOWER_DIN,
    )
    .expect("query builds");
    assert_same_bytes(
        &request.to_basic_body(),
        &vector("query_components_follower_V2024_06"),
        "follower",
    );
    assert_eq!(request.path(), format!("/tedapi/device/{FOLLOWER_DIN}/v1"));
    assert_eq!(request.external_auth, ExternalAuthType::Mtls);
}

#[test]
fn variables_sent_match_the_derived_file() {
    let expected: Value = serde_json::from_str(VARIABLES_SENT).expect("file parses");
    let set = query_set(ApiVersion::V2024_06).expect("V2024_06 parses");
    for role in QueryRole::ALL {
        let key = role.query_key(ApiVersion::V2024_06);
        let sent = &set.for_role(role).expect("entry").variables_sent;
        assert_eq!(Some(sent.as_str()), expected[key]["b_value_sent"].as_str());
    }
}

#[test]
fn query_files_parse_and_signed_bytes_wrap_the_text() {
    let legacy = query_set(ApiVersion::V2024_06).expect("V2024_06 parses");
    assert_eq!(legacy.queries.len(), 3);
    let current = query_set(ApiVersion::V2026_06).expect("V2026_06 parses");
    assert_eq!(current.queries.len(), 10);
    for (set, version) in [(legacy, 1), (current, 2)] {
        for entry in &set.queries {
            let request = payloads::QueryRequest {
                query: entry.query.clone(),
                ..Default::default()
            };
            let signed = request.signed_query().expect("signed query decodes");
            assert_eq!(signed.version, version, "{}", entry.key);
            assert_eq!(signed.query, entry.text.as_bytes(), "{}", entry.key);
            assert!(
                (137..=139).contains(&entry.signature.len()),
                "{}",
                entry.key
            );
            assert_eq!(
                find_signed_query(&entry.query, &entry.signature).map(|(_, e)| e),
                Some(entry)
            );
        }
    }
    let first = &legacy.queries[0];
    assert_eq!(find_signed_query(&first.query, &[0x30]), None);
}

#[test]
fn api_version_labels_parse_exactly() {
    assert_eq!(ApiVersion::default(), ApiVersion::V2024_06);
    assert_eq!("V2026_06".parse::<ApiVersion>(), Ok(ApiVersion::V2026_06));
    assert!("v2026_06".parse::<ApiVersion>().is_err());
    let known = ApiVersion::parse_or_default("V2026_06");
    assert_eq!(known.version, ApiVersion::V2026_06);
    assert_eq!(known.warning(), None);
    let unknown = ApiVersion::parse_or_default("V2025_01");
    assert_eq!(unknown.version, ApiVersion::V2024_06);
    let warning = unknown.warning().expect("warns");
    assert!(
        warning.contains("V2025_01") && warning.contains("V2026_06"),
        "{warning}"
    );
    assert!(ApiVersion::V2024_06 < ApiVersion::V2026_06);
    assert_eq!(ApiVersion::V2026_06.to_string(), "V2026_06");
}

#[test]
fn config_response_decodes() {
    let response = parse_response(&vector("config_response_example")).expect("parses");
    assert_eq!(
        response.sender.as_ref().and_then(Participant::as_din),
        Some(DIN)
    );
    assert_eq!(response.external_auth, Some(1));
    let file = response.into_config().expect("a file");
    assert_eq!(file.name, "config.json");
    assert_eq!(file.text, format!(r#"{{"vin":"{DIN}"}}"#));
    assert_eq!(file.hash, [1, 2]);
    assert_eq!(file.json().expect("json")["vin"], DIN);
}

#[test]
fn query_responses_decode_in_both_namings() {
    for name in [
        "query_response_example",
        "graphql_response_example_V2026_06",
    ] {
        let answer = parse_response(&vector(name))
            .expect("parses")
            .into_query()
            .expect("a query answer");
        assert_eq!(answer.status(), Some(GraphQlStatus::Success), "{name}");
        assert_eq!(answer.data, r#"{"control":{}}"#);
        assert!(answer.errors.is_empty());
        assert_eq!(
            answer.json().expect("json"),
            serde_json::json!({"control": {}})
        );
    }
}

/// The system info of `firmware_response_example`, field by field.
fn example_system_info() -> GetSystemInfoResponse {
    let text = |value: &str| Some(StringValue::new(value));
    GetSystemInfoResponse {
        device_id: Some(EcuId {
            part_number: "1232100-00-E".into(),
            serial_number: "TG123456789ABC".into(),
        }),
        din: DIN.into(),
        firmware_version: Some(FirmwareVersion {
            version: "24.4.0 0fe780c9".into(),
            githash: b"0fe780c9".to_vec(),
        }),
        system_update: Some(SystemUpdate {
            update_status: 1,
            ..Default::default()
        }),
        device_type: 4,
        compliance_information: Some(ComplianceInformation {
            radio_legal_information: vec![RadioLegalInformation {
                manufacturer: text("Quectel"),
                model: text("BG95-M2"),
                fcc_id: text("XMR2020BG95M2"),
                ic_id: text("10224A-2020BG95M2"),
            }],
        }),
        ..Default::default()
    }
}

#[test]
fn firmware_response_decodes() {
    let info = parse_response(&vector("firmware_response_example"))
        .expect("parses")
        .into_system_info()
        .expect("system info");
    assert_eq!(info.firmware_version_text(), Some("24.4.0 0fe780c9"));
    assert_eq!(info, example_system_info());
}

#[test]
fn device_side_replies_match_the_response_vectors() {
    let config_text = format!(r#"{{"vin":"{DIN}"}}"#);
    let file = TedapiReply::file(DIN, Some(1), "config.json", config_text.as_bytes(), &[1, 2]);
    assert_same_bytes(
        &file.to_body(),
        &vector("config_response_example"),
        "config",
    );
    let query = TedapiReply::query(
        DIN,
        Some(1),
        GraphQlStatus::Success,
        r#"{"control":{}}"#,
        vec![],
    );
    assert_same_bytes(&query.to_body(), &vector("query_response_example"), "query");
    let info = TedapiReply::system_info(DIN, Some(1), example_system_info());
    assert_same_bytes(
        &info.to_body(),
        &vector("firmware_response_example"),
        "firmware",
    );
}

#[test]
fn device_side_reads_every_request_kind() {
    let config = parse_request(&vector("config_request")).expect("parses");
    assert_eq!(config.recipient_din(), Some(DIN));
    assert_eq!(config.external_auth, Some(1));
    assert!(
        matches!(config.kind(), RequestKind::ReadFile(read) if read.name == "config.json" && read.domain == 1)
    );
    let info = parse_request(&vector("firmware_request_V2026_06")).expect("parses");
    assert_eq!(info.kind(), RequestKind::SystemInfo);
    let follower = parse_request(&vector("query_components_follower_V2024_06")).expect("parses");
    assert_eq!(follower.sender_din(), Some(DIN));
    assert_eq!(follower.recipient_din(), Some(FOLLOWER_DIN));
    assert_eq!(follower.external_auth, Some(2));
    let RequestKind::Query(query) = follower.kind() else {
        panic!("not a query");
    };
    let (version, entry) = find_signed_query(&query.query, &query.signature).expect("bundled");
    assert_eq!(
        (version, entry.key.as_str()),
        (ApiVersion::V2024_06, "components")
    );
    assert_eq!(query.variables_text(), entry.variables_sent);
}

#[test]
fn error_responses_surface_as_device_errors() {
    let body = TedapiReply::error(DIN, Some(1), 12, "unimplemented").to_body();
    let response = parse_response(&body).expect("parses");
    assert_eq!(
        response.answer,
        TedapiAnswer::Error(DeviceError {
            code: 12,
            message: "unimplemented".into()
        })
    );
    assert_eq!(
        response.into_config(),
        Err(WireError::DeviceError {
            code: 12,
            message: "unimplemented".into()
        })
    );
    let query = parse_response(&vector("query_response_example")).expect("parses");
    assert_eq!(
        query.into_config(),
        Err(WireError::WrongAnswer {
            expected: "file",
            found: "GraphQL answer"
        })
    );
}

#[test]
fn requests_and_garbage_are_not_answers() {
    assert_eq!(
        parse_response(&vector("config_request")),
        Err(WireError::UnexpectedPayload {
            found: "a file store request or write"
        })
    );
    assert_eq!(parse_response(&[]), Err(WireError::Empty));
    assert!(matches!(
        parse_response(b"<html>busy</html>"),
        Err(WireError::Protobuf(_))
    ));
    // A tail-only reply (no envelope) and an envelope without payload.
    assert_eq!(
        parse_response(&[0x12, 0x02, 0x08, 0x01]),
        Err(WireError::Missing { what: "envelope" })
    );
    assert_eq!(
        parse_bare_envelope(&[0x08, 0x01]),
        Err(WireError::Missing { what: "payload" })
    );
    let full = vector("config_response_example");
    assert!(parse_response(&full[..full.len() / 2]).is_err());
}

#[test]
fn wire_errors_become_malformed_gateway_errors() {
    let error = WireError::Empty.into_gateway_error("/tedapi/device/X/v1");
    assert!(
        matches!(&error, crate::GatewayError::Malformed { path, .. } if path == "/tedapi/device/X/v1")
    );
    let converted: crate::GatewayError = WireError::Empty.into();
    assert!(matches!(converted, crate::GatewayError::Malformed { .. }));
}
