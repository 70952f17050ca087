//! Stream mappings the main loop publishes for the input thread, so records are mapped as
//! they are parsed, beside the loop rather than on it.
//!
//! Each publication has a generation number. A record mapped ahead carries the generation it
//! was mapped with; the loop uses the result only when that is still its stream's current
//! generation, and maps the record again otherwise (a property created since, say). So what
//! a record becomes never depends on how far ahead the input thread ran.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::{Mapped, StreamMapping};
use crate::model::rejection::Rejection;

/// One stream's mapping as published, with its generation.
#[derive(Debug, Clone)]
pub struct Current {
    /// Increases with every publication (of any stream).
    pub generation: u64,
    /// The mapping itself.
    pub mapping: Arc<StreamMapping>,
}

/// A record mapped on the input thread.
#[derive(Debug)]
pub struct Premapped {
    /// The generation of the mapping that made it.
    pub generation: u64,
    /// What [`StreamMapping::map`] gave.
    pub result: Result<Mapped, Rejection>,
}

/// The mappings published so far, by stream name.
#[derive(Debug, Default)]
pub struct Published {
    latest: Mutex<(u64, Arc<HashMap<String, Current>>)>,
}

impl Published {
    /// Publishes `mapping` as `stream`'s current one and returns its generation.
    pub fn publish(&self, stream: &str, mapping: Arc<StreamMapping>) -> u64 {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let generation = latest.0 + 1;
        latest.0 = generation;
        // In place while no snapshot is in use (a chunk being mapped holds one): registering
        // many streams costs each one an insert, not a copy of every mapping before it.
        Arc::make_mut(&mut latest.1).insert(
            stream.to_string(),
            Current {
                generation,
                mapping,
            },
        );
        generation
    }

    /// The mappings as published now.
    pub fn snapshot(&self) -> Snapshot {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        Snapshot(latest.1.clone())
    }
}

/// The mappings published at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot(Arc<HashMap<String, Current>>);

impl Snapshot {
    /// Maps a record of `stream` with its mapping, if one was published.
    pub fn premap(&self, stream: &str, record: &RawValue) -> Option<Premapped> {
        let current = self.0.get(stream)?;
        Some(Premapped {
            generation: current.generation,
            result: current.mapping.map(record),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hubspot::wire::PropertyInfo;
    use serde_json::json;

    fn mapping(with_shoe_size: bool) -> StreamMapping {
        let property = |v| serde_json::from_value::<PropertyInfo>(v).unwrap();
        let mut m = StreamMapping::resolve(
            "s",
            serde_json::from_value(json!({"object_type": "contacts", "id_property": "email"}))
                .unwrap(),
            &[property(
                json!({"name": "email", "type": "string", "fieldType": "text"}),
            )],
        )
        .unwrap();
        if with_shoe_size {
            m.fields.add_created(
                "shoe_size",
                &property(json!({"name": "shoe_size", "type": "number", "fieldType": "number"})),
            );
        }
        m
    }

    #[test]
    fn a_record_mapped_ahead_carries_the_generation_that_mapped_it() {
        let record = RawValue::from_string(r#"{"email":"a@x.io","shoe_size":44}"#.into()).unwrap();
        let published = Published::default();
        assert!(
            published.snapshot().premap("s", &record).is_none(),
            "nothing published yet"
        );
        let first = published.publish("s", Arc::new(mapping(false)));
        let before = published.snapshot();
        let second = published.publish("s", Arc::new(mapping(true)));
        assert!(second > first);

        // Mapped with the snapshot taken before the property existed: the loop sees the old
        // generation and maps the record again.
        let early = before.premap("s", &record).unwrap();
        assert_eq!(early.generation, first);
        assert_eq!(early.result.unwrap().unknown, ["shoe_size"]);

        let late = published.snapshot().premap("s", &record).unwrap();
        assert_eq!(late.generation, second);
        let mapped = late.result.unwrap();
        assert!(mapped.unknown.is_empty());
        assert_eq!(mapped.properties["shoe_size"], "44");
        assert!(published.snapshot().premap("other", &record).is_none());
    }
}
