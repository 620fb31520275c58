//! How the poller reports a gateway error: did it reach the gateway, and how is it logged
//! (proxy-api §8.2, §8.5, §15.31). Whether the link is down is the gateway crate's own
//! classification (`GatewayError::is_link_failure`), shared with the clients' polls.

use powerwall_gateway::GatewayError;

/// How an error is reported.
pub(super) enum ErrorKind {
    /// A network-level failure: rate-limited INFO lines, summaries, a health failure.
    Network(&'static str),
    /// Credentials, configuration, rate limiting by the gateway: one clear ERROR per problem.
    Problem,
    /// Held back by a cooldown or negative cache: nothing was sent.
    HeldBack,
    /// This document only (404, malformed, unsupported): debug.
    Document,
}

/// How an error is logged.
pub(super) fn classify(err: &GatewayError) -> ErrorKind {
    if err.was_held_back() {
        return ErrorKind::HeldBack;
    }
    match err {
        GatewayError::Unreachable { .. } => ErrorKind::Network("ConnectionError"),
        GatewayError::Timeout { .. } => ErrorKind::Network("Timeout"),
        GatewayError::Status { status, .. } if *status >= 500 => ErrorKind::Network("HTTPError"),
        _ if err.is_link_failure() => ErrorKind::Problem,
        _ => ErrorKind::Document,
    }
}

/// A request that reached (or tried to reach) the gateway and failed: timeout, refused, 5xx, 429
/// (§15.31). Requests held back by a cooldown never left the process and do not count.
pub(super) fn is_upstream_failure(err: &GatewayError) -> bool {
    if err.was_held_back() {
        return false;
    }
    match err {
        GatewayError::Unreachable { .. }
        | GatewayError::Timeout { .. }
        | GatewayError::RateLimited { .. } => true,
        GatewayError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}
