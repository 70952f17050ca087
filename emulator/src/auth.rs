//! Bearer-token checks and the OAuth token store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::clock;
use crate::settings::Settings;

/// The kind of token a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A private-app (static) token: daily limit and daily headers apply.
    PrivateApp,
    /// An OAuth access token: no daily limit (HubSpot documents none for OAuth apps).
    OAuth,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthFailure {
    /// No token, or one the portal does not know.
    Invalid,
    /// An OAuth token past its expiry.
    Expired {
        /// How long ago it expired.
        ago: Duration,
        /// When it expired, ISO-8601.
        expired_at: String,
    },
}

impl AuthFailure {
    /// HubSpot's message for an expired token: "… expired N second(s) ago.", with larger
    /// units for older tokens as HubSpot does ("5 hour(s) ago", "19884 day(s) ago").
    pub fn expired_message(ago: Duration) -> String {
        let s = ago.as_secs();
        let (n, unit) = match s {
            0..60 => (s, "second"),
            60..3600 => (s / 60, "minute"),
            3600..86_400 => (s / 3600, "hour"),
            _ => (s / 86_400, "day"),
        };
        format!("The OAuth token used to make this call expired {n} {unit}(s) ago.")
    }
}

/// An issued OAuth access token.
#[derive(Debug, Clone)]
struct Issued {
    expires: Instant,
    expires_wall: SystemTime,
}

/// A token that `POST /oauth/v1/token` handed out.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The new access token.
    pub access_token: String,
    /// The refresh token (HubSpot returns the same one).
    pub refresh_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// Why a token request was refused, as HubSpot's `status` codes name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GrantFailure {
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Missing or wrong client id.
    BadClientId,
    /// Missing or wrong client secret.
    BadClientSecret,
    /// Missing or unknown refresh token.
    BadRefreshToken,
}

/// Accepted static tokens and issued OAuth tokens.
#[derive(Debug)]
pub struct Auth {
    static_tokens: Vec<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    ttl: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

impl Auth {
    /// The token rules of `settings`.
    pub fn new(settings: &Settings) -> Self {
        Self {
            static_tokens: settings.tokens.clone(),
            client_id: settings.oauth_client_id.clone(),
            client_secret: settings.oauth_client_secret.clone(),
            refresh_token: settings.refresh_token.clone(),
            ttl: settings.token_ttl,
            issued: Mutex::default(),
        }
    }

    /// Checks the value of an `Authorization` header.
    pub fn check(&self, header: Option<&str>) -> Result<TokenKind, AuthFailure> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthFailure::Invalid)?;
        if let Some(issued) = self
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
        {
            let now = Instant::now();
            return if now < issued.expires {
                Ok(TokenKind::OAuth)
            } else {
                let expired_at = clock::iso_from_millis(
                    issued
                        .expires_wall
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or_default(),
                );
                Err(AuthFailure::Expired {
                    ago: now - issued.expires,
                    expired_at,
                })
            };
        }
        let accepted = if self.static_tokens.is_empty() {
            token.starts_with("pat-")
        } else {
            self.static_tokens.iter().any(|t| t == token)
        };
        if accepted {
            Ok(TokenKind::PrivateApp)
        } else {
            Err(AuthFailure::Invalid)
        }
    }

    /// Handles a `refresh_token` grant.
    pub fn grant(&self, form: &HashMap<String, String>) -> Result<Grant, GrantFailure> {
        let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
        if field("grant_type") != Some("refresh_token") {
            return Err(GrantFailure::UnsupportedGrantType);
        }
        let matches = |expected: &Option<String>, got: Option<&str>| match expected {
            Some(e) => got == Some(e.as_str()),
            None => got.is_some(),
        };
        if !matches(&self.client_id, field("client_id")) {
            return Err(GrantFailure::BadClientId);
        }
        if !matches(&self.client_secret, field("client_secret")) {
            return Err(GrantFailure::BadClientSecret);
        }
        let refresh = field("refresh_token").ok_or(GrantFailure::BadRefreshToken)?;
        if !matches(&self.refresh_token, Some(refresh)) {
            return Err(GrantFailure::BadRefreshToken);
        }
        let access_token = format!("CO{}", uuid::Uuid::new_v4().simple());
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                access_token.clone(),
                Issued {
                    expires: Instant::now() + self.ttl,
                    expires_wall: SystemTime::now() + self.ttl,
                },
            );
        Ok(Grant {
            access_token,
            refresh_token: refresh.to_string(),
            expires_in: self.ttl.as_secs(),
        })
    }

    /// Forgets every issued token.
    pub fn reset(&self) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_message_uses_hubspots_units() {
        assert_eq!(
            AuthFailure::expired_message(Duration::from_secs(0)),
            "The OAuth token used to make this call expired 0 second(s) ago."
        );
        assert_eq!(
            AuthFailure::expired_message(Duration::from_secs(5 * 3600 + 12)),
            "The OAuth token used to make this call expired 5 hour(s) ago."
        );
    }
}
