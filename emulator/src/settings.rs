//! The emulator's knobs, shared by the binary's flags and the library's builder.

use std::time::Duration;

use crate::versions::ApiVersion;

use crate::preload::Preload;

/// A HubSpot subscription tier: it sets a private app's limits (HubSpot's changelog
/// "Increasing our API limits" and usage guidelines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tier {
    /// 100 requests / 10 s, 250,000 a day.
    Free,
    /// Same limits as Free.
    Starter,
    /// 190 requests / 10 s, 650,000 a day.
    Professional,
    /// 190 requests / 10 s, 1,000,000 a day.
    Enterprise,
    /// Enterprise with one API Limit Increase pack: 250 requests / 10 s and 1,000,000 more a
    /// day (an inference: that the pack is added to Enterprise).
    ApiAddOn,
}

impl Tier {
    /// Requests per 10-second window for a private app.
    pub fn rate_limit(self) -> u32 {
        match self {
            Self::Free | Self::Starter => 100,
            Self::Professional | Self::Enterprise => 190,
            Self::ApiAddOn => 250,
        }
    }

    /// Requests per day for the account's private apps.
    pub fn daily_limit(self) -> u64 {
        match self {
            Self::Free | Self::Starter => 250_000,
            Self::Professional => 650_000,
            Self::Enterprise => 1_000_000,
            Self::ApiAddOn => 2_000_000,
        }
    }
}

/// \[INFERENCE\] HubSpot's search index usually catches up with a write within a second or two
/// (Estuary's connector documents the lag; HubSpot does not publish a figure).
pub const DEFAULT_SEARCH_LAG_MS: u64 = 1_500;

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
    /// Requests per second allowed on search endpoints, for the whole account (every token
    /// shares it, as on HubSpot); 0 turns it off.
    pub search_per_second: u32,
    /// How long a write takes to reach the search index: until then search finds the record's
    /// previous values (or nothing, for a new record). Zero turns the lag off.
    pub search_lag: Duration,
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
    /// The API versions served; a route of another version answers 404 as an unknown path.
    pub api_versions: Vec<ApiVersion>,
    /// The portal's validation rules: `(object type, property)` a record must have when it
    /// is created through a 2026-09 route (HubSpot enforces portal validation rules on API
    /// writes from 2026-09).
    pub require_on_create: Vec<(String, String)>,
    /// The scopes every token has; `None` grants every scope. A request that needs another
    /// answers HubSpot's 403 `MISSING_SCOPES` naming it.
    pub scopes: Option<Vec<String>>,
    /// Object types whose next writes answer 423 `LOCKED`: `(type, how many)`.
    pub locks: Vec<(String, u32)>,
    /// The Imports API's limits and speed.
    pub imports: ImportLimits,
}

/// The Imports API's limits (HubSpot's imports guide and knowledge base) and speed.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Rows one file may hold (HubSpot: 1,048,576).
    pub max_rows: usize,
    /// Bytes one file may hold (HubSpot: 512 MB).
    pub max_bytes: usize,
    /// Imports per rolling 24 hours (HubSpot: 500 on paid tiers).
    pub per_day: usize,
    /// \[INFERENCE\] Rows one import processes per second: HubSpot publishes no figure.
    pub rows_per_second: u32,
    /// Fault injection: the next this many imports end `FAILED` with an error of the whole
    /// file (line 0), as an import whose failure HubSpot detects while processing.
    pub fail_next: u32,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_rows: 1_048_576,
            max_bytes: 512_000_000,
            per_day: 500,
            rows_per_second: DEFAULT_IMPORT_ROWS_PER_SECOND,
            fail_next: 0,
        }
    }
}

/// \[INFERENCE\] The default processing speed of one import, in rows a second: HubSpot
/// publishes none; an import of a million rows then takes about three minutes.
pub const DEFAULT_IMPORT_ROWS_PER_SECOND: u32 = 5_000;

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
            search_lag: Duration::from_millis(DEFAULT_SEARCH_LAG_MS),
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: None,
            portal_id: 23_170_316,
            preload: Preload::default(),
            api_versions: ApiVersion::ALL.to_vec(),
            require_on_create: Vec::new(),
            scopes: None,
            locks: Vec::new(),
            imports: ImportLimits::default(),
        }
    }
}

impl Settings {
    /// Default settings with `tier`'s private-app limits.
    pub fn for_tier(tier: Tier) -> Self {
        Self {
            rate_limit: tier.rate_limit(),
            daily_limit: tier.daily_limit(),
            ..Self::default()
        }
    }

    /// Settings with every limit, latency and fault turned off: for throughput tests.
    pub fn unlimited() -> Self {
        Self {
            rate_limit: 0,
            oauth_rate_limit: 0,
            oauth_per_second: 0,
            daily_limit: 0,
            search_per_second: 0,
            search_lag: Duration::ZERO,
            ..Self::default()
        }
    }
}
