//! Retries, apart from sending: what an answer calls for ([`classify`], pure), and the
//! [`Policy`] that owns one request's retries, rate-limit waits and time budget. Every delay
//! it gives is capped; its clock is tokio's, so tests run it on paused time.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use bytes::Bytes;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::http::Reply;
use super::pacer::MAX_WAIT;
use super::wire::ErrorBody;
use crate::error::FatalError;
use crate::shutdown::Shutdown;

/// How many 429s in a row one request waits out before its records are given up.
pub const MAX_RATE_LIMIT_WAITS: u32 = 30;
/// HubSpot's advice for 423 Locked: wait at least 2 seconds.
pub const LOCKED_WAIT: Duration = Duration::from_secs(2);
/// The shortest and longest backoff between attempts after a transient failure.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(30));

/// What one attempt of a request calls for.
#[derive(Debug)]
pub enum Step {
    /// A final answer for the caller (2xx, or a 4xx that is about the inputs).
    Answer(Reply),
    /// The run must stop.
    Fatal(FatalError),
    /// `EXPIRED_AUTHENTICATION` with HubSpot's message: refresh the OAuth token and try again.
    Expired(String),
    /// A 429 that is not the daily limit; `wait` is `Retry-After` when HubSpot sent one.
    RateLimited {
        /// `Retry-After`, capped.
        wait: Option<Duration>,
        /// What HubSpot said.
        reason: String,
        /// Its correlation id.
        correlation_id: Option<String>,
    },
    /// A transient failure: retry after backoff (at least `at_least`, or `Retry-After`).
    Retry {
        /// What went wrong.
        reason: String,
        /// The status, when an answer came.
        http_status: Option<u16>,
        /// Its correlation id.
        correlation_id: Option<String>,
        /// The least wait before the next attempt.
        at_least: Duration,
        /// `Retry-After`, capped.
        retry_after: Option<Duration>,
    },
}

impl Step {
    /// A failure before or while the answer came (no connection, a body cut off or too large).
    pub fn transport(
        reason: String,
        http_status: Option<u16>,
        correlation_id: Option<String>,
    ) -> Self {
        Self::Retry {
            reason,
            http_status,
            correlation_id,
            at_least: Duration::ZERO,
            retry_after: None,
        }
    }

    /// The HTTP status it stands for, for request timings (0: none).
    pub fn status(&self) -> u16 {
        match self {
            Self::Answer(reply) => reply.status,
            Self::RateLimited { .. } => 429,
            Self::Retry { http_status, .. } => http_status.unwrap_or(0),
            Self::Expired(_) => 401,
            Self::Fatal(_) => 0,
        }
    }
}

/// `Retry-After` in seconds, capped at [`MAX_WAIT`] whatever the server says.
pub fn retry_after(header: Option<&str>) -> Option<Duration> {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_WAIT))
}

/// What an answer with `status` and `body` calls for, for a request about `object_type`.
pub fn classify(
    status: StatusCode,
    body: Bytes,
    retry_after: Option<Duration>,
    correlation_id: Option<String>,
    object_type: &str,
) -> Step {
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let err = ErrorBody::parse(&body);
            if err.policy_name.as_deref() == Some("DAILY") {
                return Step::Fatal(FatalError::DailyLimit {
                    message: err.message.unwrap_or_else(|| "429 DAILY".into()),
                });
            }
            Step::RateLimited {
                wait: retry_after,
                reason: format!("429 {}", err.message.unwrap_or_default()),
                correlation_id,
            }
        }
        StatusCode::UNAUTHORIZED => {
            let err = ErrorBody::parse(&body);
            let message = err.message.unwrap_or_else(|| "401 Unauthorized".into());
            if err.category.as_deref() == Some("EXPIRED_AUTHENTICATION") {
                return Step::Expired(message);
            }
            Step::Fatal(FatalError::Unauthorized {
                object_type: Some(object_type.to_string()),
                message,
            })
        }
        StatusCode::FORBIDDEN => {
            let err = ErrorBody::parse(&body);
            Step::Fatal(FatalError::Forbidden {
                object_type: Some(object_type.to_string()),
                missing_scopes: err.required_scopes(),
                message: err.message.unwrap_or_else(|| "403 Forbidden".into()),
            })
        }
        StatusCode::LOCKED => Step::Retry {
            reason: "423 Locked".into(),
            http_status: Some(423),
            correlation_id,
            at_least: LOCKED_WAIT,
            retry_after: None,
        },
        s if s.is_server_error() || s.as_u16() == 477 => Step::Retry {
            reason: format!("HTTP {s}"),
            http_status: Some(s.as_u16()),
            correlation_id,
            at_least: Duration::ZERO,
            retry_after,
        },
        s => Step::Answer(Reply {
            status: s.as_u16(),
            body,
            correlation_id,
            attempts: 0,
        }),
    }
}

/// Sleeps `delay`, or less when the run is stopped ([`FatalError::Interrupted`]).
pub async fn wait(delay: Duration, shutdown: &Shutdown) -> Result<(), FatalError> {
    tokio::select! {
        biased;
        () = shutdown.stopped() => Err(FatalError::Interrupted),
        () = tokio::time::sleep(delay) => Ok(()),
    }
}

/// What comes after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    After(Duration),
    /// Give the request up, for this reason.
    GiveUp(String),
}

/// One request's retries: a backoff for transient failures (at most `max_retries`), a count
/// of the 429s it waited out, and a time budget every wait must fit in.
#[derive(Debug)]
pub struct Policy {
    backoff: ExponentialBackoff,
    started: Instant,
    budget: Duration,
    rate_waits: u32,
}

impl Policy {
    /// A policy starting now.
    pub fn new(max_retries: u32, budget: Duration) -> Self {
        Self {
            backoff: ExponentialBuilder::default()
                .with_min_delay(BACKOFF.0)
                .with_max_delay(BACKOFF.1)
                .with_jitter()
                .with_max_times(max_retries as usize)
                .build(),
            started: Instant::now(),
            budget,
            rate_waits: 0,
        }
    }

    /// After a 429: `Retry-After` when HubSpot sent one; without it (the pacer already
    /// counts the window as full) a wait doubling from one request's share of the window
    /// (`limit`: requests per window) up to the whole window. Given up after
    /// [`MAX_RATE_LIMIT_WAITS`] in a row or past the budget.
    pub fn rate_limited(
        &mut self,
        retry_after: Option<Duration>,
        limit: (u32, Duration),
        reason: &str,
    ) -> Next {
        self.rate_waits += 1;
        if self.rate_waits > MAX_RATE_LIMIT_WAITS {
            return Next::GiveUp(reason.to_string());
        }
        let (max, window) = limit;
        let share = window / max.max(1);
        let wait = retry_after.unwrap_or_else(|| {
            share
                .saturating_mul(1 << (self.rate_waits - 1).min(16))
                .min(window)
        });
        self.within_budget(wait, reason)
    }

    /// After a transient failure: the next backoff delay (or `Retry-After`), at least
    /// `at_least`; given up once the retries or the budget are spent.
    pub fn failed(
        &mut self,
        at_least: Duration,
        retry_after: Option<Duration>,
        reason: &str,
    ) -> Next {
        match self.backoff.next() {
            Some(delay) => self.within_budget(retry_after.unwrap_or(delay).max(at_least), reason),
            None => Next::GiveUp(reason.to_string()),
        }
    }

    fn within_budget(&self, wait: Duration, reason: &str) -> Next {
        if self.started.elapsed() + wait > self.budget {
            Next::GiveUp(format!(
                "retry_budget_s ({} s) spent; last failure: {reason}",
                self.budget.as_secs()
            ))
        } else {
            Next::After(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: (u32, Duration) = (190, Duration::from_secs(10));

    fn body(json: &str) -> Bytes {
        Bytes::from(json.to_string())
    }

    #[test]
    fn answers_are_classified_by_status_and_hubspots_body() {
        let step = classify(
            StatusCode::TOO_MANY_REQUESTS,
            body(r#"{"message":"You have reached your daily limit.","policyName":"DAILY"}"#),
            None,
            None,
            "contacts",
        );
        assert!(matches!(step, Step::Fatal(FatalError::DailyLimit { .. })));
        let step = classify(
            StatusCode::TOO_MANY_REQUESTS,
            body(r#"{"message":"ten secondly rolling","policyName":"TEN_SECONDLY_ROLLING"}"#),
            Some(Duration::from_secs(1)),
            Some("c-1".into()),
            "contacts",
        );
        assert!(
            matches!(&step, Step::RateLimited { wait: Some(w), reason, .. } if *w == Duration::from_secs(1) && reason == "429 ten secondly rolling"),
            "{step:?}"
        );
        let expired = classify(
            StatusCode::UNAUTHORIZED,
            body(r#"{"category":"EXPIRED_AUTHENTICATION","message":"expired"}"#),
            None,
            None,
            "contacts",
        );
        assert!(matches!(expired, Step::Expired(m) if m == "expired"));
        let locked = classify(StatusCode::LOCKED, body("{}"), None, None, "contacts");
        assert!(matches!(locked, Step::Retry { at_least, .. } if at_least == LOCKED_WAIT));
        let answer = classify(StatusCode::MULTI_STATUS, body("{}"), None, None, "contacts");
        assert_eq!(answer.status(), 207);
        assert_eq!(retry_after(Some(" 999999999 ")), Some(MAX_WAIT));
        assert_eq!(retry_after(Some("soon")), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_waits_retry_after_or_a_doubling_share_of_the_window() {
        let mut p = Policy::new(5, Duration::from_secs(600));
        let share = Duration::from_millis(52); // 10 s / 190, rounded down by Duration
        assert_eq!(
            p.rate_limited(Some(Duration::from_secs(3)), WINDOW, "429"),
            Next::After(Duration::from_secs(3))
        );
        // The second 429 in a row, without Retry-After: twice one request's share.
        let Next::After(wait) = p.rate_limited(None, WINDOW, "429") else {
            panic!("a wait expected")
        };
        assert!(wait >= share * 2 && wait < share * 3, "{wait:?}");
        for _ in 2..MAX_RATE_LIMIT_WAITS {
            let Next::After(wait) = p.rate_limited(None, WINDOW, "429") else {
                panic!("a wait expected")
            };
            assert!(wait <= WINDOW.1, "never more than the window: {wait:?}");
        }
        assert_eq!(
            p.rate_limited(None, WINDOW, "429 again"),
            Next::GiveUp("429 again".into())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_back_off_within_bounds_then_give_up() {
        let mut p = Policy::new(3, Duration::from_secs(600));
        for _ in 0..3 {
            let Next::After(d) = p.failed(Duration::ZERO, None, "HTTP 502") else {
                panic!("a retry expected")
            };
            assert!(d >= BACKOFF.0 && d <= BACKOFF.1 * 2, "{d:?}");
        }
        assert_eq!(
            p.failed(Duration::ZERO, None, "HTTP 502"),
            Next::GiveUp("HTTP 502".into())
        );
        let mut p = Policy::new(3, Duration::from_secs(600));
        let Next::After(d) = p.failed(LOCKED_WAIT, None, "423 Locked") else {
            panic!("a retry expected")
        };
        assert!(d >= LOCKED_WAIT, "HubSpot's advice for 423 is kept: {d:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_counts_time_passed_and_the_wait_ahead() {
        let mut p = Policy::new(10, Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(
            p.failed(Duration::ZERO, Some(Duration::from_secs(5)), "HTTP 503"),
            Next::After(Duration::from_secs(5))
        );
        tokio::time::advance(Duration::from_secs(8)).await;
        assert_eq!(
            p.failed(Duration::ZERO, Some(Duration::from_secs(5)), "HTTP 503"),
            Next::GiveUp("retry_budget_s (60 s) spent; last failure: HTTP 503".into())
        );
        assert!(matches!(
            p.rate_limited(Some(Duration::from_secs(3)), WINDOW, "429"),
            Next::GiveUp(r) if r.starts_with("retry_budget_s (60 s) spent")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_ends_a_wait_at_once() {
        let shutdown = Shutdown::new();
        let started = Instant::now();
        let waiting = wait(Duration::from_secs(30), &shutdown);
        let signal = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            shutdown.signal();
        };
        let (result, ()) = tokio::join!(waiting, signal);
        assert!(matches!(result, Err(FatalError::Interrupted)));
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert!(wait(Duration::from_secs(5), &Shutdown::new()).await.is_ok());
    }
}
