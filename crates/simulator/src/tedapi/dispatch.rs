//! The device side of one TEDAPI exchange: route the envelope to a device, answer its payload
//! from the model's documents (gateway-protocols §2.5, §2.7, §2.13, §10.3).
//!
//! Every refusal is a protocol answer (an envelope with `common.errorResponse` or GraphQL
//! errors), never an HTTP error: that is what a device behind the gateway sends back.

use powerwall_gateway::tedapi::wire::common::{
    EcuId, FirmwareVersion, GetSystemInfoResponse, RpcCode, SystemUpdate,
};
use powerwall_gateway::tedapi::wire::payloads::{
    FileStoreDomain, GraphQlError, GraphQlErrorCode, GraphQlStatus, QueryRequest, ReadFileRequest,
};
use powerwall_gateway::tedapi::wire::queries::find_signed_query;
use powerwall_gateway::tedapi::wire::requests::CONFIG_FILE_NAME;
use powerwall_gateway::tedapi::wire::{
    ExternalAuthType, ReceivedRequest, RequestKind, TedapiReply,
};
use serde_json::Value;

use super::TedapiDocuments;

/// The URL a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `/tedapi/v1`: the gateway (on a Powerwall 3 site the leader, whose DIN it is).
    Gateway,
    /// `/tedapi/device/{DIN}/v1`: relayed by the gateway to that device.
    Device(&'a str),
}

/// Everything an answer is rendered from, taken at one instant.
#[derive(Debug)]
pub struct Context<'a> {
    /// The TEDAPI documents of the site now.
    pub docs: &'a TedapiDocuments,
    /// Firmware version text (`23.28.2 27626f98`).
    pub firmware: &'a str,
    /// The firmware's 40-hex git hash.
    pub git_hash: &'a str,
    /// Knob: the bundled signed queries are rejected too.
    pub keys_rotated: bool,
}

/// Answers a parsed request that arrived on `target`.
pub fn answer(ctx: &Context<'_>, target: Target<'_>, request: &ReceivedRequest) -> TedapiReply {
    let tail = request.external_auth;
    let gateway = ctx.docs.din.as_str();
    let device = match route(ctx, target, request) {
        Ok(device) => device,
        Err((code, message)) => return TedapiReply::error(gateway, tail, code as i32, &message),
    };
    match request.kind() {
        RequestKind::ReadFile(read) => read_file(ctx, device, tail, read),
        RequestKind::SystemInfo => TedapiReply::system_info(device, tail, system_info(ctx, device)),
        RequestKind::Query(query) => graphql(ctx, device, tail, query),
        RequestKind::Unsupported => {
            TedapiReply::error(device, tail, RpcCode::Unimplemented as i32, "UNIMPLEMENTED")
        }
    }
}

/// The DIN of the device that answers, or why no device does.
fn route<'a>(
    ctx: &Context<'a>,
    target: Target<'_>,
    request: &ReceivedRequest,
) -> Result<&'a str, (RpcCode, String)> {
    let gateway = ctx.docs.din.as_str();
    match target {
        // A single Powerwall 3 is the gateway itself, so "addressed to the PW3" lands here too.
        Target::Gateway => match request.recipient_din() {
            None => Ok(gateway),
            Some(din) if din == gateway => Ok(gateway),
            Some(din) => Err((
                RpcCode::NotFound,
                format!("{din} is not this gateway; use /tedapi/device/{din}/v1"),
            )),
        },
        Target::Device(din) => {
            let Some((known, _)) = ctx.docs.components.get_key_value(din) else {
                return Err((RpcCode::NotFound, format!("no device {din} on this site")));
            };
            if request.sender_din() != Some(gateway) {
                return Err((
                    RpcCode::PermissionDenied,
                    "relayed requests must come from the gateway DIN".to_owned(),
                ));
            }
            if request.external_auth != Some(ExternalAuthType::Mtls as i32) {
                return Err((
                    RpcCode::PermissionDenied,
                    "relayed requests need tail 2".to_owned(),
                ));
            }
            if request.recipient_din() != Some(din) {
                return Err((
                    RpcCode::InvalidArgument,
                    "the recipient does not match the URL's DIN".to_owned(),
                ));
            }
            Ok(known.as_str())
        }
    }
}

fn read_file(
    ctx: &Context<'_>,
    device: &str,
    tail: Option<i32>,
    read: &ReadFileRequest,
) -> TedapiReply {
    if read.name != CONFIG_FILE_NAME && read.domain != FileStoreDomain::ConfigJson as i32 {
        return TedapiReply::error(
            device,
            tail,
            RpcCode::NotFound as i32,
            &format!("no file {:?}", read.name),
        );
    }
    let content = ctx.docs.config.to_string().into_bytes();
    let hash = config_hash(&content);
    TedapiReply::file(device, tail, CONFIG_FILE_NAME, &content, &hash)
}

/// The opaque file hash clients send back on writes: 64-bit FNV-1a of the content, so equal
/// content has an equal hash and any change a different one.
pub fn config_hash(content: &[u8]) -> Vec<u8> {
    let hash = content
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    hash.to_be_bytes().to_vec()
}

fn system_info(ctx: &Context<'_>, device: &str) -> GetSystemInfoResponse {
    let (part, serial) = device.split_once("--").unwrap_or((device, ""));
    GetSystemInfoResponse {
        device_id: Some(EcuId {
            part_number: part.to_owned(),
            serial_number: serial.to_owned(),
        }),
        din: device.to_owned(),
        firmware_version: Some(FirmwareVersion {
            version: ctx.firmware.to_owned(),
            githash: ctx.git_hash.as_bytes().to_vec(),
        }),
        // IDLE, no update handshake pending.
        system_update: Some(SystemUpdate {
            update_status: 1,
            ..SystemUpdate::default()
        }),
        // SITECONTROLLER.
        device_type: 4,
        ..GetSystemInfoResponse::default()
    }
}

fn graphql(
    ctx: &Context<'_>,
    device: &str,
    tail: Option<i32>,
    query: &QueryRequest,
) -> TedapiReply {
    let found = find_signed_query(&query.query, &query.signature).filter(|_| !ctx.keys_rotated);
    let Some((_, entry)) = found else {
        // V2026_06 firmware's answer to a query whose signature it does not accept.
        return query_error(
            device,
            tail,
            GraphQlErrorCode::Unauthorized,
            "signature verification failed",
        );
    };
    let document: Option<&Value> = match entry.key.as_str() {
        "device_controller_basic" => Some(&ctx.docs.status),
        // V2026_06 has one DeviceControllerQuery carrying every signal: the full answer.
        "device_controller_full" | "DeviceControllerQuery" => Some(&ctx.docs.controller),
        "components" | "PW3Query" => ctx.docs.components_for(device),
        _ => None,
    };
    match document {
        Some(document) => TedapiReply::query(
            device,
            tail,
            GraphQlStatus::Success,
            &document.to_string(),
            Vec::new(),
        ),
        None => query_error(
            device,
            tail,
            GraphQlErrorCode::FieldNotFound,
            &format!("query {} is not simulated", entry.key),
        ),
    }
}

fn query_error(
    device: &str,
    tail: Option<i32>,
    code: GraphQlErrorCode,
    message: &str,
) -> TedapiReply {
    let error = GraphQlError {
        path: Vec::new(),
        code: code as i32,
        message: message.to_owned(),
    };
    TedapiReply::query(device, tail, GraphQlStatus::ErrorFull, "", vec![error])
}
