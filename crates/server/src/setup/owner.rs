//! The Owner API logins (gateway-protocols §5.1): in a browser (authorization code with PKCE,
//! the user pastes the redirect address) or with tokens pasted from elsewhere.

use std::io::{BufRead, Write};

use powerwall_gateway::Secret;
use powerwall_gateway::cloud::CloudClient;
use powerwall_gateway::cloud::auth::parse_pasted_code;

use super::console::Console;
use super::error::{SetupError, StepUrls};

/// Invalid answers accepted per question before the setup gives up.
pub const MAX_ANSWERS: usize = 3;

/// How the user logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// Open the login page in a browser, paste the address it lands on.
    Browser,
    /// Paste a refresh token (and optionally an access token) obtained elsewhere.
    Tokens,
}

/// Asks how to log in; an empty answer takes the browser.
pub async fn ask_method<R, W>(console: &mut Console<R, W>) -> Result<LoginMethod, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("How do you want to log in?")?;
    console.say("  1) In a web browser (recommended)")?;
    console.say("  2) Paste tokens obtained elsewhere (for machines without a browser)")?;
    for _ in 0..MAX_ANSWERS {
        match console.ask("Choose [1]: ").await?.as_str() {
            "" | "1" => return Ok(LoginMethod::Browser),
            "2" => return Ok(LoginMethod::Tokens),
            other => console.say(format!("  Please answer 1 or 2, not {other:?}."))?,
        }
    }
    Err(SetupError::TooManyTries("login method", MAX_ANSWERS))
}

/// The browser login: prints the URL, reads the pasted address (or code), exchanges it and
/// saves the tokens; returns the account email. A paste that is not this login's answer is
/// asked again (nothing was sent); a code Tesla refuses ends the login (codes are single-use).
pub async fn browser_login<R, W>(
    console: &mut Console<R, W>,
    client: &CloudClient,
    urls: &StepUrls,
) -> Result<String, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let request = client
        .authorize_request()
        .map_err(|err| SetupError::Invalid(err.to_string()))?;
    console.say("")?;
    console.say("1. Open this address in a web browser and log in to your Tesla account:")?;
    console.say("")?;
    console.say(format!("   {}", request.url))?;
    console.say("")?;
    console
        .say("2. After the login the browser shows a \"Page Not Found\" page. That is expected:")?;
    console.say(
        "   its address carries the login code. Copy the whole address from the address bar.",
    )?;
    console.say("3. Paste it here (the code alone works too) and press Enter.")?;
    let mut last_problem = String::new();
    for _ in 0..MAX_ANSWERS {
        let pasted = console.ask("Address or code: ").await?;
        if let Err(err) = parse_pasted_code(&pasted, &request.state) {
            // The answer is checked locally first: a mistyped paste costs no request.
            let SetupError::BadPaste(why) = urls.code_exchange(err) else {
                return Err(SetupError::BadPaste(String::from("unreadable answer")));
            };
            console.say(format!(
                "  That is not this login's answer: {why}. Try again."
            ))?;
            last_problem = why;
            continue;
        }
        console.say("Exchanging the code with Tesla…")?;
        return client
            .login_with_code(&request, &pasted)
            .await
            .map_err(|err| urls.code_exchange(err));
    }
    Err(SetupError::BadPaste(last_problem))
}

/// The pasted-tokens login: asks for the refresh token (required) and the access token
/// (optional), then saves them; returns the account email.
pub async fn token_login<R, W>(
    console: &mut Console<R, W>,
    client: &CloudClient,
    urls: &StepUrls,
) -> Result<String, SetupError>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    console.say("")?;
    console.say("Paste the tokens of a Tesla login made elsewhere (each on one line).")?;
    let mut refresh = Secret::default();
    for _ in 0..MAX_ANSWERS {
        refresh = console.ask_secret("Refresh token: ").await?;
        if !refresh.is_empty() {
            break;
        }
        console.say("  The refresh token is required.")?;
    }
    if refresh.is_empty() {
        return Err(SetupError::TooManyTries("refresh token", MAX_ANSWERS));
    }
    let access = console
        .ask_secret("Access token (optional, Enter to skip): ")
        .await?;
    if access.is_empty() {
        console.say(
            "Without an access token the first request refreshes the login; Tesla may refuse \
             such a session (HTTP 403).",
        )?;
    }
    save_tokens(client, refresh, Some(access), urls)
}

/// Saves pasted tokens (an empty access token counts as none); returns the account email.
pub fn save_tokens(
    client: &CloudClient,
    refresh: Secret,
    access: Option<Secret>,
    urls: &StepUrls,
) -> Result<String, SetupError> {
    let access = access.filter(|token| !token.is_empty());
    client
        .login_with_tokens(refresh, access)
        .map_err(|err| urls.owner_call(err))
}
