//! Validation of the gateway host setting (`host` or `host:port`) into a URL authority.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::GatewayError;

/// A validated gateway address, ready to put in an `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayHost {
    authority: String,
}

impl GatewayHost {
    /// Validates a hostname, IPv4 literal or (bracketed or bare) IPv6 literal with an optional
    /// `:port` (1–65535; bare IPv6 literals cannot carry one). The default port is 443.
    pub fn parse(text: &str) -> Result<Self, GatewayError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid(text, "it is empty"));
        }
        let (host, port) = split_host_port(text)?;
        let host = match host {
            HostPart::Ipv6(address) => format!("[{address}]"),
            HostPart::Name(name) => {
                check_name(text, name)?;
                name.to_ascii_lowercase()
            }
        };
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Self { authority })
    }

    /// `host[:port]` with IPv6 literals bracketed, as it goes in a URL.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `https://{authority}`: gateways are HTTPS only.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.authority)
    }
}

enum HostPart<'a> {
    Ipv6(Ipv6Addr),
    Name(&'a str),
}

fn split_host_port(text: &str) -> Result<(HostPart<'_>, Option<u16>), GatewayError> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid(text, "the IPv6 literal has no closing ']'"))?;
        let address: Ipv6Addr = inside
            .parse()
            .map_err(|_| invalid(text, "the text in brackets is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(parse_port(text, port)?),
                None => return Err(invalid(text, "only ':port' may follow the IPv6 literal")),
            },
        };
        return Ok((HostPart::Ipv6(address), port));
    }
    match text.matches(':').count() {
        0 => Ok((HostPart::Name(text), None)),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            Ok((HostPart::Name(host), Some(parse_port(text, port)?)))
        }
        _ => text
            .parse::<Ipv6Addr>()
            .map(|address| (HostPart::Ipv6(address), None))
            .map_err(|_| {
                invalid(
                    text,
                    "it is not an IPv6 address (write an IPv6 address with a port as [addr]:port)",
                )
            }),
    }
}

fn parse_port(text: &str, port: &str) -> Result<u16, GatewayError> {
    let number = if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        None
    } else {
        port.parse::<u16>().ok()
    };
    match number {
        Some(port) if port >= 1 => Ok(port),
        _ => Err(invalid(text, "the port must be a number from 1 to 65535")),
    }
}

fn check_name(text: &str, name: &str) -> Result<(), GatewayError> {
    if name.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if name.len() > 253 {
        return Err(invalid(text, "the host name is longer than 253 characters"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        let valid = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(invalid(
                text,
                "it is not an IPv4 address or a host name (letters, digits, '-', '.')",
            ));
        }
    }
    // All-numeric names such as 300.1.1.1 are mistyped IPv4 addresses, not host names.
    if labels
        .iter()
        .all(|label| label.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(text, "it is not a valid IPv4 address"));
    }
    Ok(())
}

fn invalid(text: &str, why: &str) -> GatewayError {
    GatewayError::Config(format!(
        "invalid gateway host {text:?}: {why} (expected host, host:port, IPv4, or [IPv6]:port)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_validation_table() {
        let cases: [(&str, Option<&str>); 26] = [
            ("192.168.91.1", Some("192.168.91.1")),
            ("10.0.1.99:8443", Some("10.0.1.99:8443")),
            ("192.168.91.1:443", Some("192.168.91.1:443")),
            (" 10.0.1.2 ", Some("10.0.1.2")),
            ("powerwall", Some("powerwall")),
            ("Gateway.Local:1", Some("gateway.local:1")),
            ("my-gw.example.com:65535", Some("my-gw.example.com:65535")),
            ("fe80::1", Some("[fe80::1]")),
            ("::1", Some("[::1]")),
            ("[fe80::1]", Some("[fe80::1]")),
            ("[2001:db8::5]:8443", Some("[2001:db8::5]:8443")),
            ("", None),
            ("   ", None),
            ("host:0", None),
            ("host:65536", None),
            ("host:", None),
            ("host:+80", None),
            ("host:https", None),
            ("300.1.1.1", None),
            ("-gw.local", None),
            ("gw_1.local", None),
            ("gw..local", None),
            ("https://10.0.0.1", None),
            ("[fe80::1", None),
            ("[fe80::1]8443", None),
            ("fe80::1%eth0", None),
        ];
        for (text, expected) in cases {
            let got = GatewayHost::parse(text);
            match expected {
                Some(authority) => {
                    let host = got.unwrap_or_else(|err| panic!("{text:?} rejected: {err}"));
                    assert_eq!(host.authority(), authority, "{text:?}");
                }
                None => assert!(
                    matches!(got, Err(GatewayError::Config(_))),
                    "{text:?} accepted: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn base_url_is_https_with_bracketed_ipv6() {
        let host = GatewayHost::parse("fe80::1").expect("valid");
        assert_eq!(host.base_url(), "https://[fe80::1]");
        let err = GatewayHost::parse("bad host").expect_err("invalid");
        assert!(err.to_string().contains("\"bad host\""), "{err}");
    }
}
