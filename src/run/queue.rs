//! The ordering barrier: batches ready to go, in input order, and the keys on the wire. A
//! batch waits while one of its keys is on the wire or in a batch queued before it (so a later
//! value never lands before an earlier one), and while records it links to, read before it,
//! are not written yet. The queue only decides; the run sends and flushes.

use std::collections::{HashSet, VecDeque};

use crate::pipeline::batch::Batch;
use crate::pipeline::inflight::InflightKeys;

/// Imports in flight at once: HubSpot processes three at a time and defers the rest, so more
/// would only wait there.
pub(super) const MAX_IMPORTS: usize = 3;

/// What the run knows that the barrier asks about.
pub(super) trait World {
    /// The object type stream `stream`'s records are written to.
    fn object_type(&self, stream: usize) -> &str;
    /// The object types stream `stream`'s records link to.
    fn links_to(&self, stream: usize) -> Vec<&str>;
    /// Whether stream `stream`'s batches go through the Imports API.
    fn imports(&self, stream: usize) -> bool;
    /// The oldest record of `object_type` read and not settled.
    fn oldest_unsettled(&self, object_type: &str) -> Option<u64>;
    /// Whether records of `object_type` sit in batches not yet queued.
    fn has_open(&self, object_type: &str) -> bool;
}

/// What to do next, as the queue decides it.
#[derive(Debug)]
pub(super) enum Next {
    /// Send this batch: its keys are on the wire from now on.
    Send(Batch),
    /// A queued batch links to records of this object type that sit in open batches: queue
    /// those, then ask again.
    Flush(String),
    /// Nothing may go now.
    Idle,
}

/// Whether a queued batch may be sent.
enum Readiness {
    Go,
    Wait,
    NeedsFlush(String),
}

/// Batches ready to go and the keys on the wire.
#[derive(Debug, Default)]
pub(super) struct Queue {
    ready: VecDeque<Batch>,
    on_wire: InflightKeys,
    imports: usize,
}

impl Queue {
    /// Queues a full (or flushed) batch behind the others.
    pub(super) fn push(&mut self, batch: Batch) {
        self.ready.push_back(batch);
    }

    pub(super) fn len(&self) -> usize {
        self.ready.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ready.is_empty()
    }

    /// Drops every queued batch (nothing more is sent; their records stay unacknowledged).
    pub(super) fn clear(&mut self) {
        self.ready.clear();
    }

    /// The next decision, looking at the queue from `cursor` on (the caller keeps it across
    /// one round of sending, so a batch that waits is passed over, not asked about again).
    pub(super) fn next(&mut self, cursor: &mut usize, world: &impl World) -> Next {
        while *cursor < self.ready.len() {
            let i = *cursor;
            // Inputs whose key is on the wire (or queued before) wait in a batch of their
            // own; the rest of the batch goes, so one repeated key holds up one input, not
            // every batch behind it.
            match self.blocked_keys(i, world) {
                Some(blocked) if blocked.len() < self.ready[i].len() => {
                    let waiting = self.ready[i].split_off(|k| blocked.contains(k));
                    self.ready.insert(i + 1, waiting);
                }
                Some(_) => {
                    *cursor += 1;
                    continue;
                }
                None => {}
            }
            match self.links_written(i, world) {
                Readiness::Go => {}
                Readiness::Wait => {
                    *cursor += 1;
                    continue;
                }
                Readiness::NeedsFlush(object_type) => {
                    *cursor += 1;
                    return Next::Flush(object_type);
                }
            }
            let stream = self.ready[i].stream;
            let import = world.imports(stream);
            if import && self.imports >= MAX_IMPORTS {
                *cursor += 1;
                continue;
            }
            let Some(batch) = self.ready.remove(i) else {
                break;
            };
            let object_type = world.object_type(stream);
            for key in batch.keys() {
                self.on_wire.add(object_type, key);
            }
            if import {
                self.imports += 1;
            }
            return Next::Send(batch);
        }
        Next::Idle
    }

    /// A sent batch's answer came: its keys leave the wire.
    pub(super) fn landed(&mut self, object_type: &str, keys: &[String], import: bool) {
        for key in keys {
            self.on_wire.remove(object_type, key);
        }
        if import {
            self.imports = self.imports.saturating_sub(1);
        }
    }

    /// The keys of `ready[i]` that must wait: on the wire, or in a batch queued before it;
    /// `None` when none must.
    fn blocked_keys(&self, i: usize, world: &impl World) -> Option<HashSet<String>> {
        let batch = &self.ready[i];
        let object_type = world.object_type(batch.stream);
        let blocked: HashSet<String> = batch
            .keys()
            .filter(|k| {
                self.on_wire.contains(object_type, k)
                    || self.ready.iter().take(i).any(|earlier| {
                        world.object_type(earlier.stream) == object_type
                            && earlier.keys().any(|e| e == *k)
                    })
            })
            .map(String::from)
            .collect();
        (!blocked.is_empty()).then_some(blocked)
    }

    /// Whether `ready[i]`, none of whose keys must wait, may be sent now: every record it
    /// links to that was read before it is written.
    fn links_written(&self, i: usize, world: &impl World) -> Readiness {
        let batch = &self.ready[i];
        let first = batch.first_seq();
        for to in world.links_to(batch.stream) {
            let older_unwritten = world
                .oldest_unsettled(to)
                .is_some_and(|oldest| oldest < first);
            if older_unwritten {
                return if world.has_open(to) {
                    Readiness::NeedsFlush(to.to_string())
                } else {
                    Readiness::Wait
                };
            }
        }
        Readiness::Go
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::mapping::Mapped;
    use crate::model::Line;

    /// Streams 0 (contacts, linking to companies), 1 (companies) and 2 (contacts by import).
    #[derive(Default)]
    struct Fake {
        unsettled: BTreeMap<&'static str, u64>,
        open: BTreeSet<&'static str>,
    }

    impl World for Fake {
        fn object_type(&self, stream: usize) -> &str {
            ["contacts", "companies", "contacts"][stream]
        }
        fn links_to(&self, stream: usize) -> Vec<&str> {
            if stream == 0 {
                vec!["companies"]
            } else {
                vec![]
            }
        }
        fn imports(&self, stream: usize) -> bool {
            stream == 2
        }
        fn oldest_unsettled(&self, object_type: &str) -> Option<u64> {
            self.unsettled.get(object_type).copied()
        }
        fn has_open(&self, object_type: &str) -> bool {
            self.open.contains(object_type)
        }
    }

    /// A batch of `stream` with one record per key, the first read as record `seq`.
    fn batch(stream: usize, seq: u64, keys: &[&str]) -> Batch {
        let mut b = Batch::new(stream);
        for (n, key) in keys.iter().enumerate() {
            let mapped = Mapped {
                key: (*key).into(),
                properties: Default::default(),
                links: Vec::new(),
                unknown: Vec::new(),
                read_only: Vec::new(),
                deleted: false,
            };
            let raw = serde_json::value::to_raw_value(&serde_json::json!({})).unwrap();
            b.push(mapped, seq + n as u64, Line::new(seq + n as u64), raw);
        }
        b
    }

    fn keys(next: Next) -> Vec<String> {
        match next {
            Next::Send(b) => b.keys().map(String::from).collect(),
            other => panic!("expected a batch to send, got {other:?}"),
        }
    }

    /// Every decision until the queue is idle, from a fresh cursor.
    fn round(q: &mut Queue, world: &Fake) -> Vec<Next> {
        let mut cursor = 0;
        let mut out = Vec::new();
        loop {
            match q.next(&mut cursor, world) {
                Next::Idle => return out,
                next => out.push(next),
            }
        }
    }

    #[test]
    fn a_key_on_the_wire_holds_back_its_input_only_until_its_answer_lands() {
        let world = Fake::default();
        let mut q = Queue::default();
        q.push(batch(1, 0, &["a.io", "b.io"]));
        q.push(batch(1, 2, &["b.io", "c.io"]));
        let sent = round(&mut q, &world);
        assert_eq!(sent.len(), 2);
        let mut sent = sent.into_iter();
        assert_eq!(keys(sent.next().unwrap()), ["a.io", "b.io"]);
        assert_eq!(
            keys(sent.next().unwrap()),
            ["c.io"],
            "b.io waits in a batch of its own"
        );
        assert_eq!(q.len(), 1);
        assert!(
            round(&mut q, &world).is_empty(),
            "b.io is still on the wire"
        );
        q.landed("companies", &["a.io".into(), "b.io".into()], false);
        let sent: Vec<_> = round(&mut q, &world).into_iter().map(keys).collect();
        assert_eq!(sent, [["b.io"]]);
        // The same key of another object type never waited.
        q.push(batch(0, 9, &["c.io"]));
        assert_eq!(round(&mut q, &world).len(), 1);
    }

    #[test]
    fn a_batch_linking_to_unwritten_older_records_has_them_flushed_then_waits_for_them() {
        let mut world = Fake::default();
        world.unsettled.insert("companies", 3);
        world.open.insert("companies");
        let mut q = Queue::default();
        q.push(batch(0, 5, &["x@a.io"]));
        let mut decisions = round(&mut q, &world).into_iter();
        match decisions.next() {
            Some(Next::Flush(t)) => assert_eq!(t, "companies"),
            other => panic!("{other:?}"),
        }
        assert!(decisions.next().is_none());
        // Flushed: the companies are queued or on the wire, not written yet.
        world.open.clear();
        assert!(round(&mut q, &world).is_empty(), "it waits");
        // Records read after it do not hold it back.
        world.unsettled.insert("companies", 6);
        assert_eq!(round(&mut q, &world).len(), 1);
    }

    #[test]
    fn at_most_three_imports_are_on_the_wire_and_batches_pass_a_waiting_import() {
        let world = Fake::default();
        let mut q = Queue::default();
        for n in 0..4 {
            q.push(batch(2, n * 10, &[["a", "b", "c", "d"][n as usize]]));
        }
        q.push(batch(1, 50, &["e.io"]));
        let sent = round(&mut q, &world);
        assert_eq!(
            sent.len(),
            4,
            "three imports and the batch behind the fourth"
        );
        assert_eq!(q.len(), 1);
        q.landed("contacts", &["a".into()], true);
        let sent: Vec<_> = round(&mut q, &world).into_iter().map(keys).collect();
        assert_eq!(sent, [["d"]]);
    }
}
