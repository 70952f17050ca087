//! One shutdown signal for the whole run, handed to every wait.
//!
//! A signal *stops* the run at once: no more input is read and every wait for a slot, the
//! rate limit, a retry, a token or HubSpot's search index ends. Requests already on the wire
//! and ledger operations get [`GRACE`] to finish (so what HubSpot acknowledged is settled and
//! written down), then they are *abandoned* too. So the process ends within the grace and a
//! few seconds, whatever the server, the ledger or the reader of stdout does.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// After a signal, how long requests on the wire and ledger operations may finish.
pub const GRACE: Duration = Duration::from_secs(10);

/// The run's shutdown: `stop` at the signal, `abandon` [`GRACE`] later.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    stop: CancellationToken,
    abandon: CancellationToken,
}

impl Shutdown {
    /// A shutdown nothing has signalled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Signals it: every wait stops now, work on the wire is abandoned after [`GRACE`].
    pub fn signal(&self) {
        if self.stop.is_cancelled() {
            return;
        }
        self.stop.cancel();
        let abandon = self.abandon.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            abandon.cancel();
        });
    }

    /// Stops the run and abandons work on the wire now, without the grace (a second signal).
    pub fn abandon_now(&self) {
        self.stop.cancel();
        self.abandon.cancel();
    }

    /// Resolves once the run is stopped.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Whether the run was stopped.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once work on the wire is abandoned ([`GRACE`] after the signal).
    pub async fn abandoned(&self) {
        self.abandon.cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_signal_stops_at_once_and_abandons_after_the_grace() {
        let s = Shutdown::new();
        assert!(!s.is_stopped());
        s.signal();
        s.stopped().await;
        let started = tokio::time::Instant::now();
        s.abandoned().await;
        assert_eq!(started.elapsed(), GRACE);
        s.signal();
        assert!(s.is_stopped());
    }

    #[tokio::test(start_paused = true)]
    async fn abandoning_now_skips_the_grace() {
        let s = Shutdown::new();
        s.signal();
        let started = tokio::time::Instant::now();
        s.abandon_now();
        s.abandoned().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
