//! The little rendering the pages need: a theme class and a `<base>` tag.

use super::assets::{EXAMPLE_HTML, INDEX_HTML};
use crate::settings::Style;

/// `default-src 'self'` with no inline script or style; frames of any http(s) origin may be
/// embedded by the example, and nothing restricts who frames us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self' http: https:; \
     base-uri 'self'; form-action 'none'; object-src 'none'";

/// The two HTML pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The power-flow animation (`/`).
    Index,
    /// The iframe demo (`/example.html`).
    Example,
}

impl Page {
    /// The page with its theme class and `<base>` filled in.
    pub fn render(self, style: Style, base_url: &str) -> String {
        let template = match self {
            Page::Index => INDEX_HTML,
            Page::Example => EXAMPLE_HTML,
        };
        // Both values are server-side: a fixed enum name and the configured base URL (escaped).
        template
            .replace("{{THEME}}", style.name())
            .replace("{{BASE}}", &base_tag(base_url))
    }
}

/// The style a `?style=` query asks for, when it names one of ours; anything else is ignored
/// (and so never reflected).
pub fn requested_style(query: Option<&str>) -> Option<Style> {
    query?
        .split('&')
        .filter_map(|pair| pair.strip_prefix("style="))
        .find_map(Style::from_name)
}

/// A `<base href>` for a configured base path, so relative links work even at `/pwp` (no
/// trailing slash, which a browser would resolve against `/`); none at the root, where plain
/// relative links already follow whatever prefix a reverse proxy adds.
pub(super) fn base_tag(base_url: &str) -> String {
    if base_url == "/" || base_url.is_empty() {
        return String::new();
    }
    format!("<base href=\"{}\">", escape_html(base_url))
}

/// HTML attribute escaping.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn known_styles_are_taken_and_anything_else_ignored() {
        assert_eq!(requested_style(Some("style=black")), Some(Style::Black));
        assert_eq!(
            requested_style(Some("x=1&style=grafana-dark")),
            Some(Style::GrafanaDark)
        );
        assert_eq!(requested_style(Some("style=WHITE")), Some(Style::White));
        assert_eq!(requested_style(None), None);
        assert_eq!(requested_style(Some("style=")), None);
        assert_eq!(requested_style(Some("style=%22%3E%3Cscript%3E")), None);
        assert_eq!(requested_style(Some("style=\"><script>")), None);
        assert_eq!(requested_style(Some("xstyle=black")), None);
    }

    #[test]
    fn pages_carry_the_fixed_theme_name_and_no_placeholder() {
        for style in Style::ALL {
            for page in [Page::Index, Page::Example] {
                let html = page.render(style, "/");
                assert!(!html.contains("{{"), "{page:?}");
                assert!(!html.contains("<base"), "{page:?}");
                if page == Page::Index {
                    assert!(html.contains(&format!("theme-{}", style.name())));
                }
            }
        }
    }

    #[test]
    fn a_base_path_becomes_an_escaped_base_tag() {
        let html = Page::Index.render(Style::Clear, "/pwp/");
        assert!(html.contains("<base href=\"/pwp/\">"));
        assert_eq!(base_tag("/a\"b/"), "<base href=\"/a&quot;b/\">");
    }

    #[test]
    fn pages_link_everything_relatively() {
        for page in [Page::Index, Page::Example] {
            let html = page.render(Style::Clear, "/");
            for needle in ["href=\"/", "src=\"/", "http://", "https://", "//"] {
                assert!(!html.contains(needle), "{page:?} has {needle}");
            }
        }
    }
}
