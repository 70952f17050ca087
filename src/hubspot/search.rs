//! The search API's own limit: HubSpot allows a token a few searches a second (4 by its
//! changelog, 5 by later notes) apart from the rolling window, and sends no rate-limit headers
//! on search answers. Searches go through this pacer instead of the window's.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Searches a second this target sends at most: HubSpot's lower published figure.
pub const SEARCHES_PER_SECOND: u32 = 4;

/// Spaces searches evenly, [`SEARCHES_PER_SECOND`] a second.
#[derive(Debug)]
pub struct SearchPacer {
    next: Mutex<Instant>,
}

impl Default for SearchPacer {
    fn default() -> Self {
        Self {
            next: Mutex::new(Instant::now()),
        }
    }
}

impl SearchPacer {
    const SPACING: Duration = Duration::from_millis(1000 / SEARCHES_PER_SECOND as u64);

    /// Waits for the next search's turn; returns when it may be sent.
    pub async fn ready(&self) -> std::time::Instant {
        let mut next = self.next.lock().await;
        tokio::time::sleep_until(*next).await;
        let sent = Instant::now();
        *next = sent + Self::SPACING;
        sent.into_std()
    }

    /// After a 429 on search: no search before `wait` has passed (bounded by the caller).
    pub async fn pause(&self, wait: Duration) {
        let mut next = self.next.lock().await;
        *next = (*next).max(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn searches_are_spaced_by_a_quarter_second() {
        let pacer = SearchPacer::default();
        let start = Instant::now();
        for _ in 0..5 {
            pacer.ready().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1000));
        pacer.pause(Duration::from_secs(2)).await;
        let before = Instant::now();
        pacer.ready().await;
        assert_eq!(before.elapsed(), Duration::from_secs(2));
    }
}
