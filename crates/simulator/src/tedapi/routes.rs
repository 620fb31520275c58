//! The TEDAPI HTTP persona (gateway-protocols §2.2, §10.3, §10.4), on the same listener as the
//! local API: `GET /tedapi/din`, `POST /tedapi/v1`, `POST /tedapi/device/{DIN}/v1`.
//!
//! Counting, fault injection and in-flight tracking are the gateway router's layers
//! (`sim::app`); this module only authenticates, dispatches and frames the answers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use powerwall_gateway::tedapi::wire::parse_request;

use super::TedapiDocuments;
use super::auth::{self, Guarded};
use super::dispatch::{self, Context, Target};
use super::gzip::gzip;
use super::knobs::GzipKnob;
use crate::local::documents::git_hash;
use crate::local::gateway_error;
use crate::sim::Sim;

/// The TEDAPI routes; merged into the gateway router so the shared layers apply.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/tedapi/din", get(din))
        .route("/tedapi/v1", post(gateway_v1))
        .route("/tedapi/device/{din}/v1", post(device_v1))
        .route("/tedapi", any(unknown))
        .route("/tedapi/{*rest}", any(unknown))
}

/// `GET /tedapi/din`: the gateway DIN as text.
async fn din(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = auth::check(&sim, &headers, Guarded::Din) {
        return refusal.into_response();
    }
    let snapshot = sim.snapshot();
    framed(
        &sim,
        &snapshot.firmware,
        snapshot.din().into_bytes(),
        "text/plain; charset=utf-8",
    )
}

/// `POST /tedapi/v1`.
async fn gateway_v1(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    exchange(&sim, &headers, &body, Target::Gateway)
}

/// `POST /tedapi/device/{DIN}/v1`.
async fn device_v1(
    State(sim): State<Arc<Sim>>,
    Path(din): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    exchange(&sim, &headers, &body, Target::Device(&din))
}

/// Any other `/tedapi` path: credentials are checked first, as on every TEDAPI path.
async fn unknown(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = auth::check(&sim, &headers, Guarded::Post) {
        return refusal.into_response();
    }
    gateway_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested resource was not found",
    )
}

/// Authenticates, parses and answers one protobuf request.
fn exchange(sim: &Sim, headers: &HeaderMap, body: &[u8], target: Target<'_>) -> Response {
    if let Err(refusal) = auth::check(sim, headers, Guarded::Post) {
        return refusal.into_response();
    }
    let request = match parse_request(body) {
        Ok(request) => request,
        Err(error) => {
            return gateway_error(StatusCode::BAD_REQUEST, "Bad Request", &error.to_string());
        }
    };
    // One snapshot for the documents and the identity, so every number is from one instant.
    let snapshot = sim.snapshot();
    let docs = TedapiDocuments::render(&snapshot, sim.fixtures());
    let hash = git_hash(&snapshot.firmware, sim.fixtures());
    let ctx = Context {
        docs: &docs,
        firmware: &snapshot.firmware,
        git_hash: &hash,
        keys_rotated: sim.tedapi().knobs().tedapi_keys_rotated,
    };
    // Basic and bearer answers are the same bytes: `Message {envelope, tail}` is also the
    // `AuthEnvelope {payload, externalAuth}` a bearer client unwraps.
    let reply = dispatch::answer(&ctx, target, &request);
    framed(
        sim,
        &snapshot.firmware,
        reply.to_body(),
        "application/octet-stream",
    )
}

/// A 200 answer, gzipped as the knob (or, by default, the firmware) says.
fn framed(sim: &Sim, firmware: &str, body: Vec<u8>, content_type: &'static str) -> Response {
    let mode = sim.tedapi().knobs().tedapi_gzip.resolve(firmware);
    let body = match mode {
        GzipKnob::Off | GzipKnob::Auto => body,
        GzipKnob::NoHeader | GzipKnob::Header => gzip(&body),
    };
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if mode == GzipKnob::Header {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}
