//! Request dispatch before routing: the method rules, `PROXY_BASE_URL`, and per-gateway prefixes.
//!
//! `/gw/<id>/<legacy path>` serves any legacy proxy route for that gateway (Telegraf can scrape a
//! second gateway's `/aggregates` unchanged), and `/api/gateways/<id>/control/…` is that
//! gateway's `/control/…` with the same checks and secret.

use crate::routes::error::ApiError;
use axum::response::IntoResponse;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use tower::ServiceExt;

use super::passthrough::api::gateway_api_readable;
use super::{AppState, framing};

/// The path prefix a per-gateway request came in under (`/gw/<id>/`), for pages whose relative
/// links must stay under it. Only set for known gateway ids.
#[derive(Debug, Clone)]
pub struct ServedPrefix(pub String);

/// What the dispatcher routes to.
#[derive(Clone)]
pub struct Dispatch {
    base: Arc<str>,
    state: AppState,
    /// The legacy routes of each gateway, by index in the gateway set.
    legacy: Arc<[Router]>,
    /// Everything else: multi-gateway API, WebSockets, and the default gateway's legacy routes.
    main: Router,
}

impl Dispatch {
    /// A dispatcher over these routers; `base_url` is the normalised `PROXY_BASE_URL`.
    pub fn new(state: AppState, base_url: &str, legacy: Vec<Router>, main: Router) -> Self {
        Self {
            base: Arc::from(base_url),
            state,
            legacy: legacy.into(),
            main,
        }
    }
}

/// An outer router with only a fallback: the path is rewritten before any routing happens.
pub fn router(dispatch: Dispatch) -> Router {
    Router::new().fallback(move |request: Request| {
        let dispatch = dispatch.clone();
        async move { dispatch.handle(request).await }
    })
}

/// Where a path goes once the base URL is stripped.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A gateway's legacy route: the gateway id and the legacy path (query not included).
    Gateway { id: &'a str, path: String },
    /// A gateway API read (`/api/gateways/<id>/api/<rest>`): the gateway id and `/api/<rest>`.
    GatewayApi { id: &'a str, path: String },
    /// The main router.
    Main,
}

/// Splits per-gateway prefixes: `/gw/<id>[/rest]` and `/api/gateways/<id>/control[/rest]`.
fn target(path: &str) -> Target<'_> {
    if let Some(rest) = path.strip_prefix("/gw/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if !id.is_empty() {
            return Target::Gateway {
                id,
                path: format!("/{tail}"),
            };
        }
    }
    if let Some(rest) = path.strip_prefix("/api/gateways/")
        && let Some((id, tail)) = rest.split_once('/')
        && (tail == "control" || tail.starts_with("control/"))
    {
        return Target::Gateway {
            id,
            path: format!("/{tail}"),
        };
    }
    if let Some(rest) = path.strip_prefix("/api/gateways/")
        && let Some((id, tail)) = rest.split_once('/')
        && tail.starts_with("api/")
    {
        return Target::GatewayApi {
            id,
            path: format!("/{tail}"),
        };
    }
    Target::Main
}

/// POST reaches `/control…` (the proxy's rule, §2.2) and the multi-gateway write routes.
fn post_allowed(path: &str) -> bool {
    path.starts_with("/control")
        || (path.starts_with("/api/gateways/") && path.split('/').nth(4) == Some("api"))
}

impl Dispatch {
    async fn handle(&self, mut request: Request) -> Response {
        let method = request.method().clone();
        if method == Method::OPTIONS {
            return framing::preflight();
        }
        if !matches!(method, Method::GET | Method::HEAD | Method::POST) {
            return framing::method_not_allowed();
        }
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let mut path = request.uri().path().to_owned();
        if self.base.as_ref() != "/"
            && let Some(rest) = path.strip_prefix(self.base.as_ref())
        {
            path = format!("/{rest}");
        } else if self.base.as_ref() != "/" && path == self.base.trim_end_matches('/') {
            path = "/".to_owned();
        }
        let (router, path) = match target(&path) {
            Target::Gateway { id, path: legacy } => match self.state.gateways().index_of(id) {
                Some(index) => match self.legacy.get(index) {
                    Some(router) => {
                        if path.starts_with("/gw/") {
                            let prefix = ServedPrefix(format!("gw/{id}/"));
                            request.extensions_mut().insert(prefix);
                        }
                        (router.clone(), legacy)
                    }
                    None => return not_found(id),
                },
                None => return not_found(id),
            },
            // Reads of allowlisted paths are that gateway's legacy passthrough; the rest (writes,
            // refusals) is answered by the multi-gateway routes.
            Target::GatewayApi { id, path: api }
                if matches!(method, Method::GET | Method::HEAD) && gateway_api_readable(&api) =>
            {
                match self.state.gateways().index_of(id) {
                    Some(index) => match self.legacy.get(index) {
                        Some(router) => (router.clone(), api),
                        None => return not_found(id),
                    },
                    None => return not_found(id),
                }
            }
            Target::GatewayApi { .. } | Target::Main => (self.main.clone(), path),
        };
        if method == Method::POST && !post_allowed(&path) {
            self.state.stats().count_error();
            return framing::invalid_request();
        }
        if let Ok(uri) = format!("{path}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// `404 {"detail":"Gateway <id> not found"}` (server-api §2.3), as `/api/gateways/<id>` answers.
fn not_found(id: &str) -> Response {
    ApiError::detail(StatusCode::NOT_FOUND, format!("Gateway {id} not found")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_gateway_prefixes() {
        assert_eq!(
            target("/gw/cabin/aggregates"),
            Target::Gateway {
                id: "cabin",
                path: "/aggregates".to_owned()
            }
        );
        assert_eq!(
            target("/gw/cabin"),
            Target::Gateway {
                id: "cabin",
                path: "/".to_owned()
            }
        );
        assert_eq!(
            target("/api/gateways/home/control/reserve"),
            Target::Gateway {
                id: "home",
                path: "/control/reserve".to_owned()
            }
        );
        assert_eq!(target("/api/gateways/home/vitals"), Target::Main);
        assert_eq!(
            target("/api/gateways/home/api/status"),
            Target::GatewayApi {
                id: "home",
                path: "/api/status".to_owned()
            }
        );
        assert_eq!(target("/api/gateways/home/controller"), Target::Main);
        assert_eq!(target("/gw/"), Target::Main);
        assert_eq!(target("/aggregates"), Target::Main);
    }

    #[test]
    fn post_rules() {
        assert!(post_allowed("/control/reserve"));
        assert!(post_allowed("/api/gateways/home/api/operation"));
        assert!(!post_allowed("/api/gateways/home/vitals"));
        assert!(!post_allowed("/aggregates"));
    }
}
