//! The developer application's settings: client id and secret, domain, redirect URI and region,
//! each from a flag or variable when given, else asked (invalid answers asked again, bounded).

use std::io::{BufRead, Write};

use powerwall_gateway::Secret;
use powerwall_gateway::fleet::Region;
use powerwall_gateway::fleet::setup::default_redirect_uri;

use super::FleetOptions;
use crate::setup::console::Console;
use crate::setup::error::SetupError;
use crate::setup::owner::MAX_ANSWERS;

/// The developer application the setup registers and signs in with.
#[derive(Debug, Clone)]
pub struct Application {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret (never printed).
    pub client_secret: Secret,
    /// The developer domain (host name only) that serves the public key.
    pub domain: String,
    /// Where Tesla sends the browser after sign-in.
    pub redirect_uri: String,
    /// The account's region.
    pub region: Region,
}

/// Gathers the application's settings, asking for those not given.
pub async fn application<R, W>(
    console: &mut Console<R, W>,
    options: &FleetOptions,
) -> Result<Application, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let client_id = match given(options.client_id.as_deref()) {
        Some(id) => id.to_owned(),
        None => {
            console.say("The developer application's credentials are on developer.tesla.com.")?;
            ask_until(console, "Client id: ", "client id", |answer| {
                non_empty(answer, "The client id is required.")
            })
            .await?
        }
    };
    let client_secret = client_secret(console, options).await?;
    let domain = match given(options.domain.as_deref()) {
        Some(text) => normalize_domain(text).map_err(|why| invalid("--domain / PW_FLEET_DOMAIN", why))?,
        None => {
            ask_until(
                console,
                "Developer domain (e.g. example.com): ",
                "domain",
                normalize_domain,
            )
            .await?
        }
    };
    let proposed = default_redirect_uri(&domain);
    let redirect_uri = match given(options.redirect_uri.as_deref()) {
        Some(text) => check_redirect(text, &proposed)
            .map_err(|why| invalid("--redirect-uri / PW_FLEET_REDIRECT_URI", why))?,
        None => {
            let prompt = format!("Redirect URI [{proposed}]: ");
            ask_until(console, &prompt, "redirect URI", |answer| {
                check_redirect(answer, &proposed)
            })
            .await?
        }
    };
    let region = match options.region {
        Some(region) => region,
        None => ask_region(console).await?,
    };
    Ok(Application {
        client_id,
        client_secret,
        domain,
        redirect_uri,
        region,
    })
}

/// The secret from the flag or variable (said, never shown), else asked unechoed.
async fn client_secret<R, W>(
    console: &mut Console<R, W>,
    options: &FleetOptions,
) -> Result<Secret, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    if let Some(secret) = options.client_secret.as_ref().filter(|s| !s.is_empty()) {
        console.say("Using the client secret from PW_FLEET_CLIENT_SECRET / --client-secret.")?;
        return Ok(secret.clone());
    }
    for _ in 0..MAX_ANSWERS {
        let secret = console.ask_secret("Client secret (not shown): ").await?;
        if !secret.is_empty() {
            return Ok(secret);
        }
        console.say("  The client secret is required.")?;
    }
    Err(SetupError::TooManyTries("client secret", MAX_ANSWERS))
}

/// Lists the three regions and reads the choice (a number or a name; Enter takes na).
async fn ask_region<R, W>(console: &mut Console<R, W>) -> Result<Region, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("Which region is the Tesla account in?")?;
    console.say("  1) na: North America and Asia-Pacific")?;
    console.say("  2) eu: Europe, Middle East and Africa")?;
    console.say("  3) cn: China")?;
    ask_until(console, "Choose [1]: ", "region", parse_region_choice).await
}

/// A region answer: empty (na), 1-3, or a name `Region::parse` knows.
pub fn parse_region_choice(answer: &str) -> Result<Region, String> {
    match answer.trim() {
        "" | "1" => Ok(Region::Na),
        "2" => Ok(Region::Eu),
        "3" => Ok(Region::Cn),
        other => Region::parse(other).ok_or_else(|| {
            format!("Please answer 1, 2 or 3 (or na, eu, cn), not {other:?}.")
        }),
    }
}

/// The domain as a bare host name: a pasted `https://` prefix and trailing slash are dropped.
pub fn normalize_domain(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let host = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    if host.is_empty() {
        return Err("The developer domain is required.".to_owned());
    }
    let valid = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !valid {
        return Err(format!(
            "{host:?} is not a domain: give the host name only, like example.com"
        ));
    }
    Ok(host.to_ascii_lowercase())
}

/// The redirect URI: empty takes `proposed`; otherwise an http(s) address.
pub fn check_redirect(answer: &str, proposed: &str) -> Result<String, String> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(proposed.to_owned());
    }
    match reqwest::Url::parse(answer) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => {
            Ok(answer.to_owned())
        }
        _ => Err(format!(
            "{answer:?} is not a web address: give the application's redirect URI, like \
             {proposed}"
        )),
    }
}

/// Asks `prompt` until `accept` takes the answer, at most [`MAX_ANSWERS`] times.
async fn ask_until<R, W, T>(
    console: &mut Console<R, W>,
    prompt: &str,
    what: &'static str,
    accept: impl Fn(&str) -> Result<T, String>,
) -> Result<T, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    for _ in 0..MAX_ANSWERS {
        let answer = console.ask(prompt).await?;
        match accept(&answer) {
            Ok(value) => return Ok(value),
            Err(why) => console.say(format!("  {why}"))?,
        }
    }
    Err(SetupError::TooManyTries(what, MAX_ANSWERS))
}

fn non_empty(answer: &str, missing: &str) -> Result<String, String> {
    let answer = answer.trim();
    if answer.is_empty() {
        Err(missing.to_owned())
    } else {
        Ok(answer.to_owned())
    }
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|text| !text.is_empty())
}

fn invalid(setting: &str, why: String) -> SetupError {
    SetupError::Invalid(format!("{setting}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_numbers_or_names_and_enter_takes_na() {
        assert_eq!(parse_region_choice(""), Ok(Region::Na));
        assert_eq!(parse_region_choice("2"), Ok(Region::Eu));
        assert_eq!(parse_region_choice(" CN "), Ok(Region::Cn));
        assert!(parse_region_choice("4").unwrap_err().contains("1, 2 or 3"));
    }

    #[test]
    fn a_domain_is_a_bare_host_name() {
        assert_eq!(
            normalize_domain(" https://Example.com/ ").unwrap(),
            "example.com"
        );
        assert_eq!(normalize_domain("my-app.example.org").unwrap(), "my-app.example.org");
        assert!(normalize_domain("").is_err());
        assert!(normalize_domain("example.com/path").is_err());
        assert!(normalize_domain("not a domain").is_err());
    }

    #[test]
    fn the_redirect_uri_defaults_to_the_proposal_and_must_be_a_web_address() {
        let proposed = "https://example.com/access";
        assert_eq!(check_redirect("", proposed).unwrap(), proposed);
        assert_eq!(
            check_redirect("http://localhost:8080/cb", proposed).unwrap(),
            "http://localhost:8080/cb"
        );
        assert!(check_redirect("example.com/access", proposed).is_err());
        assert!(check_redirect("ftp://example.com/", proposed).is_err());
    }
}
