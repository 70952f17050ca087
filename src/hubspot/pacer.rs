//! One pacer shared by every request: a GCRA limiter sized from the account's limit as the
//! `X-HubSpot-RateLimit-*` headers report it, plus a shared pause after a 429.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Jitter, Quota, RateLimiter};
use reqwest::header::HeaderMap;

/// The limit assumed before HubSpot has told us: the lowest tier's 100 per 10 s.
pub const ASSUMED_LIMIT: (u32, Duration) = (100, Duration::from_secs(10));

/// Paces requests under a rolling "N per window" limit.
///
/// HubSpot counts requests in any rolling window. GCRA with burst `b` and `r` per window lets
/// at most `b + r` through in any window, so `r = max - b - 1` keeps one request of headroom
/// while using ~98% of a 190/10 s limit.
#[derive(Debug)]
pub struct Pacer {
    limiter: RwLock<Arc<DefaultDirectRateLimiter>>,
    limit: Mutex<(u32, Duration)>,
    paused_until: Mutex<Option<Instant>>,
    adaptive: Mutex<Adaptive>,
}

/// Pacing when the answers carry no rate-limit headers (a proxy strips them): additive
/// increase while answers succeed, multiplicative decrease on a 429, in the manner of
/// Vector's adaptive request concurrency.
#[derive(Debug, Default)]
struct Adaptive {
    /// Headers were seen: the limit is HubSpot's, never adapted.
    headers_seen: bool,
    /// 2xx answers since the limit last changed.
    successes: u32,
    /// A 429 has been seen: growth is by a quarter from then on, not by doubling.
    backed_off: bool,
}

/// The highest limit adaptive pacing reaches per window: ten times HubSpot's highest tier.
pub const ADAPTIVE_MAX: u32 = 2_500;

fn limiter_for(max: u32, window: Duration) -> DefaultDirectRateLimiter {
    let burst = (max / 50).max(1);
    let rate = max.saturating_sub(burst + 1).max(1);
    let period = window / rate;
    let quota = Quota::with_period(period.max(Duration::from_micros(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
    RateLimiter::direct(quota)
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(ASSUMED_LIMIT.0, ASSUMED_LIMIT.1)
    }
}

/// The longest single wait the server can ask for (Retry-After, a learned interval).
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Whether rate-limit headers describe a limit HubSpot publishes: windows of 1 to 60 s
/// (10 s rolling, 1 s secondly, the daily limit is not sent this way) and at most 10 s between
/// requests. Anything else (`Max: 1` per 31 years) is a broken proxy or server, not a limit.
/// [INFERENCE] HubSpot's tiers are 100, 110, 190 and 250 per 10 s and 10-ish per second.
pub fn plausible(max: u64, interval_ms: u64) -> bool {
    (1_000..=60_000).contains(&interval_ms) && max >= 1 && interval_ms / max <= 10_000
}

impl Pacer {
    /// A pacer for `max` requests per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            limiter: RwLock::new(Arc::new(limiter_for(max, window))),
            limit: Mutex::new((max, window)),
            paused_until: Mutex::new(None),
            adaptive: Mutex::new(Adaptive::default()),
        }
    }

    /// The limit the pacer currently works to.
    pub fn limit(&self) -> (u32, Duration) {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent.
    pub async fn ready(&self) {
        loop {
            let pause = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = pause
                && until > Instant::now()
            {
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            let limiter = self
                .limiter
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            limiter
                .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(5)))
                .await;
            let still_clear = self
                .paused_until
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none_or(|until| until <= Instant::now());
            if still_clear {
                return;
            }
        }
    }

    /// Learns from one answer: the account's limit from its headers (resized when it differs),
    /// or, while no answer has carried them, adapts: each tenth of a window's worth of 2xx
    /// answers doubles the limit until the first 429, then raises it by a quarter (up to
    /// [`ADAPTIVE_MAX`]); a 429 halves it.
    pub fn observe_answer(&self, status: u16, headers: &HeaderMap) {
        let has_headers = headers.contains_key("x-hubspot-ratelimit-max");
        let resize = {
            let mut a = self.adaptive.lock().unwrap_or_else(|e| e.into_inner());
            a.headers_seen |= has_headers;
            if a.headers_seen {
                None
            } else {
                let (max, window) = self.limit();
                match status {
                    429 => {
                        a.successes = 0;
                        a.backed_off = true;
                        Some(((max / 2).max(1), window))
                    }
                    200..=299 => {
                        a.successes += 1;
                        // A tenth of a window's worth of successes at the current rate.
                        (a.successes >= (max / 10).max(1) && max < ADAPTIVE_MAX).then(|| {
                            a.successes = 0;
                            let grown = if a.backed_off { max + max / 4 } else { max * 2 };
                            (grown.min(ADAPTIVE_MAX), window)
                        })
                    }
                    _ => None,
                }
            }
        };
        if let Some(limit) = resize {
            tracing::debug!(
                max = limit.0,
                "no rate-limit headers: adaptive limit now {} per {:?}",
                limit.0,
                limit.1
            );
            self.set_limit(limit);
        }
        if has_headers {
            self.observe(headers);
        }
    }

    fn set_limit(&self, learned: (u32, Duration)) {
        let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        if *limit != learned {
            *limit = learned;
            *self.limiter.write().unwrap_or_else(|e| e.into_inner()) =
                Arc::new(limiter_for(learned.0, learned.1));
        }
    }

    /// Learns the account's limit from a response's headers; resizes when it differs.
    pub fn observe(&self, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if number("x-hubspot-ratelimit-remaining") == Some(0)
            && let Some(max) = number("x-hubspot-ratelimit-max").filter(|m| *m > 0)
        {
            // Someone else (another app on the account) is using the window too: give it one
            // request's worth of time before sending more.
            let interval = number("x-hubspot-ratelimit-interval-milliseconds").unwrap_or(10_000);
            self.pause(Duration::from_millis(interval / max));
        }
        let (Some(max), Some(interval)) = (
            number("x-hubspot-ratelimit-max"),
            number("x-hubspot-ratelimit-interval-milliseconds"),
        ) else {
            return;
        };
        if !plausible(max, interval) {
            tracing::debug!(
                max,
                interval_ms = interval,
                "rate-limit headers ignored: no HubSpot tier looks like this"
            );
            return;
        }
        let learned = (
            max.clamp(1, u64::from(u32::MAX)) as u32,
            Duration::from_millis(interval.max(1)),
        );
        let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        if *limit != learned {
            tracing::debug!(
                max = learned.0,
                interval_ms = interval,
                "rate limit learned from HubSpot's headers"
            );
            *limit = learned;
            *self.limiter.write().unwrap_or_else(|e| e.into_inner()) =
                Arc::new(limiter_for(learned.0, learned.1));
        }
    }

    /// Holds every request back for `wait` (after a 429), at most [`MAX_WAIT`].
    pub fn pause(&self, wait: Duration) {
        let wait = wait.min(MAX_WAIT);
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_headers_the_limit_grows_on_success_and_halves_on_429() {
        let pacer = Pacer::default();
        let none = HeaderMap::new();
        for _ in 0..10 {
            pacer.observe_answer(200, &none);
        }
        assert_eq!(
            pacer.limit().0,
            200,
            "a tenth of a window of successes doubles it"
        );
        pacer.observe_answer(429, &none);
        assert_eq!(pacer.limit().0, 100, "a 429 halves it");
        for _ in 0..10 {
            pacer.observe_answer(200, &none);
        }
        assert_eq!(pacer.limit().0, 125, "after a 429 it grows by a quarter");
        for _ in 0..100_000 {
            pacer.observe_answer(200, &none);
        }
        assert_eq!(pacer.limit().0, ADAPTIVE_MAX, "bounded");
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-max", "190".parse().unwrap());
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        pacer.observe_answer(200, &h);
        assert_eq!(pacer.limit().0, 190, "headers win");
        pacer.observe_answer(429, &none);
        assert_eq!(
            pacer.limit().0,
            190,
            "and adaptation stops once they are seen"
        );
    }

    #[tokio::test]
    async fn never_lets_more_than_the_limit_through_in_one_window() {
        let pacer = Pacer::new(20, Duration::from_millis(400));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..40 {
            pacer.ready().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_millis(400))
                .count();
            assert!(
                in_window < 20,
                "{in_window} requests within one window starting at {t:?}"
            );
        }
    }

    #[test]
    fn learns_the_limit_from_headers() {
        let pacer = Pacer::default();
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-max", "190".parse().unwrap());
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        pacer.observe(&h);
        assert_eq!(pacer.limit(), (190, Duration::from_secs(10)));
    }
}
