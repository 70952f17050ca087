//! Progress while a run goes on, and Singer METRIC lines.
//!
//! On a terminal, one line kept to the terminal's width: records read and settled,
//! records/s, the wall-clock time requests waited on the rate limit and, for `--input FILE`,
//! an ETA from the records settled (the input's total estimated from the share of bytes
//! read). Log lines are printed above it ([`LogWriter`]). Elsewhere, a progress log line 5 s
//! after the start and then every 15 s. METRIC lines, as the Meltano SDK writes them
//! (`METRIC: {"type": "counter", "metric": "record_count", …}`), at least once a minute and
//! at the end, to the log: records read per stream since the last ones, and request
//! durations per endpoint and status.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Wall-clock time during which requests waited on the rate limit.
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
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            // `wide_msg` is cut to the terminal's width: the line never wraps, so redraws
            // leave no stale copies.
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}") {
                bar.set_style(style);
            }
            if let Ok(mut active) = ACTIVE_BAR.lock() {
                *active = Some(bar.clone());
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
            bar.set_message(bar_message(snapshot, elapsed, self.share_read()));
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
            if let Ok(mut active) = ACTIVE_BAR.lock() {
                *active = None;
            }
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

/// The bar on the terminal, while there is one: log lines are printed above it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Where log lines go: stderr, above the progress bar when one is shown (so neither a log
/// line nor a METRIC line is drawn over it).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Records settled (written, skipped, unchanged or rejected) per second.
fn rate(snapshot: &Snapshot, elapsed: Duration) -> f64 {
    settled(snapshot) as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn settled(snapshot: &Snapshot) -> u64 {
    snapshot.loaded + snapshot.rejected
}

/// Seconds until every record is settled, from the rate records settle at and the input's
/// total estimated from the share of it read; `None` while there is nothing to go by.
fn eta(snapshot: &Snapshot, elapsed: Duration, share_read: Option<f64>) -> Option<f64> {
    let share = share_read.filter(|s| *s > 0.0)?;
    let total = (snapshot.read as f64 / share).max(snapshot.read as f64);
    let rate = rate(snapshot, elapsed);
    (rate > 0.0).then(|| (total - settled(snapshot) as f64).max(0.0) / rate)
}

fn counts(snapshot: &Snapshot, elapsed: Duration) -> String {
    format!(
        "{} read, {} upserted, {} rejected, {} in flight or waiting; {:.0} records/s; requests waited {:.1} s on the rate limit",
        snapshot.read,
        snapshot.loaded,
        snapshot.rejected,
        snapshot.waiting,
        rate(snapshot, elapsed),
        snapshot.rate_wait.as_secs_f64()
    )
}

/// The bar's message: short enough for an 80-column terminal even on a run of millions
/// (numbers and times in short forms), and cut to the terminal's width otherwise.
pub fn bar_message(snapshot: &Snapshot, elapsed: Duration, share_read: Option<f64>) -> String {
    let mut line = format!(
        "{} read, {} done, {} rej., {:.0}/s",
        short_count(snapshot.read),
        short_count(settled(snapshot)),
        short_count(snapshot.rejected),
        rate(snapshot, elapsed),
    );
    if snapshot.rate_wait >= Duration::from_secs(1) {
        line.push_str(&format!(
            ", throttled {}",
            short_secs(snapshot.rate_wait.as_secs_f64())
        ));
    }
    if let Some(eta) = eta(snapshot, elapsed, share_read) {
        line.push_str(&format!(", ETA {}", short_secs(eta)));
    }
    line
}

/// `1234` → `1234`, `12345` → `12.3k`, `12345678` → `12.3M`.
fn short_count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `42` → `42s`, `4321` → `72m`, `9000` → `2.5h`.
fn short_secs(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0}s")
    } else if secs < 7_200.0 {
        format!("{:.0}m", secs / 60.0)
    } else {
        format!("{:.1}h", secs / 3_600.0)
    }
}

/// The progress log line.
pub fn progress_line(snapshot: &Snapshot, elapsed: Duration, share_read: Option<f64>) -> String {
    let mut line = format!("progress: {}", counts(snapshot, elapsed));
    if let Some(share) = share_read {
        line.push_str(&format!("; {:.0}% of the input read", share * 100.0));
        if let Some(eta) = eta(snapshot, elapsed, share_read)
            && eta >= 0.5
        {
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
        // A quarter of the input read, 1,003 records settled in 10 s: ~4,800 records in all,
        // ~38 s to go.
        insta::assert_snapshot!(
            progress_line(&snapshot, Duration::from_secs(10), Some(0.25)),
            @"progress: 1200 read, 1000 upserted, 3 rejected, 197 in flight or waiting; 100 records/s; requests waited 2.1 s on the rate limit; 25% of the input read, about 38 s to go"
        );
        insta::assert_snapshot!(
            progress_line(&snapshot, Duration::from_secs(10), None),
            @"progress: 1200 read, 1000 upserted, 3 rejected, 197 in flight or waiting; 100 records/s; requests waited 2.1 s on the rate limit"
        );
        insta::assert_snapshot!(
            metric_line("counter", "record_count", json!(6), json!({"stream": "contacts"})),
            @r#"METRIC: {"type":"counter","metric":"record_count","value":6,"tags":{"stream":"contacts"}}"#
        );
    }

    #[test]
    fn the_eta_follows_records_settled_not_records_read() {
        // Every record read, a fifth of them settled after 10 s: 40 s to go, not 0.
        let snapshot = Snapshot {
            read: 10_000,
            loaded: 1_990,
            rejected: 10,
            waiting: 8_000,
            ..Snapshot::default()
        };
        insta::assert_snapshot!(
            bar_message(&snapshot, Duration::from_secs(10), Some(1.0)),
            @"10.0k read, 2000 done, 10 rej., 200/s, ETA 40s"
        );
        let done = Snapshot {
            loaded: 9_990,
            waiting: 0,
            ..snapshot
        };
        assert!(!progress_line(&done, Duration::from_secs(10), Some(1.0)).contains("to go"));
    }

    #[test]
    fn the_bar_fits_an_80_column_terminal_on_a_large_run() {
        let snapshot = Snapshot {
            read: 12_345_678,
            loaded: 12_000_000,
            rejected: 123_456,
            waiting: 222_222,
            rate_wait: Duration::from_secs(4_321),
            read_by_stream: BTreeMap::new(),
        };
        let line = bar_message(&snapshot, Duration::from_secs(3_600), Some(0.9));
        // `{spinner} {elapsed} ` takes 10 columns before the message.
        assert!(line.chars().count() <= 70, "{line}");
    }
}
