//! Counters per stream and the summary printed on stderr at exit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::writer::Outcome;

/// What happened to one stream's records.
#[derive(Debug, Default, Clone)]
pub struct StreamStats {
    /// RECORD messages read.
    pub read: u64,
    /// Records HubSpot created.
    pub created: u64,
    /// Records HubSpot updated.
    pub updated: u64,
    /// Records merged into another record with the same key in one batch.
    pub merged: u64,
    /// Rejected records by category.
    pub rejected: BTreeMap<String, u64>,
    /// Fields that matched no property and were not sent.
    pub ignored_fields: BTreeSet<String>,
    /// Fields that matched read-only or calculated properties and were not sent.
    pub read_only_fields: BTreeSet<String>,
    /// Properties created for unknown fields (`unknown_fields: create`).
    pub created_properties: BTreeSet<String>,
}

impl StreamStats {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: &Outcome, merged: bool) {
        if merged {
            self.merged += 1;
        }
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Rejected(r) => *self.rejected.entry(r.category.clone()).or_default() += 1,
        }
    }

    /// All rejected records.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The run's totals.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Per stream, by name.
    pub streams: BTreeMap<String, StreamStats>,
    /// HTTP requests sent.
    pub requests: u64,
    /// Retried requests.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Records rejected in all streams.
    pub fn rejected(&self) -> u64 {
        self.streams.values().map(StreamStats::rejected_total).sum()
    }

    /// Logs one line per stream and a total line.
    pub fn log(&self) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        for (name, s) in &self.streams {
            let rejected = if s.rejected.is_empty() {
                "0".to_string()
            } else {
                s.rejected
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            tracing::info!(
                "stream {name}: read {}, created {}, updated {}, merged duplicates {}, rejected {} ({rejected})",
                s.read,
                s.created,
                s.updated,
                s.merged,
                s.rejected_total()
            );
            let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
            if !s.ignored_fields.is_empty() {
                tracing::warn!(
                    "stream {name}: fields not sent (no such property): {}",
                    list(&s.ignored_fields)
                );
            }
            if !s.read_only_fields.is_empty() {
                tracing::warn!(
                    "stream {name}: fields not sent (read-only property): {}",
                    list(&s.read_only_fields)
                );
            }
            if !s.created_properties.is_empty() {
                tracing::info!(
                    "stream {name}: properties created: {}",
                    list(&s.created_properties)
                );
            }
        }
        let loaded: u64 = self.streams.values().map(|s| s.created + s.updated).sum();
        let read: u64 = self.streams.values().map(|s| s.read).sum();
        tracing::info!(
            "total: {read} records read, {loaded} upserted, {} rejected; {} requests, {} retries, {} rate-limited (429); {:.1} s, {:.0} records/s",
            self.rejected(),
            self.requests,
            self.retries,
            self.rate_limited,
            secs,
            read as f64 / secs
        );
    }
}
