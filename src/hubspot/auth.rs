//! Bearer tokens: a private-app token as is, or OAuth access tokens refreshed before they
//! expire, with one refresh shared by every request.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::config::Credentials;
use crate::error::FatalError;
use crate::secret::Secret;

#[derive(Debug)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    expires_in: u64,
}

/// Where request tokens come from.
#[derive(Debug)]
pub struct TokenSource {
    credentials: Credentials,
    token_url: Url,
    timeout: Duration,
    cached: Mutex<Option<Cached>>,
}

/// Why the token endpoint refused: RFC 6749's `error` and `error_description` (the dated
/// endpoint) or v1's `status` and `message`. A refresh token HubSpot no longer honours
/// (`invalid_grant`, v1's `BAD_REFRESH_TOKEN`) says what to do.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> String {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |key: &str| parsed[key].as_str().filter(|s| !s.is_empty());
    let code = text("error").or_else(|| text("status")).unwrap_or("");
    let message = text("error_description")
        .or_else(|| text("message"))
        .unwrap_or("no message");
    let revoked = matches!(code, "invalid_grant" | "BAD_REFRESH_TOKEN");
    let advice = if revoked {
        "; the refresh token was revoked or has expired: authorize the app again and set the new refresh_token"
    } else {
        ""
    };
    let code: String = code.chars().take(100).collect();
    let message: String = message.chars().take(300).collect();
    format!("HTTP {status} {code}: {message}{advice}")
}

/// The longest token lifetime believed, whatever `expires_in` says.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl TokenSource {
    /// Tokens for `credentials`; OAuth refreshes go to `{base_url}{token_path}` (each
    /// attempt bounded by the client's `timeout`, named in errors).
    pub fn new(
        credentials: Credentials,
        base_url: &Url,
        token_path: &str,
        timeout: Duration,
    ) -> Self {
        let mut token_url = base_url.clone();
        token_url.set_path(&format!(
            "{}{token_path}",
            base_url.path().trim_end_matches('/')
        ));
        Self {
            credentials,
            token_url,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// Whether tokens are OAuth access tokens (and so can be refreshed).
    pub fn is_oauth(&self) -> bool {
        matches!(self.credentials, Credentials::OAuth { .. })
    }

    /// The token for the next request, refreshed first when it is close to expiry.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<Secret, FatalError> {
        let (client_id, client_secret, refresh_token) = match &self.credentials {
            Credentials::PrivateApp(token) => return Ok(token.clone()),
            Credentials::OAuth {
                client_id,
                client_secret,
                refresh_token,
            } => (client_id, client_secret, refresh_token),
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        let mut last_error = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            let resp = match http.post(self.token_url.clone()).form(&form).send().await {
                Ok(r) => r,
                Err(e) => {
                    last_error = super::http::transport_error(&e, &self.token_url, self.timeout);
                    continue;
                }
            };
            let status = resp.status();
            let Ok(body) = super::http::read_capped(resp, super::http::MAX_BODY_BYTES).await else {
                last_error = format!(
                    "the token answer was cut off or larger than {} MiB",
                    super::http::MAX_BODY_BYTES >> 20
                );
                continue;
            };
            if status.is_server_error() {
                last_error = format!("HTTP {status}");
                continue;
            }
            if !status.is_success() {
                return Err(FatalError::OAuth(refusal(status, &body)));
            }
            let grant: TokenResponse = serde_json::from_slice(&body)
                .map_err(|e| FatalError::OAuth(format!("unexpected token response: {e}")))?;
            let ttl = Duration::from_secs(grant.expires_in).min(MAX_TOKEN_LIFETIME);
            // Refresh with a fifth of the lifetime (at most a minute) to spare.
            let margin = (ttl / 5).min(Duration::from_secs(60));
            tracing::debug!(
                expires_in = grant.expires_in,
                "OAuth access token refreshed"
            );
            *cached = Some(Cached {
                token: grant.access_token.clone(),
                refresh_at: Instant::now() + ttl - margin,
            });
            return Ok(grant.access_token);
        }
        Err(FatalError::OAuth(last_error))
    }

    /// Drops `stale` so the next [`TokenSource::bearer`] refreshes (after an
    /// `EXPIRED_AUTHENTICATION` 401). A token already replaced is left alone.
    pub async fn expire(&self, stale: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == stale) {
            *cached = None;
        }
    }
}
