//! Our own power-flow page at `/` and the iframe demo at `/example.html` (replacing Tesla's web
//! app of §6.9.2): static HTML, CSS and JS compiled into the binary, no build step, no CDN.
//!
//! The pages only poll this server's own routes, with URLs relative to the page, so they work
//! under `PROXY_BASE_URL`, behind a reverse proxy and over HTTPS alike. The theme comes from
//! `PW_STYLE` or a validated `?style=` name: only the enum's fixed names ever reach the page, so
//! the query text is never reflected (server-api §11.4 item 18).

mod assets;
pub mod console;
mod page;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::dispatch::ServedPrefix;
pub(super) use assets::DOCS_HTML;
use assets::{ASSETS, Asset, Cache, HTML};
use page::Page;

/// The UI routes: the page, the example and every asset of every page (power flow, example,
/// console, docs) under our own `/ui/` prefix, from the one table [`assets::ASSETS`]. Every other
/// path (including other `/ui/…` names) keeps going to the web catch-all.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/example", get(example))
        .route("/example.html", get(example));
    for asset in ASSETS {
        router = router.route(
            asset.path,
            get(move |state: State<AppState>| serve_asset(state, asset)),
        );
    }
    router
}

async fn index(
    State(state): State<AppState>,
    prefix: Option<Extension<ServedPrefix>>,
    uri: Uri,
) -> Response {
    render(&state, Page::Index, &uri, prefix)
}

async fn example(
    State(state): State<AppState>,
    prefix: Option<Extension<ServedPrefix>>,
    uri: Uri,
) -> Response {
    render(&state, Page::Example, &uri, prefix)
}

/// One HTML page, themed and with its `<base>` set from the server's configuration (plus
/// `gw/<id>/` when served for one gateway, so the page polls that gateway's routes).
fn render(
    state: &AppState,
    page: Page,
    uri: &Uri,
    prefix: Option<Extension<ServedPrefix>>,
) -> Response {
    state.stats().count_web_get();
    let settings = state.settings();
    let style = page::requested_style(uri.query()).unwrap_or(settings.web.style);
    let base = match prefix {
        Some(Extension(ServedPrefix(prefix))) => format!("{}{prefix}", settings.base_url),
        None => settings.base_url.clone(),
    };
    let body = page.render(style, &base);
    respond(
        state,
        HTML,
        Cache::Configured,
        body.into_bytes().into_response(),
    )
}

async fn serve_asset(State(state): State<AppState>, asset: Asset) -> Response {
    state.stats().count_web_get();
    respond(
        &state,
        asset.content_type,
        asset.cache,
        asset.body.into_response(),
    )
}

/// Our pages' headers: content type, `Cache-Control` from the file's policy, and a CSP that
/// forbids inline script (defence in depth against injection). No `X-Frame-Options` and no
/// `frame-ancestors`: the page is meant to be framed by Grafana and dashboards.
fn respond(
    state: &AppState,
    content_type: &'static str,
    cache: Cache,
    mut response: Response,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        cache.header(state.settings().web.browser_cache),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// An embedded HTML page with its `<base>` filled in, served with our pages' headers.
pub(super) fn html_page(state: &AppState, template: &str) -> Response {
    state.stats().count_web_get();
    let body = template.replace("{{BASE}}", &page::base_tag(&state.settings().base_url));
    respond(
        state,
        HTML,
        Cache::Configured,
        body.into_bytes().into_response(),
    )
}

/// The route of every embedded file of the UI pages (for the API docs).
pub(super) fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|asset| asset.path)
}
