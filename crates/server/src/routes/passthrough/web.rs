//! The web catch-all (§6.9.1 steps 3–5): non-`/api/` paths relayed from the gateway without
//! credentials, everything else `Not Found` as text; always 200 with the browser cookies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use powerwall_gateway::AccessMode;
use powerwall_gateway::http::{GatewayHttpSettings, gateway_client};
use powerwall_gateway::local::GatewayHost;

use super::super::AppState;
use crate::engine::on_demand::{Answer, GatewayPause, OnDemandConfig, SingleFlight};
use crate::engine::snapshot::LinkState;
use crate::settings::Freshness;

/// Largest gateway body relayed to a browser.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Most relayed targets remembered (bodies are capped, so memory stays bounded).
const MAX_TARGETS: usize = 64;

/// A gateway 404 is not asked again for this long (§8.1: 600 s).
const NOT_FOUND_HOLD: Duration = Duration::from_secs(600);

/// A gateway 503 is not asked again for this long (§8.1: 300 s).
const UNAVAILABLE_HOLD: Duration = Duration::from_secs(300);

/// After a gateway 429 nothing is relayed for this long, or for its `Retry-After` (§8.1).
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(300);

/// A relayed gateway answer: its content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebBody {
    /// The gateway's `Content-Type` (`text/plain` when it sent none).
    pub content_type: String,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Bytes,
}

/// Where relayed requests go: a credential-free client and the gateway's base URL.
struct Upstream {
    client: reqwest::Client,
    base_url: String,
}

/// The gateway web passthrough: its own HTTP client (no session, no credentials), single-flight
/// per target, bounded by `PW_TIMEOUT`, body capped, every request counted.
pub struct WebPassthrough {
    upstream: Option<Upstream>,
    cache: SingleFlight<WebBody>,
    requests: Arc<AtomicU64>,
    /// Nothing is relayed while this runs (set by a gateway 429, here or in the client).
    pause: Arc<GatewayPause>,
}

impl WebPassthrough {
    /// The passthrough for a gateway in `mode` at `target`; disabled outside local-API modes.
    pub fn new(
        mode: AccessMode,
        target: &str,
        freshness: &Freshness,
        link: GatewayHttpSettings,
        pause: Arc<GatewayPause>,
    ) -> Self {
        let upstream = if matches!(mode, AccessMode::Local | AccessMode::TedapiHybrid) {
            build_upstream(target, link)
        } else {
            None
        };
        let config = OnDemandConfig {
            max_entries: MAX_TARGETS,
            ..OnDemandConfig::for_gateway(freshness, link.timeout)
        };
        Self {
            upstream,
            cache: SingleFlight::new(config),
            requests: Arc::new(AtomicU64::new(0)),
            pause,
        }
    }

    /// Requests sent to the gateway by the passthrough so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The gateway's answer for `target` (path and query), or `None`.
    pub async fn fetch(&self, target: &str, degraded: bool) -> Option<WebBody> {
        let upstream = self.upstream.as_ref()?;
        if self.pause.active() {
            return None;
        }
        let client = upstream.client.clone();
        let url = format!("{}{}", upstream.base_url, target);
        let requests = Arc::clone(&self.requests);
        let pause = Arc::clone(&self.pause);
        self.cache
            .get_answer(target, degraded, move || async move {
                if pause.active() {
                    return Answer::Failed("the gateway asked us to back off".to_owned(), None);
                }
                requests.fetch_add(1, Ordering::Relaxed);
                let (answer, pause_for) = relay(client, url).await;
                if let Some(pause_for) = pause_for {
                    pause.hold(pause_for);
                }
                answer
            })
            .await
    }
}

fn build_upstream(target: &str, link: GatewayHttpSettings) -> Option<Upstream> {
    let host = match GatewayHost::parse(target) {
        Ok(host) => host,
        Err(err) => {
            tracing::warn!("web passthrough disabled: {err}");
            return None;
        }
    };
    let client = gateway_client(GatewayHttpSettings {
        timeout: link.timeout,
        // A few stray requests at most: one idle connection is plenty.
        pool_max_idle: link.pool_max_idle.min(1),
    });
    match client {
        Ok(client) => Some(Upstream {
            client,
            base_url: host.base_url(),
        }),
        Err(err) => {
            tracing::warn!("web passthrough disabled: {err}");
            None
        }
    }
}

/// One GET without credentials; the gateway's status is dropped (the proxy answers 200), but the
/// gateway's protection rules hold: a 404 answer is reused for 600 s, a 503 holds that target
/// off for 300 s, a 429 pauses every relay (and is not relayed).
/// The second value, when set, pauses every relay for that long.
async fn relay(client: reqwest::Client, url: String) -> (Answer<WebBody>, Option<Duration>) {
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(err) => return (Answer::Failed(format!("request failed: {err}"), None), None),
    };
    let answer = match response.status().as_u16() {
        429 => {
            let pause = powerwall_gateway::http::retry_after(response.headers(), SystemTime::now())
                .unwrap_or(RATE_LIMIT_PAUSE)
                .max(RATE_LIMIT_PAUSE);
            let answer = Answer::Failed("the gateway answered 429".to_owned(), Some(pause));
            return (answer, Some(pause));
        }
        503 => Answer::Failed(
            "the gateway answered 503".to_owned(),
            Some(UNAVAILABLE_HOLD),
        ),
        404 => match read_body(response).await {
            Ok(body) => Answer::Value(body, Some(NOT_FOUND_HOLD)),
            Err(why) => Answer::Failed(why, Some(NOT_FOUND_HOLD)),
        },
        _ => match read_body(response).await {
            Ok(body) => Answer::Value(body, None),
            Err(why) => Answer::Failed(why, None),
        },
    };
    (answer, None)
}

/// The content type and the (capped) body of a gateway answer.
async fn read_body(mut response: reqwest::Response) -> Result<WebBody, String> {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| HeaderValue::from_str(value).is_ok())
        .unwrap_or("text/plain")
        .to_owned();
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err("body too large".to_owned());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| format!("reading the body failed: {err}"))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err("body too large".to_owned());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(WebBody {
        content_type,
        body: body.freeze(),
    })
}

/// The catch-all: relay a safe non-`/api/` target from the gateway, else `Not Found`.
pub async fn catch_all(state: &AppState, uri: &Uri) -> Response {
    state.stats().count_web_get();
    let Some(target) = relayable_target(uri) else {
        return not_found(state);
    };
    if state.snapshot().health.state == LinkState::CoolingDown {
        // The gateway asked the client to back off: no other request may reach it either.
        return not_found(state);
    }
    match state
        .web_passthrough()
        .fetch(&target, state.fail_fast_active())
        .await
    {
        Some(answer) => web_response(state, &answer.content_type, answer.body),
        None => not_found(state),
    }
}

/// `Not Found` as text, with the catch-all headers.
pub fn not_found(state: &AppState) -> Response {
    web_response(state, "text/plain", Bytes::from_static(b"Not Found"))
}

/// A catch-all answer: two placeholder cookies, `Cache-Control`, the content type; status 200.
fn web_response(state: &AppState, content_type: &str, body: Bytes) -> Response {
    let web = &state.settings().web;
    let suffix = web.https.cookie_suffix();
    let cookie = |name: &str| {
        HeaderValue::from_str(&format!("{name}=1234567890;{suffix}"))
            .unwrap_or_else(|_| HeaderValue::from_static("AuthCookie=1234567890;path=/;"))
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let cacheable = matches!(
        essence.as_str(),
        "text/css" | "application/javascript" | "image/png"
    );
    let seconds = web.browser_cache.as_secs();
    let cache_control = if cacheable && seconds > 0 {
        HeaderValue::from_str(&format!("max-age={seconds}"))
            .unwrap_or_else(|_| HeaderValue::from_static("no-cache, no-store"))
    } else {
        HeaderValue::from_static("no-cache, no-store")
    };
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("text/plain"));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookie("AuthCookie"));
    headers.append(header::SET_COOKIE, cookie("UserRecord"));
    headers.insert(header::CACHE_CONTROL, cache_control);
    headers.insert(header::CONTENT_TYPE, content_type);
    response
}

/// The target to relay (raw path and query), or `None` when it must not reach the gateway: an
/// `/api/` path (no open proxy), any `.`/`..` segment or backslash (also percent-encoded, also
/// twice), control characters, or a scheme-relative `//` start.
pub fn relayable_target(uri: &Uri) -> Option<String> {
    let raw = uri.path();
    if !raw.starts_with('/') || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut decoded = raw.to_owned();
    for _ in 0..3 {
        let next = percent_decode(&decoded);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if decoded.contains('%') && percent_decode(&decoded) != decoded {
        // Still encoded after three rounds: nobody needs that.
        return None;
    }
    let lower = decoded.to_ascii_lowercase();
    let unsafe_text = decoded.starts_with("//")
        || decoded.contains('\\')
        || decoded.chars().any(char::is_control)
        || decoded
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        || lower == "/api"
        || lower.starts_with("/api/");
    if unsafe_text {
        return None;
    }
    match uri.query() {
        Some(query) if !query.bytes().all(|b| b.is_ascii_graphic()) => None,
        Some(query) => Some(format!("{raw}?{query}")),
        None => Some(raw.to_owned()),
    }
}

/// Decodes `%XX` escapes (invalid ones stay as they are; the result is lossy UTF-8).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn target(text: &str) -> Option<String> {
        relayable_target(&text.parse::<Uri>().unwrap())
    }

    #[test]
    fn ordinary_paths_are_relayed_with_their_query() {
        assert_eq!(target("/foo").as_deref(), Some("/foo"));
        assert_eq!(
            target("/aggregatesx?x=1").as_deref(),
            Some("/aggregatesx?x=1")
        );
        assert_eq!(target("/a/b.c/d..e").as_deref(), Some("/a/b.c/d..e"));
        assert_eq!(target("/%7Efoo").as_deref(), Some("/%7Efoo"));
    }

    #[test]
    fn api_paths_and_traversal_never_reach_the_gateway() {
        for bad in [
            "/api/config",
            "/api/config?x=1",
            "/API/config",
            "/api",
            "/%61pi/config",
            "/%2561pi/config",
            "/../server.py",
            "/a/../../etc/passwd",
            "/%2e%2e/server.py",
            "/%2E%2E%2Fserver.py",
            "/%252e%252e/server.py",
            "/..%2fserver.py",
            "/.%2e/server.py",
            "/./api/config",
            "/a%5c..%5cb",
            "//evil.example/x",
            "/%2fevil.example/x",
            "/a%00b",
            "/%25252525252e%25252525252e/x",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }

    #[test]
    fn percent_decoding_leaves_bad_escapes_alone() {
        assert_eq!(percent_decode("/a%2Fb"), "/a/b");
        assert_eq!(percent_decode("/100%"), "/100%");
        assert_eq!(percent_decode("/%zz%4"), "/%zz%4");
    }
}
