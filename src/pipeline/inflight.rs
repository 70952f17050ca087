//! The keys of records on the wire, per object type: a batch holding one waits, so two
//! writes of the same HubSpot record never race.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Counts of in-flight records by `(object type, key)`, kept as hashes: two keys sharing a
/// hash only make a batch wait for the other one's request to settle, never send early.
#[derive(Debug, Default)]
pub struct InflightKeys {
    hasher: foldhash::fast::RandomState,
    counts: HashMap<u64, u32, foldhash::fast::RandomState>,
}

impl InflightKeys {
    fn hash(&self, object_type: &str, key: &str) -> u64 {
        self.hasher.hash_one((object_type, key))
    }

    /// One more record of `key` is in flight.
    pub fn add(&mut self, object_type: &str, key: &str) {
        *self.counts.entry(self.hash(object_type, key)).or_default() += 1;
    }

    /// One record of `key` settled.
    pub fn remove(&mut self, object_type: &str, key: &str) {
        let hash = self.hash(object_type, key);
        if let Some(n) = self.counts.get_mut(&hash) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&hash);
            }
        }
    }

    /// Whether a record of `key` (or one sharing its hash) is in flight.
    pub fn contains(&self, object_type: &str, key: &str) -> bool {
        self.counts.contains_key(&self.hash(object_type, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_in_flight_until_each_of_its_records_settles() {
        let mut keys = InflightKeys::default();
        keys.add("contacts", "a@x.io");
        keys.add("contacts", "a@x.io");
        assert!(keys.contains("contacts", "a@x.io"));
        assert!(!keys.contains("companies", "a@x.io"));
        keys.remove("contacts", "a@x.io");
        assert!(keys.contains("contacts", "a@x.io"));
        keys.remove("contacts", "a@x.io");
        assert!(!keys.contains("contacts", "a@x.io"));
        // Settling a key that is not in flight changes nothing.
        keys.remove("contacts", "b@x.io");
        assert!(!keys.contains("contacts", "b@x.io"));
    }
}
