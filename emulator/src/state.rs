//! What every handler shares: the settings, the portal's store, limits, faults, counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;

use crate::auth::Auth;
use crate::limits::{Chaos, RateLimiter};
use crate::preload::PreloadError;
use crate::settings::Settings;
use crate::store::Store;

/// Per-request facts the handlers need.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The `X-HubSpot-Correlation-Id` of this request, echoed in error bodies.
    pub correlation_id: String,
    /// The API version of the route called.
    pub version: crate::versions::ApiVersion,
}

/// Request counts for `GET /_emulator/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests answered on HubSpot routes.
    pub requests: u64,
    /// Counts by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Counts by `METHOD route-template`.
    pub by_route: BTreeMap<String, u64>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The settings the emulator started with.
    pub settings: Settings,
    /// The portal's data.
    pub store: Mutex<Store>,
    /// Token checks and OAuth grants.
    pub auth: Auth,
    /// Rolling, daily and search limits.
    pub limiter: RateLimiter,
    /// Latency and faults.
    pub chaos: Chaos,
    /// Request counters.
    pub stats: Mutex<Stats>,
    /// Writes locked on demand (`--lock`).
    pub locks: crate::gates::Locks,
}

/// A portal as `settings` start it: HubSpot's standard types plus the preload.
pub fn fresh_store(settings: &Settings) -> Result<Store, PreloadError> {
    let mut store = Store::new(settings.portal_id);
    // Preloaded records are already indexed: the lag applies from the first request on.
    settings.preload.apply(&mut store)?;
    store.imports.fail_next = settings.imports.fail_next;
    store.search_lag_ms = i64::try_from(settings.search_lag.as_millis()).unwrap_or(i64::MAX);
    Ok(store)
}

/// The shared state as handlers receive it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Fresh state for `settings`, its preload applied.
    pub fn new(settings: Settings) -> Result<Self, PreloadError> {
        Ok(Self {
            store: Mutex::new(fresh_store(&settings)?),
            auth: Auth::new(&settings),
            limiter: RateLimiter::new(&settings),
            chaos: Chaos::new(&settings),
            stats: Mutex::default(),
            locks: crate::gates::Locks::new(&settings.locks),
            settings,
        })
    }

    /// The store, locked. A panic elsewhere never poisons it for good.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one answered request.
    pub(crate) fn count(&self, route: String, status: StatusCode) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.requests += 1;
        *stats.by_status.entry(status.as_u16()).or_default() += 1;
        *stats.by_route.entry(route).or_default() += 1;
    }
}
