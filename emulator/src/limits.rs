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
        /// Requests left this second, where a per-second limit applies (OAuth apps).
        secondly_remaining: Option<u32>,
    },
    /// Over the rolling-window limit.
    Rolling,
    /// Over the per-second limit (OAuth apps); what is left of the rolling window.
    Secondly {
        /// Requests left in the rolling window.
        remaining: u32,
    },
    /// Over the daily limit.
    Daily,
}

/// Whose limits a request counts against: HubSpot limits private apps and each OAuth app
/// installed on a portal separately, with different numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A private-app (static) token: the portal's tier limit and the daily limit.
    PrivateApp,
    /// An OAuth access token: 110 / 10 s and a per-second limit, no daily limit.
    OAuthApp,
}

/// A rolling window of request times.
#[derive(Debug)]
struct Window {
    max: u32,
    length: Duration,
    recent: VecDeque<Instant>,
}

impl Window {
    fn new(max: u32, length: Duration) -> Self {
        Self {
            max,
            length,
            recent: VecDeque::new(),
        }
    }

    /// Whether one more request fits at `now` (always, when the limit is off).
    fn has_room(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.length)
        {
            self.recent.pop_front();
        }
        self.max == 0 || (self.recent.len() as u32) < self.max
    }

    fn count(&mut self, now: Instant) {
        if self.max > 0 {
            self.recent.push_back(now);
        }
    }

    fn remaining(&self) -> u32 {
        self.max.saturating_sub(self.recent.len() as u32)
    }
}

/// The portal's limits: a rolling window per kind of caller, a per-second limit for OAuth
/// apps, a daily counter for private apps, and the account's search limit.
#[derive(Debug)]
pub struct RateLimiter {
    settings: Limits,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max: u32,
    oauth_max: u32,
    oauth_per_second: u32,
    window: Duration,
    daily_limit: u64,
    search_per_second: u32,
}

#[derive(Debug)]
struct LimiterState {
    private: Window,
    oauth: Window,
    oauth_secondly: Window,
    daily_used: u64,
    search: HashMap<String, VecDeque<Instant>>,
}

impl LimiterState {
    fn new(l: Limits) -> Self {
        Self {
            private: Window::new(l.max, l.window),
            oauth: Window::new(l.oauth_max, l.window),
            oauth_secondly: Window::new(l.oauth_per_second, Duration::from_secs(1)),
            daily_used: 0,
            search: HashMap::new(),
        }
    }
}

impl RateLimiter {
    /// A limiter with the settings' limits.
    pub fn new(settings: &Settings) -> Self {
        let limits = Limits {
            max: settings.rate_limit,
            oauth_max: settings.oauth_rate_limit,
            oauth_per_second: settings.oauth_per_second,
            window: settings.window,
            daily_limit: settings.daily_limit,
            search_per_second: settings.search_per_second,
        };
        Self {
            settings: limits,
            state: Mutex::new(LimiterState::new(limits)),
        }
    }

    /// The rolling limit `caller` works to (0 = off).
    pub fn max(&self, caller: Caller) -> u32 {
        match caller {
            Caller::PrivateApp => self.settings.max,
            Caller::OAuthApp => self.settings.oauth_max,
        }
    }

    /// The per-second limit `caller` works to (0 = none).
    pub fn per_second(&self, caller: Caller) -> u32 {
        match caller {
            Caller::PrivateApp => 0,
            Caller::OAuthApp => self.settings.oauth_per_second,
        }
    }

    /// The configured window.
    pub fn window(&self) -> Duration {
        self.settings.window
    }

    /// The configured daily limit (0 = off).
    pub fn daily_limit(&self) -> u64 {
        self.settings.daily_limit
    }

    /// Counts one request against `caller`'s limits. Rejected requests are not counted:
    /// HubSpot does not document whether they are, and not counting them is the kinder
    /// reading.
    pub fn admit(&self, caller: Caller) -> Verdict {
        let now = Instant::now();
        let daily_limit = self.settings.daily_limit;
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *guard;
        let daily_applies = caller == Caller::PrivateApp;
        if daily_applies && daily_limit > 0 && s.daily_used >= daily_limit {
            return Verdict::Daily;
        }
        let rolling = match caller {
            Caller::PrivateApp => &mut s.private,
            Caller::OAuthApp => &mut s.oauth,
        };
        if !rolling.has_room(now) {
            return Verdict::Rolling;
        }
        // [INFERENCE] HubSpot's per-second limit is taken to count like its rolling window.
        let secondly = (caller == Caller::OAuthApp && s.oauth_secondly.max > 0)
            .then_some(&mut s.oauth_secondly);
        let secondly_remaining = match secondly {
            Some(w) => {
                if !w.has_room(now) {
                    let remaining = match caller {
                        Caller::PrivateApp => s.private.remaining(),
                        Caller::OAuthApp => s.oauth.remaining(),
                    };
                    return Verdict::Secondly { remaining };
                }
                w.count(now);
                Some(w.remaining())
            }
            None => None,
        };
        let rolling = match caller {
            Caller::PrivateApp => &mut s.private,
            Caller::OAuthApp => &mut s.oauth,
        };
        rolling.count(now);
        let remaining = rolling.remaining();
        if daily_applies {
            s.daily_used += 1;
        }
        Verdict::Allowed {
            remaining,
            daily_remaining: daily_limit.saturating_sub(s.daily_used),
            secondly_remaining,
        }
    }

    /// Counts one search request; false when over the per-second search limit. The limit is
    /// the account's ("5 requests per second per account", HubSpot's search guide, 2026-03):
    /// every token of the portal shares it, whichever `_token` sent the request.
    pub fn admit_search(&self, _token: &str) -> bool {
        let per_second = self.settings.search_per_second;
        if per_second == 0 {
            return true;
        }
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let times = s.search.entry(String::new()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            times.pop_front();
        }
        if times.len() as u32 >= per_second {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Forgets every counted request.
    pub fn reset(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = LimiterState::new(self.settings);
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
            limiter.admit(Caller::PrivateApp),
            Verdict::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            limiter.admit(Caller::PrivateApp),
            Verdict::Allowed { remaining: 0, .. }
        ));
        assert_eq!(limiter.admit(Caller::PrivateApp), Verdict::Rolling);
    }

    #[test]
    fn daily_limit_applies_only_where_asked() {
        let limiter = RateLimiter::new(&Settings {
            daily_limit: 1,
            ..Settings::default()
        });
        assert!(matches!(
            limiter.admit(Caller::PrivateApp),
            Verdict::Allowed {
                daily_remaining: 0,
                ..
            }
        ));
        assert_eq!(limiter.admit(Caller::PrivateApp), Verdict::Daily);
        assert!(matches!(
            limiter.admit(Caller::OAuthApp),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn oauth_apps_have_their_own_window_and_a_per_second_limit() {
        let limiter = RateLimiter::new(&Settings {
            rate_limit: 1,
            oauth_rate_limit: 5,
            oauth_per_second: 2,
            ..Settings::default()
        });
        assert!(matches!(
            limiter.admit(Caller::PrivateApp),
            Verdict::Allowed {
                remaining: 0,
                secondly_remaining: None,
                ..
            }
        ));
        assert!(matches!(
            limiter.admit(Caller::OAuthApp),
            Verdict::Allowed {
                remaining: 4,
                secondly_remaining: Some(1),
                ..
            }
        ));
        assert!(matches!(
            limiter.admit(Caller::OAuthApp),
            Verdict::Allowed {
                remaining: 3,
                secondly_remaining: Some(0),
                ..
            }
        ));
        assert_eq!(
            limiter.admit(Caller::OAuthApp),
            Verdict::Secondly { remaining: 3 }
        );
        assert_eq!(limiter.admit(Caller::PrivateApp), Verdict::Rolling);
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
