//! WebSocket streams (server-api §5, with the weaknesses of §11.5 fixed): `/ws/aggregate` and
//! `/ws/gateway/<id>`.
//!
//! Each client gets the current state on connect, then a message whenever its stream's content
//! changes; the overview is published at most once per second, so every client gets at most one
//! message per second, all in step. Frames are built once per overview and shared by every client.
//! A client whose socket does not take a message within [`SEND_TIMEOUT`] is dropped (nobody waits
//! on it, and the watch channel never queues more than the latest overview for it); clients are
//! admitted up to `PW_WS_MAX_CLIENTS`; the server pings every [`PING_EVERY`] and drops clients
//! that do not answer; an unknown gateway gets one error message and a close (code 1008).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use super::AppState;
use super::error::ApiError;
use super::gateways::detail;
use crate::engine::overview::Overview;

/// A message the client's socket does not take within this drops the client.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Server ping period; a client that has not answered the previous ping by the next is dropped.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Largest message accepted from a client (they have nothing to say but pongs and close).
const MAX_INCOMING: usize = 4096;
/// Read buffer per client: clients only send pongs and close frames.
const READ_BUFFER: usize = 4096;
/// Frames are written out at once rather than collected in a per-client buffer (the default
/// 128 KiB read and write buffers cost a quarter of a megabyte per client).
const WRITE_BUFFER: usize = 0;
/// The message for an unknown gateway id (the original's text).
const GATEWAY_NOT_FOUND: ApiError = ApiError::legacy("Gateway not found");

/// The WebSocket routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws/aggregate", get(aggregate_stream))
        .route("/ws/gateway/{id}", get(gateway_stream))
}

/// Which stream a client follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stream {
    /// The full aggregate (`GET /api/aggregate/`).
    Aggregate,
    /// The aggregate without per-gateway statuses (`?view=summary`).
    Summary,
    /// One gateway's status.
    Gateway(String),
}

/// Text frames of one overview, validated as UTF-8 once and shared by every client.
struct Frames {
    sequence: u64,
    aggregate: Utf8Bytes,
    summary: Utf8Bytes,
    gateways: Vec<(String, Utf8Bytes)>,
}

impl Frames {
    fn build(overview: &Overview) -> Self {
        Self {
            sequence: overview.sequence,
            aggregate: text(&overview.aggregate),
            summary: text(&overview.summary),
            gateways: overview
                .gateways
                .iter()
                .map(|gateway| (gateway.id.clone(), text(&gateway.status)))
                .collect(),
        }
    }

    fn frame(&self, stream: &Stream) -> Option<Utf8Bytes> {
        match stream {
            Stream::Aggregate => Some(self.aggregate.clone()),
            Stream::Summary => Some(self.summary.clone()),
            Stream::Gateway(id) => self
                .gateways
                .iter()
                .find(|(gateway, _)| gateway == id)
                .map(|(_, frame)| frame.clone()),
        }
    }
}

/// JSON bytes as a text frame (they are always UTF-8; `{}` stands in otherwise).
fn text(bytes: &Bytes) -> Utf8Bytes {
    Utf8Bytes::try_from(bytes.clone()).unwrap_or_else(|_| Utf8Bytes::from_static("{}"))
}

/// The frames of the latest overview, built by the first client that needs them.
#[derive(Default)]
pub struct FrameCache {
    latest: Mutex<Option<Arc<Frames>>>,
}

impl FrameCache {
    fn frames(&self, overview: &Overview) -> Arc<Frames> {
        let mut latest = match self.latest.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match latest.as_ref() {
            Some(frames) if frames.sequence == overview.sequence => Arc::clone(frames),
            _ => {
                let frames = Arc::new(Frames::build(overview));
                *latest = Some(Arc::clone(&frames));
                frames
            }
        }
    }
}

/// `?view=full|summary`.
#[derive(Debug, serde::Deserialize)]
struct StreamQuery {
    view: Option<String>,
}

async fn aggregate_stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> Response {
    let stream = match query.view.as_deref() {
        None | Some("full") => Stream::Aggregate,
        Some("summary") => Stream::Summary,
        Some(_) => {
            state.stats().count_error();
            return detail(StatusCode::BAD_REQUEST, "view must be full or summary");
        }
    };
    admit(&state, &uri, upgrade, stream)
}

async fn gateway_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> Response {
    admit(&state, &uri, upgrade, Stream::Gateway(id))
}

/// Takes a client slot (or refuses with 503) and upgrades.
fn admit(state: &AppState, uri: &Uri, upgrade: WebSocketUpgrade, stream: Stream) -> Response {
    let Ok(permit) = Arc::clone(state.ws_slots()).try_acquire_owned() else {
        state.stats().count_error();
        return detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many WebSocket clients (PW_WS_MAX_CLIENTS)",
        );
    };
    state.stats().count_get(uri.path());
    let updates = state.overview_updates();
    let cache = Arc::clone(state.ws_frames());
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| async move {
            serve_client(socket, stream, updates, &cache).await;
            drop(permit);
        })
}

/// Sends one message, bounded by [`SEND_TIMEOUT`]; `false` when the client is gone or too slow.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn serve_client(
    mut socket: WebSocket,
    stream: Stream,
    mut updates: watch::Receiver<Arc<Overview>>,
    cache: &FrameCache,
) {
    let overview = updates.borrow_and_update().clone();
    let Some(mut last_sent) = cache.frames(&overview).frame(&stream) else {
        if send(
            &mut socket,
            Message::Text(
                String::from_utf8_lossy(&GATEWAY_NOT_FOUND.body())
                    .into_owned()
                    .into(),
            ),
        )
        .await
        {
            let close = CloseFrame {
                code: axum::extract::ws::close_code::POLICY,
                reason: "Gateway not found".into(),
            };
            let _ = send(&mut socket, Message::Close(Some(close))).await;
        }
        return;
    };
    if !send(&mut socket, Message::Text(last_sent.clone())).await {
        return;
    }
    let mut heartbeat = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            changed = updates.changed() => {
                if changed.is_err() {
                    break; // the server is stopping
                }
                let overview = updates.borrow_and_update().clone();
                let Some(frame) = cache.frames(&overview).frame(&stream) else {
                    break;
                };
                if frame == last_sent {
                    continue; // another gateway changed, not this stream's content
                }
                if !send(&mut socket, Message::Text(frame.clone())).await {
                    break;
                }
                last_sent = frame;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_) | Ok(Message::Close(_))) => break,
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                // Pings are answered by the protocol layer; text from clients is ignored.
                Some(Ok(_)) => {}
            },
            _ = heartbeat.tick() => {
                if awaiting_pong || !send(&mut socket, Message::Ping(Bytes::new())).await {
                    break;
                }
                awaiting_pong = true;
            }
        }
    }
}
