//! Setup steps (gateway-protocols §5.1, §5.2): the interactive login (authorize URL, then the
//! pasted redirect or code), the headless login with pasted tokens, and the site choice. Each
//! step writes the reference's files, so the runtime (ours or the Python one) picks them up.

use super::auth::{
    AuthorizeRequest, CLIENT_ID, authorize_request, jwt_email, jwt_expiry, parse_pasted_code,
};
use super::client::{apply_answer, unix_now};
use super::files::{self, AuthEntry, StoredTokens};
use super::sites::{EnergySite, select_site};
use super::{CloudClient, DEFAULT_EXPIRES_IN};
use crate::{GatewayError, Secret};

impl CloudClient {
    /// Step 1 of the interactive login: the URL to open, with fresh PKCE and state.
    pub fn authorize_request(&self) -> Result<AuthorizeRequest, GatewayError> {
        let hint = (!self.config.email.is_empty()).then_some(self.config.email.as_str());
        authorize_request(&self.config.auth_url, &self.config.redirect_uri, hint)
    }

    /// Step 2: exchanges the pasted redirect URL (or bare code) for tokens and saves them;
    /// returns the account email the tokens were saved under.
    pub async fn login_with_code(
        &self,
        request: &AuthorizeRequest,
        pasted: &str,
    ) -> Result<String, GatewayError> {
        let code = parse_pasted_code(pasted, &request.state)?;
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", request.redirect_uri.clone()),
            ("client_id", CLIENT_ID.to_owned()),
            ("code_verifier", request.pkce.verifier.expose().to_owned()),
        ];
        let answer = self.token_request(form).await?;
        let mut tokens = StoredTokens::default();
        apply_answer(&mut tokens, answer, unix_now());
        let email = self.account_email(&tokens)?;
        self.save_login(email.clone(), tokens)?;
        Ok(email)
    }

    /// Headless login: saves a refresh token (and optionally an access token) obtained
    /// elsewhere. Without an access token the first connect refreshes ("cold" start).
    pub fn login_with_tokens(
        &self,
        refresh_token: Secret,
        access_token: Option<Secret>,
    ) -> Result<String, GatewayError> {
        if refresh_token.is_empty() {
            return Err(GatewayError::Config(
                "the refresh token is empty".to_owned(),
            ));
        }
        let access_token = access_token
            .filter(|token| !token.is_empty())
            .unwrap_or_default();
        let now = unix_now().trunc();
        let expires_at = if access_token.is_empty() {
            0.0
        } else {
            jwt_expiry(access_token.expose()).unwrap_or(now + DEFAULT_EXPIRES_IN as f64)
        };
        let tokens = StoredTokens {
            token_type: "Bearer".to_owned(),
            expires_in: if expires_at > now {
                (expires_at - now) as u64
            } else {
                DEFAULT_EXPIRES_IN
            },
            access_token,
            refresh_token,
            id_token: Secret::default(),
            expires_at,
        };
        let email = self.account_email(&tokens)?;
        self.save_login(email.clone(), tokens)?;
        Ok(email)
    }

    /// Step 3: chooses the site (it must be in the account) and writes the site file.
    pub async fn choose_site(&self, site_id: u64) -> Result<EnergySite, GatewayError> {
        let site = select_site(&self.sites().await?, Some(site_id))?;
        files::write_site(&self.config.auth_dir, site.id)?;
        self.site.set(Some(site.clone()));
        self.cache.clear();
        Ok(site)
    }

    /// The configured email, else the one in the id token or access token.
    fn account_email(&self, tokens: &StoredTokens) -> Result<String, GatewayError> {
        if !self.config.email.is_empty() {
            return Ok(self.config.email.clone());
        }
        [&tokens.id_token, &tokens.access_token]
            .into_iter()
            .find_map(|token| jwt_email(token.expose()))
            .ok_or_else(|| {
                GatewayError::Config(
                    "the tokens carry no email: set the account email (PW_EMAIL)".to_owned(),
                )
            })
    }

    fn save_login(&self, email: String, tokens: StoredTokens) -> Result<(), GatewayError> {
        let url = self.config.auth_url.clone();
        self.store_account(AuthEntry { email, url, tokens })?;
        // A new login may belong to another account: choose the site again.
        self.site.set(None);
        self.cache.clear();
        Ok(())
    }
}
