//! Open batches: at most `batch_size` distinct keys, records with the same key merged.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::value::RawValue;

use crate::mapping::Mapped;
use crate::model::Line;

/// One record as read, kept until it has an outcome.
#[derive(Debug)]
pub struct Origin {
    /// Position among all records read (0-based), for STATE tracking.
    pub seq: u64,
    /// Where it was read.
    pub line: Line,
    /// The record exactly as read, for the rejected file.
    pub raw: Box<RawValue>,
    /// Its own mapped properties, to resend it alone if its merged input fails; kept only
    /// once another record merges into its input (until then the input's are its own).
    pub properties: Option<crate::mapping::Properties>,
    /// The associations it asks for: `(association index, key of the other record)`.
    pub links: Vec<(usize, String)>,
}

/// One upsert input: a key and the merged properties of every record with that key.
#[derive(Debug)]
pub struct Input {
    /// The normalised identifying value.
    pub key: crate::model::Key,
    /// Merged properties: later records win per property.
    pub properties: crate::mapping::Properties,
    /// The records merged into it, in input order.
    pub origins: Vec<Origin>,
    /// The last record with its key was marked deleted (and the stream archives deletions).
    pub deleted: bool,
    /// HubSpot's id for the key, when the sync ledger knows it from an earlier run.
    pub ledger_id: Option<i64>,
}

impl Input {
    /// The input's `objectWriteTraceId`: the sequence number of its first record, unique in a run.
    pub fn trace_id(&self) -> String {
        self.origins
            .first()
            .map(|o| o.seq.to_string())
            .unwrap_or_default()
    }
}

/// A batch for one stream.
#[derive(Debug)]
pub struct Batch {
    /// Index of the stream it belongs to.
    pub stream: usize,
    /// Inputs with distinct keys, in order of first appearance.
    pub inputs: Vec<Input>,
    by_key: HashMap<crate::model::Key, usize>,
    /// When its first record arrived.
    pub opened: Instant,
}

impl Batch {
    /// An empty batch.
    pub fn new(stream: usize) -> Self {
        Self {
            stream,
            inputs: Vec::new(),
            by_key: HashMap::new(),
            opened: Instant::now(),
        }
    }

    /// Adds a record, merging it into an input with the same key. Returns whether it merged.
    pub fn push(&mut self, mapped: Mapped, seq: u64, line: Line, raw: Box<RawValue>) -> bool {
        let mut origin = Origin {
            seq,
            line,
            raw,
            properties: None,
            links: mapped.links,
        };
        if let Some(&i) = self.by_key.get(&mapped.key) {
            let input = &mut self.inputs[i];
            if let [first] = input.origins.as_mut_slice() {
                first.properties = Some(input.properties.clone());
            }
            origin.properties = Some(mapped.properties.clone());
            input.properties.extend(mapped.properties);
            input.origins.push(origin);
            // The last record with a key decides: deleted, or written with every value.
            input.deleted = mapped.deleted;
            return true;
        }
        self.by_key.insert(mapped.key.clone(), self.inputs.len());
        self.inputs.push(Input {
            key: mapped.key,
            properties: mapped.properties,
            origins: vec![origin],
            deleted: mapped.deleted,
            ledger_id: None,
        });
        false
    }

    /// Adds a whole input (records already merged by key), merging it into an input with the
    /// same key as [`Batch::push`] merges a record. Returns whether it merged.
    pub fn push_input(&mut self, mut other: Input) -> bool {
        let Some(&i) = self.by_key.get(&other.key) else {
            if self.inputs.is_empty() {
                self.opened = Instant::now();
            }
            self.by_key.insert(other.key.clone(), self.inputs.len());
            self.inputs.push(other);
            return false;
        };
        let input = &mut self.inputs[i];
        if let [first] = input.origins.as_mut_slice()
            && first.properties.is_none()
        {
            first.properties = Some(input.properties.clone());
        }
        if let [only] = other.origins.as_mut_slice()
            && only.properties.is_none()
        {
            only.properties = Some(other.properties.clone());
        }
        input.properties.extend(other.properties);
        input.origins.append(&mut other.origins);
        input.deleted = other.deleted;
        input.ledger_id = input.ledger_id.or(other.ledger_id);
        true
    }

    /// Takes the batch's inputs out, leaving it empty.
    pub fn take_inputs(&mut self) -> Vec<Input> {
        self.by_key.clear();
        std::mem::take(&mut self.inputs)
    }

    /// Moves the inputs whose key `take` picks into a batch of their own (same stream, same
    /// age), keeping the others here in order.
    pub fn split_off(&mut self, take: impl Fn(&str) -> bool) -> Batch {
        let mut taken = Batch {
            stream: self.stream,
            inputs: Vec::new(),
            by_key: HashMap::new(),
            opened: self.opened,
        };
        let opened = self.opened;
        for input in self.take_inputs() {
            let to = if take(&input.key) {
                &mut taken
            } else {
                &mut *self
            };
            to.by_key.insert(input.key.clone(), to.inputs.len());
            to.inputs.push(input);
        }
        self.opened = opened;
        taken
    }

    /// Distinct keys in the batch.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The sequence number of its oldest record.
    pub fn first_seq(&self) -> u64 {
        self.inputs
            .iter()
            .flat_map(|i| &i.origins)
            .map(|o| o.seq)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The batch's keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.inputs.iter().map(|i| i.key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(key: &str, props: &[(&str, &str)]) -> Mapped {
        Mapped {
            links: Vec::new(),
            unknown: Vec::new(),
            read_only: Vec::new(),
            deleted: false,
            key: key.into(),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    fn raw() -> Box<RawValue> {
        RawValue::from_string("{}".into()).unwrap()
    }

    #[test]
    fn split_off_moves_the_picked_inputs_and_keeps_the_rest_in_order() {
        let mut b = Batch::new(3);
        for (seq, key) in ["a@x.co", "b@x.co", "c@x.co", "d@x.co"].iter().enumerate() {
            b.push(
                mapped(key, &[]),
                seq as u64,
                Line::new(seq as u64 + 1),
                raw(),
            );
        }
        let taken = b.split_off(|k| k == "b@x.co" || k == "d@x.co");
        assert_eq!(b.keys().collect::<Vec<_>>(), ["a@x.co", "c@x.co"]);
        assert_eq!(taken.keys().collect::<Vec<_>>(), ["b@x.co", "d@x.co"]);
        assert_eq!(taken.stream, 3);
        // Merging still finds each input by its key.
        assert!(b.push(mapped("c@x.co", &[]), 9, Line::new(10), raw()));
        assert_eq!(taken.first_seq(), 1);
    }

    #[test]
    fn same_key_merges_later_values_win_and_every_origin_is_kept() {
        let mut b = Batch::new(0);
        assert!(!b.push(
            mapped("a@x.co", &[("firstname", "A"), ("city", "Oslo")]),
            0,
            Line::new(1),
            raw()
        ));
        assert!(!b.push(
            mapped("b@x.co", &[("firstname", "B")]),
            1,
            Line::new(2),
            raw()
        ));
        assert!(b.push(
            mapped("a@x.co", &[("firstname", "A2")]),
            2,
            Line::new(3),
            raw()
        ));
        assert_eq!(b.len(), 2);
        let a = &b.inputs[0];
        assert_eq!(a.properties["firstname"], "A2");
        assert_eq!(a.properties["city"], "Oslo");
        assert_eq!(
            a.origins.iter().map(|o| o.seq).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(a.trace_id(), "0");
    }
}
