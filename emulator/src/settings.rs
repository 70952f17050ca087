//! The emulator's knobs, shared by the binary's flags and the library's builder.

use std::time::Duration;

use crate::preload::Preload;

/// How an emulator behaves. `Settings::default()` is HubSpot's Professional private-app
/// limits with no latency and no faults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Accepted static (private-app) tokens; empty accepts any `pat-…` token.
    pub tokens: Vec<String>,
    /// OAuth client id that `POST /oauth/v1/token` requires, if set.
    pub oauth_client_id: Option<String>,
    /// OAuth client secret that `POST /oauth/v1/token` requires, if set.
    pub oauth_client_secret: Option<String>,
    /// The refresh token `POST /oauth/v1/token` accepts; any non-empty one if unset.
    pub refresh_token: Option<String>,
    /// Lifetime of issued OAuth access tokens.
    pub token_ttl: Duration,
    /// Requests allowed per rolling window to private-app tokens; 0 turns the limit off.
    pub rate_limit: u32,
    /// Requests allowed per rolling window to each OAuth app (HubSpot: 110 / 10 s); 0 = off.
    pub oauth_rate_limit: u32,
    /// Requests allowed per second to each OAuth app, announced in
    /// `X-HubSpot-RateLimit-Secondly` (recorded: 11); 0 = off.
    pub oauth_per_second: u32,
    /// Length of the rolling window.
    pub window: Duration,
    /// Requests allowed per day for private-app tokens; 0 turns the daily limit off.
    pub daily_limit: u64,
    /// Requests per second allowed on search endpoints, per token; 0 turns it off.
    pub search_per_second: u32,
    /// Added to every response, plus up to half as much jitter.
    pub latency: Duration,
    /// Share (0..=1) of requests answered with 500/502/503/504/423 or a dropped connection.
    pub fault_rate: f64,
    /// Seed that makes faults and jitter repeatable.
    pub seed: Option<u64>,
    /// The portal (hub) id.
    pub portal_id: u64,
    /// What the portal holds at start (and again after `POST /_emulator/reset`).
    pub preload: Preload,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 0,
            tokens: Vec::new(),
            oauth_client_id: None,
            oauth_client_secret: None,
            refresh_token: None,
            token_ttl: Duration::from_secs(1800),
            rate_limit: 190,
            oauth_rate_limit: 110,
            oauth_per_second: 11,
            window: Duration::from_millis(10_000),
            daily_limit: 650_000,
            search_per_second: 5,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: None,
            portal_id: 23_170_316,
            preload: Preload::default(),
        }
    }
}

impl Settings {
    /// Settings with every limit, latency and fault turned off: for throughput tests.
    pub fn unlimited() -> Self {
        Self {
            rate_limit: 0,
            oauth_rate_limit: 0,
            oauth_per_second: 0,
            daily_limit: 0,
            search_per_second: 0,
            ..Self::default()
        }
    }
}
