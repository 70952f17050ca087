//! One pacer shared by every request: the account's rolling window counted exactly (a sliding
//! log of sends, with a margin of one request), HubSpot's secondly limit where it is sent,
//! other users of the account estimated from `X-HubSpot-RateLimit-Remaining`, a shared pause
//! after a 429 that names a wait, and adaptive pacing when no rate-limit headers come back.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// The limit assumed before HubSpot has told us: the lowest tier's 100 per 10 s.
pub const ASSUMED_LIMIT: (u32, Duration) = (100, Duration::from_secs(10));

/// Requests of each window left unused, so that a send counted here a moment before HubSpot
/// counts it can never be the one over the limit.
pub const MARGIN: u32 = 1;

/// How much longer than the window a send is remembered at first: HubSpot counts a request
/// when it arrives, a moment after the pacer lets it go (more on a fresh connection), and its
/// count must have expired there before ours frees the slot. \[INFERENCE\] measured at
/// 1–3 ms on loopback under load. Each sign that HubSpot still counted a request our log had
/// let go (it counted one or two more than ours) doubles it, up to a hundredth of the window.
pub const EXPIRY_PAD: Duration = Duration::from_millis(5);

/// Requests HubSpot may count beyond ours that are taken for skew (the pad too short), not
/// only for another user.
const SKEW: usize = 2;

/// The most requests by others the pacer keeps in mind per window (four times the highest
/// adaptive limit): a lying `Remaining` cannot fill memory.
const MAX_OTHERS: usize = 4 * ADAPTIVE_MAX as usize;

/// The longest single wait the server can ask for (Retry-After, a learned interval).
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The highest limit adaptive pacing reaches per window: ten times HubSpot's highest tier.
pub const ADAPTIVE_MAX: u32 = 2_500;

/// Whether rate-limit headers describe a limit HubSpot publishes: windows of 1 to 60 s
/// (10 s rolling, 1 s secondly, the daily limit is not sent this way) and at most 10 s between
/// requests. Anything else (`Max: 1` per 31 years) is a broken proxy or server, not a limit.
/// \[INFERENCE\] HubSpot's tiers are 100, 110, 190 and 250 per 10 s and 10-ish per second.
pub fn plausible(max: u64, interval_ms: u64) -> bool {
    (1_000..=60_000).contains(&interval_ms) && max >= 1 && interval_ms / max <= 10_000
}

/// Requests of others in one window from which we keep to half of it: fewer are a light
/// user, who is simply left its share, or the skew between when we let a request go and
/// when HubSpot counts it (a request or two it still counts after our log let it go), which
/// must not halve a long run's throughput (it did: 70–80% of the ceiling over 200,000
/// contacts, where a short run reached 102%).
fn contender(budget: usize) -> usize {
    (budget / 10).max(3)
}

/// Who made a send in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    Ours,
    /// Another app or process on the account, as HubSpot's `Remaining` reveals it.
    Others,
}

/// Sends in a rolling window, oldest first, kept for two windows (so that what we had sent by
/// the time an answer's request was counted can still be looked up).
#[derive(Debug)]
struct Log {
    max: u32,
    window: Duration,
    sends: VecDeque<(Instant, Whose)>,
    /// How much longer than the window a send is remembered (see [`EXPIRY_PAD`]).
    pad: Duration,
}

impl Log {
    fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            sends: VecDeque::new(),
            pad: EXPIRY_PAD,
        }
    }

    /// Sends the window may hold.
    fn budget(&self) -> usize {
        self.max.saturating_sub(MARGIN).max(1) as usize
    }

    fn forget_before(&mut self, now: Instant) {
        let keep_from = now.checked_sub(self.window * 2).unwrap_or(now);
        while self.sends.front().is_some_and(|(t, _)| *t < keep_from) {
            self.sends.pop_front();
        }
    }

    /// Index of the first send inside the window (padded) that ends at `at`.
    fn window_start(&self, at: Instant) -> usize {
        let from = at.checked_sub(self.window + self.pad);
        self.sends
            .partition_point(|(t, _)| from.is_some_and(|f| *t <= f))
    }

    /// Sends by `whose` from the start of the window that ends at `from` up to `to`.
    fn count_between(&self, from: Instant, to: Instant, whose: Whose) -> usize {
        let end = self.sends.partition_point(|(t, _)| *t <= to);
        self.sends
            .range(self.window_start(from)..end)
            .filter(|(_, w)| *w == whose)
            .count()
    }

    /// The first moment from `now` when one more send fits in the window: fewer than the
    /// budget sent by anyone, and, while another user sends a [`contender`]'s share, fewer
    /// than half of it sent by us (two users each keeping to half never collide, and neither
    /// is starved).
    fn next_free(&self, now: Instant) -> Instant {
        let start = self.window_start(now);
        let in_window = self.sends.len() - start;
        let budget = self.budget();
        let mut free = now;
        if in_window >= budget {
            // The send that must leave the window first.
            free = self.sends[start + in_window - budget].0 + self.window + self.pad;
        }
        let ours = |(_, w): &&(Instant, Whose)| *w == Whose::Ours;
        let our_count = self.sends.range(start..).filter(ours).count();
        // Less one more each: two users sending at the same moment when their windows roll
        // over can each be a request ahead of HubSpot's count.
        let fair = (budget.saturating_sub(2) / 2).max(1);
        if in_window - our_count >= contender(budget)
            && our_count >= fair
            && let Some((t, _)) = self.sends.range(start..).rev().filter(ours).nth(fair - 1)
        {
            // Our send that must leave the window first.
            free = free.max(*t + self.window + self.pad);
        }
        free
    }

    fn record(&mut self, at: Instant) {
        self.sends.push_back((at, Whose::Ours));
    }

    /// Learns that HubSpot had counted `counted` requests in the window when it counted the
    /// one we sent at `sent`: what is not ours is someone else's. When they sent it is not
    /// known; it is taken to be `sent`, the latest it can have been, so that it is never
    /// forgotten before HubSpot forgets it.
    fn learn_count(&mut self, sent: Instant, counted: usize) {
        self.learn(sent, counted, false);
    }

    /// Learns from a 429 that HubSpot's window was full when it counted the request sent at
    /// `sent`. The requests not ours are spread over the window: slots come free at a steady
    /// pace, rather than all a whole window later.
    fn learn_full(&mut self, sent: Instant) {
        self.learn(sent, self.max as usize, true);
    }

    fn learn(&mut self, sent: Instant, counted: usize, spread: bool) {
        // Ours sent after it may have reached HubSpot first: they count as possibly counted,
        // so that a reordering on the way is never taken for someone else.
        let now = Instant::now().max(sent);
        let ours = self.count_between(sent, now, Whose::Ours);
        let known = self.count_between(sent, now, Whose::Others);
        // Bounded whatever the headers say: more than this in one window is no HubSpot tier.
        let missing = counted
            .saturating_sub(ours + known)
            .min(MAX_OTHERS.saturating_sub(known));
        if missing == 0 {
            return;
        }
        if missing <= SKEW {
            // Likely a request of ours HubSpot still counted after our log let it go.
            self.pad = (self.pad * 2).min((self.window / 100).max(EXPIRY_PAD));
        }
        tracing::debug!(
            counted,
            ours,
            missing,
            "HubSpot counted requests that are not ours: another user of the account"
        );
        let from = sent.checked_sub(self.window).filter(|_| spread);
        let step = self.window / (missing as u32 + 1);
        for i in 1..=missing as u32 {
            self.sends
                .push_back((from.map_or(sent, |f| f + step * i), Whose::Others));
        }
        // Stable: of sends at the same moment, those known first stay first.
        self.sends.make_contiguous().sort_by_key(|(t, _)| *t);
    }

    /// Resizes to `max` per `window`, keeping what was sent.
    fn resize(&mut self, max: u32, window: Duration) {
        self.max = max;
        self.window = window;
    }
}

/// Pacing when the answers carry no rate-limit headers (a proxy strips them), in the manner
/// of Vector's adaptive request concurrency: grow while answers succeed and latency holds,
/// back off multiplicatively on a 429 or when latency climbs.
#[derive(Debug, Default)]
struct Adaptive {
    /// Headers were seen: the limit is HubSpot's, never adapted.
    headers_seen: bool,
    /// 2xx answers since the limit last changed.
    successes: u32,
    /// A 429 has been seen: growth is by a quarter from then on, not by doubling.
    backed_off: bool,
    /// The lowest smoothed latency seen, and the smoothed latency now.
    baseline: Option<Duration>,
    smoothed: Option<Duration>,
}

/// Latency this many times the baseline means the server is queueing: back off.
const LATENCY_BACKOFF_FACTOR: u32 = 3;

impl Adaptive {
    /// Folds in one answer's latency; true when latency has climbed past the baseline.
    fn latency_climbed(&mut self, latency: Duration) -> bool {
        let smoothed = match self.smoothed {
            Some(s) => (s * 7 + latency) / 8,
            None => latency,
        };
        self.smoothed = Some(smoothed);
        let baseline = self.baseline.map_or(smoothed, |b| b.min(smoothed));
        self.baseline = Some(baseline);
        // Below 50 ms everything is noise on a fast link.
        smoothed > baseline * LATENCY_BACKOFF_FACTOR && smoothed > Duration::from_millis(50)
    }
}

#[derive(Debug)]
struct State {
    rolling: Log,
    /// HubSpot's secondly limit, once an answer has named it.
    secondly: Option<Log>,
    paused_until: Option<Instant>,
    adaptive: Adaptive,
}

/// Paces requests under HubSpot's limits.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(ASSUMED_LIMIT.0, ASSUMED_LIMIT.1)
    }
}

/// What an answer tells the pacer.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// HTTP status.
    pub status: u16,
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// When its request was let through (what [`Pacer::ready`] returned).
    pub sent: Instant,
    /// How long it took.
    pub latency: Duration,
}

impl Pacer {
    /// A pacer for `max` requests per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                rolling: Log::new(max, window),
                secondly: None,
                paused_until: None,
                adaptive: Adaptive::default(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rolling limit the pacer currently works to.
    pub fn limit(&self) -> (u32, Duration) {
        let s = self.state();
        (s.rolling.max, s.rolling.window)
    }

    /// Waits until a request may be sent, counts it as sent, and says when.
    pub async fn ready(&self) -> Instant {
        loop {
            let next = {
                let mut s = self.state();
                let now = Instant::now();
                s.rolling.forget_before(now);
                let mut next = s.rolling.next_free(now);
                if let Some(secondly) = &mut s.secondly {
                    secondly.forget_before(now);
                    next = next.max(secondly.next_free(now));
                }
                if let Some(until) = s.paused_until {
                    next = next.max(until);
                }
                if next <= now {
                    s.rolling.record(now);
                    if let Some(secondly) = &mut s.secondly {
                        secondly.record(now);
                    }
                    return now;
                }
                next
            };
            tokio::time::sleep_until(next.into()).await;
        }
    }

    /// Learns from one answer: the account's limits and how much of them others use, from
    /// the headers; without headers, adapts the limit (see `Adaptive`).
    pub fn observe_answer(&self, answer: Answer<'_>) {
        let h = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut s = self.state();
        let rolling = match (
            h("x-hubspot-ratelimit-max"),
            h("x-hubspot-ratelimit-interval-milliseconds"),
        ) {
            (Some(max), Some(ms)) if plausible(max, ms) => Some((max, ms)),
            (Some(max), Some(ms)) => {
                tracing::debug!(
                    max,
                    interval_ms = ms,
                    "rate-limit headers ignored: no HubSpot tier looks like this"
                );
                None
            }
            _ => None,
        };
        if answer.headers.contains_key("x-hubspot-ratelimit-max") {
            s.adaptive.headers_seen = true;
        }
        if let Some((max, ms)) = rolling {
            let learned = (
                max.min(u64::from(u32::MAX)) as u32,
                Duration::from_millis(ms),
            );
            if (s.rolling.max, s.rolling.window) != learned {
                tracing::debug!(
                    max = learned.0,
                    interval_ms = ms,
                    "rate limit learned from HubSpot's headers"
                );
                s.rolling.resize(learned.0, learned.1);
            }
            if let Some(remaining) = h("x-hubspot-ratelimit-remaining") {
                let counted = max.saturating_sub(remaining) as usize;
                s.rolling.learn_count(answer.sent, counted);
            }
        }
        if let Some(per_second) = h("x-hubspot-ratelimit-secondly").filter(|m| plausible(*m, 1_000))
        {
            let per_second = per_second.min(u64::from(u32::MAX)) as u32;
            let log = s
                .secondly
                .get_or_insert_with(|| Log::new(per_second, Duration::from_secs(1)));
            log.resize(per_second, Duration::from_secs(1));
            if let Some(remaining) = h("x-hubspot-ratelimit-secondly-remaining") {
                let counted = u64::from(per_second).saturating_sub(remaining) as usize;
                log.learn_count(answer.sent, counted);
            }
        }
        // A 429 with the second used up and the rolling window not is the secondly limit's
        // (its log has learned that from the headers above).
        let secondly_refusal = h("x-hubspot-ratelimit-secondly-remaining") == Some(0)
            && h("x-hubspot-ratelimit-remaining").is_some_and(|r| r > 0);
        if answer.status == 429 && !secondly_refusal {
            // The window is full as HubSpot counts it, whatever we thought.
            s.rolling.learn_full(answer.sent);
        }
        if !s.adaptive.headers_seen {
            adapt(&mut s, answer);
        }
    }

    /// Holds every request back for `wait` (a 429's `Retry-After`), at most [`MAX_WAIT`].
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_WAIT);
        let mut s = self.state();
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }
}

/// Adaptive pacing: each tenth of a window's worth of 2xx answers doubles the limit until the
/// first backoff, then raises it by a quarter (up to [`ADAPTIVE_MAX`]); a 429 halves it, and
/// latency climbing past [`LATENCY_BACKOFF_FACTOR`] × its baseline takes a quarter off.
fn adapt(s: &mut State, answer: Answer<'_>) {
    let (max, window) = (s.rolling.max, s.rolling.window);
    let a = &mut s.adaptive;
    let climbed = (200..300).contains(&answer.status) && a.latency_climbed(answer.latency);
    let resized = match answer.status {
        429 => {
            a.successes = 0;
            a.backed_off = true;
            Some((max / 2).max(1))
        }
        200..=299 if climbed => {
            a.successes += 1;
            (a.successes >= (max / 10).max(1)).then(|| {
                a.successes = 0;
                a.backed_off = true;
                (max - max / 4).max(1)
            })
        }
        200..=299 => {
            a.successes += 1;
            (a.successes >= (max / 10).max(1) && max < ADAPTIVE_MAX).then(|| {
                a.successes = 0;
                let grown = if a.backed_off { max + max / 4 } else { max * 2 };
                grown.min(ADAPTIVE_MAX)
            })
        }
        _ => None,
    };
    if let Some(max) = resized.filter(|m| *m != s.rolling.max) {
        tracing::debug!(
            max,
            "no rate-limit headers: adaptive limit now {max} per {window:?}"
        );
        s.rolling.resize(max, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn answer(status: u16, headers: &HeaderMap, latency_ms: u64) -> Answer<'_> {
        Answer {
            status,
            headers,
            sent: Instant::now(),
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[test]
    fn without_headers_the_limit_grows_on_success_and_halves_on_429() {
        let pacer = Pacer::default();
        let none = HeaderMap::new();
        for _ in 0..10 {
            pacer.observe_answer(answer(200, &none, 30));
        }
        assert_eq!(
            pacer.limit().0,
            200,
            "a tenth of a window of successes doubles it"
        );
        pacer.observe_answer(answer(429, &none, 30));
        assert_eq!(pacer.limit().0, 100, "a 429 halves it");
        for _ in 0..10 {
            pacer.observe_answer(answer(200, &none, 30));
        }
        assert_eq!(pacer.limit().0, 125, "after a 429 it grows by a quarter");
        for _ in 0..100_000 {
            pacer.observe_answer(answer(200, &none, 30));
        }
        assert_eq!(pacer.limit().0, ADAPTIVE_MAX, "bounded");
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "190"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
        ]);
        pacer.observe_answer(answer(200, &h, 30));
        assert_eq!(pacer.limit().0, 190, "headers win");
        pacer.observe_answer(answer(429, &none, 30));
        assert_eq!(
            pacer.limit().0,
            190,
            "and adaptation stops once they are seen"
        );
    }

    #[test]
    fn without_headers_climbing_latency_takes_a_quarter_off() {
        let pacer = Pacer::default();
        let none = HeaderMap::new();
        for _ in 0..10 {
            pacer.observe_answer(answer(200, &none, 30));
        }
        assert_eq!(pacer.limit().0, 200);
        for _ in 0..40 {
            pacer.observe_answer(answer(200, &none, 400));
        }
        assert!(pacer.limit().0 < 200, "{:?}", pacer.limit());
    }

    #[tokio::test]
    async fn bursts_what_the_window_allows_then_never_more_than_max_minus_one_in_any_window() {
        let window = Duration::from_millis(400);
        let pacer = Pacer::new(20, window);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..60 {
            times.push(pacer.ready().await - start);
        }
        assert!(
            times[18] < Duration::from_millis(20),
            "the first 19 go at once: {:?}",
            times[18]
        );
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().take_while(|u| **u < *t + window).count();
            assert!(
                in_window <= 19,
                "{in_window} requests within one window starting at {t:?}"
            );
        }
        // 60 sends at 19 per window: the last one goes out in the fourth window.
        assert!(times[59] < window * 3 + Duration::from_millis(100));
    }

    #[tokio::test]
    async fn what_others_use_of_the_window_is_left_to_them() {
        let window = Duration::from_millis(500);
        let pacer = Pacer::new(20, window);
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "20"),
            ("x-hubspot-ratelimit-interval-milliseconds", "1000"),
        ]);
        pacer.observe_answer(answer(200, &h, 1));
        assert_eq!(pacer.limit(), (20, Duration::from_secs(1)));
        let sent = pacer.ready().await;
        // HubSpot counted 13 requests with ours: 12 are someone else's.
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "20"),
            ("x-hubspot-ratelimit-interval-milliseconds", "1000"),
            ("x-hubspot-ratelimit-remaining", "7"),
        ]);
        for _ in 0..3 {
            // Learned once, not once per answer.
            pacer.observe_answer(Answer {
                sent,
                ..answer(200, &h, 1)
            });
        }
        let start = Instant::now();
        let mut at_once = 0;
        while pacer.ready().await - start < Duration::from_millis(20) {
            at_once += 1;
        }
        assert_eq!(at_once, 6, "19 - 1 ours - 12 others");
    }

    /// Requests a 20-per-second pacer lets go at once, counting the first, after HubSpot
    /// answered that first one with `remaining` left in the window.
    async fn burst_after_first_answered(remaining: &str) -> usize {
        let pacer = Pacer::new(20, Duration::from_secs(1));
        let sent = pacer.ready().await;
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "20"),
            ("x-hubspot-ratelimit-interval-milliseconds", "1000"),
            ("x-hubspot-ratelimit-remaining", remaining),
        ]);
        pacer.observe_answer(Answer {
            sent,
            ..answer(200, &h, 1)
        });
        let start = Instant::now();
        let mut at_once = 1;
        while pacer.ready().await - start < Duration::from_millis(20) {
            at_once += 1;
        }
        at_once
    }

    #[tokio::test]
    async fn while_others_use_the_account_we_keep_to_half_of_the_window() {
        // HubSpot counted 5 with ours: another user sent 4.
        assert_eq!(
            burst_after_first_answered("15").await,
            8,
            "half of the 19 the window allows, less one"
        );
    }

    #[test]
    fn a_count_one_above_ours_lengthens_how_long_our_sends_are_remembered() {
        let mut log = Log::new(20, Duration::from_secs(1));
        let t0 = Instant::now();
        for _ in 0..19 {
            log.record(t0);
        }
        assert_eq!(log.next_free(t0), t0 + Duration::from_secs(1) + EXPIRY_PAD);
        // HubSpot counted 20 where we sent 19: it still counts one our log had let go.
        log.learn_count(t0, 20);
        assert_eq!(log.pad, EXPIRY_PAD * 2);
        for _ in 0..5 {
            log.learn_count(t0, 21);
        }
        assert_eq!(
            log.pad,
            Duration::from_millis(10),
            "at most a hundredth of the window"
        );
    }

    #[tokio::test]
    async fn a_request_or_two_more_than_ours_is_left_its_share_not_taken_for_a_contender() {
        // HubSpot counted 3 with ours: 2 not ours (a light user, or the skew between our
        // send and its count).
        assert_eq!(
            burst_after_first_answered("17").await,
            17,
            "the 19 the window allows, less the 2 others sent"
        );
    }

    #[tokio::test]
    async fn our_own_requests_arriving_out_of_order_are_not_taken_for_someone_else() {
        let pacer = Pacer::new(20, Duration::from_secs(1));
        let first = pacer.ready().await;
        let _second = pacer.ready().await;
        // The second reached HubSpot first: it counted 2 when it counted the first.
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "20"),
            ("x-hubspot-ratelimit-interval-milliseconds", "1000"),
            ("x-hubspot-ratelimit-remaining", "18"),
        ]);
        pacer.observe_answer(Answer {
            sent: first,
            ..answer(200, &h, 1)
        });
        let start = Instant::now();
        let mut at_once = 2;
        while pacer.ready().await - start < Duration::from_millis(20) {
            at_once += 1;
        }
        assert_eq!(at_once, 19, "the whole window less the margin");
    }

    #[tokio::test]
    async fn the_secondly_limit_is_honoured_once_named() {
        let pacer = Pacer::new(190, Duration::from_secs(10));
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "190"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-secondly", "5"),
        ]);
        pacer.observe_answer(answer(200, &h, 1));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..9 {
            times.push(pacer.ready().await - start);
        }
        // Four a second (five less the margin), the rolling window far from full.
        assert!(times[3] < Duration::from_millis(50), "{times:?}");
        assert!(times[4] >= Duration::from_millis(990), "{times:?}");
        assert!(times[7] < Duration::from_millis(1_100), "{times:?}");
        assert!(times[8] >= Duration::from_millis(1_990), "{times:?}");
    }

    #[tokio::test]
    async fn a_remaining_of_zero_out_of_a_million_is_remembered_within_bounds() {
        let pacer = Pacer::default();
        let sent = pacer.ready().await;
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "1000000"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-remaining", "0"),
        ]);
        pacer.observe_answer(Answer {
            sent,
            ..answer(200, &h, 1)
        });
        assert!(pacer.state().rolling.sends.len() <= MAX_OTHERS + 1);
        // Shared with a heavy user, but not stopped.
        let start = Instant::now();
        pacer.ready().await;
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_429_of_the_secondly_limit_leaves_the_rolling_window_alone() {
        let pacer = Pacer::default();
        let sent = pacer.ready().await;
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "110"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-remaining", "99"),
            ("x-hubspot-ratelimit-secondly", "11"),
            ("x-hubspot-ratelimit-secondly-remaining", "0"),
        ]);
        pacer.observe_answer(Answer {
            sent,
            ..answer(429, &h, 1)
        });
        let s = pacer.state();
        assert_eq!(
            s.rolling.sends.len(),
            11,
            "ours and the 10 others HubSpot counted"
        );
        assert_eq!(s.secondly.as_ref().map(|l| l.sends.len()), Some(11));
    }

    #[test]
    fn implausible_headers_are_ignored() {
        let pacer = Pacer::default();
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "1"),
            ("x-hubspot-ratelimit-interval-milliseconds", "999999999999"),
        ]);
        pacer.observe_answer(answer(200, &h, 1));
        assert_eq!(pacer.limit(), ASSUMED_LIMIT);
        assert!(!plausible(1, 999_999_999_999));
        assert!(plausible(190, 10_000) && plausible(11, 1_000));
    }
}
