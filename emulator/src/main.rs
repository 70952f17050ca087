//! `hubspot-emulator`: a local HubSpot CRM API for demos, benchmarks and tests.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use hubspot_emulator::preload::Preload;
use hubspot_emulator::settings::{
    DEFAULT_IMPORT_ROWS_PER_SECOND, DEFAULT_SEARCH_LAG_MS, ImportLimits, Tier,
};
use hubspot_emulator::{ApiVersion, Settings};

/// A faithful, stateful local HubSpot CRM API.
///
/// Prints `hubspot-emulator listening on http://127.0.0.1:PORT` on stdout once ready;
/// everything else goes to stderr.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accepted static token (repeatable). Without it any `pat-…` token is accepted.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// OAuth client id the token endpoint requires (any if unset).
    #[arg(long)]
    oauth_client_id: Option<String>,
    /// OAuth client secret the token endpoint requires (any if unset).
    #[arg(long)]
    oauth_client_secret: Option<String>,
    /// Refresh token the token endpoint accepts (any if unset).
    #[arg(long)]
    refresh_token: Option<String>,
    /// Lifetime of issued OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 1800)]
    token_ttl_s: u64,
    /// HubSpot subscription tier: sets the private-app window and daily limits.
    #[arg(long, value_enum, default_value = "professional")]
    tier: Tier,
    /// Requests per rolling window for private-app tokens (0 = no limit); overrides the tier's.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Requests per rolling window for each OAuth app (0 = no limit).
    #[arg(long, default_value_t = 110)]
    oauth_rate_limit: u32,
    /// Requests per second for each OAuth app, announced in X-HubSpot-RateLimit-Secondly
    /// (0 = no limit).
    #[arg(long, default_value_t = 11)]
    oauth_per_second: u32,
    /// Rolling window length in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    window_ms: u64,
    /// Requests per day for private-app tokens (0 = no limit); overrides the tier's.
    #[arg(long)]
    daily_limit: Option<u64>,
    /// Search requests per second for the account, every token together (0 = no limit).
    #[arg(long, default_value_t = 5)]
    search_per_second: u32,
    /// Milliseconds before a write is found by search (0 = at once).
    #[arg(long, default_value_t = DEFAULT_SEARCH_LAG_MS)]
    search_lag_ms: u64,
    /// Latency added to every response in milliseconds, plus up to 50% jitter.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests (0..1) answered with 500/502/503/504/423 or a dropped connection.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed for faults and jitter (repeatable runs).
    #[arg(long)]
    seed: Option<u64>,
    /// Portal (hub) id.
    #[arg(long, default_value_t = 23_170_316)]
    portal_id: u64,
    /// JSON file of properties, custom-object schemas, records and lists the portal holds at
    /// start (see the README). A fresh portal has HubSpot's standard properties only.
    #[arg(long, value_name = "FILE")]
    preload: Option<std::path::PathBuf>,
    /// The API versions served, comma-separated: v3 (the numbered routes), 2026-03, 2026-09.
    /// A route of another version answers 404 as an unknown path.
    #[arg(long, value_delimiter = ',', default_values_t = ApiVersion::ALL.map(|v| v.to_string()))]
    api_versions: Vec<String>,
    /// A portal validation rule, TYPE:PROPERTY (repeatable): a record of that object type
    /// created through a 2026-09 route without the property is refused with
    /// VALIDATION_ERROR (HubSpot enforces validation rules on API writes from 2026-09).
    #[arg(long, value_name = "TYPE:PROPERTY")]
    require_on_create: Vec<String>,
    /// The scopes every token has, comma-separated (default: all). A request that needs
    /// another answers HubSpot's 403 MISSING_SCOPES naming it.
    #[arg(long, value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// TYPE:N (repeatable): the next N writes to that object type answer 423 LOCKED, as
    /// HubSpot does to bursts of writes to the same records.
    #[arg(long, value_name = "TYPE:N")]
    lock: Vec<String>,
    /// Rows one import file may hold (HubSpot: 1,048,576); a larger file answers 429.
    #[arg(long, default_value_t = 1_048_576)]
    import_max_rows: usize,
    /// Bytes one import file may hold (HubSpot: 512 MB); a larger file answers 429.
    #[arg(long, default_value_t = 512_000_000)]
    import_max_bytes: usize,
    /// Imports allowed per rolling 24 hours (HubSpot: 500 on paid tiers).
    #[arg(long, default_value_t = 500)]
    imports_per_day: usize,
    /// Rows one import processes per second. [INFERENCE] HubSpot publishes no figure.
    #[arg(long, default_value_t = DEFAULT_IMPORT_ROWS_PER_SECOND)]
    import_rows_per_second: u32,
    /// Fault injection: the next N imports end FAILED with an error of the whole file.
    #[arg(long, default_value_t = 0)]
    fail_imports: u32,
}

impl Args {
    fn settings(self) -> Result<Settings, String> {
        let preload = match &self.preload {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read --preload {}: {e}", path.display()))?;
                Preload::from_json(&text)
                    .map_err(|e| format!("--preload {}: {e}", path.display()))?
            }
            None => Preload::default(),
        };
        let api_versions = self
            .api_versions
            .iter()
            .map(|v| v.parse::<ApiVersion>())
            .collect::<Result<Vec<_>, _>>()?;
        let require_on_create = self
            .require_on_create
            .iter()
            .map(|rule| match rule.split_once(':') {
                Some((t, p)) if !t.is_empty() && !p.is_empty() => {
                    Ok((t.to_string(), p.to_string()))
                }
                _ => Err(format!(
                    "--require-on-create {rule}: expected TYPE:PROPERTY, e.g. contacts:phone"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let locks = self
            .lock
            .iter()
            .map(
                |rule| match rule.split_once(':').map(|(t, n)| (t, n.parse::<u32>())) {
                    Some((t, Ok(n))) if !t.is_empty() => Ok((t.to_string(), n)),
                    _ => Err(format!("--lock {rule}: expected TYPE:N, e.g. contacts:2")),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        let a = self;
        Ok(Settings {
            port: a.port,
            tokens: a.tokens,
            oauth_client_id: a.oauth_client_id,
            oauth_client_secret: a.oauth_client_secret,
            refresh_token: a.refresh_token,
            token_ttl: Duration::from_secs(a.token_ttl_s),
            rate_limit: a.rate_limit.unwrap_or(a.tier.rate_limit()),
            oauth_rate_limit: a.oauth_rate_limit,
            oauth_per_second: a.oauth_per_second,
            window: Duration::from_millis(a.window_ms),
            daily_limit: a.daily_limit.unwrap_or(a.tier.daily_limit()),
            search_per_second: a.search_per_second,
            search_lag: Duration::from_millis(a.search_lag_ms),
            latency: Duration::from_millis(a.latency_ms),
            fault_rate: a.fault_rate.clamp(0.0, 1.0),
            seed: a.seed,
            portal_id: a.portal_id,
            preload,
            api_versions,
            require_on_create,
            scopes: a.scopes,
            locks,
            imports: ImportLimits {
                max_rows: a.import_max_rows,
                max_bytes: a.import_max_bytes,
                per_day: a.imports_per_day,
                rows_per_second: a.import_rows_per_second.max(1),
                fail_next: a.fail_imports,
            },
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = match Args::parse().settings() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let emulator = match hubspot_emulator::start(settings).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "could not start the emulator");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "hubspot-emulator listening on {}",
        emulator.base_url()
    );
    let _ = stdout.flush();
    wait_for_signal().await;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// Waits for Ctrl-C or, on Unix, SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
