//! The partner registration and the user's sign-in (gateway-protocols §6.1 steps 2-5).

use std::io::{BufRead, Write};

use powerwall_gateway::Secret;
use powerwall_gateway::fleet::setup::{FleetSetup, UserTokens, extract_code};
use serde_json::Value;

use super::ask::Application;
use crate::setup::console::Console;
use crate::setup::error::SetupError;
use crate::setup::owner::MAX_ANSWERS;

/// The partner token and Tesla's answer to the registration (both kept in the token file).
#[derive(Debug, Clone)]
pub struct Partner {
    /// The client-credentials token.
    pub token: Secret,
    /// Tesla's JSON answer to `partner_accounts`.
    pub account: Value,
}

/// Gets the partner token and registers the partner account for the domain.
pub async fn register<R, W>(
    console: &mut Console<R, W>,
    setup: &FleetSetup,
    app: &Application,
) -> Result<Partner, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("Requesting a partner token…")?;
    let token = setup
        .partner_token(&app.client_id, &app.client_secret)
        .await
        .map_err(SetupError::Fleet)?;
    console.say(format!(
        "Registering the partner account for {}…",
        app.domain
    ))?;
    let account = setup
        .register_partner(&token, &app.domain)
        .await
        .map_err(SetupError::Fleet)?;
    Ok(Partner { token, account })
}

/// Prints the authorize URL, reads the pasted redirect address (or code) and exchanges it. A
/// paste that is not this sign-in's answer is asked again (nothing was sent); a code Tesla
/// refuses ends the setup (codes are single-use).
pub async fn sign_in<R, W>(
    console: &mut Console<R, W>,
    setup: &FleetSetup,
    app: &Application,
) -> Result<UserTokens, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let (url, state) = setup
        .authorize_url(&app.client_id, &app.redirect_uri)
        .map_err(SetupError::Fleet)?;
    console.say("")?;
    console.say("1. Open this address in a web browser, sign in and allow the access:")?;
    console.say("")?;
    console.say(format!("   {url}"))?;
    console.say("")?;
    console.say(format!(
        "2. Tesla then sends the browser to {} with the code in its address",
        app.redirect_uri
    ))?;
    console.say("   (the page itself may be an error page). Copy the whole address.")?;
    console.say("3. Paste it here (the code alone works too) and press Enter.")?;
    let mut last_problem = None;
    for _ in 0..MAX_ANSWERS {
        let pasted = console.ask("Address or code: ").await?;
        let code = match extract_code(&pasted, Some(&state)) {
            Ok(code) => code,
            Err(err) => {
                console.say(format!("  That is not this sign-in's answer: {err}"))?;
                last_problem = Some(err);
                continue;
            }
        };
        console.say("Exchanging the code with Tesla…")?;
        return setup
            .exchange_code(&app.client_id, &app.client_secret, &code, &app.redirect_uri)
            .await
            .map_err(SetupError::Fleet);
    }
    Err(last_problem.map_or(
        SetupError::TooManyTries("sign-in answer", MAX_ANSWERS),
        SetupError::Fleet,
    ))
}
