//! `max_reject_rate`, judged fairly: over the records in input order whose outcomes are all
//! known (the settled prefix STATE release also waits for), checked at every record of that
//! prefix. Local rejections settle at once while good records wait for HubSpot, so a share
//! over outcomes in the order they arrive would depend on how fast HubSpot answers; over the
//! prefix the verdict is the same whatever the timing.

use std::collections::{BTreeMap, HashMap};

use crate::model::rejection::Rejection;

/// Outcomes needed before the share is judged.
pub const MIN_OUTCOMES: u64 = 100;

/// `(category, code, property)` of a rejection.
pub type Reason = (String, Option<Box<str>>, Option<Box<str>>);

/// The guard's verdict once the share passed the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    /// Rejected records in the prefix.
    pub rejected: u64,
    /// Records in the prefix.
    pub outcomes: u64,
    /// The most common reasons in the prefix, with counts, most common first.
    pub top: Vec<(Reason, u64)>,
}

/// Counts outcomes by input position and judges the settled prefix.
#[derive(Debug)]
pub struct RejectGuard {
    max: f64,
    /// The first record (sequence number) whose outcome is not known yet.
    next: u64,
    /// Outcomes known past `next`, by sequence number.
    ahead: BTreeMap<u64, Option<Reason>>,
    outcomes: u64,
    rejected: u64,
    reasons: HashMap<Reason, u64>,
    tripped: Option<Tripped>,
}

impl RejectGuard {
    /// A guard for the share `max` (`1` or more never trips).
    pub fn new(max: f64) -> Self {
        Self {
            max,
            next: 0,
            ahead: BTreeMap::new(),
            outcomes: 0,
            rejected: 0,
            reasons: HashMap::new(),
            tripped: None,
        }
    }

    /// Records the outcome of record `seq`; returns the verdict the first time the prefix's
    /// share passes the limit.
    pub fn record(&mut self, seq: u64, rejection: Option<&Rejection>) -> Option<Tripped> {
        let reason =
            rejection.map(|r| (r.category.to_string(), r.code.clone(), r.property.clone()));
        self.ahead.insert(seq, reason);
        let already = self.tripped.is_some();
        while let Some(reason) = self.ahead.remove(&self.next) {
            self.next += 1;
            self.outcomes += 1;
            if let Some(reason) = reason {
                self.rejected += 1;
                *self.reasons.entry(reason).or_default() += 1;
            }
            if self.tripped.is_none() && self.over() {
                self.tripped = Some(self.verdict());
            }
        }
        if already { None } else { self.tripped.clone() }
    }

    fn over(&self) -> bool {
        self.max < 1.0
            && self.outcomes >= MIN_OUTCOMES
            && self.rejected as f64 / self.outcomes as f64 > self.max
    }

    fn verdict(&self) -> Tripped {
        let mut top: Vec<(Reason, u64)> =
            self.reasons.iter().map(|(r, n)| (r.clone(), *n)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(3);
        Tripped {
            rejected: self.rejected,
            outcomes: self.outcomes,
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::rejection::Category;

    fn bad() -> Rejection {
        Rejection::local(Category::ValidationError, "bad", Some("email"))
    }

    /// The verdict for outcomes `bad[seq]` settled in the order `order`.
    fn verdict(max: f64, bad_at: &[bool], order: &[usize]) -> Option<Tripped> {
        let mut guard = RejectGuard::new(max);
        let rejection = bad();
        let mut first = None;
        for &seq in order {
            let r = bad_at[seq].then_some(&rejection);
            if let Some(t) = guard.record(seq as u64, r) {
                assert!(first.is_none(), "tripped twice");
                first = Some(t);
            }
        }
        first
    }

    #[test]
    fn local_rejections_settling_first_do_not_trip_a_healthy_run() {
        // Every 4th record refused locally: they settle first, the good ones much later.
        let bad_at: Vec<bool> = (0..400).map(|i| i % 4 == 3).collect();
        let mut order: Vec<usize> = (0..400).filter(|i| bad_at[*i]).collect();
        order.extend((0..400).filter(|i| !bad_at[*i]));
        assert_eq!(verdict(0.5, &bad_at, &order), None);
    }

    #[test]
    fn a_mostly_failing_run_trips_once_at_the_hundredth_record() {
        let bad_at: Vec<bool> = (0..300).map(|i| i % 5 != 0).collect();
        let order: Vec<usize> = (0..300).rev().collect();
        let t = verdict(0.5, &bad_at, &order).expect("80% rejected trips");
        assert_eq!((t.rejected, t.outcomes), (80, 100));
        assert_eq!(t.top.len(), 1);
        assert_eq!(t.top[0].1, 80);
    }

    #[test]
    fn one_never_trips() {
        let bad_at = vec![true; 200];
        let order: Vec<usize> = (0..200).collect();
        assert_eq!(verdict(1.0, &bad_at, &order), None);
    }

    proptest! {
        /// Whatever order outcomes arrive in, the verdict is the one input order gives.
        #[test]
        fn the_verdict_does_not_depend_on_the_order_outcomes_arrive_in(
            bad_at in proptest::collection::vec(any::<bool>(), 0..400),
            seed in any::<u64>(),
            max in 0.0f64..1.0,
        ) {
            let in_order: Vec<usize> = (0..bad_at.len()).collect();
            let mut shuffled = in_order.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(verdict(max, &bad_at, &in_order), verdict(max, &bad_at, &shuffled));
        }
    }
}
