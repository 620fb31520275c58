//! `GET /help` (§6.4.5): the stats as an HTML page that refreshes itself every 5 s. Request paths
//! are attacker-controlled, so every interpolated key and value is HTML-escaped (§12 item 7).

use std::fmt::Write as _;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::super::AppState;
use super::health::PROXY_VERSION;
use super::stats::stats_document;
use crate::clock::local_display;

/// Where the proxy's API help lives.
const HELP_URL: &str = "https://github.com/jasonacox/pypowerwall/blob/main/proxy/HELP.md";

/// `GET /help`.
pub async fn help(State(state): State<AppState>, uri: Uri) -> Response {
    let stats = stats_document(&state, &state.snapshot());
    let page = render_page(&stats, &local_display(SystemTime::now()));
    state.stats().count_get(uri.path());
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        page,
    )
        .into_response()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

/// A value's text form: strings as they are, everything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

fn row(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td></tr>",
        escape_html(key),
        escape_html(value)
    );
}

/// The page for a stats object.
fn render_page(stats: &Map<String, Value>, refreshed: &str) -> String {
    let (library, build) = PROXY_VERSION
        .split_once(" Proxy ")
        .unwrap_or((PROXY_VERSION, ""));
    let mut out = String::with_capacity(8 * 1024);
    out.push_str(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"refresh\" content=\"5\">\n<title>pyPowerwall Proxy Help</title>\n\
         <style>\nbody { font-family: sans-serif; background: #fff; color: #222; }\n\
         table { border-collapse: collapse; }\n\
         th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }\n\
         th { background: #eee; }\n</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(
        out,
        "<h2>pyPowerwall [{}] Proxy [{}]</h2>",
        escape_html(library),
        escape_html(build)
    );
    let _ = writeln!(
        out,
        "<p><a href=\"{HELP_URL}\">Click here for API help.</a></p>"
    );
    out.push_str("<table>\n<tr><th>Stat</th><th>Value</th></tr>\n");
    for (key, value) in stats {
        if key == "uri" || key == "config" {
            continue;
        }
        row(&mut out, key, &text_of(value));
    }
    if let Some(Value::Object(uris)) = stats.get("uri") {
        for (path, count) in uris {
            row(&mut out, &format!("URI: {path}"), &text_of(count));
        }
    }
    out.push_str("<tr><td colspan=\"2\"><details id=\"config-details\"><summary>Config:</summary>\n<table>\n");
    if let Some(Value::Object(config)) = stats.get("config") {
        for (key, value) in config {
            row(&mut out, key, &text_of(value));
        }
    }
    out.push_str("</table>\n</details></td></tr>\n</table>\n");
    let _ = writeln!(out, "<p>Page refresh: {}</p>", escape_html(refreshed));
    out.push_str(
        "<script>\n(function () {\n\
         var details = document.getElementById('config-details');\n\
         try {\n\
         if (localStorage.getItem('config-details-open') === 'true') { details.open = true; }\n\
         details.addEventListener('toggle', function () {\n\
         localStorage.setItem('config-details-open', details.open ? 'true' : 'false');\n\
         });\n\
         } catch (e) {}\n\
         })();\n</script>\n</body>\n</html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_every_interpolated_key_and_value() {
        let stats = json!({
            "pypowerwall": PROXY_VERSION,
            "gets": 3,
            "uri": {"/api/status?<script>alert(1)</script>": 1, "/aggregates": 2},
            "config": {"PW_TIMEZONE": "<img src=x onerror=alert(2)>", "PW_PASSWORD": "********"},
            "site_name": "Tom & \"Jerry's\" <home>",
            "fallback_mode": {"is_fallback_mode": false},
        });
        let Value::Object(stats) = stats else {
            panic!("object");
        };
        let page = render_page(&stats, "2026-11-21 04:49:30");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script>alert(1)</script>"));
        assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(!page.contains("<img"));
        assert!(page.contains("Tom &amp; &quot;Jerry&#x27;s&quot; &lt;home&gt;"));
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
        assert!(page.contains("<tr><td>URI: /aggregates</td><td>2</td></tr>"));
        assert!(page.contains("<details id=\"config-details\">"));
        assert!(page.contains("Page refresh: 2026-11-21 04:49:30"));
        assert!(page.contains("Click here for API help."));
    }
}
