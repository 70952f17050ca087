//! Rate limiting (rolling window, daily, search) and fault injection.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::settings::Settings;

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Let through; counts left after this request.
    Allowed {
        /// Requests left in the rolling window.
        remaining: u32,
        /// Requests left today.
        daily_remaining: u64,
    },
    /// Over the rolling-window limit.
    Rolling,
    /// Over the daily limit.
    Daily,
}

/// A rolling window of request times plus a daily counter, for the whole portal.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    daily_limit: u64,
    search_per_second: u32,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    recent: VecDeque<Instant>,
    daily_used: u64,
    search: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// A limiter with the settings' limits.
    pub fn new(settings: &Settings) -> Self {
        Self {
            max: settings.rate_limit,
            window: settings.window,
            daily_limit: settings.daily_limit,
            search_per_second: settings.search_per_second,
            state: Mutex::default(),
        }
    }

    /// The configured rolling limit (0 = off).
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The configured window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The configured daily limit (0 = off).
    pub fn daily_limit(&self) -> u64 {
        self.daily_limit
    }

    /// Counts one request against the portal's limits. Rejected requests are not counted:
    /// HubSpot does not document whether they are, and not counting them is the kinder reading.
    pub fn admit(&self, daily_applies: bool) -> Verdict {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if daily_applies && self.daily_limit > 0 && s.daily_used >= self.daily_limit {
            return Verdict::Daily;
        }
        while s
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            s.recent.pop_front();
        }
        if self.max > 0 && s.recent.len() as u32 >= self.max {
            return Verdict::Rolling;
        }
        if self.max > 0 {
            s.recent.push_back(now);
        }
        s.daily_used += 1;
        Verdict::Allowed {
            remaining: self.max.saturating_sub(s.recent.len() as u32),
            daily_remaining: self.daily_limit.saturating_sub(s.daily_used),
        }
    }

    /// Counts one search request for `token`; false when over the per-second search limit.
    pub fn admit_search(&self, token: &str) -> bool {
        if self.search_per_second == 0 {
            return true;
        }
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let times = s.search.entry(token.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            times.pop_front();
        }
        if times.len() as u32 >= self.search_per_second {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Forgets every counted request.
    pub fn reset(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = LimiterState::default();
    }
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Close the connection without a complete response.
    Drop,
}

/// Latency and fault decisions from one (optionally seeded) random source.
#[derive(Debug)]
pub struct Chaos {
    latency: Duration,
    fault_rate: f64,
    rng: Mutex<SmallRng>,
}

impl Chaos {
    /// Chaos with the settings' latency, fault rate and seed.
    pub fn new(settings: &Settings) -> Self {
        let rng = match settings.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::from_os_rng(),
        };
        Self {
            latency: settings.latency,
            fault_rate: settings.fault_rate,
            rng: Mutex::new(rng),
        }
    }

    /// The delay for the next response: the latency plus up to half of it as jitter.
    pub fn delay(&self) -> Duration {
        if self.latency.is_zero() {
            return Duration::ZERO;
        }
        let jitter: f64 = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_range(0.0..0.5);
        self.latency.mul_f64(1.0 + jitter)
    }

    /// Whether to fail the next request, and how.
    pub fn fault(&self) -> Option<Fault> {
        if self.fault_rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        if !rng.random_bool(self.fault_rate.min(1.0)) {
            return None;
        }
        Some(match rng.random_range(0..6) {
            0 => Fault::Status(500),
            1 => Fault::Status(502),
            2 => Fault::Status(503),
            3 => Fault::Status(504),
            4 => Fault::Status(423),
            _ => Fault::Drop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window_refuses_the_request_past_the_limit() {
        let limiter = RateLimiter::new(&Settings {
            rate_limit: 2,
            ..Settings::default()
        });
        assert!(matches!(
            limiter.admit(true),
            Verdict::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            limiter.admit(true),
            Verdict::Allowed { remaining: 0, .. }
        ));
        assert_eq!(limiter.admit(true), Verdict::Rolling);
    }

    #[test]
    fn daily_limit_applies_only_where_asked() {
        let limiter = RateLimiter::new(&Settings {
            daily_limit: 1,
            ..Settings::default()
        });
        assert!(matches!(
            limiter.admit(true),
            Verdict::Allowed {
                daily_remaining: 0,
                ..
            }
        ));
        assert_eq!(limiter.admit(true), Verdict::Daily);
        assert!(matches!(limiter.admit(false), Verdict::Allowed { .. }));
    }

    #[test]
    fn seeded_faults_repeat() {
        let settings = Settings {
            fault_rate: 0.5,
            seed: Some(7),
            ..Settings::default()
        };
        let (a, b) = (Chaos::new(&settings), Chaos::new(&settings));
        let run = |c: &Chaos| (0..50).map(|_| c.fault()).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&b));
    }
}
