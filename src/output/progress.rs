//! Progress while a run goes on, and Singer METRIC lines.
//!
//! On a terminal, an indicatif bar: records read and settled, records/s, time spent waiting
//! on the rate limit and, for `--input FILE`, the share of bytes read with an ETA. Elsewhere,
//! a progress log line 5 s after the start and then every 15 s. METRIC lines, as the Meltano
//! SDK writes them (`METRIC: {"type": "counter", "metric": "record_count", …}`), at least
//! once a minute and at the end: records read per stream since the last ones, and request
//! durations per endpoint and status.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// When the first progress line is logged (without a terminal).
pub const FIRST_PROGRESS: Duration = Duration::from_secs(5);
/// How often progress lines follow.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(15);
/// How often METRIC lines are written.
pub const METRICS_EVERY: Duration = Duration::from_secs(60);
/// How often the run loop calls [`Progress::tick`].
pub const TICK: Duration = Duration::from_millis(500);

/// The counts a progress report shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Records read.
    pub read: u64,
    /// Records written to HubSpot.
    pub loaded: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Records read and not yet settled.
    pub waiting: u64,
    /// Time requests spent waiting on the rate limit.
    pub rate_wait: Duration,
    /// Records read per stream.
    pub read_by_stream: BTreeMap<String, u64>,
}

/// Request durations: `(endpoint, status)` → `(count, total seconds)`.
pub type Timings = BTreeMap<(String, u16), (u64, f64)>;

/// Progress and metrics of one run.
pub struct Progress {
    started: Instant,
    bar: Option<ProgressBar>,
    total_bytes: Option<u64>,
    bytes_read: Arc<AtomicU64>,
    next_line: Instant,
    next_metrics: Instant,
    counted: HashMap<String, u64>,
}

impl Progress {
    /// Progress for a run reading `total_bytes` (when known) counted by `bytes_read`; a bar
    /// when `terminal`.
    pub fn new(total_bytes: Option<u64>, bytes_read: Arc<AtomicU64>, terminal: bool) -> Self {
        let started = Instant::now();
        let bar = terminal.then(|| {
            let bar = match total_bytes {
                Some(total) => ProgressBar::with_draw_target(
                    Some(total),
                    ProgressDrawTarget::stderr_with_hz(4),
                ),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4)),
            };
            let template = if total_bytes.is_some() {
                "{bar:30} {percent:>3}% of input, ETA {eta} | {msg}"
            } else {
                "{spinner} {elapsed} | {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            started,
            bar,
            total_bytes,
            bytes_read,
            next_line: started + FIRST_PROGRESS,
            next_metrics: started + METRICS_EVERY,
            counted: HashMap::new(),
        }
    }

    /// The share of the input read, when its size is known.
    fn share_read(&self) -> Option<f64> {
        let total = self.total_bytes.filter(|t| *t > 0)?;
        Some((self.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).min(1.0))
    }

    /// Updates the bar, and logs a progress line and METRIC lines when they are due.
    pub fn tick(&mut self, snapshot: &Snapshot, timings: impl FnOnce() -> Timings) {
        let now = Instant::now();
        let elapsed = now - self.started;
        if let Some(bar) = &self.bar {
            if self.total_bytes.is_some() {
                bar.set_position(self.bytes_read.load(Ordering::Relaxed));
            }
            bar.set_message(counts(snapshot, elapsed));
        } else if now >= self.next_line {
            self.next_line = now + PROGRESS_EVERY;
            tracing::info!("{}", progress_line(snapshot, elapsed, self.share_read()));
        }
        if now >= self.next_metrics {
            self.next_metrics = now + METRICS_EVERY;
            self.metrics(snapshot, timings());
        }
    }

    /// Clears the bar and writes the last METRIC lines.
    pub fn finish(&mut self, snapshot: &Snapshot, timings: Timings) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.metrics(snapshot, timings);
    }

    fn metrics(&mut self, snapshot: &Snapshot, timings: Timings) {
        for (stream, read) in &snapshot.read_by_stream {
            let before = self.counted.insert(stream.clone(), *read).unwrap_or(0);
            tracing::info!(
                "{}",
                metric_line(
                    "counter",
                    "record_count",
                    json!(read - before),
                    json!({"stream": stream})
                )
            );
        }
        for ((endpoint, status), (count, total)) in timings {
            let outcome = if (200..300).contains(&status) {
                "succeeded"
            } else {
                "failed"
            };
            tracing::info!(
                "{}",
                metric_line(
                    "timer",
                    "http_request_duration",
                    json!(total / count.max(1) as f64),
                    json!({"endpoint": endpoint, "http_status_code": status, "status": outcome, "count": count}),
                )
            );
        }
    }
}

/// `METRIC: {…}` as the Meltano SDK writes it.
pub fn metric_line(
    kind: &str,
    metric: &str,
    value: serde_json::Value,
    tags: serde_json::Value,
) -> String {
    format!(
        "METRIC: {}",
        json!({"type": kind, "metric": metric, "value": value, "tags": tags})
    )
}

fn rate(snapshot: &Snapshot, elapsed: Duration) -> f64 {
    (snapshot.loaded + snapshot.rejected) as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn counts(snapshot: &Snapshot, elapsed: Duration) -> String {
    format!(
        "{} read, {} upserted, {} rejected, {} in flight or waiting; {:.0} records/s; {:.1} s spent by requests waiting on the rate limit",
        snapshot.read,
        snapshot.loaded,
        snapshot.rejected,
        snapshot.waiting,
        rate(snapshot, elapsed),
        snapshot.rate_wait.as_secs_f64()
    )
}

/// The progress log line.
pub fn progress_line(snapshot: &Snapshot, elapsed: Duration, share_read: Option<f64>) -> String {
    let mut line = format!("progress: {}", counts(snapshot, elapsed));
    if let Some(share) = share_read {
        line.push_str(&format!("; {:.0}% of the input read", share * 100.0));
        if share > 0.0 && share < 1.0 {
            let eta = elapsed.as_secs_f64() * (1.0 - share) / share;
            line.push_str(&format!(", about {eta:.0} s to go"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_metric_lines_are_pinned() {
        let snapshot = Snapshot {
            read: 1200,
            loaded: 1000,
            rejected: 3,
            waiting: 197,
            rate_wait: Duration::from_millis(2100),
            read_by_stream: BTreeMap::new(),
        };
        insta::assert_snapshot!(
            progress_line(&snapshot, Duration::from_secs(10), Some(0.25)),
            @"progress: 1200 read, 1000 upserted, 3 rejected, 197 in flight or waiting; 100 records/s; 2.1 s spent by requests waiting on the rate limit; 25% of the input read, about 30 s to go"
        );
        insta::assert_snapshot!(
            progress_line(&snapshot, Duration::from_secs(10), None),
            @"progress: 1200 read, 1000 upserted, 3 rejected, 197 in flight or waiting; 100 records/s; 2.1 s spent by requests waiting on the rate limit"
        );
        insta::assert_snapshot!(
            metric_line("counter", "record_count", json!(6), json!({"stream": "contacts"})),
            @r#"METRIC: {"type":"counter","metric":"record_count","value":6,"tags":{"stream":"contacts"}}"#
        );
    }
}
