//! Every file of `crates/server/ui/`, compiled in: the static assets served as they are under
//! `/ui/` (one table, [`ASSETS`], that [`super::routes`] serves and the API docs list) and the
//! four HTML page templates that the page routes fill in per request. A test holds the table and
//! the templates against the directory, so a file added to `ui/` cannot go unserved.

use std::time::Duration;

use axum::http::HeaderValue;

/// Content type of our style sheets.
pub const CSS: &str = "text/css; charset=utf-8";
/// Content type of our scripts.
pub const JS: &str = "application/javascript; charset=utf-8";
/// Content type of our icon.
pub const SVG: &str = "image/svg+xml";
/// Content type of our pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// How long a browser may keep a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// `PW_BROWSER_CACHE`: `max-age=N`, or `no-cache, no-store` when zero (every page and asset
    /// today; the files are not content-hashed, so none may be cached for longer).
    Configured,
}

impl Cache {
    /// The `Cache-Control` value of this policy under the configured `PW_BROWSER_CACHE`.
    pub fn header(self, browser_cache: Duration) -> HeaderValue {
        match self {
            Cache::Configured => cache_control(browser_cache),
        }
    }
}

/// A static file served under `/ui/`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its route (absolute on the server; the pages link it relatively as `ui/<file>`).
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes, compiled in.
    pub body: &'static [u8],
    /// Its `Cache-Control` policy.
    pub cache: Cache,
}

/// One table entry from the file's name: the route and the compiled-in bytes cannot disagree.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/ui/", $file),
            content_type: $content_type,
            body: include_bytes!(concat!("../../../ui/", $file)),
            cache: Cache::Configured,
        }
    };
}

/// Every static file of the pages.
pub const ASSETS: [Asset; 14] = [
    asset!("favicon.svg", SVG),
    asset!("common.js", JS),
    asset!("powerflow.css", CSS),
    asset!("powerflow.js", JS),
    asset!("example.css", CSS),
    asset!("example.js", JS),
    asset!("console.css", CSS),
    asset!("console-core.js", JS),
    asset!("console-live.js", JS),
    asset!("console-units.js", JS),
    asset!("console-trend.js", JS),
    asset!("console-control.js", JS),
    asset!("docs.css", CSS),
    asset!("docs.js", JS),
];

/// The power-flow page (`/`), with `{{THEME}}` and `{{BASE}}`.
pub const INDEX_HTML: &str = include_str!("../../../ui/index.html");
/// The iframe demo (`/example.html`), with `{{BASE}}`.
pub const EXAMPLE_HTML: &str = include_str!("../../../ui/example.html");
/// The console (`/console`), with `{{BASE}}`.
pub const CONSOLE_HTML: &str = include_str!("../../../ui/console.html");
/// The API docs (`/docs`), with `{{BASE}}`.
pub const DOCS_HTML: &str = include_str!("../../../ui/docs.html");

/// `PW_BROWSER_CACHE`: `max-age=N` for our pages and assets, `no-cache, no-store` when zero
/// (the same values the web catch-all sends).
pub fn cache_control(browser_cache: Duration) -> HeaderValue {
    match browser_cache.as_secs() {
        0 => HeaderValue::from_static("no-cache, no-store"),
        seconds => HeaderValue::from_str(&format!("max-age={seconds}"))
            .unwrap_or_else(|_| HeaderValue::from_static("no-cache, no-store")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// The page templates by file name (served as [`HTML`] with [`Cache::Configured`]).
    const PAGES: [(&str, &str); 4] = [
        ("index.html", INDEX_HTML),
        ("example.html", EXAMPLE_HTML),
        ("console.html", CONSOLE_HTML),
        ("docs.html", DOCS_HTML),
    ];

    fn file_name(asset: &Asset) -> &'static str {
        asset.path.strip_prefix("/ui/").unwrap()
    }

    /// A file added to `ui/` but missing from the table (or a page template) fails here; an
    /// entry without its file already fails to compile.
    #[test]
    fn every_file_in_ui_is_served_and_every_entry_is_a_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().unwrap().is_file())
            .map(|entry| entry.file_name().into_string().unwrap())
            .collect();
        let mut listed = BTreeSet::new();
        for name in ASSETS
            .iter()
            .map(file_name)
            .chain(PAGES.iter().map(|(name, _)| *name))
        {
            assert!(listed.insert(name.to_owned()), "{name} listed twice");
        }
        let unserved: Vec<_> = on_disk.difference(&listed).collect();
        assert!(unserved.is_empty(), "in ui/ but not served: {unserved:?}");
        assert_eq!(on_disk, listed);
        for asset in ASSETS {
            assert_eq!(
                std::fs::read(dir.join(file_name(&asset))).unwrap(),
                asset.body,
                "{}",
                asset.path
            );
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        for asset in ASSETS {
            let (_, extension) = asset.path.rsplit_once('.').unwrap();
            let expected = match extension {
                "js" => JS,
                "css" => CSS,
                "svg" => SVG,
                other => panic!("{}: no content type for .{other}", asset.path),
            };
            assert_eq!(asset.content_type, expected, "{}", asset.path);
        }
    }

    /// Every `ui/<file>` a page links is in the table, and every page loads the shared script
    /// before its own scripts.
    #[test]
    fn pages_link_only_served_files_and_load_common_js_first() {
        let served: BTreeSet<&str> = ASSETS.iter().map(file_name).collect();
        for (page, html) in PAGES {
            for link in html.split("\"ui/").skip(1) {
                let name = link.split('"').next().unwrap();
                assert!(served.contains(name), "{page} links ui/{name}");
            }
            let scripts: Vec<&str> = html
                .split("<script src=\"ui/")
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap())
                .collect();
            assert_eq!(scripts.first(), Some(&"common.js"), "{page}: {scripts:?}");
            assert_eq!(scripts.iter().filter(|s| **s == "common.js").count(), 1);
        }
    }

    /// The pages link everything relatively (so `<base>` and proxies work), carry a `{{BASE}}`,
    /// and no inline script or style (the CSP forbids them).
    #[test]
    fn pages_are_relative_and_free_of_inline_code() {
        for (name, html) in PAGES {
            for needle in [
                "href=\"/",
                "src=\"/",
                "http://",
                "https://",
                "//",
                "style=",
                "<script>",
                "type=\"module\"",
            ] {
                assert!(!html.contains(needle), "{name} has {needle}");
            }
            assert!(html.contains("{{BASE}}"), "{name}");
        }
    }

    #[test]
    fn browser_cache_maps_to_cache_control() {
        assert_eq!(
            Cache::Configured.header(Duration::ZERO),
            "no-cache, no-store"
        );
        assert_eq!(
            Cache::Configured.header(Duration::from_secs(3600)),
            "max-age=3600"
        );
        assert_eq!(cache_control(Duration::from_secs(5)), "max-age=5");
    }
}
