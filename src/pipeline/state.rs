//! STATE release: a state is emitted only once every record read before it has an outcome.

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

/// Tracks unsettled records and the states waiting on them.
#[derive(Debug, Default)]
pub struct StateTracker {
    next_seq: u64,
    unsettled: BTreeSet<u64>,
    waiting: VecDeque<(u64, Value)>,
}

impl StateTracker {
    /// Registers a newly read record and returns its sequence number.
    pub fn record_read(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.unsettled.insert(seq);
        seq
    }

    /// Marks a record as upserted or rejected. A record has exactly one outcome: settling
    /// one twice, or one never read, is a bug (checked in debug builds, which every test
    /// runs).
    pub fn settle(&mut self, seq: u64) {
        let was_open = self.unsettled.remove(&seq);
        debug_assert!(was_open, "record {seq} settled twice or never read");
    }

    /// Queues a state received after every record read so far.
    pub fn state_read(&mut self, value: Value) {
        self.waiting.push_back((self.next_seq, value));
    }

    /// Whether a state is waiting for records to settle.
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Records read but not yet settled.
    pub fn unsettled(&self) -> usize {
        self.unsettled.len()
    }

    /// The newest state whose records are all settled, if any; older ones are dropped
    /// (coalesced).
    pub fn releasable(&mut self) -> Option<Value> {
        let first_unsettled = self.unsettled.first().copied().unwrap_or(self.next_seq);
        let mut newest = None;
        while self
            .waiting
            .front()
            .is_some_and(|(watermark, _)| *watermark <= first_unsettled)
        {
            newest = self.waiting.pop_front().map(|(_, v)| v);
        }
        newest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_state_waits_for_every_record_before_it_and_only_those() {
        let mut t = StateTracker::default();
        let a = t.record_read();
        let b = t.record_read();
        t.state_read(json!({"n": 1}));
        let c = t.record_read();
        t.state_read(json!({"n": 2}));
        assert_eq!(t.releasable(), None);
        t.settle(b);
        assert_eq!(t.releasable(), None, "record a is still open");
        t.settle(a);
        assert_eq!(
            t.releasable(),
            Some(json!({"n": 1})),
            "c is not needed for the first state"
        );
        t.settle(c);
        assert_eq!(t.releasable(), Some(json!({"n": 2})));
        assert_eq!(t.releasable(), None);
    }

    proptest::proptest! {
        /// Whatever order outcomes arrive in: a released STATE never comes before an outcome
        /// of a record read before it, STATEs come out in input order, and once every record
        /// is settled the last STATE read is out.
        #[test]
        fn states_follow_every_outcome_before_them_in_any_settle_order(
            input in proptest::collection::vec(proptest::bool::ANY, 1..60),
            order in proptest::collection::vec(proptest::num::usize::ANY, 0..60),
        ) {
            let mut t = StateTracker::default();
            // `true`: a record; `false`: a STATE (its value: how many records came before).
            let mut records = Vec::new();
            let mut last_state = None;
            for is_record in input {
                if is_record {
                    records.push(t.record_read());
                } else {
                    t.state_read(json!(records.len()));
                    last_state = Some(records.len() as u64);
                }
            }
            // Settle in an order `order` shuffles.
            let mut pending = records.clone();
            let mut settled = std::collections::BTreeSet::new();
            let mut released_upto: Option<u64> = None;
            let mut k = 0;
            while !pending.is_empty() {
                let i = order.get(k).copied().unwrap_or(0) % pending.len();
                k += 1;
                let seq = pending.swap_remove(i);
                t.settle(seq);
                settled.insert(seq);
                if let Some(state) = t.releasable() {
                    let before = state.as_u64().unwrap();
                    proptest::prop_assert!((0..before).all(|s| settled.contains(&s)));
                    proptest::prop_assert!(released_upto.is_none_or(|r| before >= r));
                    released_upto = Some(before);
                }
            }
            if let Some(state) = t.releasable() {
                released_upto = state.as_u64();
            }
            proptest::prop_assert_eq!(released_upto, last_state);
            proptest::prop_assert_eq!(t.unsettled(), 0);
        }
    }

    #[test]
    fn states_are_coalesced_to_the_newest_releasable() {
        let mut t = StateTracker::default();
        t.state_read(json!(1));
        t.state_read(json!(2));
        assert_eq!(t.releasable(), Some(json!(2)));
    }
}
