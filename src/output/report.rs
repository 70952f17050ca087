//! Counters per stream and the summary printed on stderr at exit (and written as JSON to
//! `summary_path` when it is set).
//!
//! The counts add up: `read = created + updated + imported + merged + skipped + archived +
//! unchanged + rejected` ("imported": written by an import, which does not say whether it
//! created or updated) ("unchanged": the ledger holds the same values; `removed` counts HubSpot records,
//! not records read). A record
//! "merged" had the same key as an earlier record of its batch; its values went into that
//! record's single write, so it is not counted as created or updated itself. "Skipped" records
//! were left alone on purpose (`create_only` found their key); the text lines name them only
//! when there are some.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::pipeline::outcome::Outcome;
use crate::pipeline::reject_rate::Reason;

/// `(category, code, property)` → count, as `[{"category", "code", "property", "count"}]`
/// (most common first).
fn reasons_as_list<S: serde::Serializer>(
    reasons: &BTreeMap<Reason, u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Entry<'a> {
        category: &'a str,
        code: Option<&'a str>,
        property: Option<&'a str>,
        count: u64,
    }
    let mut list: Vec<Entry<'_>> = reasons
        .iter()
        .map(|((category, code, property), count)| Entry {
            category,
            code: code.as_deref(),
            property: property.as_deref(),
            count: *count,
        })
        .collect();
    list.sort_by_key(|e| std::cmp::Reverse(e.count));
    serializer.collect_seq(list)
}

/// What happened to one stream's records.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StreamStats {
    /// RECORD messages read.
    pub read: u64,
    /// Records HubSpot created.
    pub created: u64,
    /// Records HubSpot updated.
    pub updated: u64,
    /// Records an import wrote (created or updated: imports do not say which).
    #[serde(skip_serializing_if = "is_zero")]
    pub imported: u64,
    /// Records merged into an earlier record with the same key in one batch (written by
    /// that record's request).
    pub merged: u64,
    /// Records left alone on purpose (`create_only`: the key exists; a deletion with no match).
    pub skipped: u64,
    /// Deletions that archived a HubSpot record (`hard_delete`).
    pub archived: u64,
    /// Records the ledger holds with the same values (not sent).
    pub unchanged: u64,
    /// Keys that left the source and were archived or cleared (`on_removed`), or in a dry
    /// run would be.
    pub removed: u64,
    /// Rejected records by category.
    pub rejected: BTreeMap<String, u64>,
    /// Rejected records by category, code and property.
    #[serde(serialize_with = "reasons_as_list")]
    pub rejections: BTreeMap<Reason, u64>,
    /// Fields that matched no property and were not sent.
    pub ignored_fields: BTreeSet<String>,
    /// Fields that matched read-only or calculated properties and were not sent.
    pub read_only_fields: BTreeSet<String>,
    /// Properties created for unknown fields (`unknown_fields: create`).
    pub created_properties: BTreeSet<String>,
}

impl StreamStats {
    /// Counts one outcome; `merged` when the record rode on an earlier record's input.
    pub fn count(&mut self, outcome: &Outcome, merged: bool) {
        match outcome {
            Outcome::Rejected(r) => {
                *self.rejected.entry(r.category.to_string()).or_default() += 1;
                let reason = (r.category.to_string(), r.code.clone(), r.property.clone());
                *self.rejections.entry(reason).or_default() += 1;
            }
            Outcome::Skipped => self.skipped += 1,
            Outcome::Archived => self.archived += 1,
            Outcome::Unchanged => self.unchanged += 1,
            _ if merged => self.merged += 1,
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Imported => self.imported += 1,
        }
    }

    /// All rejected records.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Records settled without a rejection (written, merged into a written one, or skipped).
    pub fn loaded(&self) -> u64 {
        self.created
            + self.updated
            + self.imported
            + self.merged
            + self.skipped
            + self.archived
            + self.unchanged
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
    /// When the run started.
    pub started_at: Option<time::OffsetDateTime>,
}

/// How the process ends, for the summary document.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExitStatus {
    /// The exit code.
    pub code: u8,
    /// What it means: `ok`, `fatal`, `rejected` (`fail_on_reject`) or `interrupted`.
    pub meaning: &'static str,
}

/// The summary as one JSON document (`summary_path`).
#[derive(Serialize)]
struct SummaryDocument<'a> {
    started_at: Option<String>,
    ended_at: Option<String>,
    exit_status: ExitStatus,
    streams: &'a BTreeMap<String, StreamStats>,
    total: Totals,
    #[serde(serialize_with = "reasons_as_list")]
    rejections: BTreeMap<Reason, u64>,
    requests: u64,
    retries: u64,
    rate_limited: u64,
    elapsed_s: f64,
}

/// For `skip_serializing_if`: a count that is zero is left out.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// RFC 3339, UTC.
fn rfc3339(t: time::OffsetDateTime) -> Option<String> {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Counts over every stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Records read.
    pub read: u64,
    /// Created.
    pub created: u64,
    /// Updated.
    pub updated: u64,
    /// Written by an import.
    #[serde(skip_serializing_if = "is_zero")]
    pub imported: u64,
    /// Merged into another record of their batch.
    pub merged: u64,
    /// Left alone on purpose.
    pub skipped: u64,
    /// Archived by a deletion.
    pub archived: u64,
    /// Not sent: the ledger holds the same values.
    pub unchanged: u64,
    /// Removed from HubSpot by `on_removed` (not records read).
    pub removed: u64,
    /// Rejected.
    pub rejected: u64,
}

impl Summary {
    /// Records rejected in all streams.
    pub fn rejected(&self) -> u64 {
        self.streams.values().map(StreamStats::rejected_total).sum()
    }

    /// Counts over every stream.
    pub fn totals(&self) -> Totals {
        self.streams
            .values()
            .fold(Totals::default(), |t, s| Totals {
                read: t.read + s.read,
                created: t.created + s.created,
                updated: t.updated + s.updated,
                imported: t.imported + s.imported,
                merged: t.merged + s.merged,
                skipped: t.skipped + s.skipped,
                archived: t.archived + s.archived,
                unchanged: t.unchanged + s.unchanged,
                removed: t.removed + s.removed,
                rejected: t.rejected + s.rejected_total(),
            })
    }

    /// The summary as the JSON document `summary_path` holds, for a run that ends now with
    /// `exit_status`.
    pub fn to_json(&self, exit_status: ExitStatus) -> serde_json::Value {
        let mut rejections: BTreeMap<Reason, u64> = BTreeMap::new();
        for s in self.streams.values() {
            for (reason, n) in &s.rejections {
                *rejections.entry(reason.clone()).or_default() += n;
            }
        }
        serde_json::to_value(SummaryDocument {
            started_at: self.started_at.and_then(rfc3339),
            ended_at: rfc3339(time::OffsetDateTime::now_utc()),
            exit_status,
            rejections,
            streams: &self.streams,
            total: self.totals(),
            requests: self.requests,
            retries: self.retries,
            rate_limited: self.rate_limited,
            elapsed_s: self.elapsed.as_secs_f64(),
        })
        .unwrap_or_default()
    }

    /// Logs one line per stream and a total line. With `structured`, the counts are also
    /// fields of the log event (for `--log-format json`).
    pub fn log(&self, structured: bool) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        for (name, s) in &self.streams {
            let by_category = if s.rejected.is_empty() {
                String::new()
            } else {
                let parts: Vec<String> =
                    s.rejected.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!(" ({})", parts.join(","))
            };
            let text = format!(
                "stream {name}: read {} = created {} + updated {}{} + merged into an earlier record of its batch {}{}{}{} + rejected {}{by_category}{}",
                s.read,
                s.created,
                s.updated,
                skipped_part(s.imported, "imported"),
                s.merged,
                skipped_part(s.skipped, "skipped"),
                skipped_part(s.archived, "archived"),
                skipped_part(s.unchanged, "unchanged"),
                s.rejected_total(),
                removed_part(s.removed)
            );
            if structured {
                tracing::info!(
                    stream = %name,
                    read = s.read,
                    created = s.created,
                    updated = s.updated,
                    imported = s.imported,
                    merged = s.merged,
                    skipped = s.skipped,
                    archived = s.archived,
                    unchanged = s.unchanged,
                    removed = s.removed,
                    rejected = s.rejected_total(),
                    "{text}"
                );
            } else {
                tracing::info!("{text}");
            }
            let list = |set: &BTreeSet<String>| {
                set.iter()
                    .map(|n| crate::mapping::brief(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
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
        let t = self.totals();
        let text = format!(
            "total: read {} = created {} + updated {}{} + merged {}{}{}{} + rejected {}{}; {}, {}, {} rate-limited (429); {:.1} s, {:.0} records/s",
            t.read,
            t.created,
            t.updated,
            skipped_part(t.imported, "imported"),
            t.merged,
            skipped_part(t.skipped, "skipped"),
            skipped_part(t.archived, "archived"),
            skipped_part(t.unchanged, "unchanged"),
            t.rejected,
            removed_part(t.removed),
            plural(self.requests, "request"),
            plural(self.retries, "retry"),
            self.rate_limited,
            secs,
            t.read as f64 / secs
        );
        if structured {
            tracing::info!(
                read = t.read,
                created = t.created,
                updated = t.updated,
                imported = t.imported,
                merged = t.merged,
                skipped = t.skipped,
                archived = t.archived,
                unchanged = t.unchanged,
                removed = t.removed,
                rejected = t.rejected,
                requests = self.requests,
                retries = self.retries,
                rate_limited = self.rate_limited,
                elapsed_s = secs,
                "{text}"
            );
        } else {
            tracing::info!("{text}");
        }
    }
}

/// `1 request`, `2 requests`; `1 retry`, `2 retries`.
fn plural(n: u64, one: &str) -> String {
    match (n, one.strip_suffix('y')) {
        (1, _) => format!("{n} {one}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {one}s"),
    }
}

/// ` + skipped N` (or another count) for a summary line, or nothing when it is zero.
fn skipped_part(n: u64, words: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" + {words} {n}")
    }
}

/// `; removed N (left the source)` for a summary line, or nothing when it is zero.
fn removed_part(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("; removed {n} that left the source (on_removed)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rejection::Category;
    use crate::model::rejection::Rejection;

    #[test]
    fn the_counts_add_up() {
        let mut s = StreamStats::default();
        for (outcome, merged) in [
            (Outcome::Created, false),
            (Outcome::Updated, true),
            (Outcome::Updated, false),
            (
                Outcome::Rejected(Rejection::local(Category::MissingKey, "x", None)),
                true,
            ),
        ] {
            s.read += 1;
            s.count(&outcome, merged);
        }
        assert_eq!(
            (s.created, s.updated, s.merged, s.rejected_total()),
            (1, 1, 1, 1)
        );
        assert_eq!(s.read, s.loaded() + s.rejected_total());
    }
}
