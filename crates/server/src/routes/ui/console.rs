//! The live console at `/console`: a summary over the aggregate WebSocket, per-gateway health,
//! Powerwalls, strings, a trend kept in the browser and the control panel. Static HTML, CSS and
//! JS compiled in; the page builds every URL relative to itself (and its `<base>`).
//!
//! The control secret never reaches this module: the page sends it only in POST bodies to the
//! control routes, which check it and never log or echo it.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::page::{Asset, CSS, JS};
use super::{AppState, asset, html_page};

/// The console's files.
pub const ASSETS: [Asset; 6] = [
    Asset {
        path: "/ui/console.css",
        content_type: CSS,
        body: include_bytes!("../../../ui/console.css"),
    },
    Asset {
        path: "/ui/console-core.js",
        content_type: JS,
        body: include_bytes!("../../../ui/console-core.js"),
    },
    Asset {
        path: "/ui/console-live.js",
        content_type: JS,
        body: include_bytes!("../../../ui/console-live.js"),
    },
    Asset {
        path: "/ui/console-units.js",
        content_type: JS,
        body: include_bytes!("../../../ui/console-units.js"),
    },
    Asset {
        path: "/ui/console-trend.js",
        content_type: JS,
        body: include_bytes!("../../../ui/console-trend.js"),
    },
    Asset {
        path: "/ui/console-control.js",
        content_type: JS,
        body: include_bytes!("../../../ui/console-control.js"),
    },
];

/// The console page and its files.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/console", get(console));
    for file in ASSETS {
        router = router.route(
            file.path,
            get(move |State(state): State<AppState>| async move {
                asset(&state, file.content_type, file.body)
            }),
        );
    }
    router
}

async fn console(State(state): State<AppState>) -> Response {
    html_page(&state, include_str!("../../../ui/console.html"))
}

#[cfg(test)]
mod tests {
    /// The console and docs pages link everything relatively (so `<base>` and proxies work), and
    /// carry no inline script or style (the CSP forbids them).
    #[test]
    fn pages_are_relative_and_free_of_inline_code() {
        for (name, html) in [
            ("console", include_str!("../../../ui/console.html")),
            ("docs", include_str!("../../../ui/docs.html")),
        ] {
            for needle in [
                "href=\"/", "src=\"/", "http://", "https://", "//", "style=", "<script>",
            ] {
                assert!(!html.contains(needle), "{name} has {needle}");
            }
            assert!(html.contains("{{BASE}}"), "{name}");
        }
    }
}
