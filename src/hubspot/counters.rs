//! What the client counts for progress and the summary: requests, retries, 429s, the
//! wall-clock time spent waiting for the rate limit, and request timings per endpoint.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Wall-clock time during which at least one of several concurrent waits was going on (the
/// union of their intervals, not their sum).
#[derive(Debug, Default)]
pub struct WaitClock {
    inner: std::sync::Mutex<WaitClockInner>,
}

#[derive(Debug, Default)]
struct WaitClockInner {
    waiting: usize,
    since: Option<std::time::Instant>,
    total: Duration,
}

/// One wait, counted until dropped.
pub struct Waiting<'a>(&'a WaitClock);

impl WaitClock {
    fn lock(&self) -> std::sync::MutexGuard<'_, WaitClockInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a wait; it ends when the guard is dropped.
    pub fn start(&self) -> Waiting<'_> {
        let mut inner = self.lock();
        if inner.waiting == 0 {
            inner.since = Some(std::time::Instant::now());
        }
        inner.waiting += 1;
        Waiting(self)
    }

    /// The time so far during which anything waited.
    pub fn total(&self) -> Duration {
        let inner = self.lock();
        inner.total + inner.since.map(|s| s.elapsed()).unwrap_or_default()
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.waiting = inner.waiting.saturating_sub(1);
        if inner.waiting == 0
            && let Some(since) = inner.since.take()
        {
            inner.total += since.elapsed();
        }
    }
}

/// Request counters for the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// HTTP requests sent.
    pub requests: AtomicU64,
    /// Requests repeated after a retryable failure.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
    /// Wall-clock time during which at least one request waited for the pacer (the rate
    /// limit).
    pub rate_wait: WaitClock,
    /// Request durations since they were last taken: `(endpoint, HTTP status or 0)` →
    /// `(count, total seconds)`.
    timings: std::sync::Mutex<std::collections::BTreeMap<(String, u16), (u64, f64)>>,
}

impl Counters {
    pub(super) fn time(&self, endpoint: String, status: u16, elapsed: Duration) {
        if let Ok(mut t) = self.timings.lock() {
            let e = t.entry((endpoint, status)).or_default();
            e.0 += 1;
            e.1 += elapsed.as_secs_f64();
        }
    }

    /// The request durations recorded since the last call, emptied.
    pub fn take_timings(&self) -> std::collections::BTreeMap<(String, u16), (u64, f64)> {
        self.timings
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }
}
